//! Embeds the built-in policy packs, Kafka config models and templates into the binary, so a
//! build needs no files beside the executable. The list is generated from the directories, so a
//! new pack or template is picked up without editing code.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn table(name: &str, root: &Path, exts: &[&str]) -> String {
    let mut files = vec![];
    walk(root, &mut files);
    let mut s = format!("pub static {name}: &[(&str, &str)] = &[\n");
    for f in files {
        if !exts.iter().any(|e| f.extension().is_some_and(|x| x == *e)) {
            continue;
        }
        let rel = f
            .strip_prefix(root)
            .unwrap_or(&f)
            .to_string_lossy()
            .replace('\\', "/");
        let _ = writeln!(
            s,
            "    ({rel:?}, include_str!({:?})),",
            f.display().to_string()
        );
    }
    s.push_str("];\n");
    s
}

/// The sha256 of every built-in pack, computed here so that start-up does not hash them (the
/// manifest records each pack's hash).
fn pack_hashes(root: &Path) -> String {
    use sha2::Digest;
    let mut files = vec![];
    walk(root, &mut files);
    let mut s = String::from("pub static BUILTIN_PACK_SHA256: &[(&str, &str)] = &[\n");
    for f in files {
        if f.extension().is_none_or(|x| x != "kdl") {
            continue;
        }
        let rel = f
            .strip_prefix(root)
            .unwrap_or(&f)
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let hash: String = sha2::Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let _ = writeln!(s, "    ({rel:?}, {hash:?}),");
    }
    s.push_str("];\n");
    s
}

fn main() {
    // The executable is linked at a fixed address (not position-independent): a PIE's ~24 000
    // relocations are applied at every start, writing ~100 pages, and on a VM each page fault
    // costs microseconds — most of a one-profile build's wall time (BENCHMARKS.md).
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let mut code = String::new();
    code.push_str(&table("BUILTIN_PACKS", &root.join("policies"), &["kdl"]));
    code.push_str(&pack_hashes(&root.join("policies")));
    code.push_str(&table(
        "KAFKA_MODELS",
        &root.join("policies/kafka/model"),
        &["json"],
    ));
    code.push_str(&table(
        "BUILTIN_TEMPLATES",
        &root.join("templates"),
        &["j2"],
    ));
    code.push_str(&table(
        "FLINK_OPTIONS",
        &root.join("policies/flink/options"),
        &["tsv"],
    ));
    let out =
        PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("embedded.rs");
    if let Err(e) = std::fs::write(&out, code) {
        println!("cargo::error=cannot write {}: {e}", out.display());
    }
    println!("cargo::rerun-if-changed=policies");
    println!("cargo::rerun-if-changed=templates");
}
