//! Every generated output, read back with the parser its consumer uses (or a faithful copy of
//! it) and validated against the real upstream schema, must say exactly what the Plan intends.
//!
//! The outputs are built in-process from the examples, from a few cluster profiles written here
//! (to reach the bitnami 31.x and Strimzi 1.x branches), and from a profile full of values that
//! need escaping. Expected values always come from the Plan (`Value::flink_text` / `kafka_text`),
//! never from the rendered text, so a template or escaping bug shows up as a difference between
//! what was meant and what a reader gets.
//!
//! Upstream schemas live in `../shared/schemas/` (see `shared`): tests that need them fail under
//! `CI=true` when they are missing, and skip with a message otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use flinkgen::app::{Options, compile};
use flinkgen::diag::render_human;
use flinkgen::plan::{ClusterPlan, DocKind, Document, JobPlan, Plan, Value};
use flinkgen::policy::kafka_model;
use flinkgen::render::{Templates, environment, render_plan};
use serde_json::Value as Json;

mod common;

use common::upstream::{assert_valid, flinkdeployment_schema, read, shared, yaml_k8s};

// ---------------------------------------------------------------------------------------------
// Building the outputs
// ---------------------------------------------------------------------------------------------

/// Each example is built on its own, as a user would build it.
const EXAMPLES: &[&str] = &[
    "examples/orders-enrichment.kdl",
    "examples/clickstream-sessions.kdl",
    "examples/legacy-audit.kdl",
    "examples/stateless-router.kdl",
    "examples/payments",
];

/// Clusters the examples do not cover: bitnami chart 31.x (`extraConfig`, a properties string,
/// here with a value that needs `\:` and `\=` escapes) and Strimzi 1.x (`kafka.strimzi.io/v1`).
/// A profile file may hold only `cluster` nodes.
const EXTRA_CLUSTERS: &str = r#"
cluster "old-bitnami" {
    kafka version="3.9" brokers=3 bootstrap="kafka.old.svc:9092"
    deployment "bitnami" version="31.4.1"
    broker "min.insync.replicas" 2
    broker "default.replication.factor" 3
    broker "transaction.max.timeout.ms" 7200000
    broker "log.retention.hours" 168
    broker "ssl.principal.mapping.rules" "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L,DEFAULT"
}

cluster "next" {
    kafka version="4.2" brokers=3 bootstrap="next-kafka-bootstrap.kafka.svc:9093"
    deployment "strimzi" version="1.2.0"
    broker "min.insync.replicas" 2
    broker "default.replication.factor" 3
    broker "transaction.max.timeout.ms" 3600000
}
"#;

/// Values that each output format must escape: quotes, backslash, tab, `#`, `: `, `=`, non-ASCII,
/// U+2028 (a YAML line break), and the one-letter YAML 1.1 booleans `y` and `n`.
/// `escapes` writes config.yaml (Flink 2.2), `escapes-legacy` flink-conf.yaml (Flink 1.20, which
/// cannot carry `#` or control characters at all, so it gets a milder value).
const ESCAPES: &str = r#"
job "escapes" {
    environment "dev"
    flink version="2.2" operator="1.15"
    kafka cluster="esc-strimzi" connector="5.0.0"
    delivery "exactly-once"
    state size="2GiB" backend="rocksdb"
    throughput records-per-second=500 record-size="256B"
    source "raw" topic="esc.raw" partitions=2 format="raw"
    sink "routed" topic="esc.routed" partitions=2 format="raw"
    checkpoint interval="30s"
    instance "m6i.4xlarge"
    kubernetes namespace="dev" image="flink:2.2" storage="s3://bucket/escapes"
    artifact jar="local:///opt/flink/usrlib/router.jar" {
        args "--name" "it's \"quoted\": #1"
    }
    override "flink" "pipeline.name" "y"
    override "flink" "metrics.scope.jm" "a: b, [c] {d} 'e' \"f\" é\t\\ #x \u{2028}"
    override "producer" "client.id" "x=y: z é\t!#"
}

job "escapes-legacy" {
    environment "dev"
    flink version="1.20" operator="1.15"
    kafka cluster="esc-strimzi" connector="3.4.0"
    delivery "at-least-once"
    throughput records-per-second=500 record-size="256B"
    source "raw" topic="esc.raw2" partitions=2 format="raw"
    sink "routed" topic="esc.routed2" partitions=2 format="raw"
    instance "m6i.4xlarge"
    kubernetes namespace="dev" image="flink:1.20"
    artifact jar="local:///opt/flink/usrlib/router.jar"
    override "flink" "pipeline.name" "a: b, [c] {d} 'e' \"f\" é"
    override "consumer" "client.id" "it's a 'client'"
}

cluster "esc-strimzi" {
    kafka version="3.9" brokers=3 bootstrap="kafka.esc.svc:9092"
    deployment "strimzi" version="0.45.1"
    broker "default.replication.factor" 3
    broker "transaction.max.timeout.ms" 7200000
    broker "create.topic.policy.class.name" "y"
}

cluster "esc-bitnami" {
    kafka version="4.0" brokers=3 bootstrap="kafka.esc.svc:9092"
    deployment "bitnami" version="32.4.4"
    broker "default.replication.factor" 3
    broker "create.topic.policy.class.name" "n"
}
"#;

/// One build: the Plan (what is meant) and the rendered files by path (what is written).
struct Build {
    name: String,
    plan: Plan,
    files: BTreeMap<String, String>,
}

impl Build {
    fn file(&self, path: &str) -> &str {
        self.files.get(path).map_or_else(
            || {
                panic!(
                    "{}: no file {path}; files: {:?}",
                    self.name,
                    self.files.keys()
                )
            },
            String::as_str,
        )
    }
    fn cluster(&self, name: &str) -> &ClusterPlan {
        self.plan
            .cluster(name)
            .unwrap_or_else(|| panic!("{}: no cluster `{name}`", self.name))
    }
}

fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn build(name: &str, inputs: Vec<PathBuf>) -> Build {
    let opts = Options {
        inputs,
        ..Default::default()
    };
    let compiled = compile(&opts)
        .unwrap_or_else(|(e, sources)| panic!("{name}: {}", render_human(&e.0, &sources, false)));
    let env = environment(None).unwrap_or_else(|d| panic!("{name}: {}", d.message));
    let units = render_plan(&compiled.plan, &env).unwrap_or_else(|e| {
        panic!(
            "{name}: {:?}",
            e.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    });
    // The built-in templates are Rust writers; their .j2 texts, interpreted, must agree.
    let reference = Templates::interpreted()
        .and_then(|t| render_plan(&compiled.plan, &t).map_err(|mut e| e.remove(0)))
        .unwrap_or_else(|d| panic!("{name}: {}", d.message));
    assert!(
        units == reference,
        "{name}: a built-in writer differs from its template"
    );
    let mut files = BTreeMap::new();
    for f in units.into_iter().flat_map(|u| u.files) {
        assert!(
            files.insert(f.path.clone(), f.contents).is_none(),
            "{name}: {} rendered twice",
            f.path
        );
    }
    Build {
        name: name.to_string(),
        plan: compiled.plan,
        files,
    }
}

/// Build a profile written here, through a temporary file as a user's profile would be read.
fn build_text(name: &str, kdl: &str) -> Build {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("{name}.kdl"));
    std::fs::write(&path, kdl).expect("write temp profile");
    build(name, vec![path])
}

