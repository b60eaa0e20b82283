//! Kafka client settings of a job: producer (sinks), consumer (sources), downstream readers,
//! the KafkaSink builder / SQL sink options, security through config providers, and the
//! transaction timeline that decides `transaction.timeout.ms`.

use super::context::{JobCtx, version_lt};
use crate::diag::Diagnostic;
use crate::plan::{DocKind, Input, JobPlan, Origin, Value};
use crate::profile::{Delivery, SecretRef};
use crate::units::human_duration;

/// Where a Kubernetes Secret is mounted in the Flink pods.
pub fn secret_mount(secret: &str) -> String {
    format!("/opt/flink/secrets/{secret}")
}

/// The config providers Kafka's clients ship: the name a reference uses (`${env:VAR}`), the
/// class, and the kafka-clients release that added it (KIP-297, KIP-632, KIP-887).
const PROVIDERS: &[(&str, &str, &str)] = &[
    (
        "dir",
        "org.apache.kafka.common.config.provider.DirectoryConfigProvider",
        "2.7.0",
    ),
    (
        "env",
        "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
        "3.5.0",
    ),
    (
        "file",
        "org.apache.kafka.common.config.provider.FileConfigProvider",
        "2.0.0",
    ),
];

/// The config-provider references in a client value, as (provider, what follows its `:`):
/// `${dir:/opt/flink/secrets/s:password}` → ("dir", "/opt/flink/secrets/s:password").
pub fn provider_references(value: &str) -> Vec<(&str, &str)> {
    let mut out = vec![];
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let inner = &rest[start + 2..];
        let Some(end) = inner.find('}') else { break };
        if let Some((provider, arg)) = inner[..end].split_once(':') {
            out.push((provider, arg));
        }
        rest = &inner[end + 1..];
    }
    out
}

/// Whether a client of release `clients` ships config provider `name`; the error says why not.
pub fn check_provider(name: &str, clients: &str) -> Result<(), String> {
    match PROVIDERS.iter().find(|(n, _, _)| *n == name) {
        Some((_, class, since)) if version_lt(clients, since) => Err(format!(
            "`${{{name}:…}}` needs kafka-clients {since} or later ({}), but this job's connector ships kafka-clients {clients}",
            class.rsplit('.').next().unwrap_or(class)
        )),
        Some(_) => Ok(()),
        None => Err(format!(
            "`${{{name}:…}}` names config provider `{name}`, which Kafka's clients do not ship; an undeclared provider leaves the reference as literal text"
        )),
    }
}

/// Declare config provider `name` (one of [`PROVIDERS`]) in a client document: add it to
/// `config.providers` (kept sorted, each once) and set its class. Without the declaration
/// Kafka's client leaves `${name:…}` in the value as it is, and the credential is that text.
pub fn declare_provider(plan: &mut JobPlan, kind: DocKind, name: &str, origin: &Origin) {
    let Some((_, class, _)) = PROVIDERS.iter().find(|(n, _, _)| *n == name) else {
        return;
    };
    let doc = plan.doc_mut(kind);
    let mut names: Vec<String> = doc
        .get("config.providers")
        .map(Value::kafka_text)
        .unwrap_or_default()
        .split(',')
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    if names.iter().any(|n| n == name) {
        return;
    }
    names.push(name.to_string());
    names.sort();
    doc.set(
        "config.providers",
        Value::Str(names.join(",")),
        origin.clone(),
    );
    doc.set(
        format!("config.providers.{name}.class"),
        Value::Str((*class).to_string()),
        origin.clone(),
    );
}

