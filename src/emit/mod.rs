//! emit: rendered units → the output directory.
//!
//! Each job or cluster directory is replaced as a unit: its files are written into a staging
//! directory inside the output directory (same file system), then the old directory is renamed
//! aside and the staged one renamed into place. Any error before the swap leaves the previous
//! output untouched and removes the staging debris. `manifest.json` is written last, through a
//! temporary file and a rename. A lock file keeps two builds from interleaving.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::diag::Diagnostic;
use crate::render::Unit;

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Serialize)]
pub struct ManifestFile {
    pub path: String,
    pub sha256: String,
    pub bytes: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManifestInput {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Serialize)]
pub struct Manifest {
    pub generator: &'static str,
    pub inputs: Vec<ManifestInput>,
    pub packs: Vec<crate::plan::PackUse>,
    pub findings: std::collections::BTreeMap<String, usize>,
    pub files: Vec<ManifestFile>,
}

impl Manifest {
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }
}

pub fn manifest_files(units: &[Unit]) -> Vec<ManifestFile> {
    let mut files: Vec<ManifestFile> = units
        .iter()
        .flat_map(|u| u.files.iter())
        .map(|f| ManifestFile {
            path: f.path.clone(),
            sha256: sha256_hex(f.contents.as_bytes()),
            bytes: f.contents.len(),
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Diagnostic {
    Diagnostic::error(format!("cannot {what} {}: {e}", path.display()))
        .with_help("check that the output directory is writable; the previous output is unchanged")
}

/// Only plain relative paths of the form `jobs/<name>/…` may be written.
fn safe_relative(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && p.split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != ".." && !seg.contains('\\'))
}

struct Lock {
    _file: fs::File,
}

fn lock(out: &Path) -> Result<Lock, Diagnostic> {
    let path = out.join(".flinkgen.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_err("create lock", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(Lock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(Diagnostic::error(format!(
            "another flinkgen build is writing to {}",
            out.display()
        ))
        .with_help("wait for it to finish, or build into another directory")),
        Err(fs::TryLockError::Error(e)) => Err(io_err("lock", &path, e)),
    }
}

/// Write every unit and the manifest. On error, what was already swapped in stays complete
/// (a unit is never half-written) and nothing is left in staging.
pub fn write(out: &Path, units: &[Unit], manifest: &Manifest) -> Result<(), Diagnostic> {
    fs::create_dir_all(out).map_err(|e| io_err("create", out, e))?;
    let _lock = lock(out)?;
    let staging = out.join(format!(".flinkgen-staging-{}", std::process::id()));
    let result = write_staged(out, &staging, units, manifest);
    let _ = fs::remove_dir_all(&staging);
    result
}

fn write_staged(
    out: &Path,
    staging: &Path,
    units: &[Unit],
    manifest: &Manifest,
) -> Result<(), Diagnostic> {
    // Stage everything first: a failure here changes nothing in the output.
    for u in units {
        if !safe_relative(&u.dir) {
            return Err(Diagnostic::error(format!(
                "refusing to write outside the output directory: {}",
                u.dir
            )));
        }
        for f in &u.files {
            if !safe_relative(&f.path) || !f.path.starts_with(&format!("{}/", u.dir)) {
                return Err(Diagnostic::error(format!(
                    "refusing to write outside the output directory: {}",
                    f.path
                )));
            }
            let p = staging.join(&f.path);
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent).map_err(|e| io_err("create", parent, e))?;
            }
            let mut file = fs::File::create(&p).map_err(|e| io_err("write", &p, e))?;
            file.write_all(f.contents.as_bytes())
                .map_err(|e| io_err("write", &p, e))?;
        }
    }
    let manifest_tmp = staging.join("manifest.json");
    fs::create_dir_all(staging).map_err(|e| io_err("create", staging, e))?;
    fs::write(&manifest_tmp, manifest.to_json()).map_err(|e| io_err("write", &manifest_tmp, e))?;

    // Check every target before touching any: no links, parents creatable.
    for u in units {
        let target = out.join(&u.dir);
        if let Some(parent) = target.parent() {
            refuse_symlink(out, parent)?;
            fs::create_dir_all(parent).map_err(|e| io_err("create", parent, e))?;
        }
        if fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Diagnostic::error(format!(
                "{} is a symbolic link; flinkgen does not write through links",
                target.display()
            ))
            .with_help(
                "remove the link; the output directory must hold flinkgen's own directories",
            ));
        }
    }
    // Swap each unit in: old → aside, staged → place. If any swap fails, undo the ones done,
    // so an error leaves the whole previous output in place.
    let aside_root = staging.join(".previous");
    let mut swapped: Vec<(PathBuf, Option<PathBuf>)> = vec![];
    let result = swap_all(out, staging, &aside_root, units, &mut swapped);
    if result.is_err() {
        for (target, aside) in swapped.into_iter().rev() {
            let failed = staging
                .join(".failed")
                .join(target.strip_prefix(out).unwrap_or(&target));
            if let Some(parent) = failed.parent() {
                let _ = fs::create_dir_all(parent);
            }
            let _ = fs::rename(&target, &failed);
            if let Some(aside) = aside {
                let _ = fs::rename(&aside, &target);
            }
        }
        return result;
    }
    let manifest = out.join("manifest.json");
    fs::rename(&manifest_tmp, &manifest).map_err(|e| io_err("replace", &manifest, e))?;
    Ok(())
}

