//! Pieces → Plan. Files in one group (directory) describe one job; client files without a Flink
//! config of their own belong to the only job there is, or form a job of their own. All broker
//! sources of a group are one cluster. Values keep their file spans as `Origin::File`.

use std::collections::BTreeMap;

use crate::diag::{Diagnostic, Span};
use crate::lint::facts::Facts;
use crate::lint::read::{Kv, Piece};
use crate::lint::sql::SqlTable;
use crate::lint::{LATEST_FLINK, LATEST_KAFKA};
use crate::plan::{ClusterPlan, DocKind, Document, Input, JobPlan, Origin, Plan, Table, Value};
use crate::policy::PackSet;
use crate::policy::flink_options::{self, Lookup, PLUGIN_PREFIXES};
use crate::policy::kafka_model;
use crate::profile::validate::SUGGESTION_LIMIT;
use crate::resolve::policy::{Params, threshold_facts};
use crate::units;

pub struct Built {
    pub plan: Plan,
    /// Notes about the files themselves (unknown keys, values Flink cannot parse).
    pub notes: Vec<Diagnostic>,
    pub assumptions: Vec<String>,
}

#[derive(Default)]
struct JobDraft {
    group: String,
    name: Option<(String, Span)>,
    flink: Vec<Kv>,
    spec: Vec<Kv>,
    flink_version: Option<(String, Span)>,
    image_version: Option<(String, Span)>,
    clients: Vec<(DocKind, Vec<Kv>, Span)>,
    sink_settings: Vec<(String, Vec<Kv>, Span)>,
    tables: Vec<SqlTable>,
    head: Option<Span>,
}

#[derive(Default)]
struct ClusterDraft {
    group: String,
    name: Option<String>,
    deployment: Option<&'static str>,
    settings: Vec<Kv>,
    brokers: Option<(i64, Span)>,
    pool_brokers: Option<(i64, Span)>,
    version: Option<(String, Span)>,
    head: Option<Span>,
}

fn file_origin(span: Span) -> Origin {
    Origin::File { span }
}

