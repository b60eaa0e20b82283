//! resolve → check → render → emit, one group at a time: `flinkgen build` of a fleet.
//!
//! A group is one Kafka cluster and the jobs that use it (`resolve::Fleet`): everything a job,
//! its cluster and every check reads. Each group is resolved, checked and rendered, and its units
//! handed to the output (`emit::Writer` stages them, `emit::Diff` compares them) before the next
//! group's plans exist, so a build holds the plans and texts of a few groups, not of the fleet:
//! the profiles, the findings and the manifest entries are all it keeps of the rest.
//!
//! The result is the same as resolving, checking and rendering the whole plan at once (tests/
//! fleet.rs proves it): input errors in the same order, findings in the same order, the same
//! units. The first input error stops rendering and writing (the output is left as it was) but
//! not resolving, so that every input error is reported, as before.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::check;
use crate::diag::Diagnostic;
use crate::emit::{self, EmitError};
use crate::plan::PackUse;
use crate::policy::PackSet;
use crate::render::{self, Unit};
use crate::resolve::{ErrorAt, Fleet, Group};

/// Where the units go, rendered with which templates.
pub enum Output<'w> {
    /// `build`: stage each unit that changed.
    Write(&'w emit::Writer<'w>, &'w render::Templates),
    /// `build --check`: compare each unit with the output directory.
    Check(&'w emit::Diff, &'w render::Templates),
    /// Nothing: findings only (`flinkgen check`); units are not rendered.
    Discard,
}

impl Output<'_> {
    fn templates(&self) -> Option<&render::Templates> {
        match self {
            Output::Write(_, env) | Output::Check(_, env) => Some(env),
            Output::Discard => None,
        }
    }

    fn add(&self, key: usize, u: &Unit) -> Result<(), EmitError> {
        match self {
            Output::Write(w, _) => w.add(key, u),
            Output::Check(d, _) => {
                d.add(key, u);
                Ok(())
            }
            Output::Discard => Ok(()),
        }
    }
}

/// What a streamed build found.
#[derive(Default)]
pub struct Streamed {
    /// Input errors (resolve, then render): nothing was written.
    pub errors: Vec<Diagnostic>,
    /// The first write failure (or the signal) that stopped the build.
    pub emit_error: Option<EmitError>,
    /// Findings of every group, in the order `check::check` gives a whole plan.
    pub findings: Vec<Diagnostic>,
    /// The packs the build used, by name.
    pub packs: Vec<PackUse>,
    pub jobs: usize,
    pub clusters: usize,
}

#[derive(Default)]
struct GroupResult {
    resolve_errors: Vec<(ErrorAt, Diagnostic)>,
    render_errors: Vec<(usize, Diagnostic)>,
    emit_error: Option<EmitError>,
    findings: Vec<Diagnostic>,
    packs: BTreeMap<String, PackUse>,
    jobs: usize,
    clusters: usize,
}

/// Run every group of `fleet` into `output`. With `parallel`, groups (and the units within one)
/// go to every core; without it, one after another in a fixed order, so that a test seam numbers
/// the write steps the same way in every run.
pub fn run(
    fleet: &Fleet<'_>,
    groups: Vec<Group>,
    packs: &PackSet,
    output: &Output<'_>,
    interrupted: &(dyn Fn() -> bool + Sync),
    parallel: bool,
) -> Streamed {
    // An input error anywhere: no more units are rendered or written (resolving goes on, to
    // report every input error). A write failure or a signal: nothing more is done at all.
    let failed = AtomicBool::new(!fleet.errors.is_empty());
    let stopped = AtomicBool::new(false);
    let group = |g: Group| -> GroupResult {
        let mut out = GroupResult::default();
        if stopped.load(Ordering::Relaxed) || interrupted() {
            stopped.store(true, Ordering::Relaxed);
            return out;
        }
        let mut r = fleet.resolve_group(g);
        if !r.errors.is_empty() {
            failed.store(true, Ordering::Relaxed);
            out.resolve_errors = r.errors;
            return out;
        }
        if failed.load(Ordering::Relaxed) {
            return out;
        }
        out.findings = check::check(&r.plan, packs);
        out.packs = std::mem::take(&mut r.packs);
        out.jobs = r.plan.jobs.len();
        out.clusters = r.plan.clusters.len();
        let Some(env) = output.templates() else {
            return out;
        };
        // Unit keys give the whole plan's order: jobs by input index, then clusters.
        let keys: Vec<usize> = r
            .jobs
            .iter()
            .copied()
            .chain(std::iter::once(fleet.jobs() + r.cluster))
            .collect();
        let mut units = vec![];
        for (key, u) in keys.into_iter().zip(render::render_units(&r.plan, env)) {
            match u {
                Ok(u) => units.push((key, u)),
                Err(d) => out.render_errors.push((key, d)),
            }
        }
        // The group's plans are done with: only its texts live on, until they are staged.
        drop(r);
        if !out.render_errors.is_empty() {
            failed.store(true, Ordering::Relaxed);
            return out;
        }
        let added = if parallel {
            use rayon::prelude::*;
            units
                .par_iter()
                .try_for_each(|(key, u)| output.add(*key, u))
        } else {
            units.iter().try_for_each(|(key, u)| output.add(*key, u))
        };
        if let Err(e) = added {
            stopped.store(true, Ordering::Relaxed);
            out.emit_error = Some(e);
        }
        out
    };
    let results: Vec<GroupResult> = if parallel {
        use rayon::prelude::*;
        groups.into_par_iter().map(group).collect()
    } else {
        groups.into_iter().map(group).collect()
    };

    let mut s = Streamed::default();
    let mut resolve_errors = fleet.errors.clone();
    let mut render_errors = vec![];
    let mut packs_used: BTreeMap<String, PackUse> = BTreeMap::new();
    for r in results {
        resolve_errors.extend(r.resolve_errors);
        render_errors.extend(r.render_errors);
        if s.emit_error.is_none() {
            s.emit_error = r.emit_error;
        }
        s.findings.extend(r.findings);
        packs_used.extend(r.packs);
        s.jobs += r.jobs;
        s.clusters += r.clusters;
    }
    if stopped.load(Ordering::Relaxed) && s.emit_error.is_none() {
        s.emit_error = Some(emit::interrupted_err());
    }
    // Resolve errors first (a whole-plan build never renders when one exists), in input order.
    if !resolve_errors.is_empty() {
        resolve_errors.sort_by_key(|(at, _)| *at);
        s.errors = resolve_errors.into_iter().map(|(_, d)| d).collect();
    } else {
        render_errors.sort_by_key(|(key, _)| *key);
        s.errors = render_errors.into_iter().map(|(_, d)| d).collect();
    }
    check::sort_findings(&mut s.findings);
    s.packs = packs_used.into_values().collect();
    s
}
