//! The built-in templates, written in Rust.
//!
//! Each context below is what one template of `templates/` reads, and its `write` produces
//! exactly what that template renders from it, byte for byte, errors included (the tests render
//! every example and generated profile both ways and compare). The `.j2` texts stay the
//! reference: they document each output and are what `--templates DIR` replaces. minijinja
//! renders only a replaced template (its context is this struct, serialised); everything else
//! is written here, because interpreting the templates was most of the cost of rendering a job
//! (a template VM step and a filter call per value, ~275 per job).
//!
//! The filters map to functions of `escape`: `yaml` → [`yaml`] / [`push_yaml_scalar`],
//! `yaml_string` → [`yaml_string`], `prop_key`/`prop_value` → [`push_properties`], `sql` →
//! [`push_sql_string`], `comment` → [`push_comment`], `flink_conf_key`/`flink_conf_value` →
//! [`escape::check_flink_legacy`] (then written as they are). A Jinja `{% if x %}` on a string or number is false for `""` and `0`,
//! and the writers test the same.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::escape::{self, push_comment, push_properties, push_sql_string, push_yaml_scalar};

/// A template's context: serialised for minijinja when the template is replaced, written
/// directly otherwise.
pub(super) trait Builtin: Serialize {
    /// The template's name (its file in `templates/`, without `.j2`).
    fn name(&self) -> &'static str;
    /// What the built-in template renders; on error, minijinja's message for the same failure.
    fn write(&self, out: &mut String) -> Result<(), String>;
}

/// A value of a YAML output that keeps its type: booleans and numbers are written plain,
/// strings as strings. Serialised as `serde_json::Value` would be (a non-finite float as none).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::Bool(b) => s.serialize_bool(*b),
            Scalar::Int(i) => s.serialize_i64(*i),
            Scalar::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Scalar::Float(_) => s.serialize_none(),
            Scalar::Text(t) => s.serialize_str(t),
        }
    }
}

impl Scalar {
    /// The text minijinja gives the value as a filter argument (`scalar_text`): `true`/`false`,
    /// numbers as it displays them, a non-finite float (none) as `None`.
    pub(super) fn text(&self) -> Cow<'_, str> {
        match self {
            Scalar::Bool(true) => "true".into(),
            Scalar::Bool(false) => "false".into(),
            Scalar::Int(i) => i.to_string().into(),
            Scalar::Float(f) if f.is_finite() => float_text(*f).into(),
            Scalar::Float(_) => "None".into(),
            Scalar::Text(t) => t.as_str().into(),
        }
    }
}

/// A float as minijinja displays it (rare in outputs: asking minijinja keeps it exact).
fn float_text(f: f64) -> String {
    minijinja::Value::from(f).to_string()
}

fn push_int(out: &mut String, i: i64) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(out, "{i}");
}

fn invalid(detail: impl std::fmt::Display) -> String {
    format!("invalid operation: {detail}")
}

/// The `yaml` filter: booleans and numbers plain, strings escaped.
fn yaml(out: &mut String, v: &Scalar) -> Result<(), String> {
    match v {
        Scalar::Bool(true) => out.push_str("true"),
        Scalar::Bool(false) => out.push_str("false"),
        Scalar::Int(i) => push_int(out, *i),
        Scalar::Float(f) if f.is_finite() => out.push_str(&float_text(*f)),
        Scalar::Float(_) => return Err(invalid("cannot write a none as a YAML scalar")),
        Scalar::Text(t) => push_yaml_scalar(out, t),
    }
    Ok(())
}

/// `{prefix}{{ value|yaml }}` and the line's end, for a string value: one line of a template.
fn yaml_line(out: &mut String, prefix: &str, value: &str) {
    out.push_str(prefix);
    push_yaml_scalar(out, value);
    out.push('\n');
}

/// The `yaml_string` filter: any scalar, written as a YAML string.
fn yaml_string(out: &mut String, v: &Scalar) {
    push_yaml_scalar(out, &v.text());
}

/// A key and its value's text; `note` is a comment line above it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Kv<'a> {
    pub key: Cow<'a, str>,
    pub value: String,
    pub note: Option<String>,
}

impl<'a> Kv<'a> {
    pub fn new(key: impl Into<Cow<'a, str>>, value: String) -> Kv<'a> {
        Kv {
            key: key.into(),
            value,
            note: None,
        }
    }
    /// `{% if e.note %}`: a note that is there and not empty.
    fn note(&self) -> Option<&str> {
        self.note.as_deref().filter(|n| !n.is_empty())
    }
}

/// A key with a typed value, for YAML outputs.
#[derive(Debug, Clone, Serialize)]
pub(super) struct TypedKv<'a> {
    pub key: &'a str,
    pub value: Scalar,
}

