//! Pack assertions (practice and organisation `assert` rules), evaluated on the final Plan.
//! An explicit profile value that breaks an organisation constraint is an error naming both:
//! the value's span and the rule's.

use std::collections::BTreeMap;

use super::{label_origin, push_label};
use crate::diag::Diagnostic;
use crate::plan::{DocKind, JobPlan, Plan};
use crate::policy::{PackSet, expr};
use crate::resolve::cluster_json;
use crate::resolve::rules::{EngineContext, Parts, union};

fn selectors(job: &JobPlan) -> BTreeMap<&'static str, String> {
    let mut s = BTreeMap::new();
    for (sel, fact) in [
        ("flink", "flink-version"),
        ("operator", "operator-version"),
        ("connector", "connector-version"),
        ("kafka", "kafka-version"),
        ("cloud", "cloud"),
    ] {
        if let Some(v) = job.fact_str(fact) {
            s.insert(sel, v.to_string());
        }
    }
    s
}

pub fn run(plan: &Plan, packs: &PackSet) -> Vec<Diagnostic> {
    let mut out = vec![];
    for job in &plan.jobs {
        // Converted for the engine once per job (not per expression), and only for a job that
        // an assertion applies to.
        let mut engine: Option<minijinja::Value> = None;
        let applying = packs.policy_packs(&selectors(job));
        for pack in &applying {
            for rule in &pack.rules {
                let Some(a) = &rule.assert else { continue };
                let ctx = engine.get_or_insert_with(|| {
                    // Only the parts the assertions read (most read `job` alone).
                    let read = union(applying.iter().map(|p| p.assert_reads()));
                    let cluster = || {
                        let facts = plan
                            .cluster(&job.cluster)
                            .map(cluster_json)
                            .unwrap_or_default();
                        expr::context(&facts)
                    };
                    EngineContext::with(job, cluster, Parts::Read(&read)).value()
                });
                if let Some((when, span)) = &rule.when {
                    match expr::truthy_in(when, ctx) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => {
                            out.push(
                                Diagnostic::error(format!("rule `{}`: {e}", rule.id))
                                    .with_label(*span, "in this condition"),
                            );
                            continue;
                        }
                    }
                }
                match expr::truthy_in(&a.expr, ctx) {
                    Ok(true) => {}
                    Ok(false) => {
                        let mut d = Diagnostic {
                            severity: a.severity,
                            code: Some(format!("{}/{}", pack.name, rule.id)),
                            message: format!("job `{}`: {}", job.name, a.message),
                            labels: vec![],
                            help: a.help.clone(),
                        };
                        for (doc, key) in &a.about {
                            let origin = match DocKind::parse(doc) {
                                Some(kind) => job.get(kind, key).map(|e| &e.origin),
                                None => job.fact(key).map(|f| &f.origin),
                            };
                            if let Some(o) = origin {
                                label_origin(&mut d, o, &format!("{key} set here"));
                            }
                        }
                        push_label(
                            &mut d,
                            a.span,
                            &format!("required by {}@{}", pack.name, pack.version),
                        );
                        out.push(d);
                    }
                    Err(e) => out.push(
                        Diagnostic::error(format!("rule `{}`: {e}", rule.id))
                            .with_label(a.span, "in this assertion"),
                    ),
                }
            }
        }
    }
    out
}