/// The examples and the extra clusters, built once per test binary.
fn builds() -> &'static [Build] {
    static BUILDS: OnceLock<Vec<Build>> = OnceLock::new();
    BUILDS.get_or_init(|| {
        let mut out: Vec<Build> = EXAMPLES
            .iter()
            .map(|e| build(e, vec![crate_root().join(e)]))
            .collect();
        out.push(build_text("extra-clusters", EXTRA_CLUSTERS));
        out
    })
}

fn escapes() -> &'static Build {
    static BUILD: OnceLock<Build> = OnceLock::new();
    BUILD.get_or_init(|| build_text("escapes", ESCAPES))
}

fn find_cluster(name: &str) -> &'static Build {
    builds()
        .iter()
        .find(|b| b.plan.cluster(name).is_some())
        .unwrap_or_else(|| panic!("no cluster `{name}` in the builds"))
}

// ---------------------------------------------------------------------------------------------
// ../shared
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------------------------

/// YAML read as Flink reads config.yaml (snakeyaml-engine, YAML 1.2 Core schema: only
/// `true`/`false` are booleans).
fn yaml_flink(what: &str, text: &str) -> Json {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<Json>(text, options)
        .unwrap_or_else(|e| panic!("{what} is not YAML: {e}"))
}

/// `.properties` through the java-properties crate (java.util.Properties' grammar).
fn properties(what: &str, text: &str) -> BTreeMap<String, String> {
    java_properties::read(text.as_bytes())
        .unwrap_or_else(|e| panic!("{what} is not a .properties file: {e}"))
        .into_iter()
        .collect()
}

/// Flink's legacy `flink-conf.yaml` reader (GlobalConfiguration.loadYAMLResource, Flink <= 1.20):
/// no YAML at all, each line is cut at the first `#`, trimmed, and split at the first `": "`.
/// Lines Flink would skip with only a log warning (no separator, empty key or value) and
/// duplicate keys (the last silently wins) are errors here: they always mean a lost setting.
fn flink_legacy(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let conf = line.split('#').next().unwrap_or_default().trim();
        if conf.is_empty() {
            continue;
        }
        let Some((k, v)) = conf.split_once(": ") else {
            return Err(format!("line {}: no `: ` separator: {line:?}", n + 1));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || v.is_empty() {
            return Err(format!("line {}: empty key or value: {line:?}", n + 1));
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("line {}: duplicate key `{k}`", n + 1));
        }
    }
    Ok(out)
}

/// A YAML scalar as the text a string-typed config reader sees.
fn scalar_text(what: &str, v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        other => panic!("{what}: expected a scalar, got {other}"),
    }
}

/// A YAML mapping of scalars as key → text.
fn flat(what: &str, v: &Json) -> BTreeMap<String, String> {
    v.as_object()
        .unwrap_or_else(|| panic!("{what}: expected a mapping, got {v}"))
        .iter()
        .map(|(k, v)| (k.clone(), scalar_text(&format!("{what}: {k}"), v)))
        .collect()
}

/// `doc` at a dotted path (`spec.job.parallelism`).
fn at<'a>(doc: &'a Json, path: &str) -> Option<&'a Json> {
    path.split('.').try_fold(doc, |v, seg| v.get(seg))
}

fn str_at<'a>(what: &str, doc: &'a Json, path: &str) -> &'a str {
    at(doc, path)
        .and_then(Json::as_str)
        .unwrap_or_else(|| panic!("{what}: no string at {path}"))
}

fn top_level_keys(doc: &Json) -> Vec<&str> {
    doc.as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// One `WITH ( … );` block of tables.sql with the header comment that names its table.
#[derive(Debug)]
struct WithBlock {
    /// `source` or `sink`, and the table name, from the ``-- kind `name` …`` comment above it.
    kind: String,
    name: String,
    options: Vec<(String, String)>,
}

/// A small Flink SQL reader for what tables.sql holds: `--` comments, and `WITH (` followed by
/// `'key' = 'value'` pairs separated by commas (no trailing comma: Flink's parser rejects it),
/// then `);`. String literals use SQL quoting: `''` inside is one quote.
fn with_blocks(sql: &str) -> Result<Vec<WithBlock>, String> {
    let mut p = SqlCursor {
        s: sql.as_bytes(),
        i: 0,
        last_comment: String::new(),
    };
    let mut out = vec![];
    loop {
        p.skip_space_and_comments();
        if p.i >= p.s.len() {
            return Ok(out);
        }
        if !p.eat_keyword("WITH") {
            return Err(format!("expected WITH at byte {}: {:?}", p.i, p.rest(30)));
        }
        let (kind, name) = header_table(&p.last_comment)
            .ok_or_else(|| format!("WITH at byte {} has no ``-- kind `name` `` header", p.i))?;
        p.expect(b'(')?;
        let mut options = vec![];
        loop {
            p.skip_space_and_comments();
            if p.peek() == Some(b')') {
                if !options.is_empty() {
                    return Err(format!("trailing comma before `)` at byte {}", p.i));
                }
                p.i += 1;
                break;
            }
            let key = p.string()?;
            p.expect(b'=')?;
            let value = p.string()?;
            options.push((key, value));
            p.skip_space_and_comments();
            match p.peek() {
                Some(b',') => p.i += 1,
                Some(b')') => {
                    p.i += 1;
                    break;
                }
                _ => return Err(format!("expected `,` or `)` at byte {}", p.i)),
            }
        }
        p.expect(b';')?;
        out.push(WithBlock {
            kind,
            name,
            options,
        });
    }
}

/// ``source `orders` (topic orders)`` → ("source", "orders").
fn header_table(comment: &str) -> Option<(String, String)> {
    let (kind, rest) = comment.trim().split_once(' ')?;
    let name = rest.strip_prefix('`')?.split('`').next()?;
    matches!(kind, "source" | "sink").then(|| (kind.to_string(), name.to_string()))
}

struct SqlCursor<'a> {
    s: &'a [u8],
    i: usize,
    last_comment: String,
}

