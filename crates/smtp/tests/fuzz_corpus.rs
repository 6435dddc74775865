//! CI smoke test for the cargo-fuzz target `reply_parser` (fuzz/): every committed corpus file goes
//! through the same invariant checks as the fuzzer (fuzz/checks/reply_parser.rs), with plain
//! `cargo test`, no cargo-fuzz or nightly needed.

#[path = "../../../fuzz/checks/reply_parser.rs"]
mod reply_parser;

fn files(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(dir);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

#[test]
fn reply_parser_corpus() {
    let files = files("corpus/reply_parser");
    assert!(
        files.len() >= 10,
        "corpus/reply_parser: {} files",
        files.len()
    );
    let broken: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap();
            std::panic::catch_unwind(|| reply_parser::check(&data)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(broken.is_empty(), "invariants broken by {broken:#?}");
}
