//! The TaskManager memory budget: every component written explicitly so that they add up to
//! `taskmanager.memory.process.size` exactly, split by state backend.
//!
//! * RocksDB: task heap per slot, network sized to the job's exchanges, metaspace, and managed
//!   memory (RocksDB's block cache and write buffers) the rest, capped by policy. JVM overhead is
//!   raised to a policy share of managed memory: RocksDB's limit is soft (pinned iterators,
//!   index/filter blocks, allocator fragmentation), and its excess lands in the container.
//! * Heap state or no state: managed memory only as the policy asks, the rest task heap.
//!
//! Components a profile sets through overrides are kept and the others derived around them.
//! When a profile sets a memory fraction or the total Flink size, the budget stays out of the
//! way (writing sizes would silently void the user's fraction).

use super::context::JobCtx;
use super::memory::{float_fraction, multiply};
use crate::plan::{DocKind, Input, JobPlan, Origin, Value};
use crate::units::{human_size, parse_flink_memory};

const MIB: u64 = 1 << 20;

fn round_up_mib(b: u64) -> u64 {
    b.div_ceil(MIB) * MIB
}

fn round_down_mib(b: u64) -> u64 {
    b / MIB * MIB
}

/// A component the profile fixed through an override, if any.
fn fixed(plan: &JobPlan, key: &str) -> Option<u64> {
    let e = plan.get(DocKind::Flink, key)?;
    if !matches!(e.origin, Origin::Profile { .. }) {
        return None;
    }
    match &e.value {
        Value::Bytes(b) => Some(*b),
        other => parse_flink_memory(&other.flink_text()).ok(),
    }
}

/// The network buffer need of one TaskManager, from the job's exchanges and Flink's buffer
/// settings: per slot and exchange, an input gate (fan-in channels × exclusive buffers +
/// floating buffers) and a result partition (fan-out subpartitions × buffers + floating).
pub fn network_need(
    slots: u64,
    exchanges: u64,
    fan_in: u64,
    fan_out: u64,
    per_channel: u64,
    floating: u64,
    segment: u64,
) -> u64 {
    let per_slot =
        exchanges * ((fan_in * per_channel + floating) + (fan_out * per_channel + floating));
    slots * per_slot * segment
}

fn pack_default(cx: &JobCtx<'_>, key: &str) -> Option<String> {
    cx.flink
        .defaults
        .iter()
        .find(|(k, _, _)| k == key)
        .map(|(_, v, _)| v.clone())
}