/// Which Flink configuration file, and so which template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FlinkFile {
    /// `config.yaml` (Flink 1.19+): standard YAML.
    ConfigYaml,
    /// `flink-conf.yaml`: Flink's legacy line parser, no escaping.
    Legacy,
}

/// `config.yaml` / `flink-conf.yaml`.
#[derive(Debug, Serialize)]
pub(super) struct FlinkConfig<'a> {
    #[serde(skip)]
    pub file: FlinkFile,
    pub job: &'a str,
    pub flink_version: &'a str,
    pub entries: Vec<TypedKv<'a>>,
}

impl Builtin for FlinkConfig<'_> {
    fn name(&self) -> &'static str {
        match self.file {
            FlinkFile::ConfigYaml => "config.yaml",
            FlinkFile::Legacy => "flink-conf.yaml",
        }
    }
    fn write(&self, out: &mut String) -> Result<(), String> {
        out.push_str("# Flink configuration for job ");
        push_comment(out, self.job);
        out.push_str(" (Flink ");
        push_comment(out, self.flink_version);
        out.push_str(match self.file {
            FlinkFile::ConfigYaml => ", config.yaml, standard YAML).\n",
            FlinkFile::Legacy => ", legacy flink-conf.yaml format).\n",
        });
        out.push_str(GENERATED_EXPLAIN);
        for e in &self.entries {
            match self.file {
                FlinkFile::ConfigYaml => {
                    push_yaml_scalar(out, e.key);
                    out.push_str(": ");
                    yaml(out, &e.value)?;
                }
                FlinkFile::Legacy => {
                    escape::check_flink_legacy(e.key, true).map_err(invalid)?;
                    out.push_str(e.key);
                    out.push_str(": ");
                    let value = e.value.text();
                    escape::check_flink_legacy(&value, false).map_err(invalid)?;
                    out.push_str(&value);
                }
            }
            out.push('\n');
        }
        out.push('\n');
        Ok(())
    }
}

const GENERATED_EXPLAIN: &str = "# Generated by flinkgen: change the profile and rebuild; `flinkgen explain` tells where each value comes from.\n";

/// A pod volume of the FlinkDeployment (fields in the order a map of them had).
#[derive(Debug, Clone, Serialize)]
pub(super) struct Volume {
    /// `secret`, `hostPath` or `emptyDir`.
    pub kind: &'static str,
    pub path: String,
    /// `"true"` or `""` (a template tests it with `{% if v.read_only %}`).
    pub read_only: &'static str,
    pub source: String,
    pub volume: String,
}

/// `flinkdeployment.yaml`.
#[derive(Debug, Serialize)]
pub(super) struct FlinkDeployment<'a> {
    pub job: &'a str,
    pub operator_version: &'a str,
    /// The K8s document: key → typed value.
    pub k8s: BTreeMap<&'a str, Scalar>,
    pub flink_configuration: &'a [Kv<'a>],
    pub args: &'a [String],
    pub volumes: &'a [Volume],
    pub pod_labels: &'a [Kv<'a>],
}

impl FlinkDeployment<'_> {
    /// `{prefix}{{ k8s["key"]|yaml }}`: a missing key is undefined, which `yaml` refuses.
    fn line(&self, out: &mut String, prefix: &str, key: &str) -> Result<(), String> {
        out.push_str(prefix);
        match self.k8s.get(key) {
            Some(v) => yaml(out, v)?,
            None => return Err(invalid("cannot write a undefined as a YAML scalar")),
        }
        out.push('\n');
        Ok(())
    }
}

