//! resolve: profiles + policy packs → Plan. Pure: no I/O.
//!
//! Order per job (each step sees the values of the steps before it):
//! facts → deployment basics → sizing → checkpointing → practice/organisation rules (Flink,
//! Kubernetes) → profile overrides (Flink, Kubernetes) → memory model → Kafka clients and the
//! transaction timeline → rules and overrides for the Kafka documents. Then every cluster's
//! jobs are reconciled into one proposed broker change per cluster.

pub mod budget;
pub mod checkpoint;
pub mod cluster;
pub mod context;
pub mod kafka;
pub mod local_state;
pub mod memory;
pub mod overrides;
pub mod policy;
pub mod rules;
pub mod sizing;

use std::collections::{BTreeMap, HashMap};

use context::JobCtx;
use serde_json::json;

use crate::diag::{Diagnostic, InputErrors};
use crate::plan::{DocKind, Input, JobPlan, Origin, PackUse, Plan, Table, Value};
use crate::policy::PackSet;
use crate::profile::validate::did_you_mean;
use crate::profile::{ClusterProfile, JobProfile, Located, OverrideTarget, Profiles};
use crate::units::human_size;

/// Parse the Kafka models and Flink option catalogues the profiles will need, side by side: each
/// is parsed on first use, and a small build would otherwise parse them one after another on
/// its critical path.
fn warm_models(profiles: &Profiles) {
    use rayon::prelude::*;
    let mut kafka: Vec<&str> = profiles
        .clusters
        .iter()
        .map(|c| c.value.kafka.version.as_str())
        .collect();
    kafka.sort_unstable();
    kafka.dedup();
    let mut flink: Vec<&str> = profiles
        .jobs
        .iter()
        .filter(|j| {
            j.value
                .overrides
                .iter()
                .any(|o| o.target == OverrideTarget::Flink)
        })
        .map(|j| j.value.flink.version.as_str())
        .collect();
    flink.sort_unstable();
    flink.dedup();
    rayon::join(
        || {
            kafka.par_iter().for_each(|v| {
                let _ = crate::policy::kafka_model::model(v);
            })
        },
        || {
            flink.par_iter().for_each(|v| {
                let _ = crate::policy::flink_options::catalog(v);
            })
        },
    );
}

/// The whole fleet at once: every group resolved and merged into one plan (jobs in input order,
/// clusters in profile order). `explain`, `diff`, `import` and the tests read a whole plan;
/// `build` and `check` stream the groups instead (`stream`), so that a fleet's plans are never
/// all in memory.
pub fn resolve(profiles: Profiles, packs: &PackSet) -> Result<Plan, InputErrors> {
    use rayon::prelude::*;
    let (fleet, groups) = Fleet::new(profiles, packs);
    let resolved: Vec<Resolved> = groups
        .into_par_iter()
        .map(|g| fleet.resolve_group(g))
        .collect();
    let mut errors = fleet.errors.clone();
    for r in &resolved {
        errors.extend(r.errors.iter().cloned());
    }
    if !errors.is_empty() {
        errors.sort_by_key(|(at, _)| *at);
        return Err(InputErrors(errors.into_iter().map(|(_, d)| d).collect()));
    }
    let mut jobs: Vec<(usize, JobPlan)> = vec![];
    let mut clusters: Vec<(usize, crate::plan::ClusterPlan)> = vec![];
    let mut used: BTreeMap<String, PackUse> = BTreeMap::new();
    for r in resolved {
        used.extend(r.packs);
        // Without errors every job of the group is in its plan, in the group's order.
        jobs.extend(r.jobs.into_iter().zip(r.plan.jobs));
        clusters.extend(r.plan.clusters.into_iter().map(|c| (r.cluster, c)));
    }
    jobs.sort_by_key(|(i, _)| *i);
    clusters.sort_by_key(|(i, _)| *i);
    Ok(Plan {
        jobs: jobs.into_iter().map(|(_, j)| j).collect(),
        clusters: clusters.into_iter().map(|(_, c)| c).collect(),
        packs: used.into_values().collect(),
    })
}

