//! Nothing lost on failure: every write step of a real multi-unit build is failed in turn, with
//! each kind of error, and the previous output must survive byte for byte with no staging
//! debris and no lock file. Also: read-only output, output path that is a file, crashes
//! (recovered by the next run), interrupts, and two real processes racing for one directory.

// Step numbers are what the tests are about (the seam fails "step N"), so loops run over them.
#![allow(clippy::needless_range_loop)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use flinkgen::app::{Options, build, build_with_io};
use std::sync::OnceLock;

use flinkgen::emit::{EmitError, EmitReport, Fault, FaultyIo, Io, Manifest, RealIo, write_with};
use flinkgen::render::Unit;

const EIO: i32 = 5;
const EXDEV: i32 = 18;
const EACCES: i32 = 13;
const ENOSPC: i32 = 28;
const EROFS: i32 = 30;

/// Every file (path → bytes) and every directory (path + "/" → empty) below `dir`, hidden
/// entries included: a leftover empty directory or lock file is a difference.
fn listing(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(d) else {
            return;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            let rel = p
                .strip_prefix(base)
                .map(|r| r.to_string_lossy().to_string())
                .unwrap_or_default();
            let is_link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
            if p.is_dir() && !is_link {
                out.insert(format!("{rel}/"), vec![]);
                walk(base, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Compare two listings, naming the first path that differs instead of dumping both.
#[track_caller]
fn assert_same(got: &BTreeMap<String, Vec<u8>>, want: &BTreeMap<String, Vec<u8>>, what: &str) {
    if got == want {
        return;
    }
    let keys: std::collections::BTreeSet<&String> = got.keys().chain(want.keys()).collect();
    let first = keys
        .into_iter()
        .find(|k| got.get(*k) != want.get(*k))
        .cloned()
        .unwrap_or_default();
    let show = |t: &BTreeMap<String, Vec<u8>>| {
        t.get(&first).map(|b| {
            String::from_utf8_lossy(b)
                .chars()
                .take(400)
                .collect::<String>()
        })
    };
    panic!(
        "{what}: trees differ first at {first:?}\n got: {:?}\nwant: {:?}",
        show(got),
        show(want)
    );
}

fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in listing(from) {
        let p = to.join(rel.trim_end_matches('/'));
        if rel.ends_with('/') {
            std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("{e}"));
        } else {
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
            }
            std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

fn debris(tree: &BTreeMap<String, Vec<u8>>) -> Vec<&String> {
    tree.keys().filter(|k| k.starts_with(".flinkgen")).collect()
}

/// The examples, compiled and rendered once: the enumeration below emits them thousands of times.
fn rendered() -> &'static (Vec<Unit>, Manifest) {
    static R: OnceLock<(Vec<Unit>, Manifest)> = OnceLock::new();
    R.get_or_init(|| {
        let examples = common::root().join("examples");
        let c = common::compiled(&[&examples]);
        let units = common::units(&c);
        let manifest = Manifest {
            generator: "flinkgen",
            inputs: c.inputs.clone(),
            packs: c.plan.packs.clone(),
            findings: BTreeMap::new(),
            files: flinkgen::emit::manifest_files(&units),
        };
        (units, manifest)
    })
}

fn emit(io: &dyn Io, out: &Path) -> Result<EmitReport, EmitError> {
    let (units, manifest) = rendered();
    write_with(io, out, units, manifest)
}

fn opts() -> Options {
    let examples = common::root().join("examples");
    common::options(&[&examples])
}

/// The previous output: a build of the examples, every file then changed, one unit removed (so
/// the new build adds it) and one unit the new build does not know (so it must stay as it is).
/// Returns (previous tree dir, new tree).
fn fixtures() -> (tempfile::TempDir, BTreeMap<String, Vec<u8>>) {
    let new_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = emit(&RealIo::default(), new_dir.path()) {
        panic!("{}", e.diagnostic.message);
    }
    let new = listing(new_dir.path());
    let old = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_tree(new_dir.path(), old.path());
    for (rel, _) in listing(old.path()) {
        if !rel.ends_with('/') {
            let p = old.path().join(&rel);
            let mut bytes = std::fs::read(&p).unwrap_or_default();
            bytes.extend_from_slice(b"# previous\n");
            std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    std::fs::remove_dir_all(old.path().join("jobs/stateless-router"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(old.path().join("jobs/retired/flink"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(old.path().join("jobs/retired/flink/config.yaml"), "a: 1\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        old.path().join("jobs/orders-enrichment/flink/stray.yaml"),
        "left by hand\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (old, new)
}

/// The new output as it looks over the previous one: the new files, plus the unit the build
/// does not know.
fn expected_new(
    new: &BTreeMap<String, Vec<u8>>,
    old: &BTreeMap<String, Vec<u8>>,
) -> BTreeMap<String, Vec<u8>> {
    let mut want = new.clone();
    for (k, v) in old {
        if k.starts_with("jobs/retired") {
            want.insert(k.clone(), v.clone());
        }
    }
    want
}

/// The steps of a clean build over the previous output, and the index of the commit point (the
/// rename of manifest.json).
fn clean_steps(old: &Path) -> (Vec<String>, usize) {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_tree(old, scratch.path());
    let io = FaultyIo::new(None, Fault::Os(EIO));
    if let Err(e) = emit(&io, scratch.path()) {
        panic!("{}", e.diagnostic.message);
    }
    let log = io.log.lock().map(|l| l.clone()).unwrap_or_default();
    let commit = log
        .iter()
        .position(|s| s.starts_with("rename") && s.ends_with("manifest.json"))
        .unwrap_or_else(|| panic!("no manifest rename in {log:#?}"));
    // Unchanged units are not rewritten: the previous output differs in every unit, so that
    // every unit's steps are here to fail.
    for u in &rendered().0 {
        assert!(
            log.iter().any(|s| s.starts_with("rename")
                && s.contains("staging")
                && s.ends_with(u.dir.as_str())),
            "{} is not swapped in: {log:#?}",
            u.dir
        );
    }
    (log, commit)
}

#[test]
fn every_write_step_failing_leaves_the_previous_output() {
    let (old_dir, new) = fixtures();
    let old = listing(old_dir.path());
    let want_new = expected_new(&new, &old);
    let (log, commit) = clean_steps(old_dir.path());
    assert!(
        log.len() > 60,
        "a multi-unit build has many steps: {}",
        log.len()
    );
    let mut cases = 0;
    for kind in [EIO, ENOSPC, EACCES, EROFS, EXDEV] {
        for step in 0..log.len() {
            let (dir, r, after, what) = fail_at(step, kind, &log, Some(old_dir.path()));
            cases += 1;
            if step <= commit {
                let e = r
                    .err()
                    .unwrap_or_else(|| panic!("{what}: the build must fail"));
                let d = &e.diagnostic;
                assert!(
                    d.message.starts_with("cannot")
                        && d.help
                            .as_deref()
                            .is_some_and(|h| h.contains("previous output is unchanged")),
                    "{what}: the message says what failed and what it left: {d:?}"
                );
                assert_same(&after, &old, &format!("{what}: previous output changed"));
            } else {
                // After the commit point only cleanup is left: the build succeeded, says what
                // it could not remove, and the next build removes it.
                let report = r.unwrap_or_else(|e| panic!("{what}: {}", e.diagnostic.message));
                assert!(
                    report
                        .warnings
                        .iter()
                        .any(|w| w.starts_with("could not remove")),
                    "{what}: {:?}",
                    report.warnings
                );
                let without_debris: BTreeMap<_, _> = after
                    .iter()
                    .filter(|(k, _)| !k.starts_with(".flinkgen"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_same(&without_debris, &want_new, &what);
                if let Err(e) = emit(&RealIo::default(), dir.path()) {
                    panic!("{what}: {}", e.diagnostic.message);
                }
                assert_same(
                    &listing(dir.path()),
                    &want_new,
                    &format!("{what}: the next build cleans up"),
                );
                continue;
            }
            assert!(
                debris(&after).is_empty(),
                "{what}: debris {:?}",
                debris(&after)
            );
        }
    }
    eprintln!(
        "{cases} fault cases over {} steps (commit at step {commit})",
        log.len()
    );
}

/// A first build into an empty directory moves `jobs/` and `clusters/` in whole (one rename
/// each, not one per unit). Every step failing with every kind of error leaves the directory
/// empty; a crash at any step leaves it empty or with the new units whole, and the next run
/// cleans up.
#[test]
fn every_write_step_failing_in_a_first_build_leaves_the_directory_empty() {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let io = FaultyIo::new(None, Fault::Os(EIO));
    if let Err(e) = emit(&io, scratch.path()) {
        panic!("{}", e.diagnostic.message);
    }
    let new = listing(scratch.path());
    let log = io.log.lock().map(|l| l.clone()).unwrap_or_default();
    let commit = log
        .iter()
        .position(|s| s.starts_with("rename") && s.ends_with("manifest.json"))
        .unwrap_or_else(|| panic!("no manifest rename in {log:#?}"));
    let renames: Vec<&String> = log.iter().filter(|s| s.starts_with("rename")).collect();
    assert!(
        renames.len() == 3 && renames[0].ends_with("/jobs") && renames[1].ends_with("/clusters"),
        "jobs/, clusters/, manifest.json: {renames:#?}"
    );
    let mut cases = 0;
    for kind in [EIO, ENOSPC, EACCES, EROFS, EXDEV] {
        for step in 0..log.len() {
            let (dir, r, after, what) = fail_at(step, kind, &log, None);
            cases += 1;
            if step <= commit {
                let e = r
                    .err()
                    .unwrap_or_else(|| panic!("{what}: the build must fail"));
                assert!(
                    e.diagnostic.message.starts_with("cannot"),
                    "{what}: {:?}",
                    e.diagnostic
                );
                assert!(after.is_empty(), "{what}: left {:?}", after.keys());
            } else {
                let report = r.unwrap_or_else(|e| panic!("{what}: {}", e.diagnostic.message));
                assert!(!report.warnings.is_empty(), "{what}");
                if let Err(e) = emit(&RealIo::default(), dir.path()) {
                    panic!("{what}: {}", e.diagnostic.message);
                }
                assert_same(&listing(dir.path()), &new, &what);
            }
        }
    }
    for step in 0..log.len() {
        let (after, what) = crash_and_recover(step, &log, None);
        // Each of jobs/ and clusters/ is absent or whole.
        for kind in ["jobs/", "clusters/"] {
            let got: BTreeMap<_, _> = after.iter().filter(|(k, _)| k.starts_with(kind)).collect();
            let want: BTreeMap<_, _> = new.iter().filter(|(k, _)| k.starts_with(kind)).collect();
            assert!(got.is_empty() || got == want, "{what}: {kind} is partial");
        }
    }
    eprintln!(
        "{cases} fault cases over {} steps (commit at step {commit})",
        log.len()
    );
}

/// Through the command: a failed write is exit 2 with the message, an interrupt exit 130.
/// The manifest differs from `emit`'s (findings counts), so the steps are those of the command.
#[test]
fn the_command_reports_write_failures_with_exit_2_and_interrupts_with_130() {
    let (old_dir, _new) = fixtures();
    let old = listing(old_dir.path());
    let (log, commit) = clean_steps(old_dir.path());
    for (step, fault, code) in [
        (0, Fault::Os(EROFS), 2),
        (commit / 2, Fault::Os(ENOSPC), 2),
        (commit, Fault::Os(EXDEV), 2),
        (
            commit - 1,
            Fault::Interrupt,
            flinkgen::app::EXIT_INTERRUPTED,
        ),
    ] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        copy_tree(old_dir.path(), dir.path());
        let io = FaultyIo::new(Some(step), fault);
        let r = build_with_io(&opts(), dir.path(), false, &io);
        let what = format!("{fault:?} at step {step} ({})", log[step]);
        assert_eq!(r.code, code, "{what}: {}", r.stderr);
        let flat = r.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains("previous output is unchanged"),
            "{what}: {}",
            r.stderr
        );
        assert_same(&listing(dir.path()), &old, &what);
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = build_with_io(
        &opts(),
        dir.path(),
        false,
        &FaultyIo::new(Some(3), Fault::Os(ENOSPC)),
    );
    let flat = r.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("disk is full"), "{}", r.stderr);
}

#[test]
fn with_fsync_every_step_failing_leaves_the_previous_output() {
    let (old_dir, new) = fixtures();
    let old = listing(old_dir.path());
    let want_new = expected_new(&new, &old);
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_tree(old_dir.path(), scratch.path());
    let mut counting = FaultyIo::new(None, Fault::Os(EIO));
    counting.real.fsync = true;
    assert!(emit(&counting, scratch.path()).is_ok());
    let log = counting.log.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(
        log.iter().any(|s| s.starts_with("fsync-dir")),
        "fsync mode syncs directories"
    );
    let commit = log
        .iter()
        .position(|s| s.starts_with("rename") && s.ends_with("manifest.json"))
        .unwrap_or(0);
    for step in 0..log.len() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        copy_tree(old_dir.path(), dir.path());
        let mut io = FaultyIo::new(Some(step), Fault::Os(EIO));
        io.real.fsync = true;
        let r = emit(&io, dir.path());
        let after = listing(dir.path());
        let what = format!("EIO at step {step} ({})", log[step]);
        if step <= commit {
            assert!(r.is_err(), "{what}");
            assert_same(&after, &old, &what);
        } else if log[step].starts_with("fsync-dir") {
            // The swap is done but not durable, which is what --fsync asked for: an error
            // saying so, with the new output in place.
            let e = r.err().unwrap_or_else(|| panic!("{what}: must fail"));
            assert!(
                e.diagnostic
                    .help
                    .as_deref()
                    .is_some_and(|h| h.contains("may not survive a power loss")),
                "{what}: {:?}",
                e.diagnostic
            );
            assert_same(&after, &want_new, &what);
        } else {
            assert!(r.is_ok(), "{what}");
        }
    }
}

#[test]
fn an_interrupt_before_any_step_rolls_back() {
    let (old_dir, _new) = fixtures();
    let old = listing(old_dir.path());
    let (log, commit) = clean_steps(old_dir.path());
    // A signal that arrives while step N runs is seen before step N+1; one that arrives during
    // the commit (the manifest rename) is too late to stop it: the build completes.
    for step in 0..commit {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        copy_tree(old_dir.path(), dir.path());
        let io = FaultyIo::new(Some(step), Fault::Interrupt);
        let what = format!("interrupt at step {step} ({})", log[step]);
        let e = emit(&io, dir.path())
            .err()
            .unwrap_or_else(|| panic!("{what}: must stop"));
        assert!(e.interrupted, "{what}: {:?}", e.diagnostic);
        assert_same(&listing(dir.path()), &old, &what);
    }
}

/// Other tests of this binary spawn flinkgen processes; a child forked while this thread held an
/// output's lock keeps that lock's open file until it execs (O_CLOEXEC), so a lock can look held
/// for a moment after the crashed build dropped it. Retry briefly before calling it a failure.
/// What a build over a copy of `previous` (or into an empty directory) whose `step` fails with
/// `errno` returns and leaves: its directory, result, tree, and what was done.
fn fail_at(
    step: usize,
    errno: i32,
    log: &[String],
    previous: Option<&Path>,
) -> (
    tempfile::TempDir,
    Result<EmitReport, EmitError>,
    BTreeMap<String, Vec<u8>>,
    String,
) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    if let Some(previous) = previous {
        copy_tree(previous, dir.path());
    }
    let io = FaultyIo::new(Some(step), Fault::Os(errno));
    let r = emit(&io, dir.path());
    let after = listing(dir.path());
    (
        dir,
        r,
        after,
        format!("errno {errno} at step {step} ({})", log[step]),
    )
}

/// A build over a copy of `previous` (or into an empty directory) that crashes at `step`,
/// then the next run's recovery: the tree it leaves, which has no debris, and what was done.
fn crash_and_recover(
    step: usize,
    log: &[String],
    previous: Option<&Path>,
) -> (BTreeMap<String, Vec<u8>>, String) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    if let Some(previous) = previous {
        copy_tree(previous, dir.path());
    }
    let io = FaultyIo::new(Some(step), Fault::Crash);
    let _ = emit(&io, dir.path());
    let what = format!("crash at step {step} ({})", log[step]);
    recover_retrying(dir.path())
        .unwrap_or_else(|d| panic!("{what}: recovery failed: {}", d.message));
    let after = listing(dir.path());
    assert!(
        debris(&after).is_empty(),
        "{what}: debris {:?}",
        debris(&after)
    );
    (after, what)
}

fn recover_retrying(dir: &std::path::Path) -> Result<(), flinkgen::diag::Diagnostic> {
    let mut last = Ok(());
    for _ in 0..100 {
        last = flinkgen::emit::recover(&RealIo::default(), dir);
        match &last {
            Err(d) if d.message.contains("holds the lock") => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            _ => return last,
        }
    }
    last
}

#[test]
fn a_crash_at_any_step_leaves_whole_units_and_the_next_run_recovers() {
    let (old_dir, new) = fixtures();
    let old = listing(old_dir.path());
    let (log, _) = clean_steps(old_dir.path());
    let units = |t: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, BTreeMap<String, Vec<u8>>> {
        let mut m: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
        for (k, v) in t {
            let parts: Vec<&str> = k.splitn(3, '/').collect();
            if parts.len() == 3 && (parts[0] == "jobs" || parts[0] == "clusters") {
                m.entry(format!("{}/{}", parts[0], parts[1]))
                    .or_default()
                    .insert(parts[2].to_string(), v.clone());
            }
        }
        m
    };
    let (old_units, new_units) = (units(&old), units(&new));
    for step in 0..log.len() {
        let (after, what) = crash_and_recover(step, &log, Some(old_dir.path()));
        let got = units(&after);
        for (unit, files) in &got {
            assert!(
                old_units.get(unit) == Some(files) || new_units.get(unit) == Some(files),
                "{what}: {unit} is a mix of old and new"
            );
        }
        for unit in old_units.keys() {
            assert!(got.contains_key(unit), "{what}: {unit} was lost");
        }
        let m = after.get("manifest.json").cloned().unwrap_or_default();
        assert!(
            m == old["manifest.json"] || m == new["manifest.json"],
            "{what}"
        );
    }
}

/// Root ignores permission bits: probe whether a read-only directory really refuses writes.
fn permissions_bind(dir: &Path) -> bool {
    let probe = dir.join("probe");
    let bound = std::fs::write(&probe, "x").is_err();
    let _ = std::fs::remove_file(&probe);
    bound
}

#[cfg(unix)]
#[test]
fn a_read_only_output_directory_is_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let (old_dir, _new) = fixtures();
    let old = listing(old_dir.path());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
    copy_tree(old_dir.path(), &out);
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o555))
        .unwrap_or_else(|e| panic!("{e}"));
    let r = if permissions_bind(&out) {
        build(&opts(), &out, false)
    } else {
        // Running as root: the bits do not stop writes, so fail the first step the way a
        // read-only directory would.
        build_with_io(
            &opts(),
            &out,
            false,
            &FaultyIo::new(Some(1), Fault::Os(EACCES)),
        )
    };
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("ermission denied"), "{}", r.stderr);
    assert_eq!(listing(&out), old);
}

#[test]
fn an_output_path_that_is_a_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("out");
    std::fs::write(&out, "not a directory\n").unwrap_or_else(|e| panic!("{e}"));
    let r = build(&opts(), &out, false);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("is not a directory"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap_or_default(),
        "not a directory\n"
    );
}

#[test]
fn a_stale_lock_file_from_a_dead_build_does_not_block() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // A lock file with the pid of a process that is gone: no one holds the flock.
    std::fs::write(dir.path().join(".flinkgen.lock"), "999999\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(dir.path().join(".flinkgen-staging-999999/jobs/x"))
        .unwrap_or_else(|e| panic!("{e}"));
    let r = build(&opts(), dir.path(), false);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(debris(&listing(dir.path())).is_empty());
}

#[test]
fn a_held_lock_names_its_holder_and_the_build_fails_at_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let lock_path = dir.path().join(".flinkgen.lock");
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&lock_path)
        .unwrap_or_else(|e| panic!("{e}"));
    held.try_lock().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&lock_path, "4242\n").unwrap_or_else(|e| panic!("{e}"));
    // A real second process, as a user would run it.
    let r = std::process::Command::new(env!("CARGO_BIN_EXE_flinkgen"))
        .args(["build", "examples", "-o"])
        .arg(dir.path())
        .current_dir(common::root())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("pid 4242") && stderr.contains(".flinkgen.lock"),
        "the message names the holder and the lock: {stderr}"
    );
    assert_eq!(
        listing(dir.path()).keys().collect::<Vec<_>>(),
        vec![".flinkgen.lock"],
        "nothing written"
    );
    drop(held);
}

