//! Kafka clusters: their current broker settings (validated against Kafka's config model) and
//! the changes the jobs on them need, reconciled into one proposal per cluster.

use super::context::version_lt;
use crate::diag::{Diagnostic, ERRORS_PER_UNIT};
use crate::plan::{ClusterPlan, Input, JobPlan, Origin, Value};
use crate::policy::{PackSet, kafka_model};
use crate::profile::validate::did_you_mean;
use crate::profile::{ClusterProfile, DeploymentKind, Located};
use crate::units::human_duration;

/// Per-node identity and quorum keys: they differ per broker, so a shared overlay never has them.
pub const NODE_IDENTITY_KEYS: &[&str] = &[
    "broker.id",
    "node.id",
    "process.roles",
    "controller.quorum.voters",
    "controller.quorum.bootstrap.servers",
    "controller.listener.names",
    "listeners",
    "advertised.listeners",
    "listener.security.protocol.map",
    "inter.broker.listener.name",
    "log.dir",
    "log.dirs",
    "metadata.log.dir",
    "zookeeper.connect",
    "broker.rack",
];

pub fn build(c: &Located<ClusterProfile>, packs: &PackSet) -> Result<ClusterPlan, Vec<Diagnostic>> {
    let p = &c.value;
    let mut errors = vec![];
    let mut plan = ClusterPlan {
        name: p.name.clone(),
        head: Some(c.head),
        ..Default::default()
    };
    let o = |ptr: &str, field: &str| Origin::Profile {
        field: field.into(),
        span: c.span(ptr),
    };
    plan.set_fact(
        "kafka-version",
        Value::Str(p.kafka.version.clone()),
        o("/kafka/version", "kafka.version"),
    );
    plan.set_fact(
        "brokers",
        Value::Int(i64::from(p.kafka.brokers)),
        o("/kafka/brokers", "kafka.brokers"),
    );
    plan.set_fact(
        "deployment",
        Value::Str(p.deployment.kind.as_str().into()),
        o("/deployment/kind", "deployment"),
    );
    if let Some(v) = &p.deployment.version {
        plan.set_fact(
            "deployment-version",
            Value::Str(v.clone()),
            o("/deployment/version", "deployment.version"),
        );
    }
    match (p.deployment.kind, &p.deployment.version) {
        (DeploymentKind::Strimzi | DeploymentKind::Bitnami, None) => errors.push(
            Diagnostic::error(format!("`deployment \"{}\"` needs a version", p.deployment.kind.as_str()))
                .with_label(c.span("/deployment/kind"), "which version?")
                .with_help("e.g. `deployment \"strimzi\" version=\"0.45.1\"` or `deployment \"bitnami\" version=\"32.4.4\"`"),
        ),
        (DeploymentKind::Bitnami, Some(v)) if !(v.starts_with("31.") || v.starts_with("32.")) => errors.push(
            Diagnostic::error(format!("bitnami/kafka chart {v} is not modelled"))
                .with_label(c.span("/deployment/version"), "unknown chart line")
                .with_help("flinkgen writes values for chart 31.x (`extraConfig`) and 32.x (`overrideConfiguration`)"),
        ),
        _ => {}
    }
    if p.kafka.version.starts_with('4')
        && p.deployment.kind == DeploymentKind::Strimzi
        && let Some(v) = &p.deployment.version
        && version_lt(v, "0.46.0")
    {
        errors.push(
            Diagnostic::error(format!(
                "Strimzi {v} does not run Kafka {}",
                p.kafka.version
            ))
            .with_label(c.span("/deployment/version"), "Strimzi version")
            .with_label(c.span("/kafka/version"), "Kafka version")
            .with_help("Kafka 4.0 needs Strimzi 0.46 or later"),
        );
    }
    let model = kafka_model::model(&p.kafka.version);
    let kafka_pack = packs.named(&format!("kafka-{}", p.kafka.version));
    if let Some(k) = kafka_pack {
        plan.set_fact(
            "kafka-pack",
            Value::Str(format!("{}@{}", k.name, k.version)),
            Origin::ProductDefault {
                pack: k.name.clone(),
                version: k.version.clone(),
                span: k.span,
            },
        );
    }
    for (i, b) in p.broker.iter().enumerate() {
        let key_span = c.span(&format!("/broker/{i}/key"));
        let value_span = c.span(&format!("/broker/{i}/value"));
        if errors.len() >= ERRORS_PER_UNIT {
            let rest = p.broker.len() - i;
            errors.push(crate::diag::not_checked(rest, "broker settings", key_span));
            break;
        }
        if NODE_IDENTITY_KEYS.contains(&b.key.as_str()) {
            errors.push(
                Diagnostic::error(format!("`{}` is a per-node identity or quorum setting", b.key))
                    .with_label(key_span, "differs per broker")
                    .with_help("a cluster profile holds settings shared by all brokers; flinkgen never writes node identity or quorum keys"),
            );
            continue;
        }
        if plan.current.entry(&b.key).is_some() {
            errors.push(
                Diagnostic::error(format!("broker setting `{}` is given twice", b.key))
                    .with_label(key_span, "again here"),
            );
            continue;
        }
        let text = b.value.to_text();
        // A credential is a reference, never a literal (masked already: `profile::secret_spans`),
        // and a reference resolves only through a provider this cluster's settings declare.
        if crate::profile::is_secret_key(&b.key) && !crate::profile::is_reference_only(&text) {
            errors.push(crate::profile::literal_secret_error(
                &format!("broker `{}`", b.key),
                value_span,
                "write a config-provider reference, e.g. `${file:/opt/kafka/secrets/broker.properties:ssl.keystore.password}`, and declare its provider: `broker \"config.providers\" \"file\"` and `broker \"config.providers.file.class\" \"org.apache.kafka.common.config.provider.FileConfigProvider\"`",
            ));
            continue;
        }
        if let Some(provider) = crate::resolve::kafka::provider_references(&text)
            .into_iter()
            .map(|(provider, _)| provider)
            .find(|provider| !declares_provider(&p.broker, provider))
        {
            errors.push(
                Diagnostic::error(format!(
                    "broker `{}` references config provider `{provider}`, which this cluster's `config.providers` does not declare: the broker would take the reference's text as the value",
                    b.key
                ))
                .with_label(value_span, "not resolved")
                .with_help(format!("declare it: `broker \"config.providers\" \"{provider}\"` and `broker \"config.providers.{provider}.class\" \"…\"`")),
            );
            continue;
        }
        // Read by every Kafka AbstractConfig, though not every version's documented model
        // lists them.
        let provider_key = b.key == "config.providers" || b.key.starts_with("config.providers.");
        if let Some(m) = model.filter(|_| !provider_key) {
            match m.broker.get(b.key.as_str()) {
                None => {
                    let mut d = Diagnostic::error(format!(
                        "`{}` is not a Kafka {} broker config",
                        b.key, p.kafka.version
                    ))
                    .with_label(key_span, "unknown key");
                    if let Some(s) = did_you_mean(&b.key, m.broker.keys().copied()) {
                        d = d.with_help(format!("did you mean `{s}`?"));
                    }
                    errors.push(d);
                    continue;
                }
                Some(def) => {
                    if let Err(e) = kafka_model::check_value(def, &text) {
                        errors.push(
                            Diagnostic::error(format!("bad value for broker `{}`: {e}", b.key))
                                .with_label(value_span, "this value")
                                .with_help(format!(
                                    "Kafka type: {}, valid: {}",
                                    def.ty,
                                    def.valid_values.as_deref().unwrap_or("any")
                                )),
                        );
                        continue;
                    }
                }
            }
        }
        plan.current.set(
            b.key.clone(),
            Value::Str(text),
            Origin::Profile {
                field: format!("cluster {} broker", p.name),
                span: value_span,
            },
        );
    }
    for (i, t) in p.topic.iter().enumerate() {
        let ptr = format!("/topic/{i}");
        if plan.topics.contains_key(&t.name) {
            errors.push(
                Diagnostic::error(format!("topic `{}` is described twice", t.name))
                    .with_label(c.span(&format!("{ptr}/name")), "again here"),
            );
            continue;
        }
        let mut doc = crate::plan::Document::default();
        let o = |field: &str| Origin::Profile {
            field: format!("cluster {} topic {} {field}", p.name, t.name),
            span: c.span(&format!("{ptr}/{field}")),
        };
        if let Some(r) = t.retention {
            doc.set("retention.ms", Value::Millis(r.0), o("retention"));
        }
        if let Some(r) = t.replication {
            doc.set(
                "replication.factor",
                Value::Int(i64::from(r)),
                o("replication"),
            );
        }
        if let Some(m) = t.min_insync_replicas {
            doc.set(
                "min.insync.replicas",
                Value::Int(i64::from(m)),
                o("min-insync-replicas"),
            );
        }
        if let Some(m) = t.max_message_bytes {
            doc.set(
                "max.message.bytes",
                Value::Bytes(m.0),
                o("max-message-bytes"),
            );
        }
        plan.topics.insert(t.name.clone(), doc);
    }
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

/// Whether a cluster's broker settings declare config provider `name` in `config.providers`.
fn declares_provider(settings: &[crate::profile::BrokerSetting], name: &str) -> bool {
    settings
        .iter()
        .filter(|b| b.key == "config.providers")
        .any(|b| b.value.to_text().split(',').any(|p| p.trim() == name))
}

/// The broker's effective numeric value: the cluster's setting, or Kafka's documented default.
pub fn effective_number(plan: &ClusterPlan, key: &str) -> Option<i64> {
    if let Some(e) = plan.current.entry(key) {
        return e.value.as_i64();
    }
    // `kafka-defaults-version`: lint's stand-in when nobody stated the version (reported as an
    // assumption); it supplies defaults only, so no version-specific check fires on a guess.
    let v = plan
        .fact_str("kafka-version")
        .or_else(|| plan.fact_str("kafka-defaults-version"))?;
    kafka_model::model(v)?.broker.get(key)?.default_number()
}

/// Every job on a cluster states what it needs of the brokers; the proposal satisfies all of
/// them (the largest need wins) and names every job behind it. Managed clusters get none.
/// `jobs` are the cluster's own jobs (grouped once by the caller: no cluster × job scan).
pub fn reconcile(cluster: &mut ClusterPlan, jobs: &[&JobPlan]) {
    if cluster.fact_str("deployment") == Some("managed") {
        return;
    }
    let needs: [(&str, &str, &str); 2] = [
        (
            "transaction.max.timeout.ms",
            "transaction-needed",
            "the longest time a job's transaction may stay open",
        ),
        (
            "transactional.id.expiration.ms",
            "restorable-for",
            "the oldest checkpoint or savepoint a job must restore",
        ),
    ];
    for (key, fact, why) in needs {
        let have = effective_number(cluster, key).unwrap_or(0);
        let mut wanted: Vec<(u64, &JobPlan)> = jobs
            .iter()
            .filter_map(|j| Some((j.fact(fact)?.value.as_i64()? as u64, *j)))
            .collect();
        wanted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.name.cmp(&b.1.name)));
        let Some(&(max_need, _)) = wanted.first() else {
            continue;
        };
        // Round up to a whole minute; Kafka stores these as int32 milliseconds.
        let proposal = max_need.div_ceil(60_000) * 60_000;
        let proposal = proposal.min(i32::MAX as u64);
        if (have as u64) >= max_need {
            continue;
        }
        let inputs = wanted
            .iter()
            .map(|(v, j)| Input {
                name: format!("job {}", j.name),
                value: human_duration(*v),
                span: j
                    .fact(fact)
                    .and_then(|f| f.origin.spans().first().copied())
                    .or(j.head),
            })
            .collect();
        cluster.proposed.set(
            key,
            Value::Str(proposal.to_string()),
            Origin::Model {
                model: "cluster-reconciliation".into(),
                steps: vec![
                    format!("{key} must cover {why}"),
                    format!(
                        "largest need over the cluster's jobs: {}; cluster has {}",
                        human_duration(max_need),
                        human_duration(have as u64)
                    ),
                    format!("proposed: {proposal} ms (rounded up to a minute)"),
                ]
                .into(),
                inputs,
            },
        );
    }
}
