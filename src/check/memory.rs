//! FG2xx: memory and sizing (../shared/reference/flink.md §1).

use std::collections::BTreeMap;

use super::{CheckDef, Checked, Findings, label_job, label_origin};
use crate::diag::Severity;
use crate::plan::DocKind;
use crate::resolve::memory::{MemoryOptions, TmMemory, derive_jm, derive_tm};
use crate::units::human_size;

pub static CHECKS: [CheckDef; 11] = [
    CheckDef {
        code: "FG201",
        name: "flink-rejects-memory",
        severity: Severity::Error,
        summary: "Flink rejects the TaskManager or JobManager memory settings (a reason other than FG204, FG205, FG210).",
        why: "The process does not start: Flink validates the memory options at startup (IllegalConfigurationException), e.g. an unreadable size or a fraction outside [0, 1).",
        fix: "correct the memory option Flink names; `flinkgen explain PROFILE taskmanager.memory.process.size` shows the split",
        run: flink_rejects_memory,
    },
    CheckDef {
        code: "FG204",
        name: "jvm-overhead-outside-range",
        severity: Severity::Error,
        summary: "Flink rejects the config: the JVM overhead left by the explicit sizes is outside jvm-overhead.min/max.",
        why: "When the total Flink memory (or its components) and the process size are both fixed, the overhead is what remains, and Flink refuses a remainder outside its configured range.",
        fix: "make process size − total Flink memory − metaspace fall within [jvm-overhead.min, jvm-overhead.max], or drop one of the explicit sizes",
        run: overhead_outside_range,
    },
    CheckDef {
        code: "FG205",
        name: "metaspace-and-overhead-exceed-process",
        severity: Severity::Error,
        summary: "Flink rejects the config: metaspace plus JVM overhead are larger than the process size.",
        why: "Nothing is left for Flink's own memory; the TaskManager or JobManager does not start.",
        fix: "raise the process size (a larger instance) or lower jvm-metaspace.size / jvm-overhead",
        run: metaspace_overhead_exceed_process,
    },
    CheckDef {
        code: "FG210",
        name: "memory-components-do-not-add-up",
        severity: Severity::Error,
        summary: "Flink rejects the config: the explicit memory components exceed or do not add up to the total.",
        why: "Flink derives the unset components as a remainder; explicit components larger than the total, or a derived network size outside its range, stop the TaskManager at startup.",
        fix: "lower the explicit components, or remove them and let flinkgen's budget write a split that adds up",
        run: components_do_not_add_up,
    },
    CheckDef {
        code: "FG206",
        name: "task-heap-per-slot-below-floor",
        severity: Severity::Warning,
        summary: "Policy: the task heap per slot is below the policy floor.",
        why: "User code, serializers, timers and (for heap state) the state itself live on the task heap; too little per slot means GC pressure and OutOfMemoryError.",
        fix: "raise taskmanager.memory.task.heap.size, use fewer slots per TaskManager, or a larger instance",
        run: heap_per_slot_below_floor,
    },
    CheckDef {
        code: "FG207",
        name: "managed-per-slot-too-small-for-rocksdb",
        severity: Severity::Warning,
        summary: "Policy: a RocksDB job has less managed memory per slot than the policy floor.",
        why: "Each slot's RocksDB instances share that slot's managed memory for block cache and write buffers; starved, RocksDB flushes tiny files and reads from disk for every access.",
        fix: "raise taskmanager.memory.managed.size, use fewer slots, or a larger instance",
        run: managed_too_small_for_rocksdb,
    },
    CheckDef {
        code: "FG208",
        name: "no-rocksdb-headroom",
        severity: Severity::Warning,
        summary: "Policy: JVM overhead leaves too little headroom above RocksDB's managed memory.",
        why: "RocksDB's memory limit is soft: pinned iterators, index and filter blocks and allocator fragmentation exceed it, and the excess counts against the container limit — the pod is OOM-killed.",
        fix: "raise taskmanager.memory.jvm-overhead.min/max to the policy share of managed memory (flinkgen's budget does this unless overridden)",
        run: no_rocksdb_headroom,
    },
    CheckDef {
        code: "FG209",
        name: "state-does-not-fit-local-disk",
        severity: Severity::Warning,
        summary: "Policy: the RocksDB state per node, with room for compaction and local recovery, does not fit the instance's local disks.",
        why: "RocksDB keeps its working copy on local disk, compaction needs temporary space, and local recovery keeps another copy; a full disk fails the task.",
        fix: "use more nodes, an instance with more local NVMe, or reduce the state",
        run: state_exceeds_local_disk,
    },
    CheckDef {
        code: "FG211",
        name: "network-memory-below-estimate",
        severity: Severity::Warning,
        summary: "Policy: network memory is below the estimated need of the job's exchanges.",
        why: "Too few network buffers fail the job at deployment (\"Insufficient number of network buffers\") or throttle throughput under backpressure.",
        fix: "raise taskmanager.memory.network.min/max to at least the estimate (`flinkgen explain PROFILE network-needed`), or describe the exchanges with `exchanges …`",
        run: network_below_estimate,
    },
    CheckDef {
        code: "FG202",
        name: "process-memory-above-allocatable",
        severity: Severity::Error,
        summary: "The TaskManager pod asks for more memory than a node can allocate.",
        why: "The pod stays Pending: Kubernetes schedules on allocatable memory (node memory minus kube/system reserve and eviction threshold), not on the instance's nominal size.",
        fix: "lower the TaskManager memory override or pick a larger instance type",
        run: process_above_allocatable,
    },
    CheckDef {
        code: "FG203",
        name: "not-enough-nodes",
        severity: Severity::Error,
        summary: "The job needs more nodes than the profile's instance count.",
        why: "TaskManagers that do not fit stay Pending, and the job cannot reach its parallelism.",
        fix: "raise `instance count=…` or remove it to let flinkgen derive it, or lower the parallelism",
        run: not_enough_nodes,
    },
];

