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
                steps: vec![format!("delivery `{}` → {mode}", p.delivery.as_str())],
                inputs: vec![cx.input("delivery", p.delivery.as_str(), "/delivery")],
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
                )],
                inputs: pause_inputs,
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
            steps: vec![format!("{what} under the job's storage URI")],
            inputs: vec![cx.input("storage", uri, "/kubernetes/storage")],
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
                    )],
                    inputs: vec![cx.input("delivery", p.delivery.as_str(), "/delivery")],
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
            )],
            inputs: vec![cx.input("storage", uri, "/kubernetes/storage")],
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
        steps,
        inputs: input.into_iter().collect(),
    }
}
