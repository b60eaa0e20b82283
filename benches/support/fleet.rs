//! Generated fleets and policy packs for the benchmarks (`benches/pipeline.rs`) and their sanity
//! test (`tests/fleet.rs`, which includes this file with `#[path]`).
//!
//! * [`write_fleet`]: N job profiles spread over several Kafka clusters (one cluster per ~75 jobs,
//!   at least 5), one `.kdl` file per job and per cluster. Deterministic: a seeded xorshift, no
//!   dependency. Varied like a real fleet: Flink 1.18–2.3 with operator and connector releases that
//!   support them (`policies/operator/*.kdl`, `policies/connector/*.kdl`), every delivery guarantee,
//!   stateless / heap / RocksDB state of many sizes, instance types of all three clouds' catalogs,
//!   one or two sources and sinks, security, overrides of every target.
//! * [`write_packs`]: a `--policies` directory of organisation packs whose size is `scale` times
//!   the built-in practice pack (`policies/practice/flinkgen.kdl`, the only built-in pack of
//!   rules, params and assertions), in rules, params and assertions that apply to the generated
//!   jobs, are all valid and never conflict.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// xorshift64*: small, seeded, deterministic across runs and machines.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Uniform in [lo, hi].
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// The seed of every fleet the benchmarks build.
pub const SEED: u64 = 0x5eed_f1ee_7000_0001;

/// Jobs per cluster (on average).
pub const JOBS_PER_CLUSTER: usize = 75;

/// Flink minor → (weight, operator releases that accept it, connector releases built for it).
/// Flink 2.3 has neither: no released operator CRD lists v2_3 and no connector is built for it;
/// a few such jobs get their error findings, as early adopters do.
const FLINK: &[(&str, u64, &[&str], &[&str])] = &[
    (
        "1.18",
        8,
        &["1.10", "1.11", "1.12", "1.13"],
        &["3.0.2", "3.1.0", "3.2.0"],
    ),
    (
        "1.19",
        12,
        &["1.11", "1.12", "1.13", "1.14"],
        &["3.2.0", "3.3.0"],
    ),
    (
        "1.20",
        35,
        &["1.12", "1.13", "1.14", "1.15"],
        &["3.3.0", "3.4.0"],
    ),
    (
        "2.0",
        15,
        &["1.12", "1.13", "1.14", "1.15"],
        &["4.0.0", "4.0.1"],
    ),
    ("2.1", 12, &["1.13", "1.14", "1.15"], &["5.0.0"]),
    ("2.2", 16, &["1.14", "1.15"], &["5.0.0"]),
    ("2.3", 2, &["1.15"], &["5.0.0"]),
];

const INSTANCES: &[&str] = &[
    "m6gd.2xlarge",
    "m6gd.4xlarge",
    "m6gd.8xlarge",
    "m7gd.4xlarge",
    "m5d.4xlarge",
    "m6i.4xlarge",
    "r6gd.4xlarge",
    "r6id.4xlarge",
    "r7gd.4xlarge",
    "i4i.4xlarge",
    "i3en.3xlarge",
    "c6gd.4xlarge",
    "Standard_D16ds_v5",
    "Standard_D16ds_v6",
    "Standard_E16ds_v5",
    "Standard_E16ds_v6",
    "Standard_L16s_v3",
    "n2-standard-16",
    "n2-standard-32",
    "n2-highmem-16",
    "c3d-standard-30-lssd",
    "c3d-highmem-30-lssd",
];

const ENVIRONMENTS: &[&str] = &["prod", "prod", "prod", "staging", "dev"];
const FORMATS: &[&str] = &["json", "avro-confluent", "avro", "raw"];

/// What a generated fleet holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetInfo {
    pub jobs: usize,
    pub clusters: usize,
}

/// Number of clusters for `jobs` jobs: one per ~75 jobs, at least 5.
pub fn cluster_count(jobs: usize) -> usize {
    jobs.div_ceil(JOBS_PER_CLUSTER).max(5)
}

struct Cluster {
    name: String,
}

