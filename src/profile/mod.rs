//! load: KDL text → typed job and cluster profiles, with a span for every value.
//!
//! Pipeline per file: parse KDL v2 (with a hint when the text is KDL v1) → map each top-level
//! `job` / `cluster` node to JSON guided by the schema → validate against the JSON Schema (the one
//! authority for structure, types and ranges) → deserialise into the typed profile.

pub mod kdl_fast;
pub mod kdl_json;
pub mod types;
pub mod validate;

use std::sync::OnceLock;

use kdl::KdlDocument;
use serde_json::Value;

pub use kdl_json::SpanMap;
use kdl_json::{Converter, SchemaNav};
pub use types::*;

use crate::diag::{Diagnostic, InputErrors, Sources, Span};

/// A profile together with the spans of its values.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub value: T,
    pub file: u32,
    pub spans: SpanMap,
    /// The span of the top-level node's name (`job "orders"` → `job`).
    pub head: Span,
}

impl<T> Located<T> {
    /// The span of the value at `ptr` (e.g. `/state/size`), or of its closest parent.
    pub fn span(&self, ptr: &str) -> Span {
        self.spans.find(ptr).map_or(self.head, |l| l.value)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Profiles {
    pub jobs: Vec<Located<JobProfile>>,
    pub clusters: Vec<Located<ClusterProfile>>,
}

/// Generate a schema; absent optional fields are simply not required, so `null` is never a valid
/// value (KDL's `#null` is rejected like any other wrong type).
fn generate<T: schemars::JsonSchema>() -> Value {
    let mut v = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    strip_nulls(&mut v);
    v
}

pub(crate) fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(types)) = m.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let t = types[0].clone();
                    m.insert("type".into(), t);
                }
            }
            let any_of_null = m.get("anyOf").and_then(Value::as_array).and_then(|alts| {
                let is_null = |a: &Value| a.get("type").and_then(Value::as_str) == Some("null");
                (alts.len() == 2 && alts.iter().any(is_null))
                    .then(|| alts.iter().find(|a| !is_null(a)).cloned())?
            });
            if let Some(Value::Object(inner)) = any_of_null {
                m.remove("anyOf");
                for (k, val) in inner {
                    m.entry(k).or_insert(val);
                }
            }
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The JSON Schema of a job profile (checked in as `schemas/job.schema.json`).
pub fn job_schema() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(generate::<JobProfile>)
}

/// The JSON Schema of a cluster profile (checked in as `schemas/cluster.schema.json`).
pub fn cluster_schema() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(generate::<ClusterProfile>)
}

/// The compiled validator of one profile kind, built on first use: a run that reads only job
/// profiles never compiles the cluster schema (compiling is most of a small build's start-up).
fn validator(kind: &str) -> Result<&'static jsonschema::Validator, InputErrors> {
    type Compiled = OnceLock<Result<jsonschema::Validator, String>>;
    static JOB: Compiled = OnceLock::new();
    static CLUSTER: Compiled = OnceLock::new();
    let (cell, schema) = if kind == "job" {
        (&JOB, job_schema())
    } else {
        (&CLUSTER, cluster_schema())
    };
    cell.get_or_init(|| validate::build_validator(schema))
        .as_ref()
        .map_err(|e| {
            Diagnostic::error(format!(
                "internal error: profile schema does not compile: {e}"
            ))
            .into()
        })
}

