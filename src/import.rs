//! import: an existing deployment (read by `lint`) → starting job and cluster profiles.
//!
//! Every setting the profile language has a field for becomes that field; every other setting
//! becomes an `override` (or a `broker` line), marked with the file it came from. What the files
//! cannot tell but a profile requires gets a placeholder marked `TODO(import)`. The profiles are
//! then loaded and resolved by flinkgen itself: a line flinkgen refuses (a key the operator owns,
//! a literal secret, a node-identity broker key …) is dropped and reported with flinkgen's reason,
//! until the profiles resolve. So the report lists exactly what could not be expressed.

use std::fmt::Write as _;

use crate::diag::{Sources, Span};
use crate::lint::Linted;
use crate::plan::{ClusterPlan, DocKind, JobPlan, Origin, Value};
use crate::profile::{self, Profiles};

/// Why a literal credential of the files is left out of the profiles (never written, even as
/// a line the loader would refuse: the profiles are files the user keeps).
const LITERAL_CREDENTIAL: &str = "a literal credential (not shown); flinkgen writes credentials only as references: add a `security` reference or a `${dir:…}`/`${env:…}` override";

fn literal_credential(key: &str, value: &str) -> bool {
    profile::credential_refusal(false, key, value).is_some()
}

/// One generated profile file.
pub struct ImportedFile {
    pub path: String,
    pub text: String,
}

pub struct Imported {
    pub files: Vec<ImportedFile>,
    /// Settings and facts that did not make it into the profiles, and why.
    pub not_expressed: Vec<String>,
    /// Placeholders the user must fill in.
    pub todo: Vec<String>,
    /// Errors flinkgen still reports for the profiles (empty when they resolve).
    pub remaining: Vec<String>,
}

/// A line of a profile under construction; droppable lines can be removed when refused.
struct Line {
    text: String,
    /// Why this line exists, for the report when it is dropped (`producer.properties:5 acks`).
    what: Option<String>,
}

struct Draft {
    path: String,
    head: String,
    lines: Vec<Line>,
}

impl Draft {
    fn render(&self) -> (String, Vec<(usize, usize)>) {
        let mut out = self.head.clone();
        let mut ranges = vec![];
        for l in &self.lines {
            let start = out.len();
            out.push_str("    ");
            out.push_str(&l.text);
            out.push('\n');
            ranges.push((start, out.len()));
        }
        out.push_str("}\n");
        (out, ranges)
    }
}

/// A KDL v2 string literal: always quoted, with escapes for what KDL cannot hold raw.
pub fn kdl_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}'
                )
                || ('\u{202A}'..='\u{202E}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c) =>
            {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A profile duration (`30s`, `15min`, `7d`) in the largest unit that divides it.
fn duration(ms: u64) -> String {
    for (unit, f) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1000),
    ] {
        if ms > 0 && ms.is_multiple_of(f) {
            return format!("{}{unit}", ms / f);
        }
    }
    format!("{ms}ms")
}

fn size(bytes: u64) -> String {
    for (unit, f) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes > 0 && bytes.is_multiple_of(f) {
            return format!("{}{unit}", bytes / f);
        }
    }
    format!("{bytes}B")
}

/// Profile names are kebab-case: lower-case letters, digits and `-`, at most 45 characters.
fn profile_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s.trim_matches('-');
    let mut s: String = s.chars().take(45).collect();
    s = s.trim_end_matches('-').to_string();
    if s.is_empty() || !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        s = format!("job-{s}").trim_end_matches('-').to_string();
    }
    s
}

fn where_from(origin: &Origin, sources: &Sources) -> String {
    origin
        .spans()
        .first()
        .map_or_else(|| "derived".to_string(), |s| sources.location(*s))
}

/// Flink keys a profile field expresses (not imported as overrides).
const FLINK_FIELDS: [&str; 3] = [
    "execution.checkpointing.interval",
    "state.backend.type",
    "parallelism.default",
];