pub fn assemble(pieces: Vec<Piece>, facts: &Facts, packs: &PackSet) -> Built {
    let mut jobs: Vec<JobDraft> = vec![];
    let mut clusters: Vec<ClusterDraft> = vec![];
    let mut topics: BTreeMap<String, Vec<Kv>> = BTreeMap::new();
    let mut kafka_images: Vec<(String, (String, Span))> = vec![];
    // Flink sources first: they decide which groups are jobs.
    for p in &pieces {
        if let Piece::Flink { group, .. } | Piece::Deployment { group, .. } = p
            && !jobs.iter().any(|j| &j.group == group)
        {
            jobs.push(JobDraft {
                group: group.clone(),
                ..Default::default()
            });
        }
    }
    for p in pieces {
        match p {
            Piece::Flink { group, settings } => {
                if let Some(j) = jobs.iter_mut().find(|j| j.group == group) {
                    if j.head.is_none() {
                        j.head = settings.first().map(|s| s.key_span);
                    }
                    j.flink.extend(settings);
                }
            }
            Piece::Deployment {
                group,
                name,
                flink_version,
                spec,
                head,
            } => {
                if let Some(j) = jobs.iter_mut().find(|j| j.group == group) {
                    j.name = j.name.take().or(name);
                    j.flink_version = j.flink_version.take().or(flink_version);
                    j.spec.extend(spec);
                    j.head = Some(head);
                }
            }
            Piece::Image {
                group,
                product,
                version,
            } => {
                if product == "flink" {
                    if let Some(j) = jobs.iter_mut().find(|j| j.group == group) {
                        j.image_version.get_or_insert(version);
                    }
                } else {
                    kafka_images.push((group, version));
                }
            }
            Piece::Client {
                group,
                kind,
                props,
                head,
            } => job_for(&mut jobs, &group).clients.push((kind, props, head)),
            Piece::SinkSettings {
                group,
                sink,
                props,
                head,
            } => job_for(&mut jobs, &group)
                .sink_settings
                .push((sink, props, head)),
            Piece::Tables { group, tables } => {
                let kafka: Vec<SqlTable> = tables
                    .into_iter()
                    .filter(|t| {
                        t.option("connector")
                            .is_some_and(|c| c.value.contains("kafka"))
                    })
                    .collect();
                if !kafka.is_empty() {
                    job_for(&mut jobs, &group).tables.extend(kafka);
                }
            }
            Piece::Broker {
                group,
                name,
                deployment,
                settings,
                brokers,
                version,
                head,
            } => {
                let c = match clusters.iter().position(|c| c.group == group) {
                    Some(i) => &mut clusters[i],
                    None => {
                        clusters.push(ClusterDraft {
                            group: group.clone(),
                            ..Default::default()
                        });
                        let last = clusters.len() - 1;
                        &mut clusters[last]
                    }
                };
                if c.name.is_none() {
                    c.name = name;
                }
                if deployment != "plain" || c.deployment.is_none() {
                    c.deployment = Some(deployment);
                }
                let is_pool = deployment == "strimzi" && settings.is_empty() && version.is_none();
                c.settings.extend(settings);
                // KafkaNodePools have no settings of their own: their broker replicas add up.
                match (is_pool, brokers) {
                    (true, Some((n, span))) => {
                        let sum = c.pool_brokers.map_or(0, |p| p.0) + n;
                        c.pool_brokers = Some((sum, span));
                    }
                    _ => c.brokers = c.brokers.or(brokers),
                }
                if c.head.is_none_or(|h| h.len == 0) {
                    c.head = Some(head);
                }
                c.version = c.version.take().or(version);
            }
            Piece::Topic { topic, settings } => topics.entry(topic).or_default().extend(settings),
        }
    }
    for (group, v) in kafka_images {
        if let Some(c) = clusters.iter_mut().find(|c| c.group == group) {
            c.version.get_or_insert(v);
        }
    }

    let mut notes = vec![];
    let mut assumptions = vec![];
    let mut plan = Plan::default();
    let needs_cluster = jobs
        .iter()
        .any(|j| !j.clients.is_empty() || !j.tables.is_empty() || !j.sink_settings.is_empty());
    if clusters.is_empty() && needs_cluster {
        clusters.push(ClusterDraft {
            group: String::new(),
            ..Default::default()
        });
    }
    let mut used_names: Vec<String> = vec![];
    for c in &clusters {
        let cp = cluster_plan(
            c,
            facts,
            &topics,
            &mut used_names,
            &mut notes,
            &mut assumptions,
        );
        plan.clusters.push(cp);
    }
    let mut job_names: Vec<String> = vec![];
    for j in &jobs {
        let cluster = cluster_of(j, &plan.clusters, &mut assumptions);
        let jp = job_plan(
            j,
            cluster,
            facts,
            packs,
            &mut job_names,
            &mut notes,
            &mut assumptions,
        );
        plan.jobs.push(jp);
    }
    plan.packs = packs
        .packs()
        .filter(|p| p.layer != crate::policy::pack::Layer::Product)
        .map(|p| crate::plan::PackUse {
            name: p.name.clone(),
            version: p.version.clone(),
            layer: p.layer.as_str().to_string(),
            sha256: p.sha256.clone(),
        })
        .collect();
    assumptions.sort();
    assumptions.dedup();
    Built {
        plan,
        notes,
        assumptions,
    }
}

/// The cluster a job talks to: the one named in its bootstrap servers, else the only one.
fn cluster_of<'a>(
    j: &JobDraft,
    clusters: &'a [ClusterPlan],
    assumptions: &mut Vec<String>,
) -> Option<&'a ClusterPlan> {
    if clusters.len() <= 1 {
        return clusters.first();
    }
    let servers: Vec<&str> = j
        .clients
        .iter()
        .flat_map(|(_, props, _)| props.iter())
        .filter(|p| p.key == "bootstrap.servers")
        .map(|p| p.value.as_str())
        .chain(
            j.tables
                .iter()
                .filter_map(|t| t.option("properties.bootstrap.servers"))
                .map(|o| o.value.as_str()),
        )
        .collect();
    let named = clusters.iter().find(|c| {
        servers.iter().any(|s| {
            s.split([',', '.', ':', '-', '/'])
                .any(|part| part == c.name)
        })
    });
    named.or_else(|| {
        assumptions.push(format!(
            "job in {}: no bootstrap.servers names one of the clusters — cluster `{}` assumed",
            if j.group.is_empty() { "." } else { &j.group },
            clusters[0].name
        ));
        clusters.first()
    })
}

