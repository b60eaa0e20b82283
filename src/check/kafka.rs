//! FG1xx: Kafka and exactly-once rules (../shared/reference/kafka.md §8, R1–R9).

use super::{CheckDef, Findings, label_cluster, label_job, label_origin};
use crate::diag::Severity;
use crate::plan::{DocKind, Plan, Value};
use crate::resolve::cluster::effective_number;
use crate::units::human_duration;

pub static CHECKS: [CheckDef; 8] = [
    CheckDef {
        code: "FG101",
        name: "transaction-timeout-above-broker-max",
        severity: Severity::Error,
        summary: "The producer's transaction.timeout.ms is above the broker's transaction.max.timeout.ms.",
        why: "The broker refuses InitProducerId with INVALID_TRANSACTION_TIMEOUT: an exactly-once KafkaSink fails at startup (InvalidTxnTimeoutException). KafkaSink's own default of 1 h is above the broker default of 15 min.",
        fix: "raise transaction.max.timeout.ms on the brokers (see the cluster's proposed settings) or lower the producer's transaction.timeout.ms",
        run: transaction_timeout_above_max,
    },
    CheckDef {
        code: "FG102",
        name: "recovery-outlasts-transaction",
        severity: Severity::Error,
        summary: "A pending transaction can stay open longer than transaction.timeout.ms: checkpoint cycles plus downtime outlast it.",
        why: "Flink commits a Kafka transaction only when a later checkpoint completes. If failed checkpoints plus a recovery take longer than the timeout, the broker aborts the pre-committed transaction and its records are lost silently.",
        fix: "apply the proposed broker transaction.max.timeout.ms so the job can use a longer timeout, or shorten the checkpoint timeout, tolerable failures or expected downtime",
        run: recovery_outlasts_transaction,
    },
    CheckDef {
        code: "FG103",
        name: "transactional-id-expires-before-restore",
        severity: Severity::Error,
        summary: "The broker forgets transactional IDs (transactional.id.expiration.ms) sooner than the oldest state the job must restore.",
        why: "Restoring a checkpoint or savepoint older than the expiration hits InvalidPidMappingException, which released connectors treat as an unknown failure: the job loops in restarts.",
        fix: "raise the broker's transactional.id.expiration.ms above the restore window (see the proposed settings), or restore old savepoints with a new transactional-id prefix",
        run: id_expires_before_restore,
    },
    CheckDef {
        code: "FG104",
        name: "downstream-reads-uncommitted",
        severity: Severity::Error,
        summary: "Readers of an exactly-once sink do not use isolation.level=read_committed.",
        why: "A read_uncommitted consumer sees records of open and aborted transactions: duplicates and data that was rolled back.",
        fix: "set isolation.level=read_committed on every consumer of the sink topics",
        run: downstream_reads_uncommitted,
    },
    CheckDef {
        code: "FG105",
        name: "replication-above-broker-count",
        severity: Severity::Error,
        summary: "A replication factor or min ISR is larger than the cluster can satisfy.",
        why: "Internal topics (__consumer_offsets, __transaction_state) are not created until enough brokers exist, so transactional producers hang in initTransactions; min.insync.replicas above the replication factor makes every acks=all write fail.",
        fix: "keep replication factors at or below the broker count, transaction.state.log.min.isr at or below its replication factor, and min.insync.replicas at or below default.replication.factor (below it, to keep writing while a broker is down)",
        run: replication_above_brokers,
    },
    CheckDef {
        code: "FG106",
        name: "idempotence-misconfigured",
        severity: Severity::Error,
        summary: "An idempotent or transactional producer has acks other than all, retries 0, or more than 5 requests in flight.",
        why: "Kafka's client rejects the configuration (ConfigException) or, where idempotence was only the default, silently turns it off.",
        fix: "use acks=all, retries > 0 and max.in.flight.requests.per.connection ≤ 5",
        run: idempotence_misconfigured,
    },
    CheckDef {
        code: "FG107",
        name: "guarantee-without-checkpointing",
        severity: Severity::Error,
        summary: "The job asks for at-least-once or exactly-once delivery but checkpointing is off.",
        why: "KafkaSink flushes and commits only on checkpoints: without them at-least-once loses buffered records on failure and exactly-once never commits.",
        fix: "set a checkpoint interval",
        run: guarantee_without_checkpointing,
    },
    CheckDef {
        code: "FG108",
        name: "cluster-needs-broker-change",
        severity: Severity::Warning,
        summary: "Jobs on this cluster need broker settings it does not have; flinkgen proposes them.",
        why: "Broker settings are shared and owned by the cluster's team, so flinkgen never changes them silently: the jobs stay within the current settings (with findings) until the proposal is applied.",
        fix: "review clusters/<cluster>/ (proposed settings) with the cluster's owners and apply them, then record them in the cluster profile",
        run: cluster_needs_change,
    },
];

