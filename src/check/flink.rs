//! FG3xx: Flink configuration, compatibility and deployment (../shared/reference/flink.md §2, §5, §6).

use super::{CheckDef, Findings, label_job, label_origin};
use crate::diag::Severity;
use crate::plan::{DocKind, Plan};

pub static CHECKS: [CheckDef; 6] = [
    CheckDef {
        code: "FG301",
        name: "config-key-prefix-collision",
        severity: Severity::Error,
        summary: "One Flink key is a dotted prefix of another (`a.b` and `a.b.c`).",
        why: "In YAML a key cannot be both a value and a parent: a standard YAML writer drops one of them, and the operator rejects such configs for Flink 2.x (\"Overlapping key prefixes detected\").",
        fix: "use the current key names (`state.backend.type`, `restart-strategy.type`, `high-availability.type`, `…unaligned.enabled`) instead of the old leaf keys",
        run: prefix_collision,
    },
    CheckDef {
        code: "FG302",
        name: "operator-does-not-support-flink",
        severity: Severity::Error,
        summary: "The Flink Kubernetes Operator version does not accept this Flink version.",
        why: "The FlinkDeployment fails CRD validation (flinkVersion enum) or the operator's validator rejects it: the job is never deployed. No released operator accepts Flink 2.3.",
        fix: "use an operator release that lists the Flink version, or a Flink version the operator lists",
        run: operator_support,
    },
    CheckDef {
        code: "FG303",
        name: "connector-does-not-support-flink",
        severity: Severity::Error,
        summary: "The Flink Kafka connector release is not built for this Flink version.",
        why: "Connector releases are built against specific Flink versions; 3.x uses APIs that Flink 2.0 removed, so the job fails at class loading.",
        fix: "use a connector release built for the Flink version (3.x for Flink 1.x, 4.x for 2.0, 5.x for 2.1/2.2)",
        run: connector_support,
    },
    CheckDef {
        code: "FG304",
        name: "stateless-upgrade-loses-state",
        severity: Severity::Error,
        summary: "A stateful or exactly-once job uses upgradeMode stateless.",
        why: "A stateless upgrade starts the job from empty state: keyed state is lost and, for exactly-once sinks, pending transactions are abandoned.",
        fix: "use `upgrade-mode=\"savepoint\"` (or `last-state`)",
        run: stateless_upgrade,
    },
    CheckDef {
        code: "FG305",
        name: "missing-checkpoint-storage",
        severity: Severity::Error,
        summary: "The upgrade mode or the job's state needs checkpoint storage, but no checkpoint directory is set.",
        why: "The operator rejects last-state and savepoint upgrade modes without a checkpoint directory; without durable storage, state is lost with the JobManager.",
        fix: "set `kubernetes storage=\"s3://bucket/path\"` (or another durable file system URI)",
        run: missing_storage,
    },
    CheckDef {
        code: "FG306",
        name: "parallelism-above-max-parallelism",
        severity: Severity::Error,
        summary: "The job parallelism is above pipeline.max-parallelism.",
        why: "Flink refuses to run operators with a parallelism above their max parallelism (the number of key groups).",
        fix: "raise `parallelism max=…` (a one-time change that needs a savepoint migration) or lower the parallelism",
        run: parallelism_above_max,
    },
];

fn prefix_collision(plan: &Plan, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(doc) = job.doc(DocKind::Flink) else {
            continue;
        };
        let mut keys: Vec<&String> = doc.entries.keys().collect();
        keys.sort();
        for (i, a) in keys.iter().enumerate() {
            // Sorted order puts every extension of `a` right after it.
            for b in keys[i + 1..]
                .iter()
                .take_while(|b| b.starts_with(a.as_str()))
            {
                if b.as_bytes().get(a.len()) == Some(&b'.') {
                    let d = f.add(format!(
                        "job `{}`: Flink key `{a}` is a prefix of `{b}`",
                        job.name
                    ));
                    if let Some(e) = doc.entry(a) {
                        label_origin(d, &e.origin, a);
                    }
                    if let Some(e) = doc.entry(b) {
                        label_origin(d, &e.origin, b);
                    }
                    label_job(d, job);
                }
            }
        }
    }
}

