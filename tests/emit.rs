//! Emit: deterministic bytes, atomic replacement, --check, and nothing written on bad input.

mod common;

use std::path::Path;

use flinkgen::app::build;

fn build_into(out: &Path, check: bool) -> flinkgen::app::Outcome {
    let examples = common::root().join("examples");
    build(&common::options(&[&examples]), out, check)
}

#[test]
fn same_inputs_give_the_same_bytes() {
    let a = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let b = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(build_into(a.path(), false).code, 0);
    assert_eq!(build_into(b.path(), false).code, 0);
    let ta = common::tree(a.path());
    assert!(ta.len() > 40, "expected every artifact, got {}", ta.len());
    assert_eq!(ta, common::tree(b.path()));
    // A rebuild over existing output changes nothing either.
    assert_eq!(build_into(a.path(), false).code, 0);
    assert_eq!(ta, common::tree(a.path()));
    // No staging debris is left behind.
    assert!(
        ta.keys().all(|k| !k.contains("staging")),
        "{:?}",
        ta.keys().collect::<Vec<_>>()
    );
}

#[test]
fn manifest_lists_every_file_with_its_hash() {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(build_into(out.path(), false).code, 0);
    let text = std::fs::read_to_string(out.path().join("manifest.json")).unwrap_or_default();
    let m: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let files = m["files"].as_array().cloned().unwrap_or_default();
    let tree = common::tree(out.path());
    let generated: Vec<&String> = tree
        .keys()
        .filter(|k| k.starts_with("jobs/") || k.starts_with("clusters/"))
        .collect();
    assert_eq!(files.len(), generated.len());
    for f in files {
        let path = f["path"].as_str().unwrap_or_default().to_string();
        let bytes = tree
            .get(&path)
            .unwrap_or_else(|| panic!("{path} listed but not written"));
        assert_eq!(
            f["sha256"].as_str(),
            Some(flinkgen::emit::sha256_hex(bytes).as_str()),
            "{path}"
        );
    }
    let packs = m["packs"].as_array().cloned().unwrap_or_default();
    assert!(
        packs
            .iter()
            .any(|p| p["name"] == "flink-1.20"
                && p["sha256"].as_str().is_some_and(|h| h.len() == 64))
    );
}

#[test]
fn check_reports_drift_and_writes_nothing() {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let first = build_into(out.path(), true);
    assert_eq!(first.code, 1, "empty output dir is drift");
    assert!(
        common::tree(out.path()).is_empty(),
        "--check must not write"
    );
    assert_eq!(build_into(out.path(), false).code, 0);
    assert_eq!(
        build_into(out.path(), true).code,
        0,
        "fresh output is current"
    );
    let conf = out
        .path()
        .join("jobs/orders-enrichment/flink/flink-conf.yaml");
    let edited = std::fs::read_to_string(&conf)
        .unwrap_or_default()
        .replace("parallelism.default: 48", "parallelism.default: 12");
    std::fs::write(&conf, &edited).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        out.path().join("jobs/orders-enrichment/flink/stray.yaml"),
        "x",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let before = common::tree(out.path());
    let r = build_into(out.path(), true);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("-parallelism.default: 12")
            && r.stdout.contains("+parallelism.default: 48"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("stray.yaml"),
        "a file the build would remove is drift: {}",
        r.stdout
    );
    assert_eq!(before, common::tree(out.path()), "--check must not write");
}

#[test]
fn a_failed_swap_leaves_the_previous_output_intact() {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(build_into(out.path(), false).code, 0);
    // Make the new build differ in two jobs (unchanged units are not rewritten), then fail it
    // in the middle of swapping units in.
    for job in ["orders-enrichment", "payment-settlements"] {
        let marker = out.path().join(format!("jobs/{job}/flink/flink-conf.yaml"));
        std::fs::write(&marker, "previous\n").unwrap_or_else(|e| panic!("{e}"));
    }
    let before = common::tree(out.path());
    // Fail the swap of the second job, after the first has been swapped in: find its step in
    // a build from a copy of the same output.
    let examples = common::root().join("examples");
    let clean = flinkgen::emit::FaultyIo::new(None, flinkgen::emit::Fault::Os(5));
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (rel, bytes) in &before {
        let p = scratch.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap_or(scratch.path()))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(
        flinkgen::app::build_with_io(
            &common::options(&[&examples]),
            scratch.path(),
            false,
            &clean
        )
        .code,
        0
    );
    let log = clean.log.lock().map(|l| l.clone()).unwrap_or_default();
    let step = log
        .iter()
        .position(|s| {
            s.starts_with("rename")
                && s.contains("staging")
                && s.ends_with("jobs/payment-settlements")
        })
        .unwrap_or_else(|| panic!("no swap of payment-settlements in {log:#?}"));
    let io = flinkgen::emit::FaultyIo::new(Some(step), flinkgen::emit::Fault::Os(5));
    let r = flinkgen::app::build_with_io(&common::options(&[&examples]), out.path(), false, &io);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        before,
        common::tree(out.path()),
        "every unit, including those swapped before the failure, is restored"
    );
}

#[test]
fn bad_input_writes_nothing_and_exits_2() {
    let (_dir, bad) = common::profile("job \"x\" {\n  delivery \"sometimes\"\n}\n");
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let target = out.path().join("out");
    let r = build(&common::options(&[&bad]), &target, false);
    assert_eq!(r.code, 2);
    assert!(
        !target.exists(),
        "nothing may be written for unusable input"
    );
}

