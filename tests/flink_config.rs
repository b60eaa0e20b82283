//! flinkgen's Flink config files read by Flink itself.
//!
//! For Flink 1.18, 1.20 and 2.2 this loads every Flink config flinkgen renders — for the
//! examples and for seeded random job profiles — with the matching Flink version's own
//! `GlobalConfiguration.loadConfiguration(configDir)`, through
//! tests/flink-harness/ConfigHarness.java (one JVM per version, one config directory per
//! request), and checks that:
//!
//! * Flink's flat map (`Configuration.toMap()`) has exactly the keys of the job's Flink document
//!   in the plan, and each value is the plan's text (`Value::flink_text`) or, where Flink
//!   normalizes the text, the same value;
//! * every key is the key of a current option of that Flink version: none is unknown,
//!   deprecated, or only a fallback key of another option (options of the filesystem plugins,
//!   which are not in flink-dist, are reported as unverified);
//! * every value, read through its `ConfigOption`, has the plan's type and magnitude (sizes in
//!   bytes, durations in milliseconds, numbers, booleans, strings, enum names);
//! * the state backend Flink's `StateBackendLoader` builds is the intended one (RocksDB with the
//!   intended incremental setting, or the heap backend), and the checkpoint storage of
//!   `CheckpointStorageLoader` is the intended one with the intended directories;
//! * each `override "flink"` value, as the profile spells it, means to Flink what flinkgen made
//!   of it (so flinkgen's reading of Flink's size and duration grammar agrees with Flink's).
//!
//! Before the real configs, each version runs controls — configs with one known defect each (an
//! unknown key, a deprecated key, a wrong size, a wrong type, another backend, a missing key, an
//! extra key, another checkpoint directory or storage) — and fails if the check misses one. A
//! failure lists every disagreement by kind, with the smallest examples first
//! (FLINK_CONFIG_SHOW=n details n, default 20); FLINK_CONFIG_KEYS=1 prints the keys covered.
//!
//! The `*_deprecated_keys_are_refused_as_overrides` tests give every key Flink reads only as a
//! deprecated or fallback key (from the same catalogue) to flinkgen as an `override "flink"`
//! and expect flinkgen to refuse it.
//!
//! The harness JVM runs with `-Dfile.encoding=UTF-8`, as Flink's images do (Flink 1.x reads
//! flink-conf.yaml in the platform charset; in a C locale non-ASCII values turn into U+FFFD).
//!
//! Needs `java`, `javac` and the Flink jars from `scripts/flink-jars.sh` (in
//! `${FLINKGEN_CACHE:-~/.cache/flinkgen}`). Without them the tests are skipped, except under
//! `CI=true`, where they fail.

mod common;

use common::rng::Rng;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use common::jvm::{self, Harness, unescape};

use flinkgen::app::{Options, compile};
use flinkgen::plan::{DocKind, JobPlan, Origin, Value};
use flinkgen::units::{parse_flink_duration_ms, parse_flink_memory};

/// Generated profiles to render per version, at least MIN_PROFILES of which must compile.
const PROFILES: usize = 200;
const MIN_PROFILES: usize = 100;
/// Profiles compiled together: compiling costs mostly the policy packs, not the jobs.
const BATCH: usize = 28;
const SEED: u64 = 0x5eed_c0f1_2026_0001;

#[test]
fn flink_1_18_reads_flinkgen_config_as_intended() {
    run_version("1.18", "1.18.1");
}

#[test]
fn flink_1_20_reads_flinkgen_config_as_intended() {
    run_version("1.20", "1.20.3");
}

#[test]
fn flink_1_19_reads_flinkgen_config_as_intended() {
    run_version("1.19", "1.19.3");
}

#[test]
fn flink_2_0_reads_flinkgen_config_as_intended() {
    run_version("2.0", "2.0.0");
}

#[test]
fn flink_2_1_reads_flinkgen_config_as_intended() {
    run_version("2.1", "2.1.1");
}

#[test]
fn flink_2_3_reads_flinkgen_config_as_intended() {
    run_version("2.3", "2.3.0");
}

#[test]
fn flink_2_2_reads_flinkgen_config_as_intended() {
    run_version("2.2", "2.2.0");
}

/// Every key Flink reads only as a deprecated or fallback key, given as an `override "flink"`:
/// flinkgen must refuse it ("Removed keys and deprecated aliases of the Flink version are errors
/// naming the replacement", README).
#[test]
fn flink_1_18_deprecated_keys_are_refused_as_overrides() {
    probe_deprecated("1.18", "1.18.1");
}

#[test]
fn flink_1_20_deprecated_keys_are_refused_as_overrides() {
    probe_deprecated("1.20", "1.20.3");
}

#[test]
fn flink_2_2_deprecated_keys_are_refused_as_overrides() {
    probe_deprecated("2.2", "2.2.0");
}

// ---------------------------------------------------------------------------------------------
// Prerequisites and the harness JVM
// ---------------------------------------------------------------------------------------------

/// The jars (bin/*.jar, lib/*.jar), or `None` to skip (outside CI). Under CI=true a missing
/// prerequisite fails.
fn prerequisites(full: &str) -> Option<Vec<PathBuf>> {
    jvm::require_flink(full, "config cross-check", &["flink-dist-", "log4j-core-"])
}

/// Compile tests/flink-harness/ConfigHarness.java against the jars into
/// target/flink-config-harness and start it, logging WARN and above to stderr so stdout carries
/// only the protocol.
fn start_harness(full: &str, jars: &[PathBuf]) -> Harness {
    let (cp, log4j) = jvm::compile_flink_harness(
        "tests/flink-harness/ConfigHarness.java",
        "flink-config-harness",
        full,
        jars,
    );
    // Flink's images run with a UTF-8 locale; Flink 1.x reads flink-conf.yaml in the platform
    // charset.
    Harness::start(
        &format!("the Flink {full} config harness"),
        &cp,
        "ConfigHarness",
        &["-Dfile.encoding=UTF-8".to_string(), log4j],
    )
}

/// One request; the answer's fields (`name`, unescaped value), or Flink's error.
fn ask(harness: &mut Harness, request: &str) -> Result<Vec<(String, String)>, String> {
    let line = harness.request(request);
    match line.split_once('\t').unwrap_or((&line, "")) {
        ("OK", rest) => Ok(rest
            .split('\t')
            .filter(|f| !f.is_empty())
            .map(|f| {
                let (k, v) = f.split_once('=').unwrap_or((f, ""));
                (k.to_string(), unescape(v))
            })
            .collect()),
        ("ERR", rest) if !rest.starts_with("harness:") => Err(rest.to_string()),
        _ => harness.died(&format!("answered `{line}`")),
    }
}

fn load(harness: &mut Harness, dir: &Path) -> Result<Loaded, String> {
    ask(harness, &format!("LOAD {}", dir.display())).map(|fields| Loaded::from_fields(&fields))
}

// ---------------------------------------------------------------------------------------------
// What Flink made of a config directory
// ---------------------------------------------------------------------------------------------

/// One key of Flink's flat map.
#[derive(Debug, Default, Clone)]
struct FlinkKey {
    raw: String,
    /// `known …`, `deprecated …`, `fallback …`, `unverified …` or `unknown`.
    class: String,
    /// The value read through the key's option.
    typed: Typed,
}

