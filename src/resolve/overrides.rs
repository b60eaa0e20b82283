//! Raw overrides from the profile, each parsed with its target's own grammar:
//! Flink's MemorySize/Duration, Kafka's ConfigDef types (per Kafka version), Kubernetes quantities.

use super::context::JobCtx;
use super::kafka;
use crate::diag::{Diagnostic, ERRORS_PER_UNIT};
use crate::plan::{DocKind, JobPlan, Origin, Value};
use crate::policy::kafka_model;
use crate::profile::validate::did_you_mean;
use crate::profile::{CredentialRefusal, OverrideTarget};
use crate::units;

/// What to do instead of a credential in Flink's configuration.
const FLINK_CREDENTIAL_HELP: &str = "give the Flink pods a cloud identity instead of a key (`kubernetes identity=\"…\"`: an IAM role on EKS, a managed identity on AKS, a service account on GKE); config-provider references (`${env:…}`, `${dir:…}`) work only in `producer` and `consumer` overrides, whose Kafka clients resolve them";

/// Keys the Flink Kubernetes Operator derives itself and rejects in flinkConfiguration.
const OPERATOR_FORBIDDEN: &[&str] = &[
    "kubernetes.namespace",
    "kubernetes.cluster-id",
    "high-availability.cluster-id",
];

enum FlinkType {
    Memory,
    Duration,
    Text,
}

fn flink_type(cx: &JobCtx<'_>, key: &str) -> FlinkType {
    let duration_logicals = [
        "checkpoint-interval",
        "checkpoint-timeout",
        "checkpoint-min-pause",
    ];
    if duration_logicals.iter().any(|l| cx.key(l) == key) {
        return FlinkType::Duration;
    }
    let memory_ns = key.starts_with("taskmanager.memory.") || key.starts_with("jobmanager.memory.");
    let not_size = key.ends_with(".fraction")
        || key.ends_with("consumer-weights")
        || key.ends_with("direct-memory-limit");
    if memory_ns && !not_size {
        return FlinkType::Memory;
    }
    // Otherwise the product default tells the grammar: `128m` is a size, `10 min` a duration.
    if let Some((_, d, _)) = cx.flink.defaults.iter().find(|(k, _, _)| k == key) {
        let has_letters = d.chars().any(|c| c.is_ascii_alphabetic());
        if has_letters && units::parse_flink_memory(d).is_ok() {
            return FlinkType::Memory;
        }
        if has_letters && units::parse_flink_duration_ms(d).is_ok() {
            return FlinkType::Duration;
        }
    }
    FlinkType::Text
}