#[test]
fn two_real_builds_into_one_directory_never_interleave() {
    // The reference is the same command line run alone (manifest.json records the input paths
    // as given).
    let reference = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_flinkgen"))
        .args(["build", "examples", "-o"])
        .arg(reference.path())
        .current_dir(common::root())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status.status.code(), Some(0));
    let new = listing(reference.path());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for round in 0..4 {
        let spawn = || {
            std::process::Command::new(env!("CARGO_BIN_EXE_flinkgen"))
                .args(["build", "examples", "-o"])
                .arg(dir.path())
                .current_dir(common::root())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let (a, b) = (spawn(), spawn());
        let mut ok = 0;
        for child in [a, b] {
            let o = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
            let stderr = String::from_utf8_lossy(&o.stderr);
            match o.status.code() {
                Some(0) => ok += 1,
                Some(2) => assert!(
                    stderr.contains("is writing to") && stderr.contains(".flinkgen.lock"),
                    "round {round}: the loser says why: {stderr}"
                ),
                c => panic!("round {round}: exit {c:?}: {stderr}"),
            }
        }
        assert!(ok >= 1, "round {round}: one build wins");
        assert_same(&listing(dir.path()), &new, &format!("round {round}"));
    }
}

fn kill(pid: u32, signal: &str) {
    let _ = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status();
}