#[derive(Debug, Default, Clone, PartialEq)]
enum Typed {
    /// No option to read it through (unknown or unverified key).
    #[default]
    NoOption,
    /// Reading it through the option failed.
    Err(String),
    /// The option's type (`Duration`, `MemorySize`, `Integer`, `Enum(CheckpointingMode)`, …)
    /// and the value (milliseconds, bytes, enum name, …).
    Value(String, String),
}

impl Typed {
    fn parse(s: &str) -> Typed {
        if s == "none" {
            Typed::NoOption
        } else if let Some(e) = s.strip_prefix("ERR ") {
            Typed::Err(e.to_string())
        } else {
            let (ty, v) = s.split_once(':').unwrap_or((s, ""));
            Typed::Value(ty.to_string(), v.to_string())
        }
    }
    fn show(&self) -> String {
        match self {
            Typed::NoOption => "no option".into(),
            Typed::Err(e) => format!("ERR {e}"),
            Typed::Value(ty, v) => format!("{ty} {v}"),
        }
    }
}

#[derive(Debug, Default)]
struct Loaded {
    keys: BTreeMap<String, FlinkKey>,
    /// The state backend's class, `null`, or `ERR …`.
    backend: String,
    backend_incremental: Option<String>,
    /// The checkpoint storage's class, `null`, or `ERR …`.
    storage: String,
    checkpoint_path: Option<String>,
    savepoint_path: Option<String>,
}

