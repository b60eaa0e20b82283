//! FG2xx: memory and sizing (../shared/reference/flink.md §1).

use std::collections::BTreeMap;

use super::{CheckDef, Findings, label_job, label_origin};
use crate::diag::Severity;
use crate::plan::{DocKind, Plan};
use crate::resolve::memory::{MemoryOptions, derive_tm};
use crate::units::human_size;

pub static CHECKS: [CheckDef; 3] = [
    CheckDef {
        code: "FG201",
        name: "flink-rejects-memory",
        severity: Severity::Error,
        summary: "Flink's own memory derivation rejects the TaskManager memory settings.",
        why: "The TaskManager does not start: Flink validates the memory components at startup (IllegalConfigurationException).",
        fix: "remove the conflicting memory overrides, or make the explicit components add up to taskmanager.memory.process.size",
        run: flink_rejects_memory,
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

fn flink_rejects_memory(plan: &Plan, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(doc) = job.doc(DocKind::Flink) else {
            continue;
        };
        let config: BTreeMap<String, String> = doc
            .entries
            .iter()
            .map(|(k, e)| (k.clone(), e.value.flink_text()))
            .collect();
        let defaults = BTreeMap::new();
        if let Err(reason) = derive_tm(&MemoryOptions {
            config: &config,
            defaults: &defaults,
        }) {
            let d = f.add(format!(
                "job `{}`: Flink rejects the TaskManager memory: {reason}",
                job.name
            ));
            for (k, e) in doc.sorted() {
                if k.starts_with("taskmanager.memory.") {
                    label_origin(d, &e.origin, k);
                }
            }
            label_job(d, job);
        }
    }
}

fn process_above_allocatable(plan: &Plan, f: &mut Findings) {
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

fn not_enough_nodes(plan: &Plan, f: &mut Findings) {
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
