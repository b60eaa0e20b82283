//! The check catalog, one firing and one non-firing fixture per code.
//!
//! Most fixtures start from `BASE` (the payments example: one Kafka cluster and one exactly-once
//! job, which builds with zero findings) and change one thing. Checks the resolver never lets fire
//! (it always writes a checkpoint interval, always sets read_committed downstream for
//! exactly-once) are fired by mutating the compiled Plan and re-running `check`, which is fair:
//! checks read only the Plan. `hand_built_plan_*` builds a Plan from existing config files, the
//! way a `lint` command will.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use flinkgen::app::{Compiled, Options};
use flinkgen::diag::{Diagnostic, InputErrors, Severity, Sources, Span};
use flinkgen::plan::{ClusterPlan, DocKind, Document, Fact, JobPlan, Origin, Plan, Table, Value};
use flinkgen::policy::PackSet;

// ---------------------------------------------------------------------------------------------
// Fixtures and helpers
// ---------------------------------------------------------------------------------------------

/// examples/payments/cluster.kdl + examples/payments/authorizations.kdl, copied so that editing
/// an example cannot silently weaken these tests.
const BASE: &str = r#"
cluster "payments" {
    kafka version="3.8" brokers=5 bootstrap="payments-kafka-bootstrap.kafka.svc:9093"
    deployment "strimzi" version="0.45.1"
    broker "transaction.max.timeout.ms" 7200000
    broker "transactional.id.expiration.ms" 1296000000   // 15 days
    broker "min.insync.replicas" 2
    broker "default.replication.factor" 3
    topic "payments.auth-requests" retention="21d" replication=3
}

job "payment-authorizations" {
    environment "prod"
    flink version="1.20" operator="1.15"
    kafka cluster="payments" connector="3.4.0"
    delivery "exactly-once"
    state size="120GiB" backend="rocksdb"
    throughput records-per-second=30000 record-size="800B"
    source "requests" topic="payments.auth-requests" partitions=32 format="avro-confluent"
    sink "decisions" topic="payments.auth-decisions" partitions=32 format="avro-confluent"
    checkpoint interval="1min"
    recovery max-downtime="15min" restorable-for="14d"
    instance "r6gd.4xlarge"
    kubernetes namespace="payments" image="registry.acme.internal/flink/payments:1.20.1" \
        service-account="payments-flink" storage="s3://acme-payments-flink/authorizations"
    artifact jar="local:///opt/flink/usrlib/sql-runner.jar" sql="/opt/flink/usrlib/sql/authorizations.sql"
}
"#;

/// The base with `old` replaced by `new`; `old` must occur exactly once.
fn base_with(old: &str, new: &str) -> String {
    assert_eq!(
        BASE.matches(old).count(),
        1,
        "fixture text `{old}` must occur exactly once in BASE"
    );
    BASE.replacen(old, new, 1)
}

/// The base with extra lines appended to the job's body.
fn base_with_job_lines(lines: &str) -> String {
    base_with(
        r#"sql="/opt/flink/usrlib/sql/authorizations.sql"
"#,
        &format!("sql=\"/opt/flink/usrlib/sql/authorizations.sql\"\n    {lines}\n"),
    )
}

fn write_profile(dir: &Path, kdl: &str) -> PathBuf {
    let path = dir.join("profile.kdl");
    std::fs::write(&path, kdl).expect("write profile");
    path
}

fn try_compile_with(kdl: &str, policies: Vec<PathBuf>) -> Result<Compiled, (InputErrors, Sources)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_profile(dir.path(), kdl);
    flinkgen::app::compile(&Options {
        inputs: vec![path],
        policies,
        ..Default::default()
    })
}

fn compile_with(kdl: &str, policies: Vec<PathBuf>) -> Compiled {
    match try_compile_with(kdl, policies) {
        Ok(c) => c,
        Err((e, sources)) => panic!(
            "fixture does not compile:\n{}",
            flinkgen::diag::render_human(&e.0, &sources, false)
        ),
    }
}

/// Profile text compiled in-process: load → resolve → check.
fn compile(kdl: &str) -> Compiled {
    compile_with(kdl, vec![])
}

fn codes_of(findings: &[Diagnostic]) -> Vec<String> {
    findings.iter().filter_map(|d| d.code.clone()).collect()
}

fn codes(c: &Compiled) -> Vec<String> {
    codes_of(&c.findings)
}

/// Run the catalog again on a (mutated) plan.
fn recheck(c: &mut Compiled) {
    c.findings = flinkgen::check::check(&c.plan, &c.packs);
}

fn show(c: &Compiled) -> String {
    flinkgen::diag::render_human(&c.findings, &c.sources, false)
}

/// The findings of one code; panics (showing every finding) when there is none.
fn fired<'a>(c: &'a Compiled, code: &str) -> Vec<&'a Diagnostic> {
    let found: Vec<&Diagnostic> = c
        .findings
        .iter()
        .filter(|d| d.code.as_deref() == Some(code))
        .collect();
    assert!(
        !found.is_empty(),
        "expected {code} to fire; findings: {:?}\n{}",
        codes(c),
        show(c)
    );
    if let Some(def) = flinkgen::check::catalog()
        .into_iter()
        .find(|d| d.code == code)
    {
        for d in &found {
            assert_eq!(d.severity, def.severity, "{code}: severity of the finding");
            assert!(d.help.is_some(), "{code}: a finding carries a fix");
            assert!(!d.labels.is_empty(), "{code}: a finding points somewhere");
        }
    }
    found
}

/// Codes of the findings that are not reminders (severity info).
fn significant(c: &Compiled) -> Vec<String> {
    c.findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .filter_map(|f| f.code.clone())
        .collect()
}

/// The one finding of a code.
fn fired_once<'a>(c: &'a Compiled, code: &str) -> &'a Diagnostic {
    let found = fired(c, code);
    assert_eq!(found.len(), 1, "expected one {code}\n{}", show(c));
    found[0]
}

fn quiet(c: &Compiled, code: &str) {
    assert!(
        !codes(c).iter().any(|x| x == code),
        "expected {code} not to fire\n{}",
        show(c)
    );
}

/// The text under the label with this text.
fn label<'a>(sources: &'a Sources, d: &Diagnostic, text: &str) -> &'a str {
    let l = d
        .labels
        .iter()
        .find(|l| l.text == text)
        .unwrap_or_else(|| panic!("no label `{text}` in {d:#?}"));
    sources.snippet(l.span)
}

/// The texts under all labels.
fn snippets<'a>(sources: &'a Sources, d: &Diagnostic) -> Vec<&'a str> {
    d.labels.iter().map(|l| sources.snippet(l.span)).collect()
}

/// `pack` files for `--policies`, in a fresh directory.
fn policy_dir(packs: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in packs {
        std::fs::write(dir.path().join(name), text).expect("write pack");
    }
    dir
}

/// Every code a fixture below covers. `catalog_has_a_fixture_for_every_code` keeps it in step
/// with the catalog, so a new check without a fixture fails the suite.
const COVERED: &[&str] = &[
    "FG101", "FG102", "FG103", "FG104", "FG105", "FG106", "FG107", "FG108", "FG109", "FG110",
    "FG111", "FG112", "FG113", "FG114", "FG115", "FG116", "FG117", "FG118", "FG119", "FG120",
    "FG121", "FG122", "FG123", "FG201", "FG202", "FG203", "FG204", "FG205", "FG206", "FG207",
    "FG208", "FG209", "FG210", "FG211", "FG301", "FG302", "FG303", "FG304", "FG305", "FG306",
    "FG307", "FG308", "FG309", "FG310", "FG311",
];

// ---------------------------------------------------------------------------------------------
// The base and the catalog
// ---------------------------------------------------------------------------------------------

