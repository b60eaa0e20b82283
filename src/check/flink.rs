//! FG3xx: Flink configuration, compatibility and deployment (../shared/reference/flink.md §2, §5, §6).

use super::{CheckDef, Checked, Findings, label_job, label_origin};
use crate::diag::Severity;
use crate::plan::DocKind;

pub static CHECKS: [CheckDef; 11] = [
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
    CheckDef {
        code: "FG307",
        name: "local-recovery-task-failover-only",
        severity: Severity::Info,
        summary: "Local recovery is on, but TaskManager pods of a native Kubernetes deployment do not keep their local state across a pod restart.",
        why: "A restarted TaskManager pod gets a new resource id and an empty local directory: the local copies speed up task failover inside a running TaskManager, not recovery from a lost pod, which downloads the state again.",
        fix: "nothing to change for task failover; for pod restarts, a persistent working directory with a stable taskmanager.resource-id (standalone mode with a StatefulSet) is needed",
        run: local_recovery_scope,
    },
    CheckDef {
        code: "FG308",
        name: "large-state-without-local-disk",
        severity: Severity::Warning,
        summary: "RocksDB holds more than 10 GiB of state per node on an instance without local NVMe.",
        why: "RocksDB then works on the container's root or network disk: compactions and checkpoint uploads compete for the disk's throughput limit, and recovery downloads the whole state through it.",
        fix: "use an instance type with local NVMe (e.g. the `d` variants on AWS, `-lssd` on GCP), or more nodes",
        run: large_state_no_local_disk,
    },
    CheckDef {
        code: "FG309",
        name: "filesystem-plugin-needed",
        severity: Severity::Info,
        summary: "The checkpoint storage URI needs a Flink filesystem plugin.",
        why: "Flink loads s3://, gs:// and abfss:// file systems only from plugins; without the plugin the job fails at its first checkpoint (or at startup with HA) with UnsupportedFileSystemSchemeException.",
        fix: "enable the plugin in the image: ENABLE_BUILT_IN_PLUGINS=<plugin>-<flink version>.jar for the official image, or copy it from opt/ to plugins/",
        run: filesystem_plugin,
    },
    CheckDef {
        code: "FG310",
        name: "checkpointing-takes-most-of-the-interval",
        severity: Severity::Warning,
        summary: "Policy: by estimate, checkpoints take more of each interval than the policy allows.",
        why: "A job that checkpoints most of the time spends its I/O on uploads, and with a min-pause the effective interval stretches: end-to-end latency (exactly-once commits) and recovery replay grow.",
        fix: "lengthen the checkpoint interval, use incremental checkpoints, more nodes or more network bandwidth",
        run: checkpoint_share,
    },
    CheckDef {
        code: "FG311",
        name: "checkpoint-timeout-below-estimate",
        severity: Severity::Warning,
        summary: "Policy: the checkpoint timeout leaves less than the policy margin over the estimated checkpoint duration.",
        why: "Checkpoints that regularly time out never complete: the job restarts after the tolerated failures, and exactly-once sinks never commit.",
        fix: "raise execution.checkpointing.timeout above the estimate with margin, or make checkpoints cheaper",
        run: timeout_below_estimate,
    },
];

