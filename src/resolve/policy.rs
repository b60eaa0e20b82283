//! Policy parameters (practice and organisation packs) and the policy thresholds that travel in a
//! Plan as facts, so that checks read them from there. Shared by `resolve` (profiles) and `lint`
//! (existing files): both judge by the same policy.

use crate::plan::{Input, Origin, Value};
use crate::policy::Pack;
use crate::profile::Scalar;

/// The policy parameters that apply to one job or cluster.
pub struct Params<'a> {
    /// The practice and organisation packs that apply, lowest layer first
    /// (`PackSet::policy_packs`, chosen once: a job reads dozens of parameters).
    pub policy: &'a [&'a Pack],
}

impl Params<'_> {
    /// A parameter and the model input that records where it came from: the organisation's
    /// value over the practice pack's.
    pub fn get(&self, name: &str) -> Option<(Scalar, Input)> {
        let (v, pack, span) = self
            .policy
            .iter()
            .rev()
            .find_map(|p| p.params.get(name).map(|(v, s)| (v, *p, *s)))?;
        Some((
            v.clone(),
            Input {
                // `name (pack@version)`, built without `format!`: tens of lookups per job.
                name: [name, " (", &pack.name, "@", &pack.version, ")"].concat(),
                value: v.to_text(),
                span: Some(span),
            },
        ))
    }
    pub fn f64(&self, name: &str, default: f64) -> (f64, Option<Input>) {
        match self.get(name) {
            Some((Scalar::Int(i), inp)) => (i as f64, Some(inp)),
            Some((Scalar::Float(f), inp)) => (f, Some(inp)),
            Some((Scalar::Str(s), inp)) => (s.parse().unwrap_or(default), Some(inp)),
            _ => (default, None),
        }
    }
    pub fn size(&self, name: &str, default: u64) -> (u64, Option<Input>) {
        match self.get(name) {
            Some((Scalar::Str(s), inp)) => {
                (crate::units::parse_size(&s).unwrap_or(default), Some(inp))
            }
            _ => (default, None),
        }
    }
    pub fn ms(&self, name: &str, default: u64) -> (u64, Option<Input>) {
        match self.get(name) {
            Some((Scalar::Str(s), inp)) => (
                crate::units::parse_duration_ms(&s).unwrap_or(default),
                Some(inp),
            ),
            _ => (default, None),
        }
    }
}

enum Kind {
    Size(u64),
    Ms(u64),
    Ratio(f64),
}

/// (fact, parameter, kind with the built-in default).
const THRESHOLDS: [(&str, &str, Kind); 8] = [
    (
        "policy-min-task-heap-per-slot",
        "memory.min-task-heap-per-slot",
        Kind::Size(256 << 20),
    ),
    (
        "policy-min-managed-per-slot",
        "memory.min-managed-per-slot.rocksdb",
        Kind::Size(256 << 20),
    ),
    (
        "policy-rocksdb-headroom",
        "memory.rocksdb-headroom",
        Kind::Ratio(0.1),
    ),
    (
        "policy-local-disk-factor",
        "disk.rocksdb-space-factor",
        Kind::Ratio(2.5),
    ),
    (
        "policy-max-checkpoint-share",
        "checkpoint.max-time-share",
        Kind::Ratio(0.3),
    ),
    (
        "policy-checkpoint-timeout-margin",
        "checkpoint.timeout-margin",
        Kind::Ratio(2.0),
    ),
    (
        "policy-max-lingering-transaction",
        "kafka.max-lingering-transaction",
        Kind::Ms(7_200_000),
    ),
    (
        "policy-max-transactional-id-memory",
        "kafka.max-transactional-id-memory",
        Kind::Size(512 << 20),
    ),
];

/// Every policy threshold the checks read, as (fact, value, origin).
pub fn threshold_facts(params: &Params<'_>) -> Vec<(&'static str, Value, Origin)> {
    THRESHOLDS
        .iter()
        .map(|(fact, param, kind)| {
            let (value, input) = match kind {
                Kind::Size(d) => {
                    let (v, i) = params.size(param, *d);
                    (Value::Bytes(v), i)
                }
                Kind::Ms(d) => {
                    let (v, i) = params.ms(param, *d);
                    (Value::Millis(v), i)
                }
                Kind::Ratio(d) => {
                    let (v, i) = params.f64(param, *d);
                    (Value::Float(v), i)
                }
            };
            let origin = Origin::Model {
                model: "policy".into(),
                steps: vec![(*param).into()].into(),
                inputs: input.into_iter().collect(),
            };
            (*fact, value, origin)
        })
        .collect()
}
