//! Sizing: instance → allocatable memory → TaskManager size, slots, replicas, node count.

use super::context::JobCtx;
use crate::diag::Diagnostic;
use crate::plan::{DocKind, Input, JobPlan, Origin, Value};
use crate::policy::{InstanceType, Reserve};
use crate::profile::validate::did_you_mean;
use crate::units::human_size;

const MIB: u64 = 1 << 20;

/// Memory Kubernetes reserves on a node of `inst` (kube/system reserved + eviction threshold).
pub fn node_reserve(inst: &InstanceType, reserve: &crate::policy::NodeReserve) -> u64 {
    let kube = match &reserve.reserve {
        Reserve::PerPod { base, per_pod } => {
            base + per_pod * u64::from(inst.max_pods.unwrap_or(110))
        }
        Reserve::Tiered { tiers } => {
            let mut lower = 0u64;
            let mut total = 0f64;
            for (upper, fraction) in tiers {
                let top = upper.unwrap_or(u64::MAX).min(inst.memory);
                if top > lower {
                    total += (top - lower) as f64 * fraction;
                }
                lower = upper.unwrap_or(u64::MAX);
                if lower >= inst.memory {
                    break;
                }
            }
            total as u64
        }
    };
    kube + reserve.eviction
}

pub struct Sizing {
    pub parallelism: u32,
    pub slots: u32,
    pub tm_replicas: u32,
}