/// Parse KDL v2, turning parser diagnostics into ours (deduplicated by span) and adding a hint
/// when the text parses as KDL v1.
pub fn parse_kdl(sources: &Sources, file: u32) -> Result<KdlDocument, InputErrors> {
    let text = &sources.get(file).text;
    // The fast reader covers what profiles and packs are written in; anything else, and every
    // error, goes through the kdl crate.
    if let Some(doc) = kdl_fast::parse(text) {
        return Ok(doc);
    }
    match KdlDocument::parse_v2(text) {
        Ok(doc) => Ok(doc),
        Err(e) => {
            let v1 = KdlDocument::parse_v1(text).is_ok();
            let looks_v1 = |span: miette::SourceSpan| {
                let at = text.get(span.offset()..).unwrap_or("");
                ["true", "false", "null"].iter().any(|w| at.starts_with(w))
            };
            let mut seen = std::collections::HashSet::new();
            let mut out = vec![];
            for d in e.diagnostics {
                if !seen.insert((d.span.offset(), d.span.len())) {
                    continue;
                }
                let msg = d.message.clone().unwrap_or_else(|| "invalid KDL".into());
                let mut diag = Diagnostic::error(format!("KDL syntax error: {msg}")).with_label(
                    Span::from_miette(file, d.span),
                    d.label.clone().unwrap_or_else(|| "here".into()),
                );
                let help = if v1 || looks_v1(d.span) {
                    Some("this file looks like KDL v1; flinkgen reads KDL v2: write booleans and null as #true, #false, #null, and quote strings that are not identifiers".to_string())
                } else {
                    d.help.clone()
                };
                if let Some(h) = help {
                    diag = diag.with_help(h);
                }
                out.push(diag);
            }
            if out.is_empty() {
                out.push(
                    Diagnostic::error("KDL syntax error")
                        .with_label(Span::new(file, 0, 0), "in this file"),
                );
            }
            Err(InputErrors(out))
        }
    }
}

/// Load every `job` and `cluster` node of one file.
pub fn load_file(sources: &Sources, file: u32, into: &mut Profiles) -> Result<(), InputErrors> {
    let doc = parse_kdl(sources, file)?;
    let mut errors = vec![];
    for node in doc.nodes() {
        let kind = node.name().value();
        let head = Span::from_miette(file, node.name().span());
        let (schema, validator) = match kind {
            "job" => (job_schema(), validator("job")?),
            "cluster" => (cluster_schema(), validator("cluster")?),
            other => {
                let mut d = Diagnostic::error(format!("unknown top-level node `{other}`"))
                    .with_label(head, "expected `job` or `cluster`");
                d = match validate::did_you_mean(other, ["job", "cluster"]) {
                    Some(c) => d.with_help(format!("did you mean `{c}`?")),
                    None => d.with_help("a profile file holds `job \"name\" { … }` and `cluster \"name\" { … }` nodes"),
                };
                errors.push(d);
                continue;
            }
        };
        let nav = SchemaNav { root: schema };
        let mut conv = Converter::new(file, nav);
        let json = conv.node(node, Some(schema), "");
        // Report conversion and schema errors together, but only one error per place.
        let mut node_errors = std::mem::take(&mut conv.errors);
        for e in validate::validate(validator, nav, schema, &json, &conv.spans, head, kind) {
            let overlaps = |a: Span, b: Span| {
                a.file == b.file
                    && a.offset < b.offset + b.len.max(1)
                    && b.offset < a.offset + a.len.max(1)
            };
            let dup = node_errors.iter().any(|c| {
                c.labels
                    .iter()
                    .any(|cl| e.labels.iter().any(|el| overlaps(cl.span, el.span)))
            });
            if !dup {
                node_errors.push(e);
            }
        }
        if !node_errors.is_empty() {
            errors.extend(node_errors);
            continue;
        }
        let result = match kind {
            "job" => serde_json::from_value::<JobProfile>(json).map(|value| {
                into.jobs.push(Located {
                    value,
                    file,
                    spans: conv.spans.clone(),
                    head,
                })
            }),
            _ => serde_json::from_value::<ClusterProfile>(json).map(|value| {
                into.clusters.push(Located {
                    value,
                    file,
                    spans: conv.spans.clone(),
                    head,
                })
            }),
        };
        if let Err(e) = result {
            errors.push(
                Diagnostic::error(format!("invalid `{kind}`: {e}"))
                    .with_label(head, "in this node"),
            );
        }
    }
    if doc.nodes().is_empty() {
        errors.push(
            Diagnostic::error("the file holds no `job` or `cluster` node")
                .with_label(Span::new(file, 0, 0), "empty profile")
                .with_help(
                    "start with `job \"name\" { … }` or run `flinkgen schema` to see the language",
                ),
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(InputErrors(errors))
    }
}