#[test]
fn output_through_a_symlink_is_refused() {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let elsewhere = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(out.path().join("jobs")).unwrap_or_else(|e| panic!("{e}"));
    #[cfg(unix)]
    std::os::unix::fs::symlink(elsewhere.path(), out.path().join("jobs/orders-enrichment"))
        .unwrap_or_else(|e| panic!("{e}"));
    let r = build_into(out.path(), false);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        common::tree(elsewhere.path()).is_empty(),
        "nothing written through the link"
    );
    assert!(!out.path().join("manifest.json").exists());
}

/// The lock file is flinkgen's own: a link planted there (to an existing file or to nowhere)
/// is refused, and nothing outside the output is created or truncated.
#[cfg(unix)]
#[test]
fn a_lock_file_that_is_a_link_is_refused() {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let elsewhere = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let victim = elsewhere.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap_or_else(|e| panic!("{e}"));
    for target in [victim.clone(), elsewhere.path().join("new")] {
        let lock = out.path().join(".flinkgen.lock");
        let _ = std::fs::remove_file(&lock);
        std::os::unix::fs::symlink(&target, &lock).unwrap_or_else(|e| panic!("{e}"));
        let r = build_into(out.path(), false);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("is a symbolic link"), "{}", r.stderr);
        assert_eq!(
            common::tree(elsewhere.path()),
            [("victim".to_string(), b"precious\n".to_vec())].into(),
            "nothing outside the output is created or written"
        );
    }
}

/// Recovering a killed build's staging moves back only real directories into a real `jobs/`
/// or `clusters/`: links planted in a stale staging directory, or in place of `jobs/`, move
/// nothing into or out of a directory outside the output.
#[cfg(unix)]
#[test]
fn recovering_stale_staging_never_follows_a_link() {
    use std::os::unix::fs::symlink;
    let mkdir = |p: &Path| std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{e}"));
    // `jobs` is a link out of the output; the stale staging holds a unit to move back.
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let elsewhere = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let planted = out
        .path()
        .join(".flinkgen-staging-1/.previous/jobs/planted");
    mkdir(&planted);
    std::fs::write(planted.join("evil.sh"), "x").unwrap_or_else(|e| panic!("{e}"));
    symlink(elsewhere.path(), out.path().join("jobs")).unwrap_or_else(|e| panic!("{e}"));
    let r = build_into(out.path(), false);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        common::tree(elsewhere.path()).is_empty(),
        "nothing moved out of the output"
    );
    // `.previous` is a link to a directory outside the output, whose units must stay there.
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let elsewhere = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    mkdir(&out.path().join("jobs"));
    mkdir(&elsewhere.path().join("jobs/precious"));
    std::fs::write(elsewhere.path().join("jobs/precious/f"), "x").unwrap_or_else(|e| panic!("{e}"));
    mkdir(&out.path().join(".flinkgen-staging-1"));
    symlink(
        elsewhere.path(),
        out.path().join(".flinkgen-staging-1/.previous"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = build_into(out.path(), false);
    assert!(r.code <= 1, "{}", r.stderr);
    assert_eq!(
        common::tree(elsewhere.path()),
        [("jobs/precious/f".to_string(), b"x".to_vec())].into(),
        "the directory outside the output is untouched"
    );
    assert!(!out.path().join("jobs/precious").exists());
}

/// Every file's inode, so a test can tell a file left alone from one rewritten with the same
/// bytes (each write goes to a new file renamed into place).
#[cfg(unix)]
fn inodes(dir: &Path) -> std::collections::BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt;
    common::tree(dir)
        .into_keys()
        .filter_map(|rel| {
            std::fs::metadata(dir.join(&rel))
                .ok()
                .map(|m| (rel, m.ino()))
        })
        .collect()
}

#[cfg(unix)]
#[test]
fn a_rebuild_with_nothing_changed_writes_nothing() {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(build_into(out.path(), false).code, 0);
    let (bytes, files) = (common::tree(out.path()), inodes(out.path()));
    let r = build_into(out.path(), false);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("is up to date") && r.stderr.contains("nothing written"),
        "{}",
        r.stderr
    );
    assert_eq!(bytes, common::tree(out.path()));
    assert_eq!(
        files,
        inodes(out.path()),
        "every file is the one written before"
    );
}

#[cfg(unix)]
#[test]
fn a_rebuild_rewrites_exactly_the_directories_that_differ() {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(build_into(out.path(), false).code, 0);
    let bytes = common::tree(out.path());
    // One unit with an edited file, one with a stray file, one with an empty stray directory.
    let job = out.path().join("jobs/orders-enrichment");
    std::fs::write(job.join("flink/flink-conf.yaml"), "edited\n").unwrap_or_else(|e| panic!("{e}"));
    let settle = out.path().join("jobs/payment-settlements");
    std::fs::write(settle.join("kafka/stray.properties"), "x=1\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let audit = out.path().join("jobs/legacy-audit");
    std::fs::create_dir_all(audit.join("flink/empty")).unwrap_or_else(|e| panic!("{e}"));
    let files = inodes(out.path());
    let r = build_into(out.path(), false);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("directories unchanged"), "{}", r.stderr);
    // The output is exactly a fresh build's again…
    assert_eq!(bytes, common::tree(out.path()));
    assert!(!audit.join("flink/empty").exists());
    // …and only the three changed units were rewritten.
    let after = inodes(out.path());
    for (rel, ino) in &after {
        let touched = [
            "jobs/orders-enrichment/",
            "jobs/payment-settlements/",
            "jobs/legacy-audit/",
        ]
        .iter()
        .any(|u| rel.starts_with(u));
        if rel == "manifest.json" {
            continue;
        }
        assert_eq!(
            files.get(rel) != Some(ino),
            touched,
            "{rel}: rewritten only if its unit changed"
        );
    }
}
