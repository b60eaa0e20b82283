//! Checkpointing, state backend, storage, restart strategy, HA and the FlinkDeployment job spec.

use super::context::JobCtx;
use crate::plan::{DocKind, Input, JobPlan, Origin, Value};
use crate::profile::{Delivery, UpgradeMode};

pub fn derive(cx: &JobCtx<'_>, plan: &mut JobPlan) {
    let p = cx.p();
    let stateful = p.state.is_some();
    let guaranteed = p.delivery != Delivery::None;
    let flink = |plan: &mut JobPlan, logical: &str, v: Value, o: Origin| {
        plan.doc_mut(DocKind::Flink).set(cx.key(logical), v, o);
    };

    // State backend.
    if let Some(s) = &p.state {
        flink(
            plan,
            "state-backend",
            Value::Str(s.backend.as_str().into()),
            cx.profile_origin("/state/backend"),
        )
    }

    // Checkpointing: needed for any delivery guarantee and for any state.
    let explicit = p.checkpoint.as_ref().and_then(|c| c.interval);
    if guaranteed || stateful || explicit.is_some() {
        let (interval, interval_origin) = match explicit {
            Some(d) => (d.0, cx.profile_origin("/checkpoint/interval")),
            None => {
                let (v, inp) = cx.param_ms("checkpoint.interval", 60_000);
                (
                    v,
                    model(
                        "checkpoint",
                        vec![format!(
                            "policy default interval {}",
                            crate::units::human_duration(v)
                        )],
                        inp,
                    ),
                )
            }
        };
        flink(
            plan,
            "checkpoint-interval",
            Value::Millis(interval),
            interval_origin,
        );
        let mode = if p.delivery == Delivery::ExactlyOnce || p.delivery == Delivery::None {
            "EXACTLY_ONCE"
        } else {
            "AT_LEAST_ONCE"
        };
        flink(
            plan,
            "checkpoint-mode",
            Value::Str(mode.into()),
            Origin::Model {
                model: "checkpoint".into(),
                steps: vec![format!("delivery `{}` → {mode}", p.delivery.as_str())].into(),
                inputs: vec![cx.input("delivery", p.delivery.as_str(), "/delivery")].into(),
            },
        );
        let (timeout, t_in) = cx.param_ms("checkpoint.timeout", 600_000);
        flink(
            plan,
            "checkpoint-timeout",
            Value::Millis(timeout),
            model("checkpoint", vec!["policy timeout".into()], t_in),
        );
        let (ratio, r_in) = cx.param_f64("checkpoint.min-pause-ratio", 0.5);
        let pause = (interval as f64 * ratio) as u64;
        let mut pause_inputs = vec![Input {
            name: "interval".into(),
            value: crate::units::human_duration(interval),
            span: None,
        }];
        pause_inputs.extend(r_in);
        flink(
            plan,
            "checkpoint-min-pause",
            Value::Millis(pause),
            Origin::Model {
                model: "checkpoint".into(),
                steps: vec![format!(
                    "min-pause = interval × {ratio} = {}",
                    crate::units::human_duration(pause)
                )]
                .into(),
                inputs: pause_inputs.into(),
            },
        );
        let (tolerable, tol_in) = cx.param_f64("checkpoint.tolerable-failed", 3.0);
        flink(
            plan,
            "tolerable-failed-checkpoints",
            Value::Int(tolerable as i64),
            model(
                "checkpoint",
                vec!["policy: consecutive failed checkpoints tolerated before a restart".into()],
                tol_in,
            ),
        );
        flink(
            plan,
            "max-concurrent-checkpoints",
            Value::Int(1),
            model("checkpoint", vec!["one checkpoint at a time (required by unaligned checkpoints, and keeps min-pause meaningful)".into()], None),
        );
        let (strategy, s_in) = match cx.param("restart.strategy") {
            Some((v, inp)) => (v.to_text(), Some(inp)),
            None => ("exponential-delay".to_string(), None),
        };
        flink(
            plan,
            "restart-strategy",
            Value::Str(strategy),
            model("checkpoint", vec!["policy restart strategy".into()], s_in),
        );
    }

    // Storage: checkpoint and savepoint directories, HA.
    if let Some(uri) = &p.kubernetes.storage {
        let base = uri.trim_end_matches('/');
        let o = |what: &str| Origin::Model {
            model: "storage".into(),
            steps: vec![format!("{what} under the job's storage URI")].into(),
            inputs: vec![cx.input("storage", uri, "/kubernetes/storage")].into(),
        };
        flink(
            plan,
            "checkpoint-storage",
            Value::Str("filesystem".into()),
            o("filesystem checkpoint storage"),
        );
        flink(
            plan,
            "checkpoint-dir",
            Value::Str(format!("{base}/checkpoints")),
            o("checkpoints"),
        );
        flink(
            plan,
            "savepoint-dir",
            Value::Str(format!("{base}/savepoints")),
            o("savepoints"),
        );
    }

    // Upgrade mode: never stateless for a stateful or exactly-once job unless the user says so.
    let (mode, mode_origin) = match p.kubernetes.upgrade_mode {
        Some(m) => (m, cx.profile_origin("/kubernetes/upgrade-mode")),
        None => {
            let m = if stateful || p.delivery == Delivery::ExactlyOnce {
                UpgradeMode::Savepoint
            } else {
                UpgradeMode::Stateless
            };
            (
                m,
                Origin::Model {
                    model: "deployment".into(),
                    steps: vec![format!(
                        "{} → upgrade mode {}",
                        if m == UpgradeMode::Savepoint {
                            "state or exactly-once must survive upgrades"
                        } else {
                            "no state to carry over"
                        },
                        m.as_str()
                    )]
                    .into(),
                    inputs: vec![cx.input("delivery", p.delivery.as_str(), "/delivery")].into(),
                },
            )
        }
    };
    plan.doc_mut(DocKind::K8s).set(
        "spec.job.upgradeMode",
        Value::Str(mode.as_str().into()),
        mode_origin.clone(),
    );
    if mode != UpgradeMode::Stateless
        && let Some(uri) = &p.kubernetes.storage
    {
        let o = Origin::Model {
            model: "deployment".into(),
            steps: vec![format!(
                "upgrade mode {} needs Kubernetes HA so the operator can find the latest checkpoint",
                mode.as_str()
            )].into(),
            inputs: vec![cx.input("storage", uri, "/kubernetes/storage")].into(),
        };
        flink(plan, "ha-type", Value::Str("kubernetes".into()), o.clone());
        flink(
            plan,
            "ha-storage-dir",
            Value::Str(format!("{}/ha", uri.trim_end_matches('/'))),
            o,
        );
    }
}

