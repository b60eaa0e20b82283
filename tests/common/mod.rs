//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod jvm;
pub mod rng;
pub mod sarif;
pub mod upstream;

use std::path::{Path, PathBuf};

use flinkgen::app::{Compiled, Options, compile};
use flinkgen::diag::render_human;
use flinkgen::render::{Unit, environment, render_plan};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The examples: every file and directory directly under examples/, each one build. Paths are
/// relative to the crate root (the tests' working directory), so snapshots do not depend on
/// where the repository is checked out.
pub fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("examples")
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_dir() || p.extension().is_some_and(|e| e == "kdl"));
    v.sort();
    v
}

pub fn options(inputs: &[&Path]) -> Options {
    Options {
        inputs: inputs.iter().map(|p| p.to_path_buf()).collect(),
        ..Default::default()
    }
}

/// Compile, panicking with the rendered diagnostics on input errors.
pub fn compiled(inputs: &[&Path]) -> Compiled {
    match compile(&options(inputs)) {
        Ok(c) => c,
        Err((e, sources)) => panic!("input errors:\n{}", render_human(&e.0, &sources, false)),
    }
}

pub fn units(c: &Compiled) -> Vec<Unit> {
    let env = environment(None).unwrap_or_else(|d| panic!("{}", d.message));
    render_plan(&c.plan, &env).unwrap_or_else(|e| {
        panic!(
            "render: {:?}",
            e.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    })
}

/// Write `text` as a profile file in a fresh temp dir; the dir lives as long as the guard.
pub fn profile(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("profile.kdl");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write: {e}"));
    (dir, path)
}

/// Every file below `dir`, relative path → contents.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, d: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(d) else {
            return;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if let Ok(bytes) = std::fs::read(&p) {
                let rel = p
                    .strip_prefix(base)
                    .map(|r| r.to_string_lossy().to_string())
                    .unwrap_or_default();
                out.insert(rel, bytes);
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}
