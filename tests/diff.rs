//! `flinkgen diff`: artifact diffs, findings that appear or disappear, and consequences.

mod common;

use flinkgen::app::{VersionOverrides, diff_cmd};

fn diff(inputs: &str, versions: VersionOverrides, next: &[std::path::PathBuf]) -> String {
    let mut opts = common::options(&[std::path::Path::new(inputs)]);
    opts.versions = versions;
    let r = diff_cmd(&opts, next);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
}

fn pack(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("next.kdl"), text).unwrap_or_else(|e| panic!("{e}"));
    dir
}

#[test]
fn a_flink_upgrade_shows_the_new_file_format_and_needs_a_job_restart() {
    let v = VersionOverrides {
        flink: Some("2.0".into()),
        connector: Some("4.0.1".into()),
        ..Default::default()
    };
    let out = diff("examples/orders-enrichment.kdl", v, &[]);
    assert!(
        out.contains("consequence: needs only a job restart"),
        "{out}"
    );
    assert!(
        out.contains("flink/config.yaml: new file")
            && out.contains("flink/flink-conf.yaml: file removed"),
        "{out}"
    );
    // The connector 3.x reminder disappears with connector 4.
    assert!(out.lines().any(|l| l.starts_with("  - FG118")), "{out}");
    assert!(
        out.contains("+++ b/jobs/orders-enrichment/flink/config.yaml"),
        "{out}"
    );
    assert!(!out.contains("breaks restore"), "{out}");
}

#[test]
fn a_policy_that_changes_max_parallelism_breaks_restore() {
    let next = pack(
        r#"pack "acme-next" version="2.0.0" layer="organisation" {
    rule "more-key-groups" {
        doc "Room to scale out."
        set "flink" "pipeline.max-parallelism" 256
    }
}
"#,
    );
    let out = diff(
        "examples/orders-enrichment.kdl",
        VersionOverrides::default(),
        &[next.path().to_path_buf()],
    );
    assert!(
        out.contains("consequence: breaks restore from existing state"),
        "{out}"
    );
    assert!(out.contains("pipeline.max-parallelism: 128 → 256"), "{out}");
}

#[test]
fn a_longer_transaction_margin_needs_a_broker_rolling_restart() {
    let next = pack(
        r#"pack "acme-next" version="2.0.0" layer="organisation" {
    param "kafka.transaction-margin" "50min"
}
"#,
    );
    let out = diff(
        "examples/orders-enrichment.kdl",
        VersionOverrides::default(),
        &[next.path().to_path_buf()],
    );
    assert!(
        out.contains("clusters/main\n  consequence: needs a broker rolling restart"),
        "{out}"
    );
    assert!(out.contains("+transaction.max.timeout.ms=7380000"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("  + FG102")), "{out}");
}

#[test]
fn a_kafka_patch_line_that_changes_nothing_says_so() {
    let v = VersionOverrides {
        kafka: Some("3.9".into()),
        ..Default::default()
    };
    let out = diff("examples/payments", v, &[]);
    assert!(out.contains("only comments change"), "{out}");
}

#[test]
fn unknown_versions_are_input_errors() {
    let mut opts = common::options(&[std::path::Path::new("examples/orders-enrichment.kdl")]);
    opts.versions = VersionOverrides {
        flink: Some("1.7".into()),
        ..Default::default()
    };
    let r = diff_cmd(&opts, &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--flink 1.7"), "{}", r.stderr);
}