/// Where an input error belongs in the report: profile-wide errors first, then the clusters',
/// then the jobs' in input order — the same order whichever group found them first.
pub type ErrorAt = (u8, usize);

/// A fleet cut into groups that resolve independently: one Kafka cluster and the jobs that use
/// it. A job reads only its own cluster's facts, a cluster is reconciled only with its own jobs,
/// and every check compares jobs only within one cluster (`check`), so a group is a complete
/// plan for everything it contains. The fleet keeps the cluster profiles; each group owns its
/// job profiles, which go as soon as the group is resolved.
pub struct Fleet<'a> {
    packs: &'a PackSet,
    cluster_profiles: Vec<Located<ClusterProfile>>,
    jobs: usize,
    /// Errors found before any job is resolved: duplicate names, unknown clusters, clusters.
    pub errors: Vec<(ErrorAt, Diagnostic)>,
    /// Each cluster profile's plan before reconciliation (`None` when it has errors) and its
    /// facts as the jobs' expressions see them (converted once per cluster).
    clusters: Vec<(Option<crate::plan::ClusterPlan>, minijinja::Value)>,
}

/// One cluster profile (by index) and its jobs (input index and profile, in input order).
pub struct Group {
    pub cluster: usize,
    pub jobs: Vec<(usize, Located<JobProfile>)>,
}

/// A resolved group: a plan of its jobs and (unless it has errors) its reconciled cluster.
pub struct Resolved {
    /// The group's cluster profile (index) and its jobs' input indices.
    pub cluster: usize,
    pub jobs: Vec<usize>,
    pub plan: Plan,
    pub packs: BTreeMap<String, PackUse>,
    pub errors: Vec<(ErrorAt, Diagnostic)>,
}

impl<'a> Fleet<'a> {
    pub fn new(profiles: Profiles, packs: &'a PackSet) -> (Fleet<'a>, Vec<Group>) {
        let mut dup = vec![];
        duplicates(&profiles, &mut dup);
        let mut errors: Vec<(ErrorAt, Diagnostic)> = dup.into_iter().map(|d| ((0, 0), d)).collect();
        warm_models(&profiles);
        let clusters: Vec<(Option<crate::plan::ClusterPlan>, minijinja::Value)> = profiles
            .clusters
            .iter()
            .enumerate()
            .map(|(i, c)| match cluster::build(c, packs) {
                Ok(cp) => {
                    let facts = crate::policy::expr::context(&cluster_json(&cp));
                    (Some(cp), facts)
                }
                Err(e) => {
                    errors.extend(e.into_iter().map(|d| ((1, i), d)));
                    (None, crate::policy::expr::context(&json!({})))
                }
            })
            .collect();
        let names: std::collections::HashSet<&str> = profiles
            .clusters
            .iter()
            .map(|c| c.value.name.as_str())
            .collect();
        for (i, j) in profiles.jobs.iter().enumerate() {
            if !names.contains(j.value.kafka.cluster.as_str()) {
                errors.push(((2, i), unknown_cluster(j, &profiles)));
            }
        }
        drop(names);
        let jobs = profiles.jobs.len();
        let Profiles {
            jobs: job_profiles,
            clusters: cluster_profiles,
        } = profiles;
        let mut groups: Vec<Group> = (0..cluster_profiles.len())
            .map(|cluster| Group {
                cluster,
                jobs: vec![],
            })
            .collect();
        {
            // The first cluster profile of a name takes its jobs (a second one is an error above).
            let mut by_name: HashMap<&str, usize> = HashMap::new();
            for (i, c) in cluster_profiles.iter().enumerate() {
                by_name.entry(c.value.name.as_str()).or_insert(i);
            }
            // Each group's vector exactly sized first: the profiles are moved, not regrown.
            let group_of: Vec<Option<usize>> = job_profiles
                .iter()
                .map(|j| by_name.get(j.value.kafka.cluster.as_str()).copied())
                .collect();
            let mut sizes = vec![0usize; groups.len()];
            for g in group_of.iter().flatten() {
                sizes[*g] += 1;
            }
            for (group, n) in groups.iter_mut().zip(sizes) {
                group.jobs = Vec::with_capacity(n);
            }
            for ((i, j), g) in job_profiles.into_iter().enumerate().zip(group_of) {
                if let Some(g) = g {
                    groups[g].jobs.push((i, j));
                }
            }
        }
        (
            Fleet {
                packs,
                cluster_profiles,
                jobs,
                errors,
                clusters,
            },
            groups,
        )
    }

