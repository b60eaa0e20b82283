//! flinkgen's Kafka client properties against Kafka's own Java client.
//!
//! Every `kafka/producer.properties`, `kafka/consumer.properties` and
//! `kafka/downstream-consumer.properties` that flinkgen renders — for every example and for
//! seeded random job profiles — is handed to tests/kafka-harness/ClientConfigHarness.java, which
//! loads it with `java.util.Properties.load` and builds Kafka's `ProducerConfig` /
//! `ConsumerConfig` and then a `KafkaProducer` / `KafkaConsumer` from it (network-free; see the
//! harness's header). The client must accept each file, and every key's effective value must
//! equal the value in flinkgen's plan (`Value::kafka_text()`), with these documented exceptions:
//!
//! * Config providers: `${dir:<path>:<key>}` resolves to the synthetic secret this test writes
//!   where the job's FlinkDeployment mounts that Secret (`<mountPath>/<key>`, under a temp root
//!   the harness substitutes for `/`), and `${env:VAR}` to the synthetic value this test gives
//!   the harness JVM's environment. A placeholder pointing anywhere else is a failure.
//! * Kafka's own normalisation: `acks=all` is `-1` after parsing (ProducerConfig.parseAcks),
//!   booleans are case-insensitive, list values (`bootstrap.servers`) are split at commas and
//!   trimmed, and non-password values are trimmed (ConfigDef.parseType).
//! * `config.providers` and `config.providers.<name>.class` are read by AbstractConfig itself,
//!   not defined by the client's ConfigDef; their original value is compared, and the resolved
//!   placeholders prove they took effect. Any other key the client does not define fails.
//!
//! For an exactly-once job, the producer properties are also checked the way KafkaSink uses
//! them: with `transactional.id=<transactional-id-prefix>-0-1` added, as the connector's
//! FlinkKafkaInternalProducer does before it constructs its KafkaProducer.
//!
//! A second generator adds producer overrides that may clash (acks, retries, idempotence,
//! in-flight requests, delivery.timeout.ms against linger.ms + request.timeout.ms) to profiles
//! on connector 4.0.1, whose client is exactly the one here: the client must refuse a job's
//! producer properties exactly when flinkgen reports FG106 or FG113 for the job. The negative
//! controls show that the harness and the comparison can fail. The `fg106_…`, `fg113_…` and
//! `one_sided_…` tests pin down generator bugs this harness found (and that are fixed).
//!
//! The client is kafka-clients 3.9.1 (what Flink Kafka connector 4.0.1 ships), from PyPI's
//! shigawire-apache-flink-libraries, fetched by `scripts/kafka-jars.sh` into
//! `${FLINKGEN_CACHE:-~/.cache/flinkgen}/kafka-clients`. It stands in for the 3.4.0 client of
//! connector 3.x and the 4.2.0 client of connector 5.0: the acceptance of version-specific rules
//! (e.g. Kafka 4's refusal of more than 5 in-flight requests without explicit idempotence) is
//! only proven for 3.9.1. Needs `java` and `javac` (17); without them or the jars the tests are
//! skipped, except under `CI=true`, where they fail.

mod common;

use common::rng::Rng;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Instant;

use common::jvm::{self, Harness, unescape};

use flinkgen::app::{Compiled, Options, compile};
use flinkgen::diag::Severity;
use flinkgen::plan::{DocKind, JobPlan};
use flinkgen::render::{Unit, environment, render_plan};

/// Generated profiles to render (at least MIN_PROFILES must compile).
const PROFILES: usize = 240;
const MIN_PROFILES: usize = 200;
/// Profiles with conflicting producer overrides (FG106/FG113 against the client).
const CONFLICT_PROFILES: usize = 120;
const MIN_CONFLICT_PROFILES: usize = 100;
/// Profiles of jobs with only sources or only sinks.
const ONE_SIDED_PROFILES: usize = 60;
const SEED: u64 = 0x6b61_666b_6163_6c31;

/// The environment variables generated profiles may reference, with the synthetic values the
/// harness JVM gets.
const ENV_VARS: &[&str] = &[
    "KAFKA_USER",
    "KAFKA_PASSWORD",
    "SASL_USERNAME",
    "SASL_PASSWORD_2",
];

fn env_value(var: &str) -> String {
    format!("env-{}-value", var.to_ascii_lowercase())
}

// ---------------------------------------------------------------------------------------------
// Prerequisites and the harness JVM
// ---------------------------------------------------------------------------------------------

/// The client jars, or why they are not usable.
fn client_jars() -> Result<Vec<PathBuf>, String> {
    let dir = jvm::cache_dir().join("kafka-clients");
    let jars: Vec<PathBuf> = [
        "kafka-clients.jar",
        "slf4j-api.jar",
        "lz4-java.jar",
        "snappy-java.jar",
        "zstd-jni.jar",
    ]
    .iter()
    .map(|j| dir.join(j))
    .collect();
    if jars.iter().all(|j| j.is_file()) {
        Ok(jars)
    } else {
        Err(format!(
            "the kafka-clients jars are missing from {}",
            dir.display()
        ))
    }
}

/// The jars, or `None` to skip (outside CI). Under CI=true a missing prerequisite fails.
fn prerequisites(test: &str) -> Option<Vec<PathBuf>> {
    jvm::require(
        &format!("Kafka client check `{test}`"),
        jvm::jdk().and_then(|()| client_jars()),
        ": run `bash scripts/kafka-jars.sh`",
    )
}

/// Compile the harness into target/kafka-harness once per test process (the tests run as
/// threads of one process).
fn harness_classes(jars: &[PathBuf]) -> PathBuf {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES
        .get_or_init(|| {
            let classes = jvm::target_dir("kafka-harness").join("classes");
            jvm::compile_harness(
                "tests/kafka-harness/ClientConfigHarness.java",
                jars,
                &classes,
                "the kafka-clients jars",
            );
            classes
        })
        .clone()
}

/// One field of an OK answer.
#[derive(Debug, Clone)]
struct Effective {
    value: String,
    /// The client's ConfigDef does not define the key (`?key=` in the answer).
    undefined: bool,
}

#[derive(Debug)]
enum Reply {
    Ok {
        values: BTreeMap<String, Effective>,
        notes: Vec<String>,
    },
    Err(String),
}

/// Start the JVM. `secret_root` is where the synthetic secret files go.
fn start_harness(jars: &[PathBuf], secret_root: &Path) -> Harness {
    let classes = harness_classes(jars);
    let mut cp = vec![classes];
    cp.extend(jars.iter().cloned());
    let mut cmd = jvm::java(&cp, "ClientConfigHarness", &[]);
    cmd.arg("--secret-root")
        .arg(secret_root)
        // Every secret this test hands over is synthetic: show resolved passwords so that
        // the resolution of the placeholders can be compared.
        .arg("--reveal-passwords");
    for var in ENV_VARS {
        cmd.env(var, env_value(var));
    }
    Harness::spawn("the Kafka client harness", cmd)
}

/// `kafka-clients <version> (commit <id>)`.
fn client_version(h: &mut Harness) -> String {
    let line = h.request("VERSION");
    let fields: BTreeMap<&str, &str> = line
        .split('\t')
        .skip(1)
        .filter_map(|f| f.split_once('='))
        .collect();
    match (line.starts_with("OK\t"), fields.get("kafka-clients")) {
        (true, Some(v)) => format!(
            "kafka-clients {v} (commit {})",
            fields.get("commit").unwrap_or(&"?")
        ),
        _ => h.died(&format!("answered VERSION with `{line}`")),
    }
}