impl Loaded {
    fn from_fields(fields: &[(String, String)]) -> Loaded {
        let mut l = Loaded::default();
        let mut current: Option<String> = None;
        for (name, value) in fields {
            match name.as_str() {
                "key" => {
                    l.keys.insert(value.clone(), FlinkKey::default());
                    current = Some(value.clone());
                }
                "raw" | "class" | "typed" => {
                    let Some(k) = current.as_ref().and_then(|k| l.keys.get_mut(k)) else {
                        continue;
                    };
                    match name.as_str() {
                        "raw" => k.raw = value.clone(),
                        "class" => k.class = value.clone(),
                        _ => k.typed = Typed::parse(value),
                    }
                }
                "backend" => l.backend = value.clone(),
                "backend.incremental" => l.backend_incremental = Some(value.clone()),
                "storage" => l.storage = value.clone(),
                "storage.checkpoint-path" => l.checkpoint_path = Some(value.clone()),
                "storage.savepoint-path" => l.savepoint_path = Some(value.clone()),
                _ => {}
            }
        }
        l
    }
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Source {
    Example,
    Profile,
}

struct Case {
    /// e.g. `example examples/payments job payment-settlements`, `profile #17`.
    name: String,
    source: Source,
    file_name: String,
    file_text: String,
    /// The job's Flink document: key → (value, set by an `override "flink"`).
    intended: BTreeMap<String, (Value, bool)>,
    /// The `override "flink"` values as the profile spells them.
    overrides: Vec<(String, String)>,
    profile: Option<String>,
}

/// A KDL v2 string literal.
fn kdl_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const INSTANCES: &[&str] = &[
    "m6gd.2xlarge",
    "m6gd.4xlarge",
    "r6gd.4xlarge",
    "i4i.4xlarge",
    "m6i.4xlarge",
    "n2-highmem-16",
    "Standard_E16ds_v5",
    "Standard_D16ds_v5",
    "c6gd.4xlarge",
    "m6gd.8xlarge",
];

/// Pipeline names: punctuation that means something to YAML or to Flink's legacy parser.
const NAMES: &[&str] = &[
    "orders enrichment",
    "Orders: enrichment (v2)",
    "etl/v2",
    "job 'quoted'",
    "say \"hi\"",
    "yes",
    "123",
    "null",
    "~",
    "[not a list]",
    "{not: a map}",
    "a, b; c",
    "ünïcödé ✓",
    "x=y",
    "-leading-dash",
    "back\\slash",
    "*star",
    "&anchor",
    "!tag",
    "% percent",
    "@at",
    "`tick`",
    "|pipe",
    ">fold",
    "key: value",
    "0x1F",
    "1e3",
    "true",
    "2026-01-01",
];

/// Names only config.yaml can carry (flink-conf.yaml has no escaping).
const YAML_ONLY_NAMES: &[&str] = &["two\nlines", "tab\there", "hash # sign"];

/// One `override "flink"` line: the key and the value as the profile spells it.
fn override_value(rng: &mut Rng, yaml: bool) -> (String, String, bool) {
    let dur = |rng: &mut Rng, pool: &[&str]| rng.pick(pool).to_string();
    let (key, value): (&str, String) = match rng.below(26) {
        0..=2 => {
            let name = if yaml && rng.percent(25) {
                rng.pick(YAML_ONLY_NAMES)
            } else {
                rng.pick(NAMES)
            };
            ("pipeline.name", name.to_string())
        }
        3..=4 => (
            "execution.checkpointing.interval",
            dur(
                rng,
                &[
                    "45 s",
                    "2 min",
                    "90000",
                    "1 h",
                    "30s",
                    "1min",
                    "2 minutes",
                    "120 sec",
                    "15 min",
                    "1500 millis",
                    "10 seconds",
                    "1 hour",
                    "20000 ms",
                ],
            ),
        ),
        5 => (
            "execution.checkpointing.timeout",
            dur(
                rng,
                &["5 min", "15 min", "600000", "1 d", "3 hours", "900 s"],
            ),
        ),
        6 => (
            "execution.checkpointing.min-pause",
            dur(rng, &["5 s", "0", "10000", "1 min"]),
        ),
        7 => (
            "execution.checkpointing.tolerable-failed-checkpoints",
            rng.range(0, 20).to_string(),
        ),
        8 => (
            "taskmanager.memory.jvm-metaspace.size",
            dur(
                rng,
                &[
                    "320m",
                    "512 mb",
                    "1g",
                    "1 gb",
                    "268435456",
                    "262144k",
                    "384 mebibytes",
                    "1 gibibytes",
                ],
            ),
        ),
        9 => (
            "taskmanager.memory.managed.fraction",
            dur(rng, &["0.3", "0.5", "0.25", ".6"]),
        ),
        10 => (
            "taskmanager.memory.network.max",
            dur(rng, &["1g", "256m", "2 gb"]),
        ),
        11 => (
            "jobmanager.memory.process.size",
            dur(rng, &["4g", "3072m", "2 gb", "2560 mb"]),
        ),
        12 => (
            "pipeline.object-reuse",
            dur(rng, &["true", "false", "TRUE"]),
        ),
        13 => (
            "execution.checkpointing.unaligned.enabled",
            dur(rng, &["true", "false"]),
        ),
        14 => (
            "execution.checkpointing.aligned-checkpoint-timeout",
            dur(rng, &["10 s", "0 s", "30000", "1 min"]),
        ),
        15 => (
            "restart-strategy.exponential-delay.max-backoff",
            dur(rng, &["2 min", "30 s", "300000"]),
        ),
        16 => (
            "restart-strategy.exponential-delay.backoff-multiplier",
            dur(rng, &["1.5", "2.0", "3"]),
        ),
        17 => (
            "state.backend.rocksdb.memory.write-buffer-ratio",
            dur(rng, &["0.4", "0.25", "0.6"]),
        ),
        18 => (
            "state.backend.rocksdb.timer-service.factory",
            dur(rng, &["HEAP", "ROCKSDB", "heap"]),
        ),
        19 => (
            "taskmanager.network.memory.buffer-debloat.enabled",
            dur(rng, &["true", "false"]),
        ),
        20 => ("pekko.ask.timeout", dur(rng, &["30 s", "1 min", "60000"])),
        21 => ("heartbeat.timeout", dur(rng, &["60000", "120000"])),
        22 => (
            "taskmanager.memory.managed.consumer-weights",
            dur(
                rng,
                &[
                    "OPERATOR:60,STATE_BACKEND:60,PYTHON:40",
                    "STATE_BACKEND:100",
                ],
            ),
        ),
        23 => ("web.cancel.enable", dur(rng, &["false", "true"])),
        24 => (
            "taskmanager.memory.task.off-heap.size",
            dur(rng, &["256m", "0", "1g"]),
        ),
        _ => (
            "state.backend.rocksdb.checkpoint.transfer.thread.num",
            rng.range(1, 16).to_string(),
        ),
    };
    // A KDL number instead of a string, now and then.
    let number = value.parse::<f64>().is_ok()
        && !value.starts_with('.')
        && key != "pipeline.name"
        && rng.percent(30);
    (key.to_string(), value, number)
}

fn storage_uri(rng: &mut Rng, i: usize) -> String {
    let path = match rng.below(6) {
        0 => format!("flink/cfg-{i}"),
        1 => format!("teams/streaming/cfg-{i}/"),
        2 => format!("cfg-{i}"),
        3 => format!("a.b-c_d/cfg-{i}/state"),
        // The bucket's root.
        4 => String::new(),
        _ => format!("x=1,y+2~cfg-{i}"),
    };
    match rng.below(3) {
        0 => format!(
            "s3://{}/{path}",
            rng.pick(&["acme-flink", "bucket.with.dots", "b-1"])
        ),
        1 => format!(
            "gs://{}/{path}",
            rng.pick(&["acme-flink-state", "gcs_bucket"])
        ),
        _ => format!(
            "abfss://{}@{}.dfs.core.windows.net/{path}",
            rng.pick(&["flink", "state-container"]),
            rng.pick(&["acmeaudit", "storage01"])
        ),
    }
}

/// A generated job profile, and its `override "flink"` values as spelled.
fn profile(rng: &mut Rng, minor: &str, i: usize) -> (String, Vec<(String, String)>) {
    let name = format!("cfg-{i}");
    let connector = match minor {
        "1.18" => "3.2.0",
        m if m.starts_with('2') => "5.0.0",
        _ => *rng.pick(&["3.4.0", "3.3.0"]),
    };
    let (config_file, yaml) = match minor {
        "1.19" | "1.20" => match rng.below(10) {
            0..=3 => (" config-file=\"config.yaml\"", true),
            4 => (" config-file=\"flink-conf.yaml\"", false),
            _ => ("", false),
        },
        m if m.starts_with('2') => ("", true),
        _ => ("", false),
    };
    let delivery = *rng.pick(&["none", "at-least-once", "exactly-once"]);
    let mut p = String::new();
    let _ = writeln!(p, "job \"{name}\" {{");
    let _ = writeln!(
        p,
        "    environment \"{}\"",
        rng.pick(&["prod", "staging", "dev"])
    );
    let _ = writeln!(
        p,
        "    flink version=\"{minor}\" operator=\"1.15\"{config_file}"
    );
    let _ = writeln!(p, "    kafka cluster=\"main\" connector=\"{connector}\"");
    let _ = writeln!(p, "    delivery \"{delivery}\"");
    match rng.below(3) {
        0 => {
            let gib = rng.range(1, 800);
            let _ = writeln!(p, "    state size=\"{gib}GiB\" backend=\"rocksdb\"");
        }
        1 => {
            let gib = rng.range(1, 40);
            let _ = writeln!(p, "    state size=\"{gib}GiB\" backend=\"hashmap\"");
        }
        _ => {}
    }
    if rng.percent(70) {
        let _ = writeln!(
            p,
            "    throughput records-per-second={} record-size=\"{}B\"",
            rng.range(100, 400_000),
            rng.range(64, 4096)
        );
    }
    if rng.percent(40) {
        let par = rng.range(1, 96);
        if rng.percent(50) {
            let max = *rng.pick(&[128u64, 256, 720, 1024, 4096]);
            let _ = writeln!(p, "    parallelism {par} max={}", max.max(par));
        } else {
            let _ = writeln!(p, "    parallelism {par}");
        }
    }
    if rng.percent(20) {
        let _ = writeln!(p, "    exchanges {}", rng.range(0, 4));
    }
    let partitions = rng.range(1, 64);
    let _ = writeln!(
        p,
        "    source \"in\" topic=\"in.{i}\" partitions={partitions} format=\"json\""
    );
    let _ = writeln!(
        p,
        "    sink \"out\" topic=\"out.{i}\" partitions={partitions} format=\"json\""
    );
    if rng.percent(60) {
        let interval = match rng.below(4) {
            0 => format!("{}s", rng.range(10, 300)),
            1 => format!("{}min", rng.range(1, 30)),
            2 => format!("{}ms", rng.range(5_000, 120_000)),
            _ => "1h".to_string(),
        };
        let _ = writeln!(p, "    checkpoint interval=\"{interval}\"");
    }
    if rng.percent(30) {
        let _ = writeln!(
            p,
            "    recovery max-downtime=\"{}min\" restorable-for=\"{}d\"",
            rng.range(5, 60),
            rng.range(1, 7)
        );
    }
    let instance = *rng.pick(INSTANCES);
    if rng.percent(30) {
        let _ = writeln!(p, "    instance \"{instance}\" count={}", rng.range(1, 12));
    } else {
        let _ = writeln!(p, "    instance \"{instance}\"");
    }
    let upgrade = if rng.percent(70) {
        format!(
            " upgrade-mode=\"{}\"",
            rng.pick(&["savepoint", "last-state", "stateless"])
        )
    } else {
        String::new()
    };
    let storage = if rng.percent(85) {
        format!(" storage=\"{}\"", storage_uri(rng, i))
    } else {
        String::new()
    };
    let _ = writeln!(
        p,
        "    kubernetes namespace=\"streaming\" image=\"flink:{minor}\"{upgrade}{storage}"
    );
    let _ = writeln!(
        p,
        "    artifact jar=\"local:///opt/flink/usrlib/job.jar\" entry-class=\"com.acme.Job\""
    );
    let n = match rng.below(10) {
        0..=2 => 0,
        3..=5 => 1,
        6..=7 => 2,
        _ => 3,
    };
    let mut overrides: Vec<(String, String)> = vec![];
    for _ in 0..n {
        let (key, value, number) = override_value(rng, yaml);
        if overrides.iter().any(|(k, _)| *k == key) {
            continue;
        }
        let literal = if number {
            value.clone()
        } else {
            kdl_str(&value)
        };
        let _ = writeln!(p, "    override \"flink\" \"{key}\" {literal}");
        overrides.push((key, value));
    }
    p.push_str("}\n");
    (p, overrides)
}

const CLUSTER: &str = "cluster \"main\" {\n    kafka version=\"3.9\" brokers=3 bootstrap=\"kafka.main.svc:9092\"\n    deployment \"strimzi\" version=\"0.45.1\"\n}\n";

/// A rendered job: its Flink config file (name, text) and its Flink document.
struct Rendered {
    file_name: String,
    file_text: String,
    intended: BTreeMap<String, (Value, bool)>,
}

fn intended(job: &JobPlan) -> BTreeMap<String, (Value, bool)> {
    job.doc(DocKind::Flink)
        .map(|d| {
            d.entries
                .iter()
                .map(|(k, e)| {
                    let by_override = matches!(&e.origin, Origin::Profile { field, .. } if field.starts_with("override flink "));
                    (k.clone(), (e.value.clone(), by_override))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Compile `inputs` and render; every job's Flink config and document by job name.
fn compile_and_render(
    inputs: Vec<PathBuf>,
    env: &flinkgen::render::Templates,
) -> Result<BTreeMap<String, (String, Rendered)>, String> {
    let c = compile(&Options {
        inputs,
        ..Default::default()
    })
    .map_err(|(e, sources)| flinkgen::diag::render_human(&e.0, &sources, false))?;
    let units = flinkgen::render::render_plan(&c.plan, env).map_err(|e| {
        e.iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let mut out = BTreeMap::new();
    for job in &c.plan.jobs {
        let path = format!("jobs/{}/flink/{}", job.name, job.config_file);
        let file = units
            .iter()
            .flat_map(|u| &u.files)
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("job {} rendered no {path}", job.name));
        let minor = job.fact_str("flink-version").unwrap_or("?").to_string();
        out.insert(
            job.name.clone(),
            (
                minor,
                Rendered {
                    file_name: job.config_file.clone(),
                    file_text: file.contents.clone(),
                    intended: intended(job),
                },
            ),
        );
    }
    Ok(out)
}

/// A generated profile: its index, its KDL text and its `override "flink"` values as spelled.
type GeneratedJob = (usize, String, Vec<(String, String)>);

struct ProfileStats {
    generated: usize,
    rejected: usize,
    first_rejection: Option<String>,
}

/// Compile and render one batch of generated jobs with the shared cluster profile.
fn render_batch(
    dir: &Path,
    jobs: &[GeneratedJob],
    env: &flinkgen::render::Templates,
) -> Result<BTreeMap<String, (String, Rendered)>, String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    std::fs::write(dir.join("cluster.kdl"), CLUSTER).unwrap_or_else(|e| panic!("write: {e}"));
    for (i, text, _) in jobs {
        std::fs::write(dir.join(format!("job-{i}.kdl")), text)
            .unwrap_or_else(|e| panic!("write: {e}"));
    }
    let out = compile_and_render(vec![dir.to_path_buf()], env);
    let _ = std::fs::remove_dir_all(dir);
    out
}

/// Render a batch; when some profiles have input errors, drop the ones the errors name and
/// render the rest again (one by one when the errors name no profile).
fn render_dropping_rejected(
    dir: &Path,
    jobs: &[GeneratedJob],
    env: &flinkgen::render::Templates,
    stats: &mut ProfileStats,
) -> BTreeMap<String, (String, Rendered)> {
    let why = match render_batch(dir, jobs, env) {
        Ok(r) => return r,
        Err(why) => why,
    };
    let named: Vec<usize> = jobs
        .iter()
        .map(|(i, _, _)| *i)
        .filter(|i| why.contains(&format!("job-{i}.kdl")))
        .collect();
    if named.is_empty() || jobs.len() == 1 {
        if jobs.len() == 1 {
            stats.rejected += 1;
            stats.first_rejection.get_or_insert(why);
            return BTreeMap::new();
        }
        let mut all = BTreeMap::new();
        for job in jobs {
            all.extend(render_dropping_rejected(
                dir,
                std::slice::from_ref(job),
                env,
                stats,
            ));
        }
        return all;
    }
    stats.rejected += named.len();
    stats.first_rejection.get_or_insert(why);
    let rest: Vec<GeneratedJob> = jobs
        .iter()
        .filter(|(i, _, _)| !named.contains(i))
        .cloned()
        .collect();
    if rest.is_empty() {
        return BTreeMap::new();
    }
    render_dropping_rejected(dir, &rest, env, stats)
}

fn profile_cases(minor: &str, work: &Path) -> (Vec<Case>, ProfileStats) {
    let env = flinkgen::render::environment(None).unwrap_or_else(|d| panic!("{}", d.message));
    let mut rng = Rng::new(
        SEED ^ minor
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31) ^ b as u64),
    );
    let mut stats = ProfileStats {
        generated: 0,
        rejected: 0,
        first_rejection: None,
    };
    let mut cases = vec![];
    let dir = work.join("profiles");
    while cases.len() < PROFILES && stats.generated < PROFILES * 4 {
        let jobs: Vec<GeneratedJob> = (0..BATCH.min(PROFILES - cases.len()))
            .map(|_| {
                let i = stats.generated;
                stats.generated += 1;
                let (text, overrides) = profile(&mut rng, minor, i);
                (i, text, overrides)
            })
            .collect();
        let rendered = render_dropping_rejected(&dir, &jobs, &env, &mut stats);
        for (i, text, overrides) in jobs {
            let Some((_, r)) = rendered.get(&format!("cfg-{i}")) else {
                continue;
            };
            cases.push(Case {
                name: format!("profile #{i}"),
                source: Source::Profile,
                file_name: r.file_name.clone(),
                file_text: r.file_text.clone(),
                intended: r.intended.clone(),
                overrides,
                profile: Some(format!("{text}\n{CLUSTER}")),
            });
        }
    }
    (cases, stats)
}

/// Every example job, rendered once for all three tests: (Flink minor, case).
fn all_example_cases() -> &'static Vec<(String, Case)> {
    static EXAMPLES: OnceLock<Vec<(String, Case)>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let env = flinkgen::render::environment(None).unwrap_or_else(|d| panic!("{}", d.message));
        let mut cases = vec![];
        for path in common::examples() {
            let rendered = compile_and_render(vec![path.clone()], &env)
                .unwrap_or_else(|e| panic!("example {} does not build:\n{e}", path.display()));
            for (job, (v, r)) in rendered {
                cases.push((
                    v,
                    Case {
                        name: format!("example {} job {job}", path.display()),
                        source: Source::Example,
                        file_name: r.file_name,
                        file_text: r.file_text,
                        intended: r.intended,
                        overrides: vec![],
                        profile: None,
                    },
                ));
            }
        }
        cases
    })
}

/// The example jobs of this Flink version, and how many jobs are of other versions.
fn example_cases(minor: &str) -> (Vec<&'static Case>, usize) {
    let all = all_example_cases();
    let mine: Vec<&Case> = all
        .iter()
        .filter(|(v, _)| v == minor)
        .map(|(_, c)| c)
        .collect();
    let others = all.len() - mine.len();
    (mine, others)
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Does Flink's typed reading have the plan value's type and magnitude? `Err` says how not.
fn same_value(want: &Value, raw: &str, typed: &Typed) -> Result<(), String> {
    let (ty, got) = match typed {
        Typed::NoOption => return Ok(()),
        Typed::Err(e) => return Err(format!("Flink cannot read it through its option: {e}")),
        Typed::Value(ty, got) => (ty.as_str(), got.as_str()),
    };
    let int = |s: &str| s.trim().parse::<i128>().ok();
    let float = |s: &str| s.trim().parse::<f64>().ok();
    let ok = match want {
        Value::Bytes(b) => ty == "MemorySize" && int(got) == Some(i128::from(*b)),
        Value::Millis(m) => ty == "Duration" && int(got) == Some(i128::from(*m)),
        Value::Int(i) => match ty {
            "Integer" | "Long" | "Short" => int(got) == Some(i128::from(*i)),
            "Double" | "Float" => float(got).is_some_and(|g| approx(g, *i as f64)),
            "String" => got == i.to_string(),
            _ => false,
        },
        Value::Bool(b) => match ty {
            "Boolean" | "String" => got == b.to_string(),
            _ => false,
        },
        Value::Float(f) => match ty {
            "Double" | "Float" => float(got).is_some_and(|g| approx(g, *f)),
            "String" => got == f.to_string(),
            _ => false,
        },
        Value::Str(s) => match ty {
            "String" => got == s,
            t if t.starts_with("Enum(") => got.eq_ignore_ascii_case(s.trim()),
            "MemorySize" => parse_flink_memory(s).is_ok_and(|b| int(got) == Some(i128::from(b))),
            "Duration" => parse_flink_duration_ms(s).is_ok_and(|m| int(got) == Some(i128::from(m))),
            "Integer" | "Long" | "Short" => int(s).is_some() && int(got) == int(s),
            "Double" | "Float" => float(s).zip(float(got)).is_some_and(|(a, b)| approx(a, b)),
            "Boolean" => got.eq_ignore_ascii_case(s.trim()),
            // Lists, maps and the rest: the text must have come through unchanged.
            _ => raw == s,
        },
        Value::List(l) => raw == l.join(";"),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "flinkgen means {want:?}, Flink reads {}",
            typed.show()
        ))
    }
}