impl SqlCursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn rest(&self, n: usize) -> String {
        String::from_utf8_lossy(&self.s[self.i..(self.i + n).min(self.s.len())]).into_owned()
    }
    fn skip_space_and_comments(&mut self) {
        loop {
            while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                self.i += 1;
            }
            if !self.s[self.i..].starts_with(b"--") {
                return;
            }
            let start = self.i + 2;
            while self.peek().is_some_and(|c| c != b'\n') {
                self.i += 1;
            }
            self.last_comment = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        }
    }
    fn eat_keyword(&mut self, kw: &str) -> bool {
        let end = self.i + kw.len();
        let ok = self.s.len() >= end
            && self.s[self.i..end].eq_ignore_ascii_case(kw.as_bytes())
            && !self.s.get(end).is_some_and(u8::is_ascii_alphanumeric);
        if ok {
            self.i = end;
        }
        ok
    }
    fn expect(&mut self, c: u8) -> Result<(), String> {
        self.skip_space_and_comments();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!(
                "expected `{}` at byte {}: {:?}",
                c as char,
                self.i,
                self.rest(30)
            ))
        }
    }
    fn string(&mut self) -> Result<String, String> {
        self.expect(b'\'')?;
        let mut bytes = vec![];
        loop {
            match self.peek() {
                None => return Err("unterminated string literal".into()),
                Some(b'\'') if self.s.get(self.i + 1) == Some(&b'\'') => {
                    bytes.push(b'\'');
                    self.i += 2;
                }
                Some(b'\'') => {
                    self.i += 1;
                    return String::from_utf8(bytes).map_err(|e| e.to_string());
                }
                Some(c) => {
                    bytes.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the Plan intends
// ---------------------------------------------------------------------------------------------

fn intended(doc: Option<&Document>, text: fn(&Value) -> String) -> BTreeMap<String, String> {
    doc.map(|d| {
        d.entries
            .iter()
            .map(|(k, e)| (k.clone(), text(&e.value)))
            .collect()
    })
    .unwrap_or_default()
}

/// The cluster's broker settings after the proposal: current ∪ proposed, proposed wins.
fn broker_union(c: &ClusterPlan) -> BTreeMap<String, String> {
    let mut m = intended(Some(&c.current), Value::kafka_text);
    m.extend(intended(Some(&c.proposed), Value::kafka_text));
    m
}

/// Where Kafka applies a broker key: `cluster-wide` keys can be set dynamically for all brokers
/// (dynamic-cluster.properties); `read-only` and `per-broker` keys belong in server.properties.
fn is_cluster_wide(c: &ClusterPlan, key: &str) -> bool {
    let version = c
        .fact_str("kafka-version")
        .expect("cluster has a kafka-version");
    let model = kafka_model::model(version)
        .unwrap_or_else(|| panic!("cluster {}: no Kafka config model for {version}", c.name));
    model.broker.get(key).and_then(|k| k.update_mode.as_deref()) == Some("cluster-wide")
}

/// The bytes of a Flink memory size as Flink's MemorySize reads the forms flinkgen writes:
/// `<n>m` (MiB), `<n>g` (GiB), `<n>k` (KiB), `<n>b` or bare digits (bytes).
fn flink_bytes(text: &str) -> u64 {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .unwrap_or_else(|_| panic!("`{text}` is not a memory size"));
    let factor = match unit.trim() {
        "" | "b" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        other => panic!("`{text}`: unexpected memory unit `{other}`"),
    };
    n * factor
}

fn plan_bytes(v: &Value) -> u64 {
    match v {
        Value::Bytes(b) => *b,
        Value::Str(s) => flink_bytes(s),
        other => panic!("not a memory size: {other:?}"),
    }
}

/// A YAML value against a plan value as it was meant: the same text, or for numbers the same
/// number (a plan `Float(1.0)` is `1` in Flink text and `1.0` in YAML).
fn same_value(y: &Json, v: &Value) -> bool {
    match (y, v) {
        (Json::Array(items), Value::List(l)) => {
            items.len() == l.len() && items.iter().zip(l).all(|(a, b)| a.as_str() == Some(b))
        }
        (Json::Number(n), Value::Float(f)) => n.as_f64() == Some(*f),
        (Json::Number(n), Value::Int(i)) => n.as_i64() == Some(*i),
        (Json::Bool(b), Value::Bool(p)) => b == p,
        (Json::String(s), v) => *s == v.flink_text(),
        _ => false,
    }
}

fn assert_no_dotted_prefix(what: &str, keys: impl IntoIterator<Item = String>) {
    let keys: BTreeSet<String> = keys.into_iter().collect();
    for k in &keys {
        let child = format!("{k}.");
        // Sorted: the keys that start with `k.` are the first ones from `k.` on.
        if let Some(longer) = keys
            .range(child.clone()..)
            .next()
            .filter(|l| l.starts_with(&child))
        {
            panic!(
                "{what}: key `{k}` is a dotted prefix of `{longer}`: readers that nest dotted \
                 keys (Flink's config.yaml, the operator) lose one of the two"
            );
        }
    }
}

fn assert_maps_eq(what: &str, got: &BTreeMap<String, String>, want: &BTreeMap<String, String>) {
    if got == want {
        return;
    }
    let mut diff = String::new();
    for k in got.keys().chain(want.keys()).collect::<BTreeSet<_>>() {
        match (got.get(k), want.get(k)) {
            (Some(g), Some(w)) if g == w => {}
            (g, w) => diff.push_str(&format!("  {k}: read back {g:?}, plan says {w:?}\n")),
        }
    }
    panic!("{what} differs from the plan:\n{diff}");
}

// ---------------------------------------------------------------------------------------------
// Checks, one output kind each, over one build
// ---------------------------------------------------------------------------------------------

/// Every `.properties` file reads back as its plan document. Returns the number of files read.
fn check_properties(b: &Build) -> usize {
    let mut checked = 0;
    for (path, text) in &b.files {
        if path.ends_with(".properties") {
            let got = properties(path, text);
            assert_maps_eq(path, &got, &expected_properties(&b.plan, path));
            checked += 1;
        }
    }
    // Every non-empty client document has its file: nothing is dropped silently.
    for j in &b.plan.jobs {
        for (kind, file) in [
            (DocKind::Producer, "producer.properties"),
            (DocKind::Consumer, "consumer.properties"),
            (DocKind::Downstream, "downstream-consumer.properties"),
        ] {
            if j.doc(kind).is_some_and(|d| !d.entries.is_empty()) {
                b.file(&format!("jobs/{}/kafka/{file}", j.name));
            }
        }
        for s in &j.sinks {
            b.file(&format!("jobs/{}/kafka/sink-{}.properties", j.name, s.name));
        }
    }
    checked
}

/// The map a `.properties` file must read back as, by its path.
fn expected_properties(plan: &Plan, path: &str) -> BTreeMap<String, String> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["jobs", job, "kafka", file] => {
            let j = plan
                .jobs
                .iter()
                .find(|j| j.name == *job)
                .unwrap_or_else(|| panic!("{path}: no job `{job}` in the plan"));
            match *file {
                "producer.properties" => intended(j.doc(DocKind::Producer), Value::kafka_text),
                "consumer.properties" => intended(j.doc(DocKind::Consumer), Value::kafka_text),
                "downstream-consumer.properties" => {
                    intended(j.doc(DocKind::Downstream), Value::kafka_text)
                }
                f if f.starts_with("topic-") => {
                    // topic-<sink>.properties: the cluster's min ISR and the topic's own settings.
                    let sink = f
                        .trim_start_matches("topic-")
                        .trim_end_matches(".properties");
                    let t = j
                        .sinks
                        .iter()
                        .find(|s| s.name == sink)
                        .unwrap_or_else(|| panic!("{path}: no sink `{sink}`"));
                    let c = plan
                        .cluster(&j.cluster)
                        .unwrap_or_else(|| panic!("{path}: no cluster"));
                    let mut want = BTreeMap::new();
                    if let Some(m) = c.current.get("min.insync.replicas") {
                        want.insert("min.insync.replicas".to_string(), m.kafka_text());
                    }
                    for (k, v) in intended(c.topics.get(&t.topic), Value::kafka_text) {
                        if k != "replication.factor" {
                            want.insert(k, v);
                        }
                    }
                    want
                }
                f => {
                    // sink-<name>.properties: that sink's entries of the Sink document.
                    let sink = f
                        .strip_prefix("sink-")
                        .and_then(|s| s.strip_suffix(".properties"))
                        .unwrap_or_else(|| panic!("unexpected file {path}"));
                    assert!(
                        j.sinks.iter().any(|s| s.name == sink),
                        "{path}: no sink `{sink}`"
                    );
                    let prefix = format!("{sink}.");
                    intended(j.doc(DocKind::Sink), Value::kafka_text)
                        .into_iter()
                        .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v)))
                        .collect()
                }
            }
        }
        ["clusters", cluster, file] => {
            let c = plan
                .cluster(cluster)
                .unwrap_or_else(|| panic!("{path}: no cluster `{cluster}` in the plan"));
            let dynamic = match *file {
                "server.properties" => false,
                "dynamic-cluster.properties" => true,
                _ => panic!("unexpected file {path}"),
            };
            broker_union(c)
                .into_iter()
                .filter(|(k, _)| is_cluster_wide(c, k) == dynamic)
                .collect()
        }
        _ => panic!("unexpected file {path}"),
    }
}