impl Builtin for FlinkDeployment<'_> {
    fn name(&self) -> &'static str {
        "flinkdeployment.yaml"
    }
    fn write(&self, out: &mut String) -> Result<(), String> {
        out.push_str("# FlinkDeployment for job ");
        push_comment(out, self.job);
        out.push_str(" (Flink Kubernetes Operator ");
        push_comment(out, self.operator_version);
        out.push_str(").\n");
        out.push_str(GENERATED_EXPLAIN);
        out.push_str("apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\nmetadata:\n");
        self.line(out, "  name: ", "metadata.name")?;
        self.line(out, "  namespace: ", "metadata.namespace")?;
        out.push_str("  labels:\n    app.kubernetes.io/managed-by: flinkgen\n");
        self.line(out, "    app.kubernetes.io/name: ", "metadata.name")?;
        out.push_str("spec:\n");
        self.line(out, "  image: ", "spec.image")?;
        self.line(out, "  flinkVersion: ", "spec.flinkVersion")?;
        self.line(out, "  serviceAccount: ", "spec.serviceAccount")?;
        out.push_str("  flinkConfiguration:\n");
        yaml_map(out, self.flink_configuration, "    ", Notes::Left);
        for role in ["jobManager", "taskManager"] {
            out.push_str("  ");
            out.push_str(role);
            out.push_str(":\n");
            self.line(out, "    replicas: ", &format!("spec.{role}.replicas"))?;
            out.push_str("    resource:\n      memory: ");
            // `yaml_string` of an undefined value is the empty string's.
            match self
                .k8s
                .get(format!("spec.{role}.resource.memory").as_str())
            {
                Some(v) => yaml_string(out, v),
                None => push_yaml_scalar(out, ""),
            }
            out.push('\n');
            self.line(out, "      cpu: ", &format!("spec.{role}.resource.cpu"))?;
        }
        if !self.volumes.is_empty() || !self.pod_labels.is_empty() {
            out.push_str("  podTemplate:\n");
            if !self.pod_labels.is_empty() {
                out.push_str("    metadata:\n      labels:\n");
                yaml_map(out, self.pod_labels, "        ", Notes::Left);
            }
            if !self.volumes.is_empty() {
                out.push_str("    spec:\n      containers:\n        - name: flink-main-container\n          volumeMounts:\n");
                for v in self.volumes {
                    yaml_line(out, "            - name: ", &v.volume);
                    yaml_line(out, "              mountPath: ", &v.path);
                    if !v.read_only.is_empty() {
                        out.push_str("              readOnly: true\n");
                    }
                }
                out.push_str("      volumes:\n");
                for v in self.volumes {
                    yaml_line(out, "        - name: ", &v.volume);
                    match v.kind {
                        "secret" => {
                            out.push_str("          secret:\n");
                            yaml_line(out, "            secretName: ", &v.source);
                        }
                        "hostPath" => {
                            out.push_str("          hostPath:\n");
                            yaml_line(out, "            path: ", &v.source);
                            out.push_str("            type: DirectoryOrCreate\n");
                        }
                        _ => out.push_str("          emptyDir: {}\n"),
                    }
                }
            }
        }
        out.push_str("  job:\n");
        self.line(out, "    jarURI: ", "spec.job.jarURI")?;
        if self.k8s.contains_key("spec.job.entryClass") {
            self.line(out, "    entryClass: ", "spec.job.entryClass")?;
        }
        if !self.args.is_empty() {
            out.push_str("    args:\n");
            for a in self.args {
                yaml_line(out, "      - ", a);
            }
        }
        self.line(out, "    parallelism: ", "spec.job.parallelism")?;
        self.line(out, "    upgradeMode: ", "spec.job.upgradeMode")?;
        self.line(out, "    state: ", "spec.job.state")?;
        Ok(())
    }
}

/// `client.properties`: every `.properties` file (clients, sinks, topics, brokers).
#[derive(Debug, Serialize)]
pub(super) struct Properties<'a> {
    /// Comment lines above the file's standard line.
    pub header: Vec<String>,
    pub entries: Vec<Kv<'a>>,
}

impl Builtin for Properties<'_> {
    fn name(&self) -> &'static str {
        "client.properties"
    }
    fn write(&self, out: &mut String) -> Result<(), String> {
        for line in &self.header {
            out.push_str("# ");
            push_comment(out, line);
            out.push('\n');
        }
        out.push_str(GENERATED_EXPLAIN);
        for e in &self.entries {
            if let Some(note) = e.note() {
                out.push_str("# ");
                push_comment(out, note);
                out.push('\n');
            }
            push_properties(out, &e.key, true);
            out.push('=');
            push_properties(out, &e.value, false);
            out.push('\n');
        }
        out.push('\n');
        Ok(())
    }
}

/// One Kafka table of `tables.sql`.
#[derive(Debug, Serialize)]
pub(super) struct SqlTable<'a> {
    pub kind: &'static str,
    pub name: &'a str,
    pub topic: &'a str,
    pub options: Vec<Kv<'a>>,
    pub missing_format: bool,
}

/// `tables.sql`.
#[derive(Debug, Serialize)]
pub(super) struct Tables<'a> {
    pub job: &'a str,
    pub tables: Vec<SqlTable<'a>>,
}

