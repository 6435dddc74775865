//! CI smoke test for the cargo-fuzz targets `address_parser` and `compose` (fuzz/): every
//! committed corpus file goes through the same invariant checks as the fuzzer
//! (fuzz/checks/*.rs), with plain `cargo test`, no cargo-fuzz or nightly needed. Inputs that
//! broke an invariant are replayed too: fuzz/artifacts-fixed/ (regressions) always,
//! fuzz/artifacts-open/ (bugs not fixed yet: none at present) by hand.

#[path = "../../../fuzz/checks/address_parser.rs"]
mod address_parser;

#[path = "../../../fuzz/checks/compose.rs"]
mod compose;

#[path = "../../../fuzz/checks/replay.rs"]
mod replay;

#[test]
fn address_parser_corpus() {
    replay::replay("corpus/address_parser", 10, address_parser::check);
}

#[test]
fn compose_corpus() {
    replay::replay("corpus/compose", 10, compose::check);
}

#[test]
fn address_parser_fixed_crashes() {
    replay::replay("artifacts-fixed/address_parser", 1, address_parser::check);
}
