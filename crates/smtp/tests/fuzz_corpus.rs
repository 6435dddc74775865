//! CI smoke test for the cargo-fuzz target `reply_parser` (fuzz/): every committed corpus file goes
//! through the same invariant checks as the fuzzer (fuzz/checks/reply_parser.rs), with plain
//! `cargo test`, no cargo-fuzz or nightly needed.

#[path = "../../../fuzz/checks/reply_parser.rs"]
mod reply_parser;

#[path = "../../../fuzz/checks/replay.rs"]
mod replay;

#[test]
fn reply_parser_corpus() {
    replay::replay("corpus/reply_parser", 10, reply_parser::check);
}