fn transaction_timeout_above_max(plan: &Plan, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(e) = job.get(DocKind::Producer, "transaction.timeout.ms") else {
            continue;
        };
        let Some(cluster) = plan.cluster(&job.cluster) else {
            continue;
        };
        let (Some(t), Some(max)) = (
            e.value.as_i64(),
            effective_number(cluster, "transaction.max.timeout.ms"),
        ) else {
            continue;
        };
        if t > max {
            let d = f.add(format!(
                "job `{}`: transaction.timeout.ms {} is above cluster `{}`'s transaction.max.timeout.ms {}",
                job.name,
                human_duration(t as u64),
                cluster.name,
                human_duration(max as u64)
            ));
            label_origin(d, &e.origin, "producer timeout");
            if let Some(c) = cluster.current.entry("transaction.max.timeout.ms") {
                label_origin(d, &c.origin, "broker maximum");
            }
            label_job(d, job);
        }
    }
}

fn recovery_outlasts_transaction(plan: &Plan, f: &mut Findings) {
    for job in &plan.jobs {
        let (Some(needed), Some(e)) = (
            job.fact("transaction-needed"),
            job.get(DocKind::Producer, "transaction.timeout.ms"),
        ) else {
            continue;
        };
        let (Some(n), Some(t)) = (needed.value.as_i64(), e.value.as_i64()) else {
            continue;
        };
        if n > t {
            let d = f.add(format!(
                "job `{}`: a transaction may stay open {} but transaction.timeout.ms is {}: a recovery that long aborts the pending transaction (data loss)",
                job.name,
                human_duration(n as u64),
                human_duration(t as u64)
            ));
            label_origin(d, &needed.origin, "adds up to the worst case");
            label_origin(d, &e.origin, "timeout");
            label_job(d, job);
            if let Some(p) = plan
                .cluster(&job.cluster)
                .and_then(|c| c.proposed.entry("transaction.max.timeout.ms"))
            {
                d.help = Some(format!(
                    "apply the proposed broker setting transaction.max.timeout.ms={} (clusters/{}/), then rebuild: the job will use {} ms",
                    p.value.kafka_text(),
                    job.cluster,
                    n
                ));
            }
        }
    }
}

fn id_expires_before_restore(plan: &Plan, f: &mut Findings) {
    for job in &plan.jobs {
        if job.fact_str("delivery") != Some("exactly-once") || job.sinks.is_empty() {
            continue;
        }
        let Some(restore) = job.fact("restorable-for") else {
            continue;
        };
        let Some(cluster) = plan.cluster(&job.cluster) else {
            continue;
        };
        let (Some(r), Some(exp)) = (
            restore.value.as_i64(),
            effective_number(cluster, "transactional.id.expiration.ms"),
        ) else {
            continue;
        };
        if r > exp {
            let d = f.add(format!(
                "job `{}` must restore state up to {} old, but cluster `{}` expires transactional IDs after {}: restoring older state fails with InvalidPidMappingException",
                job.name,
                human_duration(r as u64),
                cluster.name,
                human_duration(exp as u64)
            ));
            if r > i64::from(i32::MAX) {
                d.help = Some(format!(
                    "{} is beyond Kafka's limit for transactional.id.expiration.ms (an int32 of milliseconds, about 24.8 days): no broker setting covers it. Shorten the restore window, or restore old savepoints with a new transactional-id prefix",
                    human_duration(r as u64)
                ));
            }
            label_origin(d, &restore.origin, "restore window");
            if let Some(c) = cluster.current.entry("transactional.id.expiration.ms") {
                label_origin(d, &c.origin, "expiration");
            }
            label_job(d, job);
        }
    }
}

fn downstream_reads_uncommitted(plan: &Plan, f: &mut Findings) {
    for job in &plan.jobs {
        if job.fact_str("delivery") != Some("exactly-once") || job.sinks.is_empty() {
            continue;
        }
        let level = job.get(DocKind::Downstream, "isolation.level");
        if level.and_then(|e| e.value.as_str()) != Some("read_committed") {
            let d = f.add(format!(
                "job `{}` writes exactly-once, but its downstream readers use isolation.level={}",
                job.name,
                level.map_or("read_uncommitted (the default)".to_string(), |e| e
                    .value
                    .kafka_text())
            ));
            if let Some(e) = level {
                label_origin(d, &e.origin, "isolation level");
            }
            label_job(d, job);
        }
    }
}

