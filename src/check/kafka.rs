//! FG1xx: Kafka and exactly-once rules (../shared/reference/kafka.md §8, R1–R9).

use super::{CheckDef, Checked, Findings, label_cluster, label_job, label_origin};
use crate::diag::Severity;
use crate::plan::{DocKind, Value};
use crate::resolve::cluster::effective_number;
use crate::units::human_duration;

pub static CHECKS: [CheckDef; 23] = [
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
    CheckDef {
        code: "FG109",
        name: "lingering-transaction-stalls-readers",
        severity: Severity::Warning,
        summary: "Policy: an abandoned transaction could hold back read_committed readers for longer than the policy allows.",
        why: "A read_committed consumer stops at the last stable offset: after a crash, every record behind an open transaction waits until the transaction commits or times out — up to transaction.timeout.ms.",
        fix: "shorten the checkpoint timeout, tolerable failures or expected downtime, or raise the policy cap if the readers can wait",
        run: lingering_transaction,
    },
    CheckDef {
        code: "FG110",
        name: "timeline-beyond-kafka-int32",
        severity: Severity::Error,
        summary: "The transaction timeline exceeds Kafka's int32 limit for transaction.timeout.ms (about 24.8 days).",
        why: "Kafka stores transaction timeouts as int32 milliseconds: no setting can keep a transaction open that long, so flinkgen clamps the value and the rest of the recovery window is unprotected.",
        fix: "shorten the expected downtime or the checkpoint timeout × tolerable failures",
        run: timeline_beyond_int32,
    },
    CheckDef {
        code: "FG111",
        name: "transactional-ids-fill-broker-memory",
        severity: Severity::Warning,
        summary: "Policy: the transactional IDs the cluster keeps for its exactly-once jobs (estimated) exceed the policy's memory budget.",
        why: "With the INCREMENTING naming strategy every checkpoint of every sink subtask creates a new transactional ID, and the broker keeps each one in memory until transactional.id.expiration.ms passes (estimate: about 0.4 KB of heap per idle ID).",
        fix: "use the POOLING naming strategy (connector 4.0+, Kafka 3.0+), a longer checkpoint interval, or a shorter transactional.id.expiration.ms that still covers the restore window",
        run: transactional_id_memory,
    },
    CheckDef {
        code: "FG112",
        name: "kafka-4-transaction-protocol-recovery-issue",
        severity: Severity::Warning,
        summary: "An exactly-once job writes to Kafka 4.x, where the transaction protocol v2 bumps the producer epoch on every transaction.",
        why: "With transaction.version=2 finalized, Flink's KafkaSink has a known recovery failure at producer-epoch rollover (FLINK-40689, open as of 2026-06).",
        fix: "keep the cluster's transaction.version at 1 until the connector fix is released, or follow FLINK-40689 before finalizing 4.0 features",
        run: kafka4_transaction_protocol,
    },
    CheckDef {
        code: "FG113",
        name: "delivery-timeout-below-linger-plus-request",
        severity: Severity::Error,
        summary: "The producer's explicit delivery.timeout.ms is below linger.ms + request.timeout.ms.",
        why: "Kafka's producer refuses the configuration at construction (ConfigException) when delivery.timeout.ms was set explicitly.",
        fix: "raise delivery.timeout.ms to at least linger.ms + request.timeout.ms, or leave it at the default",
        run: delivery_timeout,
    },
    CheckDef {
        code: "FG114",
        name: "record-larger-than-size-chain",
        severity: Severity::Error,
        summary: "The job's record size does not fit the producer's max.request.size or the broker's message.max.bytes.",
        why: "A record above max.request.size fails in the client (RecordTooLargeException); a batch above the broker's message.max.bytes is refused by the broker (MESSAGE_TOO_LARGE).",
        fix: "raise producer max.request.size and the broker's message.max.bytes (and the topic's max.message.bytes) together, above the largest record",
        run: size_chain,
    },
    CheckDef {
        code: "FG115",
        name: "strimzi-forbidden-broker-key",
        severity: Severity::Warning,
        summary: "A broker setting of a Strimzi cluster uses a key Strimzi manages itself; Strimzi drops it silently.",
        why: "Strimzi filters listener, security, node identity and storage keys out of spec.kafka.config with only a log warning: the setting never reaches the brokers.",
        fix: "configure it through the Kafka resource's own fields (listeners, authentication, KafkaNodePool …); flinkgen leaves it out of strimzi-kafka.yaml",
        run: strimzi_forbidden,
    },
    CheckDef {
        code: "FG116",
        name: "producer-id-expires-before-delivery-timeout",
        severity: Severity::Warning,
        summary: "The broker's producer.id.expiration.ms is shorter than the producer's delivery.timeout.ms.",
        why: "If a producer ID expires while a batch is still being retried, the broker forgets its sequence numbers and a retried batch can be written twice.",
        fix: "keep producer.id.expiration.ms (broker, Kafka 3.4+) above the producers' delivery.timeout.ms",
        run: producer_id_expiration,
    },
    CheckDef {
        code: "FG117",
        name: "transactional-id-prefix-collision",
        severity: Severity::Error,
        summary: "Two exactly-once sinks on one cluster use the same transactional-id prefix.",
        why: "Their producers fence each other: each start aborts the other's open transactions (ProducerFencedException), and committed data of one sink can be lost.",
        fix: "rename one job or sink so that `<environment>-<cluster>-<job>-<sink>` differs",
        run: prefix_collision,
    },
    CheckDef {
        code: "FG118",
        name: "connector-3-default-prefix",
        severity: Severity::Info,
        summary: "Kafka connector 3.x: KafkaSink silently falls back to the shared prefix `kafka-sink` if the job code does not set one.",
        why: "Every job that forgets setTransactionalIdPrefix shares `kafka-sink` and fences the others; connector 4.0 made the prefix mandatory for exactly-once.",
        fix: "make sure the job passes transactional-id-prefix from kafka/sink-<sink>.properties to setTransactionalIdPrefix (README shows the code)",
        run: connector3_default_prefix,
    },
    CheckDef {
        code: "FG119",
        name: "pooling-preconditions-unmet",
        severity: Severity::Error,
        summary: "The POOLING transaction naming strategy is asked for, but its preconditions are not met or not confirmed.",
        why: "POOLING needs connector 4.0+, brokers 3.0+ (it lists open transactions), read/describe permission on the sink topics and transaction listing, and a record serializer that exposes its topics; without them recovery cannot find and abort lingering transactions.",
        fix: "upgrade the connector or brokers, grant the permissions and confirm them with `transactions … acls-granted=#true serializer-exposes-topics=#true`, or use `naming=\"incrementing\"`",
        run: pooling_preconditions,
    },
    CheckDef {
        code: "FG120",
        name: "pooling-is-one-way",
        severity: Severity::Info,
        summary: "The job uses POOLING transaction naming: switching back to INCREMENTING is not supported.",
        why: "Restoring POOLING state with INCREMENTING is unsupported; the switch itself needs a checkpoint taken with connector 4.x or a savepoint. Known issue: orphaned transactions after a downscale (FLINK-40626).",
        fix: "take a savepoint before switching, and keep the parallelism when restoring until FLINK-40626 is fixed",
        run: pooling_one_way,
    },
    CheckDef {
        code: "FG121",
        name: "source-retention-shorter-than-restore",
        severity: Severity::Error,
        summary: "A source topic's retention is shorter than the restore window plus the maximum downtime.",
        why: "Restoring a checkpoint or savepoint resumes from its stored offsets; if Kafka already deleted those records, the source silently starts at the earliest remaining offset and skips data.",
        fix: "raise the topic's retention.ms above restorable-for + max-downtime, or shorten the restore window",
        run: source_retention,
    },
    CheckDef {
        code: "FG122",
        name: "min-isr-not-cluster-level-on-kafka-4-1",
        severity: Severity::Warning,
        summary: "Kafka 4.1+: min.insync.replicas is configured per broker, but with eligible leader replicas it must be a cluster-level setting.",
        why: "With ELR (on by default for new 4.1 clusters) the controller keeps min.insync.replicas at the cluster level, refuses broker-level changes and drops broker-level values: a static server.properties or Helm value does not take effect.",
        fix: "apply dynamic-cluster.properties (kafka-configs.sh --entity-default) instead of a broker-level setting; Strimzi applies it dynamically itself",
        run: min_isr_cluster_level,
    },
    CheckDef {
        code: "FG123",
        name: "topic-written-with-mixed-guarantees",
        severity: Severity::Warning,
        summary: "Two jobs write the same topic, one exactly-once and one not.",
        why: "Readers of the topic use read_committed for the exactly-once writer, but the other writer's retries still produce duplicates: the topic as a whole is not exactly-once.",
        fix: "give each job its own sink topic, or the same delivery guarantee",
        run: mixed_guarantees,
    },
];