#[test]
fn base_profile_is_clean() {
    // Clean but for three reminders (info): connector 3.x's default prefix, local recovery's
    // scope on Kubernetes, and the S3 filesystem plugin.
    let c = compile(BASE);
    let mut codes: Vec<_> = c
        .findings
        .iter()
        .filter_map(|f| f.code.as_deref())
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        ["FG118", "FG307", "FG309"],
        "base has findings:\n{}",
        show(&c)
    );
    assert!(c.findings.iter().all(|f| f.severity == Severity::Info));
    assert_eq!(c.plan.jobs.len(), 1);
    assert_eq!(c.plan.clusters.len(), 1);
}

#[test]
fn catalog_entries_are_well_formed() {
    let catalog = flinkgen::check::catalog();
    let mut codes = BTreeSet::new();
    let mut names = BTreeSet::new();
    for def in &catalog {
        let c = def.code.as_bytes();
        assert!(
            c.len() == 5 && c.starts_with(b"FG") && c[2..].iter().all(u8::is_ascii_digit),
            "code `{}` does not match ^FG[0-9]{{3}}$",
            def.code
        );
        assert!(codes.insert(def.code), "code {} appears twice", def.code);
        let kebab = !def.name.is_empty()
            && def.name.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
            && def.name.as_bytes()[0].is_ascii_lowercase();
        assert!(kebab, "{}: name `{}` is not kebab-case", def.code, def.name);
        assert!(names.insert(def.name), "name `{}` appears twice", def.name);
        for (what, text) in [("summary", def.summary), ("why", def.why), ("fix", def.fix)] {
            assert!(!text.trim().is_empty(), "{}: empty {what}", def.code);
        }
    }
    let sorted: Vec<&str> = catalog.iter().map(|d| d.code).collect();
    let mut expected = sorted.clone();
    expected.sort_unstable();
    assert_eq!(sorted, expected, "catalog() is sorted by code");
}

#[test]
fn catalog_has_a_fixture_for_every_code() {
    let catalog: Vec<&str> = flinkgen::check::catalog().iter().map(|d| d.code).collect();
    assert_eq!(catalog, COVERED);
}

// ---------------------------------------------------------------------------------------------
// FG1xx: Kafka and exactly-once
// ---------------------------------------------------------------------------------------------

#[test]
fn fg101_transaction_timeout_above_broker_max() {
    let c = compile(&base_with_job_lines(
        r#"override "producer" "transaction.timeout.ms" "9999999""#,
    ));
    let d = fired_once(&c, "FG101");
    assert_eq!(
        label(&c.sources, d, "producer timeout"),
        r#"override "producer" "transaction.timeout.ms" "9999999""#
    );
    assert_eq!(label(&c.sources, d, "broker maximum"), "7200000");
    assert!(d.message.contains("cluster `payments`"), "{}", d.message);

    quiet(&compile(BASE), "FG101");
    // At the broker's maximum is allowed.
    quiet(
        &compile(&base_with_job_lines(
            r#"override "producer" "transaction.timeout.ms" "7200000""#,
        )),
        "FG101",
    );
}

#[test]
fn fg102_recovery_outlasts_transaction() {
    // 4 × (20 s + 10 s + 10 min) + 15 min downtime + 5 min margin = 62 min > 15 min broker max:
    // the resolver clamps the producer to the broker max, and FG102 says what that costs.
    let c = compile(&base_with(
        r#"broker "transaction.max.timeout.ms" 7200000"#,
        r#"broker "transaction.max.timeout.ms" 900000"#,
    ));
    let d = fired_once(&c, "FG102");
    assert_eq!(
        label(&c.sources, d, "adds up to the worst case"),
        r#""15min""#
    );
    assert_eq!(label(&c.sources, d, "timeout"), "900000");
    let help = d.help.as_deref().unwrap_or_default();
    assert!(
        help.contains("transaction.max.timeout.ms=3960000"),
        "help names the proposed broker setting: {help}"
    );
    quiet(&c, "FG101"); // the producer was clamped, not left above the maximum

    quiet(&compile(BASE), "FG102");
}

#[test]
fn fg103_transactional_id_expires_before_restore() {
    let c = compile(&base_with(
        r#"restorable-for="14d""#,
        r#"restorable-for="30d""#,
    ));
    let d = fired_once(&c, "FG103");
    assert_eq!(label(&c.sources, d, "restore window"), r#""30d""#);
    assert_eq!(label(&c.sources, d, "expiration"), "1296000000");

    quiet(&compile(BASE), "FG103");
    // 15 days of IDs cover a 15-day window exactly.
    quiet(
        &compile(&base_with(
            r#"restorable-for="14d""#,
            r#"restorable-for="15d""#,
        )),
        "FG103",
    );
}

#[test]
fn fg104_downstream_reads_uncommitted() {
    // The practice pack sets read_committed; an organisation pack can override it.
    let dir = policy_dir(&[(
        "acme.kdl",
        r#"pack "acme" version="1.0.0" layer="organisation" {
    rule "downstream-defaults" {
        doc "Our downstream readers are legacy consumers."
        set "downstream" "isolation.level" "read_uncommitted"
    }
}
"#,
    )]);
    let c = compile_with(BASE, vec![dir.path().to_path_buf()]);
    let d = fired_once(&c, "FG104");
    assert_eq!(
        label(&c.sources, d, "isolation level"),
        r#"set "downstream" "isolation.level" "read_uncommitted""#
    );
    assert!(
        d.message.contains("isolation.level=read_uncommitted"),
        "{}",
        d.message
    );

    // No isolation level at all: Kafka's default is read_uncommitted; the job is labelled.
    let mut c = compile(BASE);
    c.plan.jobs[0]
        .doc_mut(DocKind::Downstream)
        .remove("isolation.level");
    recheck(&mut c);
    let d = fired_once(&c, "FG104");
    assert!(d.message.contains("(the default)"), "{}", d.message);
    assert_eq!(snippets(&c.sources, d), ["job"]);

    quiet(&compile(BASE), "FG104");
    // At-least-once writes no transactions: nothing to read committed.
    let mut c = compile(&base_with(
        r#"delivery "exactly-once""#,
        r#"delivery "at-least-once""#,
    ));
    c.plan.jobs[0]
        .doc_mut(DocKind::Downstream)
        .remove("isolation.level");
    recheck(&mut c);
    quiet(&c, "FG104");
}

#[test]
fn fg105_replication_above_broker_count() {
    let c = compile(&base_with("brokers=5", "brokers=2"));
    let found = fired(&c, "FG105");
    let d = found
        .iter()
        .find(|d| {
            d.message
                .contains("default.replication.factor=3 needs 3 brokers")
        })
        .unwrap_or_else(|| panic!("no finding about default.replication.factor\n{}", show(&c)));
    assert_eq!(label(&c.sources, d, "default.replication.factor"), "3");
    assert_eq!(label(&c.sources, d, "broker count"), "2");
    // Kafka's defaults for the internal topics (replication factor 3) are checked too.
    assert!(
        found
            .iter()
            .any(|d| d.message.contains("offsets.topic.replication.factor=3")),
        "{}",
        show(&c)
    );

    quiet(&compile(BASE), "FG105");
    quiet(&compile(&base_with("brokers=5", "brokers=3")), "FG105");
}