/// The broker's `transaction.max.timeout.ms` as the cluster states it, or the Kafka default.
fn broker_max_timeout(cx: &JobCtx<'_>) -> (u64, Origin) {
    let c = &cx.cluster.value;
    if let Some((i, b)) = c
        .broker
        .iter()
        .enumerate()
        .find(|(_, b)| b.key == "transaction.max.timeout.ms")
        && let Ok(v) = b.value.to_text().trim().parse::<u64>()
    {
        return (
            v,
            Origin::Profile {
                field: format!("cluster {} broker", c.name),
                span: cx.cluster.span(&format!("/broker/{i}/value")),
            },
        );
    }
    let default = cx
        .kafka
        .and_then(|k| {
            k.defaults
                .iter()
                .find(|d| d.0 == "transaction.max.timeout.ms")
        })
        .and_then(|d| d.1.parse().ok().map(|v| (v, d.2)));
    match (default, cx.kafka) {
        (Some((v, span)), Some(k)) => (
            v,
            Origin::ProductDefault {
                pack: k.name.clone(),
                version: k.version.clone(),
                span,
            },
        ),
        _ => (
            900_000,
            Origin::Model {
                model: "kafka".into(),
                steps: vec!["Kafka default 900000 ms".into()].into(),
                inputs: vec![].into(),
            },
        ),
    }
}