fn job_draft(
    job: &JobPlan,
    cluster: &str,
    instance: &str,
    sources: &Sources,
    todo: &mut Vec<String>,
    not_expressed: &mut Vec<String>,
) -> Draft {
    let name = profile_name(&job.name);
    let mut lines: Vec<Line> = vec![];
    let mut fixed = |text: String| lines.push(Line { text, what: None });
    let placeholder = |text: String, why: &str, todo: &mut Vec<String>| {
        todo.push(format!("job `{name}`: {why}"));
        format!("{text}   // TODO(import): {why}")
    };
    fixed(placeholder(
        "environment \"prod\"".into(),
        "the environment (part of the transactional-id prefix)",
        todo,
    ));
    let flink_version = job.fact_str("flink-version").map(str::to_string);
    let flink = match &flink_version {
        Some(v) => format!("flink version={}", kdl_string(v)),
        None => placeholder(
            "flink version=\"1.20\"".into(),
            "Flink version not in the files",
            todo,
        ),
    };
    let flink = match job.fact_str("operator-version") {
        Some(o) => format!("{flink} operator={}", kdl_string(o)),
        None => {
            let (head, comment) = flink.split_once("   //").unwrap_or((&flink, ""));
            let text = format!("{head} operator=\"1.13\"");
            if comment.is_empty() {
                placeholder(text, "operator version not in the files", todo)
            } else {
                todo.push(format!("job `{name}`: operator version not in the files"));
                format!("{text}   //{comment}; operator version too")
            }
        }
    };
    fixed(flink);
    let connector_default = if flink_version.as_deref().is_some_and(|v| v.starts_with('2')) {
        "4.0.1"
    } else {
        "3.4.0"
    };
    fixed(match job.fact_str("connector-version") {
        Some(c) => format!(
            "kafka cluster={} connector={}",
            kdl_string(cluster),
            kdl_string(c)
        ),
        None => placeholder(
            format!(
                "kafka cluster={} connector={}",
                kdl_string(cluster),
                kdl_string(connector_default)
            ),
            "Kafka connector version not in the files",
            todo,
        ),
    });
    fixed(format!(
        "delivery {}",
        kdl_string(job.fact_str("delivery").unwrap_or("none"))
    ));
    if let Some(backend) = job
        .get(DocKind::Flink, "state.backend.type")
        .map(|e| e.value.flink_text().to_lowercase())
    {
        let backend = if backend.contains("rocksdb") {
            "rocksdb"
        } else {
            "hashmap"
        };
        fixed(placeholder(
            format!("state size=\"10GiB\" backend=\"{backend}\""),
            "state size not in the files",
            todo,
        ));
    }
    if let Some(p) = job
        .get(DocKind::Flink, "parallelism.default")
        .and_then(|e| e.value.as_i64())
    {
        fixed(format!("parallelism {p}"));
    }
    for (node, tables) in [("source", &job.sources), ("sink", &job.sinks)] {
        for t in tables {
            if t.topic.is_empty() {
                fixed(placeholder(
                    format!(
                        "{node} {} topic=\"TODO\"",
                        kdl_string(&profile_name(&t.name))
                    ),
                    &format!("the {node} topic of `{}`", t.name),
                    todo,
                ));
            } else {
                fixed(format!(
                    "{node} {} topic={}",
                    kdl_string(&profile_name(&t.name)),
                    kdl_string(&t.topic)
                ));
            }
        }
    }
    if let Some(Value::Millis(ms)) = job
        .doc(DocKind::Flink)
        .and_then(|d| d.get("execution.checkpointing.interval"))
    {
        fixed(format!(
            "checkpoint interval={}",
            kdl_string(&duration(*ms))
        ));
    }
    let fact_ms = |f: &str| {
        job.fact(f).and_then(|x| match (&x.value, &x.origin) {
            (Value::Millis(ms), Origin::Profile { .. }) => Some(*ms),
            _ => None,
        })
    };
    let mut recovery = vec![];
    if let Some(ms) = fact_ms("max-downtime") {
        recovery.push(format!("max-downtime={}", kdl_string(&duration(ms))));
    }
    if let Some(ms) = fact_ms("restorable-for") {
        recovery.push(format!("restorable-for={}", kdl_string(&duration(ms))));
    }
    if !recovery.is_empty() {
        fixed(format!("recovery {}", recovery.join(" ")));
    }
    fixed(placeholder(
        format!("instance {}", kdl_string(instance)),
        "the node instance type",
        todo,
    ));
    let k8s = |k: &str| {
        job.get(DocKind::K8s, k)
            .and_then(|e| e.value.as_str().map(str::to_string))
    };
    let image = k8s("spec.image")
        .unwrap_or_else(|| format!("flink:{}", flink_version.as_deref().unwrap_or("1.20")));
    let mut kube = format!(
        "kubernetes namespace={} image={}",
        kdl_string(&k8s("metadata.namespace").unwrap_or_else(|| "default".into())),
        kdl_string(&image)
    );
    if let Some(sa) = k8s("spec.serviceAccount") {
        let _ = write!(kube, " service-account={}", kdl_string(&sa));
    }
    if let Some(m) = k8s("spec.job.upgradeMode") {
        let _ = write!(kube, " upgrade-mode={}", kdl_string(&m));
    }
    fixed(kube);
    match k8s("spec.job.jarURI") {
        Some(jar) => {
            let mut a = format!("artifact jar={}", kdl_string(&jar));
            if let Some(c) = k8s("spec.job.entryClass") {
                let _ = write!(a, " entry-class={}", kdl_string(&c));
            }
            fixed(a);
        }
        None => fixed(placeholder(
            "artifact jar=\"local:///opt/flink/usrlib/job.jar\"".into(),
            "the job artifact",
            todo,
        )),
    }
    let pooling = job.doc(DocKind::Sink).is_some_and(|d| {
        d.entries.iter().any(|(k, e)| {
            k.ends_with(".transaction-naming-strategy")
                && e.value.flink_text().eq_ignore_ascii_case("pooling")
        })
    });
    if pooling {
        lines.push(Line {
            text: "transactions naming=\"pooling\"".into(),
            what: Some("transaction-naming-strategy POOLING".into()),
        });
    }
    // Everything else the files set: overrides, which flinkgen keeps exactly.
    for (target, kind) in [
        ("flink", DocKind::Flink),
        ("producer", DocKind::Producer),
        ("consumer", DocKind::Consumer),
    ] {
        let Some(doc) = job.doc(kind) else { continue };
        for (key, e) in doc.sorted() {
            if kind == DocKind::Flink && FLINK_FIELDS.contains(&key.as_str()) {
                continue;
            }
            if (kind == DocKind::Producer || kind == DocKind::Consumer)
                && key == "bootstrap.servers"
            {
                continue;
            }
            if !matches!(e.origin, Origin::File { .. } | Origin::Profile { .. }) {
                continue;
            }
            let from = where_from(&e.origin, sources);
            if literal_credential(key, &e.value.flink_text()) {
                not_expressed.push(format!("{from} {key}: {LITERAL_CREDENTIAL}"));
                continue;
            }
            lines.push(Line {
                text: format!(
                    "override {} {} {}   // {from}",
                    kdl_string(target),
                    kdl_string(key),
                    kdl_string(&e.value.flink_text())
                ),
                what: Some(format!("{from} {key}")),
            });
        }
    }
    Draft {
        path: format!("{name}.kdl"),
        head: format!(
            "// Imported by `flinkgen import` from an existing deployment: review the TODO(import) lines.\njob {} {{\n",
            kdl_string(&name)
        ),
        lines,
    }
}