/// The model-independent half of the broker split: both cluster files together hold exactly
/// current ∪ proposed, and no key is in both (static and dynamic values would fight).
fn check_cluster_split(b: &Build) -> usize {
    let mut checked = 0;
    for c in &b.plan.clusters {
        if c.fact_str("deployment") == Some("managed") {
            continue;
        }
        let dir = format!("clusters/{}", c.name);
        let server = properties("server", b.file(&format!("{dir}/server.properties")));
        let dynamic = properties(
            "dynamic",
            b.file(&format!("{dir}/dynamic-cluster.properties")),
        );
        let both: Vec<&String> = server.keys().filter(|k| dynamic.contains_key(*k)).collect();
        assert!(both.is_empty(), "{dir}: keys in both files: {both:?}");
        let mut union = server.clone();
        union.extend(dynamic);
        assert_maps_eq(&dir, &union, &broker_union(c));
        checked += 1;
    }
    checked
}

/// `1.20` → (1, 20).
fn minor_version(v: &str) -> (u32, u32) {
    let mut it = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// The job's Flink config file, read as its Flink version reads it, equals the Flink document.
fn check_flink_config(b: &Build, j: &JobPlan) {
    let path = format!("jobs/{}/flink/{}", j.name, j.config_file);
    let text = b.file(&path);
    let version = minor_version(j.fact_str("flink-version").expect("flink-version"));
    let got = match j.config_file.as_str() {
        // Flink 1.19 introduced config.yaml; 2.x reads nothing else.
        "config.yaml" => {
            assert!(
                version >= (1, 19),
                "{path}: Flink {version:?} has no config.yaml"
            );
            flat(&path, &yaml_flink(&path, text))
        }
        "flink-conf.yaml" => {
            assert!(
                version <= (1, 20),
                "{path}: Flink {version:?} no longer reads flink-conf.yaml"
            );
            flink_legacy(text).unwrap_or_else(|e| panic!("{path}: {e}"))
        }
        other => panic!("{path}: unknown config file {other}"),
    };
    let want = intended(j.doc(DocKind::Flink), Value::flink_text);
    assert!(!want.is_empty(), "{}: empty Flink document", j.name);
    assert_maps_eq(&path, &got, &want);
    assert_no_dotted_prefix(&path, got.into_keys());
}

fn flinkdeployment(b: &Build, j: &JobPlan) -> (String, Json) {
    let path = format!("jobs/{}/k8s/flinkdeployment.yaml", j.name);
    let doc = yaml_k8s(&path, b.file(&path));
    (path, doc)
}

/// spec.flinkConfiguration equals the Flink document minus the process sizes, which the
/// operator derives from spec.*.resource.memory.
fn check_flink_configuration(b: &Build, j: &JobPlan) {
    let (path, doc) = flinkdeployment(b, j);
    let conf = at(&doc, "spec.flinkConfiguration")
        .unwrap_or_else(|| panic!("{path}: no spec.flinkConfiguration"));
    let got = flat(&path, conf);
    let mut want = intended(j.doc(DocKind::Flink), Value::flink_text);
    want.remove("taskmanager.memory.process.size");
    want.remove("jobmanager.memory.process.size");
    assert_maps_eq(&format!("{path} spec.flinkConfiguration"), &got, &want);
    assert_no_dotted_prefix(&path, got.into_keys());
}

/// Every FlinkDeployment field the plan decided is in the document, at its path, with its value
/// (a key the template forgot would otherwise vanish without a trace).
fn check_flinkdeployment_fields(b: &Build, j: &JobPlan) {
    let (path, doc) = flinkdeployment(b, j);
    let k8s = j.doc(DocKind::K8s).expect("K8s document");
    for (key, e) in &k8s.entries {
        if key == "podTemplate.secretVolumes" {
            let Value::List(secrets) = &e.value else {
                panic!("{path}: secretVolumes is not a list");
            };
            let volumes: Vec<&str> = at(&doc, "spec.podTemplate.spec.volumes")
                .and_then(Json::as_array)
                .map(|v| {
                    v.iter()
                        .filter_map(|v| at(v, "secret.secretName")?.as_str())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(volumes, *secrets, "{path}: secret volumes");
            continue;
        }
        if key == "serviceAccount.identity" {
            // The identity annotates the job's ServiceAccount, a file of its own.
            let sa_path = format!("jobs/{}/k8s/serviceaccount.yaml", j.name);
            let sa = yaml_k8s(&sa_path, b.file(&sa_path));
            assert_eq!(sa["kind"], "ServiceAccount", "{sa_path}");
            assert_eq!(
                sa["metadata"]["name"], doc["spec"]["serviceAccount"],
                "{sa_path}: the FlinkDeployment's service account"
            );
            let annotations: Vec<&Json> = sa["metadata"]["annotations"]
                .as_object()
                .map(|m| m.values().collect())
                .unwrap_or_default();
            assert!(
                annotations.iter().any(|v| same_value(v, &e.value)),
                "{sa_path}: {annotations:?}"
            );
            continue;
        }
        if key == "podTemplate.localVolume" {
            // `hostPath:<dir>` or `emptyDir`: the volume named flink-local, mounted in the
            // main container.
            let Value::Str(spec) = &e.value else {
                panic!("{path}: localVolume is not a string")
            };
            let volume = at(&doc, "spec.podTemplate.spec.volumes")
                .and_then(Json::as_array)
                .and_then(|v| v.iter().find(|v| v["name"] == "flink-local"))
                .unwrap_or_else(|| panic!("{path}: no flink-local volume"));
            match spec.split_once(':') {
                Some(("hostPath", dir)) => assert_eq!(volume["hostPath"]["path"], dir, "{path}"),
                _ => assert!(volume.get("emptyDir").is_some(), "{path}: {volume}"),
            }
            let mounts = at(&doc, "spec.podTemplate.spec.containers")
                .and_then(Json::as_array)
                .and_then(|c| c.first())
                .and_then(|c| c["volumeMounts"].as_array().cloned())
                .unwrap_or_default();
            assert!(
                mounts.iter().any(|m| m["name"] == "flink-local"),
                "{path}: flink-local not mounted"
            );
            continue;
        }
        let got = at(&doc, key).unwrap_or_else(|| panic!("{path}: plan sets {key}, file lacks it"));
        assert!(
            same_value(got, &e.value),
            "{path}: {key} is {got}, plan says {:?}",
            e.value
        );
    }
}

fn check_flinkdeployment_crd(b: &Build, j: &JobPlan, schema: &Json) {
    let (path, doc) = flinkdeployment(b, j);
    assert_eq!(doc["apiVersion"], "flink.apache.org/v1beta1", "{path}");
    assert_eq!(doc["kind"], "FlinkDeployment", "{path}");
    assert_valid(&path, schema, &doc);
    for (role, key) in [
        ("taskManager", "taskmanager.memory.process.size"),
        ("jobManager", "jobmanager.memory.process.size"),
    ] {
        let want = j
            .get(DocKind::Flink, key)
            .map(|e| plan_bytes(&e.value))
            .unwrap_or_else(|| panic!("{}: no {key} in the Flink document", j.name));
        let got = flink_bytes(str_at(&path, &doc, &format!("spec.{role}.resource.memory")));
        assert_eq!(got, want, "{path}: spec.{role}.resource.memory vs {key}");
    }
}

/// Strimzi refuses `spec.kafka.config` keys with these prefixes (it manages them itself)
/// unless the key is one of the exceptions (Kafka CRD description of Strimzi 0.45.1;
/// KafkaConfiguration.FORBIDDEN_PREFIXES in later releases).
const STRIMZI_FORBIDDEN: &[&str] = &[
    "listeners",
    "advertised.",
    "broker.",
    "listener.",
    "host.name",
    "port",
    "inter.broker.listener.name",
    "sasl.",
    "ssl.",
    "security.",
    "password.",
    "log.dir",
    "zookeeper.connect",
    "zookeeper.set.acl",
    "zookeeper.ssl",
    "zookeeper.clientCnxnSocket",
    "authorizer.",
    "super.user",
    "cruise.control.metrics.topic",
    "cruise.control.metrics.reporter.bootstrap.servers",
    "node.id",
    "process.roles",
    "controller.",
    "metadata.log.dir",
    "zookeeper.metadata.migration.enable",
    "client.quota.callback.static.",
    "prometheus.metrics.reporter.",
    "cordoned.log.dirs",
];

const STRIMZI_FORBIDDEN_EXCEPTIONS: &[&str] = &[
    "zookeeper.connection.timeout.ms",
    "sasl.server.max.receive.size",
    "ssl.cipher.suites",
    "ssl.protocol",
    "ssl.enabled.protocols",
    "ssl.secure.random.implementation",
    "cruise.control.metrics.topic.num.partitions",
    "cruise.control.metrics.topic.replication.factor",
    "cruise.control.metrics.topic.retention.ms",
    "cruise.control.metrics.topic.auto.create.retries",
    "cruise.control.metrics.topic.auto.create.timeout.ms",
    "cruise.control.metrics.topic.min.insync.replicas",
    "controller.quorum.election.backoff.max.ms",
    "controller.quorum.election.timeout.ms",
    "controller.quorum.fetch.timeout.ms",
];

fn strimzi_forbidden(key: &str) -> bool {
    STRIMZI_FORBIDDEN.iter().any(|p| key.starts_with(p))
        && !STRIMZI_FORBIDDEN_EXCEPTIONS.contains(&key)
}

/// Drop every `required` keyword (an array of names; a *property* called `required` would be an
/// object and is kept).
fn strip_required(v: &mut Json) {
    match v {
        Json::Object(m) => {
            if m.get("required").is_some_and(Json::is_array) {
                m.remove("required");
            }
            m.values_mut().for_each(strip_required);
        }
        Json::Array(a) => a.iter_mut().for_each(strip_required),
        _ => {}
    }
}

/// The served version `version` of a CRD: its openAPIV3Schema.
fn crd_schema(crd: &Json, version: &str) -> Json {
    let versions = at(crd, "spec.versions")
        .and_then(Json::as_array)
        .expect("CRD has spec.versions");
    let v = versions
        .iter()
        .find(|v| v["name"] == version && v["served"] == true)
        .unwrap_or_else(|| panic!("CRD serves no version {version}"));
    at(v, "schema.openAPIV3Schema")
        .cloned()
        .expect("version has schema.openAPIV3Schema")
}

/// The Strimzi fragment of every strimzi cluster. Returns the clusters checked; without
/// ../shared, the schema part is skipped and the content is still checked.
fn check_strimzi(b: &Build) -> Vec<String> {
    let mut checked = vec![];
    for c in &b.plan.clusters {
        if c.fact_str("deployment") != Some("strimzi") {
            continue;
        }
        let path = format!("clusters/{}/strimzi-kafka.yaml", c.name);
        let doc = yaml_k8s(&path, b.file(&path));
        assert_eq!(doc["kind"], "Kafka", "{path}");
        assert_eq!(str_at(&path, &doc, "metadata.name"), c.name, "{path}");
        let config =
            at(&doc, "spec.kafka.config").unwrap_or_else(|| panic!("{path}: no spec.kafka.config"));
        let got = flat(&path, config);
        assert_maps_eq(&path, &got, &broker_union(c));
        let forbidden: Vec<&String> = got.keys().filter(|k| strimzi_forbidden(k)).collect();
        assert!(
            forbidden.is_empty(),
            "{path}: Strimzi refuses these keys: {forbidden:?}"
        );

        let dv = c
            .fact_str("deployment-version")
            .expect("deployment-version");
        let api = str_at(&path, &doc, "apiVersion");
        let version = api
            .strip_prefix("kafka.strimzi.io/")
            .unwrap_or_else(|| panic!("{path}: apiVersion {api}"));
        if let Some(crd) = shared(&format!("schemas/crds/strimzi-{dv}-040-Crd-kafka.yaml")) {
            let crd = yaml_k8s("Strimzi Kafka CRD", &read(&crd));
            let mut schema = crd_schema(&crd, version);
            // The fragment is a merge patch of spec.kafka.config into an existing Kafka
            // resource, not a complete resource: listeners, storage etc. are rightly absent, so
            // the schema's `required` lists do not apply. Every type, enum and shape constraint
            // still does.
            strip_required(&mut schema);
            assert_valid(&path, &schema, &doc);
        }
        checked.push(c.name.clone());
    }
    checked
}

/// The chart's default for a top-level values key: the generated key must exist there, with the
/// same type (a map for `overrideConfiguration`, a string for `extraConfig`).
fn chart_default(version: &str, key: &str) -> Option<Json> {
    let path = shared(&format!(
        "schemas/charts/bitnami-kafka-{version}/values.yaml"
    ))?;
    let values = yaml_k8s(
        &format!("bitnami/kafka {version} values.yaml"),
        &read(&path),
    );
    Some(
        values
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("bitnami/kafka {version} has no top-level `{key}`")),
    )
}

/// The bitnami values of every bitnami cluster: chart 31.x takes `extraConfig` (a string
/// appended to server.properties), 32.x `overrideConfiguration` (a map). Returns the clusters
/// checked.
fn check_bitnami(b: &Build) -> Vec<String> {
    let mut checked = vec![];
    for c in &b.plan.clusters {
        if c.fact_str("deployment") != Some("bitnami") {
            continue;
        }
        let path = format!("clusters/{}/bitnami-values.yaml", c.name);
        let doc = yaml_k8s(&path, b.file(&path));
        let dv = c
            .fact_str("deployment-version")
            .expect("deployment-version");
        let (key, got) = if dv.starts_with("31.") {
            let text = doc["extraConfig"]
                .as_str()
                .unwrap_or_else(|| panic!("{path}: extraConfig is not a string"));
            (
                "extraConfig",
                properties(&format!("{path} extraConfig"), text),
            )
        } else {
            let map = &doc["overrideConfiguration"];
            // Strings only: Helm reads YAML numbers as float64, and a template that prints one
            // writes a large value such as 1296000000 as 1.296e+09.
            let not_strings: Vec<&String> = map
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(_, v)| !v.is_string())
                        .map(|(k, _)| k)
                        .collect()
                })
                .unwrap_or_default();
            assert!(
                not_strings.is_empty(),
                "{path}: values that are not strings: {not_strings:?}"
            );
            ("overrideConfiguration", flat(&path, map))
        };
        assert_eq!(top_level_keys(&doc), [key], "{path}: chart {dv}");
        assert_maps_eq(&format!("{path} {key}"), &got, &broker_union(c));
        if let Some(default) = chart_default(dv, key) {
            assert_eq!(
                default.is_string(),
                doc[key].is_string(),
                "{path}: chart {dv} has `{key}: {default}`, the values give {}",
                doc[key]
            );
        }
        checked.push(c.name.clone());
    }
    checked
}