pub fn derive(cx: &JobCtx<'_>, plan: &mut JobPlan) -> Result<(), Diagnostic> {
    let p = cx.p();
    let c = &cx.cluster.value;
    let bootstrap_origin = Origin::Profile {
        field: format!("cluster {} kafka.bootstrap", c.name),
        span: cx.cluster.span("/kafka/bootstrap"),
    };
    for kind in [DocKind::Producer, DocKind::Consumer, DocKind::Downstream] {
        if kind == DocKind::Producer && p.sink.is_empty()
            || kind == DocKind::Consumer && p.source.is_empty()
        {
            continue;
        }
        if kind == DocKind::Downstream && p.sink.is_empty() {
            continue;
        }
        plan.doc_mut(kind).set(
            "bootstrap.servers",
            Value::Str(c.kafka.bootstrap.clone()),
            bootstrap_origin.clone(),
        );
    }
    if !p.source.is_empty() {
        plan.doc_mut(DocKind::Consumer).set(
            "group.id",
            Value::Str(format!("{}.{}", p.environment, p.name)),
            Origin::Model {
                model: "kafka".into(),
                steps: vec!["consumer group = <environment>.<job>: offsets committed on checkpoints, for lag monitoring".into()].into(),
                inputs: vec![cx.input("environment", &p.environment, "/environment")].into(),
            },
        );
    }
    security(cx, plan)?;

    // Sink builder / SQL options, per sink.
    let naming = cx.connector_fact_bool("naming-strategies");
    let tx = p.transactions.as_ref();
    if tx.and_then(|t| t.two_phase_commit) == Some(true) {
        return Err(Diagnostic::error("two-phase commit participation (KIP-939 / FLIP-319) is not available")
            .with_label(cx.span("/transactions/two-phase-commit"), "asked for here")
            .with_help("no released Flink Kafka connector implements FLIP-319, and no released Kafka client exposes the KIP-939 prepare/complete API (removed from 4.1 before release); remove `two-phase-commit`"));
    }
    let pooling = tx.and_then(|t| t.naming) == Some(crate::profile::Naming::Pooling);
    if let Some(t) = tx {
        if let Some(n) = t.naming {
            let name = if n == crate::profile::Naming::Pooling {
                "pooling"
            } else {
                "incrementing"
            };
            plan.set_fact(
                "transaction-naming-requested",
                Value::Str(name.into()),
                cx.profile_origin("/transactions/naming"),
            );
        }
        if let Some(b) = t.acls_granted {
            plan.set_fact(
                "pooling-acls-granted",
                Value::Bool(b),
                cx.profile_origin("/transactions/acls-granted"),
            );
        }
        if let Some(b) = t.serializer_exposes_topics {
            plan.set_fact(
                "pooling-serializer-exposes-topics",
                Value::Bool(b),
                cx.profile_origin("/transactions/serializer-exposes-topics"),
            );
        }
    }
    for (i, s) in p.sink.iter().enumerate() {
        let doc = plan.doc_mut(DocKind::Sink);
        doc.set(
            format!("{}.topic", s.name),
            Value::Str(s.topic.clone()),
            cx.profile_origin(&format!("/sink/{i}/topic")),
        );
        doc.set(
            format!("{}.delivery-guarantee", s.name),
            Value::Str(p.delivery.as_str().into()),
            cx.profile_origin("/delivery"),
        );
        if p.delivery == Delivery::ExactlyOnce {
            let prefix = format!("{}-{}-{}-{}", p.environment, c.name, p.name, s.name);
            doc.set(
                format!("{}.transactional-id-prefix", s.name),
                Value::Str(prefix),
                Origin::Model {
                    model: "kafka".into(),
                    steps: vec![
                        "prefix = <environment>-<cluster>-<job>-<sink>: unique per job, environment, cluster and sink, and stable across restarts".into(),
                        "KafkaSink reads it only from setTransactionalIdPrefix / sink.transactional-id-prefix, never from producer properties".into(),
                    ].into(),
                    inputs: vec![
                        cx.input("environment", &p.environment, "/environment"),
                        cx.input("job", &p.name, "/name"),
                        cx.input("sink", &s.name, &format!("/sink/{i}/name")),
                    ].into(),
                },
            );
            if naming && pooling {
                doc.set(
                    format!("{}.transaction-naming-strategy", s.name),
                    Value::Str("POOLING".into()),
                    cx.profile_origin("/transactions/naming"),
                );
            } else if naming {
                doc.set(
                    format!("{}.transaction-naming-strategy", s.name),
                    Value::Str("INCREMENTING".into()),
                    Origin::Model {
                        model: "kafka".into(),
                        steps: vec!["INCREMENTING, the connector default, written out; POOLING is an explicit opt-in".into()].into(),
                        inputs: vec![cx.input("connector", &p.kafka.connector, "/kafka/connector")].into(),
                    },
                );
            }
        }
    }
    // Recovery facts: every job restores from checkpoints; exactly-once sinks also depend on them.
    let (downtime, downtime_origin) = match p.recovery.as_ref().and_then(|r| r.max_downtime) {
        Some(d) => (d.0, cx.profile_origin("/recovery/max-downtime")),
        None => {
            let (v, inp) = cx.param_ms("recovery.max-downtime", 900_000);
            (
                v,
                Origin::Model {
                    model: "recovery".into(),
                    steps: vec!["policy default max downtime".into()].into(),
                    inputs: inp.into_iter().collect(),
                },
            )
        }
    };
    plan.set_fact(
        "max-downtime",
        Value::Millis(downtime),
        downtime_origin.clone(),
    );
    // Restore window: source retention and transactional.id.expiration.ms must cover it.
    let (restore, restore_origin) = match p.recovery.as_ref().and_then(|r| r.restorable_for) {
        Some(d) => (d.0, cx.profile_origin("/recovery/restorable-for")),
        None => {
            let (v, inp) = cx.param_ms("recovery.restorable-for", 259_200_000);
            (
                v,
                Origin::Model {
                    model: "recovery".into(),
                    steps: vec!["policy default restore window".into()].into(),
                    inputs: inp.into_iter().collect(),
                },
            )
        }
    };
    plan.set_fact("restorable-for", Value::Millis(restore), restore_origin);
    if p.delivery != Delivery::ExactlyOnce || p.sink.is_empty() {
        return Ok(());
    }

    // The transaction timeline.
    let flink = plan.doc(DocKind::Flink);
    let ms = |logical: &str| {
        flink
            .and_then(|d| d.get(&cx.key(logical)))
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .max(0) as u64
    };
    let interval = ms("checkpoint-interval");
    let pause = ms("checkpoint-min-pause");
    let timeout = ms("checkpoint-timeout");
    let tolerable = ms("tolerable-failed-checkpoints");
    let (margin, margin_in) = cx.param_ms("kafka.transaction-margin", 300_000);
    let cycle = interval + pause + timeout;
    let mut inputs = vec![
        Input {
            name: "checkpoint interval".into(),
            value: human_duration(interval),
            span: None,
        },
        Input {
            name: "checkpoint min-pause".into(),
            value: human_duration(pause),
            span: None,
        },
        Input {
            name: "checkpoint timeout".into(),
            value: human_duration(timeout),
            span: None,
        },
        Input {
            name: "tolerable failed checkpoints".into(),
            value: tolerable.to_string(),
            span: None,
        },
        Input {
            name: "max downtime".into(),
            value: human_duration(downtime),
            span: downtime_origin.spans().first().copied(),
        },
    ];
    inputs.extend(margin_in);
    let (needed, steps) = timeline(interval, pause, timeout, tolerable, downtime, margin);
    plan.set_fact(
        "transaction-needed",
        Value::Millis(needed),
        Origin::Model {
            model: "transaction-timeline".into(),
            steps: steps.clone().into(),
            inputs: inputs.clone().into(),
        },
    );

    let (broker_max, broker_origin) = broker_max_timeout(cx);
    let chosen = needed.min(broker_max).min(i32::MAX as u64);
    let mut steps = steps;
    // What the chosen timeout protects: the longest recovery that still commits.
    let survivable = chosen.saturating_sub((tolerable + 1) * cycle);
    if chosen < needed {
        steps.push(format!(
            "clamped to the cluster's transaction.max.timeout.ms {}: a recovery longer than {} aborts the pending transaction (data loss) until the broker change is applied",
            human_duration(broker_max),
            human_duration(survivable)
        ));
    } else {
        steps.push(format!(
            "transaction.timeout.ms = {}: a recovery longer than {} (after {} failed checkpoints) aborts the pending transaction: data loss",
            human_duration(chosen),
            human_duration(survivable),
            tolerable
        ));
    }
    inputs.push(Input {
        name: "cluster transaction.max.timeout.ms".into(),
        value: broker_max.to_string(),
        span: broker_origin.spans().first().copied(),
    });
    plan.doc_mut(DocKind::Producer).set(
        "transaction.timeout.ms",
        Value::Millis(chosen),
        Origin::Model {
            model: "transaction-timeline".into(),
            steps: steps.into(),
            inputs: inputs.into(),
        },
    );

    Ok(())
}