fn cluster_draft(
    c: &ClusterPlan,
    bootstrap: Option<&str>,
    sources: &Sources,
    todo: &mut Vec<String>,
    not_expressed: &mut Vec<String>,
) -> Draft {
    let name = profile_name(&c.name);
    let mut lines = vec![];
    let mut todo_line = |text: String, why: &str| {
        todo.push(format!("cluster `{name}`: {why}"));
        format!("{text}   // TODO(import): {why}")
    };
    let version = match (c.fact("kafka-version"), c.fact_str("kafka-version")) {
        (Some(_), Some(v)) => kdl_string(v),
        _ => {
            let t = todo_line(String::new(), "Kafka version not in the files");
            lines.push(Line {
                text: t.trim_start().to_string(),
                what: None,
            });
            "\"3.9\"".into()
        }
    };
    let brokers = match c.fact_i64("brokers") {
        Some(b) => b.to_string(),
        None => {
            let t = todo_line(String::new(), "broker count not in the files");
            lines.push(Line {
                text: t.trim_start().to_string(),
                what: None,
            });
            "3".into()
        }
    };
    let bootstrap = match bootstrap {
        Some(b) => kdl_string(b),
        None => {
            let t = todo_line(String::new(), "bootstrap servers not in the files");
            lines.push(Line {
                text: t.trim_start().to_string(),
                what: None,
            });
            "\"kafka:9092\"".into()
        }
    };
    lines.push(Line {
        text: format!("kafka version={version} brokers={brokers} bootstrap={bootstrap}"),
        what: None,
    });
    let deployment = c.fact_str("deployment").unwrap_or("plain");
    let dep = match deployment {
        "strimzi" => todo_line(
            "deployment \"strimzi\" version=\"0.45.1\"".into(),
            "Strimzi version not in the files",
        ),
        "bitnami" => todo_line(
            "deployment \"bitnami\" version=\"31.5.0\"".into(),
            "bitnami/kafka chart version not in the files",
        ),
        other => format!("deployment {}", kdl_string(other)),
    };
    lines.push(Line {
        text: dep,
        what: None,
    });
    for (key, e) in c.current.sorted() {
        let from = where_from(&e.origin, sources);
        if literal_credential(key, &e.value.kafka_text()) {
            not_expressed.push(format!("{from} {key}: {LITERAL_CREDENTIAL}"));
            continue;
        }
        lines.push(Line {
            text: format!(
                "broker {} {}   // {from}",
                kdl_string(key),
                kdl_string(&e.value.kafka_text())
            ),
            what: Some(format!("{from} {key}")),
        });
    }
    for (topic, doc) in &c.topics {
        let mut t = format!("topic {}", kdl_string(topic));
        if let Some(ms) = doc.get("retention.ms").and_then(Value::as_i64) {
            let _ = write!(t, " retention={}", kdl_string(&duration(ms.max(0) as u64)));
        }
        if let Some(n) = doc.get("min.insync.replicas").and_then(Value::as_i64) {
            let _ = write!(t, " min-insync-replicas={n}");
        }
        if let Some(n) = doc.get("max.message.bytes").and_then(Value::as_i64) {
            let _ = write!(
                t,
                " max-message-bytes={}",
                kdl_string(&size(n.max(0) as u64))
            );
        }
        lines.push(Line {
            text: t,
            what: Some(format!("topic {topic}")),
        });
    }
    Draft {
        path: format!("cluster-{name}.kdl"),
        head: format!(
            "// Imported by `flinkgen import` from an existing deployment: review the TODO(import) lines.\ncluster {} {{\n",
            kdl_string(&name)
        ),
        lines,
    }
}

