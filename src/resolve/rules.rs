//! Practice and organisation pack rules: conditional `set`s, applied layer by layer.

use std::collections::BTreeMap;

use serde_json::{Map, json};

use super::context::JobCtx;
use crate::diag::{Diagnostic, Span};
use crate::plan::{DocKind, JobPlan, Origin, Value};
use crate::policy::expr;
use crate::policy::pack::{SetAction, SetValue};
use crate::profile::Scalar;

/// The expression context of a job: `job` facts (names with `_`), `cluster` facts, one map per document.
pub fn context(plan: &JobPlan, cluster_facts: &serde_json::Value) -> serde_json::Value {
    let mut job = Map::new();
    for (k, f) in &plan.facts {
        job.insert(k.replace('-', "_"), f.value.to_json());
    }
    job.insert("name".into(), json!(plan.name));
    let mut ctx = Map::new();
    ctx.insert("job".into(), serde_json::Value::Object(job));
    ctx.insert("cluster".into(), cluster_facts.clone());
    for kind in DocKind::ALL {
        let m: Map<String, serde_json::Value> = plan
            .doc(kind)
            .map(|d| {
                d.entries
                    .iter()
                    .map(|(k, e)| (k.clone(), e.value.to_json()))
                    .collect()
            })
            .unwrap_or_default();
        ctx.insert(kind.name().into(), serde_json::Value::Object(m));
    }
    serde_json::Value::Object(ctx)
}

fn typed(v: serde_json::Value, ty: Option<&str>) -> Result<Value, String> {
    use serde_json::Value as J;
    Ok(match (ty, v) {
        (Some("duration"), J::Number(n)) => Value::Millis(
            n.as_u64()
                .ok_or("a duration must be a whole, non-negative number of ms")?,
        ),
        (Some("duration"), J::String(s)) => Value::Millis(crate::units::parse_duration_ms(&s)?),
        (Some("bytes"), J::Number(n)) => Value::Bytes(
            n.as_u64()
                .ok_or("a size must be a whole, non-negative number of bytes")?,
        ),
        (Some("bytes"), J::String(s)) => Value::Bytes(crate::units::parse_size(&s)?),
        (Some("string"), v) => Value::Str(v.as_str().map_or_else(|| v.to_string(), str::to_string)),
        (_, J::Bool(b)) => Value::Bool(b),
        (_, J::Number(n)) if n.is_i64() => Value::Int(n.as_i64().unwrap_or(0)),
        (_, J::Number(n)) => Value::Float(n.as_f64().unwrap_or(0.0)),
        (_, J::String(s)) => Value::Str(s),
        (_, other) => {
            return Err(format!(
                "a rule must set a string, number or boolean, not {other}"
            ));
        }
    })
}

fn literal(s: &Scalar) -> serde_json::Value {
    match s {
        Scalar::Bool(b) => json!(b),
        Scalar::Int(i) => json!(i),
        Scalar::Float(f) => json!(f),
        Scalar::Str(s) => json!(s),
    }
}

/// Apply the `set`s of every practice, then organisation pack that applies, only to `docs`.
pub fn apply(
    cx: &JobCtx<'_>,
    plan: &mut JobPlan,
    cluster_facts: &serde_json::Value,
    docs: &[DocKind],
) -> Result<(), Vec<Diagnostic>> {
    let mut errors = vec![];
    for layer_packs in layered(cx) {
        // (doc, key) → (value, span) set in this layer, to catch same-layer conflicts.
        let mut seen: BTreeMap<(DocKind, String), (Value, Span)> = BTreeMap::new();
        // The context is built once and kept in step with every set, so later rules see earlier
        // sets without rebuilding it per rule; it is converted for the engine only when changed.
        let mut json_ctx = context(plan, cluster_facts);
        let mut engine_ctx: Option<minijinja::Value> = None;
        for pack in layer_packs {
            for rule in &pack.rules {
                let ctx = engine_ctx
                    .get_or_insert_with(|| expr::context(&json_ctx))
                    .clone();
                let mut changed = false;
                if let Some((when, span)) = &rule.when {
                    match expr::truthy_in(when, &ctx) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => {
                            errors.push(
                                Diagnostic::error(format!("rule `{}`: {e}", rule.id))
                                    .with_label(*span, "in this condition"),
                            );
                            continue;
                        }
                    }
                }
                for set in &rule.sets {
                    let Some(kind) = DocKind::parse(&set.doc) else {
                        continue;
                    };
                    if !docs.contains(&kind) {
                        continue;
                    }
                    match evaluate(set, &ctx) {
                        Ok(v) => {
                            let key = resolve_key(cx, &set.key);
                            if let Some((prev, prev_span)) = seen.get(&(kind, key.clone()))
                                && *prev != v
                            {
                                errors.push(
                                        Diagnostic::error(format!(
                                            "two {} rules set `{key}` to different values ({} and {})",
                                            pack.layer.as_str(),
                                            prev.flink_text(),
                                            v.flink_text()
                                        ))
                                        .with_label(*prev_span, "one value here")
                                        .with_label(set.span, "another here")
                                        .with_help("rules of one layer must agree; move one rule to a higher layer or add a condition"),
                                    );
                                continue;
                            }
                            seen.insert((kind, key.clone()), (v.clone(), set.span));
                            if let Some(doc) = json_ctx
                                .get_mut(kind.name())
                                .and_then(|d| d.as_object_mut())
                            {
                                doc.insert(key.clone(), v.to_json());
                                changed = true;
                            }
                            plan.doc_mut(kind).set(
                                key,
                                v,
                                Origin::Rule {
                                    pack: pack.name.clone(),
                                    version: pack.version.clone(),
                                    rule: rule.id.clone(),
                                    span: set.span,
                                },
                            );
                        }
                        Err(e) => errors.push(
                            Diagnostic::error(format!("rule `{}`: {e}", rule.id))
                                .with_label(set.span, "in this set"),
                        ),
                    }
                }
                if changed {
                    engine_ctx = None;
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn evaluate(set: &SetAction, ctx: &minijinja::Value) -> Result<Value, String> {
    let raw = match &set.value {
        SetValue::Literal(s) => literal(s),
        SetValue::Expr(e) => expr::eval_in(e, ctx)?,
    };
    typed(raw, set.ty.as_deref())
}

pub fn resolve_key(cx: &JobCtx<'_>, key: &str) -> String {
    match key.strip_prefix('@') {
        Some(logical) => cx.key(logical),
        None => key.to_string(),
    }
}

fn layered<'a>(cx: &JobCtx<'a>) -> Vec<Vec<&'a crate::policy::Pack>> {
    let packs = cx.packs.policy_packs(&cx.selectors);
    let mut out: Vec<Vec<&crate::policy::Pack>> = vec![];
    for p in packs {
        match out.last_mut() {
            Some(last) if last[0].layer == p.layer => last.push(p),
            _ => out.push(vec![p]),
        }
    }
    out
}