#[test]
fn fg106_idempotence_misconfigured() {
    let c = compile(&base_with_job_lines(r#"override "producer" "acks" "1""#));
    let d = fired_once(&c, "FG106");
    assert!(d.message.contains("acks must be all"), "{}", d.message);
    assert_eq!(
        label(&c.sources, d, "acks"),
        r#"override "producer" "acks" "1""#
    );

    let c = compile(&base_with_job_lines(
        r#"override "producer" "max.in.flight.requests.per.connection" "6""#,
    ));
    assert!(fired_once(&c, "FG106").message.contains("at most 5"));
    let c = compile(&base_with_job_lines(r#"override "producer" "retries" "0""#));
    assert!(
        fired_once(&c, "FG106")
            .message
            .contains("retries must be above 0")
    );

    quiet(&compile(BASE), "FG106");
    quiet(
        &compile(&base_with_job_lines(r#"override "producer" "acks" "-1""#)),
        "FG106",
    );
}

#[test]
fn fg107_guarantee_without_checkpointing() {
    // The resolver always writes an interval for a delivery guarantee: remove it from the plan.
    let mut c = compile(BASE);
    c.plan.jobs[0]
        .doc_mut(DocKind::Flink)
        .remove("execution.checkpointing.interval");
    recheck(&mut c);
    let d = fired_once(&c, "FG107");
    assert_eq!(
        label(&c.sources, d, "delivery guarantee"),
        r#""exactly-once""#
    );

    quiet(&compile(BASE), "FG107");
    // Without a guarantee, no checkpointing is fine.
    let mut c = compile(BASE);
    let job = &mut c.plan.jobs[0];
    job.doc_mut(DocKind::Flink)
        .remove("execution.checkpointing.interval");
    let origin = job.fact("delivery").map(|f| f.origin.clone()).unwrap();
    job.set_fact("delivery", Value::Str("none".into()), origin);
    recheck(&mut c);
    quiet(&c, "FG107");
}

#[test]
fn fg108_cluster_needs_broker_change() {
    let c = compile(&base_with(
        r#"broker "transaction.max.timeout.ms" 7200000"#,
        r#"broker "transaction.max.timeout.ms" 900000"#,
    ));
    let d = fired_once(&c, "FG108");
    assert_eq!(d.severity, Severity::Warning);
    assert!(
        d.message
            .contains("transaction.max.timeout.ms=3960000 (now 900000)"),
        "{}",
        d.message
    );
    assert_eq!(label(&c.sources, d, "current setting"), "900000");
    assert_eq!(label(&c.sources, d, "needed by this job"), r#""15min""#);
    assert_eq!(
        c.plan.clusters[0]
            .proposed
            .get("transaction.max.timeout.ms")
            .map(Value::kafka_text)
            .as_deref(),
        Some("3960000")
    );

    quiet(&compile(BASE), "FG108");
}

// ---------------------------------------------------------------------------------------------
// FG2xx: memory and sizing
// ---------------------------------------------------------------------------------------------

#[test]
fn fg201_flink_rejects_memory() {
    // A fraction outside [0, 1): Flink refuses the range itself.
    let line = r#"override "flink" "taskmanager.memory.network.fraction" "1.5""#;
    let c = compile(&base_with_job_lines(line));
    let d = fired_once(&c, "FG201");
    assert!(
        d.message.contains("Inconsistently configured"),
        "{}",
        d.message
    );
    assert_eq!(
        label(&c.sources, d, "taskmanager.memory.network.fraction"),
        line
    );
    quiet(&compile(BASE), "FG201");
    quiet(
        &compile(&base_with_job_lines(
            r#"override "flink" "taskmanager.memory.network.fraction" "0.2""#,
        )),
        "FG201",
    );
}

#[test]
fn fg210_memory_components_do_not_add_up() {
    // Managed 0.95 + network 0.1 of total Flink memory leaves a negative task heap.
    let line = r#"override "flink" "taskmanager.memory.managed.fraction" "0.95""#;
    let c = compile(&base_with_job_lines(line));
    let d = fired_once(&c, "FG210");
    assert!(
        d.message.contains("exceed configured Total Flink Memory"),
        "{}",
        d.message
    );
    assert_eq!(
        label(&c.sources, d, "taskmanager.memory.managed.fraction"),
        line
    );
    quiet(&c, "FG201");
    quiet(&compile(BASE), "FG210");
    quiet(
        &compile(&base_with_job_lines(
            r#"override "flink" "taskmanager.memory.managed.fraction" "0.7""#,
        )),
        "FG210",
    );
}

#[test]
fn fg204_jvm_overhead_outside_range() {
    // Process 16 GiB and total Flink 10 GiB leave 5.75 GiB of overhead, above the 1 GiB maximum.
    let c = compile(&base_with_job_lines(
        "override \"kubernetes\" \"taskmanager.memory\" \"16Gi\"\n    override \"flink\" \"taskmanager.memory.flink.size\" \"10g\"",
    ));
    let d = fired_once(&c, "FG204");
    assert!(
        d.message.contains("not in configured JVM Overhead range"),
        "{}",
        d.message
    );
    quiet(&compile(BASE), "FG204");
    // 15 GiB of total Flink leaves 768 MiB: inside the range.
    quiet(
        &compile(&base_with_job_lines(
            "override \"kubernetes\" \"taskmanager.memory\" \"16Gi\"\n    override \"flink\" \"taskmanager.memory.flink.size\" \"15g\"",
        )),
        "FG204",
    );
}

#[test]
fn fg205_metaspace_and_overhead_exceed_process() {
    let c = compile(&base_with_job_lines(
        "override \"kubernetes\" \"taskmanager.memory\" \"16Gi\"\n    override \"flink\" \"taskmanager.memory.jvm-metaspace.size\" \"16g\"",
    ));
    let d = fired_once(&c, "FG205");
    assert!(
        d.message.contains("Sum of configured JVM Metaspace"),
        "{}",
        d.message
    );
    quiet(&compile(BASE), "FG205");
    quiet(
        &compile(&base_with_job_lines(
            r#"override "flink" "taskmanager.memory.jvm-metaspace.size" "512m""#,
        )),
        "FG205",
    );
}

#[test]
fn fg206_task_heap_per_slot_below_floor() {
    // 1 GiB over 16 slots is 64 MiB per slot, below the 256 MiB floor.
    let line = r#"override "flink" "taskmanager.memory.task.heap.size" "1g""#;
    let c = compile(&base_with_job_lines(line));
    let d = fired_once(&c, "FG206");
    assert_eq!(
        label(&c.sources, d, "taskmanager.memory.task.heap.size"),
        line
    );
    quiet(&compile(BASE), "FG206");
    quiet(
        &compile(&base_with_job_lines(
            r#"override "flink" "taskmanager.memory.task.heap.size" "4g""#,
        )),
        "FG206",
    );
}

#[test]
fn fg207_managed_per_slot_too_small_for_rocksdb() {
    let line = r#"override "flink" "taskmanager.memory.managed.size" "1g""#;
    let c = compile(&base_with_job_lines(line));
    let d = fired_once(&c, "FG207");
    assert_eq!(
        label(&c.sources, d, "taskmanager.memory.managed.size"),
        line
    );
    quiet(&compile(BASE), "FG207");
    // The same memory with heap state is fine: the floor is for RocksDB.
    quiet(
        &compile(
            &base_with("backend=\"rocksdb\"", "backend=\"hashmap\"")
                .replace("    instance", &format!("    {line}\n    instance")),
        ),
        "FG207",
    );
}

#[test]
fn fg208_no_rocksdb_headroom() {
    let c = compile(&base_with_job_lines(
        "override \"flink\" \"taskmanager.memory.jvm-overhead.min\" \"512m\"\n    override \"flink\" \"taskmanager.memory.jvm-overhead.max\" \"512m\"",
    ));
    let d = fired_once(&c, "FG208");
    assert!(d.message.contains("headroom"), "{}", d.message);
    quiet(&compile(BASE), "FG208");
}

#[test]
fn fg209_state_does_not_fit_local_disk() {
    // 10 TiB over two r6gd.4xlarge nodes (950 GB NVMe each) cannot fit.
    let c = compile(&base_with("size=\"120GiB\"", "size=\"10TiB\""));
    let d = fired_once(&c, "FG209");
    assert_eq!(label(&c.sources, d, "state size"), "\"10TiB\"");
    assert!(d.message.contains("local disk"), "{}", d.message);
    quiet(&compile(BASE), "FG209");
    // More nodes spread the state: 16 nodes hold 640 GiB each × 2.5… still too much; 64 nodes fit.
    quiet(
        &compile(&base_with("size=\"120GiB\"", "size=\"10TiB\"").replace(
            "instance \"r6gd.4xlarge\"",
            "instance \"r6gd.4xlarge\" count=64",
        )),
        "FG209",
    );
}

#[test]
fn fg211_network_memory_below_estimate() {
    // 16 slots × one all-to-all exchange at parallelism 32 need 72 MiB of buffers.
    let c = compile(&base_with_job_lines(
        "override \"flink\" \"taskmanager.memory.network.min\" \"64m\"\n    override \"flink\" \"taskmanager.memory.network.max\" \"64m\"",
    ));
    let d = fired_once(&c, "FG211");
    assert!(
        d.message.contains("below the estimated need"),
        "{}",
        d.message
    );
    quiet(&compile(BASE), "FG211");
    // A job with no exchanges needs no buffers beyond Flink's minimum.
    quiet(
        &compile(&base_with_job_lines(
            "exchanges 0\n    override \"flink\" \"taskmanager.memory.network.min\" \"64m\"\n    override \"flink\" \"taskmanager.memory.network.max\" \"64m\"",
        )),
        "FG211",
    );
}

#[test]
fn fg202_process_memory_above_allocatable() {
    // r6gd.4xlarge has 128 GiB; a 500 GiB TaskManager never schedules.
    let c = compile(&base_with_job_lines(
        r#"override "kubernetes" "taskmanager.memory" "500Gi""#,
    ));
    let d = fired_once(&c, "FG202");
    assert_eq!(
        label(&c.sources, d, "TaskManager memory"),
        r#"override "kubernetes" "taskmanager.memory" "500Gi""#
    );

    quiet(&compile(BASE), "FG202");
    quiet(
        &compile(&base_with_job_lines(
            r#"override "kubernetes" "taskmanager.memory" "100Gi""#,
        )),
        "FG202",
    );
}

#[test]
fn fg203_not_enough_nodes() {
    // 32 partitions → parallelism 32; 16 slots per r6gd.4xlarge → 2 nodes.
    let c = compile(&base_with(
        r#"instance "r6gd.4xlarge""#,
        r#"instance "r6gd.4xlarge" count=1"#,
    ));
    let d = fired_once(&c, "FG203");
    assert!(d.message.contains("needs 2 nodes"), "{}", d.message);
    assert_eq!(label(&c.sources, d, "instance count"), "1");

    quiet(&compile(BASE), "FG203"); // no count: flinkgen derives it
    quiet(
        &compile(&base_with(
            r#"instance "r6gd.4xlarge""#,
            r#"instance "r6gd.4xlarge" count=2"#,
        )),
        "FG203",
    );
}

// ---------------------------------------------------------------------------------------------
// FG3xx: Flink configuration, compatibility and deployment
// ---------------------------------------------------------------------------------------------

#[test]
fn fg301_config_key_prefix_collision() {
    // Reporter keys are open-ended (plugins define them), so two of them can collide.
    let lines = "override \"flink\" \"metrics.reporter.prom\" \"x\"\n    override \"flink\" \"metrics.reporter.prom.factory.class\" \"org.apache.flink.metrics.prometheus.PrometheusReporterFactory\"";
    let c = compile(&base_with_job_lines(lines));
    let d = fired_once(&c, "FG301");
    assert!(
        d.message.contains(
            "`metrics.reporter.prom` is a prefix of `metrics.reporter.prom.factory.class`"
        ),
        "{}",
        d.message
    );
    assert_eq!(
        label(&c.sources, d, "metrics.reporter.prom"),
        r#"override "flink" "metrics.reporter.prom" "x""#
    );

    quiet(&compile(BASE), "FG301");
    // A shared prefix that is not a whole dotted segment is no collision.
    quiet(
        &compile(&base_with_job_lines(
            "override \"flink\" \"metrics.reporter.promx\" \"x\"\n    override \"flink\" \"metrics.reporter.prom.factory.class\" \"org.apache.flink.metrics.prometheus.PrometheusReporterFactory\"",
        )),
        "FG301",
    );
    // A key Flink does not know is refused before any check runs.
    let (_dir, path) = common::profile(&base_with_job_lines(
        r#"override "flink" "high-availability.type.x" "y""#,
    ));
    let err = flinkgen::app::compile(&common::options(&[&path]))
        .err()
        .map(|(e, _)| e.0)
        .unwrap_or_default();
    assert!(
        err.iter().any(|d| d
            .message
            .contains("is not a Flink 1.20 configuration option")),
        "{err:?}"
    );
}

#[test]
fn fg302_operator_does_not_support_flink() {
    let c = compile(&base_with(
        r#"flink version="1.20" operator="1.15""#,
        r#"flink version="2.3" operator="1.15""#,
    ));
    let d = fired_once(&c, "FG302");
    assert_eq!(label(&c.sources, d, "Flink version"), r#""2.3""#);
    assert_eq!(label(&c.sources, d, "operator version"), r#""1.15""#);

    quiet(&compile(BASE), "FG302");
    // Operator 1.10 predates Flink 2.x, but runs 1.20.
    quiet(
        &compile(&base_with(
            r#"flink version="1.20" operator="1.15""#,
            r#"flink version="1.20" operator="1.10""#,
        )),
        "FG302",
    );
    let c = compile(&base_with(
        r#"flink version="1.20" operator="1.15""#,
        r#"flink version="2.0" operator="1.10""#,
    ));
    fired_once(&c, "FG302");
}

#[test]
fn fg303_connector_does_not_support_flink() {
    let c = compile(&base_with(
        r#"flink version="1.20" operator="1.15""#,
        r#"flink version="2.0" operator="1.15""#,
    ));
    let d = fired_once(&c, "FG303");
    assert_eq!(label(&c.sources, d, "connector"), r#""3.4.0""#);
    assert_eq!(label(&c.sources, d, "Flink version"), r#""2.0""#);
    quiet(&c, "FG302"); // operator 1.15 runs 2.0

    quiet(&compile(BASE), "FG303");
    let c = compile(&base_with(
        r#"flink version="1.20" operator="1.15"
    kafka cluster="payments" connector="3.4.0""#,
        r#"flink version="2.0" operator="1.15"
    kafka cluster="payments" connector="4.0.1""#,
    ));
    quiet(&c, "FG303");
}

#[test]
fn fg304_stateless_upgrade_loses_state() {
    let c = compile(&base_with(
        r#"service-account="payments-flink""#,
        r#"service-account="payments-flink" upgrade-mode="stateless""#,
    ));
    let d = fired_once(&c, "FG304");
    assert_eq!(label(&c.sources, d, "upgrade mode"), r#""stateless""#);

    quiet(&compile(BASE), "FG304");
    quiet(
        &compile(&base_with(
            r#"service-account="payments-flink""#,
            r#"service-account="payments-flink" upgrade-mode="last-state""#,
        )),
        "FG304",
    );
}

#[test]
fn fg305_missing_checkpoint_storage() {
    let no_storage = r#"service-account="payments-flink""#;
    let c = compile(&base_with(
        r#"service-account="payments-flink" storage="s3://acme-payments-flink/authorizations""#,
        no_storage,
    ));
    fired_once(&c, "FG305");

    // An explicit last-state upgrade mode is what needs the directory: it is labelled.
    let c = compile(&base_with(
        r#"service-account="payments-flink" storage="s3://acme-payments-flink/authorizations""#,
        r#"service-account="payments-flink" upgrade-mode="last-state""#,
    ));
    let d = fired_once(&c, "FG305");
    assert_eq!(
        label(&c.sources, d, "needs a checkpoint directory"),
        r#""last-state""#
    );

    quiet(&compile(BASE), "FG305");
}

#[test]
fn fg306_parallelism_above_max_parallelism() {
    let c = compile(&base_with(
        r#"instance "r6gd.4xlarge""#,
        "parallelism 200 max=128\n    instance \"r6gd.4xlarge\"",
    ));
    let d = fired_once(&c, "FG306");
    assert_eq!(label(&c.sources, d, "parallelism"), "200");
    assert_eq!(label(&c.sources, d, "max parallelism"), "128");

    quiet(&compile(BASE), "FG306");
    quiet(
        &compile(&base_with(
            r#"instance "r6gd.4xlarge""#,
            "parallelism 128 max=128\n    instance \"r6gd.4xlarge\"",
        )),
        "FG306",
    );
}

// ---------------------------------------------------------------------------------------------
// (a) A Plan built by hand from existing config files: what `lint` will do.
// ---------------------------------------------------------------------------------------------

/// Read a flat config file (`key: value` for flink-conf.yaml, `key=value` for .properties) into
/// a Document whose entries' origins are the spans of their `key<sep>value` text in the file.
fn read_flat(sources: &mut Sources, name: &str, text: &str, sep: char) -> Document {
    let file = sources.add(name, text);
    let mut doc = Document::default();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim();
        if !body.is_empty() && !body.starts_with('#') {
            let (k, v) = body
                .split_once(sep)
                .unwrap_or_else(|| panic!("{name}: no `{sep}` in `{body}`"));
            let start = offset + line.find(body).unwrap_or(0);
            doc.set(
                k.trim(),
                Value::Str(v.trim().to_string()),
                Origin::File {
                    span: Span::new(file, start, body.len()),
                },
            );
        }
        offset += line.len();
    }
    doc
}

/// The span of the only occurrence of `needle` in a source file.
fn span_of(sources: &Sources, file: u32, needle: &str) -> Span {
    let text = &sources.get(file).text;
    assert_eq!(text.matches(needle).count(), 1, "`{needle}` must be unique");
    Span::new(file, text.find(needle).unwrap_or(0), needle.len())
}

const FLINK_CONF: &str = "\
# flink-conf.yaml of payment-authorizations, maintained by hand
taskmanager.memory.process.size: 4096m
taskmanager.numberOfTaskSlots: 4
parallelism.default: 8
pipeline.max-parallelism: 128
state.backend: rocksdb
state.backend.incremental: true
execution.checkpointing.interval: 30 s
state.checkpoints.dir: s3://acme-payments-flink/authorizations/checkpoints
";

const PRODUCER_PROPERTIES: &str = "\
bootstrap.servers=payments-kafka-bootstrap.kafka.svc:9093
acks=all
enable.idempotence=true
transaction.timeout.ms=3600000
";

/// The consumer of the settlements service, which reads the job's sink topic.
const DOWNSTREAM_PROPERTIES: &str = "\
bootstrap.servers=payments-kafka-bootstrap.kafka.svc:9093
group.id=settlements
isolation.level=read_uncommitted
";

const SERVER_PROPERTIES: &str = "\
# shared by every broker of the payments cluster
transaction.max.timeout.ms=900000
default.replication.factor=3
min.insync.replicas=2
";

const SINK_SQL: &str = "\
CREATE TABLE decisions (...) WITH (
  'connector' = 'kafka',
  'topic' = 'payments.auth-decisions',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = 'prod-payments-payment-authorizations-decisions'
);
";

fn lint_origin(what: &str) -> Origin {
    Origin::Model {
        model: "lint".into(),
        steps: vec![format!("{what}, given on the command line")].into(),
        inputs: vec![].into(),
    }
}

fn hand_built_plan(sources: &mut Sources) -> Plan {
    let flink = read_flat(sources, "flink-conf.yaml", FLINK_CONF, ':');
    let producer = read_flat(sources, "producer.properties", PRODUCER_PROPERTIES, '=');
    let downstream = read_flat(
        sources,
        "settlements-consumer.properties",
        DOWNSTREAM_PROPERTIES,
        '=',
    );
    let broker = read_flat(sources, "server.properties", SERVER_PROPERTIES, '=');
    let sql = sources.add("authorizations.sql", SINK_SQL);

    let mut job = JobPlan {
        name: "payment-authorizations".into(),
        cluster: "payments".into(),
        config_file: "flink-conf.yaml".into(),
        sinks: vec![Table {
            name: "decisions".into(),
            topic: "payments.auth-decisions".into(),
            partitions: None,
            format: None,
        }],
        head: Some(span_of(sources, sql, "CREATE TABLE decisions")),
        ..Default::default()
    };
    job.docs.insert(DocKind::Flink, flink);
    job.docs.insert(DocKind::Producer, producer);
    job.docs.insert(DocKind::Downstream, downstream);
    job.facts.insert(
        "delivery".into(),
        Fact {
            value: Value::Str("exactly-once".into()),
            origin: Origin::File {
                span: span_of(sources, sql, "exactly-once"),
            },
        },
    );

    let mut cluster = ClusterPlan {
        name: "payments".into(),
        current: broker,
        ..Default::default()
    };
    cluster.set_fact(
        "kafka-version",
        Value::Str("3.8".into()),
        lint_origin("Kafka version"),
    );
    cluster.set_fact("brokers", Value::Int(3), lint_origin("broker count"));

    Plan {
        jobs: vec![job],
        clusters: vec![cluster],
        packs: vec![],
    }
}

#[test]
fn hand_built_plan_from_existing_files() {
    let mut sources = Sources::default();
    let packs = PackSet::load(&mut sources, &[]).expect("built-in packs load");
    let plan = hand_built_plan(&mut sources);
    let findings = flinkgen::check::check(&plan, &packs);
    let rendered = flinkgen::diag::render_human(&findings, &sources, false);
    assert_eq!(
        codes_of(&findings),
        ["FG101", "FG104", "FG301"],
        "\n{rendered}"
    );

    let find = |code: &str| {
        findings
            .iter()
            .find(|d| d.code.as_deref() == Some(code))
            .unwrap_or_else(|| panic!("no {code}"))
    };
    let at = |d: &Diagnostic, text: &str| {
        let l = d
            .labels
            .iter()
            .find(|l| l.text == text)
            .unwrap_or_else(|| panic!("no label `{text}` in {d:#?}"));
        (sources.snippet(l.span), sources.location(l.span))
    };

    // FG101: the producer's 1 h against the brokers' 15 min.
    let d = find("FG101");
    assert!(
        d.message.contains("1h") && d.message.contains("15min"),
        "{}",
        d.message
    );
    assert_eq!(
        at(d, "producer timeout"),
        (
            "transaction.timeout.ms=3600000",
            "producer.properties:4:1".into()
        )
    );
    assert_eq!(
        at(d, "broker maximum"),
        (
            "transaction.max.timeout.ms=900000",
            "server.properties:2:1".into()
        )
    );

    // FG104: the settlements consumer reads uncommitted records of an exactly-once sink.
    let d = find("FG104");
    assert!(
        d.message.contains("isolation.level=read_uncommitted"),
        "{}",
        d.message
    );
    assert_eq!(
        at(d, "isolation level"),
        (
            "isolation.level=read_uncommitted",
            "settlements-consumer.properties:3:1".into()
        )
    );

    // FG301: `state.backend` is a prefix of `state.backend.incremental`.
    let d = find("FG301");
    assert!(
        d.message
            .contains("`state.backend` is a prefix of `state.backend.incremental`"),
        "{}",
        d.message
    );
    assert_eq!(
        at(d, "state.backend"),
        ("state.backend: rocksdb", "flink-conf.yaml:6:1".into())
    );
    assert_eq!(
        at(d, "state.backend.incremental"),
        (
            "state.backend.incremental: true",
            "flink-conf.yaml:7:1".into()
        )
    );

    // Every finding carries its fix, and renders against the files it came from.
    for d in &findings {
        assert!(d.help.is_some(), "{d:#?}");
    }
    assert!(rendered.contains("producer.properties"), "{rendered}");
    assert!(rendered.contains("flink-conf.yaml"), "{rendered}");
}

#[test]
fn hand_built_plan_fixed_files_are_clean() {
    let mut sources = Sources::default();
    let packs = PackSet::load(&mut sources, &[]).expect("built-in packs load");
    let mut plan = hand_built_plan(&mut sources);
    let fixed = |doc: &mut Document, key: &str, value: &str| {
        let origin = doc.entry(key).map(|e| e.origin.clone()).unwrap();
        doc.set(key, Value::Str(value.into()), origin);
    };
    let job = &mut plan.jobs[0];
    fixed(
        job.doc_mut(DocKind::Producer),
        "transaction.timeout.ms",
        "900000",
    );
    fixed(
        job.doc_mut(DocKind::Downstream),
        "isolation.level",
        "read_committed",
    );
    let flink = job.doc_mut(DocKind::Flink);
    let origin = flink.remove("state.backend").unwrap().origin;
    flink.set("state.backend.type", Value::Str("rocksdb".into()), origin);
    let findings = flinkgen::check::check(&plan, &packs);
    assert!(
        findings.is_empty(),
        "{}",
        flinkgen::diag::render_human(&findings, &sources, false)
    );
}

// ---------------------------------------------------------------------------------------------
// (c) Organisation packs: assertions
// ---------------------------------------------------------------------------------------------

const ACME_PACK: &str = r#"pack "acme" version="1.0.0" layer="organisation" {
    doc "ACME's constraints on streaming jobs."
    rule "prod-exactly-once" {
        doc "Production jobs write exactly-once: our ledgers cannot absorb duplicates."
        when "job.environment == 'prod'"
        assert "job.delivery == 'exactly-once'"
        severity "error"
        message "production jobs must be exactly-once"
        about "job" "delivery"
    }
}
"#;

#[test]
fn organisation_pack_assertion() {
    let dir = policy_dir(&[("acme.kdl", ACME_PACK)]);
    let policies = || vec![dir.path().to_path_buf()];
    let at_least_once = base_with(r#"delivery "exactly-once""#, r#"delivery "at-least-once""#);

    let c = compile_with(&at_least_once, policies());
    assert_eq!(
        significant(&c),
        ["acme/prod-exactly-once"],
        "\n{}",
        show(&c)
    );
    let d = fired_once(&c, "acme/prod-exactly-once");
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(
        d.message,
        "job `payment-authorizations`: production jobs must be exactly-once"
    );
    // The profile's value …
    assert_eq!(
        label(&c.sources, d, "delivery set here"),
        r#""at-least-once""#
    );
    let profile_label = d
        .labels
        .iter()
        .find(|l| l.text == "delivery set here")
        .unwrap();
    assert!(
        c.sources
            .get(profile_label.span.file)
            .name
            .ends_with("profile.kdl")
    );
    // … and the rule that it breaks, in the pack file.
    let rule_label = d
        .labels
        .iter()
        .find(|l| l.text == "required by acme@1.0.0")
        .unwrap_or_else(|| panic!("no rule label in {d:#?}"));
    assert!(
        c.sources
            .get(rule_label.span.file)
            .name
            .ends_with("acme.kdl"),
        "{}",
        c.sources.get(rule_label.span.file).name
    );
    assert_eq!(c.sources.snippet(rule_label.span), "assert");
    assert!(
        c.sources
            .location(rule_label.span)
            .ends_with("acme.kdl:6:9"),
        "{}",
        c.sources.location(rule_label.span)
    );

    // Not firing: a production job that is exactly-once, and a staging job that is not.
    let c = compile_with(BASE, policies());
    quiet(&c, "acme/prod-exactly-once");
    let staging = at_least_once.replace(r#"environment "prod""#, r#"environment "staging""#);
    let c = compile_with(&staging, policies());
    assert!(significant(&c).is_empty(), "\n{}", show(&c));
}

/// ACME_PACK limited to jobs by one `applies` selector.
fn acme_pack_applying(selector: &str) -> String {
    ACME_PACK.replace(
        "    rule \"prod-exactly-once\"",
        &format!("    applies {selector}\n    rule \"prod-exactly-once\""),
    )
}

fn assert_acme_fires_only_where_selected(selected: &str, not_selected: &str) {
    let at_least_once = base_with(r#"delivery "exactly-once""#, r#"delivery "at-least-once""#);
    let dir = policy_dir(&[("acme.kdl", &acme_pack_applying(selected))]);
    let c = compile_with(&at_least_once, vec![dir.path().to_path_buf()]);
    assert!(
        c.plan.packs.iter().any(|p| p.name == "acme"),
        "the pack applies to the job"
    );
    assert_eq!(
        significant(&c),
        ["acme/prod-exactly-once"],
        "\n{}",
        show(&c)
    );
    let dir = policy_dir(&[("acme.kdl", &acme_pack_applying(not_selected))]);
    let c = compile_with(&at_least_once, vec![dir.path().to_path_buf()]);
    assert!(significant(&c).is_empty(), "\n{}", show(&c));
}

#[test]
fn organisation_pack_assertion_selected_by_version() {
    assert_acme_fires_only_where_selected(r#"flink="1.20""#, r#"flink="2.0""#);
}

#[test]

fn organisation_pack_assertion_selected_by_cloud() {
    // r6gd.4xlarge is an AWS instance type.
    assert_acme_fires_only_where_selected(r#"cloud="aws""#, r#"cloud="gcp""#);
}

// ---------------------------------------------------------------------------------------------
// (d) Organisation packs: two rules of one layer disagree
// ---------------------------------------------------------------------------------------------

fn timeout_pack(name: &str, value: &str) -> String {
    format!(
        r#"pack "{name}" version="1.0.0" layer="organisation" {{
    rule "checkpoint-timeout" {{
        doc "How long a checkpoint may take."
        set "flink" "@checkpoint-timeout" "{value}" type="duration"
    }}
}}
"#
    )
}

#[test]
fn same_layer_conflict_is_an_input_error() {
    let a = timeout_pack("acme", "5min");
    let b = timeout_pack("acme-streaming", "7min");
    let dir = policy_dir(&[("acme.kdl", &a), ("acme-streaming.kdl", &b)]);
    let Err((errors, sources)) = try_compile_with(BASE, vec![dir.path().to_path_buf()]) else {
        panic!("two organisation packs setting one key differently must not compile");
    };
    let rendered = flinkgen::diag::render_human(&errors.0, &sources, false);
    let d = errors
        .0
        .iter()
        .find(|d| d.message.contains("execution.checkpointing.timeout"))
        .unwrap_or_else(|| panic!("no conflict diagnostic:\n{rendered}"));
    assert_eq!(d.severity, Severity::Error);
    assert!(d.message.contains("organisation"), "{}", d.message);
    let files: Vec<&str> = d
        .labels
        .iter()
        .map(|l| sources.get(l.span.file).name.as_str())
        .collect();
    assert_eq!(files.len(), 2, "{rendered}");
    assert!(files.iter().any(|f| f.ends_with("/acme.kdl")), "{files:?}");
    assert!(
        files.iter().any(|f| f.ends_with("/acme-streaming.kdl")),
        "{files:?}"
    );
    let texts = snippets(&sources, d);
    assert!(
        texts.contains(&r#"set "flink" "@checkpoint-timeout" "5min" type="duration""#),
        "{texts:?}"
    );
    assert!(
        texts.contains(&r#"set "flink" "@checkpoint-timeout" "7min" type="duration""#),
        "{texts:?}"
    );

    // Two rules of one pack disagreeing are the same error.
    let one = format!(
        "{}{}",
        a.trim_end().trim_end_matches('}'),
        r#"    rule "slow-storage" {
        doc "Our object store is slow."
        set "flink" "@checkpoint-timeout" "7min" type="duration"
    }
}
"#
    );
    let dir = policy_dir(&[("acme.kdl", &one)]);
    let Err((errors, sources)) = try_compile_with(BASE, vec![dir.path().to_path_buf()]) else {
        panic!("two rules of one pack setting one key differently must not compile");
    };
    let d = errors
        .0
        .iter()
        .find(|d| d.message.contains("execution.checkpointing.timeout"))
        .expect("conflict diagnostic");
    let texts = snippets(&sources, d);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].contains("\"5min\"") && texts[1].contains("\"7min\""),
        "{texts:?}"
    );

    // Two packs that agree are fine, and their value wins over the practice default.
    let b = timeout_pack("acme-streaming", "5min");
    let dir = policy_dir(&[("acme.kdl", &a), ("acme-streaming.kdl", &b)]);
    let c = compile_with(BASE, vec![dir.path().to_path_buf()]);
    assert_eq!(
        c.plan.jobs[0]
            .get(DocKind::Flink, "execution.checkpointing.timeout")
            .map(|e| e.value.clone()),
        Some(Value::Millis(300_000))
    );
}

// ---------------------------------------------------------------------------------------------
// FG109–FG118: exactly-once costs, limits and versions
// ---------------------------------------------------------------------------------------------

#[test]
fn fg109_lingering_transaction_stalls_readers() {
    // Two hours of downtime push the timeout past the 2 h policy cap (the broker allows 2 h).
    let c = compile(
        &base_with("max-downtime=\"15min\"", "max-downtime=\"3h\"").replace("7200000", "21600000"),
    );
    let d = fired_once(&c, "FG109");
    assert!(d.message.contains("read_committed"), "{}", d.message);
    quiet(&compile(BASE), "FG109");
}

#[test]
fn fg110_timeline_beyond_kafka_int32() {
    let c = compile(&base_with("max-downtime=\"15min\"", "max-downtime=\"30d\""));
    let d = fired_once(&c, "FG110");
    assert!(d.message.contains("int32"), "{}", d.message);
    quiet(&compile(BASE), "FG110");
}

#[test]
fn fg111_transactional_ids_fill_broker_memory() {
    // 32 subtasks, a checkpoint every second, 15 days of expiration: 41 M IDs.
    let c = compile(&base_with("interval=\"1min\"", "interval=\"1s\""));
    let d = fired_once(&c, "FG111");
    assert!(d.message.contains("estimate"), "{}", d.message);
    assert!(
        snippets(&c.sources, d).contains(&"\"1s\""),
        "{:?}",
        snippets(&c.sources, d)
    );
    // The base keeps 32 × 15 d ÷ 1 min ≈ 0.7 M IDs (≈ 264 MiB): within the 512 MiB budget.
    quiet(&compile(BASE), "FG111");
}

#[test]
fn fg112_kafka_4_transaction_protocol() {
    let c = compile(&base_with("version=\"3.8\"", "version=\"4.0\"").replace(
        "deployment \"strimzi\" version=\"0.45.1\"",
        "deployment \"strimzi\" version=\"0.47.0\"",
    ));
    fired_once(&c, "FG112");
    quiet(&compile(BASE), "FG112");
}

#[test]
fn fg113_delivery_timeout_below_linger_plus_request() {
    let line = r#"override "producer" "delivery.timeout.ms" "20000""#;
    let c = compile(&base_with_job_lines(line));
    let d = fired_once(&c, "FG113");
    assert_eq!(label(&c.sources, d, "delivery timeout"), line);
    quiet(&compile(BASE), "FG113");
    quiet(
        &compile(&base_with_job_lines(
            r#"override "producer" "delivery.timeout.ms" "30000""#,
        )),
        "FG113",
    );
}

#[test]
fn fg114_record_larger_than_size_chain() {
    let c = compile(&base_with("record-size=\"800B\"", "record-size=\"2MiB\""));
    let found = fired(&c, "FG114");
    assert_eq!(found.len(), 2, "producer and broker limits: {}", show(&c));
    quiet(&compile(BASE), "FG114");
    // Raising both limits above the record clears it.
    quiet(
        &compile(
            &base_with("record-size=\"800B\"", "record-size=\"2MiB\"")
                .replace("    broker \"min.insync.replicas\" 2", "    broker \"min.insync.replicas\" 2\n    broker \"message.max.bytes\" 4194304")
                .replace("    instance", "    override \"producer\" \"max.request.size\" \"4194304\"\n    instance"),
        ),
        "FG114",
    );
}

#[test]
fn fg115_strimzi_forbidden_broker_key() {
    let c = compile(&base_with(
        "    broker \"min.insync.replicas\" 2",
        "    broker \"min.insync.replicas\" 2\n    broker \"ssl.client.auth\" \"required\"",
    ));
    let d = fired_once(&c, "FG115");
    assert_eq!(label(&c.sources, d, "dropped by Strimzi"), "\"required\"");
    // The fragment leaves it out; the exception list stays in.
    let units = common::units(&c);
    let fragment = units
        .iter()
        .flat_map(|u| &u.files)
        .find(|f| f.path.ends_with("strimzi-kafka.yaml"))
        .map(|f| f.contents.clone())
        .unwrap_or_default();
    assert!(!fragment.contains("ssl.client.auth"), "{fragment}");
    quiet(&compile(BASE), "FG115");
    quiet(
        &compile(&base_with(
            "    broker \"min.insync.replicas\" 2",
            "    broker \"min.insync.replicas\" 2\n    broker \"ssl.cipher.suites\" \"TLS_AES_256_GCM_SHA384\"",
        )),
        "FG115",
    );
}

#[test]
fn fg116_producer_id_expires_before_delivery_timeout() {
    let c = compile(&base_with(
        "    broker \"min.insync.replicas\" 2",
        "    broker \"min.insync.replicas\" 2\n    broker \"producer.id.expiration.ms\" 60000",
    ));
    let d = fired_once(&c, "FG116");
    assert_eq!(label(&c.sources, d, "producer ID expiration"), "60000");
    quiet(&compile(BASE), "FG116");
}

#[test]
fn fg117_transactional_id_prefix_collision() {
    // job "a-b" sink "c" and job "a" sink "b-c" both become prod-payments-a-b-c.
    let second = BASE
        .split("job \"payment-authorizations\"")
        .nth(1)
        .unwrap_or_default();
    let two = format!(
        "{}job \"a-b\"{}\njob \"a\"{}",
        BASE.split("job \"payment-authorizations\"")
            .next()
            .unwrap_or_default(),
        second.replace("sink \"decisions\"", "sink \"c\""),
        second.replace("sink \"decisions\"", "sink \"b-c\"")
    );
    let c = compile(&two);
    let d = fired_once(&c, "FG117");
    assert!(d.message.contains("prod-payments-a-b-c"), "{}", d.message);
    // Each prefix is labelled at the profile values it is made of (environment, job, sink).
    let sinks: Vec<&str> = d
        .labels
        .iter()
        .filter(|l| l.text == "one sink" || l.text == "the other")
        .map(|l| c.sources.snippet(l.span))
        .collect();
    assert!(
        sinks.contains(&"\"c\"") && sinks.contains(&"\"b-c\""),
        "{sinks:?}"
    );
    quiet(&compile(BASE), "FG117");
}

#[test]
fn fg118_connector_3_default_prefix() {
    fired_once(&compile(BASE), "FG118");
    quiet(
        &compile(&base_with(
            "delivery \"exactly-once\"",
            "delivery \"at-least-once\"",
        )),
        "FG118",
    );
}

// ---------------------------------------------------------------------------------------------
// FG119–FG121: transaction naming and source retention
// ---------------------------------------------------------------------------------------------

/// The base moved to Flink 2.2 with connector 5.0 (which has TransactionNamingStrategy).
fn base_on_connector_5() -> String {
    base_with(
        "flink version=\"1.20\" operator=\"1.15\"",
        "flink version=\"2.2\" operator=\"1.15\"",
    )
    .replace("connector=\"3.4.0\"", "connector=\"5.0.0\"")
}

#[test]
fn fg119_pooling_preconditions_unmet() {
    let asked = "    transactions naming=\"pooling\"\n    instance";
    let c = compile(&base_on_connector_5().replace("    instance", asked));
    let d = fired_once(&c, "FG119");
    assert!(
        d.message.contains("acls-granted") && d.message.contains("serializer-exposes-topics"),
        "{}",
        d.message
    );
    assert_eq!(label(&c.sources, d, "POOLING"), "\"pooling\"");
    // On connector 3.x the connector itself is missing.
    let c = compile(&base_with(
        "    instance",
        "    transactions naming=\"pooling\" acls-granted=#true serializer-exposes-topics=#true\n    instance",
    ));
    assert!(
        fired_once(&c, "FG119")
            .message
            .contains("connector 4.0 or later")
    );
    // Confirmed on connector 5.0 and Kafka 3.8: fine, and the sink is configured for POOLING.
    let ok = base_on_connector_5().replace("    instance", "    transactions naming=\"pooling\" acls-granted=#true serializer-exposes-topics=#true\n    instance");
    let c = compile(&ok);
    quiet(&c, "FG119");
    let sink = c.plan.jobs[0]
        .get(DocKind::Sink, "decisions.transaction-naming-strategy")
        .map(|e| e.value.clone());
    assert_eq!(sink, Some(Value::Str("POOLING".into())));
}

#[test]
fn fg120_pooling_is_one_way() {
    let ok = base_on_connector_5().replace("    instance", "    transactions naming=\"pooling\" acls-granted=#true serializer-exposes-topics=#true\n    instance");
    let c = compile(&ok);
    let d = fired_once(&c, "FG120");
    assert!(d.message.contains("FLINK-40626"), "{}", d.message);
    quiet(&compile(&base_on_connector_5()), "FG120");
}

#[test]
fn two_phase_commit_is_refused_with_the_reason() {
    let (_dir, path) = common::profile(&base_with(
        "    instance",
        "    transactions two-phase-commit=#true\n    instance",
    ));
    let err = flinkgen::app::compile(&common::options(&[&path]))
        .err()
        .map(|(e, _)| e.0)
        .unwrap_or_default();
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0].message.contains("KIP-939")
            && err[0].help.as_deref().unwrap_or("").contains("FLIP-319"),
        "{err:?}"
    );
}

#[test]
fn fg121_source_retention_shorter_than_restore() {
    let short = base_with("retention=\"21d\"", "retention=\"10d\"");
    let c = compile(&short);
    let d = fired_once(&c, "FG121");
    assert_eq!(label(&c.sources, d, "retention"), "\"10d\"");
    assert_eq!(label(&c.sources, d, "restore window"), "\"14d\"");
    // Without a topic entry the broker default (7 days) is assumed, and said so.
    let c = compile(&base_with(
        "    topic \"payments.auth-requests\" retention=\"21d\" replication=3\n",
        "",
    ));
    assert!(fired_once(&c, "FG121").message.contains("broker default"));
    quiet(&compile(BASE), "FG121");
}

#[test]
fn fg122_min_isr_not_cluster_level_on_kafka_4_1() {
    let on = |version: &str| {
        base_on_connector_5()
            .replace("version=\"3.8\"", &format!("version=\"{version}\""))
            .replace(
                "deployment \"strimzi\" version=\"0.45.1\"",
                "deployment \"bitnami\" version=\"32.4.4\"",
            )
    };
    let c = compile(&on("4.1"));
    let d = fired_once(&c, "FG122");
    assert_eq!(label(&c.sources, d, "broker-level setting"), "2");
    quiet(&compile(&on("4.0")), "FG122");
    quiet(&compile(BASE), "FG122");
}

#[test]
fn fg123_topic_written_with_mixed_guarantees() {
    let second = BASE
        .split("job \"payment-authorizations\"")
        .nth(1)
        .unwrap_or_default();
    let two = format!(
        "{}job \"first\"{}\njob \"second\"{}",
        BASE.split("job \"payment-authorizations\"")
            .next()
            .unwrap_or_default(),
        second,
        second.replace("delivery \"exactly-once\"", "delivery \"at-least-once\"")
    );
    let c = compile(&two);
    let d = fired_once(&c, "FG123");
    assert!(
        d.message.contains("payments.auth-decisions"),
        "{}",
        d.message
    );
    quiet(&compile(BASE), "FG123");
}

// ---------------------------------------------------------------------------------------------
// FG307–FG311: local state, storage plumbing and checkpoint cost
// ---------------------------------------------------------------------------------------------

#[test]
fn fg307_local_recovery_task_failover_only() {
    let c = compile(BASE);
    let d = fired_once(&c, "FG307");
    assert!(d.message.contains("task failover"), "{}", d.message);
    // Small state: no local recovery, no finding.
    quiet(
        &compile(&base_with("size=\"120GiB\"", "size=\"500MiB\"")),
        "FG307",
    );
}

#[test]
fn fg308_large_state_without_local_disk() {
    let c = compile(&base_with(
        "instance \"r6gd.4xlarge\"",
        "instance \"m6i.4xlarge\"",
    ));
    let d = fired_once(&c, "FG308");
    assert_eq!(label(&c.sources, d, "state size"), "\"120GiB\"");
    quiet(&compile(BASE), "FG308");
}

#[test]
fn fg309_filesystem_plugin_needed() {
    let c = compile(BASE);
    let d = fired_once(&c, "FG309");
    assert!(d.message.contains("flink-s3-fs-presto"), "{}", d.message);
    quiet(
        &compile(&base_with(
            "storage=\"s3://acme-payments-flink/authorizations\"",
            "storage=\"hdfs://namenode/flink/authorizations\"",
        )),
        "FG309",
    );
}

#[test]
fn fg310_checkpointing_takes_most_of_the_interval() {
    // 10^8 records/s of 800 B change the whole 120 GiB between checkpoints: full uploads.
    let c = compile(
        &base_with("records-per-second=30000", "records-per-second=100000000")
            .replace("    instance", "    parallelism 32\n    instance"),
    );
    let d = fired_once(&c, "FG310");
    assert!(d.message.contains("estimate"), "{}", d.message);
    quiet(&compile(BASE), "FG310");
}

#[test]
fn fg311_checkpoint_timeout_below_estimate() {
    let heavy = base_with("records-per-second=30000", "records-per-second=100000000")
        .replace("    instance", "    parallelism 32\n    instance");
    let line = r#"override "flink" "execution.checkpointing.timeout" "60 s""#;
    let c = compile(&heavy.replace("    instance", &format!("    {line}\n    instance")));
    let d = fired_once(&c, "FG311");
    assert_eq!(label(&c.sources, d, "timeout"), line);
    quiet(&compile(&heavy), "FG311");
    quiet(&compile(BASE), "FG311");
}
