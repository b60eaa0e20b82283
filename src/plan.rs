//! The Plan: typed documents per job and per cluster, every value with its origin.
//!
//! Checks read only the Plan. A Plan can be built by `resolve` from profiles, or by hand (tests,
//! and later `lint`) from existing files whose origins are spans in those files.

use std::collections::BTreeMap;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Serialize;

use crate::diag::Span;
use crate::units;

/// A value as the plan knows it: typed, so each output writes it in its own grammar.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    /// A size in bytes.
    Bytes(u64),
    /// A duration in milliseconds.
    Millis(u64),
    Float(f64),
    /// A list of strings (program arguments).
    List(Vec<String>),
}

impl Value {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bytes(b) | Value::Millis(b) => i64::try_from(*b).ok(),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Str(s) => match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
    /// Flink's text for the value: sizes as `<n>m`/`<n>b`, durations as `<n> s`/`<n> min`.
    pub fn flink_text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Bytes(b) => units::flink_memory(*b),
            Value::Millis(m) => units::flink_duration(*m),
            Value::Float(f) => f.to_string(),
            Value::List(l) => l.join(";"),
        }
    }
    /// Kafka's text: sizes in bytes, durations in milliseconds (Kafka keys say `.ms`/`.bytes`).
    pub fn kafka_text(&self) -> String {
        match self {
            Value::Bytes(b) | Value::Millis(b) => b.to_string(),
            other => other.flink_text(),
        }
    }
    /// A short form for people (`explain`).
    pub fn human(&self) -> String {
        match self {
            Value::Bytes(b) => format!("{} ({b} bytes)", units::human_size(*b)),
            Value::Millis(m) => format!("{} ({m} ms)", units::human_duration(*m)),
            other => other.flink_text(),
        }
    }
    /// The value for pack expressions: numbers stay numbers (bytes, milliseconds).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Str(s) => serde_json::Value::from(s.as_str()),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Bool(b) => serde_json::Value::from(*b),
            Value::Bytes(b) | Value::Millis(b) => serde_json::Value::from(*b),
            Value::Float(f) => serde_json::Value::from(*f),
            Value::List(l) => serde_json::Value::from(l.clone()),
        }
    }
}

/// One input a model used, for `explain`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Input {
    pub name: String,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Origin {
    /// Written in a profile (a field or an `override`).
    Profile { field: String, span: Span },
    /// Set by a pack rule.
    Rule {
        pack: String,
        version: String,
        rule: String,
        span: Span,
    },
    /// A product fact from a product pack.
    ProductDefault {
        pack: String,
        version: String,
        span: Span,
    },
    /// Computed by a native model from inputs, with the steps in words. Steps and inputs are
    /// shared: one derivation sets many keys (the memory budget sets eleven), and a fleet holds
    /// every job's plan.
    Model {
        model: String,
        steps: Arc<[String]>,
        inputs: Arc<[Input]>,
    },
    /// Read from an existing file (lint).
    File { span: Span },
}

impl Origin {
    /// The spans behind this value, for labels.
    pub fn spans(&self) -> Vec<Span> {
        match self {
            Origin::Profile { span, .. }
            | Origin::Rule { span, .. }
            | Origin::ProductDefault { span, .. }
            | Origin::File { span } => vec![*span],
            Origin::Model { inputs, .. } => inputs.iter().filter_map(|i| i.span).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub value: Value,
    pub origin: Origin,
    /// Earlier values this one replaced, lowest layer first (for `explain`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replaced: Vec<(Value, Origin)>,
}

/// An ordered key → value map: one output's settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Document {
    /// In insertion order (the hasher decides nothing about order or output).
    pub entries: IndexMap<String, Entry, foldhash::fast::RandomState>,
}

impl Document {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.get(key).map(|e| &e.value)
    }
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }
    /// Set a value, remembering what it replaces.
    pub fn set(&mut self, key: impl Into<String>, value: Value, origin: Origin) {
        let key = key.into();
        match self.entries.get_mut(&key) {
            Some(e) => {
                let old_v = std::mem::replace(&mut e.value, value);
                let old_o = std::mem::replace(&mut e.origin, origin);
                e.replaced.push((old_v, old_o));
            }
            None => {
                self.entries.insert(
                    key,
                    Entry {
                        value,
                        origin,
                        replaced: vec![],
                    },
                );
            }
        }
    }
    pub fn remove(&mut self, key: &str) -> Option<Entry> {
        self.entries.shift_remove(key)
    }
    /// Entries sorted by key, for deterministic output.
    pub fn sorted(&self) -> Vec<(&String, &Entry)> {
        let mut v: Vec<_> = self.entries.iter().collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }
}