/// What disagrees for one case: (kind, detail) pairs.
#[derive(Default)]
struct Outcome {
    problems: Vec<(String, String)>,
    keys: usize,
    unverified: Vec<String>,
    normalized: Vec<String>,
    backend: String,
    storage: String,
    overrides_checked: usize,
}

fn short_class(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}

fn judge(case: &Case, flink: &Loaded) -> Outcome {
    let mut o = Outcome::default();
    let mut problems: Vec<(String, String)> = vec![];
    let mut problem = |kind: String, detail: String| problems.push((kind, detail));
    for (k, (want, _)) in &case.intended {
        let Some(got) = flink.keys.get(k) else {
            problem(
                format!("key `{k}` missing from Flink's map"),
                format!(
                    "`{k}`: flinkgen writes `{}`, Flink's map has no such key",
                    want.flink_text()
                ),
            );
            continue;
        };
        let verdict = got.class.split(' ').next().unwrap_or("");
        match verdict {
            "known" => {}
            "unverified" => o.unverified.push(k.clone()),
            _ => problem(
                format!("key `{k}` is {verdict}"),
                format!("`{k}`: {}", got.class),
            ),
        }
        let text = want.flink_text();
        match same_value(want, &got.raw, &got.typed) {
            Ok(()) if got.raw != text => {
                o.normalized.push(format!("{k}: `{text}` → `{}`", got.raw))
            }
            Ok(()) => {}
            Err(why) => problem(
                format!("`{k}` read as another value or type"),
                format!(
                    "`{k}`: written `{text}`, in Flink's map `{}`: {why}",
                    got.raw
                ),
            ),
        }
    }
    for k in flink.keys.keys() {
        if !case.intended.contains_key(k) {
            problem(
                format!("Flink's map has key `{k}`, the plan does not"),
                format!(
                    "`{k}` = `{}` is not in the job's Flink document",
                    flink.keys[k].raw
                ),
            );
        }
    }
    o.keys = flink.keys.len();

    // The state backend Flink builds.
    let text_of = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| case.intended.get(*k))
            .map(|(v, _)| v.flink_text())
    };
    let backend = text_of(&["state.backend.type", "state.backend"]).map(|b| b.to_lowercase());
    let class = short_class(&flink.backend).to_string();
    o.backend = backend.clone().unwrap_or_else(|| "none".into());
    let expected = match backend.as_deref() {
        Some("rocksdb") => Some("EmbeddedRocksDBStateBackend"),
        Some("hashmap") => Some("HashMapStateBackend"),
        Some(_) => None,
        // Unset: Flink 1.18 names none (the heap backend is the default later on).
        None if flink.backend == "null" => None,
        None => Some("HashMapStateBackend"),
    };
    if flink.backend.starts_with("ERR") {
        problem(
            "Flink's StateBackendLoader fails".into(),
            format!("state backend {backend:?}: {}", flink.backend),
        );
    } else if let Some(e) = expected
        && class != e
    {
        problem(
            format!("state backend {e} intended, Flink builds {class}"),
            format!("state backend {backend:?}: Flink builds {}", flink.backend),
        );
    }
    if backend.as_deref() == Some("rocksdb") {
        let want = text_of(&[
            "execution.checkpointing.incremental",
            "state.backend.incremental",
        ])
        .unwrap_or_else(|| "false".into());
        if flink.backend_incremental.as_deref() != Some(want.as_str()) {
            problem(
                "RocksDB incremental checkpoints differ".into(),
                format!(
                    "incremental {want} intended, Flink's backend says {:?}",
                    flink.backend_incremental
                ),
            );
        }
    }

    // The checkpoint storage Flink builds.
    let storage = text_of(&[
        "execution.checkpointing.storage",
        "state.checkpoint-storage",
    ]);
    let cp_dir = text_of(&["execution.checkpointing.dir", "state.checkpoints.dir"]);
    let sp_dir = text_of(&[
        "execution.checkpointing.savepoint-dir",
        "state.savepoints.dir",
    ]);
    let expected = match (storage.as_deref(), &cp_dir) {
        (Some("filesystem"), _) | (None, Some(_)) => "FileSystemCheckpointStorage",
        (Some("jobmanager"), _) | (None, None) => "JobManagerCheckpointStorage",
        (Some(other), _) => other,
    };
    o.storage = short_class(&flink.storage).to_string();
    if flink.storage.starts_with("ERR") {
        problem(
            "Flink's CheckpointStorageLoader fails".into(),
            format!("checkpoint storage {storage:?}: {}", flink.storage),
        );
    } else {
        if o.storage != expected {
            problem(
                format!(
                    "checkpoint storage {expected} intended, Flink builds {}",
                    o.storage
                ),
                format!(
                    "checkpoint storage {storage:?}, dir {cp_dir:?}: Flink builds {}",
                    flink.storage
                ),
            );
        }
        let trim = |s: &str| s.trim_end_matches('/').to_string();
        for (what, want, got) in [
            ("checkpoint", &cp_dir, &flink.checkpoint_path),
            ("savepoint", &sp_dir, &flink.savepoint_path),
        ] {
            let got = got.as_deref().filter(|g| *g != "null").map(trim);
            if let Some(w) = want
                && expected == "FileSystemCheckpointStorage"
                && got.as_deref() != Some(trim(w).as_str())
            {
                problem(
                    format!("{what} directory differs"),
                    format!("{what} directory `{w}` intended, Flink's storage uses {got:?}"),
                );
            }
        }
    }
    o.problems = problems;
    o
}