pub fn apply(
    cx: &JobCtx<'_>,
    plan: &mut JobPlan,
    targets: &[OverrideTarget],
) -> Result<(), Vec<Diagnostic>> {
    let mut errors = vec![];
    let overrides = &cx.p().overrides;
    for (i, o) in overrides.iter().enumerate() {
        if !targets.contains(&o.target) {
            continue;
        }
        if errors.len() >= ERRORS_PER_UNIT {
            // Each unknown key is compared with every option of the release for a "did you
            // mean"; a hostile profile can hold a hundred thousand. Enough errors to act on.
            let rest = overrides[i..]
                .iter()
                .filter(|o| targets.contains(&o.target))
                .count();
            errors.push(crate::diag::not_checked(
                rest,
                "overrides of this job",
                cx.span(&format!("/override/{i}/key")),
            ));
            break;
        }
        let node = format!("/override/{i}");
        let key_span = cx.span(&format!("{node}/key"));
        let value_span = cx.span(&format!("{node}/value"));
        let origin = Origin::Profile {
            field: format!("override {} {}", o.target.as_str(), o.key),
            span: cx.job.spans.whole(&node).unwrap_or(key_span),
        };
        let text = o.value.to_text();
        // One rule for credentials (`profile::credential_refusal`); the loader has already
        // masked a literal in every report (`profile::secret_spans`).
        let refusal =
            crate::profile::credential_refusal(o.target == OverrideTarget::Flink, &o.key, &text);
        match refusal {
            None => {}
            Some(CredentialRefusal::FlinkReference) => {
                // Flink resolves no `${…}`: the credential would be the reference's text.
                errors.push(
                    Diagnostic::error(format!(
                        "Flink does not resolve config-provider references: `{}` would hold the reference's text, not the credential",
                        o.key
                    ))
                    .with_label(value_span, "not resolved by Flink")
                    .with_help(FLINK_CREDENTIAL_HELP),
                );
                continue;
            }
            Some(CredentialRefusal::Literal | CredentialRefusal::Embedded) => {
                errors.push(crate::profile::literal_secret_error(
                    &format!("`{}`", o.key),
                    value_span,
                    if o.target == OverrideTarget::Flink {
                        FLINK_CREDENTIAL_HELP
                    } else {
                        "use `security { password secret=\"name\" key=\"key\" }` for SASL, or write the value as a config-provider reference: `${dir:/opt/flink/secrets/<secret>:<key>}` (a Kubernetes Secret flinkgen mounts) or `${env:VAR}`"
                    },
                ));
                continue;
            }
        }
        let result = match o.target {
            OverrideTarget::Flink => flink(cx, plan, &o.key, &text, origin),
            OverrideTarget::Producer | OverrideTarget::Consumer => {
                kafka(cx, plan, o.target, &o.key, &text, origin)
            }
            OverrideTarget::Kubernetes => kubernetes(cx, plan, &o.key, &text, origin),
        };
        if let Err((on_key, msg, help)) = result {
            let span = if on_key { key_span } else { value_span };
            errors.push(
                Diagnostic::error(msg)
                    .with_label(span, if on_key { "this key" } else { "this value" })
                    .with_help(help),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

pub(super) type OverrideResult = Result<(), (bool, String, String)>;

fn flink(
    cx: &JobCtx<'_>,
    plan: &mut JobPlan,
    key: &str,
    text: &str,
    origin: Origin,
) -> OverrideResult {
    let version = &cx.p().flink.version;
    if let Some((_, rep, _)) = cx.flink.removed.iter().find(|(k, _, _)| k == key) {
        let help = rep
            .as_ref()
            .map_or_else(|| "remove it".to_string(), |r| format!("use `{r}`"));
        return Err((
            true,
            format!("`{key}` is not read by Flink {version} (removed)"),
            help,
        ));
    }
    if let Some(def) = cx
        .flink
        .keys
        .values()
        .find(|d| d.deprecated.iter().any(|k| k == key))
    {
        return Err((
            true,
            format!("`{key}` is deprecated in Flink {version}"),
            format!("use `{}`", def.concrete),
        ));
    }
    if OPERATOR_FORBIDDEN.contains(&key) {
        return Err((
            true,
            format!(
                "`{key}` is set by the Flink Kubernetes Operator and rejected in flinkConfiguration"
            ),
            "remove it".into(),
        ));
    }
    let value = match crate::policy::flink_options::catalog(version) {
        Some(catalog) => typed_by_catalog(catalog, version, key, text)?,
        // No catalogue for this version: the product pack's defaults tell the grammar.
        None => match flink_type(cx, key) {
            FlinkType::Memory => Value::Bytes(units::parse_flink_memory(text).map_err(|e| {
                (
                    false,
                    format!("bad Flink memory size for `{key}`: {e}"),
                    "Flink sizes are binary: e.g. `256m`, `2g`".to_string(),
                )
            })?),
            FlinkType::Duration => {
                Value::Millis(units::parse_flink_duration_ms(text).map_err(|e| {
                    (
                        false,
                        format!("bad Flink duration for `{key}`: {e}"),
                        "e.g. `30 s`, `10 min`".to_string(),
                    )
                })?)
            }
            FlinkType::Text => Value::Str(text.to_string()),
        },
    };
    // The operator writes resource.memory into process.size: keep both in step.
    if key == cx.key("tm-process-size") {
        plan.doc_mut(DocKind::K8s).set(
            "spec.taskManager.resource.memory",
            value.clone(),
            origin.clone(),
        );
    }
    if key == cx.key("jm-process-size") {
        plan.doc_mut(DocKind::K8s).set(
            "spec.jobManager.resource.memory",
            value.clone(),
            origin.clone(),
        );
    }
    plan.doc_mut(DocKind::Flink).set(key, value, origin);
    Ok(())
}

fn kafka(
    cx: &JobCtx<'_>,
    plan: &mut JobPlan,
    target: OverrideTarget,
    key: &str,
    text: &str,
    origin: Origin,
) -> OverrideResult {
    let version = &cx.cluster.value.kafka.version;
    let Some(model) = kafka_model::model(version) else {
        return Err((
            true,
            format!("no Kafka {version} config model"),
            "use a Kafka version flinkgen knows".into(),
        ));
    };
    let (section, kind) = match target {
        OverrideTarget::Producer => (&model.producer, DocKind::Producer),
        _ => (&model.consumer, DocKind::Consumer),
    };
    let Some(def) = section.get(key) else {
        let help = match did_you_mean(key, section.keys().copied()) {
            Some(c) => format!("did you mean `{c}`?"),
            None => format!("see the {} configs of Kafka {version}", target.as_str()),
        };
        return Err((
            true,
            format!(
                "`{key}` is not a Kafka {version} {} config",
                target.as_str()
            ),
            help,
        ));
    };
    kafka_model::check_value(def, text).map_err(|e| {
        (
            false,
            format!("bad value for `{key}`: {e}"),
            format!("Kafka type: {}", def.ty),
        )
    })?;
    references(cx, plan, kind, text, &origin)?;
    plan.doc_mut(kind)
        .set(key, Value::Str(text.trim().to_string()), origin);
    Ok(())
}

/// The config-provider references in a client override (`${env:VAR}`, `${dir:PATH:KEY}`,
/// `${file:PATH:KEY}`) work only where the client declares their provider: declare each one,
/// if the connector's kafka-clients ships it, and mount the Kubernetes Secret a `dir`
/// reference reads from flinkgen's Secret directory (`/opt/flink/secrets/<secret>`).
pub(super) fn references(
    cx: &JobCtx<'_>,
    plan: &mut JobPlan,
    kind: DocKind,
    text: &str,
    origin: &Origin,
) -> OverrideResult {
    let clients = cx.connector_release("kafka-clients").unwrap_or("3.4.0");
    for (provider, arg) in kafka::provider_references(text) {
        kafka::check_provider(provider, clients).map_err(|msg| {
            (
                false,
                msg,
                "use `${env:VAR}` (kafka-clients 3.5+), `${dir:/opt/flink/secrets/<secret>:<key>}` (a Kubernetes Secret flinkgen mounts) or `${file:<path>:<key>}`".to_string(),
            )
        })?;
        kafka::declare_provider(plan, kind, provider, origin);
        let root = kafka::secret_mount("");
        if provider == "dir"
            && let Some(secret) = arg
                .rsplit_once(':')
                .and_then(|(dir, _)| dir.strip_prefix(&root))
        {
            if !is_secret_name(secret) {
                return Err((
                    false,
                    format!(
                        "`{}` is not a Kubernetes Secret's directory",
                        root.clone() + secret
                    ),
                    format!(
                        "Secrets are mounted at `{root}<secret>`: write `${{dir:{root}<secret>:<key>}}` with the Secret's name"
                    ),
                ));
            }
            let k8s = plan.doc_mut(DocKind::K8s);
            let mut secrets = match k8s.get(REFERENCED_SECRETS) {
                Some(Value::List(l)) => l.clone(),
                _ => vec![],
            };
            if !secrets.iter().any(|s| s == secret) {
                secrets.push(secret.to_string());
                secrets.sort();
                k8s.set(REFERENCED_SECRETS, Value::List(secrets), origin.clone());
            }
        }
    }
    Ok(())
}

/// The FlinkDeployment's Secret volumes that overrides' `dir` references read (those of
/// `security` are `podTemplate.secretVolumes`, whose first names the Strimzi KafkaUser's Secret).
pub const REFERENCED_SECRETS: &str = "podTemplate.referencedSecretVolumes";

/// A Kubernetes object name (RFC 1123 subdomain): what a Secret may be called.
fn is_secret_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

fn kubernetes(
    _cx: &JobCtx<'_>,
    plan: &mut JobPlan,
    key: &str,
    text: &str,
    origin: Origin,
) -> OverrideResult {
    let keys = [
        "taskmanager.cpu",
        "jobmanager.cpu",
        "taskmanager.memory",
        "jobmanager.memory",
        "jobmanager.replicas",
    ];
    let q = || {
        units::parse_k8s_quantity(text)
            .map_err(|e| (false, e, "e.g. `2`, `1500m`, `8Gi`".to_string()))
    };
    match key {
        "taskmanager.cpu" | "jobmanager.cpu" => {
            let cores = q()?;
            let (role, _) = key.split_once('.').unwrap_or(("", ""));
            let field = if role == "taskmanager" {
                "spec.taskManager.resource.cpu"
            } else {
                "spec.jobManager.resource.cpu"
            };
            plan.doc_mut(DocKind::K8s)
                .set(field, Value::Float(cores), origin);
        }
        "taskmanager.memory" | "jobmanager.memory" => {
            let bytes = q()?.ceil() as u64;
            let (field, flink_key) = if key.starts_with("task") {
                (
                    "spec.taskManager.resource.memory",
                    "taskmanager.memory.process.size",
                )
            } else {
                (
                    "spec.jobManager.resource.memory",
                    "jobmanager.memory.process.size",
                )
            };
            plan.doc_mut(DocKind::K8s)
                .set(field, Value::Bytes(bytes), origin.clone());
            plan.doc_mut(DocKind::Flink)
                .set(flink_key, Value::Bytes(bytes), origin);
        }
        "jobmanager.replicas" => {
            let n: i64 = text.trim().parse().map_err(|_| {
                (
                    false,
                    format!("`{text}` is not a whole number"),
                    "e.g. `1`".to_string(),
                )
            })?;
            plan.doc_mut(DocKind::K8s)
                .set("spec.jobManager.replicas", Value::Int(n), origin);
        }
        other => {
            let help = match did_you_mean(other, keys) {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!("kubernetes overrides: {}", keys.join(", ")),
            };
            return Err((
                true,
                format!("`{other}` is not a Kubernetes override flinkgen knows"),
                help,
            ));
        }
    }
    Ok(())
}

/// Check a Flink override against the version's option catalogue and parse its value with the
/// option's own type.
fn typed_by_catalog(
    catalog: &crate::policy::flink_options::Catalog,
    version: &str,
    key: &str,
    text: &str,
) -> Result<Value, (bool, String, String)> {
    use crate::policy::flink_options::{Lookup, PLUGIN_PREFIXES};
    let def = match catalog.lookup(key) {
        Lookup::Known(def) => def,
        Lookup::Alias { current } => {
            return Err((
                true,
                format!(
                    "`{key}` is only a deprecated or fallback key of `{current}` in Flink {version}"
                ),
                format!(
                    "use `{current}` (flinkgen may write `{current}` itself, and Flink would then ignore `{key}`)"
                ),
            ));
        }
        Lookup::Deprecated { replacement } => {
            let help =
                replacement.map_or_else(|| "remove it".to_string(), |r| format!("use `{r}`"));
            return Err((
                true,
                format!("`{key}` is deprecated in Flink {version}"),
                help,
            ));
        }
        Lookup::Unknown if PLUGIN_PREFIXES.iter().any(|p| key.starts_with(p)) => {
            return Ok(Value::Str(text.to_string()));
        }
        Lookup::Unknown => {
            let help = match did_you_mean(key, catalog.keys()) {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!(
                    "not an option of Flink {version}; plugin namespaces ({}) are accepted as written",
                    PLUGIN_PREFIXES.join(" ")
                ),
            };
            return Err((
                true,
                format!("`{key}` is not a Flink {version} configuration option"),
                help,
            ));
        }
    };
    let bad = |what: &str, e: String| {
        (
            false,
            format!("bad {what} for `{key}`: {e}"),
            format!("`{key}` is a {} option", def.ty),
        )
    };
    Ok(match def.ty.as_str() {
        "memory" => {
            Value::Bytes(units::parse_flink_memory(text).map_err(|e| bad("Flink memory size", e))?)
        }
        "duration" => Value::Millis(
            units::parse_flink_duration_ms(text).map_err(|e| bad("Flink duration", e))?,
        ),
        "boolean" => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("boolean", format!("`{text}` is not true or false"))),
        },
        "int" | "long" => Value::Int(
            text.trim()
                .parse()
                .map_err(|_| bad("number", format!("`{text}` is not a whole number")))?,
        ),
        "float" | "double" => {
            text.trim()
                .parse::<f64>()
                .map_err(|_| bad("number", format!("`{text}` is not a number")))?;
            Value::Str(text.trim().to_string())
        }
        "enum" => {
            let v = text.trim();
            match def.enum_values.iter().find(|e| e.eq_ignore_ascii_case(v)) {
                Some(e) => Value::Str(e.clone()),
                None => {
                    let help = match did_you_mean(
                        &v.to_ascii_uppercase(),
                        def.enum_values.iter().map(String::as_str),
                    ) {
                        Some(c) => {
                            format!("did you mean `{c}`? values: {}", def.enum_values.join(", "))
                        }
                        None => format!("values: {}", def.enum_values.join(", ")),
                    };
                    return Err((false, format!("`{v}` is not a value of `{key}`"), help));
                }
            }
        }
        _ => Value::Str(text.to_string()),
    })
}