impl Builtin for Tables<'_> {
    fn name(&self) -> &'static str {
        "tables.sql"
    }
    fn write(&self, out: &mut String) -> Result<(), String> {
        out.push_str("-- Flink SQL WITH options for the Kafka tables of job ");
        push_comment(out, self.job);
        out.push_str(".\n-- Paste each block after your CREATE TABLE column list. Generated by flinkgen: change the profile and rebuild.\n");
        for t in &self.tables {
            out.push_str("\n-- ");
            push_comment(out, t.kind);
            out.push_str(" `");
            push_comment(out, t.name);
            out.push_str("` (topic ");
            push_comment(out, t.topic);
            out.push_str(")\n");
            if t.missing_format {
                out.push_str("-- add the record format: 'format' = '…' (e.g. 'json', 'avro-confluent'), or set format= on the ");
                push_comment(out, t.kind);
                out.push_str(" node\n");
            }
            out.push_str("WITH (\n");
            for (i, o) in t.options.iter().enumerate() {
                out.push_str("  ");
                push_sql_string(out, &o.key);
                out.push_str(" = ");
                push_sql_string(out, &o.value);
                if i + 1 < t.options.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(");\n");
        }
        out.push('\n');
        Ok(())
    }
}

/// `serviceaccount.yaml`.
#[derive(Debug, Serialize)]
pub(super) struct ServiceAccount<'a> {
    pub job: &'a str,
    pub name: String,
    pub namespace: &'a str,
    pub annotation: &'a str,
    pub identity: &'a str,
    pub azure: bool,
}

impl Builtin for ServiceAccount<'_> {
    fn name(&self) -> &'static str {
        "serviceaccount.yaml"
    }
    fn write(&self, out: &mut String) -> Result<(), String> {
        out.push_str("# ServiceAccount of job ");
        push_comment(out, self.job);
        out.push_str(": binds its pods to the cloud identity that reads and writes checkpoint storage.\n# Generated by flinkgen: change the profile and rebuild.\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n");
        yaml_line(out, "  name: ", &self.name);
        yaml_line(out, "  namespace: ", self.namespace);
        out.push_str("  annotations:\n    ");
        push_yaml_scalar(out, self.annotation);
        yaml_line(out, ": ", self.identity);
        Ok(())
    }
}

/// A sink topic's KafkaTopic resource.
#[derive(Debug, Serialize)]
pub(super) struct TopicView<'a> {
    pub name: String,
    pub topic: &'a str,
    pub partitions: Option<u32>,
    pub replicas: i64,
    pub min_isr: Option<String>,
}

/// `strimzi-kafkatopics.yaml`.
#[derive(Debug, Serialize)]
pub(super) struct KafkaTopics<'a> {
    pub api_version: &'static str,
    pub cluster: &'a str,
    pub job: &'a str,
    pub topics: Vec<TopicView<'a>>,
}

impl Builtin for KafkaTopics<'_> {
    fn name(&self) -> &'static str {
        "strimzi-kafkatopics.yaml"
    }
    fn write(&self, out: &mut String) -> Result<(), String> {
        out.push_str("# Strimzi KafkaTopic resources for the sink topics of job ");
        push_comment(out, self.job);
        out.push_str(" (cluster ");
        push_comment(out, self.cluster);
        out.push_str(").\n# Generated by flinkgen: change the profiles and rebuild.\n");
        for t in &self.topics {
            out.push_str("---\n");
            yaml_line(out, "apiVersion: ", self.api_version);
            out.push_str("kind: KafkaTopic\nmetadata:\n");
            yaml_line(out, "  name: ", &t.name);
            out.push_str("  labels:\n");
            yaml_line(out, "    strimzi.io/cluster: ", self.cluster);
            out.push_str("spec:\n");
            yaml_line(out, "  topicName: ", t.topic);
            if let Some(p) = t.partitions.filter(|p| *p != 0) {
                out.push_str("  partitions: ");
                push_int(out, i64::from(p));
                out.push('\n');
            }
            out.push_str("  replicas: ");
            push_int(out, t.replicas);
            out.push('\n');
            if let Some(m) = t.min_isr.as_deref().filter(|m| !m.is_empty()) {
                out.push_str("  config:\n");
                yaml_line(out, "    min.insync.replicas: ", m);
            }
        }
        out.push('\n');
        Ok(())
    }
}

/// One ACL of a KafkaUser.
#[derive(Debug, Serialize)]
pub(super) struct Acl<'a> {
    pub kind: &'static str,
    pub name: Option<Cow<'a, str>>,
    pub pattern: &'static str,
    pub operations: &'static [&'static str],
}

/// `strimzi-kafkauser.yaml`.
#[derive(Debug, Serialize)]
pub(super) struct KafkaUser<'a> {
    pub api_version: &'static str,
    pub cluster: &'a str,
    pub job: &'a str,
    pub user: &'a str,
    pub authentication: Option<&'static str>,
    pub acls: Vec<Acl<'a>>,
}

