//! render: Plan → file contents. Each output has a template in `templates/` (overridable with
//! `--templates DIR`) and a context (`builtin`): values are formatted for their target grammar
//! here and escaped by their output format's filter; no template pastes a raw value. The
//! built-in templates are written in Rust (`builtin`, proven equal to the `.j2` texts); minijinja
//! renders the templates a user replaces.

mod block_yaml;
mod builtin;
pub mod escape;
pub mod helm;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};

use crate::diag::Diagnostic;
use crate::plan::{ClusterPlan, DocKind, JobPlan, Plan, Value};
use crate::policy::embedded::BUILTIN_TEMPLATES;
use crate::policy::kafka_model;
use crate::resolve::kafka::secret_mount;
use builtin::{Builtin, Kv, Scalar, TypedKv};

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

/// The templates of a build: the built-in ones, except those a template directory replaces.
pub struct Templates {
    /// The templates minijinja renders (none without `--templates`).
    interpreted: Option<Environment<'static>>,
}

impl Templates {
    /// Every built-in template interpreted from its `.j2` text, as a replaced one would be: the
    /// reference the Rust writers are tested against.
    pub fn interpreted() -> Result<Templates, Diagnostic> {
        let mut env = jinja()?;
        for (name, text) in BUILTIN_TEMPLATES {
            let name = name.trim_end_matches(".j2").to_string();
            env.add_template_owned(name.clone(), text.to_string())
                .map_err(|e| Diagnostic::error(format!("built-in template {name}: {e}")))?;
        }
        Ok(Templates {
            interpreted: Some(env),
        })
    }

    fn replaced(&self, name: &str) -> Option<minijinja::Template<'_, '_>> {
        self.interpreted.as_ref()?.get_template(name).ok()
    }
}

/// The templates of a build: the built-in ones, replaced by the same-named `*.j2` files of
/// `dir`. A file that replaces no built-in template is an error (a misspelt name would
/// otherwise be ignored).
pub fn environment(dir: Option<&Path>) -> Result<Templates, Diagnostic> {
    let Some(dir) = dir else {
        return Ok(Templates { interpreted: None });
    };
    let mut env = jinja()?;
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
        let text = crate::profile::read_bounded(&p)
            .map_err(|e| Diagnostic::error(format!("cannot read template {}: {e}", p.display())))?;
        if let Some((at, what)) = unescaped_interpolations(&text).into_iter().next() {
            let line = text[..at].matches('\n').count() + 1;
            return Err(Diagnostic::error(format!(
                "template {} line {line}: `{what}` could write a value unescaped",
                p.display()
            ))
            .with_help(format!(
                "write each value as `{{{{ value|…|escaping_filter }}}}`, the last filter the one of the file's format ({}); no `{{% filter %}}` or `{{% autoescape %}}` blocks",
                ESCAPING_FILTERS.join(", ")
            )));
        }
        env.add_template_owned(name, text)
            .map_err(|e| Diagnostic::error(format!("template {}: {e}", p.display())))?;
    }
    Ok(Templates {
        interpreted: Some(env),
    })
}

/// The escaping filters: every interpolation of a template ends in the one of its format.
pub const ESCAPING_FILTERS: [&str; 8] = [
    "yaml",
    "yaml_string",
    "prop_key",
    "prop_value",
    "sql",
    "comment",
    "flink_conf_key",
    "flink_conf_value",
];

/// The largest file a replaced template may render: far above any real output, small enough
/// that a template repeating a string a hundred million times fails instead of filling a disk.
pub const MAX_RENDERED_BYTES: usize = 16 * 1024 * 1024;