/// The job a client file belongs to: its group's, else the only one, else a job of its own.
fn job_for<'a>(jobs: &'a mut Vec<JobDraft>, group: &str) -> &'a mut JobDraft {
    let i = match jobs.iter().position(|j| j.group == group) {
        Some(i) => i,
        None if jobs.len() == 1 => 0,
        None => {
            jobs.push(JobDraft {
                group: group.to_string(),
                ..Default::default()
            });
            jobs.len() - 1
        }
    };
    &mut jobs[i]
}

fn unique(base: &str, used: &mut Vec<String>) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while used.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    used.push(name.clone());
    name
}

/// A name from a group: its last directory, or a compose file's stem.
fn group_name(group: &str, fallback: &str) -> String {
    let last = group.rsplit('/').next().unwrap_or("");
    let last = last
        .strip_suffix(".yml")
        .or_else(|| last.strip_suffix(".yaml"))
        .unwrap_or(last);
    match last {
        n if !n.is_empty() && n != "." && n != ".." => n.to_string(),
        _ => fallback.to_string(),
    }
}

fn cluster_plan(
    c: &ClusterDraft,
    facts: &Facts,
    topics: &BTreeMap<String, Vec<Kv>>,
    used: &mut Vec<String>,
    notes: &mut Vec<Diagnostic>,
    assumptions: &mut Vec<String>,
) -> ClusterPlan {
    let base = c
        .name
        .clone()
        .unwrap_or_else(|| group_name(&c.group, "kafka"));
    let mut cp = ClusterPlan {
        name: unique(&base, used),
        head: c.head,
        ..Default::default()
    };
    let version = match (facts.str("kafka-version"), &c.version) {
        (Some((v, o)), _) => {
            cp.set_fact("kafka-version", Value::Str(major_minor(&v)), o);
            major_minor(&v)
        }
        (None, Some((v, span))) => {
            cp.set_fact(
                "kafka-version",
                Value::Str(major_minor(v)),
                file_origin(*span),
            );
            major_minor(v)
        }
        (None, None) => {
            assumptions.push(format!(
                "cluster `{}`: Kafka version unknown — the broker defaults of Kafka {LATEST_KAFKA} are assumed for unset keys (--fact kafka-version=X)",
                cp.name
            ));
            cp.set_fact(
                "kafka-defaults-version",
                Value::Str(LATEST_KAFKA.into()),
                assumed("kafka-version", LATEST_KAFKA),
            );
            LATEST_KAFKA.to_string()
        }
    };
    let model = kafka_model::model(&version).or_else(|| kafka_model::model(LATEST_KAFKA));
    for s in &c.settings {
        if let Some(m) = model
            && !m.broker.contains_key(s.key.as_str())
            && !m.topic.contains_key(s.key.as_str())
            && !s.key.starts_with("listener.name.")
        {
            notes.push(unknown_key(
                s,
                &format!("Kafka {version} brokers know"),
                m.broker.keys().copied(),
                notes.len(),
            ));
        }
        cp.current.set(
            &s.key,
            Value::Str(s.value.clone()),
            file_origin(s.value_span),
        );
    }
    match (facts.get("brokers"), c.brokers.or(c.pool_brokers)) {
        (Some((v, o)), _) => cp.set_fact("brokers", v, o),
        (None, Some((n, span))) => cp.set_fact("brokers", Value::Int(n), file_origin(span)),
        (None, None) => assumptions.push(format!(
            "cluster `{}`: broker count unknown — replication factors are not checked against it (--fact brokers=N)",
            cp.name
        )),
    }
    let deployment = match facts.str("deployment") {
        Some((d, o)) => {
            cp.set_fact("deployment", Value::Str(d.clone()), o);
            d
        }
        None => {
            let d = c.deployment.unwrap_or("plain");
            cp.set_fact("deployment", Value::Str(d.into()), assumed("deployment", d));
            d.to_string()
        }
    };
    let _ = deployment;
    for (topic, settings) in topics {
        let mut doc = Document::default();
        for s in settings {
            doc.set(
                &s.key,
                Value::Str(s.value.clone()),
                file_origin(s.value_span),
            );
        }
        cp.topics.insert(topic.clone(), doc);
    }
    cp
}