fn security(cx: &JobCtx<'_>, plan: &mut JobPlan) -> Result<(), Diagnostic> {
    let p = cx.p();
    let Some(sec) = &p.security else {
        return Ok(());
    };
    let kinds: Vec<DocKind> = [
        (DocKind::Producer, !p.sink.is_empty()),
        (DocKind::Consumer, !p.source.is_empty()),
    ]
    .into_iter()
    .filter_map(|(k, on)| on.then_some(k))
    .collect();
    let set_all = |plan: &mut JobPlan, key: &str, v: &str, o: Origin| {
        for k in &kinds {
            plan.doc_mut(*k).set(key, Value::Str(v.into()), o.clone());
        }
    };
    set_all(
        plan,
        "security.protocol",
        sec.protocol.as_str(),
        cx.profile_origin("/security/protocol"),
    );
    if !sec.protocol.uses_sasl() {
        return Ok(());
    }
    let Some(mech) = sec.sasl_mechanism else {
        return Err(Diagnostic::error(format!(
            "security protocol {} needs a SASL mechanism",
            sec.protocol.as_str()
        ))
        .with_label(cx.span("/security/protocol"), "SASL protocol")
        .with_help(
            "add `sasl-mechanism=\"SCRAM-SHA-512\"` (or PLAIN, SCRAM-SHA-256) to `security`",
        ));
    };
    set_all(
        plan,
        "sasl.mechanism",
        mech.as_str(),
        cx.profile_origin("/security/sasl-mechanism"),
    );
    let (Some(user), Some(pass)) = (&sec.username, &sec.password) else {
        return Err(Diagnostic::error("SASL needs `username` and `password` references")
            .with_label(cx.span("/security"), "here")
            .with_help("add `username secret=\"…\" key=\"…\"` and `password secret=\"…\" key=\"…\"` (or env=\"VAR\") inside `security { … }`"));
    };
    let clients = cx.connector_release("kafka-clients").unwrap_or("3.4.0");
    let mut providers: Vec<&str> = vec![];
    let mut placeholder = |r: &SecretRef, ptr: &str| -> Result<String, Diagnostic> {
        if let Some(var) = &r.env {
            if check_provider("env", clients).is_err() {
                return Err(Diagnostic::error(format!(
                    "an environment-variable credential needs kafka-clients 3.5 or later (EnvVarConfigProvider), but connector {} ships kafka-clients {clients}",
                    p.kafka.connector
                ))
                .with_label(cx.span(ptr), "env reference")
                .with_help("reference a Kubernetes Secret instead: `secret=\"name\" key=\"key\"`"));
            }
            providers.push("env");
            Ok(format!("${{env:{var}}}"))
        } else {
            providers.push("dir");
            let secret = r.secret.clone().unwrap_or_default();
            let key = r.key.clone().unwrap_or_default();
            Ok(format!("${{dir:{}:{key}}}", secret_mount(&secret)))
        }
    };
    let u = placeholder(user, "/security/username")?;
    let pw = placeholder(pass, "/security/password")?;
    let jaas = format!(
        "{} required username=\"{u}\" password=\"{pw}\";",
        mech.login_module()
    );
    let o = Origin::Model {
        model: "security".into(),
        steps: vec![
            "credentials stay references: Kafka's config providers resolve them when the client starts".into(),
            "Kubernetes Secrets are mounted into the Flink pods and read with DirectoryConfigProvider".into(),
        ].into(),
        inputs: vec![cx.input("username", "reference", "/security/username"), cx.input("password", "reference", "/security/password")].into(),
    };
    set_all(plan, "sasl.jaas.config", &jaas, o.clone());
    for kind in &kinds {
        for prov in &providers {
            declare_provider(plan, *kind, prov, &o);
        }
    }
    let mut secrets: Vec<String> = [user, pass]
        .iter()
        .filter_map(|r| r.secret.clone())
        .collect();
    secrets.sort();
    secrets.dedup();
    if !secrets.is_empty() {
        plan.doc_mut(DocKind::K8s)
            .set("podTemplate.secretVolumes", Value::List(secrets), o);
    }
    Ok(())
}