fn transaction_timeout_above_max(plan: &Checked<'_>, f: &mut Findings) {
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

fn recovery_outlasts_transaction(plan: &Checked<'_>, f: &mut Findings) {
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

fn id_expires_before_restore(plan: &Checked<'_>, f: &mut Findings) {
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

fn downstream_reads_uncommitted(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        // No downstream reader settings at all (lint without such a file): nothing to judge.
        if job.fact_str("delivery") != Some("exactly-once")
            || job.sinks.is_empty()
            || job.doc(DocKind::Downstream).is_none()
        {
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

fn replication_above_brokers(plan: &Checked<'_>, f: &mut Findings) {
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

fn idempotence_misconfigured(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(doc) = job.doc(DocKind::Producer) else {
            continue;
        };
        let idempotent = doc
            .get("enable.idempotence")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || doc.get("transaction.timeout.ms").is_some();
        // KafkaSink sets a transactional.id for exactly-once, which needs idempotence.
        if job.fact_str("delivery") == Some("exactly-once")
            && !job.sinks.is_empty()
            && let Some(e) = doc
                .entry("enable.idempotence")
                .filter(|e| e.value.as_bool() == Some(false))
        {
            let d = f.add(format!(
                "job `{}`: exactly-once sinks are transactional, but enable.idempotence is false: the producer refuses a transactional.id without idempotence",
                job.name
            ));
            label_origin(d, &e.origin, "enable.idempotence");
            label_job(d, job);
            continue;
        }
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

fn guarantee_without_checkpointing(plan: &Checked<'_>, f: &mut Findings) {
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

fn cluster_needs_change(plan: &Checked<'_>, f: &mut Findings) {
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

fn ms_fact(job: &crate::plan::JobPlan, name: &str) -> Option<u64> {
    job.fact(name)?.value.as_i64().map(|v| v.max(0) as u64)
}

fn lingering_transaction(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        let (Some(t), Some(cap)) = (
            job.get(DocKind::Producer, "transaction.timeout.ms"),
            ms_fact(job, "policy-max-lingering-transaction"),
        ) else {
            continue;
        };
        let Some(tv) = t.value.as_i64() else { continue };
        if tv as u64 > cap {
            let d = f.add(format!(
                "job `{}`: an abandoned transaction can hold back read_committed readers of its sink topics for up to {} (policy cap {})",
                job.name,
                human_duration(tv as u64),
                human_duration(cap)
            ));
            label_origin(d, &t.origin, "transaction timeout");
            label_job(d, job);
        }
    }
}

fn timeline_beyond_int32(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(need) = job.fact("transaction-needed") else {
            continue;
        };
        let Some(n) = need.value.as_i64() else {
            continue;
        };
        if n > i64::from(i32::MAX) {
            let d = f.add(format!(
                "job `{}`: a transaction may need to stay open {}, beyond Kafka's limit of {} (int32 milliseconds): the timeout is clamped",
                job.name,
                human_duration(n as u64),
                human_duration(i32::MAX as u64)
            ));
            label_origin(d, &need.origin, "adds up to the worst case");
            label_job(d, job);
        }
    }
}

/// Estimated idle transactional IDs of one job (INCREMENTING: one per sink subtask per checkpoint).
fn transactional_ids(job: &crate::plan::JobPlan, expiration_ms: u64) -> u64 {
    let Some(sink) = job.doc(DocKind::Sink) else {
        return 0;
    };
    let flink = job.doc(DocKind::Flink);
    let parallelism = flink
        .and_then(|d| d.get("parallelism.default"))
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(1) as u64;
    let interval = flink
        .and_then(|d| d.get("execution.checkpointing.interval"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .max(0) as u64;
    if interval == 0 {
        return 0;
    }
    let incrementing_sinks = job
        .sinks
        .iter()
        .filter(|t| {
            sink.get(&format!("{}.transactional-id-prefix", t.name))
                .is_some()
        })
        .filter(|t| {
            sink.get(&format!("{}.transaction-naming-strategy", t.name))
                .and_then(Value::as_str)
                != Some("POOLING")
        })
        .count() as u64;
    incrementing_sinks * parallelism * expiration_ms.div_ceil(interval)
}

fn transactional_id_memory(plan: &Checked<'_>, f: &mut Findings) {
    const BYTES_PER_ID: u64 = 400;
    // Jobs grouped by cluster once: no cluster × job scan on large fleets.
    let mut by_cluster: std::collections::HashMap<&str, Vec<&crate::plan::JobPlan>> =
        std::collections::HashMap::new();
    for j in &plan.jobs {
        by_cluster.entry(j.cluster.as_str()).or_default().push(j);
    }
    for c in &plan.clusters {
        let Some(expiration) = effective_number(c, "transactional.id.expiration.ms") else {
            continue;
        };
        let jobs = by_cluster.get(c.name.as_str()).cloned().unwrap_or_default();
        let ids: u64 = jobs
            .iter()
            .map(|j| transactional_ids(j, expiration as u64))
            .sum();
        let Some(cap) = jobs
            .iter()
            .filter_map(|j| j.fact_i64("policy-max-transactional-id-memory"))
            .min()
        else {
            continue;
        };
        let bytes = ids * BYTES_PER_ID;
        if bytes > cap as u64 {
            let d = f.add(format!(
                "cluster `{}` keeps an estimated {ids} idle transactional IDs of its exactly-once jobs (≈ {} of broker heap at ~0.4 KB each, an estimate), above the policy's {}",
                c.name,
                crate::units::human_size(bytes),
                crate::units::human_size(cap as u64)
            ));
            for j in jobs
                .iter()
                .filter(|j| transactional_ids(j, expiration as u64) > 0)
            {
                if let Some(e) = j.get(DocKind::Flink, "execution.checkpointing.interval") {
                    label_origin(
                        d,
                        &e.origin,
                        &format!("job {}: one ID per subtask per checkpoint", j.name),
                    );
                }
            }
            label_cluster(d, c);
        }
    }
}

fn kafka4_transaction_protocol(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        let eos = job.fact_str("delivery") == Some("exactly-once") && !job.sinks.is_empty();
        let v = job.fact_str("kafka-version").unwrap_or("0");
        if eos && v.starts_with('4') {
            let d = f.add(format!(
                "job `{}` writes exactly-once to Kafka {v}: with transaction.version=2 the connector has a known recovery failure at producer-epoch rollover (FLINK-40689)",
                job.name
            ));
            if let Some(e) = job.fact("kafka-version") {
                label_origin(d, &e.origin, "Kafka version");
            }
            label_job(d, job);
        }
    }
}

/// A producer setting: the job's value, else the Kafka version's documented default.
fn producer_number(job: &crate::plan::JobPlan, key: &str) -> Option<i64> {
    if let Some(v) = job
        .get(DocKind::Producer, key)
        .and_then(|e| e.value.as_i64())
    {
        return Some(v);
    }
    // The default of the client the job runs: the connector's kafka-clients version, not the
    // brokers' (defaults such as linger.ms changed in 4.0).
    let client_line = job
        .fact_str("kafka-clients-version")
        .map(|v| v.split('.').take(2).collect::<Vec<_>>().join("."));
    let model = client_line
        .as_deref()
        .and_then(crate::policy::kafka_model::model)
        .or_else(|| crate::policy::kafka_model::model(job.fact_str("kafka-version")?))?;
    model.producer.get(key)?.default_number()
}

fn delivery_timeout(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(explicit) = job.get(DocKind::Producer, "delivery.timeout.ms") else {
            continue;
        };
        let (Some(dt), Some(linger), Some(request)) = (
            explicit.value.as_i64(),
            producer_number(job, "linger.ms"),
            producer_number(job, "request.timeout.ms"),
        ) else {
            continue;
        };
        if dt < linger + request {
            let d = f.add(format!(
                "job `{}`: delivery.timeout.ms {dt} is below linger.ms {linger} + request.timeout.ms {request}: the producer refuses to start",
                job.name
            ));
            label_origin(d, &explicit.origin, "delivery timeout");
            for k in ["linger.ms", "request.timeout.ms"] {
                if let Some(e) = job.get(DocKind::Producer, k) {
                    label_origin(d, &e.origin, k);
                }
            }
            label_job(d, job);
        }
    }
}

fn size_chain(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        if job.sinks.is_empty() {
            continue;
        }
        let Some(record) = job.fact("record-size") else {
            continue;
        };
        let Some(r) = record.value.as_i64().filter(|r| *r > 0) else {
            continue;
        };
        if let Some(max_request) = producer_number(job, "max.request.size")
            && r > max_request
        {
            let d = f.add(format!("job `{}`: records of {r} bytes exceed the producer's max.request.size {max_request}", job.name));
            label_origin(d, &record.origin, "record size");
            if let Some(e) = job.get(DocKind::Producer, "max.request.size") {
                label_origin(d, &e.origin, "max.request.size");
            }
            label_job(d, job);
        }
        let Some(cluster) = plan.cluster(&job.cluster) else {
            continue;
        };
        // The topic's max.message.bytes overrides the broker's message.max.bytes.
        for t in &job.sinks {
            let topic_limit = cluster
                .topics
                .get(&t.topic)
                .and_then(|d| d.entry("max.message.bytes"));
            let (limit, origin, what) = match topic_limit {
                Some(e) => (
                    e.value.as_i64(),
                    Some(&e.origin),
                    format!("topic `{}`'s max.message.bytes", t.topic),
                ),
                None => (
                    effective_number(cluster, "message.max.bytes"),
                    cluster
                        .current
                        .entry("message.max.bytes")
                        .map(|e| &e.origin),
                    format!("cluster `{}`'s message.max.bytes", cluster.name),
                ),
            };
            if let Some(limit) = limit.filter(|l| r > *l) {
                let d = f.add(format!(
                    "job `{}`: records of {r} bytes exceed {what} {limit}",
                    job.name
                ));
                label_origin(d, &record.origin, "record size");
                if let Some(o) = origin {
                    label_origin(d, o, "broker limit");
                }
                label_job(d, job);
            }
        }
    }
}

/// Key prefixes Strimzi manages itself and drops from spec.kafka.config, with the exceptions it
/// allows (strimzi-kafka-operator KafkaClusterSpec FORBIDDEN_PREFIXES / _EXCEPTIONS).
pub const STRIMZI_FORBIDDEN_PREFIXES: &[&str] = &[
    "listeners",
    "advertised.",
    "broker.",
    "listener.",
    "host.name",
    "port",
    "inter.broker.listener.name",
    "sasl.",
    "ssl.",
    "security.",
    "password.",
    "log.dir",
    "zookeeper.connect",
    "zookeeper.set.acl",
    "zookeeper.ssl",
    "zookeeper.clientCnxnSocket",
    "authorizer.",
    "super.user",
    "cruise.control.metrics.topic",
    "cruise.control.metrics.reporter.bootstrap.servers",
    "node.id",
    "process.roles",
    "controller.",
    "metadata.log.dir",
    "zookeeper.metadata.migration.enable",
    "client.quota.callback.static.",
    "prometheus.metrics.reporter.",
    "cordoned.log.dirs",
];
const STRIMZI_EXCEPTIONS: &[&str] = &[
    "zookeeper.connection.timeout.ms",
    "sasl.server.max.receive.size",
    "ssl.cipher.suites",
    "ssl.protocol",
    "ssl.enabled.protocols",
    "ssl.secure.random.implementation",
    "cruise.control.metrics.topic.num.partitions",
    "cruise.control.metrics.topic.replication.factor",
    "cruise.control.metrics.topic.retention.ms",
    "cruise.control.metrics.topic.auto.create.retries",
    "cruise.control.metrics.topic.auto.create.timeout.ms",
    "cruise.control.metrics.topic.min.insync.replicas",
    "broker.session.timeout.ms",
    "broker.heartbeat.interval.ms",
    "controller.socket.timeout.ms",
    "controller.quorum.election.backoff.max.ms",
    "controller.quorum.election.timeout.ms",
    "controller.quorum.fetch.timeout.ms",
];

/// Whether Strimzi drops this key from spec.kafka.config.
pub fn strimzi_forbids(key: &str) -> bool {
    !STRIMZI_EXCEPTIONS.contains(&key)
        && STRIMZI_FORBIDDEN_PREFIXES
            .iter()
            .any(|p| key.starts_with(p))
}

fn strimzi_forbidden(plan: &Checked<'_>, f: &mut Findings) {
    for c in &plan.clusters {
        if c.fact_str("deployment") != Some("strimzi") {
            continue;
        }
        for (key, e) in c.current.sorted() {
            if strimzi_forbids(key) {
                let d = f.add(format!("cluster `{}`: Strimzi manages `{key}` itself and drops it from spec.kafka.config", c.name));
                label_origin(d, &e.origin, "dropped by Strimzi");
                label_cluster(d, c);
            }
        }
    }
}

fn producer_id_expiration(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        if job.sinks.is_empty() || job.fact_str("delivery") == Some("none") {
            continue;
        }
        let Some(cluster) = plan.cluster(&job.cluster) else {
            continue;
        };
        let (Some(expiration), Some(delivery)) = (
            effective_number(cluster, "producer.id.expiration.ms"),
            producer_number(job, "delivery.timeout.ms"),
        ) else {
            continue;
        };
        if expiration < delivery {
            let d = f.add(format!(
                "job `{}`: cluster `{}` expires producer IDs after {}, before the producer's delivery timeout {}",
                job.name,
                cluster.name,
                human_duration(expiration as u64),
                human_duration(delivery as u64)
            ));
            if let Some(e) = cluster.current.entry("producer.id.expiration.ms") {
                label_origin(d, &e.origin, "producer ID expiration");
            }
            if let Some(e) = job.get(DocKind::Producer, "delivery.timeout.ms") {
                label_origin(d, &e.origin, "delivery timeout");
            }
            label_job(d, job);
        }
    }
}

fn prefix_collision(plan: &Checked<'_>, f: &mut Findings) {
    // (cluster, prefix) → first (job, sink, origin). A map keeps this linear in the fleet size.
    let mut seen: std::collections::HashMap<(String, String), (&str, &str, &crate::plan::Origin)> =
        std::collections::HashMap::new();
    for job in &plan.jobs {
        let Some(sink) = job.doc(DocKind::Sink) else {
            continue;
        };
        for t in &job.sinks {
            let Some(e) = sink.entry(&format!("{}.transactional-id-prefix", t.name)) else {
                continue;
            };
            let Some(prefix) = e.value.as_str() else {
                continue;
            };
            match seen.get(&(job.cluster.clone(), prefix.to_string())) {
                Some((other_job, other_sink, other_origin)) => {
                    let d = f.add(format!(
                        "job `{}` sink `{}` and job `{other_job}` sink `{other_sink}` share the transactional-id prefix `{prefix}` on cluster `{}`: they fence each other",
                        job.name, t.name, job.cluster
                    ));
                    label_origin(d, other_origin, "one sink");
                    label_origin(d, &e.origin, "the other");
                    label_job(d, job);
                }
                None => {
                    seen.insert(
                        (job.cluster.clone(), prefix.to_string()),
                        (&job.name, &t.name, &e.origin),
                    );
                }
            }
        }
    }
}

fn connector3_default_prefix(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        let eos = job.fact_str("delivery") == Some("exactly-once") && !job.sinks.is_empty();
        if eos
            && job
                .fact_str("connector-version")
                .is_some_and(|v| v.starts_with("3."))
        {
            let d = f.add(format!(
                "job `{}`: with connector {} KafkaSink uses the shared prefix `kafka-sink` unless the job calls setTransactionalIdPrefix with the generated prefix",
                job.name,
                job.fact_str("connector-version").unwrap_or("3.x")
            ));
            if let Some(e) = job.fact("connector-version") {
                label_origin(d, &e.origin, "connector");
            }
            label_job(d, job);
        }
    }
}

fn pooling_preconditions(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(asked) = job.fact("transaction-naming-requested") else {
            continue;
        };
        if asked.value.as_str() != Some("pooling") {
            continue;
        }
        let connector = job.fact_str("connector-version").unwrap_or("0");
        let kafka = job.fact_str("kafka-version").unwrap_or("0");
        let confirmed = |fact: &str| {
            job.fact(fact)
                .and_then(|x| x.value.as_bool())
                .unwrap_or(false)
        };
        let mut missing = vec![];
        if crate::resolve::context::version_lt(connector, "4.0.0") {
            missing.push(format!("connector 4.0 or later (the job uses {connector})"));
        }
        if crate::resolve::context::version_lt(kafka, "3.0") {
            missing.push(format!("brokers 3.0 or later (the cluster runs {kafka})"));
        }
        if !confirmed("pooling-acls-granted") {
            missing.push("read/describe ACLs on the sink topics and transaction listing (`acls-granted=#true`)".into());
        }
        if !confirmed("pooling-serializer-exposes-topics") {
            missing.push(
                "a serializer that exposes its topics (`serializer-exposes-topics=#true`)".into(),
            );
        }
        if !missing.is_empty() {
            let d = f.add(format!(
                "job `{}` asks for POOLING transaction naming without: {}",
                job.name,
                missing.join("; ")
            ));
            label_origin(d, &asked.origin, "POOLING");
            label_job(d, job);
        }
    }
}

fn pooling_one_way(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        let Some(sink) = job.doc(DocKind::Sink) else {
            continue;
        };
        let pooling = sink.entries.iter().find(|(k, e)| {
            k.ends_with(".transaction-naming-strategy") && e.value.as_str() == Some("POOLING")
        });
        if let Some((_, e)) = pooling {
            let d = f.add(format!(
                "job `{}` uses POOLING transaction naming: there is no way back to INCREMENTING, and downscaling can orphan transactions (FLINK-40626)",
                job.name
            ));
            label_origin(d, &e.origin, "POOLING");
            label_job(d, job);
        }
    }
}

/// A topic's retention: its own setting, else the broker's log.retention.ms / .hours default.
fn retention_of(
    cluster: &crate::plan::ClusterPlan,
    topic: &str,
) -> Option<(u64, Option<crate::plan::Origin>)> {
    if let Some(e) = cluster
        .topics
        .get(topic)
        .and_then(|d| d.entry("retention.ms"))
    {
        return Some((e.value.as_i64()?.max(0) as u64, Some(e.origin.clone())));
    }
    if let Some(ms) = effective_number(cluster, "log.retention.ms").filter(|v| *v != 0) {
        return (ms > 0).then(|| {
            (
                ms as u64,
                cluster
                    .current
                    .entry("log.retention.ms")
                    .map(|e| e.origin.clone()),
            )
        });
    }
    let hours = effective_number(cluster, "log.retention.hours")?;
    (hours > 0).then(|| {
        (
            hours as u64 * 3_600_000,
            cluster
                .current
                .entry("log.retention.hours")
                .map(|e| e.origin.clone()),
        )
    })
}

fn source_retention(plan: &Checked<'_>, f: &mut Findings) {
    for job in &plan.jobs {
        // A job that upgrades statelessly never restores old offsets.
        if job
            .get(DocKind::K8s, "spec.job.upgradeMode")
            .and_then(|e| e.value.as_str())
            == Some("stateless")
        {
            continue;
        }
        let Some(cluster) = plan.cluster(&job.cluster) else {
            continue;
        };
        let (Some(restore), downtime) = (
            job.fact("restorable-for"),
            ms_fact(job, "max-downtime").unwrap_or(0),
        ) else {
            continue;
        };
        let Some(r) = restore.value.as_i64().map(|v| v.max(0) as u64) else {
            continue;
        };
        let needed = r + downtime;
        for t in job.sources.iter().filter(|t| !t.topic.is_empty()) {
            let Some((retention, origin)) = retention_of(cluster, &t.topic) else {
                continue;
            };
            if retention < needed {
                let assumed = if origin.is_none() {
                    " (the broker default: state the topic's retention with `topic …` in the cluster profile, or give its settings to lint)"
                } else {
                    ""
                };
                let d = f.add(format!(
                    "job `{}`: source topic `{}` keeps data {}{assumed}, less than the restore window {} plus downtime {}: restoring old state skips data",
                    job.name,
                    t.topic,
                    human_duration(retention),
                    human_duration(r),
                    human_duration(downtime)
                ));
                label_origin(d, &restore.origin, "restore window");
                if let Some(o) = &origin {
                    label_origin(d, o, "retention");
                }
                label_job(d, job);
            }
        }
    }
}

fn min_isr_cluster_level(plan: &Checked<'_>, f: &mut Findings) {
    for c in &plan.clusters {
        let v = c.fact_str("kafka-version").unwrap_or("0");
        let broker_level = matches!(c.fact_str("deployment"), Some("bitnami"));
        if crate::resolve::context::version_lt(v, "4.1") || !broker_level {
            continue;
        }
        if let Some(e) = c.current.entry("min.insync.replicas") {
            let d = f.add(format!(
                "cluster `{}` (Kafka {v}): the chart writes min.insync.replicas into each broker's configuration; with eligible leader replicas it must be set at the cluster level",
                c.name
            ));
            label_origin(d, &e.origin, "broker-level setting");
            label_cluster(d, c);
        }
    }
}

fn mixed_guarantees(plan: &Checked<'_>, f: &mut Findings) {
    // (cluster, topic) → first writer; linear in the number of sinks.
    let mut writers: std::collections::HashMap<
        (&str, &str),
        (&str, &str, Option<&crate::plan::Fact>),
    > = std::collections::HashMap::new();
    for job in &plan.jobs {
        let delivery = job.fact_str("delivery").unwrap_or("none");
        // A sink whose topic is unknown (lint of a bare producer.properties) proves nothing.
        for t in job.sinks.iter().filter(|t| !t.topic.is_empty()) {
            match writers.get(&(job.cluster.as_str(), t.topic.as_str())) {
                Some((other, other_delivery, other_fact))
                    if (delivery == "exactly-once") != (*other_delivery == "exactly-once") =>
                {
                    let d = f.add(format!(
                        "topic `{}` is written by job `{}` ({delivery}) and job `{other}` ({other_delivery})",
                        t.topic, job.name
                    ));
                    if let Some(o) = other_fact {
                        label_origin(d, &o.origin, &format!("{other}: {other_delivery}"));
                    }
                    if let Some(o) = job.fact("delivery") {
                        label_origin(d, &o.origin, &format!("{}: {delivery}", job.name));
                    }
                    label_job(d, job);
                }
                Some(_) => {}
                None => {
                    writers.insert(
                        (job.cluster.as_str(), t.topic.as_str()),
                        (job.name.as_str(), delivery, job.fact("delivery")),
                    );
                }
            }
        }
    }
}