    /// How many job profiles the fleet has (resolved or not).
    pub fn jobs(&self) -> usize {
        self.jobs
    }

    /// Resolve a group's jobs (in parallel) and reconcile its cluster with them. The group's
    /// job profiles are dropped here: nothing later reads a profile.
    pub fn resolve_group(&self, g: Group) -> Resolved {
        use rayon::prelude::*;
        let c = &self.cluster_profiles[g.cluster];
        let (cluster, facts) = &self.clusters[g.cluster];
        let results: Vec<JobResult> = g
            .jobs
            .par_iter()
            .map(|(_, j)| job(j, c, self.packs, facts))
            .collect();
        let mut r = Resolved {
            cluster: g.cluster,
            jobs: g.jobs.iter().map(|(i, _)| *i).collect(),
            plan: Plan::default(),
            packs: BTreeMap::new(),
            errors: vec![],
        };
        drop(g);
        for (&i, result) in r.jobs.iter().zip(results) {
            match result {
                Ok((jp, pack_uses)) => {
                    for u in pack_uses {
                        r.packs.insert(u.name.clone(), u);
                    }
                    r.plan.jobs.push(jp);
                }
                Err(e) => r.errors.extend(e.into_iter().map(|d| ((2, i), d))),
            }
        }
        if let Some(cluster) = cluster {
            let mut cluster = cluster.clone();
            let jobs: Vec<&JobPlan> = r.plan.jobs.iter().collect();
            cluster::reconcile(&mut cluster, &jobs);
            if let Some(k) = cluster
                .fact_str("kafka-pack")
                .and_then(|f| f.split_once('@'))
                .and_then(|(name, version)| self.packs.named(name).filter(|k| k.version == version))
            {
                r.packs.insert(k.name.clone(), pack_use(k));
            }
            r.plan.clusters.push(cluster);
        }
        r.plan.packs = r.packs.values().cloned().collect();
        r
    }
}

fn unknown_cluster(j: &crate::profile::Located<JobProfile>, profiles: &Profiles) -> Diagnostic {
    let names: Vec<&str> = profiles
        .clusters
        .iter()
        .map(|c| c.value.name.as_str())
        .collect();
    let d = Diagnostic::error(format!(
        "job `{}` uses Kafka cluster `{}`, but no cluster profile of that name was given",
        j.value.name, j.value.kafka.cluster
    ))
    .with_label(j.span("/kafka/cluster"), "unknown cluster");
    match did_you_mean(&j.value.kafka.cluster, names.iter().copied()) {
        Some(n) => d.with_help(format!("did you mean `{n}`?")),
        None => d.with_help("pass the cluster's profile too: `flinkgen build jobs/ clusters/`"),
    }
}

fn pack_use(p: &crate::policy::Pack) -> PackUse {
    PackUse {
        name: p.name.clone(),
        version: p.version.clone(),
        layer: p.layer.as_str().into(),
        sha256: p.sha256.clone(),
    }
}

/// Cluster facts as the expression context sees them.
pub fn cluster_json(c: &crate::plan::ClusterPlan) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (k, f) in &c.facts {
        m.insert(k.replace('-', "_"), f.value.to_json());
    }
    m.insert("name".into(), json!(c.name));
    serde_json::Value::Object(m)
}