fn major_minor(v: &str) -> String {
    v.split('.').take(2).collect::<Vec<_>>().join(".")
}

fn assumed(what: &str, value: &str) -> Origin {
    Origin::Model {
        model: "lint-assumption".into(),
        steps: vec![format!(
            "{what} not stated by any file or --fact: {value} assumed"
        )]
        .into(),
        inputs: vec![].into(),
    }
}

/// The note for a key the product does not know; `earlier` notes of the same unit decide whether
/// it still gets a "did you mean" ([`SUGGESTION_LIMIT`]).
fn unknown_key<'a>(
    s: &Kv,
    what: &str,
    known: impl IntoIterator<Item = &'a str>,
    earlier: usize,
) -> Diagnostic {
    let mut d = Diagnostic {
        severity: crate::diag::Severity::Warning,
        code: None,
        message: format!("`{}` is not a setting {what}: it is ignored", s.key),
        labels: vec![],
        help: None,
    }
    .with_label(s.key_span, "unknown key");
    let suggestion = (earlier < SUGGESTION_LIMIT)
        .then(|| crate::profile::validate::did_you_mean(&s.key, known))
        .flatten();
    if let Some(m) = suggestion {
        d = d.with_help(format!("did you mean `{m}`?"));
    } else {
        d = d.with_help("remove it, or check the spelling against the product's documentation");
    }
    d
}

/// The Flink value typed by its option: durations in ms, sizes in bytes, so checks compare numbers.
fn flink_value(ty: &str, text: &str) -> Result<Value, String> {
    // Types as the option catalogues name them (policies/flink/options/*.tsv).
    match ty {
        "duration" => units::parse_flink_duration_ms(text).map(Value::Millis),
        "memory" => units::parse_flink_memory(text).map(Value::Bytes),
        _ => Ok(Value::Str(text.to_string())),
    }
}

