//! check: Plan → findings. Checks read only the Plan (documents, facts and their origins), never
//! a profile: that is what lets the same catalog run on configs flinkgen did not write.
//!
//! Every check is a `CheckDef` with a stable code, a name, a severity and docs (what it catches,
//! why it matters, how to fix it), and lives in the file of its family.
//!
//! `build` and `check` run the catalog on one group at a time — a Kafka cluster and its jobs
//! (`resolve::Fleet`, `stream`) — so a check may compare jobs only within one cluster (as the
//! transactional-id prefix and mixed-guarantee checks do); `tests/stream.rs` compares the
//! findings with those of the whole plan.

mod assertions;
mod flink;
mod kafka;
mod memory;

use crate::diag::{Diagnostic, Label, Severity, Span};
use crate::plan::{ClusterPlan, JobPlan, Origin, Plan};
use crate::policy::PackSet;

pub use assertions::run as run_assertions;
pub use kafka::strimzi_forbids;

/// One entry of the rule catalog.
pub struct CheckDef {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// One line: what it catches.
    pub summary: &'static str,
    /// Why it matters and how to fix it.
    pub why: &'static str,
    pub fix: &'static str,
    pub run: fn(&Checked<'_>, &mut Findings),
}

/// What the checks read: the plan (through `Deref`), and what several checks would otherwise
/// each derive again for every job — Flink's memory derivation, which five checks read.
pub struct Checked<'p> {
    pub plan: &'p Plan,
    memory: Vec<memory::JobMemory>,
}

impl<'p> Checked<'p> {
    pub fn new(plan: &'p Plan) -> Checked<'p> {
        use rayon::prelude::*;
        Checked {
            plan,
            memory: plan
                .jobs
                .par_iter()
                .map(memory::JobMemory::derive)
                .collect(),
        }
    }
}

impl std::ops::Deref for Checked<'_> {
    type Target = Plan;
    fn deref(&self) -> &Plan {
        self.plan
    }
}

/// Findings collected by one run, each tagged with the check that raised it.
#[derive(Default)]
pub struct Findings {
    pub items: Vec<Diagnostic>,
    current: Option<(&'static str, Severity)>,
}

impl Findings {
    /// Start a finding of the running check.
    pub fn add(&mut self, message: impl Into<String>) -> &mut Diagnostic {
        let (code, severity) = self.current.unwrap_or(("FG000", Severity::Error));
        self.items.push(Diagnostic {
            severity,
            code: Some(code.into()),
            message: message.into(),
            labels: vec![],
            help: None,
        });
        let last = self.items.len() - 1;
        &mut self.items[last]
    }
}

/// Add labels for every span behind an origin.
pub fn label_origin(d: &mut Diagnostic, origin: &Origin, text: &str) {
    for span in origin.spans() {
        push_label(d, span, text);
    }
}

pub fn push_label(d: &mut Diagnostic, span: Span, text: &str) {
    if !d.labels.iter().any(|l| l.span == span) {
        d.labels.push(Label {
            span,
            text: text.to_string(),
        });
    }
}

/// A label on the job as a whole when no value span says more.
pub fn label_job(d: &mut Diagnostic, job: &JobPlan) {
    if d.labels.is_empty()
        && let Some(h) = job.head
    {
        push_label(d, h, &format!("job `{}`", job.name));
    }
}

pub fn label_cluster(d: &mut Diagnostic, c: &ClusterPlan) {
    if d.labels.is_empty()
        && let Some(h) = c.head
    {
        push_label(d, h, &format!("cluster `{}`", c.name));
    }
}

pub fn catalog() -> Vec<&'static CheckDef> {
    let mut v: Vec<&'static CheckDef> = kafka::CHECKS
        .iter()
        .chain(memory::CHECKS.iter())
        .chain(flink::CHECKS.iter())
        .collect();
    v.sort_by_key(|c| c.code);
    v
}

/// Run the whole catalog and the packs' assertions; findings in a stable order.
pub fn check(plan: &Plan, packs: &PackSet) -> Vec<Diagnostic> {
    use rayon::prelude::*;
    // Checks are independent readers of the plan: they run in parallel, and their findings are
    // sorted below, so the result does not depend on the thread count.
    let checked = Checked::new(plan);
    let per_check: Vec<Vec<Diagnostic>> = catalog()
        .par_iter()
        .map(|def| {
            let mut f = Findings {
                items: vec![],
                current: Some((def.code, def.severity)),
            };
            (def.run)(&checked, &mut f);
            for d in f.items.iter_mut().filter(|d| d.help.is_none()) {
                d.help = Some(def.fix.to_string());
            }
            f.items
        })
        .collect();
    let mut items: Vec<Diagnostic> = per_check.into_iter().flatten().collect();
    items.extend(run_assertions(plan, packs));
    sort_findings(&mut items);
    items
}

/// The stable order of findings (errors first, then by code, place and message), without
/// repeats. Findings of several plans (a fleet's groups) merge into the one order.
pub fn sort_findings(items: &mut Vec<Diagnostic>) {
    items.sort_by(|a, b| {
        (
            b.severity,
            &a.code,
            a.labels.first().map(|l| l.span),
            &a.message,
        )
            .cmp(&(
                a.severity,
                &b.code,
                b.labels.first().map(|l| l.span),
                &b.message,
            ))
    });
    items.dedup();
}
