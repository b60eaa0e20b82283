//! `flinkgen diff`: how every artifact changes under another product version or policy pack,
//! which findings appear or disappear, and what each change means for the running system.

use std::collections::{BTreeMap, BTreeSet};

use crate::app::{Compiled, Options};
use crate::plan::{DocKind, JobPlan, Value};
use crate::render::Unit;

/// What a change requires, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Consequence {
    /// Existing checkpoints and savepoints no longer restore (or restore incorrectly).
    BreaksRestore,
    /// Brokers need a rolling restart (a read-only broker setting changes).
    BrokerRollingRestart,
    /// Applied to the running brokers without a restart.
    BrokerDynamic,
    /// The job restarts (from a savepoint) with the new configuration.
    JobRestart,
}

impl Consequence {
    pub fn describe(self) -> &'static str {
        match self {
            Consequence::BreaksRestore => "breaks restore from existing state",
            Consequence::BrokerRollingRestart => "needs a broker rolling restart",
            Consequence::BrokerDynamic => "applies to the brokers without a restart",
            Consequence::JobRestart => "needs only a job restart",
        }
    }
}

/// Values whose change makes existing state unusable: key groups, the state backend, and the
/// identity of the job's Kafka transactions.
fn restore_breakers(job: &JobPlan) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    if let Some(f) = job.doc(DocKind::Flink) {
        for k in ["pipeline.max-parallelism", "state.backend.type"] {
            if let Some(v) = f.get(k) {
                m.insert(k.to_string(), v.flink_text());
            }
        }
    }
    if let Some(s) = job.doc(DocKind::Sink) {
        for t in &job.sinks {
            if let Some(prefix) = s.get(&format!("{}.transactional-id-prefix", t.name)) {
                m.insert(
                    format!("{}.transactional-id-prefix", t.name),
                    prefix.kafka_text(),
                );
                // Connectors without naming strategies behave as INCREMENTING.
                let naming = s
                    .get(&format!("{}.transaction-naming-strategy", t.name))
                    .map_or("INCREMENTING".into(), Value::kafka_text);
                m.insert(format!("{}.transaction-naming-strategy", t.name), naming);
            }
        }
    }
    m
}

fn files(units: &[Unit]) -> BTreeMap<String, String> {
    units
        .iter()
        .flat_map(|u| u.files.iter())
        .map(|f| (f.path.clone(), f.contents.clone()))
        .collect()
}

fn finding_keys(c: &Compiled) -> BTreeSet<String> {
    c.findings
        .iter()
        .map(|f| format!("{} {}", f.code.as_deref().unwrap_or("-"), f.message))
        .collect()
}

pub struct Report {
    pub text: String,
    pub changed: bool,
}

/// Compare two compiled and rendered builds.
pub fn report(before: (&Compiled, &[Unit]), after: (&Compiled, &[Unit]), what: &str) -> Report {
    let (b, bu) = before;
    let (a, au) = after;
    let (bf, af) = (files(bu), files(au));
    let mut out = format!("flinkgen diff: the profiles as written → {what}\n\n");
    let mut consequences: BTreeMap<String, BTreeSet<(Consequence, String)>> = BTreeMap::new();

    // Restore-breaking values, per job.
    for job in &a.plan.jobs {
        let Some(old) = b.plan.jobs.iter().find(|j| j.name == job.name) else {
            continue;
        };
        let (o, n) = (restore_breakers(old), restore_breakers(job));
        for k in o.keys().chain(n.keys()).collect::<BTreeSet<_>>() {
            if o.get(k) != n.get(k) {
                consequences
                    .entry(format!("jobs/{}", job.name))
                    .or_default()
                    .insert((
                        Consequence::BreaksRestore,
                        format!(
                            "{k}: {} → {}",
                            o.get(k).map_or("unset", String::as_str),
                            n.get(k).map_or("unset", String::as_str)
                        ),
                    ));
            }
        }
    }
    let paths: BTreeSet<&String> = bf.keys().chain(af.keys()).collect();
    let mut diffs = String::new();
    for path in paths {
        let (old, new) = (
            bf.get(path).map_or("", String::as_str),
            af.get(path).map_or("", String::as_str),
        );
        if old == new {
            continue;
        }
        let unit = path.split('/').take(2).collect::<Vec<_>>().join("/");
        let d = similar::TextDiff::from_lines(old, new);
        diffs.push_str(
            &d.unified_diff()
                .context_radius(2)
                .header(&format!("a/{path}"), &format!("b/{path}"))
                .to_string(),
        );
        // Comments (headers naming versions) change nothing that runs.
        let content = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.trim_start().starts_with('#') && !l.trim_start().starts_with("--"))
                .map(str::to_string)
                .collect()
        };
        if bf.contains_key(path) && af.contains_key(path) && content(old) == content(new) {
            continue;
        }
        let consequence = if path.ends_with("/server.properties") {
            Consequence::BrokerRollingRestart
        } else if path.ends_with("/dynamic-cluster.properties") {
            Consequence::BrokerDynamic
        } else if path.starts_with("clusters/") {
            // Strimzi and Helm apply static keys with a rolling restart.
            Consequence::BrokerRollingRestart
        } else {
            Consequence::JobRestart
        };
        let change = match (bf.contains_key(path), af.contains_key(path)) {
            (false, true) => "new file",
            (true, false) => "file removed",
            _ => "changed",
        };
        consequences
            .entry(unit)
            .or_default()
            .insert((consequence, format!("{path}: {change}")));
    }
    let changed = !diffs.is_empty();
    if consequences.is_empty() {
        out.push_str(if changed {
            "only comments change\n"
        } else {
            "no artifact changes\n"
        });
    }
    for (unit, items) in &consequences {
        out.push_str(&format!("{unit}\n"));
        let worst = items.iter().map(|(c, _)| *c).min();
        if let Some(w) = worst {
            out.push_str(&format!("  consequence: {}\n", w.describe()));
        }
        for (c, what) in items {
            out.push_str(&format!("    [{}] {what}\n", c.describe()));
        }
    }
    let (bk, ak) = (finding_keys(b), finding_keys(a));
    let appear: Vec<&String> = ak.difference(&bk).collect();
    let vanish: Vec<&String> = bk.difference(&ak).collect();
    if !appear.is_empty() || !vanish.is_empty() {
        out.push_str("\nfindings\n");
        for f in appear {
            out.push_str(&format!("  + {f}\n"));
        }
        for f in vanish {
            out.push_str(&format!("  - {f}\n"));
        }
    }
    if !diffs.is_empty() {
        out.push('\n');
        out.push_str(&diffs);
    }
    Report { text: out, changed }
}

/// Describe the variant for the report's title.
pub fn describe(opts: &Options, extra_policies: bool) -> String {
    let v = &opts.versions;
    let mut parts = vec![];
    for (name, val) in [
        ("Flink", &v.flink),
        ("operator", &v.operator),
        ("connector", &v.connector),
        ("Kafka", &v.kafka),
    ] {
        if let Some(x) = val {
            parts.push(format!("{name} {x}"));
        }
    }
    if extra_policies {
        parts.push("the extra policy packs".into());
    }
    if parts.is_empty() {
        "the same inputs".into()
    } else {
        parts.join(", ")
    }
}
