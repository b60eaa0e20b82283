//! explain: every value's origin chain, for people and for machines.

use serde_json::{Value as J, json};

use crate::diag::{Sources, span_json};
use crate::plan::{Entry, Fact, Origin, Plan, Value};

struct Item<'a> {
    owner: String,
    doc: &'static str,
    key: &'a str,
    value: &'a Value,
    origin: &'a Origin,
    replaced: &'a [(Value, Origin)],
    text: String,
}

fn items<'a>(plan: &'a Plan, keys: &[String]) -> Vec<Item<'a>> {
    let wanted = |k: &str| keys.is_empty() || keys.iter().any(|w| w == k);
    let mut out = vec![];
    let entry = |owner: String, doc: &'static str, key: &'a str, e: &'a Entry, text: String| Item {
        owner,
        doc,
        key,
        value: &e.value,
        origin: &e.origin,
        replaced: &e.replaced,
        text,
    };
    let fact = |owner: String, key: &'a str, f: &'a Fact| Item {
        owner,
        doc: "fact",
        key,
        value: &f.value,
        origin: &f.origin,
        replaced: &[],
        text: f.value.human(),
    };
    for job in &plan.jobs {
        for (kind, doc) in &job.docs {
            for (k, e) in doc.sorted() {
                if wanted(k) {
                    let text = match kind {
                        crate::plan::DocKind::Flink | crate::plan::DocKind::K8s => {
                            e.value.flink_text()
                        }
                        _ => e.value.kafka_text(),
                    };
                    out.push(entry(format!("job {}", job.name), kind.name(), k, e, text));
                }
            }
        }
        for (k, f) in &job.facts {
            if wanted(k) && !keys.is_empty() {
                out.push(fact(format!("job {}", job.name), k, f));
            }
        }
        // Asking for a memory key shows Flink's full derivation beside it.
        if keys.iter().any(|k| k.starts_with("taskmanager.memory."))
            && let Some(f) = job.fact("tm-managed")
        {
            out.push(fact(format!("job {}", job.name), "tm-managed", f));
        }
    }
    for c in &plan.clusters {
        for (label, doc) in [("broker", &c.current), ("broker-proposed", &c.proposed)] {
            for (k, e) in doc.sorted() {
                if wanted(k) {
                    out.push(entry(
                        format!("cluster {}", c.name),
                        label,
                        k,
                        e,
                        e.value.kafka_text(),
                    ));
                }
            }
        }
    }
    out
}

fn origin_lines(o: &Origin, sources: &Sources, indent: &str) -> Vec<String> {
    let mut v = vec![];
    match o {
        Origin::Profile { field, span } => v.push(format!(
            "{indent}from the profile ({field}) at {}",
            sources.location(*span)
        )),
        Origin::Rule {
            pack,
            version,
            rule,
            span,
        } => v.push(format!(
            "{indent}from rule `{rule}` of pack {pack}@{version} at {}",
            sources.location(*span)
        )),
        Origin::ProductDefault {
            pack,
            version,
            span,
        } => v.push(format!(
            "{indent}product fact of {pack}@{version} at {}",
            sources.location(*span)
        )),
        Origin::File { span } => v.push(format!("{indent}from {}", sources.location(*span))),
        Origin::Model {
            model,
            steps,
            inputs,
        } => {
            v.push(format!("{indent}computed by model `{model}`:"));
            for s in steps.iter() {
                v.push(format!("{indent}  - {s}"));
            }
            for i in inputs.iter() {
                let at = i
                    .span
                    .map(|s| format!(" (at {})", sources.location(s)))
                    .unwrap_or_default();
                v.push(format!("{indent}  input {} = {}{at}", i.name, i.value));
            }
        }
    }
    v
}

pub fn human(plan: &Plan, keys: &[String], sources: &Sources) -> String {
    let mut out = String::new();
    let mut last_owner = String::new();
    for it in items(plan, keys) {
        if it.owner != last_owner {
            out.push_str(&format!("{}\n", it.owner));
            last_owner.clone_from(&it.owner);
        }
        out.push_str(&format!("  [{}] {} = {}\n", it.doc, it.key, it.text));
        for l in origin_lines(it.origin, sources, "    ") {
            out.push_str(&l);
            out.push('\n');
        }
        for (v, o) in it.replaced.iter().rev() {
            out.push_str(&format!("    replaced {}:\n", v.human()));
            for l in origin_lines(o, sources, "      ") {
                out.push_str(&l);
                out.push('\n');
            }
        }
    }
    if out.is_empty() {
        out.push_str("no value matches; keys are spelled as in the generated files (e.g. taskmanager.memory.process.size, transaction.timeout.ms)\n");
    }
    out
}

fn origin_json(o: &Origin, sources: &Sources) -> J {
    match o {
        Origin::Profile { field, span } => {
            json!({"kind": "profile", "field": field, "span": span_json(*span, sources)})
        }
        Origin::Rule {
            pack,
            version,
            rule,
            span,
        } => {
            json!({"kind": "rule", "pack": pack, "version": version, "rule": rule, "span": span_json(*span, sources)})
        }
        Origin::ProductDefault {
            pack,
            version,
            span,
        } => {
            json!({"kind": "product-default", "pack": pack, "version": version, "span": span_json(*span, sources)})
        }
        Origin::File { span } => json!({"kind": "file", "span": span_json(*span, sources)}),
        Origin::Model {
            model,
            steps,
            inputs,
        } => json!({
            "kind": "model",
            "model": model,
            "steps": steps,
            "inputs": inputs.iter().map(|i| json!({
                "name": i.name,
                "value": i.value,
                "span": i.span.map(|s| span_json(s, sources)),
            })).collect::<Vec<_>>(),
        }),
    }
}

pub fn json(plan: &Plan, keys: &[String], sources: &Sources) -> J {
    J::Array(
        items(plan, keys)
            .into_iter()
            .map(|it| {
                json!({
                    "owner": it.owner,
                    "document": it.doc,
                    "key": it.key,
                    "value": it.text,
                    "typed": it.value,
                    "origin": origin_json(it.origin, sources),
                    "replaced": it.replaced.iter().map(|(v, o)| json!({"value": v, "origin": origin_json(o, sources)})).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}
