//! Jobs that share a cluster are reconciled into one proposed broker change that satisfies all
//! of them; a managed cluster gets no proposal, only findings.

mod common;

use flinkgen::diag::render_human;

fn job(name: &str, interval: &str, downtime: &str, restore: &str) -> String {
    format!(
        r#"job "{name}" {{
    environment "prod"
    flink version="1.20" operator="1.15"
    kafka cluster="shared" connector="3.4.0"
    delivery "exactly-once"
    state size="20GiB" backend="rocksdb"
    source "in" topic="{name}-in" partitions=8 format="json"
    sink "out" topic="{name}-out" partitions=8 format="json"
    checkpoint interval="{interval}"
    recovery max-downtime="{downtime}" restorable-for="{restore}"
    instance "r6gd.4xlarge"
    kubernetes namespace="streaming" image="flink:1.20" storage="s3://bucket/{name}"
    artifact jar="local:///opt/flink/usrlib/{name}.jar" entry-class="com.acme.Job"
}}
"#
    )
}

fn cluster(deployment: &str) -> String {
    format!(
        r#"cluster "shared" {{
    kafka version="3.9" brokers=3 bootstrap="kafka:9092"
    deployment {deployment}
    topic "alpha-in" retention="30d"
    topic "beta-in" retention="30d"
}}
"#
    )
}

#[test]
fn one_proposal_satisfies_every_job_on_the_cluster() {
    let text = format!(
        "{}{}{}",
        cluster("\"strimzi\" version=\"0.45.1\""),
        job("alpha", "30s", "20min", "3d"),
        job("beta", "2min", "45min", "10d")
    );
    let (_dir, path) = common::profile(&text);
    let c = common::compiled(&[&path]);
    let shared = c
        .plan
        .cluster("shared")
        .unwrap_or_else(|| panic!("cluster"));
    let need = |j: usize| {
        c.plan.jobs[j]
            .fact("transaction-needed")
            .and_then(|f| f.value.as_i64())
            .unwrap_or(0)
    };
    let proposed = |k: &str| shared.proposed.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
    // The largest need wins, rounded up to a minute, and covers both jobs.
    let max_need = need(0).max(need(1));
    assert!(proposed("transaction.max.timeout.ms") >= max_need);
    assert!(proposed("transaction.max.timeout.ms") - max_need < 60_000);
    assert_eq!(proposed("transactional.id.expiration.ms"), 10 * 86_400_000);
    // Until the proposal is applied, jobs stay within the cluster's current limit, with findings.
    let codes: Vec<&str> = c
        .findings
        .iter()
        .filter_map(|f| f.code.as_deref())
        .collect();
    assert!(
        codes.contains(&"FG102") && codes.contains(&"FG103") && codes.contains(&"FG108"),
        "{codes:?}"
    );
    let files = common::units(&c);
    let server = files
        .iter()
        .flat_map(|u| u.files.iter())
        .find(|f| f.path == "clusters/shared/server.properties")
        .map(|f| f.contents.clone())
        .unwrap_or_default();
    let mut snapshot = server;
    snapshot.push_str("=== findings\n");
    snapshot.push_str(
        &render_human(&c.findings, &c.sources, false)
            .replace(&path.display().to_string(), "<profile>"),
    );
    insta::assert_snapshot!("reconcile-two-jobs", snapshot);

    // Recording the proposal in the cluster profile makes every job clean.
    let applied = format!(
        "{}    broker \"transaction.max.timeout.ms\" {}\n    broker \"transactional.id.expiration.ms\" {}\n}}\n{}{}",
        cluster("\"strimzi\" version=\"0.45.1\"")
            .trim_end()
            .trim_end_matches('}'),
        proposed("transaction.max.timeout.ms"),
        proposed("transactional.id.expiration.ms"),
        job("alpha", "30s", "20min", "3d"),
        job("beta", "2min", "45min", "10d")
    );
    let (_dir2, path2) = common::profile(&applied);
    let c2 = common::compiled(&[&path2]);
    // Only the connector 3.x reminder (info) remains.
    assert!(
        c2.findings
            .iter()
            .all(|f| f.severity == flinkgen::diag::Severity::Info),
        "{}",
        render_human(&c2.findings, &c2.sources, false)
    );
    assert!(
        c2.plan
            .cluster("shared")
            .is_some_and(|s| s.proposed.entries.is_empty())
    );
    for j in &c2.plan.jobs {
        let t = j
            .get(flinkgen::plan::DocKind::Producer, "transaction.timeout.ms")
            .and_then(|e| e.value.as_i64());
        assert_eq!(
            t,
            j.fact("transaction-needed").and_then(|f| f.value.as_i64()),
            "job {} uses its full need",
            j.name
        );
    }
}

#[test]
fn a_managed_cluster_gets_findings_but_never_a_proposal() {
    let text = format!(
        "{}{}",
        cluster("\"managed\" service=\"msk\""),
        job("alpha", "30s", "20min", "3d")
    );
    let (_dir, path) = common::profile(&text);
    let c = common::compiled(&[&path]);
    assert!(
        c.plan
            .cluster("shared")
            .is_some_and(|s| s.proposed.entries.is_empty())
    );
    let codes: Vec<&str> = c
        .findings
        .iter()
        .filter_map(|f| f.code.as_deref())
        .collect();
    assert!(codes.contains(&"FG102"), "{codes:?}");
    assert!(!codes.contains(&"FG108"), "{codes:?}");
    let files = common::units(&c);
    assert!(
        files
            .iter()
            .filter(|u| u.dir == "clusters/shared")
            .all(|u| u.files.is_empty()),
        "no broker files for a managed cluster"
    );
}