/// Load and resolve the drafts; the lines flinkgen refuses, with its messages.
fn refusals(
    drafts: &[Draft],
    packs: &crate::policy::PackSet,
) -> (Vec<(usize, usize, String)>, Vec<String>) {
    let mut sources = Sources::default();
    let mut profiles = Profiles::default();
    let mut errors = vec![];
    let mut ranges = vec![];
    for d in drafts {
        let (text, r) = d.render();
        let id = sources.add(d.path.clone(), text);
        ranges.push((id, r));
        if let Err(e) = profile::load_file(&sources, id, &mut profiles) {
            errors.extend(e.0);
        }
    }
    if errors.is_empty()
        && let Err(e) = crate::resolve::resolve(profiles, packs)
    {
        errors = e.0;
    }
    let mut refused = vec![];
    let mut unplaced = vec![];
    for e in errors {
        let hit = e.labels.iter().find_map(|l| line_of(&ranges, l.span));
        match hit {
            Some((draft, line)) if drafts[draft].lines[line].what.is_some() => {
                refused.push((draft, line, e.message.clone()));
            }
            _ => unplaced.push(e.message.clone()),
        }
    }
    (refused, unplaced)
}

fn line_of(ranges: &[(u32, Vec<(usize, usize)>)], span: Span) -> Option<(usize, usize)> {
    ranges.iter().enumerate().find_map(|(d, (id, lines))| {
        (*id == span.file).then(|| {
            lines
                .iter()
                .position(|(a, b)| (*a..*b).contains(&(span.offset as usize)))
                .map(|l| (d, l))
        })?
    })
}