pub fn size(cx: &JobCtx<'_>, plan: &mut JobPlan) -> Result<Sizing, Diagnostic> {
    let p = cx.p();
    let (inst, pack) = cx.packs.instance(&p.instance.kind).ok_or_else(|| {
        let names = cx.packs.instance_names();
        let d = Diagnostic::error(format!("unknown instance type `{}`", p.instance.kind))
            .with_label(cx.span("/instance/type"), "not in the instance catalog");
        match did_you_mean(&p.instance.kind, names.iter().copied()) {
            Some(c) => d.with_help(format!("did you mean `{c}`? `flinkgen instances` lists the catalog")),
            None => d.with_help("`flinkgen instances` lists the catalog; add your own with an instance pack in --policies"),
        }
    })?;
    let reserve = cx.packs.reserve(&inst.reserve).ok_or_else(|| {
        Diagnostic::error(format!(
            "instance `{}` names node reserve `{}`, which no pack defines",
            inst.name, inst.reserve
        ))
        .with_label(inst.span, "here")
    })?;
    let inst_input = Input {
        name: format!("instance {} ({}@{})", inst.name, pack.name, pack.version),
        value: format!(
            "{} vCPU, {}{}",
            inst.vcpu,
            human_size(inst.memory),
            inst.max_pods
                .map(|m| format!(", max {m} pods"))
                .unwrap_or_default()
        ),
        span: Some(cx.span("/instance/type")),
    };
    let reserved = node_reserve(inst, reserve);
    let reserve_input = Input {
        name: format!("node reserve `{}` ({})", reserve.name, reserve.source),
        value: human_size(reserved),
        span: Some(reserve.span),
    };
    let allocatable = inst.memory.saturating_sub(reserved);
    let (per_node, per_node_in) = cx.param_f64("sizing.taskmanagers-per-node", 1.0);
    let per_node = (per_node.max(1.0)) as u64;
    let (headroom, headroom_in) = cx.param_size("sizing.node-headroom", 1 << 30);
    let process = (allocatable.saturating_sub(headroom) / per_node) / MIB * MIB;
    if process < 1 << 30 {
        return Err(Diagnostic::error(format!(
            "instance `{}` leaves {} per TaskManager after the node reserve and headroom: too small for Flink",
            inst.name,
            human_size(process)
        ))
        .with_label(cx.span("/instance/type"), "too small")
        .with_help("choose a larger instance type"));
    }
    let mut inputs = vec![inst_input.clone(), reserve_input];
    inputs.extend(per_node_in.clone());
    inputs.extend(headroom_in);
    let tm_mem_origin = Origin::Model {
        model: "sizing".into(),
        steps: vec![
            format!("allocatable = {} − reserve {} = {}", human_size(inst.memory), human_size(reserved), human_size(allocatable)),
            format!(
                "TaskManager process = (allocatable − headroom {}) ÷ {per_node} TaskManager(s) per node, rounded down to MiB = {}",
                human_size(headroom),
                human_size(process)
            ),
            "the operator writes spec.taskManager.resource.memory into taskmanager.memory.process.size, and the pod's memory equals it".into(),
        ].into(),
        inputs: inputs.into(),
    };
    plan.doc_mut(DocKind::K8s).set(
        "spec.taskManager.resource.memory",
        Value::Bytes(process),
        tm_mem_origin.clone(),
    );
    plan.doc_mut(DocKind::Flink).set(
        cx.key("tm-process-size"),
        Value::Bytes(process),
        tm_mem_origin,
    );

    // Slots and CPU.
    let slots = (u64::from(inst.vcpu) / per_node).max(1) as u32;
    let (cpu_headroom, cpu_in) = cx.param_f64("sizing.cpu-headroom", 1.0);
    let cpu = ((f64::from(inst.vcpu) - cpu_headroom) / per_node as f64).max(0.5);
    let mut slot_inputs = vec![inst_input.clone()];
    slot_inputs.extend(per_node_in.clone());
    plan.doc_mut(DocKind::Flink).set(
        cx.key("slots"),
        Value::Int(i64::from(slots)),
        Origin::Model {
            model: "sizing".into(),
            steps: vec![format!(
                "slots = {} vCPU ÷ {per_node} TaskManager(s) per node = {slots}",
                inst.vcpu
            )]
            .into(),
            inputs: slot_inputs.clone().into(),
        },
    );
    let mut cpu_inputs = slot_inputs;
    cpu_inputs.extend(cpu_in);
    plan.doc_mut(DocKind::K8s).set(
        "spec.taskManager.resource.cpu",
        Value::Float(cpu),
        Origin::Model {
            model: "sizing".into(),
            steps: vec![format!(
                "cpu = ({} vCPU − {cpu_headroom} for system daemons) ÷ {per_node} = {cpu}",
                inst.vcpu
            )]
            .into(),
            inputs: cpu_inputs.into(),
        },
    );

    // Parallelism.
    let parallelism_origin;
    let parallelism = match p.parallelism.as_ref().and_then(|x| x.default) {
        Some(v) => {
            parallelism_origin = cx.profile_origin("/parallelism/default");
            v
        }
        None => {
            let max_partitions = p.source.iter().filter_map(|s| s.partitions).max();
            let (per_slot, per_slot_in) =
                cx.param_f64("sizing.records-per-second-per-slot", 10_000.0);
            let by_rate = p
                .throughput
                .as_ref()
                .map(|t| ((t.records_per_second as f64) / per_slot.max(1.0)).ceil() as u32);
            let mut inputs = vec![];
            let mut steps = vec![];
            if let Some(mp) = max_partitions {
                inputs.push(cx.input("largest source partition count", mp, "/source"));
                steps.push(format!("one subtask per source partition: {mp}"));
            }
            if let (Some(r), Some(t)) = (by_rate, p.throughput.as_ref()) {
                inputs.push(cx.input(
                    "records per second",
                    t.records_per_second,
                    "/throughput/records-per-second",
                ));
                inputs.extend(per_slot_in);
                steps.push(format!("throughput ÷ records per slot = {r}"));
            }
            // One subtask per partition keeps every partition read; the rate may need more.
            let v = match (max_partitions, by_rate) {
                (Some(mp), Some(r)) => mp.max(r),
                (Some(mp), None) => mp,
                (None, Some(r)) => r.max(1),
                (None, None) => 1,
            };
            steps.push(format!("parallelism = {v}"));
            parallelism_origin = Origin::Model {
                model: "sizing".into(),
                steps: steps.into(),
                inputs: inputs.into(),
            };
            v
        }
    };
    plan.doc_mut(DocKind::Flink).set(
        cx.key("parallelism"),
        Value::Int(i64::from(parallelism)),
        parallelism_origin.clone(),
    );
    plan.doc_mut(DocKind::K8s).set(
        "spec.job.parallelism",
        Value::Int(i64::from(parallelism)),
        parallelism_origin,
    );

    // Max parallelism: pinned, because it is part of savepoint compatibility.
    let (max_p, max_origin) = match p.parallelism.as_ref().and_then(|x| x.max) {
        Some(m) => (m, cx.profile_origin("/parallelism/max")),
        None => {
            let m = u32::try_from(
                u64::from(parallelism + parallelism / 2)
                    .next_power_of_two()
                    .clamp(128, 32768),
            )
            .unwrap_or(32768);
            (
                m,
                Origin::Model {
                    model: "sizing".into(),
                    steps: vec![
                        format!(
                            "Flink's default rule: roundUpToPowerOfTwo(p + p/2) within [128, 32768] = {m}"
                        ),
                        "pinned explicitly: changing it later breaks restore from existing state"
                            .into(),
                    ].into(),
                    inputs: vec![Input {
                        name: "parallelism".into(),
                        value: parallelism.to_string(),
                        span: None,
                    }].into(),
                },
            )
        }
    };
    plan.doc_mut(DocKind::Flink).set(
        cx.key("max-parallelism"),
        Value::Int(i64::from(max_p)),
        max_origin,
    );

    let tm_replicas = parallelism.div_ceil(slots);
    plan.doc_mut(DocKind::K8s).set(
        "spec.taskManager.replicas",
        Value::Int(i64::from(tm_replicas)),
        Origin::Model {
            model: "sizing".into(),
            steps: vec![format!(
                "TaskManagers = ceil(parallelism {parallelism} ÷ {slots} slots) = {tm_replicas}"
            )]
            .into(),
            inputs: vec![].into(),
        },
    );
    let needed_nodes = u64::from(tm_replicas).div_ceil(per_node);
    plan.set_fact(
        "instance-count-needed",
        Value::Int(needed_nodes as i64),
        Origin::Model {
            model: "sizing".into(),
            steps: vec![format!(
                "nodes = ceil({tm_replicas} TaskManagers ÷ {per_node} per node) = {needed_nodes}"
            )]
            .into(),
            inputs: vec![inst_input].into(),
        },
    );
    if let Some(c) = p.instance.count {
        plan.set_fact(
            "instance-count",
            Value::Int(i64::from(c)),
            cx.profile_origin("/instance/count"),
        );
    }
    plan.set_fact(
        "node-allocatable",
        Value::Bytes(allocatable),
        Origin::Model {
            model: "sizing".into(),
            steps: vec![format!(
                "{} − reserve {}",
                human_size(inst.memory),
                human_size(reserved)
            )]
            .into(),
            inputs: vec![].into(),
        },
    );
    plan.set_fact(
        "instance-local-disk",
        Value::Bytes(inst.local_nvme_size * u64::from(inst.local_nvme_count)),
        Origin::ProductDefault {
            pack: pack.name.clone(),
            version: pack.version.clone(),
            span: inst.span,
        },
    );
    Ok(Sizing {
        parallelism,
        slots,
        tm_replicas,
    })
}
