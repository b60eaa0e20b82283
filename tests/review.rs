//! CI and review: SARIF output validated against the SARIF 2.1.0 schema, `flinkgen policies`,
//! and the rule catalog commands.
//!
//! SARIF logs are validated against the official schema by `common::sarif`.

mod common;

use std::path::{Path, PathBuf};

use common::sarif::assert_valid_sarif;
use flinkgen::app::{self, Format, Options};
use serde_json::Value;

fn opts(inputs: &[&Path], format: Format) -> Options {
    Options {
        inputs: inputs.iter().map(|p| p.to_path_buf()).collect(),
        format,
        ..Default::default()
    }
}

fn parse(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

#[test]
fn check_sarif_of_every_example_is_valid() {
    for ex in common::examples() {
        let o = app::check_cmd(&opts(&[&ex], Format::Sarif));
        assert_eq!(o.code, 0, "{}: {}", ex.display(), o.stderr);
        let log = parse(&o.stdout);
        assert_valid_sarif(&log);
        // Every rule of the catalog is described, with its docs.
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let catalog = flinkgen::check::catalog();
        assert!(rules.len() >= catalog.len());
        for (r, c) in rules.iter().zip(&catalog) {
            assert_eq!(r["id"], c.code);
            assert_eq!(r["fullDescription"]["text"], c.why);
            assert!(r["help"]["text"].as_str().unwrap_or("").contains(c.fix));
        }
    }
}

/// An error finding whose labels sit in two files, one with non-ASCII text before the span.
#[test]
fn sarif_regions_follow_the_spans_in_utf16_columns() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let job =
        std::fs::read_to_string("tests/data/review/job.kdl").unwrap_or_else(|e| panic!("{e}"));
    let cluster =
        std::fs::read_to_string("tests/data/review/cluster.kdl").unwrap_or_else(|e| panic!("{e}"));
    let jp = dir.path().join("job.kdl");
    let cp = dir.path().join("cluster.kdl");
    std::fs::write(&jp, &job).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&cp, &cluster).unwrap_or_else(|e| panic!("{e}"));
    let o = app::check_cmd(&opts(&[&jp, &cp], Format::Sarif));
    assert_eq!(o.code, 1, "an error finding is expected: {}", o.stdout);
    let log = parse(&o.stdout);
    assert_valid_sarif(&log);
    let results = log["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let fg101 = results
        .iter()
        .find(|r| r["ruleId"] == "FG101")
        .unwrap_or_else(|| panic!("no FG101 in {results:?}"));
    assert_eq!(fg101["level"], "error");
    // Every location's region covers exactly the text it says, counted in UTF-16 code units.
    let mut files = vec![];
    for loc in fg101["locations"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(fg101["relatedLocations"].as_array().into_iter().flatten())
    {
        let pl = &loc["physicalLocation"];
        let uri = pl["artifactLocation"]["uri"].as_str().unwrap_or("");
        if pl["artifactLocation"]["uriBaseId"] == "FLINKGEN_BUILTIN" {
            continue;
        }
        let name = Path::new(uri)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        files.push(name.clone());
        let text = if name == "job.kdl" { &job } else { &cluster };
        let r = &pl["region"];
        let line = |n: &str| r[n].as_u64().unwrap_or(0) as usize;
        assert_eq!(line("startLine"), line("endLine"), "single-line spans");
        let src: Vec<u16> = text
            .lines()
            .nth(line("startLine") - 1)
            .unwrap_or("")
            .encode_utf16()
            .collect();
        let got = String::from_utf16_lossy(&src[line("startColumn") - 1..line("endColumn") - 1]);
        assert_eq!(
            Some(got.as_str()),
            r["snippet"]["text"].as_str(),
            "region {r}"
        );
    }
    files.sort();
    files.dedup();
    assert_eq!(files, ["cluster.kdl", "job.kdl"], "labels in both files");
    // Both files have a comment with non-ASCII text (one outside the BMP) before the span on
    // the same line: byte or code-point columns would differ from UTF-16 columns there.
    assert!(job.lines().any(|l| l.contains("/* zählt 𝄞 */ override")));
    assert!(
        cluster
            .lines()
            .any(|l| l.contains("/* Grenze ü */ 7200000"))
    );
}

#[test]
fn input_errors_are_sarif_too_with_exit_2() {
    let (_d, p) = common::profile("job \"x\" {\n    environment \"prod\n}\n");
    let o = app::check_cmd(&opts(&[&p], Format::Sarif));
    assert_eq!(o.code, 2);
    let log = parse(&o.stdout);
    assert_valid_sarif(&log);
    let results = log["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!results.is_empty());
    assert!(
        results
            .iter()
            .all(|r| r["level"] == "error" && r["ruleId"] == "input-error")
    );
}

#[test]
fn build_check_sarif_keeps_stdout_for_the_log_and_reports_drift() {
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ex = PathBuf::from("examples/orders-enrichment.kdl");
    let o = app::build(&opts(&[&ex], Format::Sarif), out.path(), true);
    assert_eq!(o.code, 1, "empty output dir is drift");
    assert_valid_sarif(&parse(&o.stdout));
    assert!(
        o.stderr.contains("+++ b/manifest.json"),
        "the diff goes to stderr"
    );
    let o = app::build(&opts(&[&ex], Format::Human), out.path(), false);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = app::build(&opts(&[&ex], Format::Sarif), out.path(), true);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_valid_sarif(&parse(&o.stdout));
}

#[test]
fn sarif_is_refused_where_there_are_no_findings() {
    let bin = env!("CARGO_BIN_EXE_flinkgen");
    for args in [
        vec![
            "explain",
            "examples/orders-enrichment.kdl",
            "--format",
            "sarif",
        ],
        vec!["policies", "--format", "sarif"],
    ] {
        let o = std::process::Command::new(bin)
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr)
                .contains("--format sarif applies to build, check and lint")
        );
    }
}