fn model(name: &str, steps: Vec<String>, input: Option<Input>) -> Origin {
    Origin::Model {
        model: name.into(),
        steps: steps.into(),
        inputs: input.into_iter().collect(),
    }
}

/// Estimate a checkpoint's duration: the bytes uploaded per checkpoint (incremental RocksDB: the
/// state changed since the last one, times a compaction factor; otherwise the full state) over
/// the nodes' upload bandwidth. An estimate, stated as one.
pub fn cost(cx: &JobCtx<'_>, plan: &mut JobPlan) {
    let p = cx.p();
    let Some(state) = p.state.as_ref() else {
        return;
    };
    let Some((inst, _)) = cx.packs.instance(&p.instance.kind) else {
        return;
    };
    let Some(interval) = plan
        .get(DocKind::Flink, &cx.key("checkpoint-interval"))
        .and_then(|e| e.value.as_i64())
    else {
        return;
    };
    let nodes = plan
        .fact_i64("instance-count")
        .or_else(|| plan.fact_i64("instance-count-needed"))
        .unwrap_or(1)
        .max(1) as f64;
    let incremental = plan
        .get(DocKind::Flink, &cx.key("incremental"))
        .and_then(|e| e.value.as_bool())
        .unwrap_or(false);
    let rate = p.throughput.as_ref().map_or(0.0, |t| {
        t.records_per_second as f64 * t.record_size.0 as f64
    });
    let (factor, f_in) = cx.param_f64("checkpoint.compaction-factor", 2.0);
    let (efficiency, e_in) = cx.param_f64("checkpoint.upload-efficiency", 0.5);
    let size = state.size.0 as f64;
    // Incremental checkpoints upload what changed: without a throughput there is no estimate.
    if incremental && rate == 0.0 {
        return;
    }
    let (bytes, what) = if incremental {
        let changed = (rate * interval as f64 / 1000.0 * factor).min(size);
        (
            changed,
            format!(
                "incremental: {} written per interval × compaction {factor}",
                crate::units::human_size((rate * interval as f64 / 1000.0) as u64)
            ),
        )
    } else {
        (size, "full state per checkpoint".to_string())
    };
    let mut bandwidth = inst.network_baseline_gbps * 1e9 / 8.0 * efficiency;
    let mut limit = format!(
        "network baseline {} Gbit/s × {efficiency}",
        inst.network_baseline_gbps
    );
    // Without local disks RocksDB reads its files from the network disk to upload them.
    if inst.local_nvme_count == 0
        && inst.disk_bandwidth_mbps > 0.0
        && state.backend == crate::profile::Backend::Rocksdb
    {
        let disk = inst.disk_bandwidth_mbps * 1e6;
        if disk < bandwidth {
            bandwidth = disk;
            limit = format!("network disk {} MB/s", inst.disk_bandwidth_mbps);
        }
    }
    let seconds = if bandwidth > 0.0 {
        bytes / (nodes * bandwidth)
    } else {
        0.0
    };
    let ms = (seconds * 1000.0).ceil() as u64;
    let mut inputs = vec![
        cx.input(
            "state size",
            crate::units::human_size(state.size.0),
            "/state/size",
        ),
        Input {
            name: "nodes".into(),
            value: nodes.to_string(),
            span: None,
        },
        Input {
            name: format!("instance {}", inst.name),
            value: limit.clone(),
            span: Some(inst.span),
        },
    ];
    inputs.extend(f_in);
    inputs.extend(e_in);
    plan.set_fact(
        "checkpoint-duration-estimate",
        Value::Millis(ms),
        Origin::Model {
            model: "checkpoint-cost".into(),
            steps: vec![
                format!(
                    "bytes per checkpoint ≈ {} ({what})",
                    crate::units::human_size(bytes as u64)
                ),
                format!(
                    "upload bandwidth per node ≈ {}/s ({limit})",
                    crate::units::human_size(bandwidth as u64)
                ),
                format!(
                    "≈ {} per checkpoint over {nodes} node(s) — an estimate",
                    crate::units::human_duration(ms)
                ),
            ]
            .into(),
            inputs: inputs.into(),
        },
    );
}