fn replication_above_brokers(plan: &Plan, f: &mut Findings) {
    for c in &plan.clusters {
        let Some(brokers) = c.fact_i64("brokers") else {
            continue;
        };
        let num = |k: &str| effective_number(c, k);
        let mut report = |msg: String, keys: &[&str]| {
            let d = f.add(format!("cluster `{}`: {msg}", c.name));
            for k in keys {
                if let Some(e) = c.current.entry(k) {
                    label_origin(d, &e.origin, k);
                }
            }
            if let Some(b) = c.fact("brokers") {
                label_origin(d, &b.origin, "broker count");
            }
            label_cluster(d, c);
        };
        for key in [
            "default.replication.factor",
            "offsets.topic.replication.factor",
            "transaction.state.log.replication.factor",
        ] {
            if let Some(rf) = num(key)
                && rf > brokers
            {
                report(
                    format!("{key}={rf} needs {rf} brokers, the cluster has {brokers}"),
                    &[key],
                );
            }
        }
        if let (Some(isr), Some(rf)) = (
            num("transaction.state.log.min.isr"),
            num("transaction.state.log.replication.factor"),
        ) && isr > rf.min(brokers)
        {
            report(
                format!(
                    "transaction.state.log.min.isr={isr} is above what {} replicas can give",
                    rf.min(brokers)
                ),
                &[
                    "transaction.state.log.min.isr",
                    "transaction.state.log.replication.factor",
                ],
            );
        }
        if let (Some(isr), Some(rf)) = (
            num("min.insync.replicas"),
            num("default.replication.factor"),
        ) && isr > rf.min(brokers)
        {
            report(
                format!(
                    "min.insync.replicas={isr} is above the replication factor {}: every acks=all write fails",
                    rf.min(brokers)
                ),
                &["min.insync.replicas", "default.replication.factor"],
            );
        }
    }
}

fn idempotence_misconfigured(plan: &Plan, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(doc) = job.doc(DocKind::Producer) else {
            continue;
        };
        let idempotent = doc
            .get("enable.idempotence")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || doc.get("transaction.timeout.ms").is_some();
        if !idempotent {
            continue;
        }
        let acks = doc.get("acks").map(Value::kafka_text);
        let bad_acks = acks.as_deref().is_some_and(|a| a != "all" && a != "-1");
        let bad_retries = doc
            .get("retries")
            .and_then(Value::as_i64)
            .is_some_and(|r| r <= 0);
        let bad_inflight = doc
            .get("max.in.flight.requests.per.connection")
            .and_then(Value::as_i64)
            .is_some_and(|m| m > 5);
        for (bad, key, what) in [
            (bad_acks, "acks", "acks must be all"),
            (bad_retries, "retries", "retries must be above 0"),
            (
                bad_inflight,
                "max.in.flight.requests.per.connection",
                "at most 5 requests may be in flight",
            ),
        ] {
            if bad {
                let d = f.add(format!(
                    "job `{}`: idempotent producer, but {what}",
                    job.name
                ));
                if let Some(e) = doc.entry(key) {
                    label_origin(d, &e.origin, key);
                }
                label_job(d, job);
            }
        }
    }
}

fn guarantee_without_checkpointing(plan: &Plan, f: &mut Findings) {
    for job in &plan.jobs {
        let delivery = job.fact_str("delivery").unwrap_or("none");
        if delivery == "none" {
            continue;
        }
        let has_interval = job.doc(DocKind::Flink).is_some_and(|d| {
            d.entries
                .keys()
                .any(|k| k == "execution.checkpointing.interval")
        });
        if !has_interval {
            let d = f.add(format!(
                "job `{}` asks for {delivery} delivery without checkpointing",
                job.name
            ));
            if let Some(e) = job.fact("delivery") {
                label_origin(d, &e.origin, "delivery guarantee");
            }
            label_job(d, job);
        }
    }
}

fn cluster_needs_change(plan: &Plan, f: &mut Findings) {
    for c in &plan.clusters {
        for (key, e) in c.proposed.sorted() {
            let have = effective_number(c, key).map_or("unset".to_string(), |v| v.to_string());
            let d = f.add(format!(
                "cluster `{}` needs {key}={} (now {have}) for its jobs: proposed in clusters/{}/",
                c.name,
                e.value.kafka_text(),
                c.name
            ));
            label_origin(d, &e.origin, "needed by this job");
            if let Some(cur) = c.current.entry(key) {
                label_origin(d, &cur.origin, "current setting");
            }
            label_cluster(d, c);
        }
    }
}
