//! Property tests over generated profiles: values drawn from the schema's value space (enums,
//! ranges, units, optional nodes), with some arbitrary text mixed in. Whatever the profile,
//! load → resolve → check → render never panics; and when it builds, rendering is idempotent
//! and a rebuild against the written output finds no drift.
//!
//! Profiles come in two kinds: *noisy* ones, where any field may hold arbitrary text or a wrong
//! unit (almost all are refused: that exercises the error paths), and *coherent* ones, drawn
//! only from values flinkgen accepts one by one (most build: that exercises idempotence).

mod common;

use proptest::prelude::*;

use flinkgen::app::{Options, build, compile};

fn opt<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop_oneof![1 => Just(None), 2 => s.prop_map(Some)].boxed()
}

/// How often a field holds something it should not: never, in coherent profiles; one draw
/// in twenty per field, in noisy ones.
#[derive(Clone, Copy, Debug)]
enum Noise {
    None,
    Some,
}

/// Text valid for a field — and, with noise, sometimes anything at all.
fn text(valid: &'static [&'static str], noise: Noise) -> BoxedStrategy<String> {
    let valid = proptest::sample::select(valid).prop_map(str::to_string);
    match noise {
        Noise::None => valid.boxed(),
        Noise::Some => prop_oneof![
            40 => valid,
            1 => "\\PC{0,12}",
            1 => "[a-z0-9.:/=#-]{0,16}",
        ]
        .boxed(),
    }
}

fn kdl(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A number with a unit from `units` — and, with noise, sometimes the unit `wrong`.
fn with_unit(
    n: std::ops::Range<u64>,
    units: &'static [&'static str],
    wrong: &'static str,
    noise: Noise,
) -> BoxedStrategy<String> {
    let unit = match noise {
        Noise::None => proptest::sample::select(units).boxed(),
        Noise::Some => prop_oneof![20 => proptest::sample::select(units), 1 => Just(wrong)].boxed(),
    };
    (n, unit).prop_map(|(n, u)| format!("{n}{u}")).boxed()
}

fn size(noise: Noise) -> BoxedStrategy<String> {
    let units = &["B", "KiB", "MiB", "GiB", "TiB", "KB", "MB", "GB"][..];
    with_unit(1..5000, units, "x", noise)
}

fn duration(noise: Noise) -> BoxedStrategy<String> {
    with_unit(0..100_000, &["ms", "s", "min", "h", "d"][..], "m", noise)
}

/// Overrides: coherent ones are (target, key, value) triples that flinkgen accepts; noisy ones
/// combine the three parts freely (a producer key on the Flink target, a size for `acks` …).
fn overrides(noise: Noise) -> BoxedStrategy<Vec<(String, String, String)>> {
    const TRIPLES: &[(&str, &str, &str)] = &[
        ("flink", "pipeline.name", "gen"),
        ("flink", "taskmanager.memory.jvm-metaspace.size", "256m"),
        ("flink", "execution.checkpointing.timeout", "10 min"),
        ("producer", "linger.ms", "20"),
        ("producer", "acks", "all"),
        ("producer", "client.id", "gen-producer"),
        ("consumer", "fetch.max.bytes", "52428800"),
        ("consumer", "client.id", "gen-consumer"),
        ("kubernetes", "taskmanager.cpu", "1500m"),
        ("kubernetes", "jobmanager.cpu", "1"),
    ];
    let one = match noise {
        Noise::None => proptest::sample::select(TRIPLES)
            .prop_map(|(t, k, v)| (t.to_string(), k.to_string(), v.to_string()))
            .boxed(),
        Noise::Some => (
            text(&["flink", "producer", "consumer", "kubernetes"], noise),
            text(
                &[
                    "pipeline.name",
                    "linger.ms",
                    "acks",
                    "client.id",
                    "taskmanager.cpu",
                    "taskmanager.memory.jvm-metaspace.size",
                    "taskmanager.numberOfTaskSlots",
                    "execution.checkpointing.timeout",
                    "fetch.max.bytes",
                ],
                noise,
            ),
            text(
                &["1", "all", "256m", "2", "10 min", "x", "1500m", "true"],
                noise,
            ),
        )
            .boxed(),
    };
    proptest::collection::vec(one, 0..4).boxed()
}

