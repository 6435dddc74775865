//! CI smoke test for the cargo-fuzz target `conn_url` (fuzz/): every committed corpus file goes
//! through the same invariant checks as the fuzzer (fuzz/checks/conn_url.rs), with plain
//! `cargo test`, no cargo-fuzz or nightly needed.

#[path = "../../../fuzz/checks/conn_url.rs"]
mod conn_url;

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
fn conn_url_corpus() {
    let files = files("corpus/conn_url");
    assert!(files.len() >= 10, "corpus/conn_url: {} files", files.len());
    for path in files {
        let data = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(|| conn_url::check(&data));
        assert!(r.is_ok(), "invariant broken by {}", path.display());
    }
}