/// Two profiles of one name (one pass with a map: fleets hold thousands of jobs).
fn duplicates(profiles: &Profiles, errors: &mut Vec<Diagnostic>) {
    let mut jobs: HashMap<&str, &crate::profile::Located<JobProfile>> = HashMap::new();
    for j in &profiles.jobs {
        if let Some(prev) = jobs.insert(j.value.name.as_str(), j) {
            errors.push(
                Diagnostic::error(format!("two job profiles are named `{}`", j.value.name))
                    .with_label(prev.span("/name"), "first here")
                    .with_label(j.span("/name"), "again here")
                    .with_help("job names become directory names and transactional-id prefixes: they must be unique"),
            );
            // Keep the first as the reference for later repeats.
            jobs.insert(prev.value.name.as_str(), prev);
        }
    }
    let mut clusters: HashMap<&str, &crate::profile::Located<crate::profile::ClusterProfile>> =
        HashMap::new();
    for c in &profiles.clusters {
        if let Some(prev) = clusters.insert(c.value.name.as_str(), c) {
            errors.push(
                Diagnostic::error(format!("two cluster profiles are named `{}`", c.value.name))
                    .with_label(prev.span("/name"), "first here")
                    .with_label(c.span("/name"), "again here"),
            );
            clusters.insert(prev.value.name.as_str(), prev);
        }
    }
}

type JobResult = Result<(JobPlan, Vec<PackUse>), Vec<Diagnostic>>;