/// Which Flink-invalid check a Flink error message belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rejection {
    Overhead,
    MetaspaceOverhead,
    Components,
    Other,
}

fn classify(reason: &str) -> Rejection {
    if reason.contains("JVM Overhead size")
        && reason.contains("not in configured JVM Overhead range")
    {
        Rejection::Overhead
    } else if reason.contains("Sum of configured JVM Metaspace") {
        Rejection::MetaspaceOverhead
    } else if reason.contains("exceed")
        || reason.contains("do not add up")
        || reason.contains("Network Memory")
        || reason.contains("is less than")
    {
        Rejection::Components
    } else {
        Rejection::Other
    }
}

fn flink_config(job: &crate::plan::JobPlan) -> BTreeMap<String, String> {
    job.doc(DocKind::Flink)
        .map(|d| {
            d.entries
                .iter()
                .map(|(k, e)| (k.clone(), e.value.flink_text()))
                .collect()
        })
        .unwrap_or_default()
}

/// Flink's derivations of one job's TaskManager and JobManager memory (its own arithmetic on
/// the job's Flink config), derived once per check run for the checks that read them.
pub(super) struct JobMemory {
    tm: Result<TmMemory, String>,
    /// Why Flink rejects the JobManager memory, if it does.
    jm: Option<String>,
}

impl JobMemory {
    pub(super) fn derive(job: &crate::plan::JobPlan) -> JobMemory {
        let config = flink_config(job);
        let defaults = BTreeMap::new();
        let opts = MemoryOptions {
            config: &config,
            defaults: &defaults,
        };
        JobMemory {
            tm: derive_tm(&opts),
            jm: derive_jm(&opts).err(),
        }
    }
}