pub fn import(l: &Linted) -> Imported {
    let mut todo = vec![];
    let mut not_expressed = vec![];
    let mut drafts = vec![];
    // A placeholder instance type that exists in the catalog, so the profiles resolve.
    let names = l.packs.instance_names();
    let instance = names
        .iter()
        .find(|n| **n == "m6i.4xlarge")
        .or(names.first())
        .copied()
        .unwrap_or("m6i.4xlarge");
    for c in &l.plan.clusters {
        let bootstrap = l
            .plan
            .jobs
            .iter()
            .filter(|j| j.cluster == c.name)
            .find_map(|j| {
                [DocKind::Producer, DocKind::Consumer]
                    .iter()
                    .find_map(|k| j.get(*k, "bootstrap.servers"))
                    .map(|e| e.value.flink_text())
            });
        drafts.push(cluster_draft(
            c,
            bootstrap.as_deref(),
            &l.sources,
            &mut todo,
            &mut not_expressed,
        ));
    }
    for j in &l.plan.jobs {
        let cluster = l
            .plan
            .cluster(&j.cluster)
            .map_or_else(|| "kafka".to_string(), |c| profile_name(&c.name));
        drafts.push(job_draft(
            j,
            &cluster,
            instance,
            &l.sources,
            &mut todo,
            &mut not_expressed,
        ));
        if let Some(d) = j.doc(DocKind::Downstream) {
            for (key, e) in d.sorted() {
                not_expressed.push(format!(
                    "{} {key}: flinkgen writes the downstream readers' settings itself (isolation.level follows the delivery guarantee)",
                    where_from(&e.origin, &l.sources)
                ));
            }
        }
        if let Some(d) = j.doc(DocKind::Sink) {
            for (key, e) in d.sorted() {
                // The guarantee is `delivery`, the topic is the sink's, the naming strategy is
                // `transactions naming=`: expressed. The prefix is flinkgen's to derive.
                if key.ends_with(".delivery-guarantee")
                    || key.ends_with(".topic")
                    || key.ends_with(".transaction-naming-strategy")
                {
                    continue;
                }
                not_expressed.push(format!(
                    "{} {key}: flinkgen derives the transactional-id prefix (<environment>-<cluster>-<job>-<sink>); a running job that changes its prefix leaves its open transactions to time out, so switch at a savepoint with the old transactions committed",
                    where_from(&e.origin, &l.sources)
                ));
            }
        }
    }
    // Drop what flinkgen refuses, with its reason, until the profiles resolve.
    let mut remaining = vec![];
    for _ in 0..64 {
        let (refused, unplaced) = refusals(&drafts, &l.packs);
        remaining = unplaced;
        if refused.is_empty() {
            break;
        }
        let mut refused = refused;
        refused.sort_by_key(|r| std::cmp::Reverse((r.0, r.1)));
        refused.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        for (d, line, why) in refused {
            let removed = drafts[d].lines.remove(line);
            not_expressed.push(format!("{}: {why}", removed.what.unwrap_or_default()));
        }
    }
    not_expressed.sort();
    let files = drafts
        .iter()
        .map(|d| ImportedFile {
            path: d.path.clone(),
            text: d.render().0,
        })
        .collect();
    Imported {
        files,
        not_expressed,
        todo,
        remaining,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kdl_strings_parse_back() {
        for s in [
            "plain",
            "a\"b\\c",
            "line\nbreak",
            "tab\there",
            "\u{1}\u{202E}x",
            "é😀",
            "",
        ] {
            let doc: kdl::KdlDocument = format!("n {}", kdl_string(s)).parse().unwrap();
            let v = doc.nodes()[0].entries()[0]
                .value()
                .as_string()
                .unwrap()
                .to_string();
            assert_eq!(v, s);
        }
    }

    #[test]
    fn units_and_names() {
        assert_eq!(duration(30_000), "30s");
        assert_eq!(duration(900_000), "15min");
        assert_eq!(duration(604_800_000), "7d");
        assert_eq!(duration(1500), "1500ms");
        assert_eq!(size(1 << 30), "1GiB");
        assert_eq!(profile_name("Orders_Enrichment.v2"), "orders-enrichment-v2");
        assert_eq!(profile_name("2fast"), "job-2fast");
    }
}