/// `kind` is PRODUCER or CONSUMER.
fn ask(h: &mut Harness, kind: &str, file: &Path) -> Reply {
    match h.answer(&format!("{kind} {}", file.display())) {
        Ok(rest) => {
            let mut values = BTreeMap::new();
            let mut notes = vec![];
            for field in rest.split('\t').filter(|f| !f.is_empty()) {
                if field.starts_with('#') {
                    notes.push(unescape(field));
                    continue;
                }
                let (undefined, field) = match field.strip_prefix('?') {
                    Some(f) => (true, f),
                    None => (false, field),
                };
                let Some((k, v)) = field.split_once('=') else {
                    h.died(&format!("answered a field without `=`: `{field}`"));
                };
                values.insert(
                    unescape(k),
                    Effective {
                        value: unescape(v),
                        undefined,
                    },
                );
            }
            Reply::Ok { values, notes }
        }
        Err(rest) => Reply::Err(unescape(&rest)),
    }
}

// ---------------------------------------------------------------------------------------------
// Synthetic secrets
// ---------------------------------------------------------------------------------------------

/// The secret files this test wrote under the harness's secret root, by (directory as the
/// pods see it, key) → content.
struct Secrets {
    root: PathBuf,
    written: BTreeMap<(String, String), String>,
}

impl Secrets {
    fn new(root: &Path) -> Secrets {
        Secrets {
            root: root.to_path_buf(),
            written: BTreeMap::new(),
        }
    }

    /// Remove every secret file: each job sees only its own Secrets.
    fn clear(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
        self.written.clear();
    }

    /// Write Secret `secret`'s `key` where the FlinkDeployment mounts it.
    fn mount(&mut self, mount_path: &str, secret: &str, key: &str) {
        let content = format!("synthetic-{secret}-{key}");
        let dir = self.root.join(mount_path.trim_start_matches('/'));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let file = dir.join(key);
        std::fs::write(&file, &content).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
        self.written
            .insert((mount_path.to_string(), key.to_string()), content);
    }
}

/// The (Secret, key) pairs a profile text (KDL) references, in order: `secret="…" key="…"`,
/// then the `${dir:/opt/flink/secrets/<secret>:<key>}` references of its overrides.
fn secret_refs(profile: &str) -> Vec<(String, String)> {
    let mut out = security_secret_refs(profile);
    let mut rest = profile;
    while let Some(at) = rest.find("${dir:/opt/flink/secrets/") {
        rest = &rest[at + "${dir:/opt/flink/secrets/".len()..];
        if let Some((secret_key, _)) = rest.split_once('}')
            && let Some((secret, key)) = secret_key.split_once(':')
        {
            out.push((secret.to_string(), key.to_string()));
        }
    }
    out
}

/// `secret="…" key="…"` pairs of a profile text (KDL), in order.
fn security_secret_refs(profile: &str) -> Vec<(String, String)> {
    fn quoted_after<'a>(s: &'a str, attr: &str) -> Option<(&'a str, &'a str)> {
        let at = s.find(attr)?;
        let rest = &s[at + attr.len()..];
        let end = rest.find('"')?;
        Some((&rest[..end], &rest[end..]))
    }
    let mut out = vec![];
    for line in profile.lines() {
        let mut rest = line;
        while let Some((secret, after)) = quoted_after(rest, "secret=\"") {
            let Some((key, after_key)) = quoted_after(after, "key=\"") else {
                break;
            };
            out.push((secret.to_string(), key.to_string()));
            rest = after_key;
        }
    }
    out
}

/// Secret name → mount path, from a rendered FlinkDeployment.
fn secret_mounts(deployment: &str) -> BTreeMap<String, String> {
    let doc: serde_json::Value = serde_saphyr::from_str(deployment)
        .unwrap_or_else(|e| panic!("flinkdeployment.yaml is not YAML: {e}\n{deployment}"));
    let spec = &doc["spec"]["podTemplate"]["spec"];
    let mut volume_secret = BTreeMap::new();
    for v in spec["volumes"].as_array().into_iter().flatten() {
        if let (Some(name), Some(secret)) = (v["name"].as_str(), v["secret"]["secretName"].as_str())
        {
            volume_secret.insert(name.to_string(), secret.to_string());
        }
    }
    let mut out = BTreeMap::new();
    for c in spec["containers"].as_array().into_iter().flatten() {
        for m in c["volumeMounts"].as_array().into_iter().flatten() {
            if let (Some(name), Some(path)) = (m["name"].as_str(), m["mountPath"].as_str())
                && let Some(secret) = volume_secret.get(name)
            {
                out.insert(secret.clone(), path.to_string());
            }
        }
    }
    out
}

/// Replace config-provider placeholders by what the client must resolve them to.
fn resolve_placeholders(
    value: &str,
    secrets: &Secrets,
    stats: &mut Stats,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = &rest[start + 2..start + len];
        let placeholder = &rest[start..=start + len];
        let resolved = match inner.split_once(':') {
            Some(("dir", path_key)) => {
                let (path, key) = path_key
                    .rsplit_once(':')
                    .ok_or_else(|| format!("`{placeholder}` has no key"))?;
                secrets
                    .written
                    .get(&(path.to_string(), key.to_string()))
                    .cloned()
                    .ok_or_else(|| {
                        format!(
                            "`{placeholder}` reads {path}/{key}, where the FlinkDeployment mounts no Secret with that key"
                        )
                    })?
            }
            Some(("env", var)) => {
                if ENV_VARS.contains(&var) {
                    env_value(var)
                } else {
                    return Err(format!(
                        "`{placeholder}` reads an environment variable the profile did not reference"
                    ));
                }
            }
            _ => return Err(format!("`{placeholder}`: unexpected config provider")),
        };
        stats.placeholders += 1;
        out.push_str(&resolved);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Comparing effective values with the plan
// ---------------------------------------------------------------------------------------------

const PASSWORD_KEYS: &[&str] = &[
    "sasl.jaas.config",
    "ssl.key.password",
    "ssl.keystore.password",
    "ssl.truststore.password",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.truststore.certificates",
];
const LIST_KEYS: &[&str] = &[
    "bootstrap.servers",
    "ssl.enabled.protocols",
    "ssl.cipher.suites",
    "metric.reporters",
    "interceptor.classes",
    "partition.assignment.strategy",
];

/// Kafka's own normalisation of a value (see the module docs).
fn canonical(key: &str, value: &str) -> String {
    if PASSWORD_KEYS.contains(&key) {
        return value.to_string();
    }
    let v = value.trim();
    if key == "acks" && v.eq_ignore_ascii_case("all") {
        return "-1".into();
    }
    if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        return v.to_ascii_lowercase();
    }
    if LIST_KEYS.contains(&key) {
        return v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(",");
    }
    v.to_string()
}

/// Keys AbstractConfig reads itself (config providers), which no ConfigDef defines.
fn provider_key(key: &str) -> bool {
    key == "config.providers"
        || key
            .strip_prefix("config.providers.")
            .is_some_and(|rest| rest.ends_with(".class") || rest.contains(".param."))
}

/// What is wrong with the client's effective values against the intended ones.
fn differences(
    intended: &BTreeMap<String, String>,
    values: &BTreeMap<String, Effective>,
    secrets: &Secrets,
    stats: &mut Stats,
) -> Vec<String> {
    let mut problems = vec![];
    for k in values.keys().filter(|k| !intended.contains_key(*k)) {
        problems.push(format!("`{k}` is in the file but not in the plan"));
    }
    for (k, want_raw) in intended {
        let Some(got) = values.get(k) else {
            problems.push(format!(
                "`{k}` is in the plan but the client did not read it from the file"
            ));
            continue;
        };
        if got.undefined {
            if provider_key(k) {
                stats.provider_keys += 1;
            } else {
                problems.push(format!(
                    "`{k}` is not a config the client defines (ignored, value `{}`)",
                    got.value
                ));
                continue;
            }
        }
        let want = match resolve_placeholders(want_raw, secrets, stats) {
            Ok(w) => w,
            Err(e) => {
                problems.push(format!("`{k}`: {e}"));
                continue;
            }
        };
        stats.keys += 1;
        if canonical(k, &want) != canonical(k, &got.value) {
            problems.push(format!(
                "`{k}`: the client's effective value is `{}`, the plan's is `{want_raw}`{}",
                got.value,
                if want == *want_raw {
                    String::new()
                } else {
                    format!(" (resolved: `{want}`)")
                }
            ));
        }
    }
    problems
}