prop_compose! {
    fn job_profile(noise: Noise)(
        flink in text(&["1.18", "1.19", "1.20", "2.0", "2.1", "2.2", "2.3"], noise),
        connector in text(&["3.2.0", "3.3.0", "3.4.0", "4.0.1", "5.0.0"], noise),
        delivery in text(&["none", "at-least-once", "exactly-once"], noise),
        state in opt((size(noise), text(&["rocksdb", "hashmap"], noise))),
        throughput in opt((1u64..2_000_000, size(noise))),
        parallelism in opt((1u32..2000, opt(match noise {
            Noise::None => 2000u32..32768,
            Noise::Some => 1u32..40000,
        }))),
        exchanges in opt((0u32..5, opt(1u32..500))),
        topics in proptest::collection::vec((1u32..200, text(&["json", "avro", "raw", "avro-confluent"], noise)), 1..4),
        interval in opt(duration(noise)),
        backpressure in opt(any::<bool>()),
        recovery in opt((opt(duration(noise)), opt(duration(noise)))),
        instance in match noise {
            Noise::None => text(&["m6gd.4xlarge", "m6i.4xlarge", "r6gd.4xlarge", "n2-standard-16",
                                  "Standard_E16ds_v5", "c6gd.4xlarge"], noise),
            // Two names that are not in the catalog (`did you mean`).
            Noise::Some => text(&["m6gd.4xlarge", "m6i.4xlarge", "m6i.2xlarge", "r6gd.8xlarge"], noise),
        },
        count in opt(1u32..50),
        upgrade in opt(text(&["stateless", "last-state", "savepoint"], noise)),
        storage in opt(text(&["s3://bucket/job", "gs://b/j", "abfss://c@a.dfs.core.windows.net/j"], noise)),
        sasl in opt(text(&["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], noise)),
        overrides in overrides(noise),
    ) -> String {
        let mut s = format!("job \"gen\" {{\n    environment \"dev\"\n    flink version={} operator=\"1.15\"\n    kafka cluster=\"c\" connector={}\n    delivery {}\n",
            kdl(&flink), kdl(&connector), kdl(&delivery));
        if let Some((sz, backend)) = state {
            s += &format!("    state size={} backend={}\n", kdl(&sz), kdl(&backend));
        }
        if let Some((rps, rs)) = throughput {
            s += &format!("    throughput records-per-second={rps} record-size={}\n", kdl(&rs));
        }
        if let Some((p, max)) = parallelism {
            s += &format!("    parallelism {p}{}\n", max.map(|m| format!(" max={m}")).unwrap_or_default());
        }
        if let Some((n, fan)) = exchanges {
            s += &format!("    exchanges {n}{}\n", fan.map(|f| format!(" fan-in={f} fan-out={f}")).unwrap_or_default());
        }
        for (i, (partitions, format)) in topics.iter().enumerate() {
            let kind = if i == 0 { "source" } else { "sink" };
            s += &format!("    {kind} \"t{i}\" topic=\"topic-{i}\" partitions={partitions} format={}\n", kdl(format));
        }
        if interval.is_some() || backpressure.is_some() {
            s += "    checkpoint";
            if let Some(i) = &interval { s += &format!(" interval={}", kdl(i)); }
            if let Some(b) = backpressure { s += &format!(" backpressure=#{b}"); }
            s += "\n";
        }
        if let Some((down, restorable)) = recovery {
            s += "    recovery";
            if let Some(d) = down { s += &format!(" max-downtime={}", kdl(&d)); }
            if let Some(r) = restorable { s += &format!(" restorable-for={}", kdl(&r)); }
            s += "\n";
        }
        s += &format!("    instance {}{}\n", kdl(&instance), count.map(|c| format!(" count={c}")).unwrap_or_default());
        s += "    kubernetes namespace=\"dev\" image=\"flink:2.2\"";
        if let Some(u) = upgrade { s += &format!(" upgrade-mode={}", kdl(&u)); }
        if let Some(st) = storage { s += &format!(" storage={}", kdl(&st)); }
        s += "\n    artifact jar=\"local:///opt/flink/usrlib/j.jar\" entry-class=\"com.acme.Job\"\n";
        if let Some(m) = sasl {
            s += &format!("    security protocol=\"SASL_SSL\" sasl-mechanism={} {{\n        username secret=\"k\" key=\"u\"\n        password secret=\"k\" key=\"p\"\n    }}\n", kdl(&m));
        }
        for (t, k, v) in overrides {
            s += &format!("    override {} {} {}\n", kdl(&t), kdl(&k), kdl(&v));
        }
        s += "}\n";
        s
    }
}

prop_compose! {
    fn cluster_profile(noise: Noise)(
        version in text(&["2.8", "3.4", "3.6", "3.9", "4.0", "4.1"], noise),
        brokers in 1u32..20,
        deployment in prop_oneof![
            Just("deployment \"plain\"".to_string()),
            // Strimzi 0.45 runs Kafka 3.8–3.9 only: coherent profiles leave it out.
            Just(match noise {
                Noise::None => "deployment \"plain\"".to_string(),
                Noise::Some => "deployment \"strimzi\" version=\"0.45.1\"".to_string(),
            }),
            Just("deployment \"bitnami\" version=\"32.4.4\"".to_string()),
            Just("deployment \"managed\" service=\"msk\"".to_string()),
        ],
        brokers_set in proptest::collection::vec(
            (
                text(&["transaction.max.timeout.ms", "min.insync.replicas", "message.max.bytes",
                       "transactional.id.expiration.ms", "default.replication.factor"], noise),
                match noise {
                    Noise::None => (1i64..100_000_000).prop_map(|n| n.to_string()).boxed(),
                    Noise::Some => prop_oneof![(1i64..100_000_000).prop_map(|n| n.to_string()), "\\PC{0,8}"].boxed(),
                },
            ),
            0..4,
        ),
        retention in opt(duration(noise)),
    ) -> String {
        let mut s = format!("cluster \"c\" {{\n    kafka version={} brokers={brokers} bootstrap=\"kafka:9092\"\n    {deployment}\n", kdl(&version));
        for (k, v) in brokers_set {
            match v.parse::<i64>() {
                Ok(n) => s += &format!("    broker {} {n}\n", kdl(&k)),
                Err(_) => s += &format!("    broker {} {}\n", kdl(&k), kdl(&v)),
            }
        }
        if let Some(r) = retention {
            s += &format!("    topic \"topic-0\" retention={}\n", kdl(&r));
        }
        s += "}\n";
        s
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Never a panic, whatever the profile; and when it builds: same plan → same bytes (the
    /// built-in writers' and the templates'), and a rebuild against the written directory finds
    /// nothing to change.
    #[test]
    fn generated_profiles_never_panic_and_build_idempotently(
        (job, cluster) in prop_oneof![
            (job_profile(Noise::Some), cluster_profile(Noise::Some)),
            (job_profile(Noise::None), cluster_profile(Noise::None)),
        ],
    ) {
        let (dir, path) = common::profile(&format!("{job}\n{cluster}"));
        let opts: Options = common::options(&[&path]);
        let Ok(c) = compile(&opts) else {
            // Refused input: fine, as long as it is a diagnostic and not a panic.
            return Ok(());
        };
        let env = flinkgen::render::environment(None).map_err(|d| TestCaseError::fail(d.message))?;
        let reference = flinkgen::render::Templates::interpreted().map_err(|d| TestCaseError::fail(d.message))?;
        let rendered = |t: &flinkgen::render::Templates| -> Result<Vec<(String, String)>, Vec<String>> {
            match flinkgen::render::render_plan(&c.plan, t) {
                Ok(u) => Ok(u.iter().flat_map(|u| u.files.iter().map(|f| (f.path.clone(), f.contents.clone()))).collect()),
                Err(e) => Err(e.into_iter().map(|d| d.message).collect()),
            }
        };
        let a = rendered(&env);
        prop_assert_eq!(&a, &rendered(&env));
        // The built-in templates' Rust writers write (or refuse) what their .j2 texts do.
        prop_assert_eq!(&a, &rendered(&reference));
        if a.is_err() {
            return Ok(());
        }
        let out = dir.path().join("out");
        let first = build(&opts, &out, false);
        prop_assert!(first.code <= 1, "{}", first.stderr);
        let again = build(&opts, &out, true);
        prop_assert!(again.stdout.is_empty(), "drift after a rebuild:\n{}", again.stdout);
        prop_assert_eq!(again.code, first.code);
    }
}

/// The property above only means something if generated profiles do build: count them, per kind.
#[test]
fn coherent_profiles_mostly_build_and_noisy_ones_mostly_do_not() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let total = 40;
    let mut built = |noise: Noise| {
        let mut n = 0;
        for _ in 0..total {
            let (Ok(job), Ok(cluster)) = (
                job_profile(noise).new_tree(&mut runner),
                cluster_profile(noise).new_tree(&mut runner),
            ) else {
                continue;
            };
            let (_dir, path) =
                common::profile(&format!("{}\n{}", job.current(), cluster.current()));
            if compile(&common::options(&[&path])).is_ok() {
                n += 1;
            }
        }
        n
    };
    let (coherent, noisy) = (built(Noise::None), built(Noise::Some));
    eprintln!("{coherent} of {total} coherent and {noisy} of {total} noisy profiles compile");
    // Coherent profiles can still be refused as a whole (a state that fits no instance …).
    assert!(
        coherent * 2 >= total,
        "only {coherent} of {total} coherent profiles compile"
    );
    assert!(
        noisy * 2 < total,
        "{noisy} of {total} noisy profiles compile: the noise does not reach the error paths"
    );
}