#[test]
fn policies_lists_packs_and_what_each_job_uses() {
    let o = app::policies_cmd(&opts(&[], Format::Json));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v = parse(&o.stdout);
    let packs = v["packs"].as_array().cloned().unwrap_or_default();
    assert!(packs.len() >= 30, "every built-in pack: {}", packs.len());
    for p in &packs {
        for k in ["name", "version", "layer", "source", "sha256"] {
            assert!(p[k].as_str().is_some_and(|s| !s.is_empty()), "{k} of {p}");
        }
        assert_eq!(p["sha256"].as_str().map(str::len), Some(64));
    }
    assert!(v["jobs"].as_array().is_some_and(Vec::is_empty));

    let ex = PathBuf::from("examples/payments");
    let v = parse(&app::policies_cmd(&opts(&[&ex], Format::Json)).stdout);
    let jobs = v["jobs"].as_array().cloned().unwrap_or_default();
    assert_eq!(jobs.len(), 2);
    for j in &jobs {
        assert_eq!(j["versions"]["flink"], "1.20");
        let names: Vec<&str> = j["packs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(names.contains(&"flink-1.20"), "{names:?}");
        assert!(names.contains(&"flinkgen-practice"), "{names:?}");
        // Each used pack is one of the listed packs, with the same hash.
        for p in j["packs"].as_array().into_iter().flatten() {
            assert!(
                packs
                    .iter()
                    .any(|q| q["name"] == p["name"] && q["sha256"] == p["sha256"])
            );
        }
    }
    assert_eq!(v["clusters"][0]["cluster"], "payments");

    let human = app::policies_cmd(&opts(&[&ex], Format::Human)).stdout;
    assert!(
        human.contains("job payment-authorizations (cluster payments): Flink 1.20"),
        "{human}"
    );
    assert!(human.contains("<builtin>/policies/flink/1.20.kdl"));

    let bad = PathBuf::from("no/such/dir");
    assert_eq!(app::policies_cmd(&opts(&[&bad], Format::Human)).code, 2);
}

#[test]
fn rule_docs_are_complete_and_reachable_by_code_and_name() {
    for c in flinkgen::check::catalog() {
        for (what, text) in [("summary", c.summary), ("why", c.why), ("fix", c.fix)] {
            assert!(
                text.trim().len() >= 20,
                "{} has a thin {what}: {text:?}",
                c.code
            );
        }
        assert!(
            c.name
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'),
            "{}: names are kebab-case",
            c.code
        );
        let by_code = app::rules_cmd(Some(&c.code.to_lowercase()));
        assert_eq!(by_code.code, 0);
        let flat = by_code
            .stdout
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for text in [c.summary, c.why, c.fix] {
            assert!(flat.contains(text), "{}: {text}", c.code);
        }
        assert!(
            by_code
                .stdout
                .lines()
                .all(|l| l.chars().count() <= 100 || !l.contains(' '))
        );
        assert_eq!(app::rules_cmd(Some(c.name)).stdout, by_code.stdout);
    }
    let codes: Vec<&str> = flinkgen::check::catalog().iter().map(|c| c.code).collect();
    let mut dedup = codes.clone();
    dedup.dedup();
    assert_eq!(codes, dedup, "codes are unique");
    assert_eq!(app::rules_cmd(Some("FG999")).code, 2);
    let typo = app::rules_cmd(Some("recovery-outlast-transaction"));
    assert_eq!(typo.code, 2);
    assert!(
        typo.stderr
            .contains("did you mean `recovery-outlasts-transaction`?"),
        "{}",
        typo.stderr
    );
}