/// Report the rejections of one kind by Flink's derivations.
fn rejections(plan: &Checked<'_>, f: &mut Findings, kind: Rejection) {
    for (job, memory) in plan.jobs.iter().zip(&plan.memory) {
        for (role, prefix, result) in [
            (
                "TaskManager",
                "taskmanager.memory.",
                memory.tm.as_ref().err(),
            ),
            ("JobManager", "jobmanager.memory.", memory.jm.as_ref()),
        ] {
            let Some(reason) = result else { continue };
            // No size at all: on Kubernetes the operator supplies process.size from the
            // FlinkDeployment's resource.memory, so this is not an error of the config file.
            if reason.contains("need to be configured explicitly") || classify(reason) != kind {
                continue;
            }
            let d = f.add(format!(
                "job `{}`: Flink rejects the {role} memory: {reason}",
                job.name
            ));
            if let Some(doc) = job.doc(DocKind::Flink) {
                for (k, e) in doc.sorted() {
                    if k.starts_with(prefix)
                        && matches!(
                            e.origin,
                            crate::plan::Origin::Profile { .. } | crate::plan::Origin::File { .. }
                        )
                    {
                        label_origin(d, &e.origin, k);
                    }
                }
            }
            label_job(d, job);
        }
    }
}

fn flink_rejects_memory(plan: &Checked<'_>, f: &mut Findings) {
    rejections(plan, f, Rejection::Other);
}

fn overhead_outside_range(plan: &Checked<'_>, f: &mut Findings) {
    rejections(plan, f, Rejection::Overhead);
}

fn metaspace_overhead_exceed_process(plan: &Checked<'_>, f: &mut Findings) {
    rejections(plan, f, Rejection::MetaspaceOverhead);
}

fn components_do_not_add_up(plan: &Checked<'_>, f: &mut Findings) {
    rejections(plan, f, Rejection::Components);
}

/// Every job with Flink's own split of its TaskManager memory, when Flink accepts it.
fn tm_splits<'a>(
    plan: &'a Checked<'_>,
) -> impl Iterator<Item = (&'a crate::plan::JobPlan, Option<&'a TmMemory>)> {
    plan.jobs
        .iter()
        .zip(&plan.memory)
        .map(|(job, m)| (job, m.tm.as_ref().ok()))
}

fn slots(job: &crate::plan::JobPlan) -> u64 {
    job.get(DocKind::Flink, "taskmanager.numberOfTaskSlots")
        .and_then(|e| e.value.as_i64())
        .unwrap_or(1)
        .max(1) as u64
}

fn label_memory(d: &mut crate::diag::Diagnostic, job: &crate::plan::JobPlan, keys: &[&str]) {
    for k in keys {
        if let Some(e) = job.get(DocKind::Flink, k) {
            label_origin(d, &e.origin, k);
        }
    }
    label_job(d, job);
}

fn heap_per_slot_below_floor(plan: &Checked<'_>, f: &mut Findings) {
    for (job, tm) in tm_splits(plan) {
        let (Some(m), Some(floor)) = (tm, job.fact_i64("policy-min-task-heap-per-slot")) else {
            continue;
        };
        let per_slot = m.task_heap / slots(job);
        if per_slot < floor as u64 {
            let d = f.add(format!(
                "job `{}`: {} task heap per slot ({} over {} slots) is below the policy floor {}",
                job.name,
                human_size(per_slot),
                human_size(m.task_heap),
                slots(job),
                human_size(floor as u64)
            ));
            label_memory(
                d,
                job,
                &[
                    "taskmanager.memory.task.heap.size",
                    "taskmanager.numberOfTaskSlots",
                ],
            );
        }
    }
}

fn managed_too_small_for_rocksdb(plan: &Checked<'_>, f: &mut Findings) {
    for (job, tm) in tm_splits(plan) {
        if job.fact_str("state-backend") != Some("rocksdb") {
            continue;
        }
        let (Some(m), Some(floor)) = (tm, job.fact_i64("policy-min-managed-per-slot")) else {
            continue;
        };
        let per_slot = m.managed / slots(job);
        if per_slot < floor as u64 {
            let d = f.add(format!(
                "job `{}`: RocksDB gets {} managed memory per slot, below the policy floor {}",
                job.name,
                human_size(per_slot),
                human_size(floor as u64)
            ));
            label_memory(
                d,
                job,
                &[
                    "taskmanager.memory.managed.size",
                    "taskmanager.memory.managed.fraction",
                ],
            );
        }
    }
}

