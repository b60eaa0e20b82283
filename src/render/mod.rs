//! render: Plan → file contents, through minijinja templates (`templates/`, overridable with
//! `--templates DIR`). Values are formatted for their target grammar here and escaped by the
//! template filters of their output format; no template pastes a raw value.

pub mod escape;
pub mod helm;

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::value::Serde;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, context};
use serde::Serialize;

use crate::diag::Diagnostic;
use crate::plan::{ClusterPlan, DocKind, JobPlan, Plan, Value};
use crate::policy::embedded::BUILTIN_TEMPLATES;
use crate::policy::kafka_model;
use crate::resolve::kafka::secret_mount;

/// One generated file, its path relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub contents: String,
}

/// A job's or cluster's directory: the unit that is replaced atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub dir: String,
    pub files: Vec<File>,
}

/// The template environment: built-in templates, then any overrides from `dir`.
pub fn environment(dir: Option<&Path>) -> Result<Environment<'static>, Diagnostic> {
    let mut env = Environment::new();
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| Diagnostic::error(format!("internal template syntax error: {e}")))?;
    env.set_syntax(syntax);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Escaping is the job of each format's filter (yaml, prop_value, sql, …), chosen per
    // interpolation; minijinja's name-based auto-escape would escape a second time.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_fuel(Some(5_000_000));
    // `yaml` keeps the value's type (booleans and numbers plain, strings always read back as
    // strings); `yaml_string` writes any value as a string (e.g. flinkConfiguration, which the
    // operator reads as a map of strings).
    env.add_filter("yaml", |v: minijinja::Value| -> Result<String, Error> {
        match v.kind() {
            minijinja::value::ValueKind::Bool => Ok(if v.is_true() {
                "true".into()
            } else {
                "false".into()
            }),
            minijinja::value::ValueKind::Number => Ok(v.to_string()),
            minijinja::value::ValueKind::String => {
                Ok(escape::yaml_scalar(v.as_str().unwrap_or_default()))
            }
            other => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("cannot write a {other} as a YAML scalar"),
            )),
        }
    });
    env.add_filter("yaml_string", |v: minijinja::Value| {
        escape::yaml_scalar(&scalar_text(&v))
    });
    env.add_filter("prop_key", |v: minijinja::Value| {
        Ok::<_, Error>(escape::properties(&text_arg(&v)?, true))
    });
    env.add_filter("prop_value", |v: minijinja::Value| {
        Ok::<_, Error>(escape::properties(&text_arg(&v)?, false))
    });
    env.add_filter("sql", |v: minijinja::Value| {
        Ok::<_, Error>(escape::sql_string(&text_arg(&v)?))
    });
    env.add_filter("comment", |v: String| {
        v.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
    });
    env.add_filter("flink_conf_key", |v: String| {
        escape::flink_legacy(&v, true).map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
    });
    env.add_filter("flink_conf_value", |v: minijinja::Value| {
        escape::flink_legacy(&scalar_text(&v), false)
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
    });
    for (name, text) in BUILTIN_TEMPLATES {
        let name = name.trim_end_matches(".j2").to_string();
        env.add_template_owned(name.clone(), text.to_string())
            .map_err(|e| Diagnostic::error(format!("built-in template {name}: {e}")))?;
    }
    if let Some(dir) = dir {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            Diagnostic::error(format!(
                "cannot read template directory {}: {e}",
                dir.display()
            ))
        })?;
        let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for p in paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "j2"))
        {
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            if !BUILTIN_TEMPLATES
                .iter()
                .any(|(n, _)| n.trim_end_matches(".j2") == name)
            {
                return Err(Diagnostic::error(format!(
                    "template {} replaces no built-in template",
                    p.display()
                ))
                .with_help(format!(
                    "templates: {}",
                    BUILTIN_TEMPLATES
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let text = std::fs::read_to_string(&p).map_err(|e| {
                Diagnostic::error(format!("cannot read template {}: {e}", p.display()))
            })?;
            env.add_template_owned(name, text)
                .map_err(|e| Diagnostic::error(format!("template {}: {e}", p.display())))?;
        }
    }
    Ok(env)
}

/// A filter's argument as text, as minijinja's `String` argument gives it (any value but keyword
/// arguments, by its display form), without copying a string that is one already: the
/// .properties filters run twice per line of every file.
fn text_arg(v: &minijinja::Value) -> Result<std::borrow::Cow<'_, str>, Error> {
    if v.is_kwargs() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "cannot convert kwargs to string",
        ));
    }
    Ok(match v.as_str() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(v.to_string()),
    })
}

