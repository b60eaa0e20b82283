//! Every kind of bad input gets a clear diagnostic pointing at its source span, exit code 2,
//! and no output. Each case's rendered diagnostic is a snapshot.

mod common;

use flinkgen::app::build;

/// A valid job + cluster; each case below breaks one thing.
const BASE: &str = r#"job "orders" {
    environment "prod"
    flink version="1.20" operator="1.15"
    kafka cluster="main" connector="3.4.0"
    delivery "exactly-once"
    state size="50GiB" backend="rocksdb"
    source "in" topic="orders" partitions=16
    sink "out" topic="orders-out" partitions=16
    recovery max-downtime="10min"
    instance "m6gd.4xlarge"
    kubernetes namespace="streaming" image="flink:1.20" storage="s3://bucket/orders"
    artifact jar="local:///opt/flink/usrlib/orders.jar" entry-class="com.acme.Orders"
}

cluster "main" {
    kafka version="3.9" brokers=3 bootstrap="kafka:9092"
    deployment "strimzi" version="0.45.1"
    broker "transaction.max.timeout.ms" 7200000
}
"#;

fn replace(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "case does not apply: {from}");
    BASE.replacen(from, to, 1)
}

fn cases() -> Vec<(&'static str, String)> {
    vec![
        (
            "kdl-syntax",
            replace("environment \"prod\"", "environment \"prod"),
        ),
        (
            "kdl-v1-boolean",
            replace(
                "delivery \"exactly-once\"",
                "delivery \"exactly-once\"\n    flag true",
            ),
        ),
        (
            "unknown-node-did-you-mean",
            replace("state size=", "stat size="),
        ),
        (
            "unknown-property-did-you-mean",
            replace("partitions=16\n    sink", "partition=16\n    sink"),
        ),
        (
            "unknown-top-level-node",
            format!("{BASE}\njbo \"x\" {{}}\n"),
        ),
        (
            "wrong-type",
            replace("partitions=16\n    sink", "partitions=\"16\"\n    sink"),
        ),
        ("missing-unit", replace("size=\"50GiB\"", "size=\"50\"")),
        ("bad-unit", replace("size=\"50GiB\"", "size=\"50gb\"")),
        (
            "ambiguous-duration-unit",
            replace("max-downtime=\"10min\"", "max-downtime=\"10m\""),
        ),
        (
            "missing-required",
            replace(
                "    kubernetes namespace=\"streaming\" image=\"flink:1.20\" storage=\"s3://bucket/orders\"\n",
                "",
            ),
        ),
        ("out-of-range", replace("brokers=3", "brokers=0")),
        (
            "enum-typo",
            replace("delivery \"exactly-once\"", "delivery \"exactly-onse\""),
        ),
        (
            "unsupported-flink-version",
            replace("version=\"1.20\"", "version=\"1.17\""),
        ),
        ("bad-name", replace("job \"orders\"", "job \"Orders_Job\"")),
        (
            "scalar-node-with-props",
            replace("environment \"prod\"", "environment name=\"prod\""),
        ),
        (
            "duplicate-node",
            replace(
                "delivery \"exactly-once\"",
                "delivery \"exactly-once\"\n    delivery \"none\"",
            ),
        ),
        (
            "literal-secret",
            replace(
                "artifact jar",
                "security protocol=\"SASL_SSL\" sasl-mechanism=\"PLAIN\" {\n        username env=\"KAFKA_USER\"\n        password \"hunter2\"\n    }\n    artifact jar",
            ),
        ),
        (
            "literal-secret-in-jaas-override",
            replace(
                "artifact jar",
                "override \"producer\" \"sasl.jaas.config\" \"org.apache.kafka.common.security.plain.PlainLoginModule required username=\\\"u\\\" password=\\\"hunter2\\\";\"\n    artifact jar",
            ),
        ),
        (
            "literal-secret-in-flink-override",
            replace(
                "artifact jar",
                "override \"flink\" \"s3.secret-key\" \"AKIAhunter2\"\n    artifact jar",
            ),
        ),
        (
            "reference-in-flink-credential",
            replace(
                "artifact jar",
                "override \"flink\" \"s3.secret-key\" \"${env:S3_SECRET_KEY}\"\n    artifact jar",
            ),
        ),
        (
            "literal-azure-account-key",
            replace(
                "artifact jar",
                "override \"flink\" \"fs.azure.account.key.acme.blob.core.windows.net\" \"c2VjcmV0LWtleQ==\"\n    artifact jar",
            ),
        ),
        (
            "reference-to-unknown-provider",
            replace(
                "artifact jar",
                "override \"producer\" \"ssl.key.password\" \"${vault:secret/kafka:key-password}\"\n    artifact jar",
            ),
        ),
        (
            "env-reference-override-needs-newer-client",
            replace(
                "artifact jar",
                "override \"consumer\" \"ssl.truststore.password\" \"${env:TRUSTSTORE_PASSWORD}\"\n    artifact jar",
            ),
        ),
        (
            "dir-reference-outside-a-secret-name",
            replace(
                "artifact jar",
                "override \"producer\" \"ssl.key.password\" \"${dir:/opt/flink/secrets/Not_A_Name:pw}\"\n    artifact jar",
            ),
        ),
        (
            "credential-inside-a-value",
            replace(
                "artifact jar",
                "override \"flink\" \"env.java.opts.all\" \"-Djavax.net.ssl.trustStorePassword=changeit\"\n    artifact jar",
            ),
        ),
        (
            "literal-broker-secret",
            replace(
                "    broker \"transaction.max.timeout.ms\" 7200000",
                "    broker \"transaction.max.timeout.ms\" 7200000\n    broker \"ssl.keystore.password\" value=\"hunter2\"",
            ),
        ),
        (
            "broker-reference-to-undeclared-provider",
            replace(
                "    broker \"transaction.max.timeout.ms\" 7200000",
                "    broker \"transaction.max.timeout.ms\" 7200000\n    broker \"ssl.keystore.password\" \"${file:/opt/kafka/secrets/ks.properties:password}\"",
            ),
        ),
        (
            "env-secret-needs-newer-client",
            replace(
                "artifact jar",
                "security protocol=\"SASL_SSL\" sasl-mechanism=\"PLAIN\" {\n        username env=\"KAFKA_USER\"\n        password env=\"KAFKA_PASSWORD\"\n    }\n    artifact jar",
            ),
        ),
        (
            "sasl-without-mechanism",
            replace(
                "artifact jar",
                "security protocol=\"SASL_SSL\"\n    artifact jar",
            ),
        ),
        (
            "unknown-instance",
            replace("instance \"m6gd.4xlarge\"", "instance \"m6gd.4xlarg\""),
        ),
        (
            "unknown-cluster",
            replace("cluster=\"main\" connector", "cluster=\"mian\" connector"),
        ),
        (
            "duplicate-job",
            format!(
                "{BASE}\n{}",
                BASE.split("cluster \"main\"").next().unwrap_or_default()
            ),
        ),
        (
            "removed-flink-key",
            replace(
                "artifact jar",
                "override \"flink\" \"taskmanager.memory.preallocate\" \"true\"\n    artifact jar",
            ),
        ),
        (
            "deprecated-flink-key",
            replace(
                "artifact jar",
                "override \"flink\" \"state.checkpoints.dir\" \"s3://x\"\n    artifact jar",
            ),
        ),
        (
            "bad-flink-memory-override",
            replace(
                "artifact jar",
                "override \"flink\" \"taskmanager.memory.jvm-metaspace.size\" \"512MiB\"\n    artifact jar",
            ),
        ),
        (
            "unknown-kafka-override",
            replace(
                "artifact jar",
                "override \"producer\" \"linger.msec\" 5\n    artifact jar",
            ),
        ),
        (
            "bad-kafka-override-value",
            replace(
                "artifact jar",
                "override \"producer\" \"acks\" \"most\"\n    artifact jar",
            ),
        ),
        (
            "bad-k8s-quantity",
            replace(
                "artifact jar",
                "override \"kubernetes\" \"taskmanager.cpu\" \"two\"\n    artifact jar",
            ),
        ),
        (
            "operator-forbidden-key",
            replace(
                "artifact jar",
                "override \"flink\" \"kubernetes.cluster-id\" \"x\"\n    artifact jar",
            ),
        ),
        (
            "legacy-format-cannot-carry",
            replace(
                "artifact jar",
                "override \"flink\" \"pipeline.name\" \"orders # prod\"\n    artifact jar",
            ),
        ),
        (
            // flinkgen writes config.yaml, but the operator still writes the FlinkDeployment's
            // configuration as flink-conf.yaml on Flink 1.x: a line break would inject a key.
            "legacy-format-on-flink-1-with-config-yaml",
            replace(
                "artifact jar",
                "override \"flink\" \"pipeline.name\" \"orders\\nrest.port: 1\"\n    artifact jar",
            )
            .replacen(
                "flink version=\"1.20\" operator=\"1.15\"",
                "flink version=\"1.20\" operator=\"1.15\" config-file=\"config.yaml\"",
                1,
            ),
        ),
        (
            "config-file-not-read-by-version",
            replace(
                "version=\"1.20\" operator",
                "version=\"1.18\" config-file=\"config.yaml\" operator",
            ),
        ),
        (
            "unknown-broker-key",
            replace(
                "broker \"transaction.max.timeout.ms\" 7200000",
                "broker \"transaction.max.timout.ms\" 7200000",
            ),
        ),
        (
            "bad-broker-value",
            replace(
                "broker \"transaction.max.timeout.ms\" 7200000",
                "broker \"transaction.max.timeout.ms\" 9999999999",
            ),
        ),
        (
            "node-identity-broker-key",
            replace(
                "broker \"transaction.max.timeout.ms\" 7200000",
                "broker \"node.id\" 1",
            ),
        ),
        (
            "strimzi-too-old-for-kafka-4",
            replace("version=\"3.9\" brokers", "version=\"4.0\" brokers"),
        ),
        (
            "bitnami-chart-unknown",
            replace(
                "deployment \"strimzi\" version=\"0.45.1\"",
                "deployment \"bitnami\" version=\"30.1.0\"",
            ),
        ),
        ("empty-file", String::new()),
        // The kdl crate's v1 parser panics on this (fuzz finding): flinkgen no longer asks it.
        ("kdl-truncated-annotation", "(null".to_string()),
        (
            "kdl-v1-raw-string",
            replace("environment \"prod\"", "environment r\"prod\""),
        ),
    ]
}