#[allow(clippy::too_many_arguments)]
fn job_plan(
    j: &JobDraft,
    cluster: Option<&ClusterPlan>,
    facts: &Facts,
    packs: &PackSet,
    used: &mut Vec<String>,
    notes: &mut Vec<Diagnostic>,
    assumptions: &mut Vec<String>,
) -> JobPlan {
    let base = j
        .name
        .as_ref()
        .map_or_else(|| group_name(&j.group, "job"), |n| n.0.clone());
    let mut jp = JobPlan {
        name: unique(&base, used),
        cluster: cluster.map(|c| c.name.clone()).unwrap_or_default(),
        head: j.head.or(j.clients.first().map(|c| c.2)),
        config_file: "config.yaml".into(),
        ..Default::default()
    };
    let name = jp.name.clone();

    // Versions.
    let flink_version = match (
        facts.str("flink-version"),
        &j.flink_version,
        &j.image_version,
    ) {
        (Some((v, o)), _, _) => Some((major_minor(&v), o)),
        (None, Some((v, s)), _) | (None, None, Some((v, s))) => {
            Some((major_minor(v), file_origin(*s)))
        }
        _ => None,
    };
    let catalog_version = match &flink_version {
        Some((v, o)) => {
            jp.set_fact("flink-version", Value::Str(v.clone()), o.clone());
            v.clone()
        }
        None => {
            if !j.flink.is_empty() {
                assumptions.push(format!(
                    "job `{name}`: Flink version unknown — keys and defaults of Flink {LATEST_FLINK} are used to read its config (--fact flink-version=X)"
                ));
            }
            LATEST_FLINK.to_string()
        }
    };
    for fact in [
        "connector-version",
        "operator-version",
        "kafka-clients-version",
    ] {
        if let Some((v, o)) = facts.str(fact) {
            jp.set_fact(fact, Value::Str(v), o);
        }
    }
    if let Some(c) = cluster
        && let Some(f) = c.fact("kafka-version")
    {
        jp.set_fact("kafka-version", f.value.clone(), f.origin.clone());
    }

    // Flink configuration, each key as the version reads it.
    let catalog =
        flink_options::catalog(&catalog_version).or_else(|| flink_options::catalog(LATEST_FLINK));
    let mut flink = Document::default();
    for s in &j.flink {
        let (key, ty) = match catalog.map(|c| c.lookup(&s.key)) {
            Some(Lookup::Known(def)) => (def.key.clone(), def.ty.clone()),
            Some(Lookup::Alias { current }) => (current.to_string(), type_of(catalog, current)),
            Some(Lookup::Deprecated {
                replacement: Some(r),
            }) => (r.to_string(), type_of(catalog, r)),
            Some(Lookup::Deprecated { replacement: None }) => (s.key.clone(), String::new()),
            Some(Lookup::Unknown) => {
                if !PLUGIN_PREFIXES.iter().any(|p| s.key.starts_with(p))
                    && let Some(c) = catalog
                {
                    notes.push(unknown_key(
                        s,
                        &format!("Flink {catalog_version} knows"),
                        c.keys(),
                        notes.len(),
                    ));
                }
                (s.key.clone(), String::new())
            }
            None => (s.key.clone(), String::new()),
        };
        let value = match flink_value(&ty, &s.value) {
            Ok(v) => v,
            Err(why) => {
                notes.push(
                    Diagnostic::error(format!(
                        "job `{name}`: Flink cannot read `{}` as {ty}: {why}",
                        s.key
                    ))
                    .with_label(s.value_span, "this value")
                    .with_help("Flink fails at start-up on this value; fix its unit or number"),
                );
                Value::Str(s.value.clone())
            }
        };
        flink.set(key, value, file_origin(s.value_span));
    }
    // What the operator writes into the config from the FlinkDeployment.
    let mut k8s = Document::default();
    for s in &j.spec {
        k8s.set(
            &s.key,
            Value::Str(s.value.clone()),
            file_origin(s.value_span),
        );
        let target = match s.key.as_str() {
            "spec.taskManager.resource.memory" => Some("taskmanager.memory.process.size"),
            "spec.jobManager.resource.memory" => Some("jobmanager.memory.process.size"),
            "spec.job.parallelism" => Some("parallelism.default"),
            _ => None,
        };
        if let Some(t) = target {
            let v = if t == "parallelism.default" {
                if flink.get(t).is_some() {
                    continue;
                }
                Value::Str(s.value.clone())
            } else {
                match operator_memory(&s.value) {
                    Some(b) => Value::Bytes(b),
                    None => continue,
                }
            };
            flink.set(t, v, file_origin(s.value_span));
        }
    }
    let interval = flink.get("execution.checkpointing.interval").cloned();
    jp.docs.insert(DocKind::Flink, flink);
    if !k8s.entries.is_empty() {
        jp.docs.insert(DocKind::K8s, k8s);
    }

    // Kafka clients and SQL tables.
    let mut delivery: Option<(String, Origin)> = facts.str("delivery");
    let clients_model = client_model(&jp);
    for (kind, props, _) in &j.clients {
        for p in props {
            client_key_note(clients_model, *kind, p, notes);
            jp.doc_mut(*kind).set(
                &p.key,
                Value::Str(p.value.clone()),
                file_origin(p.value_span),
            );
        }
    }
    for t in &j.tables {
        let is_sink = t.inserted || t.options.iter().any(|o| o.key.starts_with("sink."));
        let kind = if is_sink {
            DocKind::Producer
        } else {
            DocKind::Consumer
        };
        for o in &t.options {
            if let Some(k) = o.key.strip_prefix("properties.") {
                let kv = Kv {
                    key: k.to_string(),
                    value: o.value.clone(),
                    key_span: o.key_span,
                    value_span: o.value_span,
                };
                client_key_note(clients_model, kind, &kv, notes);
                jp.doc_mut(kind)
                    .set(k, Value::Str(o.value.clone()), file_origin(o.value_span));
            }
            if is_sink && let Some(k) = o.key.strip_prefix("sink.") {
                jp.doc_mut(DocKind::Sink).set(
                    format!("{}.{k}", t.name),
                    Value::Str(o.value.clone()),
                    file_origin(o.value_span),
                );
                if k == "delivery-guarantee" && delivery.is_none() {
                    delivery = Some((
                        o.value.replace('_', "-").to_lowercase(),
                        file_origin(o.value_span),
                    ));
                }
            }
        }
        let table = Table {
            name: t.name.clone(),
            topic: t
                .option("topic")
                .map(|o| o.value.clone())
                .unwrap_or_default(),
            partitions: None,
            format: t.option("format").map(|o| o.value.clone()),
        };
        if is_sink {
            jp.sinks.push(table);
        } else {
            jp.sources.push(table);
        }
    }
    for (sink, props, _) in &j.sink_settings {
        let mut topic = String::new();
        for p in props {
            if p.key == "topic" {
                topic.clone_from(&p.value);
            }
            if p.key == "delivery-guarantee" && delivery.is_none() {
                delivery = Some((
                    p.value.replace('_', "-").to_lowercase(),
                    file_origin(p.value_span),
                ));
            }
            jp.doc_mut(DocKind::Sink).set(
                format!("{sink}.{}", p.key),
                Value::Str(p.value.clone()),
                file_origin(p.value_span),
            );
        }
        if !jp.sinks.iter().any(|t| &t.name == sink) {
            jp.sinks.push(Table {
                name: sink.clone(),
                topic,
                partitions: None,
                format: None,
            });
        }
    }
    if jp.doc(DocKind::Producer).is_some() && jp.sinks.is_empty() {
        jp.sinks.push(Table {
            name: "producer".into(),
            topic: String::new(),
            partitions: None,
            format: None,
        });
    }
    if jp.doc(DocKind::Consumer).is_some() && jp.sources.is_empty() {
        jp.sources.push(Table {
            name: "consumer".into(),
            topic: String::new(),
            partitions: None,
            format: None,
        });
    }

    // Delivery: stated, or evident from a transactional producer, or KafkaSink's default.
    if delivery.is_none()
        && let Some(e) = ["transactional.id", "transaction.timeout.ms"]
            .iter()
            .find_map(|k| jp.get(DocKind::Producer, k))
    {
        delivery = Some(("exactly-once".into(), e.origin.clone()));
    }
    let delivery = match delivery {
        Some(d) => d,
        None => {
            if !jp.sinks.is_empty() {
                assumptions.push(format!(
                    "job `{name}`: delivery guarantee not stated — KafkaSink's default (none) assumed (--fact delivery=exactly-once)"
                ));
            }
            ("none".into(), assumed("delivery", "none"))
        }
    };
    let eos = delivery.0 == "exactly-once" && !jp.sinks.is_empty();
    jp.set_fact("delivery", Value::Str(delivery.0), delivery.1);

    // KafkaSinkBuilder presets transaction.timeout.ms to 1 h; unset means that.
    if eos
        && jp
            .get(DocKind::Producer, "transaction.timeout.ms")
            .is_none()
    {
        jp.doc_mut(DocKind::Producer).set(
            "transaction.timeout.ms",
            Value::Millis(3_600_000),
            Origin::Model {
                model: "product-default".into(),
                steps: vec![
                    "not set in the producer properties: KafkaSinkBuilder sets 1 h (DEFAULT_KAFKA_TRANSACTION_TIMEOUT)".into(),
                ].into(),
                inputs: vec![].into(),
            },
        );
    }

    // State backend.
    let backend = jp
        .get(DocKind::Flink, "state.backend.type")
        .map(|e| (e.value.flink_text().to_lowercase(), e.origin.clone()));
    let (backend, origin) = backend.unwrap_or((
        "hashmap".into(),
        assumed("state backend", "hashmap (Flink's default)"),
    ));
    let backend = if backend.contains("rocksdb") {
        "rocksdb".to_string()
    } else {
        backend
    };
    jp.set_fact("state-backend", Value::Str(backend), origin);

    // Policy parameters and the recovery facts, for the versions that are known.
    let mut selectors: BTreeMap<&'static str, String> = BTreeMap::new();
    for (sel, fact) in [
        ("flink", "flink-version"),
        ("operator", "operator-version"),
        ("connector", "connector-version"),
        ("kafka", "kafka-version"),
    ] {
        if let Some(v) = jp.fact_str(fact) {
            selectors.insert(sel, v.to_string());
        }
    }
    compatibility_facts(&mut jp, packs, &selectors);
    let policy = packs.policy_packs(&selectors);
    let params = Params { policy: &policy };
    for (fact, value, origin) in threshold_facts(&params) {
        jp.set_fact(fact, value, origin);
    }
    let recovery = |fact: &str, param: &str, default: u64, assumptions: &mut Vec<String>| {
        if let Some((v, o)) = facts.get(fact) {
            return (v.as_i64().unwrap_or(0).max(0) as u64, o);
        }
        let (v, input) = params.ms(param, default);
        if eos {
            assumptions.push(format!(
                "job `{name}`: {fact} not stated — flinkgen's policy default {} assumed (--fact {fact}=…)",
                units::human_duration(v)
            ));
        }
        (
            v,
            Origin::Model {
                model: "policy".into(),
                steps: vec![format!("{param}: policy default")].into(),
                inputs: input.into_iter().collect(),
            },
        )
    };
    let (downtime, downtime_origin) = recovery(
        "max-downtime",
        "recovery.max-downtime",
        900_000,
        assumptions,
    );
    let (restore, restore_origin) = recovery(
        "restorable-for",
        "recovery.restorable-for",
        259_200_000,
        assumptions,
    );
    jp.set_fact(
        "max-downtime",
        Value::Millis(downtime),
        downtime_origin.clone(),
    );
    jp.set_fact("restorable-for", Value::Millis(restore), restore_origin);
    if let Some((v, o)) = facts.get("record-size") {
        jp.set_fact("record-size", v, o);
    }

    // The transaction timeline, from the checkpoint settings as Flink reads them.
    if eos && let Some(Value::Millis(interval)) = interval {
        let flink_doc = jp.doc(DocKind::Flink);
        let flink_pack = packs.product(
            "flink",
            &[("flink", catalog_version.clone())].into_iter().collect(),
        );
        let setting = |key: &str, default: &str| -> (u64, Option<Span>) {
            match flink_doc.and_then(|d| d.entry(key)) {
                Some(e) => (
                    e.value.as_i64().unwrap_or(0).max(0) as u64,
                    e.origin.spans().first().copied(),
                ),
                None => {
                    let text = flink_pack
                        .and_then(|p| p.defaults.iter().find(|d| d.0 == key))
                        .map_or(default, |d| d.1.as_str());
                    let v = units::parse_flink_duration_ms(text)
                        .or_else(|_| text.parse::<u64>().map_err(|e| e.to_string()))
                        .unwrap_or(0);
                    (v, None)
                }
            }
        };
        let (pause, pause_span) = setting("execution.checkpointing.min-pause", "0 ms");
        let (timeout, timeout_span) = setting("execution.checkpointing.timeout", "10 min");
        let (tolerable, tolerable_span) =
            setting("execution.checkpointing.tolerable-failed-checkpoints", "0");
        let (margin, margin_in) = params.ms("kafka.transaction-margin", 300_000);
        let (needed, steps) =
            crate::resolve::kafka::timeline(interval, pause, timeout, tolerable, downtime, margin);
        let interval_span = jp
            .get(DocKind::Flink, "execution.checkpointing.interval")
            .and_then(|e| e.origin.spans().first().copied());
        let input = |n: &str, v: String, span: Option<Span>| Input {
            name: n.into(),
            value: v,
            span,
        };
        let mut inputs = vec![
            input(
                "checkpoint interval",
                units::human_duration(interval),
                interval_span,
            ),
            input(
                "checkpoint min-pause",
                units::human_duration(pause),
                pause_span,
            ),
            input(
                "checkpoint timeout",
                units::human_duration(timeout),
                timeout_span,
            ),
            input(
                "tolerable failed checkpoints",
                tolerable.to_string(),
                tolerable_span,
            ),
            input(
                "max downtime",
                units::human_duration(downtime),
                downtime_origin.spans().first().copied(),
            ),
        ];
        inputs.extend(margin_in);
        jp.set_fact(
            "transaction-needed",
            Value::Millis(needed),
            Origin::Model {
                model: "transaction-timeline".into(),
                steps: steps.into(),
                inputs: inputs.into(),
            },
        );
    }
    jp
}

