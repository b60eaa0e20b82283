//! flinkgen's memory derivation (`resolve::memory::{derive_tm, derive_jm}`) against Flink itself.
//!
//! For Flink 1.18, 1.20 and 2.2 this runs Flink's own `BashJavaUtils` (what bin/config.sh calls
//! to turn a config directory into JVM flags) through tests/flink-harness/MemoryHarness.java:
//! one JVM per version, fed one config directory per case. The cases are
//!   (a) seeded random TaskManager and JobManager configs, valid and invalid, with sizes in
//!       every unit spelling Flink reads, plus configs on the edges of Flink's checks (one byte
//!       inside, on, or outside a bound), and
//!   (b) the Flink config files flinkgen renders for seeded random job profiles.
//!
//! When Flink accepts a config, flinkgen must accept it too and agree on every memory component
//! to the byte (JVM flags and the dynamic `-D` configs Flink passes on); when Flink rejects it,
//! flinkgen must reject it. A failure groups the disagreements by kind and details the smallest
//! ones (FLINK_MEMORY_SHOW=n details n, default 20).
//!
//! Needs `java`, `javac` and the Flink jars from `scripts/flink-jars.sh` (in
//! `${FLINKGEN_CACHE:-~/.cache/flinkgen}`). Without them the tests are skipped, except under
//! `CI=true`, where they fail.

mod common;

use common::rng::Rng;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::jvm::{self, Harness};

use flinkgen::app::{Options, compile};
use flinkgen::resolve::memory::{JmMemory, MemoryOptions, TmMemory, derive_jm, derive_tm};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Cases per version from each random generator, and the profiles to render.
const RAW_TM_CASES: usize = 700;
const RAW_JM_CASES: usize = 500;
const EDGE_TM_CASES: usize = 90;
const EDGE_JM_CASES: usize = 60;
const PROFILES: usize = 130;
const MIN_PROFILES: usize = 100;
const SEED: u64 = 0x5eed_f11c_2024_0001;

#[test]
fn flink_1_18_agrees_with_flinkgen_memory() {
    run_version("1.18", "1.18.1");
}

#[test]
fn flink_1_20_agrees_with_flinkgen_memory() {
    run_version("1.20", "1.20.3");
}

#[test]
fn flink_2_2_agrees_with_flinkgen_memory() {
    run_version("2.2", "2.2.0");
}

// ---------------------------------------------------------------------------------------------
// Prerequisites and the harness JVM
// ---------------------------------------------------------------------------------------------

/// The jars (bin/*.jar, lib/*.jar), or `None` to skip (outside CI). Under CI=true a missing
/// prerequisite fails.
fn prerequisites(full: &str) -> Option<Vec<PathBuf>> {
    jvm::require_flink(
        full,
        "memory cross-check",
        &["bash-java-utils", "flink-dist-", "log4j-core-"],
    )
}

/// Compile tests/flink-harness/MemoryHarness.java against the jars into target/flink-harness
/// and start it, logging WARN and above to stderr so stdout carries only BashJavaUtils' results.
fn start_harness(full: &str, jars: &[PathBuf]) -> Harness {
    let (cp, log4j) = jvm::compile_flink_harness(
        "tests/flink-harness/MemoryHarness.java",
        "flink-harness",
        full,
        jars,
    );
    Harness::start(
        &format!("the Flink {full} harness"),
        &cp,
        "MemoryHarness",
        &[log4j],
    )
}

enum FlinkAnswer {
    Ok(Vec<String>),
    Err(String),
}