#[derive(Default)]
struct Stats {
    files: usize,
    transactional: usize,
    keys: usize,
    placeholders: usize,
    provider_keys: usize,
    loopback: usize,
    client_err: usize,
    /// Seconds spent waiting for the client's answers.
    client_time: f64,
}

/// One file checked against the client: the request kind, a label and the plan's values.
struct Checked {
    label: String,
    reply: Reply,
    problems: Vec<String>,
}

fn ask_and_compare(
    h: &mut Harness,
    kind: &str,
    label: String,
    path: &Path,
    intended: &BTreeMap<String, String>,
    secrets: &Secrets,
    stats: &mut Stats,
) -> Checked {
    let asked = Instant::now();
    let reply = ask(h, kind, path);
    stats.client_time += asked.elapsed().as_secs_f64();
    stats.files += 1;
    let problems = match &reply {
        Reply::Ok { values, notes } => {
            stats.loopback += notes.iter().filter(|n| n.starts_with("#loopback=")).count();
            differences(intended, values, secrets, stats)
        }
        Reply::Err(e) => {
            stats.client_err += 1;
            vec![format!("Kafka's client rejects it: {e}")]
        }
    };
    Checked {
        label,
        reply,
        problems,
    }
}

const KAFKA_FILES: [(DocKind, &str, &str); 3] = [
    (DocKind::Producer, "producer.properties", "PRODUCER"),
    (DocKind::Consumer, "consumer.properties", "CONSUMER"),
    (
        DocKind::Downstream,
        "downstream-consumer.properties",
        "CONSUMER",
    ),
];

/// Check every Kafka client file of one job. Returns each file's outcome.
fn check_job(
    h: &mut Harness,
    secrets: &mut Secrets,
    work: &Path,
    profile: &str,
    job: &JobPlan,
    units: &[Unit],
    stats: &mut Stats,
) -> Vec<Checked> {
    let file_of = |rel: &str| {
        let path = format!("jobs/{}/{rel}", job.name);
        units
            .iter()
            .flat_map(|u| &u.files)
            .find(|f| f.path == path)
            .map(|f| f.contents.clone())
    };
    // The job's Secrets (and no other job's), where its FlinkDeployment mounts them.
    secrets.clear();
    let mounts = file_of("k8s/flinkdeployment.yaml")
        .map(|d| secret_mounts(&d))
        .unwrap_or_default();
    for (secret, key) in secret_refs(profile) {
        if let Some(path) = mounts.get(&secret) {
            secrets.mount(path, &secret, &key);
        }
    }
    let dir = work.join(format!("job-{}", job.name));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let mut out = vec![];
    for (kind, name, request) in KAFKA_FILES {
        let Some(doc) = job.doc(kind).filter(|d| !d.entries.is_empty()) else {
            assert!(
                file_of(&format!("kafka/{name}")).is_none(),
                "job {}: kafka/{name} is rendered but the plan has no {kind:?} document",
                job.name
            );
            continue;
        };
        let intended: BTreeMap<String, String> = doc
            .sorted()
            .into_iter()
            .map(|(k, e)| (k.clone(), e.value.kafka_text()))
            .collect();
        let Some(contents) = file_of(&format!("kafka/{name}")) else {
            out.push(Checked {
                label: format!("job {}: kafka/{name}", job.name),
                reply: Reply::Err("not rendered".into()),
                problems: vec![format!(
                    "the plan has a {kind:?} document, but kafka/{name} is not rendered"
                )],
            });
            continue;
        };
        let path = dir.join(name);
        std::fs::write(&path, &contents)
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        out.push(ask_and_compare(
            h,
            request,
            format!("job {}: kafka/{name}", job.name),
            &path,
            &intended,
            secrets,
            stats,
        ));
        if kind != DocKind::Producer {
            continue;
        }
        // As KafkaSink's exactly-once writer uses it: plus a transactional.id per sink.
        let prefixes: Vec<String> = job
            .doc(DocKind::Sink)
            .map(|d| {
                d.sorted()
                    .into_iter()
                    .filter(|(k, _)| k.ends_with(".transactional-id-prefix"))
                    .map(|(_, e)| e.value.kafka_text())
                    .collect()
            })
            .unwrap_or_default();
        for (n, prefix) in prefixes.iter().enumerate() {
            let txid = format!("{prefix}-0-1");
            let path = dir.join(format!("producer-transactional-{n}.properties"));
            std::fs::write(&path, format!("{contents}\ntransactional.id={txid}\n"))
                .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            let mut with_id = intended.clone();
            with_id.insert("transactional.id".into(), txid.clone());
            stats.transactional += 1;
            out.push(ask_and_compare(
                h,
                request,
                format!(
                    "job {}: kafka/{name} + transactional.id={txid} (as KafkaSink uses it)",
                    job.name
                ),
                &path,
                &with_id,
                secrets,
                stats,
            ));
        }
    }
    out
}

