//! What every model of one job needs: the profile, the product packs that apply, and policy
//! parameters with their origins.

use std::collections::BTreeMap;

use crate::diag::Span;
use crate::plan::{Input, Origin};
use crate::policy::{Pack, PackSet};
use crate::profile::{ClusterProfile, JobProfile, Located, Scalar};
use crate::resolve::policy::Params;

pub struct JobCtx<'a> {
    pub job: &'a Located<JobProfile>,
    pub cluster: &'a Located<ClusterProfile>,
    pub packs: &'a PackSet,
    pub selectors: BTreeMap<&'static str, String>,
    /// The practice and organisation packs that apply to the job, lowest layer first.
    pub policy: Vec<&'a Pack>,
    pub flink: &'a Pack,
    pub connector: Option<&'a Pack>,
    pub operator: Option<&'a Pack>,
    pub kafka: Option<&'a Pack>,
}

impl<'a> JobCtx<'a> {
    pub fn p(&self) -> &'a JobProfile {
        &self.job.value
    }
    /// The span of a profile field (`/state/size`).
    pub fn span(&self, ptr: &str) -> Span {
        self.job.span(ptr)
    }
    pub fn profile_origin(&self, ptr: &str) -> Origin {
        Origin::Profile {
            field: ptr.trim_start_matches('/').replace('/', "."),
            span: self.span(ptr),
        }
    }
    pub fn input(&self, name: &str, value: impl ToString, ptr: &str) -> Input {
        Input {
            name: name.into(),
            value: value.to_string(),
            span: Some(self.span(ptr)),
        }
    }
    pub fn params(&self) -> Params<'_> {
        Params {
            policy: &self.policy,
        }
    }
    /// A policy parameter and the model input that records where it came from.
    pub fn param(&self, name: &str) -> Option<(Scalar, Input)> {
        self.params().get(name)
    }
    pub fn param_f64(&self, name: &str, default: f64) -> (f64, Option<Input>) {
        self.params().f64(name, default)
    }
    pub fn param_size(&self, name: &str, default: u64) -> (u64, Option<Input>) {
        self.params().size(name, default)
    }
    pub fn param_ms(&self, name: &str, default: u64) -> (u64, Option<Input>) {
        self.params().ms(name, default)
    }
    /// The concrete Flink key for a logical name (`@checkpoint-dir` → `execution.checkpointing.dir`).
    pub fn key(&self, logical: &str) -> String {
        self.flink
            .keys
            .get(logical)
            .map_or_else(|| logical.to_string(), |k| k.concrete.clone())
    }
    /// The connector release's property (e.g. `kafka-clients`).
    pub fn connector_release(&self, prop: &str) -> Option<&'a str> {
        let c = self.connector?;
        let v = &self.p().kafka.connector;
        c.releases
            .iter()
            .find(|r| &r.version == v)
            .and_then(|r| r.props.get(prop))
            .map(String::as_str)
    }
    pub fn connector_fact_bool(&self, fact: &str) -> bool {
        self.connector
            .and_then(|c| c.facts.get(fact))
            .is_some_and(|(v, _)| matches!(v, Scalar::Bool(true)))
    }
}

/// `a.b.c` version compare on numeric parts.
pub fn version_lt(a: &str, b: &str) -> bool {
    let parse = |s: &str| {
        s.split('.')
            .map(|p| p.parse::<u64>().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    parse(a) < parse(b)
}