impl Builtin for KafkaUser<'_> {
    fn name(&self) -> &'static str {
        "strimzi-kafkauser.yaml"
    }
    fn write(&self, out: &mut String) -> Result<(), String> {
        out.push_str("# Strimzi KafkaUser for job ");
        push_comment(out, self.job);
        out.push_str(" on cluster ");
        push_comment(out, self.cluster);
        out.push_str(": what its sources, sinks and transactions need.\n# Generated by flinkgen: change the profiles and rebuild.\n# Strimzi keeps the user's credentials in the Secret of the same name (key `password`).\n");
        yaml_line(out, "apiVersion: ", self.api_version);
        out.push_str("kind: KafkaUser\nmetadata:\n");
        yaml_line(out, "  name: ", self.user);
        out.push_str("  labels:\n");
        yaml_line(out, "    strimzi.io/cluster: ", self.cluster);
        out.push_str("spec:\n");
        if let Some(a) = self.authentication.filter(|a| !a.is_empty()) {
            out.push_str("  authentication:\n");
            yaml_line(out, "    type: ", a);
        }
        out.push_str("  authorization:\n    type: simple\n    acls:\n");
        for a in &self.acls {
            out.push_str("      - resource:\n");
            yaml_line(out, "          type: ", a.kind);
            if let Some(name) = a.name.as_deref().filter(|n| !n.is_empty()) {
                yaml_line(out, "          name: ", name);
                yaml_line(out, "          patternType: ", a.pattern);
            }
            out.push_str("        operations:\n");
            for op in a.operations {
                yaml_line(out, "          - ", op);
            }
            out.push_str("        host: \"*\"\n");
        }
        out.push('\n');
        Ok(())
    }
}

/// `strimzi-kafka.yaml`.
#[derive(Debug, Serialize)]
pub(super) struct StrimziKafka<'a> {
    pub cluster: &'a str,
    pub version: &'a str,
    pub api_version: &'static str,
    pub entries: Vec<Kv<'a>>,
    pub proposed: bool,
}

impl Builtin for StrimziKafka<'_> {
    fn name(&self) -> &'static str {
        "strimzi-kafka.yaml"
    }
    fn write(&self, out: &mut String) -> Result<(), String> {
        out.push_str("# Strimzi ");
        push_comment(out, self.version);
        out.push_str(": merge into the Kafka resource `");
        push_comment(out, self.cluster);
        out.push_str("` (spec.kafka.config).\n# Holds the cluster's broker settings plus the changes its jobs need");
        if self.proposed {
            out.push_str(" (marked below)");
        }
        out.push_str(".\n# Generated by flinkgen: change the cluster profile and rebuild.\n");
        yaml_line(out, "apiVersion: ", self.api_version);
        out.push_str("kind: Kafka\nmetadata:\n");
        yaml_line(out, "  name: ", self.cluster);
        out.push_str("spec:\n  kafka:\n    config:\n");
        yaml_map(out, &self.entries, "      ", Notes::Written);
        out.push('\n');
        Ok(())
    }
}

/// `bitnami-values-31.yaml`: the broker settings as one `.properties` text.
#[derive(Debug, Serialize)]
pub(super) struct BitnamiExtraConfig<'a> {
    pub cluster: &'a str,
    pub version: &'a str,
    pub properties: String,
}

impl Builtin for BitnamiExtraConfig<'_> {
    fn name(&self) -> &'static str {
        "bitnami-values-31.yaml"
    }
    fn write(&self, out: &mut String) -> Result<(), String> {
        bitnami_header(
            out,
            self.version,
            self.cluster,
            "appended to server.properties",
        );
        yaml_line(out, "extraConfig: ", &self.properties);
        Ok(())
    }
}

/// `bitnami-values-32.yaml`: the broker settings as a map.
#[derive(Debug, Serialize)]
pub(super) struct BitnamiOverride<'a> {
    pub cluster: &'a str,
    pub version: &'a str,
    pub entries: Vec<Kv<'a>>,
}

impl Builtin for BitnamiOverride<'_> {
    fn name(&self) -> &'static str {
        "bitnami-values-32.yaml"
    }
    fn write(&self, out: &mut String) -> Result<(), String> {
        bitnami_header(
            out,
            self.version,
            self.cluster,
            "merged over the chart's configuration",
        );
        out.push_str("overrideConfiguration:\n");
        yaml_map(out, &self.entries, "  ", Notes::Written);
        out.push('\n');
        Ok(())
    }
}

