//! Replays committed fuzz inputs through a target's invariant checks, for the crates'
//! `tests/fuzz_corpus.rs` (plain `cargo test`, no cargo-fuzz). Included with `#[path]`.

/// Runs `check` on every file of `fuzz/<dir>` (at least `min` files), failing with the list of
/// inputs that broke an invariant.
pub fn replay(dir: &str, min: usize, check: fn(&[u8])) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= min, "{dir}: {} files", files.len());
    let broken: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap();
            std::panic::catch_unwind(|| check(&data)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(broken.is_empty(), "invariants broken by {broken:#?}");
}