/// Write `jobs` job profiles and their clusters into `dir` (created if missing):
/// `dir/clusters/<cluster>.kdl`, `dir/jobs/<job>.kdl`.
pub fn write_fleet(dir: &Path, jobs: usize, seed: u64) -> io::Result<FleetInfo> {
    let mut rng = Rng::new(seed);
    let nclusters = cluster_count(jobs);
    std::fs::create_dir_all(dir.join("clusters"))?;
    std::fs::create_dir_all(dir.join("jobs"))?;
    let mut clusters = vec![];
    for c in 0..nclusters {
        let (cluster, text) = cluster_profile(&mut rng, c);
        std::fs::write(
            dir.join("clusters").join(format!("{}.kdl", cluster.name)),
            text,
        )?;
        clusters.push(cluster);
    }
    for i in 0..jobs {
        // Round-robin with a random offset: every cluster gets about jobs/nclusters jobs.
        let c = &clusters[(i + rng.below(2) as usize) % nclusters];
        let (name, text) = job_profile(&mut rng, i, c);
        std::fs::write(dir.join("jobs").join(format!("{name}.kdl")), text)?;
    }
    Ok(FleetInfo {
        jobs,
        clusters: nclusters,
    })
}

fn cluster_profile(rng: &mut Rng, c: usize) -> (Cluster, String) {
    let name = format!("kafka-{c:03}");
    let kafka = *rng.pick(&["3.6", "3.7", "3.8", "3.9", "3.9", "4.0", "4.1"]);
    let brokers = *rng.pick(&[3, 3, 5, 6, 9]);
    let mut p = String::new();
    let _ = writeln!(p, "// generated by benches/support/fleet.rs");
    let _ = writeln!(p, "cluster \"{name}\" {{");
    let _ = writeln!(
        p,
        "    kafka version=\"{kafka}\" brokers={brokers} bootstrap=\"{name}-bootstrap.kafka.svc:9093\""
    );
    let kafka4 = kafka.starts_with('4');
    match rng.below(10) {
        0..=4 => {
            let v = if kafka4 {
                *rng.pick(&["0.46.1", "0.47.0"])
            } else {
                "0.45.1"
            };
            let _ = writeln!(p, "    deployment \"strimzi\" version=\"{v}\"");
        }
        5..=6 => {
            let v = *rng.pick(&["31.1.0", "32.4.4"]);
            let _ = writeln!(p, "    deployment \"bitnami\" version=\"{v}\"");
        }
        // No `deployment "managed"` clusters: they get no files, and `flinkgen build` fails on
        // a unit without files ("cannot replace clusters/<name>: No such file or directory",
        // emit stages nothing for it). Add them back (`9 => managed`) once emit handles that.
        _ => {
            let _ = writeln!(p, "    deployment \"plain\"");
        }
    }
    // Broker settings for exactly-once fleets: long transactions, a long transactional-id expiry.
    let _ = writeln!(p, "    broker \"transaction.max.timeout.ms\" 7200000");
    let _ = writeln!(
        p,
        "    broker \"transactional.id.expiration.ms\" 1296000000"
    );
    let _ = writeln!(p, "    broker \"min.insync.replicas\" 2");
    let _ = writeln!(p, "    broker \"default.replication.factor\" 3");
    if rng.percent(50) {
        let _ = writeln!(
            p,
            "    broker \"transaction.state.log.replication.factor\" 3"
        );
        let _ = writeln!(p, "    broker \"transaction.state.log.min.isr\" 2");
    }
    // Some shared, long-retained topics.
    for t in 0..rng.range(0, 3) {
        let _ = writeln!(
            p,
            "    topic \"{name}.shared-{t}\" retention=\"21d\" replication=3"
        );
    }
    p.push_str("}\n");
    (Cluster { name }, p)
}

fn flink_version(
    rng: &mut Rng,
) -> &'static (
    &'static str,
    u64,
    &'static [&'static str],
    &'static [&'static str],
) {
    let total: u64 = FLINK.iter().map(|f| f.1).sum();
    let mut x = rng.below(total);
    for f in FLINK {
        if x < f.1 {
            return f;
        }
        x -= f.1;
    }
    &FLINK[FLINK.len() - 1]
}