/// Whether a map's template writes each entry's note as a comment above it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Notes {
    Written,
    Left,
}

/// `{indent}key: value` per entry, both as YAML strings (`|yaml` of a string key, `|yaml` or
/// `|yaml_string` of a string value: the same), with `{indent}# note` above it if `notes`.
fn yaml_map(out: &mut String, entries: &[Kv], indent: &str, notes: Notes) {
    for e in entries {
        if let Some(note) = e.note().filter(|_| notes == Notes::Written) {
            out.push_str(indent);
            out.push_str("# ");
            push_comment(out, note);
            out.push('\n');
        }
        out.push_str(indent);
        push_yaml_scalar(out, &e.key);
        yaml_line(out, ": ", &e.value);
    }
}

fn bitnami_header(out: &mut String, version: &str, cluster: &str, how: &str) {
    out.push_str("# bitnami/kafka ");
    push_comment(out, version);
    out.push_str(" values for cluster ");
    push_comment(out, cluster);
    out.push_str(": broker settings ");
    out.push_str(how);
    out.push_str(".\n# Generated by flinkgen: change the cluster profile and rebuild.\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Templates, render};

    /// Render `ctx` with its built-in writer and with its `.j2` text; both must give the same
    /// file or the same error.
    fn same<C: Builtin>(ctx: &C) -> Result<String, String> {
        let builtin = Templates { interpreted: None };
        let reference = Templates::interpreted().unwrap_or_else(|d| panic!("{}", d.message));
        let a = render(&builtin, ctx).map_err(|d| d.message);
        let b = render(&reference, ctx).map_err(|d| d.message);
        assert_eq!(a, b, "{}: the writer and the template disagree", ctx.name());
        a
    }

    /// Strings each output format must escape or carry: empty, YAML words and numbers, quotes,
    /// separators, control characters, non-ASCII, U+2028, a leading space.
    const NASTY: [&str; 12] = [
        "",
        "plain",
        "y",
        "1.20",
        "-x",
        "a: b # c",
        "it's \"quoted\" \\ back",
        "k=v:w!x#y",
        "tab\there\nnewline\r\u{7}bell",
        " lead and trail ",
        "é ü 日本 \u{2028} \u{feff} \u{85}",
        "{{ not a template }} {% if %}",
    ];

    fn kv(key: &str, value: &str, note: Option<&str>) -> Kv<'static> {
        Kv {
            key: Cow::Owned(key.to_string()),
            value: value.to_string(),
            note: note.map(str::to_string),
        }
    }

    fn kvs() -> Vec<Kv<'static>> {
        let mut out = vec![];
        for (i, s) in NASTY.iter().enumerate() {
            let note = match i % 3 {
                0 => None,
                1 => Some(""),
                _ => Some(*s),
            };
            out.push(kv(&format!("key.{i}"), s, note));
            out.push(kv(s, "v", Some("a note\nwith a newline")));
        }
        out
    }

    fn scalars() -> Vec<Scalar> {
        let mut out = vec![
            Scalar::Bool(true),
            Scalar::Bool(false),
            Scalar::Int(0),
            Scalar::Int(-42),
            Scalar::Int(i64::MAX),
            Scalar::Float(1.0),
            Scalar::Float(0.1),
            Scalar::Float(-2.5),
            Scalar::Float(1e20),
            Scalar::Float(1e-7),
        ];
        out.extend(NASTY.iter().map(|s| Scalar::Text(s.to_string())));
        out
    }

    #[test]
    fn config_yaml_and_flink_conf_are_their_templates() {
        let keys: Vec<String> = (0..scalars().len()).map(|i| format!("k.{i}")).collect();
        let entries: Vec<TypedKv> = keys
            .iter()
            .zip(scalars())
            .map(|(k, value)| TypedKv { key: k, value })
            .collect();
        for job in NASTY {
            let config = FlinkConfig {
                file: FlinkFile::ConfigYaml,
                job,
                flink_version: "2.2\n",
                entries: entries.clone(),
            };
            assert!(same(&config).is_ok());
        }
        // Keys are strings whatever they hold.
        let nasty_keys: Vec<TypedKv> = NASTY
            .iter()
            .map(|k| TypedKv {
                key: k,
                value: Scalar::Int(1),
            })
            .collect();
        let config = FlinkConfig {
            file: FlinkFile::ConfigYaml,
            job: "j",
            flink_version: "2.2",
            entries: nasty_keys,
        };
        assert!(same(&config).is_ok());
        // A non-finite float has no YAML form: both refuse it the same way.
        let nan = FlinkConfig {
            file: FlinkFile::ConfigYaml,
            job: "j",
            flink_version: "2.2",
            entries: vec![TypedKv {
                key: "x",
                value: Scalar::Float(f64::NAN),
            }],
        };
        assert!(same(&nan).is_err_and(|e| e.contains("cannot write a none")));

        // The legacy file takes what its line parser can carry, and refuses the rest.
        let legacy_ok: Vec<TypedKv> = entries
            .iter()
            .filter(|e| escape::flink_legacy(&e.value.text(), false).is_ok())
            .cloned()
            .chain([TypedKv {
                key: "inf",
                value: Scalar::Float(f64::INFINITY),
            }])
            .collect();
        assert!(legacy_ok.len() > 10);
        let legacy = FlinkConfig {
            file: FlinkFile::Legacy,
            job: "j\tk",
            flink_version: "1.20",
            entries: legacy_ok,
        };
        assert!(same(&legacy).is_ok_and(|f| f.contains("\ninf: None\n")));
        for (key, value) in [("a: b", "v"), ("k", "a#b"), ("k", " lead"), ("k", "")] {
            let bad = FlinkConfig {
                file: FlinkFile::Legacy,
                job: "j",
                flink_version: "1.20",
                entries: vec![TypedKv {
                    key,
                    value: Scalar::Text(value.into()),
                }],
            };
            assert!(same(&bad).is_err_and(|e| e.contains("cannot be written to flink-conf.yaml")));
        }
    }

    fn k8s(drop: &str) -> BTreeMap<&'static str, Scalar> {
        let mut m: BTreeMap<&'static str, Scalar> = [
            ("metadata.name", Scalar::Text("job-a".into())),
            ("metadata.namespace", Scalar::Text("it's: ns".into())),
            ("spec.image", Scalar::Text("registry/flink:2.2".into())),
            ("spec.flinkVersion", Scalar::Text("v2_2".into())),
            ("spec.serviceAccount", Scalar::Text("flink".into())),
            ("spec.jobManager.replicas", Scalar::Int(1)),
            (
                "spec.jobManager.resource.memory",
                Scalar::Text("2048m".into()),
            ),
            ("spec.jobManager.resource.cpu", Scalar::Float(1.0)),
            ("spec.taskManager.replicas", Scalar::Int(3)),
            ("spec.taskManager.resource.memory", Scalar::Int(4096)),
            ("spec.taskManager.resource.cpu", Scalar::Float(2.5)),
            (
                "spec.job.jarURI",
                Scalar::Text("local:///opt/a b.jar".into()),
            ),
            ("spec.job.entryClass", Scalar::Text("com.acme.Main".into())),
            ("spec.job.parallelism", Scalar::Int(12)),
            ("spec.job.upgradeMode", Scalar::Text("savepoint".into())),
            ("spec.job.state", Scalar::Text("running".into())),
        ]
        .into();
        m.remove(drop);
        m
    }

    #[test]
    fn flinkdeployment_is_its_template() {
        let config = kvs();
        let labels = vec![
            kv("azure.workload.identity/use", "true", None),
            kv("y", "n", None),
        ];
        let args: Vec<String> = NASTY.iter().map(|s| s.to_string()).collect();
        let volumes: Vec<Volume> = ["secret", "hostPath", "emptyDir"]
            .iter()
            .zip(NASTY.iter().skip(4))
            .map(|(kind, s)| Volume {
                kind,
                path: format!("/mnt/{s}"),
                read_only: if *kind == "secret" { "true" } else { "" },
                source: s.to_string(),
                volume: format!("v-{s}"),
            })
            .collect();
        let full = FlinkDeployment {
            job: "job\na",
            operator_version: "1.15",
            k8s: k8s(""),
            flink_configuration: &config,
            args: &args,
            volumes: &volumes,
            pod_labels: &labels,
        };
        assert!(same(&full).is_ok());
        // Without volumes, labels, arguments or entry class: the optional parts go.
        let bare = FlinkDeployment {
            k8s: k8s("spec.job.entryClass"),
            flink_configuration: &[],
            args: &[],
            volumes: &[],
            pod_labels: &[],
            ..full
        };
        assert!(same(&bare).is_ok_and(|f| !f.contains("podTemplate") && !f.contains("entryClass")));
        let labels_only = FlinkDeployment {
            k8s: k8s(""),
            pod_labels: &labels,
            ..bare
        };
        assert!(same(&labels_only).is_ok());
        // A missing key is undefined: `yaml` refuses it, `yaml_string` writes it as "" (the
        // plan always has them; the Helm values refuse a plan without them first).
        for key in [
            "metadata.namespace",
            "spec.job.state",
            "spec.taskManager.resource.memory",
        ] {
            let missing = FlinkDeployment {
                k8s: k8s(key),
                flink_configuration: &[],
                args: &[],
                volumes: &[],
                pod_labels: &[],
                job: "j",
                operator_version: "1.15",
            };
            let r = same(&missing);
            if key.ends_with("memory") {
                assert!(r.is_ok_and(|f| f.contains("      memory: \"\"\n")));
            } else {
                assert!(r.is_err_and(|e| e.contains("cannot write a undefined")));
            }
        }
        let mut nan = k8s("");
        nan.insert("spec.taskManager.resource.cpu", Scalar::Float(f64::NAN));
        let nan = FlinkDeployment {
            k8s: nan,
            flink_configuration: &[],
            args: &[],
            volumes: &[],
            pod_labels: &[],
            job: "j",
            operator_version: "1.15",
        };
        assert!(same(&nan).is_err());
    }

    #[test]
    fn properties_and_tables_are_their_templates() {
        for header in [
            vec![],
            vec!["one".to_string()],
            NASTY.map(str::to_string).to_vec(),
        ] {
            let props = Properties {
                header,
                entries: kvs(),
            };
            assert!(same(&props).is_ok());
        }
        assert!(
            same(&Properties {
                header: vec![],
                entries: vec![]
            })
            .is_ok()
        );
        let table = |kind, missing_format, options| SqlTable {
            kind,
            name: "it's\nname",
            topic: "topic 'x'",
            options,
            missing_format,
        };
        let tables = Tables {
            job: "j\u{7}",
            tables: vec![
                table("source", true, kvs()),
                table("sink", false, vec![kv("one", "'", None)]),
                table("sink", false, vec![]),
            ],
        };
        assert!(same(&tables).is_ok());
        assert!(
            same(&Tables {
                job: "j",
                tables: vec![]
            })
            .is_ok()
        );
    }

    #[test]
    fn kubernetes_and_strimzi_resources_are_their_templates() {
        for (annotation, identity) in [
            ("eks.amazonaws.com/role-arn", "arn:aws:iam::1:role/x"),
            ("y", ""),
        ] {
            let account = ServiceAccount {
                job: "j\n",
                name: "flink".into(),
                namespace: "n: s",
                annotation,
                identity,
                azure: false,
            };
            assert!(same(&account).is_ok());
        }
        let topics = KafkaTopics {
            api_version: "kafka.strimzi.io/v1beta2",
            cluster: "c#1",
            job: "j",
            topics: [None, Some(0), Some(12)]
                .into_iter()
                .zip([None, Some(String::new()), Some("2".to_string())])
                .enumerate()
                .map(|(i, (partitions, min_isr))| TopicView {
                    name: format!("t-{i}"),
                    topic: NASTY[i + 5],
                    partitions,
                    replicas: i as i64 - 1,
                    min_isr,
                })
                .collect(),
        };
        assert!(same(&topics).is_ok());
        for authentication in [None, Some(""), Some("scram-sha-512")] {
            let user = KafkaUser {
                api_version: "kafka.strimzi.io/v1",
                cluster: "c",
                job: "j",
                user: "it's",
                authentication,
                acls: vec![
                    Acl {
                        kind: "topic",
                        name: Some(Cow::Borrowed("a: b")),
                        pattern: "literal",
                        operations: &["Describe", "Read"],
                    },
                    Acl {
                        kind: "group",
                        name: Some(Cow::Borrowed("")),
                        pattern: "literal",
                        operations: &[],
                    },
                    Acl {
                        kind: "cluster",
                        name: None,
                        pattern: "literal",
                        operations: &["IdempotentWrite"],
                    },
                ],
            };
            assert!(same(&user).is_ok());
        }
        for proposed in [false, true] {
            let kafka = StrimziKafka {
                cluster: "c",
                version: "0.45.1\n",
                api_version: "kafka.strimzi.io/v1beta2",
                entries: kvs(),
                proposed,
            };
            assert!(same(&kafka).is_ok());
        }
    }

    #[test]
    fn bitnami_values_are_their_templates() {
        for properties in NASTY {
            let values = BitnamiExtraConfig {
                cluster: "c",
                version: "31.4.1",
                properties: format!("{properties}\nk=v\n"),
            };
            assert!(same(&values).is_ok());
        }
        let values = BitnamiOverride {
            cluster: "c\r",
            version: "32.4.4",
            entries: kvs(),
        };
        assert!(same(&values).is_ok());
    }
}