fn prefix_collision(plan: &Checked<'_>, f: &mut Findings) {
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

fn operator_support(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        // Unknown operator version (lint without --fact operator-version): nothing to compare.
        if job.fact("operator-version").is_none() {
            continue;
        }
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

fn connector_support(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        if job.sources.is_empty() && job.sinks.is_empty() {
            continue;
        }
        let Some(flink) = job.fact_str("flink-version") else {
            continue;
        };
        let Some(connector) = job.fact_str("connector-version") else {
            continue;
        };
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

fn stateless_upgrade(plan: &Checked<'_>, f: &mut Findings) {
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

fn missing_storage(plan: &Checked<'_>, f: &mut Findings) {
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

fn parallelism_above_max(plan: &Checked<'_>, f: &mut Findings) {
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

fn local_recovery_scope(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(doc) = job.doc(DocKind::Flink) else {
            continue;
        };
        let on = [
            "execution.state-recovery.from-local",
            "state.backend.local-recovery",
        ]
        .iter()
        .find_map(|k| doc.entry(k).filter(|e| e.value.as_bool() == Some(true)));
        if let Some(e) = on {
            let d = f.add(format!(
                "job `{}`: local recovery speeds up task failover only: a restarted TaskManager pod starts with a new resource id and no local state",
                job.name
            ));
            label_origin(d, &e.origin, "local recovery");
            label_job(d, job);
        }
    }
}

fn large_state_no_local_disk(plan: &Checked<'_>, f: &mut Findings) {
    const PER_NODE: f64 = 10.0 * (1u64 << 30) as f64;
    for job in &plan.jobs {
        if job.fact_str("state-backend") != Some("rocksdb")
            || job.fact_i64("instance-local-disk") != Some(0)
        {
            continue;
        }
        let Some(state) = job.fact("state-size") else {
            continue;
        };
        let nodes = job
            .fact_i64("instance-count")
            .or_else(|| job.fact_i64("instance-count-needed"))
            .unwrap_or(1)
            .max(1);
        let per_node = state.value.as_i64().unwrap_or(0) as f64 / nodes as f64;
        if per_node > PER_NODE {
            let d = f.add(format!(
                "job `{}`: {} of RocksDB state per node on `{}`, which has no local NVMe",
                job.name,
                crate::units::human_size(per_node as u64),
                job.fact_str("instance-type").unwrap_or("?")
            ));
            label_origin(d, &state.origin, "state size");
            if let Some(i) = job.fact("instance-type") {
                label_origin(d, &i.origin, "instance type");
            }
            label_job(d, job);
        }
    }
}

fn filesystem_plugin(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(storage) = job.fact("storage") else {
            continue;
        };
        let Some(uri) = storage.value.as_str() else {
            continue;
        };
        if let Some(plugin) = crate::resolve::local_state::filesystem_plugin(uri) {
            let version = job.fact_str("flink-version").unwrap_or("<version>");
            let d = f.add(format!(
                "job `{}`: checkpoint storage `{uri}` needs the {plugin} plugin in the image (e.g. ENABLE_BUILT_IN_PLUGINS={plugin}-{version}.<patch>.jar)",
                job.name
            ));
            label_origin(d, &storage.origin, "storage URI");
            label_job(d, job);
        }
    }
}

fn float_fact(job: &crate::plan::JobPlan, name: &str) -> Option<f64> {
    match job.fact(name)?.value {
        crate::plan::Value::Float(v) => Some(v),
        _ => None,
    }
}

fn checkpoint_share(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        let (Some(est), Some(share)) = (
            job.fact("checkpoint-duration-estimate"),
            float_fact(job, "policy-max-checkpoint-share"),
        ) else {
            continue;
        };
        let Some(interval) = job.get(DocKind::Flink, "execution.checkpointing.interval") else {
            continue;
        };
        let (Some(e), Some(i)) = (est.value.as_i64(), interval.value.as_i64()) else {
            continue;
        };
        if i > 0 && e as f64 > share * i as f64 {
            let d = f.add(format!(
                "job `{}`: a checkpoint takes about {} (estimate) of each {} interval, more than the policy's {:.0}%",
                job.name,
                crate::units::human_duration(e as u64),
                crate::units::human_duration(i as u64),
                share * 100.0
            ));
            label_origin(d, &interval.origin, "interval");
            label_origin(d, &est.origin, "estimate");
            label_job(d, job);
        }
    }
}

fn timeout_below_estimate(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        let (Some(est), Some(margin)) = (
            job.fact("checkpoint-duration-estimate"),
            float_fact(job, "policy-checkpoint-timeout-margin"),
        ) else {
            continue;
        };
        let Some(timeout) = job.get(DocKind::Flink, "execution.checkpointing.timeout") else {
            continue;
        };
        let (Some(e), Some(t)) = (est.value.as_i64(), timeout.value.as_i64()) else {
            continue;
        };
        if (t as f64) < e as f64 * margin {
            let d = f.add(format!(
                "job `{}`: checkpoint timeout {} is below the estimated checkpoint duration {} × {margin}",
                job.name,
                crate::units::human_duration(t as u64),
                crate::units::human_duration(e as u64)
            ));
            label_origin(d, &timeout.origin, "timeout");
            label_origin(d, &est.origin, "estimate");
            label_job(d, job);
        }
    }
}
