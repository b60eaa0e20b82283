//! `flinkgen build` streams a fleet group by group (one Kafka cluster and its jobs at a time,
//! `flinkgen::stream`); `check`, `explain` and the other commands resolve the whole plan at once.
//! Both must give the same result: the same files byte for byte, the same findings in the same
//! order, the same input errors in the same order — in parallel and one group after another —
//! and an input error in any group must leave the output as it was.

mod common;
// The fleet generator includes tests/common/rng.rs for itself (the benchmark has no `common`);
// both copies are the same file.
#[allow(clippy::duplicate_mod)]
#[path = "../benches/support/fleet.rs"]
mod fleet;

use std::path::{Path, PathBuf};

use flinkgen::app::{Options, build, compile};
use flinkgen::diag::render_human;
use flinkgen::emit::{self, Fault, FaultyIo, Manifest, RealIo};

/// A generated fleet of `jobs` jobs over several clusters, in a temporary directory.
fn fleet(jobs: usize) -> (tempfile::TempDir, PathBuf) {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = work.path().join("fleet");
    let info = fleet::write_fleet(&dir, jobs, fleet::SEED).unwrap_or_else(|e| panic!("{e}"));
    assert!(info.clusters >= 5, "{info:?}");
    (work, dir)
}

fn opts(dir: &Path) -> Options {
    Options {
        inputs: vec![dir.to_path_buf()],
        ..Default::default()
    }
}

/// The whole-plan pipeline, written with `emit::write_with`: what `build` did before streaming.
fn whole_plan_build(o: &Options, out: &Path) -> String {
    let c = compile(o).unwrap_or_else(|(e, s)| panic!("{}", render_human(&e.0, &s, false)));
    let units = common::units(&c);
    let mut findings = std::collections::BTreeMap::new();
    for s in ["error", "warning", "info"] {
        findings.insert(
            s.to_string(),
            c.findings
                .iter()
                .filter(|f| f.severity.to_string() == s)
                .count(),
        );
    }
    let manifest = Manifest {
        generator: "flinkgen",
        inputs: c.inputs.clone(),
        packs: c.plan.packs.clone(),
        findings,
        files: emit::manifest_files(&units),
    };
    emit::write_with(&RealIo::default(), out, &units, &manifest)
        .unwrap_or_else(|e| panic!("{}", e.diagnostic.message));
    render_human(&c.findings, &c.sources, false)
}