/// Test hook: fail the swap of the unit whose directory equals this value (FLINKGEN_FAIL_SWAP),
/// to prove that a failure in the middle of a build leaves the previous output intact.
fn injected_failure(dir: &str) -> bool {
    std::env::var("FLINKGEN_FAIL_SWAP").is_ok_and(|v| v == dir)
}

fn swap_all(
    out: &Path,
    staging: &Path,
    aside_root: &Path,
    units: &[Unit],
    swapped: &mut Vec<(PathBuf, Option<PathBuf>)>,
) -> Result<(), Diagnostic> {
    for u in units {
        let target = out.join(&u.dir);
        let staged = staging.join(&u.dir);
        let aside = aside_root.join(&u.dir);
        let had_old = fs::symlink_metadata(&target).is_ok();
        if had_old {
            if let Some(parent) = aside.parent() {
                fs::create_dir_all(parent).map_err(|e| io_err("create", parent, e))?;
            }
            fs::rename(&target, &aside).map_err(|e| io_err("move aside", &target, e))?;
        }
        let renamed = if injected_failure(&u.dir) {
            Err(std::io::Error::other(
                "injected failure (FLINKGEN_FAIL_SWAP)",
            ))
        } else {
            fs::rename(&staged, &target)
        };
        if let Err(e) = renamed {
            if had_old {
                let _ = fs::rename(&aside, &target);
            }
            return Err(io_err("replace", &target, e));
        }
        swapped.push((target, had_old.then_some(aside)));
    }
    Ok(())
}

fn refuse_symlink(out: &Path, dir: &Path) -> Result<(), Diagnostic> {
    let mut p = PathBuf::from(dir);
    while p.starts_with(out) && p != out {
        if fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Diagnostic::error(format!(
                "{} is a symbolic link; flinkgen does not write through links",
                p.display()
            )));
        }
        if !p.pop() {
            break;
        }
    }
    Ok(())
}

/// `--check`: compare with what is on disk, write nothing. Returns a unified diff, empty when
/// the output is current.
pub fn diff(out: &Path, units: &[Unit], manifest: &Manifest) -> String {
    let mut report = String::new();
    let mut expected: Vec<(String, String)> = units
        .iter()
        .flat_map(|u| u.files.iter().map(|f| (f.path.clone(), f.contents.clone())))
        .collect();
    expected.push(("manifest.json".into(), manifest.to_json()));
    expected.sort();
    for (path, want) in &expected {
        let have = fs::read_to_string(out.join(path)).unwrap_or_default();
        if &have != want {
            let d = similar::TextDiff::from_lines(have.as_str(), want.as_str());
            report.push_str(
                &d.unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{path}"), &format!("b/{path}"))
                    .to_string(),
            );
        }
    }
    // Files a rebuild would remove from the units it replaces.
    for u in units {
        let mut on_disk = vec![];
        collect(&out.join(&u.dir), &mut on_disk);
        for p in on_disk {
            let rel = p
                .strip_prefix(out)
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            if !expected.iter().any(|(e, _)| *e == rel) {
                report.push_str(&format!(
                    "--- a/{rel}\n+++ /dev/null\n(file would be removed)\n"
                ));
            }
        }
    }
    report
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}