fn operator_support(plan: &Plan, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(v) = job.get(DocKind::K8s, "spec.flinkVersion") else {
            continue;
        };
        let Some(wanted) = v.value.as_str() else {
            continue;
        };
        match job.fact("operator-supports-flink") {
            Some(s)
                if s.value
                    .as_str()
                    .is_some_and(|l| l.split_whitespace().any(|x| x == wanted)) => {}
            Some(s) => {
                let d = f.add(format!(
                    "job `{}`: Flink Kubernetes Operator {} does not accept flinkVersion {wanted} (it accepts {})",
                    job.name,
                    job.fact_str("operator-version").unwrap_or("?"),
                    s.value.as_str().unwrap_or("?")
                ));
                label_origin(d, &v.origin, "Flink version");
                if let Some(o) = job.fact("operator-version") {
                    label_origin(d, &o.origin, "operator version");
                }
                label_job(d, job);
            }
            None => {
                let d = f.add(format!(
                    "job `{}`: flinkgen knows no Flink Kubernetes Operator release {}",
                    job.name,
                    job.fact_str("operator-version").unwrap_or("?")
                ));
                if let Some(o) = job.fact("operator-version") {
                    label_origin(d, &o.origin, "unknown operator version");
                }
                d.help = Some("use a released operator version (1.10–1.15), or add an operator pack with --policies".into());
                label_job(d, job);
            }
        }
    }
}

fn connector_support(plan: &Plan, f: &mut Findings) {
    for job in &plan.jobs {
        if job.sources.is_empty() && job.sinks.is_empty() {
            continue;
        }
        let Some(flink) = job.fact_str("flink-version") else {
            continue;
        };
        let connector = job.fact_str("connector-version").unwrap_or("?");
        match job.fact("connector-supports-flink") {
            Some(s)
                if s.value
                    .as_str()
                    .is_some_and(|l| l.split_whitespace().any(|x| x == flink)) => {}
            Some(s) => {
                let d = f.add(format!(
                    "job `{}`: Kafka connector {connector} is built for Flink {}, not {flink}",
                    job.name,
                    s.value.as_str().unwrap_or("?")
                ));
                if let Some(o) = job.fact("connector-version") {
                    label_origin(d, &o.origin, "connector");
                }
                if let Some(o) = job.fact("flink-version") {
                    label_origin(d, &o.origin, "Flink version");
                }
                label_job(d, job);
            }
            None => {
                let d = f.add(format!(
                    "job `{}`: flinkgen knows no Flink Kafka connector release {connector}",
                    job.name
                ));
                if let Some(o) = job.fact("connector-version") {
                    label_origin(d, &o.origin, "unknown release");
                }
                d.help = Some("use a released connector version (e.g. 3.4.0, 4.0.1, 5.0.0)".into());
                label_job(d, job);
            }
        }
    }
}

fn stateless_upgrade(plan: &Plan, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(mode) = job.get(DocKind::K8s, "spec.job.upgradeMode") else {
            continue;
        };
        let stateful = job
            .fact("stateful")
            .and_then(|s| s.value.as_bool())
            .unwrap_or(false);
        let eos = job.fact_str("delivery") == Some("exactly-once");
        if mode.value.as_str() == Some("stateless") && (stateful || eos) {
            let d = f.add(format!(
                "job `{}` is {} but upgrades stateless: an upgrade starts it from empty state",
                job.name,
                if stateful { "stateful" } else { "exactly-once" }
            ));
            label_origin(d, &mode.origin, "upgrade mode");
            label_job(d, job);
        }
    }
}

fn missing_storage(plan: &Plan, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(flink) = job.doc(DocKind::Flink) else {
            continue;
        };
        let has_dir = flink
            .entries
            .keys()
            .any(|k| k == "execution.checkpointing.dir" || k == "state.checkpoints.dir");
        if has_dir {
            continue;
        }
        let mode = job.get(DocKind::K8s, "spec.job.upgradeMode");
        let needs_dir = mode
            .and_then(|m| m.value.as_str())
            .is_some_and(|m| m != "stateless");
        let stateful = job
            .fact("stateful")
            .and_then(|s| s.value.as_bool())
            .unwrap_or(false);
        if needs_dir || stateful {
            let d = f.add(format!("job `{}` has no checkpoint storage", job.name));
            if let Some(m) = mode {
                label_origin(d, &m.origin, "needs a checkpoint directory");
            }
            label_job(d, job);
        }
    }
}

fn parallelism_above_max(plan: &Plan, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(doc) = job.doc(DocKind::Flink) else {
            continue;
        };
        let (Some(p), Some(m)) = (
            doc.entry("parallelism.default"),
            doc.entry("pipeline.max-parallelism"),
        ) else {
            continue;
        };
        if let (Some(pv), Some(mv)) = (p.value.as_i64(), m.value.as_i64())
            && mv > 0
            && pv > mv
        {
            let d = f.add(format!(
                "job `{}`: parallelism {pv} is above max parallelism {mv}",
                job.name
            ));
            label_origin(d, &p.origin, "parallelism");
            label_origin(d, &m.origin, "max parallelism");
            label_job(d, job);
        }
    }
}