/// The documents of a job or cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocKind {
    /// Flink configuration (flat keys).
    Flink,
    /// FlinkDeployment fields (dotted paths under `spec`).
    K8s,
    /// Producer properties of the sinks.
    Producer,
    /// Consumer properties of the sources.
    Consumer,
    /// Properties for downstream readers of the sink topics.
    Downstream,
    /// KafkaSink builder / SQL sink options that no properties file carries.
    Sink,
    /// Broker settings (cluster documents).
    Broker,
}

impl DocKind {
    pub const ALL: [DocKind; 7] = [
        DocKind::Flink,
        DocKind::K8s,
        DocKind::Producer,
        DocKind::Consumer,
        DocKind::Downstream,
        DocKind::Sink,
        DocKind::Broker,
    ];
    pub fn name(self) -> &'static str {
        match self {
            DocKind::Flink => "flink",
            DocKind::K8s => "k8s",
            DocKind::Producer => "producer",
            DocKind::Consumer => "consumer",
            DocKind::Downstream => "downstream",
            DocKind::Sink => "sink",
            DocKind::Broker => "broker",
        }
    }
    pub fn parse(s: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|d| d.name() == s)
    }
}

/// A fact about a job or cluster that no config key states (delivery, expected downtime, state
/// size, broker count …), with its origin. Checks read facts from the plan's context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    pub value: Value,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub name: String,
    pub topic: String,
    pub partitions: Option<u32>,
    pub format: Option<String>,
}

/// Everything resolved for one job.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobPlan {
    pub name: String,
    pub cluster: String,
    pub docs: BTreeMap<DocKind, Document>,
    pub facts: BTreeMap<String, Fact>,
    pub sources: Vec<Table>,
    pub sinks: Vec<Table>,
    /// Config file name for this Flink version (`flink-conf.yaml` or `config.yaml`).
    pub config_file: String,
    /// The span of the profile's head, for findings about the job as a whole.
    pub head: Option<Span>,
    /// The packs this job was resolved with (`flinkgen policies`).
    pub packs: Vec<PackUse>,
}

impl JobPlan {
    pub fn doc(&self, kind: DocKind) -> Option<&Document> {
        self.docs.get(&kind)
    }
    pub fn doc_mut(&mut self, kind: DocKind) -> &mut Document {
        self.docs.entry(kind).or_default()
    }
    pub fn get(&self, kind: DocKind, key: &str) -> Option<&Entry> {
        self.docs.get(&kind)?.entry(key)
    }
    pub fn fact(&self, name: &str) -> Option<&Fact> {
        self.facts.get(name)
    }
    pub fn fact_str(&self, name: &str) -> Option<&str> {
        self.facts.get(name)?.value.as_str()
    }
    pub fn fact_i64(&self, name: &str) -> Option<i64> {
        self.facts.get(name)?.value.as_i64()
    }
    pub fn set_fact(&mut self, name: &str, value: Value, origin: Origin) {
        self.facts.insert(name.to_string(), Fact { value, origin });
    }
}

/// Everything resolved for one Kafka cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClusterPlan {
    pub name: String,
    /// The broker settings the cluster has now (profile): never changed silently.
    pub current: Document,
    /// Changes flinkgen proposes so that its jobs work; empty for managed clusters.
    pub proposed: Document,
    /// Settings of existing topics, by topic name (`retention.ms`, `min.insync.replicas` …).
    pub topics: BTreeMap<String, Document>,
    pub facts: BTreeMap<String, Fact>,
    pub head: Option<Span>,
}

impl ClusterPlan {
    pub fn fact(&self, name: &str) -> Option<&Fact> {
        self.facts.get(name)
    }
    pub fn fact_str(&self, name: &str) -> Option<&str> {
        self.facts.get(name)?.value.as_str()
    }
    pub fn fact_i64(&self, name: &str) -> Option<i64> {
        self.facts.get(name)?.value.as_i64()
    }
    pub fn set_fact(&mut self, name: &str, value: Value, origin: Origin) {
        self.facts.insert(name.to_string(), Fact { value, origin });
    }
}

/// A pack used by a build, for the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackUse {
    pub name: String,
    pub version: String,
    pub layer: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub jobs: Vec<JobPlan>,
    pub clusters: Vec<ClusterPlan>,
    pub packs: Vec<PackUse>,
}

impl Plan {
    pub fn cluster(&self, name: &str) -> Option<&ClusterPlan> {
        self.clusters.iter().find(|c| c.name == name)
    }
}