fn render(c: &Compiled) -> Result<Vec<Unit>, String> {
    let env = environment(None).unwrap_or_else(|d| panic!("{}", d.message));
    render_plan(&c.plan, &env).map_err(|e| {
        e.iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// A failure with its numbers and host names blanked, to count failures by kind.
fn failure_kind(checked: &Checked) -> String {
    let file = checked
        .label
        .split_once(": ")
        .map_or(checked.label.as_str(), |(_, f)| f);
    let text = format!("{file}: {}", checked.problems.join("; "));
    let mut out = String::with_capacity(text.len());
    let mut digits = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !digits {
                out.push('N');
            }
            digits = true;
        } else {
            digits = false;
            out.push(c);
        }
    }
    out
}

fn kinds_report(kinds: &BTreeMap<String, usize>) -> String {
    let mut v: Vec<(&String, &usize)> = kinds.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(k, n)| format!("  {n:>4} × {k}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn failure_report(checked: &Checked, profile: &str, dir_hint: &str) -> String {
    let mut r = format!("{}{dir_hint}:\n", checked.label);
    for p in &checked.problems {
        let _ = writeln!(r, "    {p}");
    }
    if !profile.is_empty() {
        let _ = writeln!(
            r,
            "  profile:\n    {}",
            profile.trim_end().replace('\n', "\n    ")
        );
    }
    r
}

// ---------------------------------------------------------------------------------------------
// Profile generator
// ---------------------------------------------------------------------------------------------

/// (Flink minor, Kafka connector) pairs the connector was released for.
const COMBOS: &[(&str, &str)] = &[("1.20", "3.4.0"), ("2.0", "4.0.1"), ("2.2", "5.0.0")];
const KAFKA_VERSIONS: &[&str] = &[
    "2.8", "3.0", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "3.9", "4.0", "4.1",
    "4.2",
];
const INSTANCES: &[&str] = &[
    "m6gd.2xlarge",
    "m6gd.4xlarge",
    "r6gd.4xlarge",
    "i4i.4xlarge",
    "n2-highmem-16",
    "Standard_E16ds_v5",
    "m6gd.8xlarge",
    "Standard_D16ds_v5",
];
const SECRET_KEYS: &[&str] = &[
    "username",
    "password",
    "user",
    "pass.word",
    "SASL_PASSWORD",
    "api-key",
    "sasl_user",
];

/// A number as KDL: sometimes an integer, sometimes a string.
fn kdl_number(rng: &mut Rng, n: i64) -> String {
    if rng.percent(50) {
        n.to_string()
    } else {
        format!("\"{n}\"")
    }
}

/// A number in [lo, hi] as KDL.
fn num_in(rng: &mut Rng, lo: u64, hi: u64) -> String {
    let n = rng.range(lo, hi) as i64;
    kdl_number(rng, n)
}

fn kdl_bool(rng: &mut Rng, b: bool) -> String {
    match rng.below(3) {
        0 => format!("#{b}"),
        _ => format!("\"{b}\""),
    }
}

/// A producer override with a value Kafka accepts whatever else is set.
fn producer_override(rng: &mut Rng, i: usize) -> (String, String) {
    let (k, v) = match rng.below(17) {
        0 => ("linger.ms", num_in(rng, 0, 500)),
        1 => (
            "compression.type",
            format!(
                "\"{}\"",
                rng.pick(&["none", "gzip", "snappy", "lz4", "zstd"])
            ),
        ),
        2 => ("max.in.flight.requests.per.connection", num_in(rng, 1, 5)),
        3 => {
            let b = *rng.pick(&[16_384, 32_768, 65_536, 131_072, 262_144, 1_048_576]);
            ("batch.size", kdl_number(rng, b))
        }
        4 => {
            let b = *rng.pick(&[33_554_432, 67_108_864, 134_217_728]);
            ("buffer.memory", kdl_number(rng, b))
        }
        5 => ("request.timeout.ms", num_in(rng, 10_000, 60_000)),
        6 => {
            let r = *rng.pick(&[1, 3, 10, 2_147_483_647]);
            ("retries", kdl_number(rng, r))
        }
        7 => ("max.block.ms", num_in(rng, 10_000, 120_000)),
        8 => ("retry.backoff.ms", num_in(rng, 50, 1000)),
        9 => ("metadata.max.age.ms", num_in(rng, 60_000, 600_000)),
        10 => {
            let b = *rng.pick(&[-1, 131_072, 1_048_576]);
            ("send.buffer.bytes", kdl_number(rng, b))
        }
        11 => {
            let b = *rng.pick(&[-1, 32_768, 65_536]);
            ("receive.buffer.bytes", kdl_number(rng, b))
        }
        12 => ("client.id", format!("\"flink-producer-{i}\"")),
        13 => ("acks", format!("\"{}\"", rng.pick(&["all", "-1"]))),
        14 => ("enable.idempotence", kdl_bool(rng, true)),
        15 => ("delivery.timeout.ms", num_in(rng, 120_000, 300_000)),
        _ => {
            let b = *rng.pick(&[1_048_576, 2_097_152]);
            ("max.request.size", kdl_number(rng, b))
        }
    };
    (k.to_string(), v)
}

/// A consumer override with a value Kafka accepts whatever else is set.
fn consumer_override(rng: &mut Rng, i: usize) -> (String, String) {
    let (k, v) = match rng.below(15) {
        0 => ("fetch.min.bytes", num_in(rng, 1, 1_048_576)),
        1 => ("fetch.max.wait.ms", num_in(rng, 0, 1000)),
        2 => ("max.poll.records", num_in(rng, 1, 5000)),
        3 => {
            let b = *rng.pick(&[1_048_576, 2_097_152, 8_388_608]);
            ("max.partition.fetch.bytes", kdl_number(rng, b))
        }
        4 => {
            let b = *rng.pick(&[52_428_800, 104_857_600]);
            ("fetch.max.bytes", kdl_number(rng, b))
        }
        5 => ("session.timeout.ms", num_in(rng, 10_000, 45_000)),
        6 => ("heartbeat.interval.ms", num_in(rng, 1000, 3000)),
        7 => ("client.rack", format!("\"use1-az{}\"", rng.range(1, 3))),
        8 => (
            "isolation.level",
            format!("\"{}\"", rng.pick(&["read_committed", "read_uncommitted"])),
        ),
        9 => (
            "auto.offset.reset",
            format!("\"{}\"", rng.pick(&["earliest", "latest", "none"])),
        ),
        10 => ("request.timeout.ms", num_in(rng, 10_000, 60_000)),
        11 => ("default.api.timeout.ms", num_in(rng, 30_000, 120_000)),
        12 => {
            let b = rng.percent(50);
            ("check.crcs", kdl_bool(rng, b))
        }
        13 => ("max.poll.interval.ms", num_in(rng, 60_000, 600_000)),
        _ => ("client.id", format!("\"flink-consumer-{i}\"")),
    };
    (k.to_string(), v)
}

/// A producer override that may clash with idempotence or the delivery timeout: what FG106
/// and FG113 are about.
///
/// This includes the two conflicts flinkgen once got wrong (pinned by
/// `fg106_reports_an_exactly_once_sink_with_idempotence_turned_off` and
/// `fg113_uses_the_linger_default_of_the_connectors_client`): `enable.idempotence=false` on an
/// exactly-once job, and an explicit delivery.timeout.ms just above the default
/// linger.ms + request.timeout.ms (where the linger.ms defaults of the client and of the
/// cluster's Kafka version differ).
fn conflicting_override(rng: &mut Rng) -> Vec<(String, String)> {
    let one = |k: &str, v: String| vec![(k.to_string(), v)];
    match rng.below(6) {
        0 => one(
            "acks",
            format!("\"{}\"", rng.pick(&["0", "1", "all", "-1"])),
        ),
        1 => {
            let r = *rng.pick(&[0, 0, 5]);
            one("retries", kdl_number(rng, r))
        }
        2 => {
            let b = rng.percent(50);
            one("enable.idempotence", kdl_bool(rng, b))
        }
        3 => one("max.in.flight.requests.per.connection", num_in(rng, 1, 10)),
        _ => {
            // delivery.timeout.ms around linger.ms + request.timeout.ms, sometimes with the
            // defaults (linger 0 in kafka-clients 3.x, 5 in 4.x; request 30000).
            let mut v = vec![];
            let linger = if rng.percent(50) {
                let l = rng.range(0, 5000);
                v.push(("linger.ms".to_string(), kdl_number(rng, l as i64)));
                Some(l)
            } else {
                None
            };
            let request = if rng.percent(50) {
                let r = rng.range(1000, 60_000);
                v.push(("request.timeout.ms".to_string(), kdl_number(rng, r as i64)));
                Some(r)
            } else {
                None
            };
            let sum = linger.unwrap_or(0) + request.unwrap_or(30_000);
            let dt = match rng.below(4) {
                0 => sum.saturating_sub(rng.range(1, 1000)),
                1 => sum + rng.range(0, 10),
                2 => sum.saturating_sub(rng.range(0, 6)),
                _ => rng.range(1000, 200_000),
            };
            v.push((
                "delivery.timeout.ms".to_string(),
                kdl_number(rng, dt.max(1) as i64),
            ));
            v
        }
    }
}

struct Generated {
    text: String,
    job: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Sources and sinks, valid overrides.
    Valid,
    /// Only sources or only sinks, valid overrides.
    OneSided,
    /// Sources and sinks, connector 4.0.1, producer overrides that may clash.
    Conflicts,
}

/// A job profile and its cluster.
fn profile(rng: &mut Rng, i: usize, mode: Mode) -> Generated {
    let conflicts = mode == Mode::Conflicts;
    let name = format!("kc-{i}");
    let cluster = format!("c-{i}");
    let (minor, connector) = if conflicts {
        // The exact client of connector 4.0.1: the verdicts are those of the shipped client.
        ("2.0", "4.0.1")
    } else {
        *rng.pick(COMBOS)
    };
    let connector3 = connector.starts_with('3');
    let kafka = *rng.pick(KAFKA_VERSIONS);
    let delivery = *rng.pick(&["none", "at-least-once", "exactly-once"]);
    let mut p = String::new();
    let _ = writeln!(p, "job \"{name}\" {{");
    let _ = writeln!(
        p,
        "    environment \"{}\"",
        rng.pick(&["prod", "staging", "dev"])
    );
    let _ = writeln!(p, "    flink version=\"{minor}\" operator=\"1.15\"");
    let _ = writeln!(
        p,
        "    kafka cluster=\"{cluster}\" connector=\"{connector}\""
    );
    let _ = writeln!(p, "    delivery \"{delivery}\"");
    match rng.below(3) {
        0 => {
            let gib = rng.range(1, 400);
            let _ = writeln!(p, "    state size=\"{gib}GiB\" backend=\"rocksdb\"");
        }
        1 => {
            let gib = rng.range(1, 20);
            let _ = writeln!(p, "    state size=\"{gib}GiB\" backend=\"hashmap\"");
        }
        _ => {}
    }
    if rng.percent(70) {
        let _ = writeln!(
            p,
            "    throughput records-per-second={} record-size=\"{}B\"",
            rng.range(100, 200_000),
            rng.range(64, 4096)
        );
    }
    // Sources and sinks (sometimes two sinks), or only one side.
    let (has_source, has_sink) = match mode {
        Mode::OneSided => {
            let source = rng.percent(50);
            (source, !source)
        }
        _ => (true, true),
    };
    let partitions = rng.range(1, 48);
    if has_source {
        let _ = writeln!(
            p,
            "    source \"in\" topic=\"in.{i}\" partitions={partitions} format=\"json\""
        );
    }
    if has_sink {
        let _ = writeln!(
            p,
            "    sink \"out\" topic=\"out.{i}\" partitions={partitions} format=\"json\""
        );
        if rng.percent(20) {
            let _ = writeln!(
                p,
                "    sink \"audit\" topic=\"audit.{i}\" partitions={partitions} format=\"avro\""
            );
        }
    }
    if delivery != "none" || rng.percent(50) {
        let _ = writeln!(p, "    checkpoint interval=\"{}s\"", rng.range(10, 300));
    }
    if delivery == "exactly-once" && rng.percent(50) {
        let _ = writeln!(
            p,
            "    recovery max-downtime=\"{}min\" restorable-for=\"{}d\"",
            rng.range(5, 60),
            rng.range(1, 14)
        );
    }
    let _ = writeln!(p, "    instance \"{}\"", rng.pick(INSTANCES));
    let _ = writeln!(
        p,
        "    kubernetes namespace=\"streaming\" image=\"flink:{minor}\" upgrade-mode=\"{}\" storage=\"s3://bucket/{name}\"",
        rng.pick(&["savepoint", "last-state"])
    );
    let _ = writeln!(
        p,
        "    artifact jar=\"local:///opt/flink/usrlib/job.jar\" entry-class=\"com.acme.Job\""
    );

    // Security.
    let secret_ref = |rng: &mut Rng, secret: &str, avoid: &str| -> String {
        if !connector3 && rng.percent(30) {
            format!("env=\"{}\"", rng.pick(ENV_VARS))
        } else {
            let mut key = *rng.pick(SECRET_KEYS);
            while key == avoid {
                key = *rng.pick(SECRET_KEYS);
            }
            format!("secret=\"{secret}\" key=\"{key}\"")
        }
    };
    match rng.below(10) {
        0..=2 => {}
        3 => {
            let _ = writeln!(p, "    security protocol=\"PLAINTEXT\"");
        }
        4..=5 => {
            let _ = writeln!(p, "    security protocol=\"SSL\"");
        }
        n => {
            let protocol = if n == 9 { "SASL_PLAINTEXT" } else { "SASL_SSL" };
            let mechanism = *rng.pick(&["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
            let user_secret = format!("kafka-{name}");
            let pass_secret = if rng.percent(30) {
                format!("kafka-{name}-password")
            } else {
                user_secret.clone()
            };
            let user = secret_ref(rng, &user_secret, "");
            let user_key = user
                .split("key=\"")
                .nth(1)
                .map(|k| k.trim_end_matches('"').to_string())
                .unwrap_or_default();
            let pass = secret_ref(rng, &pass_secret, &user_key);
            let _ = writeln!(
                p,
                "    security protocol=\"{protocol}\" sasl-mechanism=\"{mechanism}\" {{"
            );
            let _ = writeln!(p, "        username {user}");
            let _ = writeln!(p, "        password {pass}");
            let _ = writeln!(p, "    }}");
        }
    }

    // Overrides.
    let mut overrides: Vec<(&str, (String, String))> = vec![];
    for _ in 0..rng.below(5) {
        let producer = match (has_sink, has_source) {
            (true, true) => rng.percent(50),
            (sink, _) => sink,
        };
        if producer {
            overrides.push(("producer", producer_override(rng, i)));
        } else {
            overrides.push(("consumer", consumer_override(rng, i)));
        }
    }
    if conflicts && has_sink {
        for _ in 0..rng.range(1, 3) {
            for o in conflicting_override(rng) {
                overrides.push(("producer", o));
            }
        }
    }
    // A credential override as a config-provider reference: flinkgen must declare the
    // provider (and mount a `dir` reference's Secret) for the client to resolve it.
    if rng.percent(30) {
        let target = if has_sink { "producer" } else { "consumer" };
        // Not the key/trust store passwords: the client refuses those without a store location.
        let key = "ssl.key.password";
        let value = if !connector3 && rng.percent(40) {
            format!("${{env:{}}}", rng.pick(ENV_VARS))
        } else {
            format!("${{dir:/opt/flink/secrets/tls-{name}:{key}}}")
        };
        overrides.push((target, (key.to_string(), format!("\"{value}\""))));
    }
    for (target, (k, v)) in overrides {
        let _ = writeln!(p, "    override \"{target}\" \"{k}\" {v}");
    }
    p.push_str("}\n\n");

    // The cluster.
    let hosts = rng.range(1, 3);
    let port = *rng.pick(&[9092, 9093, 9094, 19092]);
    let bootstrap: Vec<String> = (0..hosts)
        .map(|h| format!("b{h}.kafka-{i}.example.internal:{port}"))
        .collect();
    let _ = writeln!(p, "cluster \"{cluster}\" {{");
    let _ = writeln!(
        p,
        "    kafka version=\"{kafka}\" brokers={} bootstrap=\"{}\"",
        rng.range(1, 6),
        bootstrap.join(",")
    );
    if rng.percent(70) {
        let _ = writeln!(p, "    deployment \"plain\"");
    } else {
        let _ = writeln!(p, "    deployment \"managed\" service=\"msk\"");
    }
    if rng.percent(60) {
        let _ = writeln!(
            p,
            "    broker \"transaction.max.timeout.ms\" {}",
            rng.pick(&[900_000, 3_600_000, 7_200_000])
        );
    }
    p.push_str("}\n");
    Generated { text: p, job: name }
}

/// Profiles compiled per `compile` call: the policy packs are loaded once per call.
const BATCH: usize = 40;

/// A rendered generated profile; profiles of one batch share their plan and files.
struct Rendered {
    i: usize,
    profile: Generated,
    batch: Rc<(Compiled, Vec<Unit>)>,
}

impl Rendered {
    fn job(&self) -> &JobPlan {
        let job = &self.profile.job;
        self.batch
            .0
            .plan
            .jobs
            .iter()
            .find(|j| j.name == *job)
            .unwrap_or_else(|| panic!("profile #{}: no job {job} in the plan", self.i))
    }
}

#[derive(Default)]
struct Generation {
    generated: usize,
    rejected: usize,
    first_rejection: Option<String>,
}

fn compile_and_render(paths: Vec<PathBuf>) -> Result<(Compiled, Vec<Unit>), String> {
    let c = compile(&Options {
        inputs: paths,
        ..Default::default()
    })
    .map_err(|(e, sources)| flinkgen::diag::render_human(&e.0, &sources, false))?;
    let units = render(&c)?;
    Ok((c, units))
}

/// Generate and compile profiles until `target` render (or `cap` were generated). Each batch
/// is compiled as one build; a batch with an error is compiled profile by profile, so that
/// only the profiles flinkgen rejects are left out.
fn generate(
    rng: &mut Rng,
    work: &Path,
    target: usize,
    cap: usize,
    mode: Mode,
) -> (Vec<Rendered>, Generation) {
    let mut out = vec![];
    let mut g = Generation::default();
    let dir = work.join("profiles");
    while out.len() < target && g.generated < cap {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let mut batch = vec![];
        while batch.len() < BATCH.min(target - out.len()) && g.generated < cap {
            let i = g.generated;
            g.generated += 1;
            let p = profile(rng, i, mode);
            let path = dir.join(format!("profile-{i}.kdl"));
            std::fs::write(&path, &p.text)
                .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            batch.push((i, p, path));
        }
        match compile_and_render(batch.iter().map(|b| b.2.clone()).collect()) {
            Ok(c) => {
                let c = Rc::new(c);
                out.extend(batch.into_iter().map(|(i, profile, _)| Rendered {
                    i,
                    profile,
                    batch: Rc::clone(&c),
                }));
            }
            Err(_) => {
                for (i, profile, path) in batch {
                    match compile_and_render(vec![path]) {
                        Ok(c) => out.push(Rendered {
                            i,
                            profile,
                            batch: Rc::new(c),
                        }),
                        Err(e) => {
                            g.rejected += 1;
                            g.first_rejection.get_or_insert_with(|| {
                                format!("{e}\n  profile:\n{}", profile.text)
                            });
                        }
                    }
                }
            }
        }
    }
    (out, g)
}

fn summary(what: &str, version: &str, started: Instant, s: &Stats, extra: &str) -> String {
    format!(
        "Kafka client check ({what}) against {version}: {} files in {:.1}s ({:.1}s in the client; {} with a transactional.id as KafkaSink adds it), {} keys compared, {} config-provider placeholders resolved, {} provider keys, {} client rejections; bootstrap.servers replaced by loopback for the client construction in {} files (the cluster hosts do not resolve here){extra}",
        s.files,
        started.elapsed().as_secs_f64(),
        s.client_time,
        s.transactional,
        s.keys,
        s.placeholders,
        s.provider_keys,
        s.client_err,
        s.loopback,
    )
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn examples_are_accepted_by_kafkas_client() {
    let Some(jars) = prerequisites("examples") else {
        return;
    };
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = work.path().join("secret-root");
    let mut secrets = Secrets::new(&root);
    let mut h = start_harness(&jars, &root);
    let version = client_version(&mut h);
    let mut stats = Stats::default();
    let mut failures = vec![];
    let examples = common::examples();
    assert!(!examples.is_empty(), "no examples found");
    let mut jobs = 0;
    for ex in &examples {
        let c = common::compiled(&[ex.as_path()]);
        let units = render(&c).unwrap_or_else(|e| panic!("render {}: {e}", ex.display()));
        let profile_text = if ex.is_dir() {
            common::tree(ex)
                .into_values()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            std::fs::read_to_string(ex).unwrap_or_else(|e| panic!("read {}: {e}", ex.display()))
        };
        for job in &c.plan.jobs {
            jobs += 1;
            let work_dir = work.path().join(format!("ex-{jobs}"));
            for checked in check_job(
                &mut h,
                &mut secrets,
                &work_dir,
                &profile_text,
                job,
                &units,
                &mut stats,
            ) {
                if !checked.problems.is_empty() {
                    failures.push(failure_report(
                        &checked,
                        "",
                        &format!(" ({})", ex.display()),
                    ));
                }
            }
        }
    }
    let s = summary(
        "examples",
        &version,
        started,
        &stats,
        &format!("; {} examples, {jobs} jobs", examples.len()),
    );
    println!("{s}");
    assert!(
        stats.placeholders > 0 && stats.transactional > 0,
        "the examples no longer exercise config providers or exactly-once sinks"
    );
    assert!(
        failures.is_empty(),
        "{} of {} Kafka client files of the examples fail against {version}:\n{}\n{s}",
        failures.len(),
        stats.files,
        failures.join("\n")
    );
}

#[test]
fn generated_profiles_are_accepted_by_kafkas_client() {
    check_generated(
        "generated profiles",
        Mode::Valid,
        SEED,
        PROFILES,
        MIN_PROFILES,
    );
}

/// Jobs that only read or only write get client files of the side they have.
#[test]
fn one_sided_generated_profiles_are_accepted_by_kafkas_client() {
    check_generated(
        "jobs with only sources or only sinks",
        Mode::OneSided,
        SEED ^ 0x0123_4567_89ab_cdef,
        ONE_SIDED_PROFILES,
        ONE_SIDED_PROFILES * 4 / 5,
    );
}

fn check_generated(test: &str, mode: Mode, seed: u64, target: usize, min: usize) {
    let Some(jars) = prerequisites(test) else {
        return;
    };
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = work.path().join("secret-root");
    let mut secrets = Secrets::new(&root);
    let mut h = start_harness(&jars, &root);
    let version = client_version(&mut h);
    let mut rng = Rng::new(seed);
    let (rendered, g) = generate(&mut rng, work.path(), target, target * 3, mode);
    let generation = started.elapsed().as_secs_f64();
    let mut stats = Stats::default();
    let mut failures = vec![];
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_combo: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rendered {
        let job = r.job();
        let combo = format!(
            "Flink {} / connector {} / Kafka {}",
            job.fact_str("flink-version").unwrap_or("?"),
            job.fact_str("connector-version").unwrap_or("?"),
            job.fact_str("kafka-version").unwrap_or("?")
        );
        *by_combo.entry(combo).or_default() += 1;
        let dir = work.path().join(format!("p-{}", r.i));
        for checked in check_job(
            &mut h,
            &mut secrets,
            &dir,
            &r.profile.text,
            job,
            &r.batch.1,
            &mut stats,
        ) {
            if !checked.problems.is_empty() {
                *kinds.entry(failure_kind(&checked)).or_default() += 1;
                failures.push(failure_report(
                    &checked,
                    &r.profile.text,
                    &format!(" (profile #{})", r.i),
                ));
            }
        }
    }
    let s = summary(
        test,
        &version,
        started,
        &stats,
        &format!(
            "; profiles: {} generated, {} rejected by flinkgen (input errors), {} rendered in {generation:.1}s, {} Flink/connector/Kafka combinations",
            g.generated,
            g.rejected,
            rendered.len(),
            by_combo.len()
        ),
    );
    println!("{s}");
    assert!(
        rendered.len() >= min,
        "only {} of {} generated profiles compiled (need {min}); the first rejection:\n{}",
        rendered.len(),
        g.generated,
        g.first_rejection.unwrap_or_default()
    );
    if !failures.is_empty() {
        let shown: Vec<&String> = failures.iter().take(15).collect();
        panic!(
            "{} Kafka client files of {test} fail against {version} (first {} below)\n{s}\nby kind:\n{}\n\n{}",
            failures.len(),
            shown.len(),
            kinds_report(&kinds),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// flinkgen's FG106 (idempotence) and FG113 (delivery timeout) errors against the client of
/// connector 4.0.1 itself: a job's producer properties are refused by the client exactly when
/// flinkgen reports one of them.
#[test]
fn flinkgen_reports_exactly_the_producer_conflicts_kafkas_client_refuses() {
    let Some(jars) = prerequisites("conflicting producer overrides") else {
        return;
    };
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = work.path().join("secret-root");
    let mut secrets = Secrets::new(&root);
    let mut h = start_harness(&jars, &root);
    let version = client_version(&mut h);
    let mut rng = Rng::new(SEED ^ 0x9e37_79b9_7f4a_7c15);
    let (rendered, g) = generate(
        &mut rng,
        work.path(),
        CONFLICT_PROFILES,
        CONFLICT_PROFILES * 4,
        Mode::Conflicts,
    );
    let mut stats = Stats::default();
    let (mut both_refuse, mut both_accept) = (0, 0);
    let mut disagreements = vec![];
    for r in &rendered {
        let v = producer_verdicts(&mut h, &mut secrets, work.path(), r, &mut stats);
        let (client_refuses, flinkgen_refuses) = (v.client_refuses, v.flinkgen_refuses);
        disagreements.extend(v.value_problems);
        let profile = r.profile.text.trim_end().replace('\n', "\n    ");
        match (client_refuses.is_empty(), flinkgen_refuses.is_empty()) {
            (true, true) => both_accept += 1,
            (false, false) => both_refuse += 1,
            (false, true) => disagreements.push(format!(
                "profile #{}: Kafka's client refuses the producer properties, flinkgen reports no FG106/FG113 error\n    {}\n  profile:\n    {profile}",
                r.i,
                client_refuses.join("\n    "),
            )),
            (true, false) => disagreements.push(format!(
                "profile #{}: flinkgen reports an error, Kafka's client accepts the producer properties\n    {}\n  profile:\n    {profile}",
                r.i,
                flinkgen_refuses.join("\n    "),
            )),
        }
    }
    let s = summary(
        "conflicting producer overrides",
        &version,
        started,
        &stats,
        &format!(
            "; profiles: {} generated, {} rejected by flinkgen (input errors), {} rendered; {both_refuse} refused by both, {both_accept} accepted by both, {} disagreements",
            g.generated,
            g.rejected,
            rendered.len(),
            disagreements.len()
        ),
    );
    println!("{s}");
    assert!(
        rendered.len() >= MIN_CONFLICT_PROFILES,
        "only {} of {} generated profiles compiled (need {MIN_CONFLICT_PROFILES}); the first rejection:\n{}",
        rendered.len(),
        g.generated,
        g.first_rejection.unwrap_or_default()
    );
    assert!(
        both_refuse >= 10 && both_accept >= 10,
        "the conflict generator is lopsided ({both_refuse} refused, {both_accept} accepted by both): it no longer tests both sides"
    );
    if !disagreements.is_empty() {
        let shown: Vec<&String> = disagreements.iter().take(12).collect();
        panic!(
            "flinkgen and {version} disagree on {} producer configurations (first {} below)\n{s}\n\n{}",
            disagreements.len(),
            shown.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// What Kafka's client and flinkgen say about one job's producer properties.
struct Verdicts {
    /// The client's refusals of producer.properties (and of its transactional copies).
    client_refuses: Vec<String>,
    /// flinkgen's FG106 / FG113 errors for the job.
    flinkgen_refuses: Vec<String>,
    /// Accepted producer files whose effective values differ from the plan.
    value_problems: Vec<String>,
}

fn producer_verdicts(
    h: &mut Harness,
    secrets: &mut Secrets,
    work: &Path,
    r: &Rendered,
    stats: &mut Stats,
) -> Verdicts {
    let job = r.job();
    let own = format!("job `{}`", job.name);
    let flinkgen_refuses = r
        .batch
        .0
        .findings
        .iter()
        .filter(|f| {
            f.severity == Severity::Error
                && matches!(f.code.as_deref(), Some("FG106" | "FG113"))
                && f.message.starts_with(&own)
        })
        .map(|f| format!("{}: {}", f.code.as_deref().unwrap_or(""), f.message))
        .collect();
    let dir = work.join(format!("p-{}", r.i));
    let checked = check_job(h, secrets, &dir, &r.profile.text, job, &r.batch.1, stats);
    let producer: Vec<&Checked> = checked
        .iter()
        .filter(|c| c.label.contains("kafka/producer.properties"))
        .collect();
    let client_refuses = producer
        .iter()
        .filter_map(|c| match &c.reply {
            Reply::Err(e) => Some(format!("{}: {e}", c.label)),
            Reply::Ok { .. } => None,
        })
        .collect();
    let value_problems = producer
        .iter()
        .filter(|c| matches!(c.reply, Reply::Ok { .. }) && !c.problems.is_empty())
        .map(|c| failure_report(c, &r.profile.text, &format!(" (profile #{})", r.i)))
        .collect();
    Verdicts {
        client_refuses,
        flinkgen_refuses,
        value_problems,
    }
}

/// One hand-written profile: Kafka's client (with the jars of scripts/kafka-jars.sh) and
/// flinkgen's FG106/FG113 must agree on its producer properties.
fn assert_agreement_on(test: &str, text: &str, job: &str) {
    let Some(jars) = prerequisites(test) else {
        return;
    };
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = work.path().join("secret-root");
    let mut secrets = Secrets::new(&root);
    let mut h = start_harness(&jars, &root);
    let version = client_version(&mut h);
    let path = work.path().join("profile.kdl");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write: {e}"));
    let (c, units) = compile_and_render(vec![path]).unwrap_or_else(|e| panic!("{e}"));
    let r = Rendered {
        i: 0,
        profile: Generated {
            text: text.to_string(),
            job: job.to_string(),
        },
        batch: Rc::new((c, units)),
    };
    let mut stats = Stats::default();
    let v = producer_verdicts(&mut h, &mut secrets, work.path(), &r, &mut stats);
    assert!(
        v.value_problems.is_empty(),
        "{}",
        v.value_problems.join("\n")
    );
    assert_eq!(
        v.client_refuses.is_empty(),
        v.flinkgen_refuses.is_empty(),
        "{version} and flinkgen disagree:\n  client:   {:?}\n  flinkgen: {:?}\n  profile:\n{text}",
        v.client_refuses,
        v.flinkgen_refuses
    );
}

const PROBE_JOB: &str = "job \"probe\" {
    environment \"prod\"
    flink version=\"2.0\" operator=\"1.15\"
    kafka cluster=\"k\" connector=\"4.0.1\"
    source \"in\" topic=\"in\" partitions=4 format=\"json\"
    sink \"out\" topic=\"out\" partitions=4 format=\"json\"
    checkpoint interval=\"60s\"
    instance \"m6gd.4xlarge\"
    kubernetes namespace=\"streaming\" image=\"flink:2.0\" upgrade-mode=\"savepoint\" storage=\"s3://bucket/probe\"
    artifact jar=\"local:///opt/flink/usrlib/job.jar\" entry-class=\"com.acme.Job\"
";

#[test]
fn fg106_reports_an_exactly_once_sink_with_idempotence_turned_off() {
    let text = format!(
        "{PROBE_JOB}    delivery \"exactly-once\"\n    override \"producer\" \"enable.idempotence\" \"false\"\n}}\n\ncluster \"k\" {{\n    kafka version=\"3.9\" brokers=3 bootstrap=\"k.example.internal:9092\"\n    deployment \"plain\"\n    broker \"transaction.max.timeout.ms\" 3600000\n}}\n"
    );
    assert_agreement_on("FG106 with idempotence turned off", &text, "probe");
}

#[test]
fn fg113_uses_the_linger_default_of_the_connectors_client() {
    let text = format!(
        "{PROBE_JOB}    delivery \"at-least-once\"\n    override \"producer\" \"delivery.timeout.ms\" \"30002\"\n}}\n\ncluster \"k\" {{\n    kafka version=\"4.0\" brokers=3 bootstrap=\"k.example.internal:9092\"\n    deployment \"plain\"\n}}\n"
    );
    assert_agreement_on("FG113 and the client's linger.ms default", &text, "probe");
}

/// Negative controls: the harness and the comparison can fail.
#[test]
fn the_harness_reports_what_kafkas_client_refuses() {
    let Some(jars) = prerequisites("negative controls") else {
        return;
    };
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = work.path().join("secret-root");
    let mut secrets = Secrets::new(&root);
    secrets.mount("/opt/flink/secrets/control", "control", "password");
    let mut h = start_harness(&jars, &root);
    let version = client_version(&mut h);
    let bootstrap = "bootstrap.servers=kafka.control.example.internal\\:9092\n";
    let refused: &[(&str, &str, &str)] = &[
        (
            "acks=1 with explicit idempotence",
            "PRODUCER",
            "acks=1\nenable.idempotence=true\n",
        ),
        (
            "6 requests in flight with explicit idempotence",
            "PRODUCER",
            "max.in.flight.requests.per.connection=6\nenable.idempotence=true\n",
        ),
        (
            "retries=0 with explicit idempotence",
            "PRODUCER",
            "retries=0\nenable.idempotence=true\n",
        ),
        (
            "a transactional.id without idempotence",
            "PRODUCER",
            "enable.idempotence=false\ntransactional.id=control-0-1\n",
        ),
        (
            "an explicit delivery.timeout.ms below linger.ms + request.timeout.ms (KafkaProducer)",
            "PRODUCER",
            "delivery.timeout.ms=30000\nlinger.ms=5\nrequest.timeout.ms=30000\n",
        ),
        (
            "a misspelt isolation.level",
            "CONSUMER",
            "isolation.level=read_commited\n",
        ),
        (
            "a negative fetch.min.bytes",
            "CONSUMER",
            "fetch.min.bytes=-1\n",
        ),
        (
            "a SASL mechanism without JAAS config (KafkaProducer)",
            "PRODUCER",
            "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n",
        ),
    ];
    let mut report = vec![];
    for (n, (what, kind, text)) in refused.iter().enumerate() {
        let path = work.path().join(format!("refused-{n}.properties"));
        std::fs::write(&path, format!("{bootstrap}{text}"))
            .unwrap_or_else(|e| panic!("write: {e}"));
        match ask(&mut h, kind, &path) {
            Reply::Err(e) => {
                assert!(
                    e.contains("ConfigException")
                        || e.contains("KafkaException")
                        || e.contains("IllegalArgumentException"),
                    "{what}: refused, but not with a configuration error: {e}"
                );
                report.push(format!("  {what}: ERR {e}"));
            }
            Reply::Ok { values, .. } => {
                panic!("{what}: {version} accepts it ({values:?}), the harness cannot fail")
            }
        }
    }

    // The same producer, valid: accepted, and the comparison sees the values.
    let mut stats = Stats::default();
    let valid = "acks=all\nenable.idempotence=true\nlinger.ms=20\ncompression.type=zstd\n\
        security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nconfig.providers=dir\n\
        config.providers.dir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider\n\
        sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username\\=\"u\" password\\=\"${dir\\:/opt/flink/secrets/control\\:password}\";\n";
    let path = work.path().join("valid.properties");
    std::fs::write(&path, format!("{bootstrap}{valid}")).unwrap_or_else(|e| panic!("write: {e}"));
    let intended: BTreeMap<String, String> = [
        ("bootstrap.servers", "kafka.control.example.internal:9092"),
        ("acks", "all"),
        ("enable.idempotence", "true"),
        ("linger.ms", "20"),
        ("compression.type", "zstd"),
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "PLAIN"),
        ("config.providers", "dir"),
        (
            "config.providers.dir.class",
            "org.apache.kafka.common.config.provider.DirectoryConfigProvider",
        ),
        (
            "sasl.jaas.config",
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"${dir:/opt/flink/secrets/control:password}\";",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let checked = ask_and_compare(
        &mut h,
        "PRODUCER",
        "valid control".into(),
        &path,
        &intended,
        &secrets,
        &mut stats,
    );
    assert!(
        checked.problems.is_empty(),
        "the valid control fails: {:?}",
        checked.problems
    );
    assert_eq!(
        stats.placeholders, 1,
        "the control's placeholder was not resolved"
    );

    // Wrong intended values are caught: a different linger.ms, a key the plan does not have,
    // and a placeholder that points where no Secret is mounted.
    let mut wrong = intended.clone();
    wrong.insert("linger.ms".into(), "21".into());
    wrong.remove("compression.type");
    wrong.insert(
        "sasl.jaas.config".into(),
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"${dir:/opt/flink/secrets/elsewhere:password}\";".into(),
    );
    let checked = ask_and_compare(
        &mut h,
        "PRODUCER",
        "wrong control".into(),
        &path,
        &wrong,
        &secrets,
        &mut stats,
    );
    let problems = checked.problems.join("\n");
    for expect in [
        "`linger.ms`",
        "`compression.type` is in the file",
        "elsewhere",
    ] {
        assert!(
            problems.contains(expect),
            "the comparison misses {expect}:\n{problems}"
        );
    }
    // A key the client does not define is reported.
    let path = work.path().join("unknown.properties");
    std::fs::write(&path, format!("{bootstrap}linger.msec=5\n"))
        .unwrap_or_else(|e| panic!("write: {e}"));
    let intended: BTreeMap<String, String> = [
        ("bootstrap.servers", "kafka.control.example.internal:9092"),
        ("linger.msec", "5"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let checked = ask_and_compare(
        &mut h,
        "PRODUCER",
        "unknown key".into(),
        &path,
        &intended,
        &secrets,
        &mut stats,
    );
    assert!(
        checked
            .problems
            .iter()
            .any(|p| p.contains("not a config the client defines")),
        "an unknown key is not reported: {:?}",
        checked.problems
    );
    println!(
        "Kafka client negative controls against {version}: {} refused as expected\n{}",
        refused.len(),
        report.join("\n")
    );
}

#[test]
fn secret_refs_and_mounts_are_read() {
    let refs = secret_refs(
        "    security protocol=\"SASL_SSL\" {\n        username secret=\"a\" key=\"u\"\n        password env=\"X\"\n    }\n    x secret=\"b\" key=\"p.w\"\n",
    );
    assert_eq!(
        refs,
        vec![("a".into(), "u".into()), ("b".into(), "p.w".into())]
    );
    let deployment = "spec:\n  podTemplate:\n    spec:\n      containers:\n        - name: c\n          volumeMounts:\n            - name: v\n              mountPath: /opt/s/a\n      volumes:\n        - name: v\n          secret:\n            secretName: a\n";
    assert_eq!(
        secret_mounts(deployment),
        BTreeMap::from([("a".to_string(), "/opt/s/a".to_string())])
    );
    let mut stats = Stats::default();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut secrets = Secrets::new(dir.path());
    secrets.mount("/opt/s/a", "a", "u");
    assert_eq!(
        resolve_placeholders(
            "x=\"${dir:/opt/s/a:u}\" y=\"${env:KAFKA_USER}\"",
            &secrets,
            &mut stats
        ),
        Ok("x=\"synthetic-a-u\" y=\"env-kafka_user-value\"".to_string())
    );
    assert!(resolve_placeholders("${dir:/opt/s/b:u}", &secrets, &mut stats).is_err());
    assert!(resolve_placeholders("${env:OTHER}", &secrets, &mut stats).is_err());
    assert_eq!(canonical("acks", "all"), "-1");
    assert_eq!(canonical("bootstrap.servers", "a:1, b:2"), "a:1,b:2");
}
