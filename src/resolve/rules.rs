//! Practice and organisation pack rules: conditional `set`s, applied layer by layer.

use std::collections::BTreeMap;

use serde_json::json;

use super::context::JobCtx;
use crate::diag::{Diagnostic, Span};
use crate::plan::{DocKind, JobPlan, Origin, Value};
use crate::policy::expr;
use crate::policy::pack::{SetAction, SetValue};
use crate::profile::Scalar;

/// The expression context of a job — `job` facts (names with `_`), `cluster` facts, one map per
/// document — built for the engine directly from the plan (no JSON in between: building and
/// converting a JSON context was most of the cost of a job's rules; the test below keeps that
/// JSON form as the reference this must equal). Part by part, so
/// that a set re-builds only its document: `job`, `cluster`, then the documents in
/// `DocKind::ALL` order.
pub struct EngineContext {
    parts: Vec<(&'static str, minijinja::Value)>,
    whole: Option<minijinja::Value>,
}

/// Which parts of the context to build: all of them, or the names some expressions read.
#[derive(Clone, Copy)]
pub enum Parts<'a> {
    All,
    /// Sorted names (`Pack::rule_reads` / `assert_reads` of the packs that will be evaluated).
    Read(&'a [String]),
}

impl Parts<'_> {
    fn wants(&self, name: &str) -> bool {
        match self {
            Parts::All => true,
            Parts::Read(names) => names.binary_search_by(|n| n.as_str().cmp(name)).is_ok(),
        }
    }
}

impl EngineContext {
    /// `cluster` is the cluster's facts as [`expr::context`] converted them.
    pub fn new(plan: &JobPlan, cluster: minijinja::Value) -> EngineContext {
        EngineContext::with(plan, || cluster, Parts::All)
    }

    /// Only the `parts` that will be read: a part no expression names cannot change what one
    /// gives, and converting every document for rules that read only `job` was most of the
    /// cost of a job's rules. `cluster` gives the cluster's facts if they are read.
    pub fn with(
        plan: &JobPlan,
        cluster: impl FnOnce() -> minijinja::Value,
        parts: Parts<'_>,
    ) -> EngineContext {
        let mut built = vec![];
        if parts.wants("job") {
            built.push(("job", job_part(plan)));
        }
        if parts.wants("cluster") {
            built.push(("cluster", cluster()));
        }
        for kind in DocKind::ALL {
            if parts.wants(kind.name()) {
                built.push((kind.name(), document(plan, kind)));
            }
        }
        EngineContext {
            parts: built,
            whole: None,
        }
    }
}

/// `job`: the job's facts, names with `_`, and its name.
fn job_part(plan: &JobPlan) -> minijinja::Value {
    minijinja::Value::from_pairs(
        plan.facts
            .iter()
            .map(|(k, f)| {
                (
                    minijinja::Value::from(k.replace('-', "_")),
                    engine_value(&f.value),
                )
            })
            .chain(std::iter::once((
                minijinja::Value::from("name"),
                minijinja::Value::from(plan.name.as_str()),
            ))),
    )
}

impl EngineContext {
    /// Re-build one document's part after sets to it.
    pub fn refresh(&mut self, plan: &JobPlan, kind: DocKind) {
        if let Some(part) = self.parts.iter_mut().find(|(k, _)| *k == kind.name()) {
            part.1 = document(plan, kind);
            self.whole = None;
        }
    }

    pub fn value(&mut self) -> minijinja::Value {
        self.whole
            .get_or_insert_with(|| {
                minijinja::Value::from_pairs(self.parts.iter().map(|(k, v)| (*k, v.clone())))
            })
            .clone()
    }
}

fn document(plan: &JobPlan, kind: DocKind) -> minijinja::Value {
    match plan.doc(kind) {
        Some(d) => minijinja::Value::from_pairs(
            d.entries
                .iter()
                .map(|(k, e)| (k.as_str(), engine_value(&e.value))),
        ),
        None => minijinja::Value::from_pairs(std::iter::empty::<(&str, minijinja::Value)>()),
    }
}