pub fn derive(cx: &JobCtx<'_>, plan: &mut JobPlan, parallelism: u32, slots: u32) {
    let p = cx.p();
    let flink_key = |logical: &str| cx.key(logical);
    let Some(process) = plan
        .get(DocKind::Flink, &flink_key("tm-process-size"))
        .and_then(|e| e.value.as_i64())
    else {
        return;
    };
    let process = process as u64;
    let tm = |k: &str| format!("taskmanager.memory.{k}");

    // Network: the estimate is a floor, with a margin; never below Flink's own minimum.
    let ex = p.exchanges.as_ref();
    let exchanges = u64::from(ex.map_or(u32::from(p.state.is_some()), |e| e.count));
    let fan_in = u64::from(ex.and_then(|e| e.fan_in).unwrap_or(parallelism));
    let fan_out = u64::from(ex.and_then(|e| e.fan_out).unwrap_or(parallelism));
    let per_channel = pack_default(cx, "taskmanager.network.memory.buffers-per-channel")
        .and_then(|v| v.parse().ok())
        .unwrap_or(2u64);
    let floating = pack_default(cx, "taskmanager.network.memory.floating-buffers-per-gate")
        .and_then(|v| v.parse().ok())
        .unwrap_or(8u64);
    let segment = pack_default(cx, "taskmanager.memory.segment-size")
        .and_then(|v| parse_flink_memory(&v).ok())
        .unwrap_or(32 * 1024);
    let need = network_need(
        u64::from(slots),
        exchanges,
        fan_in,
        fan_out,
        per_channel,
        floating,
        segment,
    );
    let (margin, margin_in) = cx.param_f64("memory.network-margin", 1.5);
    let network_floor = (need as f64 * margin) as u64;
    let mut net_inputs = vec![
        Input {
            name: "slots".into(),
            value: slots.to_string(),
            span: None,
        },
        Input {
            name: "exchanges".into(),
            value: exchanges.to_string(),
            span: ex.map(|_| cx.span("/exchanges")),
        },
        Input {
            name: "fan-in / fan-out".into(),
            value: format!("{fan_in} / {fan_out}"),
            span: None,
        },
        Input {
            name: "buffers per channel / floating per gate / segment".into(),
            value: format!("{per_channel} / {floating} / {}", human_size(segment)),
            span: Some(cx.flink.span),
        },
    ];
    net_inputs.extend(margin_in);
    let net_steps = vec![
        format!(
            "per slot and exchange: input gate {fan_in}×{per_channel}+{floating} buffers, result partition {fan_out}×{per_channel}+{floating} buffers"
        ),
        format!(
            "need = {slots} slots × {exchanges} exchange(s) × buffers × {} = {}",
            human_size(segment),
            human_size(need)
        ),
        format!(
            "with margin × {margin} = {}; at least Flink's minimum 64MiB",
            human_size(network_floor)
        ),
    ];
    plan.set_fact(
        "network-needed",
        Value::Bytes(need),
        Origin::Model {
            model: "network-buffers".into(),
            steps: net_steps.into(),
            inputs: net_inputs.into(),
        },
    );

    // A profile that steers memory by fractions or total Flink size keeps Flink's own split.
    let steering = [
        "managed.fraction",
        "network.fraction",
        "jvm-overhead.fraction",
        "flink.size",
    ]
    .iter()
    .find(|k| {
        fixed(plan, &tm(k)).is_some()
            || plan
                .get(DocKind::Flink, &tm(k))
                .is_some_and(|e| matches!(e.origin, Origin::Profile { .. }))
    });
    if let Some(k) = steering {
        plan.set_fact(
            "memory-budget",
            Value::Str(format!(
                "left to Flink: the profile sets taskmanager.memory.{k}"
            )),
            Origin::Model {
                model: "memory-budget".into(),
                steps: vec![].into(),
                inputs: vec![].into(),
            },
        );
        return;
    }

    let rocksdb = p
        .state
        .as_ref()
        .is_some_and(|s| s.backend == crate::profile::Backend::Rocksdb);
    let s = u64::from(slots);
    let (fh, fh_in) = cx.param_size("memory.framework-heap", 128 * MIB);
    let (fo, fo_in) = cx.param_size("memory.framework-off-heap", 128 * MIB);
    let (to, to_in) = cx.param_size("memory.task-off-heap", 0);
    let (ms_param, ms_in) = cx.param_size("memory.metaspace", 256 * MIB);
    let fh = fixed(plan, &tm("framework.heap.size")).unwrap_or(fh);
    let fo = fixed(plan, &tm("framework.off-heap.size")).unwrap_or(fo);
    let to = fixed(plan, &tm("task.off-heap.size")).unwrap_or(to);
    let ms = fixed(plan, &tm("jvm-metaspace.size")).unwrap_or(ms_param);
    let nw = fixed(plan, &tm("network.max"))
        .or_else(|| fixed(plan, &tm("network.min")))
        .unwrap_or_else(|| round_up_mib(network_floor.max(64 * MIB)));
    let th_fixed = fixed(plan, &tm("task.heap.size"));
    let mm_fixed = fixed(plan, &tm("managed.size"));
    let ov_fixed =
        fixed(plan, &tm("jvm-overhead.max")).or_else(|| fixed(plan, &tm("jvm-overhead.min")));

    // Flink's default overhead for this process size: the starting point.
    let ov_default = multiply(process, float_fraction(0.1)).clamp(192 * MIB, 1 << 30);
    let mut steps = vec![
        format!("process {} (the pod's memory)", human_size(process)),
        format!(
            "metaspace {}, framework heap {}, framework off-heap {}, task off-heap {}",
            human_size(ms),
            human_size(fh),
            human_size(fo),
            human_size(to)
        ),
        format!(
            "network {} (estimated need with margin, see network-needed)",
            human_size(nw)
        ),
    ];
    let mut inputs: Vec<Input> = [fh_in, fo_in, to_in, ms_in].into_iter().flatten().collect();
    // Managed memory and task heap, given the overhead: what the profile fixed stays fixed,
    // the policy share goes where the profile says nothing, and the remainder closes the sum.
    let (heap_per_slot, hps_in) = cx.param_size("memory.task-heap-per-slot.rocksdb", 512 * MIB);
    let (cap, cap_in) = cx.param_f64("memory.managed-max-fraction", 0.75);
    let (headroom, head_in) = cx.param_f64("memory.rocksdb-headroom", 0.1);
    let (managed_per_slot, mps_in) = cx.param_size("memory.managed-per-slot.heap", 0);
    if rocksdb {
        inputs.extend([hps_in, cap_in, head_in].into_iter().flatten());
    } else {
        inputs.extend(mps_in);
    }
    let fixed_sum = fh + fo + to + nw;
    let split = |ov: u64| -> Option<(u64, u64)> {
        let f = process.checked_sub(ms + ov)?;
        let free = f.checked_sub(fixed_sum)?;
        Some(match (th_fixed, mm_fixed) {
            (Some(th), Some(mm)) => (th, mm),
            (Some(th), None) => (th, free.checked_sub(th)?),
            (None, Some(mm)) => (free.checked_sub(mm)?, mm),
            (None, None) if rocksdb => {
                let th = s * heap_per_slot;
                let m = round_down_mib(free.checked_sub(th)?)
                    .min(round_down_mib((f as f64 * cap) as u64));
                (free - m, m)
            }
            (None, None) => {
                let m = (s * managed_per_slot).min(free);
                (free - m, m)
            }
        })
    };
    let Some((_, m0)) = split(ov_fixed.unwrap_or(ov_default)) else {
        return no_budget(
            plan,
            process,
            "the fixed components exceed the process size",
        );
    };
    let mut ov = match ov_fixed {
        Some(ov) => ov,
        None if rocksdb => ov_default.max(round_up_mib((m0 as f64 * headroom) as u64)),
        None => ov_default,
    };
    let Some((th, mm)) = split(ov) else {
        return no_budget(
            plan,
            process,
            "the fixed components exceed the process size",
        );
    };
    if th_fixed.is_some() && mm_fixed.is_some() && ov_fixed.is_none() {
        // Both fixed: the overhead is what remains (Flink checks it against its range).
        ov = process.saturating_sub(ms + fixed_sum + th + mm);
    }
    if rocksdb {
        steps.push(format!(
            "task heap {} per slot × {s} slots = {}",
            human_size(heap_per_slot),
            human_size(s * heap_per_slot)
        ));
        steps.push(format!(
            "JVM overhead = max(Flink's default {}, {headroom} × managed, for RocksDB's soft limit) = {}",
            human_size(ov_default),
            human_size(ov)
        ));
        steps.push(format!(
            "managed (RocksDB) = the rest, at most {cap} of total Flink memory = {}",
            human_size(mm)
        ));
        steps.push(format!("task heap = what remains = {}", human_size(th)));
    } else {
        steps.push(format!("JVM overhead = Flink's default {}", human_size(ov)));
        steps.push(format!(
            "managed {} (heap state: only what the policy asks)",
            human_size(mm)
        ));
        steps.push(format!("task heap = the rest = {}", human_size(th)));
    }
    for (what, v) in [
        ("task heap", th_fixed),
        ("managed", mm_fixed),
        ("JVM overhead", ov_fixed),
    ] {
        if v.is_some() {
            steps.push(format!("{what} as the profile sets it"));
        }
    }
    let total_flink = fh + fo + to + th + mm + nw;
    steps.push(format!(
        "total Flink {} + metaspace + overhead = process {}",
        human_size(total_flink),
        human_size(total_flink + ms + ov)
    ));
    let origin = Origin::Model {
        model: "memory-budget".into(),
        steps: steps.into(),
        inputs: inputs.into(),
    };
    let doc = plan.doc_mut(DocKind::Flink);
    let mut set = |k: &str, v: u64| {
        let key = tm(k);
        if !doc
            .entry(&key)
            .is_some_and(|e| matches!(e.origin, Origin::Profile { .. }))
        {
            doc.set(key, Value::Bytes(v), origin.clone());
        }
    };
    set("flink.size", total_flink);
    set("framework.heap.size", fh);
    set("framework.off-heap.size", fo);
    set("task.heap.size", th);
    set("task.off-heap.size", to);
    set("managed.size", mm);
    set("network.min", nw);
    set("network.max", nw);
    set("jvm-metaspace.size", ms);
    set("jvm-overhead.min", ov);
    set("jvm-overhead.max", ov);
}

fn no_budget(plan: &mut JobPlan, process: u64, why: &str) {
    plan.set_fact(
        "memory-budget",
        Value::Str(format!("left to Flink: {why} ({})", human_size(process))),
        Origin::Model {
            model: "memory-budget".into(),
            steps: vec![].into(),
            inputs: vec![].into(),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_need_grows_with_fan_in_and_slots() {
        // 16 slots, one all-to-all exchange at parallelism 48: (48×2+8)×2 buffers per slot.
        assert_eq!(
            network_need(16, 1, 48, 48, 2, 8, 32 * 1024),
            16 * 208 * 32 * 1024
        );
        assert_eq!(network_need(16, 0, 48, 48, 2, 8, 32 * 1024), 0);
    }
}