#[test]
fn every_bad_input_is_a_spanned_error_with_exit_2_and_no_output() {
    for (name, text) in cases() {
        let (dir, path) = common::profile(&text);
        let out = dir.path().join("out");
        let r = build(&common::options(&[&path]), &out, false);
        assert_eq!(
            r.code, 2,
            "case {name}: expected exit 2, got {}:\n{}",
            r.code, r.stderr
        );
        assert!(!out.exists(), "case {name}: nothing may be written");
        assert!(
            r.stderr.contains("profile.kdl"),
            "case {name}: the diagnostic must point into the profile:\n{}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("hunter2"),
            "case {name}: a literal secret is never printed:\n{}",
            r.stderr
        );
        let shown = r.stderr.replace(&dir.path().display().to_string(), "<tmp>");
        insta::assert_snapshot!(format!("error-{name}"), shown);
    }
}

#[test]
fn unreadable_inputs_are_errors_too() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let missing = dir.path().join("nope.kdl");
    let r = build(
        &common::options(&[&missing]),
        &dir.path().join("out"),
        false,
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot read") && r.stderr.contains("nope.kdl"),
        "{}",
        r.stderr
    );
    let bad_pack_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        bad_pack_dir.path().join("p.kdl"),
        "pack \"x\" version=\"1\" layer=\"organisation\" {\n    rul \"a\" {}\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (_d, good) = common::profile(BASE);
    let mut opts = common::options(&[&good]);
    opts.policies = vec![bad_pack_dir.path().to_path_buf()];
    let r = build(&opts, &dir.path().join("out"), false);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown pack node `rul`") && r.stderr.contains("did you mean `rule`?"),
        "{}",
        r.stderr
    );
}

#[test]
fn json_format_gives_machine_readable_spans() {
    let (dir, path) = common::profile(&replace("brokers=3", "brokers=0"));
    let mut opts = common::options(&[&path]);
    opts.format = flinkgen::app::Format::Json;
    let r = build(&opts, &dir.path().join("out"), false);
    assert_eq!(r.code, 2);
    let v: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    let label = &v["errors"][0]["labels"][0]["span"];
    assert_eq!(label["line"], 16);
    assert!(
        label["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("profile.kdl"))
    );
}