/// tables.sql: one well-formed WITH block per table, with the plan's topic, client properties
/// and, for exactly-once sinks, the transactional settings. Returns the exactly-once sinks.
fn check_sql(b: &Build, j: &JobPlan) -> usize {
    let path = format!("jobs/{}/kafka/tables.sql", j.name);
    let blocks = with_blocks(b.file(&path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(
        blocks.len(),
        j.sources.len() + j.sinks.len(),
        "{path}: one WITH block per table"
    );
    let exactly_once = j.fact_str("delivery") == Some("exactly-once");
    let mut eo_sinks = 0;
    for block in &blocks {
        let what = format!("{path} {} `{}`", block.kind, block.name);
        let mut opts = BTreeMap::new();
        for (k, v) in &block.options {
            assert!(
                opts.insert(k.as_str(), v.as_str()).is_none(),
                "{what}: option '{k}' twice"
            );
        }
        let (tables, client) = if block.kind == "source" {
            (&j.sources, DocKind::Consumer)
        } else {
            (&j.sinks, DocKind::Producer)
        };
        let table = tables
            .iter()
            .find(|t| t.name == block.name)
            .unwrap_or_else(|| panic!("{what}: no such table in the plan"));
        assert_eq!(opts.get("connector"), Some(&"kafka"), "{what}");
        assert_eq!(opts.get("topic"), Some(&table.topic.as_str()), "{what}");
        // The Kafka client settings reach the connector as `properties.*`.
        for (k, v) in intended(j.doc(client), Value::kafka_text) {
            assert_eq!(
                opts.get(format!("properties.{k}").as_str()).copied(),
                Some(v.as_str()),
                "{what}: properties.{k}"
            );
        }
        if block.kind == "sink" && exactly_once {
            let prefix = j
                .get(
                    DocKind::Sink,
                    &format!("{}.transactional-id-prefix", table.name),
                )
                .map(|e| e.value.kafka_text())
                .unwrap_or_else(|| panic!("{what}: no transactional-id-prefix in the plan"));
            let timeout = j
                .get(DocKind::Producer, "transaction.timeout.ms")
                .map(|e| e.value.kafka_text())
                .unwrap_or_else(|| panic!("{what}: no producer transaction.timeout.ms"));
            assert_eq!(
                opts.get("sink.delivery-guarantee"),
                Some(&"exactly-once"),
                "{what}"
            );
            assert_eq!(
                opts.get("sink.transactional-id-prefix").copied(),
                Some(prefix.as_str()),
                "{what}"
            );
            assert_eq!(
                opts.get("properties.transaction.timeout.ms").copied(),
                Some(timeout.as_str()),
                "{what}"
            );
            eo_sinks += 1;
        }
    }
    eo_sinks
}

// ---------------------------------------------------------------------------------------------
// 1. .properties files
// ---------------------------------------------------------------------------------------------

#[test]
fn properties_files_read_back_as_the_plan() {
    let checked: usize = builds().iter().map(check_properties).sum();
    // 6 jobs × (producer, consumer, downstream, one sink) + 7 clusters × 2.
    assert!(checked >= 38, "only {checked} .properties files checked");
}

#[test]
fn cluster_properties_split_without_overlap() {
    let checked: usize = builds().iter().map(check_cluster_split).sum();
    assert!(checked >= 7, "only {checked} clusters checked");
}

// ---------------------------------------------------------------------------------------------
// 2. Flink configuration
// ---------------------------------------------------------------------------------------------

#[test]
fn flink_config_files_read_back_as_the_plan() {
    let mut formats = BTreeSet::new();
    for b in builds() {
        for j in &b.plan.jobs {
            check_flink_config(b, j);
            formats.insert(j.config_file.as_str());
        }
    }
    assert_eq!(formats, BTreeSet::from(["config.yaml", "flink-conf.yaml"]));
}

#[test]
fn flinkdeployment_flink_configuration_reads_back_as_the_plan() {
    for b in builds() {
        for j in &b.plan.jobs {
            check_flink_configuration(b, j);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. FlinkDeployment
// ---------------------------------------------------------------------------------------------

#[test]
fn flinkdeployment_validates_against_the_operator_crd() {
    let Some(schema) = flinkdeployment_schema() else {
        return;
    };
    let mut checked = 0;
    for b in builds() {
        for j in &b.plan.jobs {
            check_flinkdeployment_crd(b, j, schema);
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} FlinkDeployments checked");
}

#[test]
fn flinkdeployment_fields_match_the_plan() {
    for b in builds() {
        for j in &b.plan.jobs {
            check_flinkdeployment_fields(b, j);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Strimzi
// ---------------------------------------------------------------------------------------------

#[test]
fn strimzi_fragment_validates_against_the_strimzi_crd() {
    let checked: BTreeSet<String> = builds().iter().flat_map(check_strimzi).collect();
    // 0.45.1 (kafka.strimzi.io/v1beta2) and 1.2.0 (kafka.strimzi.io/v1).
    for c in ["main", "dev", "payments", "next"] {
        assert!(checked.contains(c), "Strimzi cluster `{c}` not checked");
    }
    let next = find_cluster("next");
    let doc = yaml_k8s("next", next.file("clusters/next/strimzi-kafka.yaml"));
    assert_eq!(doc["apiVersion"], "kafka.strimzi.io/v1");
}

#[test]
fn strimzi_forbidden_prefixes_are_recognised() {
    assert!(strimzi_forbidden("listeners"));
    assert!(strimzi_forbidden("ssl.keystore.location"));
    assert!(strimzi_forbidden("controller.quorum.voters"));
    assert!(!strimzi_forbidden("ssl.cipher.suites"));
    assert!(!strimzi_forbidden("min.insync.replicas"));
}

// ---------------------------------------------------------------------------------------------
// 5. bitnami/kafka values
// ---------------------------------------------------------------------------------------------

#[test]
fn bitnami_32_override_configuration_is_the_broker_map() {
    let b = find_cluster("events");
    let dv = b.cluster("events").fact_str("deployment-version");
    assert_eq!(dv, Some("32.4.4"));
    assert_eq!(check_bitnami(b), ["events"]);
}

#[test]
fn bitnami_31_extra_config_is_a_properties_string() {
    let b = find_cluster("old-bitnami");
    let dv = b.cluster("old-bitnami").fact_str("deployment-version");
    assert_eq!(dv, Some("31.4.1"));
    assert_eq!(check_bitnami(b), ["old-bitnami"]);
}

// ---------------------------------------------------------------------------------------------
// 6. tables.sql
// ---------------------------------------------------------------------------------------------

#[test]
fn sql_with_options_match_the_plan() {
    let mut eo_sinks = 0;
    for b in builds() {
        for j in &b.plan.jobs {
            eo_sinks += check_sql(b, j);
        }
    }
    assert!(eo_sinks >= 4, "only {eo_sinks} exactly-once sinks checked");
}

// ---------------------------------------------------------------------------------------------
// Values that need escaping
// ---------------------------------------------------------------------------------------------

/// Readers that do not guess types: .properties, flink-conf.yaml, Flink's YAML 1.2 config.yaml,
/// SQL string literals, and the CRD (flinkConfiguration is free-form there).
#[test]
fn escaped_values_read_back_exactly() {
    let b = escapes();
    assert!(check_properties(b) >= 8);
    assert_eq!(check_cluster_split(b), 2);
    for j in &b.plan.jobs {
        check_flink_config(b, j);
        check_flinkdeployment_fields(b, j);
        check_sql(b, j);
        if let Some(schema) = flinkdeployment_schema() {
            check_flinkdeployment_crd(b, j, schema);
        }
    }
}

/// kubectl, Helm and Argo CD read YAML with go-yaml v2 (via sigs.k8s.io/yaml), where a plain
/// `y`/`Y`/`n`/`N` is a boolean. A string value `y` written plain reaches the operator, Strimzi
/// or the chart as `true`.
#[test]
fn kubernetes_yaml_keeps_strings_that_yaml_1_1_reads_as_booleans() {
    let b = escapes();
    // Each output on its own, so that the failure lists every file that is affected.
    type Check = fn(&Build);
    let parts: [(&str, Check); 3] = [
        ("FlinkDeployment", |b| {
            b.plan
                .jobs
                .iter()
                .for_each(|j| check_flink_configuration(b, j));
        }),
        ("strimzi-kafka.yaml", |b| {
            assert_eq!(check_strimzi(b), ["esc-strimzi"]);
        }),
        ("bitnami-values.yaml", |b| {
            assert_eq!(check_bitnami(b), ["esc-bitnami"]);
        }),
    ];
    let failed: Vec<&str> = parts
        .iter()
        .filter(|(_, check)| std::panic::catch_unwind(|| check(b)).is_err())
        .map(|(name, _)| *name)
        .collect();
    assert!(failed.is_empty(), "wrong values read back from: {failed:?}");
}

// ---------------------------------------------------------------------------------------------
// The readers and helpers themselves: they must reject what their real counterparts reject.
// ---------------------------------------------------------------------------------------------

#[test]
fn sql_reader_reads_quotes_and_rejects_trailing_commas() {
    let ok = "-- sink `s` (topic t)\nWITH (\n  'a' = 'it''s',\n  'b' = 'x;)'\n);\n";
    let blocks = with_blocks(ok).expect("valid");
    assert_eq!(
        (blocks[0].kind.as_str(), blocks[0].name.as_str()),
        ("sink", "s")
    );
    assert_eq!(
        blocks[0].options,
        [("a".into(), "it's".into()), ("b".into(), "x;)".into())]
    );
    let trailing = "-- source `s` (topic t)\nWITH (\n  'a' = 'b',\n);\n";
    assert!(
        with_blocks(trailing)
            .unwrap_err()
            .contains("trailing comma")
    );
    assert!(with_blocks("-- source `s`\nWITH ('a' = 'b)\n);").is_err());
}

#[test]
fn legacy_reader_behaves_like_flink() {
    let m = flink_legacy("# c\na.b: x # note\nc:  s3://y/z \n\n").expect("valid");
    assert_eq!(m["a.b"], "x");
    assert_eq!(m["c"], "s3://y/z");
    // A `#` inside a value cuts it; a line without `: ` is lost.
    assert_eq!(flink_legacy("k: a#b").expect("valid")["k"], "a");
    assert!(flink_legacy("k:v").is_err());
    assert!(flink_legacy("k: a\nk: b").is_err());
}

#[test]
fn yaml_readers_resolve_booleans_like_their_consumers() {
    assert_eq!(yaml_k8s("t", "a: y")["a"], true);
    assert_eq!(yaml_k8s("t", "a: \"y\"")["a"], "y");
    assert_eq!(yaml_flink("t", "a: y")["a"], "y");
    assert_eq!(yaml_flink("t", "a: true")["a"], true);
}

#[test]
fn dotted_prefix_check_catches_nesting_conflicts() {
    let r = std::panic::catch_unwind(|| {
        assert_no_dotted_prefix("t", ["a.b".to_string(), "a.b.c".to_string()]);
    });
    assert!(r.is_err());
    assert_no_dotted_prefix(
        "t",
        ["a.b".to_string(), "a.bc".to_string(), "a.b-c".to_string()],
    );
}

#[test]
fn shared_finds_the_upstream_schemas() {
    // Missing: None outside CI (a panic under CI=true, which this test cannot exercise).
    if std::env::var("CI").as_deref() != Ok("true") {
        assert!(shared("no/such/file.yaml").is_none());
    }
    if crate_root().join("../shared").exists() {
        assert!(shared("schemas/README.md").is_some());
    }
}

/// Multi-document YAML: every `---`-separated document that is not empty.
fn yaml_documents(what: &str, text: &str) -> Vec<Json> {
    text.split("\n---\n")
        .map(|d| d.trim_start_matches("---\n"))
        .filter(|d| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .map(|d| yaml_k8s(what, d))
        .collect()
}

/// KafkaTopic and KafkaUser resources of every job on a Strimzi cluster validate against the
/// Strimzi CRDs of that version, and the user's ACLs grant exactly what the job's clients use:
/// its source topics and group, its sink topics, and its transactional-id prefix.
#[test]
fn strimzi_topics_and_users_validate_and_match_the_plan() {
    let mut checked = 0;
    for b in builds() {
        for j in &b.plan.jobs {
            let Some(c) = b.plan.cluster(&j.cluster) else {
                continue;
            };
            if c.fact_str("deployment") != Some("strimzi") {
                continue;
            }
            let dv = c
                .fact_str("deployment-version")
                .expect("deployment-version");
            let user_path = format!("jobs/{}/kafka/strimzi-kafkauser.yaml", j.name);
            let user = yaml_k8s(&user_path, b.file(&user_path));
            let version = str_at(&user_path, &user, "apiVersion")
                .trim_start_matches("kafka.strimzi.io/")
                .to_string();
            if let Some(crd) = shared(&format!("schemas/crds/strimzi-{dv}-044-Crd-kafkauser.yaml"))
            {
                let crd = yaml_k8s("Strimzi KafkaUser CRD", &read(&crd));
                assert_valid(&user_path, &crd_schema(&crd, &version), &user);
            }
            assert_eq!(
                user["metadata"]["labels"]["strimzi.io/cluster"],
                c.name.as_str(),
                "{user_path}"
            );
            let acls = at(&user, "spec.authorization.acls")
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default();
            let grants = |kind: &str, name: &str, pattern: &str| -> Vec<String> {
                acls.iter()
                    .filter(|a| {
                        a["resource"]["type"] == kind
                            && a["resource"]["name"] == name
                            && a["resource"]["patternType"] == pattern
                    })
                    .flat_map(|a| a["operations"].as_array().cloned().unwrap_or_default())
                    .filter_map(|o| o.as_str().map(str::to_string))
                    .collect()
            };
            for t in &j.sources {
                assert!(
                    grants("topic", &t.topic, "literal").contains(&"Read".to_string()),
                    "{user_path}: no Read on {}",
                    t.topic
                );
            }
            if let Some(g) = j.get(DocKind::Consumer, "group.id") {
                assert!(
                    grants("group", &g.value.kafka_text(), "literal").contains(&"Read".to_string()),
                    "{user_path}: group"
                );
            }
            for t in &j.sinks {
                assert!(
                    grants("topic", &t.topic, "literal").contains(&"Write".to_string()),
                    "{user_path}: no Write on {}",
                    t.topic
                );
                if let Some(p) = j.get(
                    DocKind::Sink,
                    &format!("{}.transactional-id-prefix", t.name),
                ) {
                    let ops = grants("transactionalId", &p.value.kafka_text(), "prefix");
                    assert!(
                        ops.contains(&"Write".to_string()) && ops.contains(&"Describe".to_string()),
                        "{user_path}: prefix grant {ops:?}"
                    );
                }
            }
            if !j.sinks.is_empty() {
                let topics_path = format!("jobs/{}/kafka/strimzi-kafkatopics.yaml", j.name);
                let docs = yaml_documents(&topics_path, b.file(&topics_path));
                assert_eq!(
                    docs.len(),
                    j.sinks.len(),
                    "{topics_path}: one KafkaTopic per sink"
                );
                for (doc, t) in docs.iter().zip(&j.sinks) {
                    assert_eq!(str_at(&topics_path, doc, "spec.topicName"), t.topic);
                    if let Some(p) = t.partitions {
                        assert_eq!(
                            at(doc, "spec.partitions").and_then(Json::as_u64),
                            Some(u64::from(p))
                        );
                    }
                    if let Some(crd) = shared(&format!(
                        "schemas/crds/strimzi-{dv}-043-Crd-kafkatopic.yaml"
                    )) {
                        let crd = yaml_k8s("Strimzi KafkaTopic CRD", &read(&crd));
                        assert_valid(&topics_path, &crd_schema(&crd, &version), doc);
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 3,
        "expected the Strimzi examples to be checked, got {checked}"
    );
}