/// A scalar's text with Java/Kafka/Flink booleans (`true`, not Jinja's `True`).
fn scalar_text(v: &minijinja::Value) -> String {
    match v.kind() {
        minijinja::value::ValueKind::Bool => {
            if v.is_true() {
                "true".into()
            } else {
                "false".into()
            }
        }
        _ => v.as_str().map_or_else(|| v.to_string(), str::to_string),
    }
}

#[derive(Serialize)]
struct Kv {
    key: String,
    value: String,
    note: Option<String>,
}

/// A key with a typed value, for YAML outputs: booleans and numbers stay what they are.
#[derive(Serialize)]
struct TypedKv {
    key: String,
    value: serde_json::Value,
}

/// A plan value as typed data: numbers and booleans as such, everything else as its text in
/// the target grammar (`text`).
fn typed(v: &Value, text: fn(&Value) -> String) -> serde_json::Value {
    match v {
        Value::Bool(b) => serde_json::Value::from(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Value::from(*f),
        other => serde_json::Value::from(text(other)),
    }
}

fn render(env: &Environment<'_>, name: &str, ctx: minijinja::Value) -> Result<String, Diagnostic> {
    let t = env
        .get_template(name)
        .map_err(|e| Diagnostic::error(format!("template {name}: {e}")))?;
    t.render(ctx).map_err(|e| {
        let mut msg = e.kind().to_string();
        if let Some(d) = e.detail() {
            msg = format!("{msg}: {d}");
        }
        Diagnostic::error(format!("cannot render {name}: {msg}"))
            .with_help("a value cannot be written in this format; change it in the profile")
    })
}

pub fn render_plan(plan: &Plan, env: &Environment<'_>) -> Result<Vec<Unit>, Vec<Diagnostic>> {
    let mut units = vec![];
    let mut errors = vec![];
    for r in render_units(plan, env) {
        match r {
            Ok(u) => units.push(u),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(units)
    } else {
        Err(errors)
    }
}

/// Every unit of the plan, each rendered or refused: the jobs in plan order, then the clusters.
pub fn render_units(plan: &Plan, env: &Environment<'_>) -> Vec<Result<Unit, Diagnostic>> {
    use rayon::prelude::*;
    // Units render independently, in parallel, collected in plan order.
    let clusters: std::collections::HashMap<&str, &ClusterPlan> =
        plan.clusters.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut units: Vec<Result<Unit, Diagnostic>> = plan
        .jobs
        .par_iter()
        .map(|job| render_job(job, clusters.get(job.cluster.as_str()).copied(), env))
        .collect();
    units.par_extend(plan.clusters.par_iter().map(|c| render_cluster(c, env)));
    units
}

fn entries(job: &JobPlan, kind: DocKind, text: fn(&Value) -> String) -> Vec<Kv> {
    job.doc(kind)
        .map(|d| {
            d.sorted()
                .into_iter()
                .map(|(k, e)| Kv {
                    key: k.clone(),
                    value: text(&e.value),
                    note: None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn render_job(
    job: &JobPlan,
    cluster: Option<&ClusterPlan>,
    env: &Environment<'_>,
) -> Result<Unit, Diagnostic> {
    let dir = format!("jobs/{}", job.name);
    let mut files = vec![];
    let flink_version = job.fact_str("flink-version").unwrap_or("?");
    let flink: Vec<TypedKv> = job
        .doc(DocKind::Flink)
        .map(|d| {
            d.sorted()
                .into_iter()
                .map(|(k, e)| TypedKv {
                    key: k.clone(),
                    value: typed(&e.value, Value::flink_text),
                })
                .collect()
        })
        .unwrap_or_default();
    if job.config_file == "flink-conf.yaml" {
        // The legacy parser has no escaping: refuse what it cannot carry, at the value's source.
        for (k, e) in job
            .doc(DocKind::Flink)
            .map(|d| d.sorted())
            .unwrap_or_default()
        {
            let problem = escape::flink_legacy(k, true)
                .and_then(|_| escape::flink_legacy(&e.value.flink_text(), false));
            if let Err(why) = problem {
                let mut d = Diagnostic::error(format!("job `{}`: `{k}` {why}", job.name));
                for span in e.origin.spans() {
                    d = d.with_label(span, "this value");
                }
                return Err(d.with_help(format!(
                    "remove the character, or write config.yaml (Flink 1.19/1.20: `flink … config-file=\"config.yaml\"`; Flink 2.x always does); job `{}`",
                    job.name
                )));
            }
        }
    }
    let template = if job.config_file == "flink-conf.yaml" {
        "flink-conf.yaml"
    } else {
        "config.yaml"
    };
    files.push(File {
        path: format!("{dir}/flink/{}", job.config_file),
        contents: render(
            env,
            template,
            context! { job => job.name.as_str(), flink_version, entries => Serde(flink) },
        )?,
    });

    // FlinkDeployment: the operator writes resource.memory into process.size itself.
    let k8s: BTreeMap<String, serde_json::Value> = job
        .doc(DocKind::K8s)
        .map(|d| {
            d.entries
                .iter()
                .map(|(k, e)| (k.clone(), typed(&e.value, Value::flink_text)))
                .collect()
        })
        .unwrap_or_default();
    let flink_configuration: Vec<Kv> = entries(job, DocKind::Flink, Value::flink_text)
        .into_iter()
        .filter(|e| {
            e.key != "taskmanager.memory.process.size" && e.key != "jobmanager.memory.process.size"
        })
        .collect();
    let args = match job.get(DocKind::K8s, "spec.job.args").map(|e| &e.value) {
        Some(Value::List(l)) => l.clone(),
        _ => vec![],
    };
    // Pod volumes: the Kafka credentials' Secrets (read-only) and the node's local disk.
    let mut volumes: Vec<BTreeMap<&str, String>> = match job
        .get(DocKind::K8s, "podTemplate.secretVolumes")
        .map(|e| &e.value)
    {
        Some(Value::List(l)) => l
            .iter()
            .map(|s| {
                BTreeMap::from([
                    ("kind", "secret".to_string()),
                    ("source", s.clone()),
                    ("volume", format!("secret-{s}")),
                    ("path", secret_mount(s)),
                    ("read_only", "true".to_string()),
                ])
            })
            .collect(),
        _ => vec![],
    };
    if let Some(local) = job
        .get(DocKind::K8s, "podTemplate.localVolume")
        .and_then(|e| e.value.as_str())
    {
        let (kind, source) = match local.split_once(':') {
            Some(("hostPath", path)) => ("hostPath", path.to_string()),
            _ => ("emptyDir", String::new()),
        };
        volumes.push(BTreeMap::from([
            ("kind", kind.to_string()),
            ("source", source),
            ("volume", "flink-local".to_string()),
            ("path", crate::resolve::local_state::MOUNT.to_string()),
            ("read_only", String::new()),
        ]));
    }
    // AKS Workload Identity injects credentials only into pods that carry this label.
    let pod_labels: Vec<Kv> = if job.fact_str("cloud") == Some("azure")
        && job.get(DocKind::K8s, "serviceAccount.identity").is_some()
    {
        vec![Kv {
            key: "azure.workload.identity/use".into(),
            value: "true".into(),
            note: None,
        }]
    } else {
        vec![]
    };
    // The chart's values come from the same data as the FlinkDeployment, so the two agree.
    let mut values = helm_values(
        job,
        &k8s,
        &flink_configuration,
        &args,
        &volumes,
        &pod_labels,
    )?;
    files.push(File {
        path: format!("{dir}/k8s/flinkdeployment.yaml"),
        contents: render(
            env,
            "flinkdeployment.yaml",
            context! {
                job => job.name.as_str(),
                operator_version => job.fact_str("operator-version").unwrap_or("?"),
                k8s => Serde(k8s), flink_configuration => Serde(flink_configuration), args => Serde(args), volumes => Serde(volumes), pod_labels => Serde(pod_labels),
            },
        )?,
    });

    // Kafka clients.
    let kafka_files = [
        (
            DocKind::Producer,
            "producer.properties",
            "Producer properties of the KafkaSink(s): KafkaSink.builder().setKafkaProducerConfig(props).",
        ),
        (
            DocKind::Consumer,
            "consumer.properties",
            "Consumer properties of the KafkaSource(s): KafkaSource.builder().setProperties(props).",
        ),
        (
            DocKind::Downstream,
            "downstream-consumer.properties",
            "For consumers that read this job's sink topics.",
        ),
    ];
    for (kind, name, what) in kafka_files {
        if job.doc(kind).is_none_or(|d| d.entries.is_empty()) {
            continue;
        }
        let header = vec![format!("Job {}: {what}", job.name)];
        files.push(File {
            path: format!("{dir}/kafka/{name}"),
            contents: render(env, "client.properties", context! { header => Serde(header), entries => Serde(entries(job, kind, Value::kafka_text)) })?,
        });
    }
    // Builder settings per sink: what KafkaSink reads only from builder calls.
    if let Some(sink_doc) = job.doc(DocKind::Sink) {
        for t in &job.sinks {
            let prefix = format!("{}.", t.name);
            let kvs: Vec<Kv> = sink_doc
                .sorted()
                .into_iter()
                .filter_map(|(k, e)| {
                    Some(Kv {
                        key: k.strip_prefix(&prefix)?.to_string(),
                        value: e.value.kafka_text(),
                        note: None,
                    })
                })
                .collect();
            let header = vec![
                format!("Job {}, sink `{}`: KafkaSink builder settings that no producer property can carry.", job.name, t.name),
                "setDeliveryGuarantee(delivery-guarantee), setTransactionalIdPrefix(transactional-id-prefix), setTransactionNamingStrategy(…).".into(),
            ];
            files.push(File {
                path: format!("{dir}/kafka/sink-{}.properties", t.name),
                contents: render(
                    env,
                    "client.properties",
                    context! { header => Serde(header), entries => Serde(kvs) },
                )?,
            });
        }
    }
    if !job.sources.is_empty() || !job.sinks.is_empty() {
        files.push(File {
            path: format!("{dir}/kafka/tables.sql"),
            contents: render(
                env,
                "tables.sql",
                context! { job => job.name.as_str(), tables => Serde(sql_tables(job)) },
            )?,
        });
    }
    if let Some((annotation, identity)) = identity_annotation(job) {
        let name = job
            .get(DocKind::K8s, "spec.serviceAccount")
            .map(|e| e.value.flink_text())
            .unwrap_or_else(|| "flink".into());
        let namespace = job
            .get(DocKind::K8s, "metadata.namespace")
            .map(|e| e.value.flink_text())
            .unwrap_or_default();
        files.push(File {
            path: format!("{dir}/k8s/serviceaccount.yaml"),
            contents: render(
                env,
                "serviceaccount.yaml",
                context! { job => job.name.as_str(), name, namespace, annotation, identity, azure => job.fact_str("cloud") == Some("azure") },
            )?,
        });
    }
    if let Some(c) = cluster {
        topic_settings(job, c, env, &dir, &mut files)?;
    }
    if let Some(c) = cluster.filter(|c| c.fact_str("deployment") == Some("strimzi")) {
        strimzi_resources(job, c, env, &dir, &mut files)?;
    }
    // Helm values last: the ConfigMap carries the Kafka client files exactly as written above.
    let kafka_dir = format!("{dir}/kafka/");
    let data: BTreeMap<String, String> = files
        .iter()
        .filter_map(|f| {
            let name = f.path.strip_prefix(&kafka_dir)?;
            helm::is_client_file(name).then(|| (name.to_string(), f.contents.clone()))
        })
        .collect();
    if !data.is_empty() {
        values.kafka_config_map = Some(helm::ConfigMap {
            name: format!("{}-kafka", job.name),
            data,
        });
    }
    let namespace = job
        .get(DocKind::K8s, "metadata.namespace")
        .map(|e| e.value.flink_text())
        .unwrap_or_default();
    files.push(File {
        path: format!("{dir}/helm/values.yaml"),
        contents: helm::to_file(&values, &namespace)
            .map_err(|e| Diagnostic::error(format!("job `{}`: {e}", job.name)))?,
    });
    Ok(Unit { dir, files })
}

/// The annotation that binds the pods' service account to a cloud identity, by cloud, and the
/// identity.
fn identity_annotation(job: &JobPlan) -> Option<(&'static str, &str)> {
    let identity = job
        .get(DocKind::K8s, "serviceAccount.identity")
        .and_then(|e| e.value.as_str())?;
    let annotation = match job.fact_str("cloud") {
        Some("aws") => "eks.amazonaws.com/role-arn",
        Some("gcp") => "iam.gke.io/gcp-service-account",
        Some("azure") => "azure.workload.identity/client-id",
        _ => "flinkgen.io/identity",
    };
    Some((annotation, identity))
}

/// The chart's values for a job, from the data its FlinkDeployment template gets (the K8s
/// document, the flinkConfiguration entries, program arguments, volumes and pod labels).
fn helm_values(
    job: &JobPlan,
    k8s: &BTreeMap<String, serde_json::Value>,
    flink_configuration: &[Kv],
    args: &[String],
    volumes: &[BTreeMap<&str, String>],
    pod_labels: &[Kv],
) -> Result<helm::HelmValues, Diagnostic> {
    let missing = |key: &str| {
        Diagnostic::error(format!(
            "job `{}`: internal error: the plan has no {key} for the Helm values",
            job.name
        ))
    };
    let text = |key: &str| -> Result<String, Diagnostic> {
        match k8s.get(key) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(other) => Ok(other.to_string()),
            None => Err(missing(key)),
        }
    };
    let int = |key: &str| {
        k8s.get(key)
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| missing(key))
    };
    let float = |key: &str| {
        k8s.get(key)
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| missing(key))
    };
    let role = |r: &str| -> Result<helm::Role, Diagnostic> {
        Ok(helm::Role {
            replicas: int(&format!("spec.{r}.replicas"))?,
            resource: helm::Resource {
                cpu: float(&format!("spec.{r}.resource.cpu"))?,
                memory: text(&format!("spec.{r}.resource.memory"))?,
            },
        })
    };
    let name = text("metadata.name")?;
    let pod_spec = (!volumes.is_empty()).then(|| helm::PodSpec {
        containers: vec![helm::Container {
            name: "flink-main-container".into(),
            volume_mounts: volumes
                .iter()
                .map(|v| helm::VolumeMount {
                    name: v.get("volume").cloned().unwrap_or_default(),
                    mount_path: v.get("path").cloned().unwrap_or_default(),
                    read_only: v
                        .get("read_only")
                        .is_some_and(|r| !r.is_empty())
                        .then_some(true),
                })
                .collect(),
        }],
        volumes: volumes
            .iter()
            .map(|v| {
                let source = v.get("source").cloned().unwrap_or_default();
                let kind = v.get("kind").map(String::as_str);
                helm::Volume {
                    name: v.get("volume").cloned().unwrap_or_default(),
                    secret: (kind == Some("secret")).then(|| helm::SecretVolume {
                        secret_name: source.clone(),
                    }),
                    host_path: (kind == Some("hostPath")).then(|| helm::HostPathVolume {
                        path: source.clone(),
                        kind: "DirectoryOrCreate".into(),
                    }),
                    empty_dir: (kind == Some("emptyDir")).then_some(helm::EmptyDirVolume {}),
                }
            })
            .collect(),
    });
    let pod_metadata = (!pod_labels.is_empty()).then(|| helm::PodMetadata {
        labels: pod_labels
            .iter()
            .map(|l| (l.key.clone(), l.value.clone()))
            .collect(),
    });
    let pod_template =
        (pod_spec.is_some() || pod_metadata.is_some()).then_some(helm::PodTemplate {
            metadata: pod_metadata,
            spec: pod_spec,
        });
    let identity = identity_annotation(job);
    Ok(helm::HelmValues {
        labels: BTreeMap::from([
            (
                "app.kubernetes.io/managed-by".to_string(),
                "flinkgen".to_string(),
            ),
            ("app.kubernetes.io/name".to_string(), name.clone()),
        ]),
        name,
        image: text("spec.image")?,
        flink_version: text("spec.flinkVersion")?,
        service_account: helm::ServiceAccount {
            create: identity.is_some(),
            name: text("spec.serviceAccount")?,
            annotations: identity
                .map(|(a, i)| BTreeMap::from([(a.to_string(), i.to_string())]))
                .unwrap_or_default(),
        },
        flink_configuration: flink_configuration
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect(),
        job_manager: role("jobManager")?,
        task_manager: role("taskManager")?,
        pod_template,
        job: helm::JobSpec {
            jar_uri: text("spec.job.jarURI")?,
            entry_class: k8s
                .get("spec.job.entryClass")
                .map(|_| text("spec.job.entryClass"))
                .transpose()?,
            args: args.to_vec(),
            parallelism: int("spec.job.parallelism")?,
            upgrade_mode: text("spec.job.upgradeMode")?,
            state: text("spec.job.state")?,
        },
        kafka_config_map: None,
    })
}

/// Topic-level settings of each sink topic, for `kafka-configs.sh --entity-type topics
/// --entity-name <topic> --alter --add-config-file <file>`: the cluster's min ISR and what the
/// cluster profile states for the topic.
fn topic_settings(
    job: &JobPlan,
    c: &ClusterPlan,
    env: &Environment<'_>,
    dir: &str,
    files: &mut Vec<File>,
) -> Result<(), Diagnostic> {
    for t in &job.sinks {
        let mut kv: BTreeMap<String, String> = BTreeMap::new();
        if let Some(m) = c.current.get("min.insync.replicas") {
            kv.insert("min.insync.replicas".into(), m.kafka_text());
        }
        if let Some(d) = c.topics.get(&t.topic) {
            for (k, e) in d.sorted() {
                if k != "replication.factor" {
                    kv.insert(k.clone(), e.value.kafka_text());
                }
            }
        }
        if kv.is_empty() {
            continue;
        }
        let entries: Vec<Kv> = kv
            .into_iter()
            .map(|(key, value)| Kv {
                key,
                value,
                note: None,
            })
            .collect();
        let header = vec![
            format!(
                "Job {}, sink `{}`: settings of topic {} on cluster {}.",
                job.name, t.name, t.topic, c.name
            ),
            format!(
                "kafka-configs.sh --bootstrap-server … --entity-type topics --entity-name {} --alter --add-config-file topic-{}.properties",
                t.topic, t.name
            ),
        ];
        files.push(File {
            path: format!("{dir}/kafka/topic-{}.properties", t.name),
            contents: render(
                env,
                "client.properties",
                context! { header => Serde(header), entries => Serde(entries) },
            )?,
        });
    }
    Ok(())
}

/// A Kubernetes object name for a Kafka topic (lowercase RFC 1123; the real name goes in
/// spec.topicName).
fn k8s_name(topic: &str) -> String {
    let mut n: String = topic
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    n = n
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    n.truncate(253);
    if n.is_empty() { "topic".into() } else { n }
}

#[derive(Serialize)]
struct Acl {
    kind: &'static str,
    name: Option<String>,
    pattern: &'static str,
    operations: Vec<&'static str>,
}

#[derive(Serialize)]
struct TopicView {
    name: String,
    topic: String,
    partitions: Option<u32>,
    replicas: i64,
    min_isr: Option<String>,
}

/// KafkaTopic resources for the job's sink topics and a KafkaUser with the job's ACLs, for a
/// Strimzi-run cluster: the prefixed TransactionalId grant matches the generated prefix.
fn strimzi_resources(
    job: &JobPlan,
    c: &ClusterPlan,
    env: &Environment<'_>,
    dir: &str,
    files: &mut Vec<File>,
) -> Result<(), Diagnostic> {
    let version = c.fact_str("deployment-version").unwrap_or("");
    let api_version = if crate::resolve::context::version_lt(version, "1.0.0") {
        "kafka.strimzi.io/v1beta2"
    } else {
        "kafka.strimzi.io/v1"
    };
    let brokers = c.fact_i64("brokers").unwrap_or(1);
    let rf = crate::resolve::cluster::effective_number(c, "default.replication.factor")
        .unwrap_or(1)
        .clamp(1, brokers.max(1));
    let min_isr = c.current.get("min.insync.replicas").map(Value::kafka_text);
    let topics: Vec<TopicView> = job
        .sinks
        .iter()
        .map(|t| TopicView {
            name: k8s_name(&t.topic),
            topic: t.topic.clone(),
            partitions: t.partitions,
            replicas: c
                .topics
                .get(&t.topic)
                .and_then(|d| d.get("replication.factor"))
                .and_then(Value::as_i64)
                .unwrap_or(rf),
            min_isr: min_isr.clone(),
        })
        .collect();
    if !topics.is_empty() {
        files.push(File {
            path: format!("{dir}/kafka/strimzi-kafkatopics.yaml"),
            contents: render(env, "strimzi-kafkatopics.yaml", context! { api_version, cluster => c.name.as_str(), job => job.name.as_str(), topics => Serde(topics) })?,
        });
    }
    let mut acls = vec![];
    let group = job
        .get(DocKind::Consumer, "group.id")
        .map(|e| e.value.kafka_text());
    for t in &job.sources {
        acls.push(Acl {
            kind: "topic",
            name: Some(t.topic.clone()),
            pattern: "literal",
            operations: vec!["Describe", "Read"],
        });
    }
    if let Some(g) = group {
        acls.push(Acl {
            kind: "group",
            name: Some(g),
            pattern: "literal",
            operations: vec!["Read"],
        });
    }
    let sink_doc = job.doc(DocKind::Sink);
    for t in &job.sinks {
        let pooling = sink_doc
            .and_then(|d| d.get(&format!("{}.transaction-naming-strategy", t.name)))
            .and_then(Value::as_str)
            == Some("POOLING");
        // POOLING reads the sink topics to find lingering transactions.
        let ops = if pooling {
            vec!["Describe", "Read", "Write"]
        } else {
            vec!["Describe", "Write"]
        };
        acls.push(Acl {
            kind: "topic",
            name: Some(t.topic.clone()),
            pattern: "literal",
            operations: ops,
        });
        if let Some(prefix) = sink_doc
            .and_then(|d| d.get(&format!("{}.transactional-id-prefix", t.name)))
            .and_then(Value::as_str)
        {
            acls.push(Acl {
                kind: "transactionalId",
                name: Some(prefix.to_string()),
                pattern: "prefix",
                operations: vec!["Describe", "Write"],
            });
        }
    }
    if !job.sinks.is_empty() {
        acls.push(Acl {
            kind: "cluster",
            name: None,
            pattern: "literal",
            operations: vec!["IdempotentWrite"],
        });
    }
    let doc = job
        .doc(DocKind::Producer)
        .or_else(|| job.doc(DocKind::Consumer));
    let mechanism = doc
        .and_then(|d| d.get("sasl.mechanism"))
        .map(Value::kafka_text);
    let protocol = doc
        .and_then(|d| d.get("security.protocol"))
        .map(Value::kafka_text);
    // Strimzi manages SCRAM-SHA-512 and TLS users; other mechanisms are provisioned elsewhere.
    let authentication = match (protocol.as_deref(), mechanism.as_deref()) {
        (_, Some("SCRAM-SHA-512")) => Some("scram-sha-512"),
        (Some("SSL"), None) => Some("tls"),
        _ => None,
    };
    // Strimzi names the user's Secret after the KafkaUser: use the Secret the job already
    // references for its password, so the files agree.
    let user = match job
        .get(DocKind::K8s, "podTemplate.secretVolumes")
        .map(|e| &e.value)
    {
        Some(Value::List(secrets)) if authentication == Some("scram-sha-512") => {
            secrets.first().cloned().unwrap_or_else(|| job.name.clone())
        }
        _ => job.name.clone(),
    };
    files.push(File {
        path: format!("{dir}/kafka/strimzi-kafkauser.yaml"),
        contents: render(
            env,
            "strimzi-kafkauser.yaml",
            context! { api_version, cluster => c.name.as_str(), job => job.name.as_str(), user, authentication, acls => Serde(acls) },
        )?,
    });
    Ok(())
}

#[derive(Serialize)]
struct SqlTable {
    kind: &'static str,
    name: String,
    topic: String,
    options: Vec<Kv>,
    missing_format: bool,
}

fn sql_tables(job: &JobPlan) -> Vec<SqlTable> {
    let kv = |k: &str, v: String| Kv {
        key: k.to_string(),
        value: v,
        note: None,
    };
    let props = |kind: DocKind, skip: &[&str]| -> Vec<Kv> {
        job.doc(kind)
            .map(|d| {
                d.sorted()
                    .into_iter()
                    .filter(|(k, _)| !skip.contains(&k.as_str()))
                    .map(|(k, e)| kv(&format!("properties.{k}"), e.value.kafka_text()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = vec![];
    for t in &job.sources {
        let mut options = vec![
            kv("connector", "kafka".into()),
            kv("topic", t.topic.clone()),
            kv("scan.startup.mode", "group-offsets".into()),
        ];
        options.extend(t.format.clone().map(|f| kv("format", f)));
        options.extend(props(DocKind::Consumer, &[]));
        options.push(kv("properties.auto.offset.reset", "earliest".into()));
        options.sort_by(|a, b| a.key.cmp(&b.key));
        out.push(SqlTable {
            kind: "source",
            name: t.name.clone(),
            topic: t.topic.clone(),
            options,
            missing_format: t.format.is_none(),
        });
    }
    for t in &job.sinks {
        let mut options = vec![
            kv("connector", "kafka".into()),
            kv("topic", t.topic.clone()),
        ];
        options.extend(t.format.clone().map(|f| kv("format", f)));
        if let Some(d) = job.doc(DocKind::Sink) {
            for (k, e) in d.sorted() {
                if let Some(opt) = k.strip_prefix(&format!("{}.", t.name))
                    && opt != "topic"
                {
                    options.push(kv(&format!("sink.{opt}"), e.value.kafka_text()));
                }
            }
        }
        options.extend(props(DocKind::Producer, &[]));
        options.sort_by(|a, b| a.key.cmp(&b.key));
        out.push(SqlTable {
            kind: "sink",
            name: t.name.clone(),
            topic: t.topic.clone(),
            options,
            missing_format: t.format.is_none(),
        });
    }
    out
}

/// The cluster's broker settings with the proposal applied, each with its update mode.
fn broker_entries(c: &ClusterPlan) -> Vec<(String, String, String, bool)> {
    let model = c.fact_str("kafka-version").and_then(kafka_model::model);
    let mut keys: Vec<&String> = c
        .current
        .entries
        .keys()
        .chain(c.proposed.entries.keys())
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (v, proposed) = match c.proposed.get(k) {
                Some(v) => (v, true),
                None => (c.current.get(k)?, false),
            };
            let mode = model
                .and_then(|m| m.broker.get(k.as_str()))
                .and_then(|d| d.update_mode.as_deref())
                .unwrap_or("read-only")
                .to_string();
            Some((k.clone(), v.kafka_text(), mode, proposed))
        })
        .collect()
}

/// The comment above a proposed setting: what it was and which jobs need it.
fn note(c: &ClusterPlan, key: &str, proposed: bool) -> Option<String> {
    if !proposed {
        return None;
    }
    let jobs = match c.proposed.entry(key).map(|e| &e.origin) {
        Some(crate::plan::Origin::Model { inputs, .. }) => inputs
            .iter()
            .map(|i| i.name.trim_start_matches("job ").to_string())
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    };
    let was = c
        .current
        .get(key)
        .map_or_else(|| "the Kafka default".to_string(), Value::kafka_text);
    Some(format!(
        "proposed by flinkgen for job(s) {jobs} (now {was}); `flinkgen explain` shows why"
    ))
}

fn render_cluster(c: &ClusterPlan, env: &Environment<'_>) -> Result<Unit, Diagnostic> {
    let dir = format!("clusters/{}", c.name);
    let mut files = vec![];
    let deployment = c.fact_str("deployment").unwrap_or("plain");
    if deployment == "managed" {
        return Ok(Unit { dir, files });
    }
    let all = broker_entries(c);
    let kv = |filter: &dyn Fn(&str) -> bool| -> Vec<Kv> {
        all.iter()
            .filter(|(_, _, m, _)| filter(m))
            .map(|(k, v, _, p)| Kv {
                key: k.clone(),
                value: v.clone(),
                note: note(c, k, *p),
            })
            .collect()
    };
    let static_kv = kv(&|m| m != "cluster-wide");
    let dynamic_kv = kv(&|m| m == "cluster-wide");
    let version = c.fact_str("kafka-version").unwrap_or("?");
    files.push(File {
        path: format!("{dir}/server.properties"),
        contents: render(
            env,
            "client.properties",
            context! {
                header => Serde(vec![
                    format!("Cluster {}: static broker settings (Kafka {version}) to merge into every broker's server.properties.", c.name),
                    "Changing a read-only key needs a rolling restart. Node identity and quorum keys are never written here.".to_string(),
                ]),
                entries => Serde(static_kv),
            },
        )?,
    });
    files.push(File {
        path: format!("{dir}/dynamic-cluster.properties"),
        contents: render(
            env,
            "client.properties",
            context! {
                header => Serde(vec![
                    format!("Cluster {}: cluster-wide dynamic broker settings (Kafka {version}), applied without a restart:", c.name),
                    "kafka-configs.sh --bootstrap-server … --entity-type brokers --entity-default --alter --add-config-file dynamic-cluster.properties".to_string(),
                ]),
                entries => Serde(dynamic_kv),
            },
        )?,
    });
    let dv = c.fact_str("deployment-version").unwrap_or("");
    let every = kv(&|_| true);
    match deployment {
        "strimzi" => {
            // Strimzi drops the keys it manages itself (finding FG115): leave them out.
            let strimzi: Vec<Kv> = kv(&|_| true)
                .into_iter()
                .filter(|e| !crate::check::strimzi_forbids(&e.key))
                .collect();
            let api_version = if crate::resolve::context::version_lt(dv, "1.0.0") {
                "kafka.strimzi.io/v1beta2"
            } else {
                "kafka.strimzi.io/v1"
            };
            files.push(File {
                path: format!("{dir}/strimzi-kafka.yaml"),
                contents: render(
                    env,
                    "strimzi-kafka.yaml",
                    context! { cluster => c.name.as_str(), version => dv, api_version, entries => Serde(strimzi), proposed => !c.proposed.entries.is_empty() },
                )?,
            });
        }
        "bitnami" => {
            if dv.starts_with("31.") {
                let properties: String = every
                    .iter()
                    .map(|e| {
                        format!(
                            "{}={}\n",
                            escape::properties(&e.key, true),
                            escape::properties(&e.value, false)
                        )
                    })
                    .collect();
                files.push(File {
                    path: format!("{dir}/bitnami-values.yaml"),
                    contents: render(
                        env,
                        "bitnami-values-31.yaml",
                        context! { cluster => c.name.as_str(), version => dv, properties },
                    )?,
                });
            } else {
                files.push(File {
                    path: format!("{dir}/bitnami-values.yaml"),
                    contents: render(env, "bitnami-values-32.yaml", context! { cluster => c.name.as_str(), version => dv, entries => Serde(every) })?,
                });
            }
        }
        _ => {}
    }
    Ok(Unit { dir, files })
}
