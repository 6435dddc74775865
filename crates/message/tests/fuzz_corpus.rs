//! CI smoke test for the cargo-fuzz targets `address_parser` and `compose` (fuzz/): every
//! committed corpus file goes through the same invariant checks as the fuzzer
//! (fuzz/checks/*.rs), with plain `cargo test`, no cargo-fuzz or nightly needed. Inputs that
//! broke an invariant are replayed too: fuzz/artifacts-fixed/ (regressions) always,
//! fuzz/artifacts-open/ (bugs not fixed yet) with `--include-ignored`.

#[path = "../../../fuzz/checks/address_parser.rs"]
mod address_parser;

#[path = "../../../fuzz/checks/compose.rs"]
mod compose;

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
fn address_parser_corpus() {
    let files = files("corpus/address_parser");
    assert!(
        files.len() >= 10,
        "corpus/address_parser: {} files",
        files.len()
    );
    let broken: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap();
            std::panic::catch_unwind(|| address_parser::check(&data)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(broken.is_empty(), "invariants broken by {broken:#?}");
}

#[test]
fn compose_corpus() {
    let files = files("corpus/compose");
    assert!(files.len() >= 10, "corpus/compose: {} files", files.len());
    let broken: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap();
            std::panic::catch_unwind(|| compose::check(&data)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(broken.is_empty(), "invariants broken by {broken:#?}");
}

#[test]
fn address_parser_fixed_crashes() {
    let files = files("artifacts-fixed/address_parser");
    assert!(!files.is_empty(), "artifacts-fixed/address_parser is empty");
    let broken: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap();
            std::panic::catch_unwind(|| address_parser::check(&data)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(broken.is_empty(), "invariants broken by {broken:#?}");
}