fn job_profile(rng: &mut Rng, i: usize, cluster: &Cluster) -> (String, String) {
    let name = format!("job-{i:05}");
    let (flink, _, operators, connectors) = *flink_version(rng);
    let operator = *rng.pick(operators);
    let connector = *rng.pick(connectors);
    let connector3 = connector.starts_with('3');
    let delivery = *rng.pick(&[
        "exactly-once",
        "exactly-once",
        "at-least-once",
        "at-least-once",
        "none",
    ]);
    let environment = *rng.pick(ENVIRONMENTS);
    let mut p = String::new();
    let _ = writeln!(p, "// generated by benches/support/fleet.rs");
    let _ = writeln!(p, "job \"{name}\" {{");
    let _ = writeln!(p, "    environment \"{environment}\"");
    if (flink == "1.19" || flink == "1.20") && rng.percent(20) {
        let _ = writeln!(
            p,
            "    flink version=\"{flink}\" operator=\"{operator}\" config-file=\"config.yaml\""
        );
    } else {
        let _ = writeln!(p, "    flink version=\"{flink}\" operator=\"{operator}\"");
    }
    let _ = writeln!(
        p,
        "    kafka cluster=\"{}\" connector=\"{connector}\"",
        cluster.name
    );
    let _ = writeln!(p, "    delivery \"{delivery}\"");
    let stateful = match rng.below(10) {
        0..=5 => {
            let size = *rng.pick(&["2GiB", "8GiB", "40GiB", "120GiB", "300GiB", "1.5GiB"]);
            let _ = writeln!(p, "    state size=\"{size}\" backend=\"rocksdb\"");
            true
        }
        6..=7 => {
            let size = *rng.pick(&["256MiB", "1GiB", "2GiB"]);
            let _ = writeln!(p, "    state size=\"{size}\" backend=\"hashmap\"");
            true
        }
        _ => false,
    };
    let partitions = *rng.pick(&[2, 4, 8, 12, 16, 24, 32, 48]);
    if rng.percent(80) {
        let _ = writeln!(
            p,
            "    throughput records-per-second={} record-size=\"{}B\"",
            rng.range(1, 50) * 1000,
            rng.pick(&[128, 256, 512, 800, 1024, 2048])
        );
    }
    if rng.percent(25) {
        let par = partitions.min(16);
        let _ = writeln!(
            p,
            "    parallelism {par} max={}",
            rng.pick(&[128, 256, 720])
        );
    }
    if stateful && rng.percent(20) {
        let _ = writeln!(
            p,
            "    exchanges {} fan-in={partitions} fan-out={partitions}",
            rng.range(1, 3)
        );
    }
    // Sources: the job's own topic, sometimes a cluster's shared one too.
    let fmt = *rng.pick(FORMATS);
    let _ = writeln!(
        p,
        "    source \"in\" topic=\"{name}.in\" partitions={partitions} format=\"{fmt}\""
    );
    if rng.percent(20) {
        let _ = writeln!(
            p,
            "    source \"lookup\" topic=\"{name}.lookup\" partitions={partitions} format=\"{fmt}\""
        );
    }
    let _ = writeln!(
        p,
        "    sink \"out\" topic=\"{name}.out\" partitions={partitions} format=\"{fmt}\""
    );
    if rng.percent(15) {
        let _ = writeln!(
            p,
            "    sink \"audit\" topic=\"{name}.audit\" partitions={} format=\"json\"",
            partitions.min(8)
        );
    }
    if delivery != "none" || rng.percent(30) {
        let _ = writeln!(
            p,
            "    checkpoint interval=\"{}\"",
            rng.pick(&["20s", "30s", "1min", "2min"])
        );
    }
    if delivery == "exactly-once" && rng.percent(60) {
        let _ = writeln!(
            p,
            "    recovery max-downtime=\"{}min\" restorable-for=\"{}d\"",
            rng.pick(&[10, 15, 20, 30]),
            rng.pick(&[1, 3, 5])
        );
    }
    if rng.percent(20) {
        let _ = writeln!(
            p,
            "    instance \"{}\" count={}",
            rng.pick(INSTANCES),
            rng.range(4, 8)
        );
    } else {
        let _ = writeln!(p, "    instance \"{}\"", rng.pick(INSTANCES));
    }
    let ns = *rng.pick(&["streaming", "analytics", "payments", "risk"]);
    let _ = writeln!(
        p,
        "    kubernetes namespace=\"{ns}\" image=\"registry.acme.internal/flink/{name}:{flink}\" \\"
    );
    let _ = writeln!(
        p,
        "        upgrade-mode=\"{}\" storage=\"s3://acme-flink/{name}\"",
        rng.pick(&["savepoint", "last-state"])
    );
    if rng.percent(20) {
        let _ = writeln!(
            p,
            "    artifact jar=\"local:///opt/flink/usrlib/sql-runner.jar\" sql=\"/opt/flink/usrlib/sql/{name}.sql\""
        );
    } else {
        let _ = writeln!(
            p,
            "    artifact jar=\"local:///opt/flink/usrlib/{name}.jar\" entry-class=\"com.acme.Job{i}\" {{"
        );
        let _ = writeln!(p, "        args \"--job\" \"{name}\"");
        let _ = writeln!(p, "    }}");
    }
    match rng.below(10) {
        0..=2 => {}
        3..=4 => {
            let _ = writeln!(p, "    security protocol=\"SSL\"");
        }
        _ => {
            let mechanism = *rng.pick(&["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]);
            let _ = writeln!(
                p,
                "    security protocol=\"SASL_SSL\" sasl-mechanism=\"{mechanism}\" {{"
            );
            if !connector3 && rng.percent(30) {
                let _ = writeln!(p, "        username env=\"KAFKA_USER\"");
                let _ = writeln!(p, "        password env=\"KAFKA_PASSWORD\"");
            } else {
                let _ = writeln!(
                    p,
                    "        username secret=\"kafka-{name}\" key=\"username\""
                );
                let _ = writeln!(
                    p,
                    "        password secret=\"kafka-{name}\" key=\"password\""
                );
            }
            let _ = writeln!(p, "    }}");
        }
    }
    // Overrides: none for most jobs, up to three of different targets for some.
    let mut overrides: Vec<&str> = vec![];
    for _ in 0..rng.below(4) {
        let o = *rng.pick(&[
            "\"flink\" \"taskmanager.memory.jvm-metaspace.size\" \"320m\"",
            "\"flink\" \"pipeline.object-reuse\" \"true\"",
            "\"flink\" \"execution.buffer-timeout.interval\" \"50 ms\"",
            "\"producer\" \"compression.type\" \"zstd\"",
            "\"producer\" \"linger.ms\" 20",
            "\"producer\" \"batch.size\" 131072",
            "\"consumer\" \"max.poll.records\" 1000",
            "\"consumer\" \"fetch.min.bytes\" 65536",
            "\"kubernetes\" \"jobmanager.cpu\" \"500m\"",
        ]);
        if !overrides.contains(&o) {
            overrides.push(o);
        }
    }
    for o in overrides {
        let _ = writeln!(p, "    override {o}");
    }
    p.push_str("}\n");
    (name, p)
}

/// What a generated pack directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PackInfo {
    pub packs: usize,
    pub rules: usize,
    pub params: usize,
    pub asserts: usize,
    pub bytes: usize,
}

/// The built-in practice pack's size: the unit of [`write_packs`]'s `scale`.
/// (`policies/practice/flinkgen.kdl`: 43 params and 6 rules, 10 `set`s, in ~10 KB.)
pub const BUILTIN_PRACTICE_RULES: usize = 6;
pub const BUILTIN_PRACTICE_PARAMS: usize = 43;

/// Flink keys organisation rules may set (key, KDL value), in every Flink version's catalogue.
/// Packs that set the same key set the same value, so rules of one layer never disagree.
const ORG_FLINK_KEYS: &[(&str, &str)] = &[
    ("pipeline.object-reuse", "#true"),
    ("execution.buffer-timeout.interval", "\"100 ms\""),
    ("state.backend.rocksdb.thread.num", "4"),
    ("table.exec.mini-batch.enabled", "#true"),
];

/// Write organisation packs totalling `scale` × the built-in practice pack into `dir`:
/// `scale` packs, each with 6 rules that set values (conditions on the job's facts),
/// 43 parameters and some assertions that hold for every generated job.
pub fn write_packs(dir: &Path, scale: usize) -> io::Result<PackInfo> {
    std::fs::create_dir_all(dir)?;
    let mut info = PackInfo::default();
    // Parameters every pack may restate; same values as the practice pack's, so the plan
    // does not change with the scale (only the cost of finding them does).
    let params: &[(&str, &str)] = &[
        ("checkpoint.interval", "\"60s\""),
        ("checkpoint.timeout", "\"10min\""),
        ("checkpoint.min-pause-ratio", "0.5"),
        ("checkpoint.tolerable-failed", "3"),
        ("recovery.max-downtime", "\"15min\""),
        ("recovery.restorable-for", "\"3d\""),
        ("kafka.transaction-margin", "\"5min\""),
        ("memory.metaspace", "\"256MiB\""),
        ("memory.network-margin", "1.5"),
        ("memory.rocksdb-headroom", "0.1"),
    ];
    for k in 0..scale {
        let mut p = String::new();
        let _ = writeln!(
            p,
            "// generated by benches/support/fleet.rs (pack {k} of {scale})"
        );
        let _ = writeln!(
            p,
            "pack \"acme-platform-{k:03}\" version=\"2026.11.{k}\" layer=\"organisation\" {{"
        );
        let _ = writeln!(
            p,
            "    doc \"Generated organisation pack {k}: defaults and constraints of one platform team.\""
        );
        let _ = writeln!(p, "    source \"benches/support/fleet.rs\"");
        // Params: ten real ones (only the first pack, an organisation value per name), then
        // team-specific ones nothing reads (realistic: packs carry parameters for their own rules).
        let mut n = 0;
        if k == 0 {
            for (name, v) in params {
                let _ = writeln!(p, "    param \"{name}\" {v}");
                n += 1;
            }
        }
        while n < BUILTIN_PRACTICE_PARAMS {
            let _ = writeln!(p, "    param \"team-{k}.limit-{n}\" {}", 100 + n);
            n += 1;
        }
        info.params += n;
        // Rules that set values: each (doc, key) by one rule of all packs, or, when the key
        // list is used up, restating a value that is already identical.
        for r in 0..BUILTIN_PRACTICE_RULES {
            let id = format!("team-{k}-rule-{r}");
            let _ = writeln!(p, "    rule \"{id}\" {{");
            let _ = writeln!(
                p,
                "        doc \"Generated rule {r} of pack {k}: a conditional default.\""
            );
            match r {
                0 => {
                    let _ = writeln!(
                        p,
                        "        when \"job.delivery != 'none' and job.sinks > 0\""
                    );
                    let _ = writeln!(p, "        set \"producer\" \"acks\" \"all\"");
                }
                1 => {
                    let _ = writeln!(
                        p,
                        "        when \"job.delivery == 'exactly-once' and job.sources > 0\""
                    );
                    let _ = writeln!(
                        p,
                        "        set \"consumer\" \"isolation.level\" \"read_committed\""
                    );
                }
                2 => {
                    let _ = writeln!(p, "        when \"job.state_backend == 'rocksdb'\"");
                    let _ = writeln!(p, "        set \"flink\" \"@incremental\" #true");
                }
                3 => {
                    let (key, value) = ORG_FLINK_KEYS[k % ORG_FLINK_KEYS.len()];
                    let _ = writeln!(p, "        when \"job.stateful or job.sinks > 0\"");
                    let _ = writeln!(p, "        set \"flink\" \"{key}\" {value}");
                }
                4 => {
                    let _ = writeln!(p, "        when \"job.environment == 'prod'\"");
                    let _ = writeln!(
                        p,
                        "        set \"producer\" \"linger.ms\" expr=\"5 if job.delivery == 'exactly-once' else 10\""
                    );
                }
                _ => {
                    let _ = writeln!(
                        p,
                        "        when \"job.stateful or job.delivery == 'exactly-once'\""
                    );
                    let _ = writeln!(
                        p,
                        "        set \"flink\" \"@checkpoint-retention\" \"RETAIN_ON_CANCELLATION\""
                    );
                }
            }
            let _ = writeln!(p, "    }}");
            info.rules += 1;
        }
        // Assertions that hold for every generated job.
        for (a, (cond, expr, about)) in [
            (
                "job.delivery == 'exactly-once'",
                "consumer['isolation.level'] == 'read_committed'",
                ("consumer", "isolation.level"),
            ),
            (
                "job.stateful",
                "job.brokers >= 1 and job.sinks >= 1",
                ("job", "brokers"),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let _ = writeln!(p, "    rule \"team-{k}-assert-{a}\" {{");
            let _ = writeln!(p, "        doc \"Generated constraint {a} of pack {k}.\"");
            let _ = writeln!(p, "        when \"{cond}\"");
            let _ = writeln!(p, "        assert \"{expr}\"");
            let _ = writeln!(p, "        severity \"warning\"");
            let _ = writeln!(
                p,
                "        message \"generated constraint {a} of pack {k}\""
            );
            let _ = writeln!(p, "        help \"see the platform handbook\"");
            let _ = writeln!(p, "        about \"{}\" \"{}\"", about.0, about.1);
            let _ = writeln!(p, "    }}");
            info.asserts += 1;
        }
        p.push_str("}\n");
        info.bytes += p.len();
        std::fs::write(dir.join(format!("acme-platform-{k:03}.kdl")), &p)?;
        info.packs += 1;
    }
    Ok(info)
}
