#![no_main]
//! cargo-fuzz target; the invariants live in fuzz/checks/ so that the crates' fuzz_corpus
//! integration tests run the same checks over the committed corpus.

#[path = "../checks/reply_parser.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::check(data);
});