/// A job profile of the fleet for Flink 1.18 (it writes flink-conf.yaml), and its cluster.
fn legacy_job(dir: &Path) -> (PathBuf, String) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("jobs"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files.iter().rev() {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{e}"));
        if text.contains("flink version=\"1.18\"") {
            let cluster = text
                .split("kafka cluster=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or_else(|| panic!("no cluster in {}", f.display()))
                .to_string();
            return (f.clone(), cluster);
        }
    }
    panic!("the fleet has no Flink 1.18 job");
}

/// Add a line to a job profile, before its closing brace.
fn add_line(profile: &Path, line: &str) {
    let text = std::fs::read_to_string(profile).unwrap_or_else(|e| panic!("{e}"));
    let at = text
        .rfind('}')
        .unwrap_or_else(|| panic!("{}", profile.display()));
    let text = format!("{}    {line}\n{}", &text[..at], &text[at..]);
    std::fs::write(profile, text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_streamed_build_writes_and_reports_what_the_whole_plan_gives() {
    let (work, dir) = fleet(400);
    let o = opts(&dir);
    let want_dir = work.path().join("whole");
    let findings = whole_plan_build(&o, &want_dir);
    assert!(
        findings.matches("FG").count() > 100,
        "a fleet has many findings"
    );
    let want = common::tree(&want_dir);

    // `flinkgen check` streams too (nothing rendered): the same findings.
    let r = flinkgen::app::check_cmd(&o);
    assert_eq!(
        r.stderr, findings,
        "check's findings differ from the whole plan's"
    );

    // In parallel, as the CLI writes.
    let out = work.path().join("streamed");
    let r = build(&o, &out, false);
    assert!(r.code < 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&findings),
        "the findings differ from the whole plan's"
    );
    assert!(common::tree(&out) == want, "streamed output differs");

    // One group after another, through the test seam (as the fault tests write).
    let seq = work.path().join("sequential");
    let r = flinkgen::app::build_with_io(&o, &seq, false, &FaultyIo::new(None, Fault::Crash));
    assert!(r.code < 2, "{}", r.stderr);
    assert!(r.stderr.starts_with(&findings));
    assert!(common::tree(&seq) == want, "sequential output differs");

    // `--check` streams too: the whole plan's output is up to date, and an edit is a diff.
    let r = build(&o, &want_dir, true);
    assert_eq!(r.code, 1, "error findings, no drift: {}", r.stdout);
    assert!(r.stdout.is_empty() && r.stderr.contains("is up to date"));
    let (legacy, _) = legacy_job(&dir);
    add_line(&legacy, r#"override "flink" "pipeline.name" "renamed""#);
    let r = build(&o, &want_dir, true);
    assert!(r.stdout.contains("+pipeline.name: renamed"), "{}", r.stdout);
    assert!(r.stderr.contains("is out of date"));
}

#[test]
fn input_errors_in_several_groups_are_all_reported_in_input_order_and_nothing_is_written() {
    let (work, dir) = fleet(300);
    let out = work.path().join("out");
    let r = build(&opts(&dir), &out, false);
    assert!(r.code < 2, "{}", r.stderr);
    let before = common::tree(&out);

    // Unknown override keys in the first and the last job (different clusters), and a Flink
    // 1.18 value flink-conf.yaml cannot carry (a render error) in a third.
    let first = dir.join("jobs/job-00000.kdl");
    let last = dir.join("jobs/job-00299.kdl");
    let cluster_of = |p: &Path| {
        let t = std::fs::read_to_string(p).unwrap_or_default();
        t.split("kafka cluster=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .map(str::to_string)
    };
    assert_ne!(cluster_of(&first), cluster_of(&last), "two groups");
    add_line(&first, r#"override "flink" "no.such.option" "1""#);
    add_line(&last, r#"override "flink" "no.such.option.either" "1""#);
    let c = compile(&opts(&dir));
    let Err((want, sources)) = c else {
        panic!("the whole plan must fail too")
    };
    assert_eq!(want.0.len(), 2, "{:?}", want.0);
    let r = build(&opts(&dir), &out, false);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, render_human(&want.0, &sources, false));
    assert!(
        common::tree(&out) == before,
        "an input error changed the output"
    );

    // A render error alone (the later groups have been staged when it is found in parallel).
    std::fs::write(
        &first,
        std::fs::read_to_string(&first)
            .unwrap_or_default()
            .replace("    override \"flink\" \"no.such.option\" \"1\"\n", ""),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        &last,
        std::fs::read_to_string(&last).unwrap_or_default().replace(
            "    override \"flink\" \"no.such.option.either\" \"1\"\n",
            "",
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (legacy, _) = legacy_job(&dir);
    add_line(&legacy, r##"override "flink" "pipeline.name" "a#b""##);
    let r = build(&opts(&dir), &out, false);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot be written to flink-conf.yaml"),
        "{}",
        r.stderr
    );
    assert!(
        common::tree(&out) == before,
        "a render error changed the output"
    );
    let debris: Vec<_> = std::fs::read_dir(&out)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".flinkgen"))
        .collect();
    assert!(debris.is_empty(), "{debris:?}");

    // Into a directory that did not exist: it still does not.
    let fresh = work.path().join("fresh");
    let r = build(&opts(&dir), &fresh, false);
    assert_eq!(r.code, 2);
    assert!(!fresh.exists(), "a failed build left {}", fresh.display());
}