/// What in a template could write a value unescaped, with its byte offset: an interpolation
/// other than `{{ value|filter…|escaping_filter }}` — a variable, an index or a string literal,
/// then filters, the last one an escaping filter (`{{ a ~ b|yaml }}` escapes only `b`) — and
/// `{% filter %}` / `{% autoescape %}` blocks, which rewrite escaped text.
pub fn unescaped_interpolations(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = delimited(text, "{%", "%}")
        .filter(|(_, tag, _)| tag.starts_with("filter") || tag.starts_with("autoescape"))
        .map(|(start, _, whole)| (start, whole.to_string()))
        .collect();
    out.extend(
        delimited(text, "{{", "}}")
            .filter(|(_, expr, _)| !escaped_expression(expr))
            .map(|(start, _, whole)| (start, whole.to_string())),
    );
    out.sort();
    out
}

/// Each `open … close` of a template: its offset, its inside without whitespace control
/// (`-`, `+`) and blanks, and the whole text (to the end of the file if it is not closed).
fn delimited<'t>(
    text: &'t str,
    open: &'static str,
    close: &'static str,
) -> impl Iterator<Item = (usize, &'t str, &'t str)> {
    let mut from = 0;
    std::iter::from_fn(move || {
        let start = from + text[from..].find(open)?;
        let inner_start = start + open.len();
        let inner_end = text[inner_start..]
            .find(close)
            .map_or(text.len(), |e| inner_start + e);
        from = (inner_end + close.len()).min(text.len());
        let inner = text[inner_start..inner_end]
            .trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
        Some((start, inner, &text[start..from]))
    })
}

/// `head|filter…|escaping`: split at the `|`s outside strings, brackets and parentheses.
fn escaped_expression(expr: &str) -> bool {
    let mut parts = vec![];
    let (mut depth, mut quote, mut last) = (0i32, None::<char>, 0);
    for (i, c) in expr.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[') => depth += 1,
            (None, ')' | ']') => depth -= 1,
            (None, '|') if depth == 0 => {
                parts.push(expr[last..i].trim());
                last = i + 1;
            }
            _ => {}
        }
    }
    parts.push(expr[last..].trim());
    let is_name = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let head_ok = |h: &str| {
        if let Some(lit) = h.strip_prefix('"') {
            return lit.ends_with('"') && !lit[..lit.len().saturating_sub(1)].contains('"');
        }
        // a.b["c"].d
        let mut rest = h;
        let mut first = true;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("[\"") {
                let Some(close) = r.find("\"]") else {
                    return false;
                };
                rest = &r[close + 2..];
            } else {
                let r = if first {
                    rest
                } else if let Some(r) = rest.strip_prefix('.') {
                    r
                } else {
                    return false;
                };
                let n = r.find(['.', '[']).unwrap_or(r.len());
                if !is_name(&r[..n]) {
                    return false;
                }
                rest = &r[n..];
            }
            first = false;
        }
        !first
    };
    let filter_ok = |f: &str| {
        let name = f.split_once('(').map_or(
            f,
            |(n, args)| {
                if args.ends_with(')') { n.trim() } else { "" }
            },
        );
        is_name(name)
    };
    match parts.as_slice() {
        [head, middle @ .., last] => {
            head_ok(head) && middle.iter().all(|f| filter_ok(f)) && ESCAPING_FILTERS.contains(last)
        }
        _ => false,
    }
}

/// The minijinja environment replaced templates run in: flinkgen's syntax, strict undefined
/// values, bounded fuel, and the escaping filters.
fn jinja() -> Result<Environment<'static>, Diagnostic> {
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
        let mut out = String::with_capacity(v.len());
        escape::push_comment(&mut out, &v);
        out
    });
    env.add_filter("flink_conf_key", |v: String| {
        escape::flink_legacy(&v, true).map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
    });
    env.add_filter("flink_conf_value", |v: minijinja::Value| {
        escape::flink_legacy(&scalar_text(&v), false)
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
    });
    Ok(env)
}

/// A filter's argument as text, as minijinja's `String` argument gives it (any value but keyword
/// arguments, by its display form), without copying a string that is one already.
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

/// A plan value as a typed scalar: numbers and booleans as such, everything else as its text in
/// the target grammar (`text`).
fn typed(v: &Value, text: fn(&Value) -> String) -> Scalar {
    match v {
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Int(i) => Scalar::Int(*i),
        Value::Float(f) => Scalar::Float(*f),
        other => Scalar::Text(text(other)),
    }
}