/// The transaction timeline: how long a sink's transaction may stay open in the worst case. A
/// transaction commits only when a later checkpoint completes, so it spans up to tolerable + 1
/// checkpoint cycles, plus the downtime of a recovery, plus a margin. Returns the need and the
/// steps in words (for `explain`); used by `resolve` and by `lint`.
pub fn timeline(
    interval: u64,
    pause: u64,
    timeout: u64,
    tolerable: u64,
    downtime: u64,
    margin: u64,
) -> (u64, Vec<String>) {
    // Saturating: lint reads these from files nobody validated.
    let cycle = interval.saturating_add(pause).saturating_add(timeout);
    let open = tolerable.saturating_add(1).saturating_mul(cycle);
    let needed = open.saturating_add(downtime).saturating_add(margin);
    let steps = vec![
        "a transaction commits only when a later checkpoint completes".into(),
        format!(
            "worst case open: (tolerable failed {tolerable} + 1) × (interval {} + min-pause {} + timeout {}) = {}",
            human_duration(interval),
            human_duration(pause),
            human_duration(timeout),
            human_duration(open)
        ),
        format!(
            "plus max downtime {} plus margin {} = {}",
            human_duration(downtime),
            human_duration(margin),
            human_duration(needed)
        ),
    ];
    (needed, steps)
}