/// Write a config file of `file_name` with `entries` (key, value as spelled) verbatim.
fn raw_override_file(file_name: &str, entries: &[(String, String)]) -> String {
    let mut text = String::from("# the override values as the profile spells them\n");
    for (k, v) in entries {
        if file_name == "flink-conf.yaml" {
            let _ = writeln!(text, "{k}: {v}");
        } else {
            let mut q = String::from("\"");
            for c in v.chars() {
                match c {
                    '"' => q.push_str("\\\""),
                    '\\' => q.push_str("\\\\"),
                    '\n' => q.push_str("\\n"),
                    '\t' => q.push_str("\\t"),
                    c => q.push(c),
                }
            }
            q.push('"');
            let _ = writeln!(text, "{k}: {q}");
        }
    }
    text
}

struct Disagreement {
    kind: String,
    name: String,
    /// The config's size: the smallest examples are shown first.
    size: usize,
    report: String,
}

/// The disagreements grouped by kind, with the smallest examples of each kind in detail (at
/// most FLINK_CONFIG_SHOW, default 20, taken from every kind in turn), then every case's name.
fn disagreement_report(all: &[Disagreement]) -> String {
    let mut kinds: BTreeMap<&str, Vec<&Disagreement>> = BTreeMap::new();
    for d in all {
        kinds.entry(&d.kind).or_default().push(d);
    }
    let mut kinds: Vec<(&str, Vec<&Disagreement>)> = kinds.into_iter().collect();
    kinds.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    for (_, v) in &mut kinds {
        v.sort_by_key(|d| d.size);
    }
    let mut out = String::from("Kinds of disagreement:\n");
    for (kind, v) in &kinds {
        let _ = writeln!(out, "  {:>4} × {kind}", v.len());
    }
    let max = std::env::var("FLINK_CONFIG_SHOW")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut shown = 0;
    let _ = writeln!(out, "\nExamples (smallest first, every kind in turn):");
    for round in 0.. {
        let mut any = false;
        for (_, v) in &kinds {
            if shown < max
                && let Some(d) = v.get(round)
            {
                let _ = writeln!(out, "\n{}", d.report.trim_end());
                shown += 1;
                any = true;
            }
        }
        if !any || shown >= max {
            break;
        }
    }
    let _ = writeln!(out, "\nEvery disagreeing case, by kind:");
    for (kind, v) in &kinds {
        let mut names: Vec<&str> = v.iter().map(|d| d.name.as_str()).collect();
        names.dedup();
        let _ = writeln!(out, "  {kind}:\n    {}", names.join(", "));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

/// Load one case's config, judge it, and check its overrides as the profile spells them.
fn check_case(harness: &mut Harness, case: &Case, dir: &Path) -> Outcome {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    std::fs::write(dir.join(&case.file_name), &case.file_text)
        .unwrap_or_else(|e| panic!("write config: {e}"));
    let mut outcome = match load(harness, dir) {
        Ok(loaded) => judge(case, &loaded),
        Err(e) => Outcome {
            problems: vec![(
                "Flink cannot load the file".into(),
                format!("GlobalConfiguration.loadConfiguration: {e}"),
            )],
            ..Default::default()
        },
    };
    let _ = std::fs::remove_dir_all(dir);

    // The overrides as spelled in the profile, read by Flink, against flinkgen's reading (only
    // those whose value in the plan is the override's).
    let spelled: Vec<(String, String)> = case
        .overrides
        .iter()
        .filter(|(k, _)| case.intended.get(k).is_some_and(|(_, o)| *o))
        .cloned()
        .collect();
    if spelled.is_empty() {
        return outcome;
    }
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let text = raw_override_file(&case.file_name, &spelled);
    std::fs::write(dir.join(&case.file_name), &text)
        .unwrap_or_else(|e| panic!("write overrides: {e}"));
    match load(harness, dir) {
        Ok(loaded) => {
            for (k, spelling) in &spelled {
                outcome.overrides_checked += 1;
                let (want, _) = &case.intended[k];
                let got = loaded.keys.get(k).cloned().unwrap_or_default();
                if let Err(why) = same_value(want, &got.raw, &got.typed) {
                    outcome.problems.push((
                        format!("override `{k}` means something else to Flink"),
                        format!("override `{k}` {spelling:?}: {why}"),
                    ));
                }
            }
        }
        Err(e) => outcome.problems.push((
            "Flink cannot load the overrides as spelled".into(),
            format!("{e}\n{text}"),
        )),
    }
    let _ = std::fs::remove_dir_all(dir);
    outcome
}

/// A config file as flinkgen would write these values (strings quoted in config.yaml).
fn control_file(file_name: &str, entries: &[(&str, String)]) -> String {
    let mut text = String::from("# control\n");
    for (k, v) in entries {
        if file_name == "flink-conf.yaml" {
            let _ = writeln!(text, "{k}: {v}");
        } else {
            let _ = writeln!(text, "{k}: \"{v}\"");
        }
    }
    text
}

/// Configs with a known defect each, and the disagreement the check must report for it: a
/// check that finds nothing in flinkgen's files must still find these.
fn controls(minor: &str, file_name: &str) -> Vec<(Case, &'static str)> {
    // Before the 1.20 renames (FLIP-406) the checkpoint keys are the state.* ones.
    let legacy = minor == "1.18" || minor == "1.19";
    let incremental = if legacy {
        "state.backend.incremental"
    } else {
        "execution.checkpointing.incremental"
    };
    let storage = if legacy {
        "state.checkpoint-storage"
    } else {
        "execution.checkpointing.storage"
    };
    let dir = if legacy {
        "state.checkpoints.dir"
    } else {
        "execution.checkpointing.dir"
    };
    let base: Vec<(&str, Value)> = vec![
        ("parallelism.default", Value::Int(4)),
        (
            "taskmanager.memory.jvm-metaspace.size",
            Value::Bytes(256 << 20),
        ),
        ("execution.checkpointing.interval", Value::Millis(30_000)),
        ("state.backend.type", Value::Str("rocksdb".into())),
        (incremental, Value::Bool(true)),
        (storage, Value::Str("filesystem".into())),
        (dir, Value::Str("s3://bucket/job/checkpoints".into())),
    ];
    type Mutation = (
        &'static str,
        &'static str,
        Vec<(&'static str, Option<Value>)>,
        Vec<(&'static str, Option<&'static str>)>,
    );
    // (name, expected kind, changes to the plan, changes to the file)
    let mutations: Vec<Mutation> = vec![
        ("clean", "", vec![], vec![]),
        (
            "unknown key",
            "is unknown",
            vec![("pipeline.nmae", Some(Value::Str("x".into())))],
            vec![("pipeline.nmae", Some("x"))],
        ),
        (
            "deprecated key",
            "is deprecated",
            vec![("execution.checkpointing.unaligned", Some(Value::Bool(true)))],
            vec![("execution.checkpointing.unaligned", Some("true"))],
        ),
        (
            "magnitude",
            "read as another value",
            vec![],
            vec![("taskmanager.memory.jvm-metaspace.size", Some("256k"))],
        ),
        (
            "type",
            "read as another value",
            vec![("execution.checkpointing.interval", Some(Value::Int(30)))],
            vec![("execution.checkpointing.interval", Some("30"))],
        ),
        (
            "backend",
            "state backend EmbeddedRocksDBStateBackend intended",
            vec![],
            vec![("state.backend.type", Some("hashmap"))],
        ),
        (
            "missing key",
            "missing from Flink's map",
            vec![("pipeline.name", Some(Value::Str("x".into())))],
            vec![],
        ),
        (
            "extra key",
            "the plan does not",
            vec![],
            vec![("pipeline.name", Some("x"))],
        ),
        (
            "checkpoint directory",
            "checkpoint directory differs",
            vec![],
            vec![(dir, Some("s3://bucket/other/checkpoints"))],
        ),
        (
            "incremental",
            "incremental checkpoints differ",
            vec![],
            vec![(incremental, Some("false"))],
        ),
        (
            "storage",
            "checkpoint storage FileSystemCheckpointStorage intended",
            vec![],
            vec![(storage, Some("jobmanager")), (dir, None)],
        ),
    ];
    mutations
        .into_iter()
        .map(|(name, expect, plan_changes, file_changes)| {
            let mut intended: BTreeMap<String, (Value, bool)> = base
                .iter()
                .map(|(k, v)| (k.to_string(), (v.clone(), false)))
                .collect();
            for (k, v) in plan_changes {
                match v {
                    Some(v) => intended.insert(k.to_string(), (v, false)),
                    None => intended.remove(k),
                };
            }
            let mut file: BTreeMap<&str, String> =
                base.iter().map(|(k, v)| (*k, v.flink_text())).collect();
            for (k, v) in file_changes {
                match v {
                    Some(v) => file.insert(k, v.to_string()),
                    None => file.remove(k),
                };
            }
            let entries: Vec<(&str, String)> = file.into_iter().collect();
            let case = Case {
                name: format!("control `{name}`"),
                source: Source::Example,
                file_name: file_name.to_string(),
                file_text: control_file(file_name, &entries),
                intended,
                overrides: vec![],
                profile: None,
            };
            (case, expect)
        })
        .collect()
}

/// Run the controls: `Err` names each defect the check did not report as expected.
fn run_controls(harness: &mut Harness, minor: &str, work: &Path) -> Result<usize, String> {
    let files: &[&str] = match minor {
        "1.18" => &["flink-conf.yaml"],
        "1.19" | "1.20" => &["flink-conf.yaml", "config.yaml"],
        _ => &["config.yaml"],
    };
    let mut blind = vec![];
    let mut n = 0;
    for file_name in files {
        for (case, expect) in controls(minor, file_name) {
            n += 1;
            let outcome = check_case(harness, &case, &work.join("control"));
            let kinds: Vec<&str> = outcome.problems.iter().map(|(k, _)| k.as_str()).collect();
            let caught = if expect.is_empty() {
                kinds.is_empty()
            } else {
                kinds.iter().any(|k| k.contains(expect))
            };
            if !caught {
                blind.push(format!(
                    "{} in {file_name}: expected {}, got {kinds:?}\n{}",
                    case.name,
                    if expect.is_empty() {
                        "no disagreement".to_string()
                    } else {
                        format!("`… {expect} …`")
                    },
                    case.file_text
                ));
            }
        }
    }
    if blind.is_empty() {
        Ok(n)
    } else {
        Err(blind.join("\n"))
    }
}

fn run_version(minor: &str, full: &str) {
    let Some(jars) = prerequisites(full) else {
        return;
    };
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (example_cases, other_versions) = example_cases(minor);
    let (profile_cases, pstats) = profile_cases(minor, work.path());
    let cases: Vec<&Case> = example_cases
        .iter()
        .copied()
        .chain(profile_cases.iter())
        .collect();
    let generated = started.elapsed();

    let mut harness = start_harness(full, &jars);
    let info: BTreeMap<String, String> = ask(&mut harness, "INFO")
        .unwrap_or_else(|e| panic!("harness INFO: {e}"))
        .into_iter()
        .collect();
    let controls = run_controls(&mut harness, minor, work.path()).unwrap_or_else(|blind| {
        panic!("the Flink {full} config cross-check is blind to defects it must report:\n{blind}")
    });

    let mut disagreements: Vec<Disagreement> = vec![];
    let mut files: BTreeMap<String, usize> = BTreeMap::new();
    let mut backends: BTreeMap<String, usize> = BTreeMap::new();
    let mut storages: BTreeMap<String, usize> = BTreeMap::new();
    let mut unverified: BTreeMap<String, usize> = BTreeMap::new();
    let mut normalized: BTreeMap<String, usize> = BTreeMap::new();
    let mut distinct: BTreeMap<String, usize> = BTreeMap::new();
    let (mut keys, mut overrides_checked, mut agreeing) = (0, 0, 0);
    for (n, case) in cases.iter().enumerate() {
        *files.entry(case.file_name.clone()).or_default() += 1;
        for k in case.intended.keys() {
            *distinct.entry(k.clone()).or_default() += 1;
        }
        let outcome = check_case(&mut harness, case, &work.path().join(format!("case-{n}")));
        keys += outcome.keys;
        overrides_checked += outcome.overrides_checked;
        *backends.entry(outcome.backend.clone()).or_default() += 1;
        *storages.entry(outcome.storage.clone()).or_default() += 1;
        for k in &outcome.unverified {
            *unverified.entry(k.clone()).or_default() += 1;
        }
        for s in &outcome.normalized {
            let key = s.split(':').next().unwrap_or_default().to_string();
            *normalized.entry(key).or_default() += 1;
        }
        if outcome.problems.is_empty() {
            agreeing += 1;
        }
        for (kind, detail) in &outcome.problems {
            let mut r = format!(
                "[Flink {full}] {}: {kind}\n  {detail}\n  {}:\n",
                case.name, case.file_name
            );
            for l in case.file_text.lines().filter(|l| !l.starts_with('#')) {
                let _ = writeln!(r, "    {l}");
            }
            if let Some(p) = &case.profile {
                let _ = writeln!(
                    r,
                    "  profile:\n    {}",
                    p.trim_end().replace('\n', "\n    ")
                );
            }
            disagreements.push(Disagreement {
                kind: format!("{kind} ({})", source_word(case.source)),
                name: case.name.clone(),
                size: case.file_text.len() + case.profile.as_ref().map_or(0, String::len),
                report: r,
            });
        }
    }
    drop(harness);
    let elapsed = started.elapsed();

    let show = |m: &BTreeMap<String, usize>| {
        m.iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut summary = format!(
        "Flink {full}: {} configs in {:.1}s (generation {:.1}s): {} examples ({other_versions} example jobs of other versions), {} profiles ({} generated, {} rejected by flinkgen); {agreeing} agree; {controls} controls caught\n",
        cases.len(),
        elapsed.as_secs_f64(),
        generated.as_secs_f64(),
        example_cases.len(),
        profile_cases.len(),
        pstats.generated,
        pstats.rejected,
    );
    let _ = writeln!(summary, "  files: {}", show(&files));
    let _ = writeln!(
        summary,
        "  keys checked: {keys} ({} distinct); override spellings checked: {overrides_checked}",
        distinct.len()
    );
    let _ = writeln!(summary, "  state backends: {}", show(&backends));
    let _ = writeln!(summary, "  checkpoint storage: {}", show(&storages));
    let _ = writeln!(
        summary,
        "  catalogue: {} options ({} keys) from {} option classes in flink-dist, {} RocksDB options{}",
        info.get("options").map_or("?", String::as_str),
        info.get("keys").map_or("?", String::as_str),
        info.get("classes").map_or("?", String::as_str),
        info.get("rocksdb-options").map_or("?", String::as_str),
        info.get("failed-classes")
            .filter(|f| !f.is_empty())
            .map(|f| format!("; classes that did not load: {f}"))
            .unwrap_or_default()
    );
    if !unverified.is_empty() {
        let _ = writeln!(
            summary,
            "  unverified (options outside flink-dist, e.g. filesystem plugins): {}",
            show(&unverified)
        );
    }
    if !normalized.is_empty() {
        let _ = writeln!(
            summary,
            "  values Flink's map spells differently (same value): {}",
            show(&normalized)
        );
    }
    if std::env::var_os("FLINK_CONFIG_KEYS").is_some() {
        let _ = writeln!(summary, "  keys: {}", show(&distinct));
    }
    let _ = writeln!(summary, "  disagreements: {}", disagreements.len());
    println!("{summary}");

    assert!(
        profile_cases.len() >= MIN_PROFILES,
        "only {} of {} generated profiles compiled (need {MIN_PROFILES}); the first rejection:\n{}",
        profile_cases.len(),
        pstats.generated,
        pstats.first_rejection.unwrap_or_default()
    );
    if !disagreements.is_empty() {
        panic!(
            "Flink {full} reads flinkgen's config differently from the plan in {} places\n{summary}\n{}",
            disagreements.len(),
            disagreement_report(&disagreements)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Deprecated keys as overrides
// ---------------------------------------------------------------------------------------------

/// A job profile that overrides one Flink key.
fn probe_profile(minor: &str, i: usize, key: &str, value: &str) -> String {
    let connector = match minor {
        "1.18" => "3.2.0",
        m if m.starts_with('2') => "5.0.0",
        _ => "3.4.0",
    };
    format!(
        "job \"dep-{i}\" {{\n    environment \"prod\"\n    flink version=\"{minor}\" operator=\"1.15\"\n    kafka cluster=\"main\" connector=\"{connector}\"\n    delivery \"none\"\n    source \"in\" topic=\"in.{i}\" partitions=4 format=\"json\"\n    instance \"m6i.4xlarge\"\n    kubernetes namespace=\"streaming\" image=\"flink:{minor}\"\n    artifact jar=\"local:///opt/flink/usrlib/job.jar\"\n    override \"flink\" {} {}\n}}\n",
        kdl_str(key),
        kdl_str(value)
    )
}

fn probe_deprecated(minor: &str, full: &str) {
    let Some(jars) = prerequisites(full) else {
        return;
    };
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut harness = start_harness(full, &jars);
    // (key, classification, default) of every key Flink reads only as a deprecated or
    // fallback key.
    let mut keys: Vec<(String, String, String)> = vec![];
    for (name, value) in
        ask(&mut harness, "CATALOG").unwrap_or_else(|e| panic!("harness CATALOG: {e}"))
    {
        match name.as_str() {
            "key" => keys.push((value, String::new(), String::new())),
            "class" => {
                if let Some(k) = keys.last_mut() {
                    k.1 = value;
                }
            }
            "default" => {
                if let Some(k) = keys.last_mut() {
                    k.2 = value;
                }
            }
            _ => {}
        }
    }
    keys.retain(|(_, class, _)| class.starts_with("deprecated") || class.starts_with("fallback"));
    assert!(
        !keys.is_empty(),
        "Flink {full}'s catalogue has no deprecated keys"
    );
    // A value flinkgen reads for the key: its default, or 1.
    let value = |default: &str| {
        if default.is_empty() || default.contains(['#', '\n', '\r']) || default.trim() != default {
            "1".to_string()
        } else {
            default.to_string()
        }
    };

    // One compile for all: the errors name the profiles flinkgen refuses.
    let dir = work.path().join("probe");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
    std::fs::write(dir.join("cluster.kdl"), CLUSTER).unwrap_or_else(|e| panic!("write: {e}"));
    for (i, (key, _, default)) in keys.iter().enumerate() {
        std::fs::write(
            dir.join(format!("job-{i}.kdl")),
            probe_profile(minor, i, key, &value(default)),
        )
        .unwrap_or_else(|e| panic!("write: {e}"));
    }
    let mut refused: BTreeMap<usize, String> = BTreeMap::new();
    if let Err((errors, sources)) = compile(&Options {
        inputs: vec![dir.clone()],
        ..Default::default()
    }) {
        for d in &errors.0 {
            for l in &d.labels {
                let file = &sources.get(l.span.file).name;
                if let Some(i) = file
                    .rsplit('/')
                    .next()
                    .and_then(|f| f.strip_prefix("job-"))
                    .and_then(|f| f.strip_suffix(".kdl"))
                    .and_then(|i| i.parse::<usize>().ok())
                {
                    refused.entry(i).or_insert_with(|| d.message.clone());
                }
            }
        }
    }
    // Refused, but not as deprecated or removed: flinkgen did not read the value.
    let other_reasons: Vec<String> = refused
        .iter()
        .filter(|(_, m)| !m.contains("deprecated") && !m.contains("removed"))
        .map(|(i, m)| format!("{}: {m}", keys[*i].0))
        .collect();
    for i in refused.keys() {
        let _ = std::fs::remove_file(dir.join(format!("job-{i}.kdl")));
    }

    // The accepted ones: what flinkgen writes, and what Flink makes of it.
    let env = flinkgen::render::environment(None).unwrap_or_else(|d| panic!("{}", d.message));
    let accepted: Vec<usize> = (0..keys.len())
        .filter(|i| !refused.contains_key(i))
        .collect();
    let mut report = vec![];
    if !accepted.is_empty() {
        let rendered = compile_and_render(vec![dir.clone()], &env).unwrap_or_else(|e| {
            panic!("the profiles flinkgen accepted one by one do not compile together:\n{e}")
        });
        for i in &accepted {
            let (key, class, _) = &keys[*i];
            let Some((_, r)) = rendered.get(&format!("dep-{i}")) else {
                continue;
            };
            let case_dir = work.path().join(format!("dep-{i}"));
            std::fs::create_dir_all(&case_dir).unwrap_or_else(|e| panic!("mkdir: {e}"));
            std::fs::write(case_dir.join(&r.file_name), &r.file_text)
                .unwrap_or_else(|e| panic!("write: {e}"));
            let flink_class = load(&mut harness, &case_dir)
                .ok()
                .and_then(|l| l.keys.get(key).map(|k| k.class.clone()))
                .unwrap_or_else(|| format!("not in Flink's map (catalogue: {class})"));
            // The option it is a deprecated key of, when flinkgen writes that key too: Flink
            // reads the current key and ignores the override.
            let current = class
                .split('`')
                .nth(1)
                .filter(|k| r.intended.contains_key(*k))
                .map(|k| format!("; flinkgen also writes `{k}`, which Flink reads instead: the override has no effect"))
                .unwrap_or_default();
            report.push(format!(
                "  {key} = {:?} → {} — Flink {full}: {flink_class}{current}",
                value(&keys[*i].2),
                r.file_name
            ));
        }
    }
    drop(harness);
    println!(
        "Flink {full}: {} keys read only as deprecated or fallback keys; flinkgen refuses {} as overrides ({} for another reason), accepts {}",
        keys.len(),
        refused.len(),
        other_reasons.len(),
        report.len()
    );
    assert!(
        report.is_empty(),
        "flinkgen accepts {} of the {} keys Flink {full} reads only as deprecated or fallback keys as `override \"flink\"` and writes them into the Flink config (README: deprecated aliases are errors naming the replacement):\n{}{}",
        report.len(),
        keys.len(),
        report.join("\n"),
        if other_reasons.is_empty() {
            String::new()
        } else {
            format!(
                "\nrefused for another reason (value not read):\n  {}",
                other_reasons.join("\n  ")
            )
        }
    );
}

fn source_word(s: Source) -> &'static str {
    match s {
        Source::Example => "example",
        Source::Profile => "profile",
    }
}