/// A plan value as the engine would see its JSON (`Value::to_json`): serde_json keeps a
/// non-negative integer as unsigned and a non-finite float as null.
fn engine_value(v: &Value) -> minijinja::Value {
    use minijinja::Value as M;
    match v {
        Value::Str(s) => M::from(s.as_str()),
        Value::Int(i) => match u64::try_from(*i) {
            Ok(u) => M::from(u),
            Err(_) => M::from(*i),
        },
        Value::Bool(b) => M::from(*b),
        Value::Bytes(b) | Value::Millis(b) => M::from(*b),
        Value::Float(f) if f.is_finite() => M::from(*f),
        Value::Float(_) => M::from(()),
        Value::List(l) => M::from(l.iter().map(|s| M::from(s.as_str())).collect::<Vec<M>>()),
    }
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
    cluster: &minijinja::Value,
    docs: &[DocKind],
) -> Result<(), Vec<Diagnostic>> {
    let mut errors = vec![];
    for layer_packs in layered(cx) {
        // (doc, key) → (value, span) set in this layer, to catch same-layer conflicts.
        let mut seen: BTreeMap<(DocKind, String), (Value, Span)> = BTreeMap::new();
        // The context is built once and kept in step with every set, so later rules see earlier
        // sets without rebuilding all of it per rule: a set re-builds only its document.
        let read = union(layer_packs.iter().map(|p| p.rule_reads()));
        let mut engine = EngineContext::with(plan, || cluster.clone(), Parts::Read(&read));
        let mut stale: Vec<DocKind> = vec![];
        for pack in layer_packs {
            for rule in &pack.rules {
                for kind in stale.drain(..) {
                    engine.refresh(plan, kind);
                }
                let ctx = engine.value();
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
                            let origin = Origin::Rule {
                                pack: pack.name.clone(),
                                version: pack.version.clone(),
                                rule: rule.id.clone(),
                                span: set.span,
                            };
                            if let Err(why) = credentials(cx, plan, kind, &key, &v, &origin) {
                                errors.push(
                                    Diagnostic::error(format!(
                                        "rule `{}` sets `{key}`: {why}",
                                        rule.id
                                    ))
                                    .with_label(set.span, "in this set")
                                    .with_help("packs follow the profiles' rule: credentials are config-provider references in Kafka client settings, never literals, and never in Flink's configuration"),
                                );
                                continue;
                            }
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
                            if !stale.contains(&kind) {
                                stale.push(kind);
                            }
                            plan.doc_mut(kind).set(key, v, origin);
                        }
                        Err(e) => errors.push(
                            Diagnostic::error(format!("rule `{}`: {e}", rule.id))
                                .with_label(set.span, "in this set"),
                        ),
                    }
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

/// A pack sets credentials as a profile may (`resolve::overrides`): a credential is a
/// reference, never a literal (not even inside another value); Flink's configuration resolves
/// no references; a Kafka client's reference gets its provider declared (and its Secret
/// mounted). The error never quotes the value.
fn credentials(
    cx: &JobCtx<'_>,
    plan: &mut JobPlan,
    kind: DocKind,
    key: &str,
    v: &Value,
    origin: &Origin,
) -> Result<(), String> {
    use crate::profile::CredentialRefusal;
    let text = v.kafka_text();
    match crate::profile::credential_refusal(kind == DocKind::Flink, key, &text) {
        None => {}
        Some(CredentialRefusal::FlinkReference) => {
            return Err("Flink does not resolve config-provider references: the setting would hold the reference's text, not the credential".into());
        }
        Some(CredentialRefusal::Literal) => {
            return Err(
                "a literal credential (not shown); flinkgen writes credentials only as references"
                    .into(),
            );
        }
        Some(CredentialRefusal::Embedded) => {
            return Err("a literal credential inside the value (not shown); flinkgen writes credentials only as references".into());
        }
    }
    if matches!(kind, DocKind::Producer | DocKind::Consumer) {
        super::overrides::references(cx, plan, kind, &text, origin).map_err(|(_, msg, _)| msg)?;
    }
    Ok(())
}

/// Sorted lists merged into one, sorted and once each.
pub fn union<'a>(lists: impl Iterator<Item = &'a [String]>) -> Vec<String> {
    let mut names: Vec<String> = lists.flatten().cloned().collect();
    names.sort();
    names.dedup();
    names
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
    let packs = cx.policy.iter().copied();
    let mut out: Vec<Vec<&crate::policy::Pack>> = vec![];
    for p in packs {
        match out.last_mut() {
            Some(last) if last[0].layer == p.layer => last.push(p),
            _ => out.push(vec![p]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    /// The expression context of a job: `job` facts (names with `_`), `cluster` facts, one map per document.
    fn context(plan: &JobPlan, cluster_facts: &serde_json::Value) -> serde_json::Value {
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

    /// The examples compiled, and each job's cluster facts as JSON.
    fn examples() -> (crate::app::Compiled, Vec<serde_json::Value>) {
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let opts = crate::app::Options {
            inputs: vec![examples],
            ..Default::default()
        };
        let c = crate::app::compile(&opts).unwrap_or_else(|_| panic!("examples compile"));
        let clusters = c
            .plan
            .jobs
            .iter()
            .map(|job| {
                c.plan
                    .cluster(&job.cluster)
                    .map(crate::resolve::cluster_json)
                    .unwrap_or_default()
            })
            .collect();
        (c, clusters)
    }

    /// A context of only the parts an expression reads gives it the same value as the whole
    /// context: every example job, expressions over job facts, cluster facts and documents, and
    /// names that are not there.
    #[test]
    fn a_context_of_the_parts_read_evaluates_as_the_whole() {
        assert_eq!(
            &*expr::variables("job.x > 1 and flink['a.b'] == cluster.c or producer|length"),
            ["cluster", "flink", "job", "producer"]
        );
        assert!(expr::variables("(((").is_empty());
        let (c, clusters) = examples();
        // The practice pack's rules read the job's facts alone; it has no assertions.
        let practice = c
            .packs
            .packs()
            .find(|p| p.layer == crate::policy::Layer::Practice)
            .unwrap_or_else(|| panic!("a practice pack"));
        assert_eq!(practice.rule_reads(), ["job"]);
        assert!(practice.assert_reads().is_empty());
        let other = ["cluster".to_string(), "job".to_string()];
        assert_eq!(
            union([practice.rule_reads(), &other[..]].into_iter()),
            ["cluster", "job"]
        );
        let exprs = [
            "job.state_size >= 1073741824 and job.delivery == 'exactly-once'",
            "job.name ~ '/' ~ (cluster.kafka_version | default('none'))",
            "flink['execution.checkpointing.interval'] ~ ' ' ~ (producer['acks'] | default('-'))",
            "consumer | length + downstream | length",
            "k8s['metadata.namespace'] if k8s['metadata.namespace'] is defined else job.name",
            "nothing.here",
            "job.nope == 1",
        ];
        let mut compared = 0;
        for (job, cluster) in c.plan.jobs.iter().zip(&clusters) {
            let whole = EngineContext::new(job, expr::context(cluster)).value();
            for e in exprs {
                let read = expr::names_read([e].into_iter());
                let part =
                    EngineContext::with(job, || expr::context(cluster), Parts::Read(&read)).value();
                assert_eq!(
                    expr::eval_in(e, &whole),
                    expr::eval_in(e, &part),
                    "{}: {e}",
                    job.name
                );
                compared += 1;
            }
        }
        assert!(compared >= 30);
    }

    /// The engine's context, built from the plan part by part, is exactly the JSON context
    /// converted: every example job, every key, every value type (unsigned, negative, float,
    /// list). Also after a document is refreshed.
    #[test]
    fn the_engine_context_is_the_json_context_converted() {
        let (c, clusters) = examples();
        assert!(c.plan.jobs.len() >= 5);
        for (job, cluster) in c.plan.jobs.iter().zip(&clusters) {
            let want = expr::context(&context(job, cluster));
            let mut engine = EngineContext::new(job, expr::context(cluster));
            assert_eq!(
                format!("{:?}", engine.value()),
                format!("{want:?}"),
                "{}",
                job.name
            );
            let mut job = job.clone();
            job.doc_mut(DocKind::Flink).set(
                "x.negative",
                Value::Int(-3),
                Origin::File {
                    span: Span::new(0, 0, 0),
                },
            );
            job.doc_mut(DocKind::Flink).set(
                "x.float",
                Value::Float(0.25),
                Origin::File {
                    span: Span::new(0, 0, 0),
                },
            );
            job.doc_mut(DocKind::Flink).set(
                "x.list",
                Value::List(vec!["a".into(), "b".into()]),
                Origin::File {
                    span: Span::new(0, 0, 0),
                },
            );
            engine.refresh(&job, DocKind::Flink);
            let want = expr::context(&context(&job, cluster));
            assert_eq!(
                format!("{:?}", engine.value()),
                format!("{want:?}"),
                "{}",
                job.name
            );
        }
    }
}