/// One file from its template: the replacement's, when `--templates` replaced it, or the
/// built-in writer.
fn render(t: &Templates, ctx: &impl Builtin) -> Result<String, Diagnostic> {
    let name = ctx.name();
    let result = match t.replaced(name) {
        Some(template) => template
            .render(minijinja::Value::from(minijinja::value::Serde(ctx)))
            .map_err(|e| {
                let mut msg = e.kind().to_string();
                if let Some(d) = e.detail() {
                    msg = format!("{msg}: {d}");
                }
                msg
            })
            .and_then(|out| {
                if out.len() > MAX_RENDERED_BYTES {
                    Err(format!(
                        "the template wrote {} MiB, more than the {} MiB a file may have",
                        out.len() / (1024 * 1024),
                        MAX_RENDERED_BYTES / (1024 * 1024)
                    ))
                } else {
                    Ok(out)
                }
            }),
        None => {
            let mut out = String::with_capacity(2048);
            ctx.write(&mut out).map(|()| out)
        }
    };
    result.map_err(|msg| {
        Diagnostic::error(format!("cannot render {name}: {msg}"))
            .with_help("a value cannot be written in this format; change it in the profile")
    })
}

pub fn render_plan(plan: &Plan, templates: &Templates) -> Result<Vec<Unit>, Vec<Diagnostic>> {
    let mut units = vec![];
    let mut errors = vec![];
    for r in render_units(plan, templates) {
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
pub fn render_units(plan: &Plan, templates: &Templates) -> Vec<Result<Unit, Diagnostic>> {
    use rayon::prelude::*;
    // Units render independently, in parallel, collected in plan order.
    let clusters: std::collections::HashMap<&str, &ClusterPlan> =
        plan.clusters.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut units: Vec<Result<Unit, Diagnostic>> = plan
        .jobs
        .par_iter()
        .map(|job| render_job(job, clusters.get(job.cluster.as_str()).copied(), templates))
        .collect();
    units.par_extend(
        plan.clusters
            .par_iter()
            .map(|c| render_cluster(c, templates)),
    );
    units
}

/// A document's entries in key order, each value as `text` writes it.
fn entries(job: &JobPlan, kind: DocKind, text: fn(&Value) -> String) -> Vec<Kv<'_>> {
    job.doc(kind)
        .map(|d| {
            d.sorted()
                .into_iter()
                .map(|(k, e)| Kv::new(k.as_str(), text(&e.value)))
                .collect()
        })
        .unwrap_or_default()
}

fn render_job(
    job: &JobPlan,
    cluster: Option<&ClusterPlan>,
    templates: &Templates,
) -> Result<Unit, Diagnostic> {
    let dir = format!("jobs/{}", job.name);
    let mut files = Vec::with_capacity(12);
    let flink_version = job.fact_str("flink-version").unwrap_or("?");
    let flink_sorted = job
        .doc(DocKind::Flink)
        .map(|d| d.sorted())
        .unwrap_or_default();
    let legacy = job.config_file == "flink-conf.yaml";
    // The operator writes a FlinkDeployment's flinkConfiguration as flink-conf.yaml for every
    // Flink 1.x (policies/flink/1.*.kdl: `config-file "flink-conf.yaml"`), whatever file flinkgen
    // writes beside it: `config-file="config.yaml"` does not make the deployment safe.
    let operator_legacy = flink_version.starts_with("1.");
    if legacy || operator_legacy {
        // The legacy parser has no escaping: refuse what it cannot carry, at the value's source.
        for (k, e) in &flink_sorted {
            let problem = escape::check_flink_legacy(k, true).and_then(|()| match &e.value {
                // A string is checked where it is, without a copy.
                Value::Str(s) => escape::check_flink_legacy(s, false),
                other => escape::check_flink_legacy(&other.flink_text(), false),
            });
            if let Err(why) = problem {
                let mut d = Diagnostic::error(format!("job `{}`: `{k}` {why}", job.name));
                for span in e.origin.spans() {
                    d = d.with_label(span, "this value");
                }
                return Err(d.with_help(format!(
                    "remove the character: on Flink 1.x the operator writes the FlinkDeployment's configuration as flink-conf.yaml, whose line format cannot carry it (Flink 2.x writes config.yaml); job `{}`",
                    job.name
                )));
            }
        }
    }
    let flink = builtin::FlinkConfig {
        file: if legacy {
            builtin::FlinkFile::Legacy
        } else {
            builtin::FlinkFile::ConfigYaml
        },
        job: &job.name,
        flink_version,
        entries: flink_sorted
            .iter()
            .map(|(k, e)| TypedKv {
                key: k.as_str(),
                value: typed(&e.value, Value::flink_text),
            })
            .collect(),
    };
    files.push(File {
        path: format!("{dir}/flink/{}", job.config_file),
        contents: render(templates, &flink)?,
    });

    // FlinkDeployment: the operator writes resource.memory into process.size itself.
    let k8s: BTreeMap<&str, Scalar> = job
        .doc(DocKind::K8s)
        .map(|d| {
            d.entries
                .iter()
                .map(|(k, e)| (k.as_str(), typed(&e.value, Value::flink_text)))
                .collect()
        })
        .unwrap_or_default();
    let flink_configuration: Vec<Kv> = flink_sorted
        .iter()
        .filter(|(k, _)| {
            k.as_str() != "taskmanager.memory.process.size"
                && k.as_str() != "jobmanager.memory.process.size"
        })
        .map(|(k, e)| Kv::new(k.as_str(), e.value.flink_text()))
        .collect();
    let args: &[String] = match job.get(DocKind::K8s, "spec.job.args").map(|e| &e.value) {
        Some(Value::List(l)) => l,
        _ => &[],
    };
    // Pod volumes: the Secrets that Kafka credentials reference — `security`'s, then those of
    // overrides' `${dir:…}` references — read-only, each once; and the node's local disk.
    let mut secrets: Vec<&String> = vec![];
    for key in [
        "podTemplate.secretVolumes",
        crate::resolve::overrides::REFERENCED_SECRETS,
    ] {
        if let Some(Value::List(l)) = job.get(DocKind::K8s, key).map(|e| &e.value) {
            for s in l {
                if !secrets.contains(&s) {
                    secrets.push(s);
                }
            }
        }
    }
    let mut volumes: Vec<builtin::Volume> = secrets
        .into_iter()
        .map(|s| builtin::Volume {
            kind: "secret",
            source: s.clone(),
            volume: secret_volume_name(s),
            path: secret_mount(s),
            read_only: "true",
        })
        .collect();
    if let Some(local) = job
        .get(DocKind::K8s, "podTemplate.localVolume")
        .and_then(|e| e.value.as_str())
    {
        let (kind, source) = match local.split_once(':') {
            Some(("hostPath", path)) => ("hostPath", path.to_string()),
            _ => ("emptyDir", String::new()),
        };
        volumes.push(builtin::Volume {
            kind,
            source,
            volume: "flink-local".to_string(),
            path: crate::resolve::local_state::MOUNT.to_string(),
            read_only: "",
        });
    }
    let azure = job.fact_str("cloud") == Some("azure");
    let namespace = job
        .get(DocKind::K8s, "metadata.namespace")
        .map(|e| e.value.flink_text())
        .unwrap_or_default();
    // AKS Workload Identity injects credentials only into pods that carry this label.
    let pod_labels: Vec<Kv> = if azure && job.get(DocKind::K8s, "serviceAccount.identity").is_some()
    {
        vec![Kv::new("azure.workload.identity/use", "true".into())]
    } else {
        vec![]
    };
    // The chart's values come from the same data as the FlinkDeployment, so the two agree.
    let mut values = helm_values(job, &k8s, &flink_configuration, args, &volumes, &pod_labels)?;
    let deployment = builtin::FlinkDeployment {
        job: &job.name,
        operator_version: job.fact_str("operator-version").unwrap_or("?"),
        k8s,
        flink_configuration: &flink_configuration,
        args,
        volumes: &volumes,
        pod_labels: &pod_labels,
    };
    files.push(File {
        path: format!("{dir}/k8s/flinkdeployment.yaml"),
        contents: render(templates, &deployment)?,
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
        let props = builtin::Properties {
            header: vec![format!("Job {}: {what}", job.name)],
            entries: entries(job, kind, Value::kafka_text),
        };
        files.push(File {
            path: format!("{dir}/kafka/{name}"),
            contents: render(templates, &props)?,
        });
    }
    // Builder settings per sink: what KafkaSink reads only from builder calls.
    if let Some(sink_doc) = job.doc(DocKind::Sink) {
        let sorted = sink_doc.sorted();
        for t in &job.sinks {
            let prefix = format!("{}.", t.name);
            let props = builtin::Properties {
                header: vec![
                    format!("Job {}, sink `{}`: KafkaSink builder settings that no producer property can carry.", job.name, t.name),
                    "setDeliveryGuarantee(delivery-guarantee), setTransactionalIdPrefix(transactional-id-prefix), setTransactionNamingStrategy(…).".into(),
                ],
                entries: sorted
                    .iter()
                    .filter_map(|(k, e)| {
                        Some(Kv::new(k.strip_prefix(&prefix)?, e.value.kafka_text()))
                    })
                    .collect(),
            };
            files.push(File {
                path: format!("{dir}/kafka/sink-{}.properties", t.name),
                contents: render(templates, &props)?,
            });
        }
    }
    if !job.sources.is_empty() || !job.sinks.is_empty() {
        let tables = builtin::Tables {
            job: &job.name,
            tables: sql_tables(job),
        };
        files.push(File {
            path: format!("{dir}/kafka/tables.sql"),
            contents: render(templates, &tables)?,
        });
    }
    if let Some((annotation, identity)) = identity_annotation(job) {
        let account = builtin::ServiceAccount {
            job: &job.name,
            name: job
                .get(DocKind::K8s, "spec.serviceAccount")
                .map(|e| e.value.flink_text())
                .unwrap_or_else(|| "flink".into()),
            namespace: &namespace,
            annotation,
            identity,
            azure,
        };
        files.push(File {
            path: format!("{dir}/k8s/serviceaccount.yaml"),
            contents: render(templates, &account)?,
        });
    }
    if let Some(c) = cluster {
        topic_settings(job, c, templates, &dir, &mut files)?;
    }
    if let Some(c) = cluster.filter(|c| c.fact_str("deployment") == Some("strimzi")) {
        strimzi_resources(job, c, templates, &dir, &mut files)?;
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
    k8s: &BTreeMap<&str, Scalar>,
    flink_configuration: &[Kv],
    args: &[String],
    volumes: &[builtin::Volume],
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
            // JSON's text of the value, as the Helm values were first made from JSON values.
            Some(Scalar::Float(f)) if !f.is_finite() => Ok("null".into()),
            Some(Scalar::Float(f)) => Ok(serde_json::Value::from(*f).to_string()),
            Some(v) => Ok(v.text().into_owned()),
            None => Err(missing(key)),
        }
    };
    let int = |key: &str| match k8s.get(key) {
        Some(Scalar::Int(i)) => Ok(*i),
        _ => Err(missing(key)),
    };
    let float = |key: &str| match k8s.get(key) {
        Some(Scalar::Int(i)) => Ok(*i as f64),
        Some(Scalar::Float(f)) if f.is_finite() => Ok(*f),
        _ => Err(missing(key)),
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
                    name: v.volume.clone(),
                    mount_path: v.path.clone(),
                    read_only: (!v.read_only.is_empty()).then_some(true),
                })
                .collect(),
        }],
        volumes: volumes
            .iter()
            .map(|v| helm::Volume {
                name: v.volume.clone(),
                secret: (v.kind == "secret").then(|| helm::SecretVolume {
                    secret_name: v.source.clone(),
                }),
                host_path: (v.kind == "hostPath").then(|| helm::HostPathVolume {
                    path: v.source.clone(),
                    kind: "DirectoryOrCreate".into(),
                }),
                empty_dir: (v.kind == "emptyDir").then_some(helm::EmptyDirVolume {}),
            })
            .collect(),
    });
    let pod_metadata = (!pod_labels.is_empty()).then(|| helm::PodMetadata {
        labels: pod_labels
            .iter()
            .map(|l| (l.key.to_string(), l.value.clone()))
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
            .map(|e| (e.key.to_string(), e.value.clone()))
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
    templates: &Templates,
    dir: &str,
    files: &mut Vec<File>,
) -> Result<(), Diagnostic> {
    for t in &job.sinks {
        let mut kv: BTreeMap<&str, String> = BTreeMap::new();
        if let Some(m) = c.current.get("min.insync.replicas") {
            kv.insert("min.insync.replicas", m.kafka_text());
        }
        if let Some(d) = c.topics.get(&t.topic) {
            for (k, e) in d.sorted() {
                if k != "replication.factor" {
                    kv.insert(k.as_str(), e.value.kafka_text());
                }
            }
        }
        if kv.is_empty() {
            continue;
        }
        let props = builtin::Properties {
            header: vec![
                format!(
                    "Job {}, sink `{}`: settings of topic {} on cluster {}.",
                    job.name, t.name, t.topic, c.name
                ),
                format!(
                    "kafka-configs.sh --bootstrap-server … --entity-type topics --entity-name {} --alter --add-config-file topic-{}.properties",
                    t.topic, t.name
                ),
            ],
            entries: kv
                .into_iter()
                .map(|(key, value)| Kv::new(key, value))
                .collect(),
        };
        files.push(File {
            path: format!("{dir}/kafka/topic-{}.properties", t.name),
            contents: render(templates, &props)?,
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

/// Strimzi's API version for its release.
fn strimzi_api_version(version: &str) -> &'static str {
    if crate::resolve::context::version_lt(version, "1.0.0") {
        "kafka.strimzi.io/v1beta2"
    } else {
        "kafka.strimzi.io/v1"
    }
}

/// KafkaTopic resources for the job's sink topics and a KafkaUser with the job's ACLs, for a
/// Strimzi-run cluster: the prefixed TransactionalId grant matches the generated prefix.
fn strimzi_resources(
    job: &JobPlan,
    c: &ClusterPlan,
    templates: &Templates,
    dir: &str,
    files: &mut Vec<File>,
) -> Result<(), Diagnostic> {
    let api_version = strimzi_api_version(c.fact_str("deployment-version").unwrap_or(""));
    let brokers = c.fact_i64("brokers").unwrap_or(1);
    let rf = crate::resolve::cluster::effective_number(c, "default.replication.factor")
        .unwrap_or(1)
        .clamp(1, brokers.max(1));
    let min_isr = c.current.get("min.insync.replicas").map(Value::kafka_text);
    let topics: Vec<builtin::TopicView> = job
        .sinks
        .iter()
        .map(|t| builtin::TopicView {
            name: k8s_name(&t.topic),
            topic: &t.topic,
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
        let resources = builtin::KafkaTopics {
            api_version,
            cluster: &c.name,
            job: &job.name,
            topics,
        };
        files.push(File {
            path: format!("{dir}/kafka/strimzi-kafkatopics.yaml"),
            contents: render(templates, &resources)?,
        });
    }
    let mut acls = vec![];
    let group = job
        .get(DocKind::Consumer, "group.id")
        .map(|e| e.value.kafka_text());
    for t in &job.sources {
        acls.push(builtin::Acl {
            kind: "topic",
            name: Some(Cow::Borrowed(t.topic.as_str())),
            pattern: "literal",
            operations: &["Describe", "Read"],
        });
    }
    if let Some(g) = group {
        acls.push(builtin::Acl {
            kind: "group",
            name: Some(Cow::Owned(g)),
            pattern: "literal",
            operations: &["Read"],
        });
    }
    let sink_doc = job.doc(DocKind::Sink);
    for t in &job.sinks {
        let pooling = sink_doc
            .and_then(|d| d.get(&format!("{}.transaction-naming-strategy", t.name)))
            .and_then(Value::as_str)
            == Some("POOLING");
        acls.push(builtin::Acl {
            kind: "topic",
            name: Some(Cow::Borrowed(t.topic.as_str())),
            pattern: "literal",
            // POOLING reads the sink topics to find lingering transactions.
            operations: if pooling {
                &["Describe", "Read", "Write"]
            } else {
                &["Describe", "Write"]
            },
        });
        if let Some(prefix) = sink_doc
            .and_then(|d| d.get(&format!("{}.transactional-id-prefix", t.name)))
            .and_then(Value::as_str)
        {
            acls.push(builtin::Acl {
                kind: "transactionalId",
                name: Some(Cow::Borrowed(prefix)),
                pattern: "prefix",
                operations: &["Describe", "Write"],
            });
        }
    }
    if !job.sinks.is_empty() {
        acls.push(builtin::Acl {
            kind: "cluster",
            name: None,
            pattern: "literal",
            operations: &["IdempotentWrite"],
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
            secrets.first().unwrap_or(&job.name)
        }
        _ => &job.name,
    };
    let kafka_user = builtin::KafkaUser {
        api_version,
        cluster: &c.name,
        job: &job.name,
        user,
        authentication,
        acls,
    };
    files.push(File {
        path: format!("{dir}/kafka/strimzi-kafkauser.yaml"),
        contents: render(templates, &kafka_user)?,
    });
    Ok(())
}

fn sql_tables(job: &JobPlan) -> Vec<builtin::SqlTable<'_>> {
    let props = |kind: DocKind| -> Vec<Kv> {
        job.doc(kind)
            .map(|d| {
                d.sorted()
                    .into_iter()
                    .map(|(k, e)| Kv::new(format!("properties.{k}"), e.value.kafka_text()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = vec![];
    for t in &job.sources {
        let mut options = vec![
            Kv::new("connector", "kafka".into()),
            Kv::new("topic", t.topic.clone()),
            Kv::new("scan.startup.mode", "group-offsets".into()),
        ];
        options.extend(t.format.clone().map(|f| Kv::new("format", f)));
        options.extend(props(DocKind::Consumer));
        options.push(Kv::new("properties.auto.offset.reset", "earliest".into()));
        options.sort_by(|a, b| a.key.cmp(&b.key));
        out.push(builtin::SqlTable {
            kind: "source",
            name: &t.name,
            topic: &t.topic,
            options,
            missing_format: t.format.is_none(),
        });
    }
    for t in &job.sinks {
        let mut options = vec![
            Kv::new("connector", "kafka".into()),
            Kv::new("topic", t.topic.clone()),
        ];
        options.extend(t.format.clone().map(|f| Kv::new("format", f)));
        if let Some(d) = job.doc(DocKind::Sink) {
            let prefix = format!("{}.", t.name);
            for (k, e) in d.sorted() {
                if let Some(opt) = k.strip_prefix(&prefix)
                    && opt != "topic"
                {
                    options.push(Kv::new(format!("sink.{opt}"), e.value.kafka_text()));
                }
            }
        }
        options.extend(props(DocKind::Producer));
        options.sort_by(|a, b| a.key.cmp(&b.key));
        out.push(builtin::SqlTable {
            kind: "sink",
            name: &t.name,
            topic: &t.topic,
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

fn render_cluster(c: &ClusterPlan, templates: &Templates) -> Result<Unit, Diagnostic> {
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
                key: Cow::Borrowed(k.as_str()),
                value: v.clone(),
                note: note(c, k, *p),
            })
            .collect()
    };
    let version = c.fact_str("kafka-version").unwrap_or("?");
    let server = builtin::Properties {
        header: vec![
            format!("Cluster {}: static broker settings (Kafka {version}) to merge into every broker's server.properties.", c.name),
            "Changing a read-only key needs a rolling restart. Node identity and quorum keys are never written here.".to_string(),
        ],
        entries: kv(&|m| m != "cluster-wide"),
    };
    files.push(File {
        path: format!("{dir}/server.properties"),
        contents: render(templates, &server)?,
    });
    let dynamic = builtin::Properties {
        header: vec![
            format!("Cluster {}: cluster-wide dynamic broker settings (Kafka {version}), applied without a restart:", c.name),
            "kafka-configs.sh --bootstrap-server … --entity-type brokers --entity-default --alter --add-config-file dynamic-cluster.properties".to_string(),
        ],
        entries: kv(&|m| m == "cluster-wide"),
    };
    files.push(File {
        path: format!("{dir}/dynamic-cluster.properties"),
        contents: render(templates, &dynamic)?,
    });
    let dv = c.fact_str("deployment-version").unwrap_or("");
    match deployment {
        "strimzi" => {
            // Strimzi drops the keys it manages itself (finding FG115): leave them out.
            let kafka = builtin::StrimziKafka {
                cluster: &c.name,
                version: dv,
                api_version: strimzi_api_version(dv),
                entries: kv(&|_| true)
                    .into_iter()
                    .filter(|e| !crate::check::strimzi_forbids(&e.key))
                    .collect(),
                proposed: !c.proposed.entries.is_empty(),
            };
            files.push(File {
                path: format!("{dir}/strimzi-kafka.yaml"),
                contents: render(templates, &kafka)?,
            });
        }
        "bitnami" if dv.starts_with("31.") => {
            let mut properties = String::new();
            for e in kv(&|_| true) {
                escape::push_properties(&mut properties, &e.key, true);
                properties.push('=');
                escape::push_properties(&mut properties, &e.value, false);
                properties.push('\n');
            }
            let values = builtin::BitnamiExtraConfig {
                cluster: &c.name,
                version: dv,
                properties,
            };
            files.push(File {
                path: format!("{dir}/bitnami-values.yaml"),
                contents: render(templates, &values)?,
            });
        }
        "bitnami" => {
            let values = builtin::BitnamiOverride {
                cluster: &c.name,
                version: dv,
                entries: kv(&|_| true),
            };
            files.push(File {
                path: format!("{dir}/bitnami-values.yaml"),
                contents: render(templates, &values)?,
            });
        }
        _ => {}
    }
    Ok(Unit { dir, files })
}

/// The pod volume of Secret `secret`: `secret-<name>` — a volume name is a DNS-1123 label (at
/// most 63 characters, no dots) while a Secret name may be a 253-character subdomain, so other
/// names get their dots replaced, are shortened, and carry a hash of the whole name (two
/// Secrets never share a volume).
fn secret_volume_name(secret: &str) -> String {
    const MAX: usize = 63;
    let plain = format!("secret-{secret}");
    if plain.len() <= MAX && !plain.contains('.') {
        return plain;
    }
    let hash = crate::emit::sha256_hex(secret.as_bytes());
    let label: String = secret.replace('.', "-").chars().take(MAX - 7 - 9).collect();
    format!("secret-{}-{}", label.trim_end_matches('-'), &hash[..8])
}

#[cfg(test)]
mod tests {
    use super::secret_volume_name;

    fn is_dns_label(s: &str) -> bool {
        s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    }

    #[test]
    fn every_secret_name_gets_its_own_valid_volume_name() {
        assert_eq!(secret_volume_name("kafka-user"), "secret-kafka-user");
        let long = format!("{}.x", "a".repeat(250));
        let names = [
            "kafka-user",
            "kafka.user",
            "kafka-user.x",
            &long,
            &long[2..],
        ];
        let volumes: Vec<String> = names.iter().map(|n| secret_volume_name(n)).collect();
        for (n, v) in names.iter().zip(&volumes) {
            assert!(is_dns_label(v), "{n} → {v}");
        }
        let mut unique = volumes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), volumes.len(), "{volumes:?}");
    }
}