fn no_rocksdb_headroom(plan: &Checked<'_>, f: &mut Findings) {
    for (job, tm) in tm_splits(plan) {
        if job.fact_str("state-backend") != Some("rocksdb") {
            continue;
        }
        let Some(m) = tm else { continue };
        let Some(share) = job
            .fact("policy-rocksdb-headroom")
            .and_then(|h| match h.value {
                crate::plan::Value::Float(v) => Some(v),
                _ => None,
            })
        else {
            continue;
        };
        let wanted = (m.managed as f64 * share) as u64;
        if m.overhead < wanted {
            let d = f.add(format!(
                "job `{}`: JVM overhead {} leaves less than {share} of RocksDB's managed memory {} ({}) as headroom",
                job.name,
                human_size(m.overhead),
                human_size(m.managed),
                human_size(wanted)
            ));
            label_memory(
                d,
                job,
                &[
                    "taskmanager.memory.jvm-overhead.max",
                    "taskmanager.memory.managed.size",
                ],
            );
        }
    }
}

fn state_exceeds_local_disk(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        if job.fact_str("state-backend") != Some("rocksdb") {
            continue;
        }
        let (Some(state), Some(disk)) =
            (job.fact("state-size"), job.fact_i64("instance-local-disk"))
        else {
            continue;
        };
        let factor = match job.fact("policy-local-disk-factor").map(|x| &x.value) {
            Some(crate::plan::Value::Float(v)) => *v,
            _ => continue,
        };
        let nodes = job
            .fact_i64("instance-count")
            .or_else(|| job.fact_i64("instance-count-needed"))
            .unwrap_or(1)
            .max(1);
        let per_node = state.value.as_i64().unwrap_or(0) as f64 / nodes as f64;
        let needed = (per_node * factor) as u64;
        if disk > 0 && needed > disk as u64 {
            let d = f.add(format!(
                "job `{}`: {} of state per node needs about {} of local disk (× {factor} for compaction and local recovery), the instance has {}",
                job.name,
                human_size(per_node as u64),
                human_size(needed),
                human_size(disk as u64)
            ));
            label_origin(d, &state.origin, "state size");
            if let Some(c) = job.fact("instance-count") {
                label_origin(d, &c.origin, "nodes");
            }
            label_job(d, job);
        }
    }
}

fn network_below_estimate(plan: &Checked<'_>, f: &mut Findings) {
    for (job, tm) in tm_splits(plan) {
        let (Some(m), Some(need)) = (tm, job.fact("network-needed")) else {
            continue;
        };
        let need_bytes = need.value.as_i64().unwrap_or(0) as u64;
        if m.network < need_bytes {
            let d = f.add(format!(
                "job `{}`: network memory {} is below the estimated need {}",
                job.name,
                human_size(m.network),
                human_size(need_bytes)
            ));
            label_memory(
                d,
                job,
                &[
                    "taskmanager.memory.network.max",
                    "taskmanager.memory.network.min",
                    "taskmanager.memory.network.fraction",
                ],
            );
            label_origin(d, &need.origin, "estimate");
        }
    }
}

fn process_above_allocatable(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        let (Some(mem), Some(alloc)) = (
            job.get(DocKind::K8s, "spec.taskManager.resource.memory"),
            job.fact("node-allocatable"),
        ) else {
            continue;
        };
        let (Some(m), Some(a)) = (mem.value.as_i64(), alloc.value.as_i64()) else {
            continue;
        };
        if m > a {
            let d = f.add(format!(
                "job `{}`: TaskManager memory {} is above the node's allocatable {}",
                job.name,
                human_size(m as u64),
                human_size(a as u64)
            ));
            label_origin(d, &mem.origin, "TaskManager memory");
            label_origin(d, &alloc.origin, "allocatable");
            label_job(d, job);
        }
    }
}

fn not_enough_nodes(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        let (Some(have), Some(need)) = (
            job.fact("instance-count"),
            job.fact("instance-count-needed"),
        ) else {
            continue;
        };
        let (Some(h), Some(n)) = (have.value.as_i64(), need.value.as_i64()) else {
            continue;
        };
        if h < n {
            let d = f.add(format!(
                "job `{}` needs {n} nodes but the profile gives {h}",
                job.name
            ));
            label_origin(d, &have.origin, "instance count");
            label_job(d, job);
        }
    }
}