fn job(
    j: &crate::profile::Located<crate::profile::JobProfile>,
    c: &crate::profile::Located<crate::profile::ClusterProfile>,
    packs: &PackSet,
    cluster_facts: &minijinja::Value,
) -> JobResult {
    let p = &j.value;
    let mut selectors: BTreeMap<&'static str, String> = BTreeMap::new();
    selectors.insert("flink", p.flink.version.clone());
    selectors.insert("operator", p.flink.operator.clone());
    selectors.insert("connector", p.kafka.connector.clone());
    selectors.insert("kafka", c.value.kafka.version.clone());
    let cloud = packs
        .instance(&p.instance.kind)
        .map(|(inst, _)| inst.cloud.clone());
    if let Some(c) = &cloud {
        selectors.insert("cloud", c.clone());
    }
    let Some(flink) = packs.product("flink", &selectors) else {
        return Err(vec![
            Diagnostic::error(format!("no product pack for Flink {}", p.flink.version))
                .with_label(j.span("/flink/version"), "this version"),
        ]);
    };
    let cx = JobCtx {
        job: j,
        cluster: c,
        packs,
        flink,
        connector: packs.product("connector", &selectors),
        operator: packs.product("operator", &selectors),
        kafka: packs.product("kafka", &selectors),
        policy: packs.policy_packs(&selectors),
        selectors,
    };
    let mut errors = vec![];
    let mut plan = JobPlan {
        name: p.name.clone(),
        cluster: c.value.name.clone(),
        head: Some(j.head),
        sources: p
            .source
            .iter()
            .map(|s| Table {
                name: s.name.clone(),
                topic: s.topic.clone(),
                partitions: s.partitions,
                format: s.format.clone(),
            })
            .collect(),
        sinks: p
            .sink
            .iter()
            .map(|s| Table {
                name: s.name.clone(),
                topic: s.topic.clone(),
                partitions: s.partitions,
                format: s.format.clone(),
            })
            .collect(),
        ..Default::default()
    };
    facts(&cx, &mut plan);
    match config_file(&cx) {
        Ok(f) => plan.config_file = f,
        Err(d) => errors.push(d),
    }
    deployment(&cx, &mut plan);
    let sized = match sizing::size(&cx, &mut plan) {
        Ok(sized) => sized,
        Err(d) => {
            errors.push(d);
            return Err(errors);
        }
    };
    jobmanager(&cx, &mut plan);
    checkpoint::derive(&cx, &mut plan);
    let early = [DocKind::Flink, DocKind::K8s];
    if let Err(e) = rules::apply(&cx, &mut plan, cluster_facts, &early) {
        errors.extend(e);
    }
    if let Err(e) = overrides::apply(
        &cx,
        &mut plan,
        &[OverrideTarget::Flink, OverrideTarget::Kubernetes],
    ) {
        errors.extend(e);
    }
    local_state::derive(&cx, &mut plan);
    checkpoint::cost(&cx, &mut plan);
    budget::derive(&cx, &mut plan, sized.parallelism, sized.slots);
    memory_facts(&mut plan);
    if let Err(d) = kafka::derive(&cx, &mut plan) {
        errors.push(d);
    }
    let late = [
        DocKind::Producer,
        DocKind::Consumer,
        DocKind::Downstream,
        DocKind::Sink,
    ];
    if let Err(e) = rules::apply(&cx, &mut plan, cluster_facts, &late) {
        errors.extend(e);
    }
    if let Err(e) = overrides::apply(
        &cx,
        &mut plan,
        &[OverrideTarget::Producer, OverrideTarget::Consumer],
    ) {
        errors.extend(e);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut uses = vec![pack_use(flink)];
    uses.extend(
        [cx.connector, cx.operator, cx.kafka]
            .into_iter()
            .flatten()
            .map(pack_use),
    );
    uses.extend(cx.policy.iter().copied().map(pack_use));
    if let Some((_, ip)) = packs.instance(&p.instance.kind) {
        uses.push(pack_use(ip));
    }
    plan.packs.clone_from(&uses);
    Ok((plan, uses))
}

fn facts(cx: &JobCtx<'_>, plan: &mut JobPlan) {
    let p = cx.p();
    for (name, value, origin) in policy::threshold_facts(&cx.params()) {
        plan.set_fact(name, value, origin);
    }
    let mut f = |name: &str, v: Value, ptr: &str| plan.set_fact(name, v, cx.profile_origin(ptr));
    f(
        "environment",
        Value::Str(p.environment.clone()),
        "/environment",
    );
    f(
        "delivery",
        Value::Str(p.delivery.as_str().into()),
        "/delivery",
    );
    f(
        "flink-version",
        Value::Str(p.flink.version.clone()),
        "/flink/version",
    );
    f(
        "operator-version",
        Value::Str(p.flink.operator.clone()),
        "/flink/operator",
    );
    f(
        "connector-version",
        Value::Str(p.kafka.connector.clone()),
        "/kafka/connector",
    );
    f(
        "cluster",
        Value::Str(p.kafka.cluster.clone()),
        "/kafka/cluster",
    );
    f(
        "instance-type",
        Value::Str(p.instance.kind.clone()),
        "/instance/type",
    );
    // The state node as a whole says "stateful", not one of its values.
    let stateful_span = cx.job.spans.whole("/state").unwrap_or(cx.job.head);
    plan.set_fact(
        "stateful",
        Value::Bool(p.state.is_some()),
        Origin::Profile {
            field: "state".into(),
            span: stateful_span,
        },
    );
    let mut f = |name: &str, v: Value, ptr: &str| plan.set_fact(name, v, cx.profile_origin(ptr));
    f(
        "state-backend",
        Value::Str(
            p.state
                .as_ref()
                .map_or("hashmap", |s| s.backend.as_str())
                .into(),
        ),
        "/state/backend",
    );
    f(
        "state-size",
        Value::Bytes(p.state.as_ref().map_or(0, |s| s.size.0)),
        "/state/size",
    );
    f(
        "records-per-second",
        Value::Int(
            p.throughput
                .as_ref()
                .map_or(0, |t| t.records_per_second as i64),
        ),
        "/throughput/records-per-second",
    );
    f(
        "record-size",
        Value::Bytes(p.throughput.as_ref().map_or(0, |t| t.record_size.0)),
        "/throughput/record-size",
    );
    if let Some(s) = &p.kubernetes.storage {
        f("storage", Value::Str(s.clone()), "/kubernetes/storage");
    }
    let c = &cx.cluster.value;
    let co = |ptr: &str, field: &str| crate::plan::Origin::Profile {
        field: field.into(),
        span: cx.cluster.span(ptr),
    };
    plan.set_fact(
        "kafka-version",
        Value::Str(c.kafka.version.clone()),
        co("/kafka/version", "kafka.version"),
    );
    plan.set_fact(
        "cluster-deployment",
        Value::Str(c.deployment.kind.as_str().into()),
        co("/deployment/kind", "deployment"),
    );
    plan.set_fact(
        "brokers",
        Value::Int(i64::from(c.kafka.brokers)),
        co("/kafka/brokers", "kafka.brokers"),
    );
    let counts = cx.profile_origin("/name");
    plan.set_fact("sources", Value::Int(p.source.len() as i64), counts.clone());
    plan.set_fact("sinks", Value::Int(p.sink.len() as i64), counts);
    if let Some(clients) = cx.connector_release("kafka-clients") {
        plan.set_fact(
            "kafka-clients-version",
            Value::Str(clients.to_string()),
            cx.profile_origin("/kafka/connector"),
        );
    }
    if let Some(cloud) = cx.selectors.get("cloud") {
        plan.set_fact(
            "cloud",
            Value::Str(cloud.clone()),
            cx.profile_origin("/instance/type"),
        );
    }
    // Compatibility facts for checks: what the connector and operator releases support.
    if let Some(r) = cx
        .connector
        .and_then(|cp| cp.releases.iter().find(|r| r.version == p.kafka.connector))
        && let Some(fv) = r.props.get("flink")
    {
        plan.set_fact(
            "connector-supports-flink",
            Value::Str(fv.clone()),
            Origin::ProductDefault {
                pack: cx.connector.map(|c| c.name.clone()).unwrap_or_default(),
                version: cx.connector.map(|c| c.version.clone()).unwrap_or_default(),
                span: r.span,
            },
        );
    }
    if let Some(op) = cx.operator
        && let Some(r) = op.releases.last()
        && let Some(fv) = r.props.get("flink-versions")
    {
        plan.set_fact(
            "operator-supports-flink",
            Value::Str(fv.clone()),
            Origin::ProductDefault {
                pack: op.name.clone(),
                version: op.version.clone(),
                span: r.span,
            },
        );
    }
}

fn config_file(cx: &JobCtx<'_>) -> Result<String, Diagnostic> {
    let Some((default, alternatives, _)) = &cx.flink.config_file else {
        return Ok("config.yaml".into());
    };
    match &cx.p().flink.config_file {
        None => Ok(default.clone()),
        Some(f) if f == default || alternatives.contains(f) => Ok(f.clone()),
        Some(f) => Err(Diagnostic::error(format!(
            "Flink {} does not read `{f}`",
            cx.p().flink.version
        ))
        .with_label(cx.span("/flink/config-file"), "not read by this version")
        .with_help(format!("Flink {} reads `{default}`", cx.p().flink.version))),
    }
}

fn deployment(cx: &JobCtx<'_>, plan: &mut JobPlan) {
    let p = cx.p();
    let k8s = plan.doc_mut(DocKind::K8s);
    k8s.set(
        "metadata.name",
        Value::Str(p.name.clone()),
        cx.profile_origin("/name"),
    );
    k8s.set(
        "metadata.namespace",
        Value::Str(p.kubernetes.namespace.clone()),
        cx.profile_origin("/kubernetes/namespace"),
    );
    k8s.set(
        "spec.image",
        Value::Str(p.kubernetes.image.clone()),
        cx.profile_origin("/kubernetes/image"),
    );
    k8s.set(
        "spec.flinkVersion",
        Value::Str(format!("v{}", p.flink.version.replace('.', "_"))),
        cx.profile_origin("/flink/version"),
    );
    match &p.kubernetes.service_account {
        Some(sa) => k8s.set(
            "spec.serviceAccount",
            Value::Str(sa.clone()),
            cx.profile_origin("/kubernetes/service-account"),
        ),
        None => {
            let (sa, inp) = match cx.param("kubernetes.service-account") {
                Some((v, inp)) => (v.to_text(), Some(inp)),
                None => ("flink".to_string(), None),
            };
            k8s.set(
                "spec.serviceAccount",
                Value::Str(sa),
                Origin::Model {
                    model: "deployment".into(),
                    steps: vec![
                        "policy default service account (the operator chart's job service account)"
                            .into(),
                    ]
                    .into(),
                    inputs: inp.into_iter().collect(),
                },
            );
        }
    }
    if let Some(identity) = &p.kubernetes.identity {
        k8s.set(
            "serviceAccount.identity",
            Value::Str(identity.clone()),
            cx.profile_origin("/kubernetes/identity"),
        );
    }
    k8s.set(
        "spec.job.jarURI",
        Value::Str(p.artifact.jar.clone()),
        cx.profile_origin("/artifact/jar"),
    );
    if let Some(e) = &p.artifact.entry_class {
        k8s.set(
            "spec.job.entryClass",
            Value::Str(e.clone()),
            cx.profile_origin("/artifact/entry-class"),
        );
    }
    let mut args = vec![];
    if let Some(sql) = &p.artifact.sql {
        args.push(sql.clone());
    }
    args.extend(p.artifact.args.iter().cloned());
    if !args.is_empty() {
        k8s.set(
            "spec.job.args",
            Value::List(args),
            cx.profile_origin(if p.artifact.args.is_empty() {
                "/artifact/sql"
            } else {
                "/artifact/args"
            }),
        );
    }
    k8s.set(
        "spec.job.state",
        Value::Str("running".into()),
        Origin::Model {
            model: "deployment".into(),
            steps: vec!["a built job is meant to run".into()].into(),
            inputs: vec![].into(),
        },
    );
}

fn jobmanager(cx: &JobCtx<'_>, plan: &mut JobPlan) {
    let (mem, mem_in) = cx.param_size("jobmanager.process-size", 2 << 30);
    let (cpu, cpu_in) = cx.param_f64("jobmanager.cpu", 1.0);
    let o = |what: String, i: Option<Input>| Origin::Model {
        model: "sizing".into(),
        steps: vec![what].into(),
        inputs: i.into_iter().collect(),
    };
    let m = o(
        format!("policy JobManager process size {}", human_size(mem)),
        mem_in,
    );
    plan.doc_mut(DocKind::K8s).set(
        "spec.jobManager.resource.memory",
        Value::Bytes(mem),
        m.clone(),
    );
    plan.doc_mut(DocKind::Flink)
        .set(cx.key("jm-process-size"), Value::Bytes(mem), m);
    plan.doc_mut(DocKind::K8s).set(
        "spec.jobManager.resource.cpu",
        Value::Float(cpu),
        o(format!("policy JobManager CPU {cpu}"), cpu_in),
    );
    plan.doc_mut(DocKind::K8s).set(
        "spec.jobManager.replicas",
        Value::Int(1),
        o("one JobManager; Kubernetes HA restarts it".into(), None),
    );
}

/// Record Flink's own derivation of the TaskManager memory as facts, for `explain`.
fn memory_facts(plan: &mut JobPlan) {
    let Some(flink) = plan.doc(DocKind::Flink) else {
        return;
    };
    let config: BTreeMap<String, String> = flink
        .entries
        .iter()
        .map(|(k, e)| (k.clone(), e.value.flink_text()))
        .collect();
    let defaults = BTreeMap::new();
    let Ok(m) = memory::derive_tm(&memory::MemoryOptions {
        config: &config,
        defaults: &defaults,
    }) else {
        return;
    };
    let process = m.total_process();
    let steps = vec![
        format!(
            "Flink's own derivation of the written config: process {}",
            human_size(process)
        ),
        format!("JVM overhead = {}", human_size(m.overhead)),
        format!("metaspace = {}", human_size(m.metaspace)),
        format!(
            "total Flink = process − metaspace − overhead = {}",
            human_size(m.total_flink())
        ),
        format!("managed = {}", human_size(m.managed)),
        format!("network = {}", human_size(m.network)),
        format!("task heap = {}", human_size(m.task_heap)),
        format!(
            "JVM: -Xmx{} -XX:MaxDirectMemorySize={}",
            m.jvm_heap(),
            m.direct()
        ),
    ];
    let origin = Origin::Model {
        model: "flink-memory".into(),
        steps: steps.into(),
        inputs: vec![].into(),
    };
    for (name, v) in [
        ("tm-managed", m.managed),
        ("tm-network", m.network),
        ("tm-task-heap", m.task_heap),
        ("tm-jvm-overhead", m.overhead),
        ("tm-jvm-heap", m.jvm_heap()),
    ] {
        plan.set_fact(name, Value::Bytes(v), origin.clone());
    }
}
