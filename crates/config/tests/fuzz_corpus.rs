//! CI smoke test for the cargo-fuzz target `conn_url` (fuzz/): every committed corpus file goes
//! through the same invariant checks as the fuzzer (fuzz/checks/conn_url.rs), with plain
//! `cargo test`, no cargo-fuzz or nightly needed.

#[path = "../../../fuzz/checks/conn_url.rs"]
mod conn_url;

#[path = "../../../fuzz/checks/replay.rs"]
mod replay;

#[test]
fn conn_url_corpus() {
    replay::replay("corpus/conn_url", 10, conn_url::check);
}