fn ask(harness: &mut Harness, kind: Kind, dir: &Path) -> FlinkAnswer {
    match harness.answer(&format!("{} {}", kind.request(), dir.display())) {
        Ok(rest) => FlinkAnswer::Ok(
            rest.split('\t')
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        Err(rest) => FlinkAnswer::Err(rest),
    }
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Tm,
    Jm,
}

impl Kind {
    fn request(self) -> &'static str {
        match self {
            Kind::Tm => "TM",
            Kind::Jm => "JM",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Source {
    Raw,
    Edge,
    Profile,
}

struct Case {
    /// e.g. `raw TM #17`, `profile #3 TM`.
    name: String,
    source: Source,
    kind: Kind,
    file_name: String,
    file_text: String,
    /// The flat key → value map flinkgen derives from (what Flink reads from the file).
    config: BTreeMap<String, String>,
    /// The profile, for profile-derived cases.
    profile: Option<String>,
}

/// A size in [lo, hi]: mostly MiB- or GiB-aligned, sometimes an odd byte count.
fn size_in(rng: &mut Rng, lo: u64, hi: u64) -> u64 {
    let b = rng.spread(lo, hi);
    match rng.below(100) {
        0..=14 if b >= GIB => b / GIB * GIB,
        0..=69 if b >= MIB => b / MIB * MIB,
        70..=77 if b >= KIB => b / KIB * KIB,
        _ => b,
    }
}

/// `bytes` in one of the spellings Flink's MemorySize reads (all binary units).
fn spell(rng: &mut Rng, bytes: u64) -> String {
    let mut forms = vec![format!("{bytes}"), format!("{bytes}b")];
    if bytes.is_multiple_of(KIB) {
        let k = bytes / KIB;
        forms.extend([format!("{k}k"), format!("{k}kb")]);
    }
    if bytes.is_multiple_of(MIB) {
        let m = bytes / MIB;
        forms.extend([
            format!("{m}m"),
            format!("{m}mb"),
            format!("{m}m"),
            format!("{m} mb"),
            format!("{m}MB"),
        ]);
    }
    if bytes.is_multiple_of(GIB) && bytes > 0 {
        let g = bytes / GIB;
        forms.extend([
            format!("{g}g"),
            format!("{g}gb"),
            format!("{g}g"),
            format!("{g} g"),
        ]);
    }
    // Now and then the long unit names, which Flink reads too.
    if rng.percent(4) {
        const TIB: u64 = 1 << 40;
        let long = match bytes {
            b if b.is_multiple_of(TIB) && b > 0 => format!("{}t", b / TIB),
            b if b.is_multiple_of(GIB) && b > 0 => format!("{} gibibytes", b / GIB),
            b if b.is_multiple_of(MIB) => format!("{}mebibytes", b / MIB),
            b if b.is_multiple_of(KIB) => format!("{} kibibytes", b / KIB),
            b => format!("{b} bytes"),
        };
        return long;
    }
    // Prefer the larger units, as people write them.
    let n = forms.len() as u64;
    let i = if n > 2 && rng.percent(80) {
        rng.range(2, n - 1)
    } else {
        rng.below(n)
    };
    forms.swap_remove(i as usize)
}

const FRACTIONS: &[&str] = &[
    "0.1",
    "0.15",
    "0.2",
    "0.25",
    "0.3",
    "0.35",
    "0.4",
    "0.45",
    "0.5",
    "0.6",
    "0.7",
    "0.75",
    "0.8",
    "0.9",
    "0.95",
    "0.05",
    "0.01",
    "0.33",
    "0.123456789",
    "0.0",
    "0",
    ".5",
    "0.999",
];
const SMALL_FRACTIONS: &[&str] = &[
    "0.1", "0.05", "0.08", "0.12", "0.15", "0.2", "0.25", "0.3", "0.02", "0.0", "0.35", "0.5",
];
/// Fractions Flink must reject (not in [0, 1)).
const BAD_FRACTIONS: &[&str] = &["1", "1.0", "1.5", "-0.1"];

fn fraction(rng: &mut Rng, pool: &[&str]) -> String {
    if rng.percent(4) {
        rng.pick(BAD_FRACTIONS).to_string()
    } else {
        rng.pick(pool).to_string()
    }
}

/// Sometimes make one size unreadable for Flink (a unit it does not know, a decimal, a sign).
fn maybe_garble(rng: &mut Rng, c: &mut BTreeMap<String, String>) {
    if !rng.percent(3) {
        return;
    }
    let sizes: Vec<String> = c
        .keys()
        .filter(|k| k.ends_with(".size") || k.ends_with(".min") || k.ends_with(".max"))
        .cloned()
        .collect();
    if sizes.is_empty() {
        return;
    }
    let key = rng.pick(&sizes).clone();
    let n = rng.range(1, 900);
    let bad = match rng.below(5) {
        0 => format!("{n}MiB"),
        1 => format!("{n}.5g"),
        2 => format!("-{n}m"),
        3 => format!("{n} megabytes"),
        _ => format!("{n}gig"),
    };
    c.insert(key, bad);
}

fn put(c: &mut BTreeMap<String, String>, key: &str, value: String) {
    c.insert(key.to_string(), value);
}

/// TaskManager configs on the edges of Flink's checks, one byte inside, on, or outside them.
fn edge_tm(rng: &mut Rng) -> BTreeMap<String, String> {
    let key = |k: &str| format!("taskmanager.memory.{k}");
    let mut c = BTreeMap::new();
    let d = rng.below(3) as i64 - 1;
    let at = |v: u64| v.saturating_add_signed(d);
    let sz = |rng: &mut Rng, v: u64| spell(rng, v);
    match rng.below(7) {
        6 => {
            // A fraction outside [0, 1): read only when the managed size is not set.
            let p = size_in(rng, GIB, 64 * GIB);
            put(&mut c, &key("process.size"), sz(rng, p));
            put(
                &mut c,
                &key("managed.fraction"),
                rng.pick(BAD_FRACTIONS).to_string(),
            );
            if rng.percent(50) {
                let m = size_in(rng, 0, p / 3);
                put(&mut c, &key("managed.size"), sz(rng, m));
            }
        }
        0 => {
            // process and flink: the overhead is exactly its min or max.
            let p = size_in(rng, 2 * GIB, 128 * GIB);
            let ov = if rng.percent(50) { 192 * MIB } else { GIB };
            let f = p - 256 * MIB - at(ov);
            put(&mut c, &key("process.size"), sz(rng, p));
            put(&mut c, &key("flink.size"), sz(rng, f));
        }
        1 => {
            // Fine-grained with flink.size: the network rest is exactly network.min.
            let f = size_in(rng, 2 * GIB, 128 * GIB);
            let m = size_in(rng, 0, f / 3);
            let th = f - 256 * MIB - m - at(64 * MIB);
            put(&mut c, &key("flink.size"), sz(rng, f));
            put(&mut c, &key("managed.size"), sz(rng, m));
            put(&mut c, &key("task.heap.size"), sz(rng, th));
        }
        2 => {
            // Fine-grained with flink.size: the network rest is exactly network.max.
            let f = size_in(rng, 2 * GIB, 128 * GIB);
            let m = size_in(rng, 0, f / 3);
            let th = size_in(rng, 0, f / 3);
            let rest = f - 256 * MIB - m - th;
            put(&mut c, &key("flink.size"), sz(rng, f));
            put(&mut c, &key("managed.size"), sz(rng, m));
            put(&mut c, &key("task.heap.size"), sz(rng, th));
            put(&mut c, &key("network.max"), sz(rng, at(rest)));
        }
        3 => {
            // flink.size leaves exactly nothing (or one byte) for the task heap.
            let m = size_in(rng, 0, 16 * GIB);
            let n = size_in(rng, 64 * MIB, 4 * GIB);
            put(&mut c, &key("flink.size"), sz(rng, at(256 * MIB + m + n)));
            put(&mut c, &key("managed.size"), sz(rng, m));
            put(&mut c, &key("network.min"), sz(rng, n));
            put(&mut c, &key("network.max"), sz(rng, n));
        }
        4 => {
            // process.size is exactly metaspace + minimum overhead; the rest is zero.
            put(&mut c, &key("process.size"), sz(rng, at(448 * MIB)));
            put(&mut c, &key("framework.heap.size"), "0".into());
            put(&mut c, &key("framework.off-heap.size"), "0".into());
            put(&mut c, &key("network.min"), "0".into());
            put(&mut c, &key("managed.fraction"), "0".into());
        }
        _ => {
            // A fixed overhead (min = max), and a zero fraction.
            let p = size_in(rng, GIB, 64 * GIB);
            let ov = size_in(rng, 0, GIB);
            put(&mut c, &key("process.size"), sz(rng, p));
            put(&mut c, &key("jvm-overhead.min"), sz(rng, ov));
            put(&mut c, &key("jvm-overhead.max"), sz(rng, at(ov)));
            put(&mut c, &key("jvm-overhead.fraction"), "0".into());
        }
    }
    c
}

/// JobManager configs on the edges of Flink's checks.
fn edge_jm(rng: &mut Rng) -> BTreeMap<String, String> {
    let key = |k: &str| format!("jobmanager.memory.{k}");
    let mut c = BTreeMap::new();
    let d = rng.below(3) as i64 - 1;
    let at = |v: u64| v.saturating_add_signed(d);
    let off_heap = if rng.percent(50) {
        let v = size_in(rng, 0, GIB);
        put(&mut c, &key("off-heap.size"), spell(rng, v));
        v
    } else {
        128 * MIB
    };
    match rng.below(4) {
        0 => {
            // Total Flink memory is exactly the off-heap memory.
            put(&mut c, &key("flink.size"), spell(rng, at(off_heap).max(1)));
        }
        1 => {
            // Process memory is exactly off-heap + metaspace + minimum overhead.
            put(
                &mut c,
                &key("process.size"),
                spell(rng, at(off_heap + 448 * MIB)),
            );
        }
        2 => {
            // heap.size and flink.size: flink = heap + off-heap, to the byte.
            let heap = size_in(rng, 16 * MIB, 16 * GIB);
            put(&mut c, &key("heap.size"), spell(rng, heap));
            put(&mut c, &key("flink.size"), spell(rng, at(heap + off_heap)));
        }
        _ => {
            // heap.size and flink.size: flink = heap, to the byte.
            let heap = size_in(rng, 16 * MIB, 16 * GIB);
            put(&mut c, &key("heap.size"), spell(rng, heap));
            put(&mut c, &key("flink.size"), spell(rng, at(heap)));
        }
    }
    c
}

fn raw_tm(rng: &mut Rng) -> BTreeMap<String, String> {
    const T: &str = "taskmanager.memory.";
    let mut c = BTreeMap::new();
    let p = size_in(rng, GIB, 512 * GIB);
    let key = |k: &str| format!("{T}{k}");
    // Which of the three entry points (process, flink, fine-grained task heap + managed).
    let shape = rng.below(100);
    let guess_overhead = |rng: &mut Rng| size_in(rng, 100 * MIB, 1536 * MIB);
    match shape {
        0..=44 => put(&mut c, &key("process.size"), spell(rng, p)),
        45..=56 => {
            let f = size_in(rng, 512 * MIB, 400 * GIB);
            put(&mut c, &key("flink.size"), spell(rng, f));
        }
        57..=66 => {
            // Both: the gap must hold metaspace (256m) and an overhead in [192m, 1g].
            let gap = 256 * MIB + guess_overhead(rng);
            let f = p.saturating_sub(gap).max(256 * MIB);
            put(&mut c, &key("process.size"), spell(rng, p));
            put(&mut c, &key("flink.size"), spell(rng, f));
        }
        67..=81 => {
            let base = size_in(rng, 512 * MIB, 256 * GIB);
            let th = size_in(rng, 0, base / 2);
            let mm = size_in(rng, 0, base / 2);
            put(&mut c, &key("task.heap.size"), spell(rng, th));
            put(&mut c, &key("managed.size"), spell(rng, mm));
            match rng.below(4) {
                0 => {
                    let f = th + mm + 256 * MIB + size_in(rng, 0, base / 3);
                    put(&mut c, &key("flink.size"), spell(rng, f));
                }
                1 => {
                    let f = th + mm + 256 * MIB + size_in(rng, 0, base / 3);
                    let process = f + 256 * MIB + guess_overhead(rng);
                    put(&mut c, &key("process.size"), spell(rng, process));
                }
                _ => {}
            }
        }
        82..=88 => {
            put(&mut c, &key("process.size"), spell(rng, p));
            let th = size_in(rng, 0, p / 2);
            put(&mut c, &key("task.heap.size"), spell(rng, th));
        }
        89..=95 => {
            put(&mut c, &key("process.size"), spell(rng, p));
            let mm = size_in(rng, 0, p * 2 / 3);
            put(&mut c, &key("managed.size"), spell(rng, mm));
        }
        96..=97 => {
            let f = size_in(rng, 512 * MIB, 64 * GIB);
            put(&mut c, &key("flink.size"), spell(rng, f));
            let th = size_in(rng, 0, f / 2);
            put(&mut c, &key("task.heap.size"), spell(rng, th));
        }
        _ => {} // nothing: Flink refuses
    }
    // The other options, each sometimes.
    if rng.percent(30) {
        put(&mut c, &key("managed.fraction"), fraction(rng, FRACTIONS));
    }
    if rng.percent(20) {
        put(
            &mut c,
            &key("network.fraction"),
            fraction(rng, SMALL_FRACTIONS),
        );
    }
    if rng.percent(18) {
        let v = size_in(rng, MIB, 4 * GIB);
        put(&mut c, &key("network.min"), spell(rng, v));
    }
    if rng.percent(18) {
        let v = if rng.percent(10) {
            i64::MAX as u64
        } else {
            size_in(rng, 16 * MIB, 64 * GIB)
        };
        put(&mut c, &key("network.max"), spell(rng, v));
    }
    if rng.percent(20) {
        put(
            &mut c,
            &key("jvm-overhead.fraction"),
            fraction(rng, SMALL_FRACTIONS),
        );
    }
    if rng.percent(15) {
        let v = size_in(rng, 0, 2 * GIB);
        put(&mut c, &key("jvm-overhead.min"), spell(rng, v));
    }
    if rng.percent(15) {
        let v = size_in(rng, 64 * MIB, 8 * GIB);
        put(&mut c, &key("jvm-overhead.max"), spell(rng, v));
    }
    if rng.percent(20) {
        let v = size_in(rng, 64 * MIB, 2 * GIB);
        put(&mut c, &key("jvm-metaspace.size"), spell(rng, v));
    }
    if rng.percent(10) {
        let v = size_in(rng, 32 * MIB, GIB);
        put(&mut c, &key("framework.heap.size"), spell(rng, v));
    }
    if rng.percent(10) {
        let v = size_in(rng, 0, GIB);
        put(&mut c, &key("framework.off-heap.size"), spell(rng, v));
    }
    if rng.percent(15) {
        let v = size_in(rng, 0, 8 * GIB);
        put(&mut c, &key("task.off-heap.size"), spell(rng, v));
    }
    maybe_garble(rng, &mut c);
    c
}

fn raw_jm(rng: &mut Rng) -> BTreeMap<String, String> {
    const J: &str = "jobmanager.memory.";
    let key = |k: &str| format!("{J}{k}");
    let mut c = BTreeMap::new();
    let off_heap = if rng.percent(25) {
        let v = size_in(rng, 0, 2 * GIB);
        put(&mut c, &key("off-heap.size"), spell(rng, v));
        v
    } else {
        128 * MIB
    };
    let p = size_in(rng, 128 * MIB, 64 * GIB);
    let heap = size_in(rng, 16 * MIB, 32 * GIB);
    match rng.below(100) {
        0..=39 => put(&mut c, &key("process.size"), spell(rng, p)),
        40..=54 => {
            let f = size_in(rng, 64 * MIB, 48 * GIB);
            put(&mut c, &key("flink.size"), spell(rng, f));
        }
        55..=69 => put(&mut c, &key("heap.size"), spell(rng, heap)),
        70..=79 => {
            put(&mut c, &key("heap.size"), spell(rng, heap));
            let f = match rng.below(3) {
                0 => heap + off_heap,
                1 => heap + size_in(rng, 0, 2 * GIB),
                _ => size_in(rng, 64 * MIB, 48 * GIB),
            };
            put(&mut c, &key("flink.size"), spell(rng, f));
        }
        80..=86 => {
            let gap = 256 * MIB + size_in(rng, 100 * MIB, 1536 * MIB);
            put(&mut c, &key("process.size"), spell(rng, p));
            put(
                &mut c,
                &key("flink.size"),
                spell(rng, p.saturating_sub(gap).max(MIB)),
            );
        }
        87..=93 => {
            put(&mut c, &key("heap.size"), spell(rng, heap));
            // Heap + off-heap + default metaspace + an overhead that may or may not fit.
            let pr = heap + off_heap + 256 * MIB + size_in(rng, 100 * MIB, 1536 * MIB);
            put(&mut c, &key("process.size"), spell(rng, pr));
        }
        94..=97 => {
            // Total Flink memory equal to (or just above) the off-heap memory.
            let f = off_heap + rng.below(2);
            put(&mut c, &key("flink.size"), spell(rng, f.max(1)));
        }
        _ => {} // nothing: Flink refuses
    }
    if rng.percent(20) {
        let v = size_in(rng, 64 * MIB, 2 * GIB);
        put(&mut c, &key("jvm-metaspace.size"), spell(rng, v));
    }
    if rng.percent(20) {
        put(
            &mut c,
            &key("jvm-overhead.fraction"),
            fraction(rng, SMALL_FRACTIONS),
        );
    }
    if rng.percent(15) {
        let v = size_in(rng, 0, 2 * GIB);
        put(&mut c, &key("jvm-overhead.min"), spell(rng, v));
    }
    if rng.percent(15) {
        let v = size_in(rng, 64 * MIB, 8 * GIB);
        put(&mut c, &key("jvm-overhead.max"), spell(rng, v));
    }
    if rng.percent(30) {
        let v = *rng.pick(&["true", "false", "TRUE", "False"]);
        put(
            &mut c,
            &key("enable-jvm-direct-memory-limit"),
            v.to_string(),
        );
    }
    maybe_garble(rng, &mut c);
    c
}

/// The config file for a raw case, as the version reads it.
fn raw_file(minor: &str, config: &BTreeMap<String, String>) -> (String, String) {
    let mut text = String::from("# generated by tests/flink_memory.rs\n");
    if minor.starts_with('1') {
        for (k, v) in config {
            let _ = writeln!(text, "{k}: {v}");
        }
        ("flink-conf.yaml".into(), text)
    } else {
        for (k, v) in config {
            let _ = writeln!(text, "{k}: \"{v}\"");
        }
        ("config.yaml".into(), text)
    }
}

// ---------------------------------------------------------------------------------------------
// Profile-derived cases
// ---------------------------------------------------------------------------------------------

const INSTANCES: &[&str] = &[
    "m6gd.2xlarge",
    "m6gd.4xlarge",
    "r6gd.4xlarge",
    "i4i.4xlarge",
    "n2-highmem-16",
    "Standard_E16ds_v5",
    "c6gd.4xlarge",
    "m6gd.8xlarge",
    "Standard_D16ds_v5",
];

fn override_line(rng: &mut Rng) -> String {
    let (key, value) = match rng.below(17) {
        0 => (
            "taskmanager.memory.managed.fraction",
            fraction(rng, FRACTIONS),
        ),
        1 => (
            "taskmanager.memory.network.fraction",
            rng.pick(SMALL_FRACTIONS).to_string(),
        ),
        2 => ("taskmanager.memory.network.min", {
            let v = size_in(rng, 16 * MIB, 2 * GIB);
            spell(rng, v)
        }),
        3 => ("taskmanager.memory.network.max", {
            let v = size_in(rng, 64 * MIB, 16 * GIB);
            spell(rng, v)
        }),
        4 => ("taskmanager.memory.jvm-metaspace.size", {
            let v = size_in(rng, 128 * MIB, GIB);
            spell(rng, v)
        }),
        5 => (
            "taskmanager.memory.jvm-overhead.fraction",
            rng.pick(SMALL_FRACTIONS).to_string(),
        ),
        6 => ("taskmanager.memory.jvm-overhead.min", {
            let v = size_in(rng, 64 * MIB, GIB);
            spell(rng, v)
        }),
        7 => ("taskmanager.memory.jvm-overhead.max", {
            let v = size_in(rng, 256 * MIB, 4 * GIB);
            spell(rng, v)
        }),
        8 => ("taskmanager.memory.task.off-heap.size", {
            let v = size_in(rng, 0, 4 * GIB);
            spell(rng, v)
        }),
        9 => ("taskmanager.memory.framework.off-heap.size", {
            let v = size_in(rng, 64 * MIB, GIB);
            spell(rng, v)
        }),
        10 => ("taskmanager.memory.managed.size", {
            let v = size_in(rng, GIB, 64 * GIB);
            spell(rng, v)
        }),
        11 => ("taskmanager.memory.task.heap.size", {
            let v = size_in(rng, GIB, 48 * GIB);
            spell(rng, v)
        }),
        12 => ("taskmanager.memory.framework.heap.size", {
            let v = size_in(rng, 64 * MIB, 512 * MIB);
            spell(rng, v)
        }),
        13 => ("jobmanager.memory.jvm-metaspace.size", {
            let v = size_in(rng, 128 * MIB, GIB);
            spell(rng, v)
        }),
        14 => ("jobmanager.memory.off-heap.size", {
            let v = size_in(rng, 64 * MIB, GIB);
            spell(rng, v)
        }),
        15 => (
            "jobmanager.memory.enable-jvm-direct-memory-limit",
            "true".to_string(),
        ),
        _ => ("jobmanager.memory.process.size", {
            let v = size_in(rng, GIB, 8 * GIB);
            spell(rng, v)
        }),
    };
    if key.ends_with(".fraction")
        && rng.percent(30)
        && value.parse::<f64>().is_ok()
        && value.starts_with(['0', '1'])
    {
        // A KDL number instead of a string.
        format!("    override \"flink\" \"{key}\" {value}\n")
    } else {
        format!("    override \"flink\" \"{key}\" \"{value}\"\n")
    }
}

fn profile(rng: &mut Rng, minor: &str, i: usize) -> String {
    let name = format!("mem-{i}");
    let connector = if minor.starts_with('2') {
        "5.0.0"
    } else {
        "3.4.0"
    };
    let config_file = if minor == "1.20" && rng.percent(35) {
        " config-file=\"config.yaml\""
    } else {
        ""
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
        let _ = writeln!(p, "    parallelism {}", rng.range(1, 96));
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
        let _ = writeln!(p, "    checkpoint interval=\"{}s\"", rng.range(10, 300));
    }
    let instance = *rng.pick(INSTANCES);
    if rng.percent(30) {
        let _ = writeln!(p, "    instance \"{instance}\" count={}", rng.range(1, 12));
    } else {
        let _ = writeln!(p, "    instance \"{instance}\"");
    }
    let _ = writeln!(
        p,
        "    kubernetes namespace=\"streaming\" image=\"flink:{minor}\" upgrade-mode=\"{}\" storage=\"s3://bucket/{name}\"",
        rng.pick(&["savepoint", "last-state", "stateless"])
    );
    let _ = writeln!(
        p,
        "    artifact jar=\"local:///opt/flink/usrlib/job.jar\" entry-class=\"com.acme.Job\""
    );
    let overrides = match rng.below(10) {
        0..=3 => 0,
        4..=6 => 1,
        7..=8 => 2,
        _ => 3,
    };
    for _ in 0..overrides {
        p.push_str(&override_line(rng));
    }
    p.push_str("}\n");
    p
}

/// Flink's legacy flink-conf.yaml reading: cut at `#`, trim, split at the first `": "`.
fn read_legacy(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let l = l.split('#').next().unwrap_or_default().trim();
            let (k, v) = l.split_once(": ")?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// config.yaml read as YAML 1.2 (only `true`/`false` are booleans), flattened to text.
fn read_yaml(text: &str) -> BTreeMap<String, String> {
    let options = serde_saphyr::options! { strict_booleans: true };
    let v: serde_json::Value = serde_saphyr::from_str_with_options(text, options)
        .unwrap_or_else(|e| panic!("flinkgen's config.yaml is not YAML: {e}\n{text}"));
    let mut out = BTreeMap::new();
    fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten(&key, v, out);
                }
            }
            serde_json::Value::String(s) => {
                out.insert(prefix.to_string(), s.clone());
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    flatten("", &v, &mut out);
    out
}

struct ProfileStats {
    generated: usize,
    rejected: usize,
    first_rejection: Option<String>,
}

const CLUSTER: &str = "cluster \"main\" {\n    kafka version=\"3.9\" brokers=3 bootstrap=\"kafka.main.svc:9092\"\n    deployment \"strimzi\" version=\"0.45.1\"\n}\n";

/// Profiles compiled together: compiling costs mostly the policy packs, not the jobs.
const BATCH: usize = 33;

/// Compile and render the jobs (index, KDL) in `dir` with the shared cluster profile: each
/// job's rendered Flink config file (name, text), or the input errors of the whole batch.
fn render_jobs(
    dir: &Path,
    jobs: &[(usize, String)],
    env: &flinkgen::render::Templates,
) -> Result<BTreeMap<usize, (String, String)>, String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    std::fs::write(dir.join("cluster.kdl"), CLUSTER).unwrap_or_else(|e| panic!("write: {e}"));
    for (i, text) in jobs {
        std::fs::write(dir.join(format!("job-{i}.kdl")), text)
            .unwrap_or_else(|e| panic!("write: {e}"));
    }
    let compiled = compile(&Options {
        inputs: vec![dir.to_path_buf()],
        ..Default::default()
    });
    let _ = std::fs::remove_dir_all(dir);
    let c = compiled.map_err(|(e, sources)| flinkgen::diag::render_human(&e.0, &sources, false))?;
    let units = flinkgen::render::render_plan(&c.plan, env).map_err(|e| {
        e.iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let mut out = BTreeMap::new();
    for (i, _) in jobs {
        let prefix = format!("jobs/mem-{i}/flink/");
        let file = units
            .iter()
            .flat_map(|u| &u.files)
            .find(|f| f.path.starts_with(&prefix))
            .unwrap_or_else(|| panic!("profile {i} rendered no {prefix}* file"));
        out.insert(
            *i,
            (file.path[prefix.len()..].to_string(), file.contents.clone()),
        );
    }
    Ok(out)
}

/// Profile-derived cases: compile and render generated profiles, take the job's Flink config.
fn profile_cases(minor: &str, rng: &mut Rng, work: &Path) -> (Vec<Case>, ProfileStats) {
    let env = flinkgen::render::environment(None).unwrap_or_else(|d| panic!("{}", d.message));
    let mut cases = vec![];
    let mut stats = ProfileStats {
        generated: 0,
        rejected: 0,
        first_rejection: None,
    };
    let dir = work.join("profiles");
    let mut rendered = 0;
    while rendered < PROFILES && stats.generated < PROFILES * 4 {
        let jobs: Vec<(usize, String)> = (0..BATCH.min(PROFILES - rendered))
            .map(|_| {
                let i = stats.generated;
                stats.generated += 1;
                (i, profile(rng, minor, i))
            })
            .collect();
        let files = match render_jobs(&dir, &jobs, &env) {
            Ok(files) => files,
            // Some profile has input errors: find out which, one by one.
            Err(_) => {
                let mut files = BTreeMap::new();
                for job in &jobs {
                    match render_jobs(&dir, std::slice::from_ref(job), &env) {
                        Ok(f) => files.extend(f),
                        Err(why) => {
                            stats.rejected += 1;
                            stats.first_rejection.get_or_insert(why);
                        }
                    }
                }
                files
            }
        };
        for (i, text) in &jobs {
            let Some((file_name, contents)) = files.get(i) else {
                continue;
            };
            let config = if file_name == "flink-conf.yaml" {
                read_legacy(contents)
            } else {
                read_yaml(contents)
            };
            rendered += 1;
            for kind in [Kind::Tm, Kind::Jm] {
                cases.push(Case {
                    name: format!("profile #{i} {}", kind.request()),
                    source: Source::Profile,
                    kind,
                    file_name: file_name.clone(),
                    file_text: contents.clone(),
                    config: config.clone(),
                    profile: Some(format!("{text}\n{CLUSTER}")),
                });
            }
        }
    }
    (cases, stats)
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

/// The byte values in BashJavaUtils' result lines: JVM flags by flag name (`-Xmx`, `-Xms`,
/// `MaxDirectMemorySize`, `MaxMetaspaceSize`) and dynamic configs by key.
fn flink_values(lines: &[String]) -> Result<BTreeMap<String, u64>, String> {
    let results: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("BASH_JAVA_UTILS_EXEC_RESULT:"))
        .collect();
    let Some(jvm) = results.first() else {
        return Err("no BASH_JAVA_UTILS_EXEC_RESULT line".into());
    };
    let num = |s: &str, what: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("cannot read `{what}` in Flink's output"))
    };
    let mut out = BTreeMap::new();
    for tok in jvm.split_whitespace() {
        if let Some(v) = tok.strip_prefix("-Xmx") {
            out.insert("-Xmx".to_string(), num(v, tok)?);
        } else if let Some(v) = tok.strip_prefix("-Xms") {
            out.insert("-Xms".to_string(), num(v, tok)?);
        } else if let Some((k, v)) = tok.strip_prefix("-XX:").and_then(|t| t.split_once('=')) {
            out.insert(k.to_string(), num(v, tok)?);
        }
    }
    if let Some(dynamic) = results.get(1) {
        for part in dynamic.split("-D ") {
            let Some((k, v)) = part.trim().split_once('=') else {
                continue;
            };
            if let Some(b) = v.strip_suffix('b') {
                out.insert(k.to_string(), num(b, part.trim())?);
            }
        }
    }
    Ok(out)
}

/// What Flink must print: JVM flag or dynamic-config key → bytes (`None`: must be absent).
type Expected = Vec<(&'static str, Option<u64>)>;

/// What Flink must print for flinkgen's TaskManager memory: flag or key → bytes.
fn expected_tm(m: &TmMemory) -> Expected {
    let t = |v: u64| Some(v);
    vec![
        ("-Xmx", t(m.framework_heap + m.task_heap)),
        ("-Xms", t(m.framework_heap + m.task_heap)),
        (
            "MaxDirectMemorySize",
            t(m.framework_off_heap + m.task_off_heap + m.network),
        ),
        ("MaxMetaspaceSize", t(m.metaspace)),
        (
            "taskmanager.memory.framework.heap.size",
            t(m.framework_heap),
        ),
        ("taskmanager.memory.task.heap.size", t(m.task_heap)),
        (
            "taskmanager.memory.framework.off-heap.size",
            t(m.framework_off_heap),
        ),
        ("taskmanager.memory.task.off-heap.size", t(m.task_off_heap)),
        ("taskmanager.memory.managed.size", t(m.managed)),
        ("taskmanager.memory.network.min", t(m.network)),
        ("taskmanager.memory.network.max", t(m.network)),
        ("taskmanager.memory.jvm-metaspace.size", t(m.metaspace)),
        ("taskmanager.memory.jvm-overhead.min", t(m.overhead)),
        ("taskmanager.memory.jvm-overhead.max", t(m.overhead)),
    ]
}

/// The same for the JobManager; `None` means Flink must not print it. The dynamic-config keys
/// are only compared when Flink prints a dynamic-config line.
fn expected_jm(m: &JmMemory, flink_has_dynamic: bool) -> Expected {
    let mut v = vec![
        ("-Xmx", Some(m.heap)),
        ("-Xms", Some(m.heap)),
        ("MaxMetaspaceSize", Some(m.metaspace)),
        ("MaxDirectMemorySize", m.direct_limit.then_some(m.off_heap)),
    ];
    if flink_has_dynamic {
        v.extend([
            ("jobmanager.memory.heap.size", Some(m.heap)),
            ("jobmanager.memory.off-heap.size", Some(m.off_heap)),
            ("jobmanager.memory.jvm-metaspace.size", Some(m.metaspace)),
            ("jobmanager.memory.jvm-overhead.min", Some(m.overhead)),
            ("jobmanager.memory.jvm-overhead.max", Some(m.overhead)),
        ]);
    }
    v
}

fn differences(flink: &BTreeMap<String, u64>, ours: &[(&str, Option<u64>)]) -> Vec<String> {
    let show = |v: Option<u64>| v.map_or_else(|| "absent".to_string(), |b| b.to_string());
    ours.iter()
        .filter_map(|(k, want)| {
            let got = flink.get(*k).copied();
            (got != *want).then(|| format!("{k}: Flink {}, flinkgen {}", show(got), show(*want)))
        })
        .collect()
}

enum Verdict {
    /// Both accept and agree, or both reject.
    Agree,
    /// The kind of disagreement (for grouping) and the details.
    Disagree(String, String),
}

/// A reason without its numbers: the message up to its first parenthesis.
fn reason_class(message: &str) -> String {
    // Flink's innermost cause, without the exception class.
    let inner = message.rsplit(" / ").next().unwrap_or(message);
    let inner = inner.split_once("Exception: ").map_or(inner, |(_, m)| m);
    inner.split('(').next().unwrap_or(inner).trim().to_string()
}

fn judge(case: &Case, flink: &FlinkAnswer) -> Verdict {
    let defaults = BTreeMap::new();
    let opts = MemoryOptions {
        config: &case.config,
        defaults: &defaults,
    };
    let ours: Result<(String, Expected), String> = match case.kind {
        Kind::Tm => derive_tm(&opts).map(|m| (format!("{m:?}"), expected_tm(&m))),
        Kind::Jm => derive_jm(&opts).map(|m| {
            let dynamic = matches!(flink, FlinkAnswer::Ok(lines) if lines.iter().filter(|l| l.starts_with("BASH_JAVA_UTILS_EXEC_RESULT:")).count() > 1);
            (format!("{m:?}"), expected_jm(&m, dynamic))
        }),
    };
    match (flink, ours) {
        (FlinkAnswer::Err(_), Err(_)) => Verdict::Agree,
        (FlinkAnswer::Err(e), Ok((ours, _))) => Verdict::Disagree(
            format!(
                "{} {}: Flink rejects it, flinkgen accepts it: {}",
                source_word(case.source),
                case.kind.request(),
                reason_class(e)
            ),
            format!(
                "Flink rejects it, flinkgen accepts it\n  Flink:    ERR {e}\n  flinkgen: {ours}"
            ),
        ),
        (FlinkAnswer::Ok(lines), Err(e)) => Verdict::Disagree(
            format!(
                "{} {}: Flink accepts it, flinkgen rejects it: {}",
                source_word(case.source),
                case.kind.request(),
                reason_class(&e)
            ),
            format!(
                "Flink accepts it, flinkgen rejects it\n  Flink:    {}\n  flinkgen: Err({e})",
                flink_result_lines(lines)
            ),
        ),
        (FlinkAnswer::Ok(lines), Ok((ours, expected))) => match flink_values(lines) {
            Err(why) => Verdict::Disagree(
                format!("Flink's output is unreadable: {why}"),
                format!(
                    "Flink's output is unreadable ({why})\n  Flink:    {}\n  flinkgen: {ours}",
                    lines.join(" | ")
                ),
            ),
            Ok(values) => {
                let diffs = differences(&values, &expected);
                if diffs.is_empty() {
                    Verdict::Agree
                } else {
                    let fields: Vec<&str> =
                        diffs.iter().filter_map(|d| d.split(':').next()).collect();
                    Verdict::Disagree(
                        format!(
                            "{} {}: both accept it, sizes differ in {}",
                            source_word(case.source),
                            case.kind.request(),
                            fields.join(", ")
                        ),
                        format!(
                            "both accept it, the sizes differ:\n    {}\n  Flink:    {}\n  flinkgen: {ours}",
                            diffs.join("\n    "),
                            flink_result_lines(lines)
                        ),
                    )
                }
            }
        },
    }
}

fn source_word(s: Source) -> &'static str {
    match s {
        Source::Raw | Source::Edge => "config",
        Source::Profile => "profile",
    }
}

fn flink_result_lines(lines: &[String]) -> String {
    lines
        .iter()
        .filter(|l| l.starts_with("BASH_JAVA_UTILS_EXEC_RESULT:"))
        .map(|l| l.trim_start_matches("BASH_JAVA_UTILS_EXEC_RESULT:"))
        .collect::<Vec<_>>()
        .join("\n            ")
}

struct Disagreement {
    class: String,
    name: String,
    /// The config's size: the smallest examples are shown first.
    keys: usize,
    report: String,
}

/// The disagreements grouped by kind, with the smallest examples of each kind in detail (at
/// most FLINK_MEMORY_SHOW, default 20, taken from every kind in turn), then every case's name.
fn disagreement_report(all: &[Disagreement]) -> String {
    let mut classes: BTreeMap<&str, Vec<&Disagreement>> = BTreeMap::new();
    for d in all {
        classes.entry(&d.class).or_default().push(d);
    }
    let mut classes: Vec<(&str, Vec<&Disagreement>)> = classes.into_iter().collect();
    classes.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    for (_, v) in &mut classes {
        v.sort_by_key(|d| d.keys);
    }
    let mut out = String::from("Kinds of disagreement:\n");
    for (class, v) in &classes {
        let _ = writeln!(out, "  {:>4} × {class}", v.len());
    }
    let max = shown_max();
    let mut shown = 0;
    let _ = writeln!(
        out,
        "\nExamples (smallest configs first, every kind in turn):"
    );
    for round in 0.. {
        let mut any = false;
        for (_, v) in &classes {
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
    for (class, v) in &classes {
        let names: Vec<&str> = v.iter().map(|d| d.name.as_str()).collect();
        let _ = writeln!(out, "  {class}:\n    {}", names.join(", "));
    }
    out
}

#[derive(Default, Clone, Copy)]
struct Counts {
    cases: usize,
    agree: usize,
    flink_ok: usize,
    flink_err: usize,
}

/// How many disagreements the failure report details (FLINK_MEMORY_SHOW, default 20).
fn shown_max() -> usize {
    std::env::var("FLINK_MEMORY_SHOW")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

fn run_version(minor: &str, full: &str) {
    let Some(jars) = prerequisites(full) else {
        return;
    };
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));

    // The same seed for every version: the raw configs are identical across versions.
    let mut rng = Rng::new(SEED);
    let mut cases = vec![];
    for i in 0..RAW_TM_CASES {
        let config = raw_tm(&mut rng);
        let (file_name, file_text) = raw_file(minor, &config);
        cases.push(Case {
            name: format!("raw TM #{i}"),
            source: Source::Raw,
            kind: Kind::Tm,
            file_name,
            file_text,
            config,
            profile: None,
        });
    }
    for i in 0..RAW_JM_CASES {
        let config = raw_jm(&mut rng);
        let (file_name, file_text) = raw_file(minor, &config);
        cases.push(Case {
            name: format!("raw JM #{i}"),
            source: Source::Raw,
            kind: Kind::Jm,
            file_name,
            file_text,
            config,
            profile: None,
        });
    }
    for (kind, n, generate) in [
        (
            Kind::Tm,
            EDGE_TM_CASES,
            edge_tm as fn(&mut Rng) -> BTreeMap<String, String>,
        ),
        (Kind::Jm, EDGE_JM_CASES, edge_jm),
    ] {
        for i in 0..n {
            let config = generate(&mut rng);
            let (file_name, file_text) = raw_file(minor, &config);
            cases.push(Case {
                name: format!("edge {} #{i}", kind.request()),
                source: Source::Edge,
                kind,
                file_name,
                file_text,
                config,
                profile: None,
            });
        }
    }
    let mut prng = Rng::new(SEED ^ 0x9e37_79b9_7f4a_7c15);
    let (pcases, pstats) = profile_cases(minor, &mut prng, work.path());
    let profiles_rendered = pcases.len() / 2;
    let mut profile_files: BTreeMap<&str, usize> = BTreeMap::new();
    for c in pcases.iter().filter(|c| c.kind == Kind::Tm) {
        *profile_files.entry(c.file_name.as_str()).or_default() += 1;
    }
    let profile_files: Vec<String> = profile_files
        .into_iter()
        .map(|(f, n)| format!("{n} {f}"))
        .collect();
    let profile_files = profile_files.join(", ");
    cases.extend(pcases);
    let generated = started.elapsed();

    let mut harness = start_harness(full, &jars);
    let mut counts: BTreeMap<(Source, Kind), Counts> = BTreeMap::new();
    let mut disagreements: Vec<Disagreement> = vec![];
    for (n, case) in cases.iter().enumerate() {
        let dir = work.path().join(format!("case-{n}"));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        std::fs::write(dir.join(&case.file_name), &case.file_text)
            .unwrap_or_else(|e| panic!("write config: {e}"));
        let answer = ask(&mut harness, case.kind, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        let c = counts.entry((case.source, case.kind)).or_default();
        c.cases += 1;
        match &answer {
            FlinkAnswer::Ok(_) => c.flink_ok += 1,
            FlinkAnswer::Err(_) => c.flink_err += 1,
        }
        match judge(case, &answer) {
            Verdict::Agree => c.agree += 1,
            Verdict::Disagree(class, why) => {
                let mut r = format!(
                    "[Flink {full}] {}: {why}\n  {}:\n",
                    case.name, case.file_name
                );
                let memory_lines = case
                    .file_text
                    .lines()
                    .filter(|l| l.contains(".memory.") || case.source != Source::Profile);
                for l in memory_lines.filter(|l| !l.starts_with('#')) {
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
                    class,
                    name: case.name.clone(),
                    keys: case.config.len(),
                    report: r,
                });
            }
        }
    }
    drop(harness);
    let elapsed = started.elapsed();

    let mut total = Counts::default();
    let mut summary = format!(
        "Flink {full}: {} cases in {:.1}s (generation {:.1}s); profiles: {} generated, {} rejected by flinkgen (input errors), {} rendered ({profile_files})\n",
        cases.len(),
        elapsed.as_secs_f64(),
        generated.as_secs_f64(),
        pstats.generated,
        pstats.rejected,
        profiles_rendered
    );
    for ((source, kind), c) in &counts {
        let _ = writeln!(
            summary,
            "  {:<8} {}: {:>4} cases, {:>4} agree, Flink-valid {:>4}, Flink-invalid {:>4}",
            format!("{source:?}"),
            kind.request(),
            c.cases,
            c.agree,
            c.flink_ok,
            c.flink_err
        );
        total.cases += c.cases;
        total.agree += c.agree;
        total.flink_ok += c.flink_ok;
        total.flink_err += c.flink_err;
    }
    let _ = writeln!(
        summary,
        "  total       : {:>4} cases, {:>4} agree, Flink-valid {:>4}, Flink-invalid {:>4}, {} disagreements",
        total.cases,
        total.agree,
        total.flink_ok,
        total.flink_err,
        disagreements.len()
    );
    println!("{summary}");

    assert!(
        profiles_rendered >= MIN_PROFILES,
        "only {profiles_rendered} of {} generated profiles compiled (need {MIN_PROFILES}); the first rejection:\n{}",
        pstats.generated,
        pstats.first_rejection.unwrap_or_default()
    );
    for kind in [Kind::Tm, Kind::Jm] {
        let c = counts
            .get(&(Source::Raw, kind))
            .copied()
            .unwrap_or_default();
        assert!(
            c.flink_ok >= c.cases / 5 && c.flink_err >= c.cases / 20,
            "the raw {} generator is lopsided (Flink-valid {}, Flink-invalid {} of {}): it no longer tests both sides",
            kind.request(),
            c.flink_ok,
            c.flink_err,
            c.cases
        );
    }
    if !disagreements.is_empty() {
        panic!(
            "flinkgen's memory derivation disagrees with Flink {full} in {} of {} cases\n{summary}\n{}",
            disagreements.len(),
            cases.len(),
            disagreement_report(&disagreements)
        );
    }
}