/// What the stated connector and operator releases support, as `resolve` records it.
fn compatibility_facts(
    jp: &mut JobPlan,
    packs: &PackSet,
    selectors: &BTreeMap<&'static str, String>,
) {
    for (product, fact, prop, version_fact) in [
        (
            "connector",
            "connector-supports-flink",
            "flink",
            "connector-version",
        ),
        (
            "operator",
            "operator-supports-flink",
            "flink-versions",
            "operator-version",
        ),
    ] {
        let Some(v) = selectors.get(product) else {
            continue;
        };
        let Some(pack) = packs.product(product, selectors) else {
            continue;
        };
        let release = pack.releases.iter().find(|r| &r.version == v).or_else(|| {
            (product == "operator")
                .then(|| pack.releases.last())
                .flatten()
        });
        let Some(r) = release else { continue };
        let origin = Origin::ProductDefault {
            pack: pack.name.clone(),
            version: pack.version.clone(),
            span: r.span,
        };
        if let Some(fv) = r.props.get(prop) {
            jp.set_fact(fact, Value::Str(fv.clone()), origin.clone());
        }
        if product == "connector"
            && jp.fact(version_fact).is_some()
            && jp.fact("kafka-clients-version").is_none()
            && let Some(c) = r.props.get("kafka-clients")
        {
            jp.set_fact("kafka-clients-version", Value::Str(c.clone()), origin);
        }
    }
}