/// A fleet big enough that a build takes a while: copies of an example with renamed jobs.
fn fleet(dir: &Path, jobs: usize, parallelism: u32) -> PathBuf {
    let ex = std::fs::read_to_string(common::root().join("examples/stateless-router.kdl"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (job, cluster) = ex
        .split_once("\ncluster ")
        .map(|(j, c)| (j.to_string(), format!("cluster {c}")))
        .unwrap_or_else(|| panic!("example shape changed"));
    let name = job
        .split('"')
        .nth(1)
        .unwrap_or_else(|| panic!("no job name"))
        .to_string();
    let input = dir.join("fleet");
    std::fs::create_dir_all(&input).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(input.join("cluster.kdl"), &cluster).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..jobs {
        let j = job
            .replacen(&format!("\"{name}\""), &format!("\"j{i}\""), 1)
            .replacen(
                "delivery \"none\"",
                &format!("delivery \"none\"\n    parallelism {parallelism}"),
                1,
            );
        std::fs::write(input.join(format!("j{i}.kdl")), j).unwrap_or_else(|e| panic!("{e}"));
    }
    input
}

#[cfg(unix)]
#[test]
fn a_killed_build_leaves_old_or_new_and_the_next_build_cleans_up() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let old_in = fleet(&work.path().join("old"), 60, 4);
    let new_in = fleet(&work.path().join("new"), 60, 8);
    let reference = |input: &Path| {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = build(&common::options(&[input]), d.path(), false);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let l = listing(d.path());
        (d, l)
    };
    let (_o, old) = reference(&old_in);
    let (_n, new) = reference(&new_in);
    assert_ne!(old, new);
    let mut outcomes = BTreeMap::new();
    for (i, delay_ms) in [0u64, 20, 40, 60, 80, 120, 160, 240, 320, 480]
        .iter()
        .enumerate()
    {
        for signal in ["TERM", "INT", "KILL"] {
            let out = work.path().join(format!("out-{i}-{signal}"));
            copy_tree(_o.path(), &out);
            let child = std::process::Command::new(env!("CARGO_BIN_EXE_flinkgen"))
                .args(["build"])
                .arg(&new_in)
                .arg("-o")
                .arg(&out)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{e}"));
            std::thread::sleep(std::time::Duration::from_millis(*delay_ms));
            kill(child.id(), signal);
            let o = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
            let after = listing(&out);
            let what = format!(
                "SIG{signal} after {delay_ms} ms (exit {:?})",
                o.status.code()
            );
            if signal == "KILL" {
                // Uncatchable: whole units, maybe debris; the next build recovers.
                let r = build(&common::options(&[&new_in]), &out, false);
                assert_eq!(r.code, 0, "{what}: {}", r.stderr);
                assert_same(
                    &listing(&out),
                    &new,
                    &format!("{what}: the next build cleans up"),
                );
            } else {
                let state = if after == old {
                    "old"
                } else if after == new {
                    "new"
                } else {
                    panic!(
                        "{what}: neither the old nor the new output; debris {:?}; stderr {}",
                        debris(&after),
                        String::from_utf8_lossy(&o.stderr)
                    )
                };
                *outcomes.entry(format!("SIG{signal} {state}")).or_insert(0) += 1;
            }
        }
    }
    eprintln!("outcomes: {outcomes:?}");
}
