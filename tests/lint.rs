//! `flinkgen lint` and `flinkgen import` on deployments flinkgen did not write
//! (tests/fixtures/lint/*): the classic mistakes come back with spans into those files, a correct
//! deployment gets nothing, flinkgen's own output gets nothing, and imported profiles build and
//! reproduce the files' settings.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use flinkgen::app::{self, Format, Options};
use flinkgen::plan::{DocKind, Value};

fn opts(inputs: &[&str]) -> Options {
    Options {
        inputs: inputs.iter().map(PathBuf::from).collect(),
        ..Default::default()
    }
}

fn facts(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn codes(dir: &str, fact_list: &[&str]) -> (Vec<String>, flinkgen::lint::Linted) {
    let l = flinkgen::lint::lint(&[PathBuf::from(dir)], &facts(fact_list), &[])
        .unwrap_or_else(|(e, s)| panic!("{}", flinkgen::diag::render_human(&e.0, &s, false)));
    let mut c: Vec<String> = l.findings.iter().filter_map(|f| f.code.clone()).collect();
    c.dedup();
    (c, l)
}

const CLASSIC_FACTS: &[&str] = &[
    "brokers=2",
    "restorable-for=7d",
    "kafka-version=3.9",
    "flink-version=1.18",
];

#[test]
fn classic_mistakes_in_hand_written_files() {
    let (c, l) = codes("tests/fixtures/lint/classic", CLASSIC_FACTS);
    // FG101 producer timeout above the broker maximum; FG102 recovery outlasts the transaction;
    // FG103 transactional IDs expire before the restore window; FG104 downstream reads
    // uncommitted; FG105 replication above the broker count; FG207 RocksDB starved.
    assert_eq!(c, ["FG101", "FG102", "FG103", "FG104", "FG105", "FG207"]);
    // The typo'd key is reported with a suggestion.
    let typo = l
        .findings
        .iter()
        .find(|f| f.message.contains("execution.checkpointing.intervall"))
        .expect("the typo is reported");
    assert_eq!(
        typo.help.as_deref(),
        Some("did you mean `execution.checkpointing.interval`?")
    );
    // Spans point into the user's files, at the values.
    let fg101 = l
        .findings
        .iter()
        .find(|f| f.code.as_deref() == Some("FG101"))
        .unwrap();
    let span = fg101.labels[0].span;
    assert_eq!(
        l.sources.get(span.file).name,
        "tests/fixtures/lint/classic/producer.properties"
    );
    assert_eq!(l.sources.snippet(span), "3600000");
    let out = app::lint_cmd(
        &opts(&["tests/fixtures/lint/classic"]),
        &facts(CLASSIC_FACTS),
    );
    assert_eq!(out.code, 1);
    insta::assert_snapshot!("lint-classic", format!("{}\n{}", out.stdout, out.stderr));
}

#[test]
fn docker_compose_and_sql() {
    let (c, l) = codes(
        "tests/fixtures/lint/compose",
        &[
            "delivery=exactly-once",
            "restorable-for=1d",
            "max-downtime=30min",
        ],
    );
    // The broker allows 10 min (KAFKA_TRANSACTION_MAX_TIMEOUT_MS), the SQL sink asks for 15;
    // 10 min checkpoints + 10 min timeout + 30 min downtime outlast both.
    assert_eq!(c, ["FG101", "FG102"]);
    let job = &l.plan.jobs[0];
    assert_eq!(job.name, "docker-compose");
    assert_eq!(job.fact_str("flink-version"), Some("1.20"));
    assert_eq!(
        job.get(DocKind::Flink, "execution.checkpointing.interval")
            .map(|e| &e.value),
        Some(&Value::Millis(600_000))
    );
    let fg101 = l
        .findings
        .iter()
        .find(|f| f.code.as_deref() == Some("FG101"))
        .unwrap();
    let snippets: Vec<&str> = fg101
        .labels
        .iter()
        .map(|lb| l.sources.snippet(lb.span))
        .collect();
    assert!(snippets.contains(&"'900000'"), "{snippets:?}");
    assert!(snippets.contains(&"600000"), "{snippets:?}");
    // The FLINK_PROPERTIES block scalar's values are spanned inside the compose file.
    let interval = job
        .get(DocKind::Flink, "execution.checkpointing.interval")
        .unwrap();
    assert_eq!(l.sources.snippet(interval.origin.spans()[0]), "10 min");
    let out = app::lint_cmd(
        &opts(&["tests/fixtures/lint/compose"]),
        &facts(&[
            "delivery=exactly-once",
            "restorable-for=1d",
            "max-downtime=30min",
        ]),
    );
    insta::assert_snapshot!("lint-compose", format!("{}\n{}", out.stdout, out.stderr));
}

#[test]
fn flinkdeployment_and_strimzi() {
    let (c, l) = codes("tests/fixtures/lint/k8s", &["delivery=exactly-once"]);
    // No transaction.timeout.ms: KafkaSinkBuilder's 1 h default against Kafka's 15 min maximum.
    // 2 GiB TaskManagers with 4 RocksDB slots: task heap and managed memory per slot too small.
    assert_eq!(c, ["FG101", "FG206", "FG207"]);
    let c = l.plan.cluster("events").unwrap();
    assert_eq!(c.fact_i64("brokers"), Some(3), "KafkaNodePool replicas");
    assert_eq!(c.fact_str("kafka-version"), Some("3.9"));
    assert_eq!(c.fact_str("deployment"), Some("strimzi"));
    let job = &l.plan.jobs[0];
    assert_eq!(job.name, "fraud-scoring");
    assert_eq!(job.cluster, "events", "matched by bootstrap.servers");
    // The operator writes resource.memory into process.size.
    assert_eq!(
        job.get(DocKind::Flink, "taskmanager.memory.process.size")
            .map(|e| &e.value),
        Some(&Value::Bytes(2048 << 20))
    );
}

#[test]
fn bitnami_values_and_standard_yaml() {
    let (c, l) = codes("tests/fixtures/lint/bitnami", &["restorable-for=1d"]);
    // extraConfig caps transactions at 5 min, the producer asks for 10; one broker cannot
    // hold three replicas; 3 min checkpoints + 5 min timeout + downtime outlast 10 min.
    assert_eq!(c, ["FG101", "FG102", "FG105"]);
    let cluster = &l.plan.clusters[0];
    assert_eq!(cluster.fact_i64("brokers"), Some(1));
    assert_eq!(
        cluster.fact_str("kafka-version"),
        Some("3.8"),
        "from image.tag"
    );
    let max = cluster.current.entry("transaction.max.timeout.ms").unwrap();
    assert_eq!(l.sources.snippet(max.origin.spans()[0]), "300000");
}

const CLEAN_FACTS: &[&str] = &[
    "brokers=3",
    "kafka-version=3.9",
    "flink-version=1.20",
    "max-downtime=10min",
    "restorable-for=3d",
];

#[test]
fn a_correct_deployment_gets_nothing() {
    let (c, l) = codes("tests/fixtures/lint/clean", CLEAN_FACTS);
    assert!(c.is_empty(), "{c:?}");
    assert!(l.findings.is_empty(), "{:?}", l.findings);
    assert!(l.assumptions.is_empty(), "{:?}", l.assumptions);
    let out = app::lint_cmd(&opts(&["tests/fixtures/lint/clean"]), &facts(CLEAN_FACTS));
    assert_eq!(out.code, 0);
    assert!(
        out.stderr.contains("0 error(s), 0 warning(s)"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_same_deployment_with_one_mistake_is_caught() {
    // Non-firing and firing fixture of the same deployment: lower the broker maximum below the
    // producer's timeout and FG101 appears, pointing at both values.
    let dir = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir("tests/fixtures/lint/clean").unwrap() {
        let p = f.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let server = dir.path().join("server.properties");
    let text = std::fs::read_to_string(&server).unwrap().replace(
        "transaction.max.timeout.ms=3600000",
        "transaction.max.timeout.ms=900000",
    );
    std::fs::write(&server, text).unwrap();
    let (c, l) = codes(dir.path().to_str().unwrap(), CLEAN_FACTS);
    assert_eq!(c, ["FG101"]);
    let snippets: Vec<&str> = l.findings[0]
        .labels
        .iter()
        .map(|lb| l.sources.snippet(lb.span))
        .collect();
    assert_eq!(snippets, ["1800000", "900000"]);
}

#[test]
fn unstated_facts_are_assumed_and_said() {
    let (_, l) = codes("tests/fixtures/lint/clean", &[]);
    let a = l.assumptions.join("\n");
    assert!(a.contains("Kafka version unknown"), "{a}");
    assert!(a.contains("broker count unknown"), "{a}");
    assert!(a.contains("max-downtime not stated"), "{a}");
    // With the version unknown, no version-specific check fires on the guess.
    assert!(l.plan.clusters[0].fact("kafka-version").is_none());
}

#[test]
fn flinkgens_own_output_lints_clean() {
    // Build the examples, then lint each job's files with its cluster's, stating as facts what
    // only the profiles know: lint must find nothing the build itself did not report.
    let c = common::compiled(&[Path::new("examples")]);
    let out = tempfile::tempdir().unwrap();
    let b = app::build(&opts(&["examples"]), out.path(), false);
    assert!(b.code <= 1, "{}", b.stderr);
    for job in &c.plan.jobs {
        let cluster = c.plan.cluster(&job.cluster).unwrap();
        let mut fact_list = vec![];
        for f in ["max-downtime", "restorable-for"] {
            if let Some(Value::Millis(ms)) = job.fact(f).map(|x| &x.value) {
                fact_list.push(format!("{f}={}s", ms / 1000));
            }
        }
        for f in ["flink-version", "connector-version", "operator-version"] {
            if let Some(v) = job.fact_str(f) {
                fact_list.push(format!("{f}={v}"));
            }
        }
        fact_list.push(format!(
            "kafka-version={}",
            cluster.fact_str("kafka-version").unwrap()
        ));
        fact_list.push(format!("brokers={}", cluster.fact_i64("brokers").unwrap()));
        let dirs = [
            out.path().join("jobs").join(&job.name),
            out.path().join("clusters").join(&cluster.name),
        ];
        let l = flinkgen::lint::lint(&dirs, &fact_list, &[])
            .unwrap_or_else(|(e, s)| panic!("{}", flinkgen::diag::render_human(&e.0, &s, false)));
        assert_eq!(l.plan.jobs.len(), 1);
        assert_eq!(
            l.plan.jobs[0].cluster, cluster.name,
            "matched by bootstrap.servers"
        );
        let built: BTreeSet<&str> = c
            .findings
            .iter()
            .filter_map(|f| f.code.as_deref())
            .collect();
        let loud: Vec<String> = l
            .findings
            .iter()
            .filter(|f| f.severity >= flinkgen::diag::Severity::Warning)
            .filter(|f| !f.code.as_deref().is_some_and(|code| built.contains(code)))
            .map(|f| format!("{:?} {}", f.code, f.message))
            .collect();
        assert!(loud.is_empty(), "{}: {loud:#?}", job.name);
    }
}

#[test]
fn bad_input_is_exit_2_with_a_span() {
    let out = app::lint_cmd(
        &opts(&["tests/fixtures/lint/clean"]),
        &facts(&["brokres=3", "max-downtime=10m"]),
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("did you mean `brokers`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("`m` is ambiguous"), "{}", out.stderr);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("flinkdeployment.yaml"),
        "spec: [a, b\nkind: x\n",
    )
    .unwrap();
    let out = app::lint_cmd(&opts(&[dir.path().to_str().unwrap()]), &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("YAML syntax error"), "{}", out.stderr);
    let out = app::lint_cmd(&opts(&["tests/fixtures/lint/nope"]), &[]);
    assert_eq!(out.code, 2);
    let json = app::lint_cmd(
        &Options {
            format: Format::Json,
            ..opts(&["tests/fixtures/lint/classic"])
        },
        &facts(CLASSIC_FACTS),
    );
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(v["findings"].as_array().is_some_and(|a| !a.is_empty()));
}

/// The Flink settings a lint Plan holds, as text, for comparing two deployments.
fn flink_settings(dir: &Path, fact_list: &[&str]) -> std::collections::BTreeMap<String, String> {
    let l = flinkgen::lint::lint(&[dir.to_path_buf()], &facts(fact_list), &[])
        .unwrap_or_else(|(e, s)| panic!("{}", flinkgen::diag::render_human(&e.0, &s, false)));
    l.plan.jobs[0]
        .doc(DocKind::Flink)
        .map(|d| {
            d.entries
                .iter()
                .map(|(k, e)| (k.clone(), e.value.flink_text()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn import_writes_profiles_that_build_and_reproduce_the_settings() {
    for (fixture, fact_list) in [
        ("classic", CLASSIC_FACTS),
        ("clean", CLEAN_FACTS),
        ("compose", &["delivery=exactly-once"][..]),
        ("k8s", &["delivery=exactly-once"][..]),
        ("bitnami", &[][..]),
    ] {
        let dir = format!("tests/fixtures/lint/{fixture}");
        let profiles = tempfile::tempdir().unwrap();
        let out = app::import_cmd(&opts(&[&dir]), &facts(fact_list), profiles.path(), false);
        assert_eq!(out.code, 0, "{fixture}: {}{}", out.stdout, out.stderr);
        // The profiles build (findings allowed: they reproduce the deployment's mistakes).
        let built = tempfile::tempdir().unwrap();
        let b = app::build(
            &opts(&[profiles.path().to_str().unwrap()]),
            built.path(),
            false,
        );
        assert!(b.code <= 1, "{fixture}: {}", b.stderr);
        // Every Flink setting of the original files reappears with the same value, except the
        // ones the report names.
        let before = flink_settings(Path::new(&dir), fact_list);
        let after = flink_settings(built.path(), &[]);
        for (k, v) in &before {
            if out.stdout.contains(&format!(" {k}:")) {
                continue;
            }
            let got = after.get(k);
            let same = got == Some(v)
                || got.and_then(|g| flinkgen::units::parse_flink_duration_ms(g).ok())
                    == flinkgen::units::parse_flink_duration_ms(v).ok()
                    && got.is_some();
            assert!(same, "{fixture}: {k} was {v}, now {got:?}");
        }
        // Writing again without --force is refused; nothing is overwritten.
        let again = app::import_cmd(&opts(&[&dir]), &facts(fact_list), profiles.path(), false);
        assert_eq!(again.code, 2, "{}", again.stderr);
    }
}

#[test]
fn import_reports_what_it_cannot_express() {
    let profiles = tempfile::tempdir().unwrap();
    let out = app::import_cmd(
        &opts(&["tests/fixtures/lint/classic"]),
        &facts(CLASSIC_FACTS),
        profiles.path(),
        false,
    );
    // A node-identity broker key, a key Flink does not know, the downstream readers' settings.
    for expected in [
        "process.roles: `process.roles` is a per-node identity or quorum setting",
        "execution.checkpointing.intervall: `execution.checkpointing.intervall` is not a Flink 1.18 configuration option",
        "isolation.level: flinkgen writes the downstream readers' settings itself",
        "the node instance type",
    ] {
        assert!(out.stdout.contains(expected), "{expected}\n{}", out.stdout);
    }
    let names: BTreeSet<String> = std::fs::read_dir(profiles.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["classic.kdl".into(), "cluster-classic.kdl".into()])
    );
    let job = std::fs::read_to_string(profiles.path().join("classic.kdl")).unwrap();
    insta::assert_snapshot!("import-classic", job);
}

#[test]
fn lint_findings_as_sarif_point_into_the_linted_files() {
    let out = app::lint_cmd(
        &Options {
            format: Format::Sarif,
            ..opts(&["tests/fixtures/lint/classic"])
        },
        &facts(CLASSIC_FACTS),
    );
    assert_eq!(out.code, 1);
    let log: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    common::sarif::assert_valid_sarif(&log);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let fg101 = results.iter().find(|r| r["ruleId"] == "FG101").unwrap();
    let loc = &fg101["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "tests/fixtures/lint/classic/producer.properties"
    );
    assert_eq!(loc["region"]["startLine"], 5);
}

/// A literal credential in a linted file is masked before any report renders — human, JSON and
/// SARIF, snippets included — and reported without its text; a reference that would not resolve
/// (a provider the file does not declare; any reference in Flink's configuration) is an error;
/// a declared reference is fine.
#[test]
fn literal_credentials_in_linted_files_never_reach_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let literals = [
        "hunter2-jaas",
        "trustme-42",
        "AKIA-literal-9",
        "sql-literal-7",
        "broker-literal-3",
        "commented-literal-8",
        "jvm-option-literal-6",
    ];
    std::fs::write(
        dir.path().join("producer.properties"),
        "bootstrap.servers=k:9092\nsecurity.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n\
         sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"hunter2-jaas\";\n\
         transaction.timeout.ms=3600000\nssl.truststore.password=trustme-42\nssl.key.password=${env:KEY_PW}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("consumer.properties"),
        "bootstrap.servers=k:9092\nconfig.providers=env\n\
         config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider\n\
         ssl.key.password=${env:DECLARED}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("flink-conf.yaml"),
        "s3.secret-key: ${env:S3_KEY}\ns3.access-key: AKIA-literal-9\n# s3.secret-key: commented-literal-8\nenv.java.opts.all: -Djavax.net.ssl.keyStorePassword=jvm-option-literal-6\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tables.sql"),
        "CREATE TABLE t (x INT) WITH (\n  'connector' = 'kafka',\n  'topic' = 't',\n  'properties.bootstrap.servers' = 'k:9092',\n  'properties.ssl.key.password' = 'sql-literal-7'\n);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("server.properties"),
        "ssl.keystore.password=broker-literal-3\nmin.insync.replicas=2\n",
    )
    .unwrap();
    let path = dir.path().to_str().unwrap();
    let fact_list = facts(&["kafka-version=3.9", "brokers=3"]);
    for format in [Format::Human, Format::Json, Format::Sarif] {
        let out = app::lint_cmd(
            &Options {
                format,
                ..opts(&[path])
            },
            &fact_list,
        );
        assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
        for literal in literals {
            assert!(
                !out.stdout.contains(literal) && !out.stderr.contains(literal),
                "{format:?} shows {literal}:\n{}{}",
                out.stdout,
                out.stderr
            );
        }
    }
    let l = flinkgen::lint::lint(&[PathBuf::from(path)], &fact_list, &[])
        .unwrap_or_else(|(e, s)| panic!("{}", flinkgen::diag::render_human(&e.0, &s, false)));
    let said = |severity: flinkgen::diag::Severity, what: &str| {
        l.findings
            .iter()
            .filter(|f| f.severity == severity && f.message.contains(what))
            .count()
    };
    use flinkgen::diag::Severity::{Error, Warning};
    for key in [
        "`sasl.jaas.config`",
        "`ssl.truststore.password`",
        "`s3.access-key`",
        "`ssl.key.password` holds",
        "`ssl.keystore.password`",
    ] {
        assert_eq!(
            said(Warning, key),
            1,
            "one literal-credential warning for {key}"
        );
    }
    assert_eq!(
        said(Error, "`ssl.key.password` references config provider `env`"),
        1
    );
    assert_eq!(
        said(
            Error,
            "Flink does not resolve config-provider references: `s3.secret-key`"
        ),
        1
    );
    assert_eq!(said(Error, "DECLARED"), 0, "a declared provider is fine");
    // A compose file's FLINK_PROPERTIES, too; and `import` writes none of them into the
    // profiles it generates, nor into its report.
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  jobmanager:\n    image: flink:1.20.1\n    environment:\n      FLINK_PROPERTIES: |\n        s3.secret-key: compose-literal-5\n",
    )
    .unwrap();
    let profiles = tempfile::tempdir().unwrap();
    let out = app::import_cmd(&opts(&[path]), &fact_list, profiles.path(), true);
    let written: String = common::tree(profiles.path())
        .into_values()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    assert!(!written.is_empty(), "{}{}", out.stdout, out.stderr);
    for literal in literals.iter().chain(&["compose-literal-5"]) {
        assert!(
            !written.contains(literal)
                && !out.stdout.contains(literal)
                && !out.stderr.contains(literal),
            "import shows {literal}:\n{written}\n{}{}",
            out.stdout,
            out.stderr
        );
    }
    assert!(
        out.stdout.contains("a literal credential (not shown)")
            || out.stderr.contains("a literal credential (not shown)"),
        "{}{}",
        out.stdout,
        out.stderr
    );
}