fn type_of(catalog: Option<&flink_options::Catalog>, key: &str) -> String {
    catalog
        .and_then(|c| c.options.get(key))
        .map(|d| d.ty.clone())
        .unwrap_or_default()
}

/// The FlinkDeployment's `resource.memory` as the operator reads it: Flink's MemorySize first
/// (`2048m` is 2048 MiB), else a Kubernetes quantity (`2Gi`).
fn operator_memory(text: &str) -> Option<u64> {
    units::parse_flink_memory(text)
        .ok()
        .or_else(|| units::parse_k8s_quantity(text).ok().map(|b| b as u64))
}

/// The client model for the job's kafka-clients (or brokers') version.
fn client_model(jp: &JobPlan) -> Option<&'static kafka_model::KafkaModel> {
    let version = jp
        .fact_str("kafka-clients-version")
        .or_else(|| jp.fact_str("kafka-version"))
        .map_or_else(|| LATEST_KAFKA.to_string(), major_minor);
    kafka_model::model(&version).or_else(|| kafka_model::model(LATEST_KAFKA))
}

/// Client keys the Kafka clients do not know are ignored by them (with a log line nobody reads).
fn client_key_note(
    model: Option<&kafka_model::KafkaModel>,
    kind: DocKind,
    p: &Kv,
    notes: &mut Vec<Diagnostic>,
) {
    let Some(m) = model else { return };
    let (known, what) = match kind {
        DocKind::Producer => (&m.producer, "Kafka producers know"),
        _ => (&m.consumer, "Kafka consumers know"),
    };
    // Config providers' own settings are open-ended.
    // (`config.providers` is read by every AbstractConfig, though not every model lists it.)
    if known.contains_key(p.key.as_str()) || p.key.starts_with("config.providers") {
        return;
    }
    notes.push(unknown_key(p, what, known.keys().copied(), notes.len()));
}
