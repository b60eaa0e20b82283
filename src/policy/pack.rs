//! Reading one policy pack (KDL v2) into typed parts. Format: docs/policy-packs.md.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use indexmap::IndexMap;
use kdl::{KdlNode, KdlValue};

use crate::diag::{Diagnostic, InputErrors, Sources, Span};
use crate::policy::expr;
use crate::profile::{Scalar, parse_kdl_text, validate::did_you_mean};
use crate::units;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    Product,
    Practice,
    Organisation,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Product => "product",
            Layer::Practice => "practice",
            Layer::Organisation => "organisation",
        }
    }
}

#[derive(Debug, Clone)]
pub struct KeyDef {
    pub concrete: String,
    pub deprecated: Vec<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Release {
    pub version: String,
    pub props: BTreeMap<String, String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Reserve {
    /// Tiers of (cumulative upper bound in bytes or none, fraction).
    Tiered { tiers: Vec<(Option<u64>, f64)> },
    /// base + per-pod × max pods.
    PerPod { base: u64, per_pod: u64 },
}

#[derive(Debug, Clone)]
pub struct NodeReserve {
    pub name: String,
    pub reserve: Reserve,
    pub eviction: u64,
    pub source: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct InstanceType {
    pub name: String,
    pub cloud: String,
    pub reserve: String,
    pub vcpu: u32,
    pub memory: u64,
    pub max_pods: Option<u32>,
    pub local_nvme_count: u32,
    pub local_nvme_size: u64,
    pub network_baseline_gbps: f64,
    pub network_burst_gbps: f64,
    pub disk_bandwidth_mbps: f64,
    pub source: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum SetValue {
    Literal(Scalar),
    Expr(String),
}

#[derive(Debug, Clone)]
pub struct SetAction {
    pub doc: String,
    pub key: String,
    pub value: SetValue,
    /// How to type the value: `string`, `int`, `bool`, `bytes`, `duration` (ms), or inferred.
    pub ty: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Assertion {
    pub expr: String,
    pub severity: crate::diag::Severity,
    pub message: String,
    pub help: Option<String>,
    pub about: Vec<(String, String)>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub doc: String,
    pub when: Option<(String, Span)>,
    pub sets: Vec<SetAction>,
    pub assert: Option<Assertion>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Pack {
    pub name: String,
    pub version: String,
    pub layer: Layer,
    pub doc: String,
    pub sources: Vec<String>,
    pub applies: Vec<(String, Vec<String>)>,
    pub file: u32,
    pub sha256: String,
    pub span: Span,
    pub config_file: Option<(String, Vec<String>, Span)>,
    pub keys: IndexMap<String, KeyDef>,
    pub removed: Vec<(String, Option<String>, Span)>,
    pub defaults: Vec<(String, String, Span)>,
    /// Single-valued product facts (`config-model`, `kraft-only`, `naming-strategies`, …).
    pub facts: BTreeMap<String, (Scalar, Span)>,
    /// Model parameters (`param "sizing.tm-per-node" 1`).
    pub params: BTreeMap<String, (Scalar, Span)>,
    pub releases: Vec<Release>,
    pub reserves: Vec<NodeReserve>,
    pub instances: Vec<InstanceType>,
    pub rules: Vec<Rule>,
    /// What the rules' and the assertions' expressions read ([`Pack::rule_reads`],
    /// [`Pack::assert_reads`]), worked out on first use.
    reads: OnceLock<(Vec<String>, Vec<String>)>,
}

const FACT_NODES: &[&str] = &[
    "config-model",
    "kraft-only",
    "zookeeper",
    "naming-strategies",
    "default-transactional-id-prefix",
];
const PACK_NODES: &[&str] = &[
    "doc",
    "source",
    "applies",
    "config-file",
    "key",
    "removed",
    "default",
    "param",
    "release",
    "node-reserve",
    "instance",
    "rule",
    "config-model",
    "kraft-only",
    "zookeeper",
    "naming-strategies",
    "default-transactional-id-prefix",
];

struct Reader<'a> {
    file: u32,
    errors: &'a mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn span(&self, s: miette::SourceSpan) -> Span {
        Span::from_miette(self.file, s)
    }
    fn name_span(&self, n: &KdlNode) -> Span {
        self.span(n.name().span())
    }
    fn arg(&mut self, n: &KdlNode, i: usize, what: &str) -> Option<String> {
        let v = n.entries().iter().filter(|e| e.name().is_none()).nth(i);
        match v.map(|e| e.value()) {
            Some(KdlValue::String(s)) => Some(s.clone()),
            Some(_) => {
                let s = self.span(v.map_or(n.span(), |e| e.span()));
                self.errors.push(
                    Diagnostic::error(format!("`{}`: {what} must be a string", n.name().value()))
                        .with_label(s, "here"),
                );
                None
            }
            None => {
                let s = self.name_span(n);
                self.errors.push(
                    Diagnostic::error(format!("`{}` needs {what}", n.name().value()))
                        .with_label(s, format!("{what} missing")),
                );
                None
            }
        }
    }
    fn scalar_arg(&mut self, n: &KdlNode, i: usize, what: &str) -> Option<Scalar> {
        let v = n.entries().iter().filter(|e| e.name().is_none()).nth(i);
        match v.map(|e| e.value()) {
            Some(v) => to_scalar(v),
            None => {
                let s = self.name_span(n);
                self.errors.push(
                    Diagnostic::error(format!("`{}` needs {what}", n.name().value()))
                        .with_label(s, "missing"),
                );
                None
            }
        }
    }
    fn prop<'n>(&self, n: &'n KdlNode, key: &str) -> Option<&'n KdlValue> {
        n.entries()
            .iter()
            .find(|e| e.name().is_some_and(|k| k.value() == key))
            .map(|e| e.value())
    }
    fn prop_span(&self, n: &KdlNode, key: &str) -> Span {
        n.entries()
            .iter()
            .find(|e| e.name().is_some_and(|k| k.value() == key))
            .map_or(self.name_span(n), |e| self.span(e.span()))
    }
    fn prop_str(&mut self, n: &KdlNode, key: &str) -> Option<String> {
        match self.prop(n, key) {
            Some(KdlValue::String(s)) => Some(s.clone()),
            Some(_) => {
                let s = self.prop_span(n, key);
                self.errors.push(
                    Diagnostic::error(format!("`{key}` must be a string")).with_label(s, "here"),
                );
                None
            }
            None => None,
        }
    }
    fn req_str(&mut self, n: &KdlNode, key: &str) -> Option<String> {
        let v = self.prop_str(n, key);
        if v.is_none() && self.prop(n, key).is_none() {
            let s = self.name_span(n);
            self.errors.push(
                Diagnostic::error(format!("`{}` needs `{key}=…`", n.name().value()))
                    .with_label(s, format!("`{key}` missing")),
            );
        }
        v
    }
    fn prop_num(&mut self, n: &KdlNode, key: &str) -> Option<f64> {
        match self.prop(n, key) {
            Some(KdlValue::Integer(i)) => Some(*i as f64),
            Some(KdlValue::Float(f)) => Some(*f),
            Some(_) => {
                let s = self.prop_span(n, key);
                self.errors.push(
                    Diagnostic::error(format!("`{key}` must be a number")).with_label(s, "here"),
                );
                None
            }
            None => None,
        }
    }
    fn req_num(&mut self, n: &KdlNode, key: &str) -> Option<f64> {
        let v = self.prop_num(n, key);
        if v.is_none() && self.prop(n, key).is_none() {
            let s = self.name_span(n);
            self.errors.push(
                Diagnostic::error(format!("`{}` needs `{key}=…`", n.name().value()))
                    .with_label(s, "missing"),
            );
        }
        v
    }
    fn size(&mut self, n: &KdlNode, key: &str) -> Option<u64> {
        let text = self.prop_str(n, key)?;
        match units::parse_size(&text) {
            Ok(b) => Some(b),
            Err(e) => {
                let s = self.prop_span(n, key);
                self.errors.push(
                    Diagnostic::error(format!("bad size for `{key}`: {e}")).with_label(s, "here"),
                );
                None
            }
        }
    }
    fn children<'n>(&self, n: &'n KdlNode) -> &'n [KdlNode] {
        n.children().map(|c| c.nodes()).unwrap_or(&[])
    }
}

fn to_scalar(v: &KdlValue) -> Option<Scalar> {
    Some(match v {
        KdlValue::String(s) => Scalar::Str(s.clone()),
        KdlValue::Integer(i) => Scalar::Int(i64::try_from(*i).ok()?),
        KdlValue::Float(f) => Scalar::Float(*f),
        KdlValue::Bool(b) => Scalar::Bool(*b),
        KdlValue::Null => return None,
    })
}

/// Parse one pack file.
pub fn read_pack(sources: &Sources, file: u32) -> Result<Pack, InputErrors> {
    read_pack_text(&sources.get(file).text, file)
}

/// [`read_pack`] of a text that is (or will be) file `file` of the run's sources.
pub fn read_pack_text(text: &str, file: u32) -> Result<Pack, InputErrors> {
    let doc = parse_kdl_text(text, file)?;
    let mut errors = vec![];
    let nodes = doc.nodes();
    let Some(head) = nodes
        .first()
        .filter(|n| n.name().value() == "pack" && nodes.len() == 1)
    else {
        return Err(Diagnostic::error(
            "a policy pack holds exactly one `pack \"name\" version=\"…\" layer=\"…\" { … }` node",
        )
        .with_label(Span::new(file, 0, text.len().min(1)), "in this file")
        .into());
    };
    let mut r = Reader {
        file,
        errors: &mut errors,
    };
    let name = r.arg(head, 0, "a pack name").unwrap_or_default();
    let version = r.req_str(head, "version").unwrap_or_default();
    let layer = match r.req_str(head, "layer").as_deref() {
        Some("product") => Layer::Product,
        Some("practice") => Layer::Practice,
        Some("organisation") | Some("organization") => Layer::Organisation,
        Some(other) => {
            let s = r.prop_span(head, "layer");
            r.errors.push(
                Diagnostic::error(format!("unknown layer `{other}`"))
                    .with_label(s, "here")
                    .with_help("layer is one of `product`, `practice`, `organisation`"),
            );
            Layer::Organisation
        }
        None => Layer::Organisation,
    };
    let mut pack = Pack {
        name,
        version,
        layer,
        doc: String::new(),
        sources: vec![],
        applies: vec![],
        file,
        // Filled in by the loader: built-in packs' hashes are computed at build time (build.rs).
        sha256: String::new(),
        span: r.name_span(head),
        config_file: None,
        keys: IndexMap::new(),
        removed: vec![],
        defaults: vec![],
        facts: BTreeMap::new(),
        params: BTreeMap::new(),
        releases: vec![],
        reserves: vec![],
        instances: vec![],
        rules: vec![],
        reads: OnceLock::new(),
    };
    for n in r.children(head) {
        let kind = n.name().value();
        let ns = r.name_span(n);
        match kind {
            "doc" => pack.doc = r.arg(n, 0, "a text").unwrap_or_default(),
            "source" => pack.sources.extend(r.arg(n, 0, "a URL or reference")),
            "applies" => {
                for e in n.entries() {
                    if let (Some(k), KdlValue::String(v)) = (e.name(), e.value()) {
                        pack.applies.push((
                            k.value().to_string(),
                            v.split_whitespace().map(str::to_string).collect(),
                        ));
                    }
                }
            }
            "config-file" => {
                if let Some(f) = r.arg(n, 0, "a file name") {
                    let alts = r.prop_str(n, "alternatives").unwrap_or_default();
                    pack.config_file =
                        Some((f, alts.split_whitespace().map(str::to_string).collect(), ns));
                }
            }
            "key" => {
                let logical = r.arg(n, 0, "a logical name");
                let concrete = r.arg(n, 1, "the key name");
                if let (Some(l), Some(c)) = (logical, concrete) {
                    let deprecated = r.prop_str(n, "deprecated").unwrap_or_default();
                    pack.keys.insert(
                        l,
                        KeyDef {
                            concrete: c,
                            deprecated: deprecated.split_whitespace().map(str::to_string).collect(),
                            span: ns,
                        },
                    );
                }
            }
            "removed" => {
                if let Some(k) = r.arg(n, 0, "a key") {
                    let rep = r.prop_str(n, "replacement");
                    pack.removed.push((k, rep, ns));
                }
            }
            "default" => {
                let k = r.arg(n, 0, "a key");
                let v = r.scalar_arg(n, 1, "a value");
                if let (Some(k), Some(v)) = (k, v) {
                    pack.defaults.push((k, v.to_text(), ns));
                }
            }
            "param" => {
                let k = r.arg(n, 0, "a parameter name");
                let v = r.scalar_arg(n, 1, "a value");
                if let (Some(k), Some(v)) = (k, v) {
                    pack.params.insert(k, (v, ns));
                }
            }
            "release" => {
                if let Some(v) = r.arg(n, 0, "a version") {
                    let props = n
                        .entries()
                        .iter()
                        .filter_map(|e| {
                            Some((
                                e.name()?.value().to_string(),
                                to_scalar(e.value())?.to_text(),
                            ))
                        })
                        .collect();
                    pack.releases.push(Release {
                        version: v,
                        props,
                        span: ns,
                    });
                }
            }
            "node-reserve" => read_reserve(&mut r, n, &mut pack),
            "instance" => read_instance(&mut r, n, &mut pack),
            "rule" => read_rule(&mut r, n, &mut pack),
            k if FACT_NODES.contains(&k) => {
                if let Some(v) = r.scalar_arg(n, 0, "a value") {
                    pack.facts.insert(k.to_string(), (v, ns));
                }
            }
            other => {
                let mut d = Diagnostic::error(format!("unknown pack node `{other}`"))
                    .with_label(ns, "not known here");
                if let Some(c) = did_you_mean(other, PACK_NODES.iter().copied()) {
                    d = d.with_help(format!("did you mean `{c}`?"));
                }
                r.errors.push(d);
            }
        }
    }
    if errors.is_empty() {
        Ok(pack)
    } else {
        Err(InputErrors(errors))
    }
}

fn read_reserve(r: &mut Reader<'_>, n: &KdlNode, pack: &mut Pack) {
    let ns = r.name_span(n);
    let Some(name) = r.arg(n, 0, "a name") else {
        return;
    };
    let eviction = r.size(n, "eviction").unwrap_or(0);
    let source = r.req_str(n, "source").unwrap_or_default();
    let reserve = match r.req_str(n, "kind").as_deref() {
        Some("tiered") => {
            let mut tiers = vec![];
            for t in r.children(n) {
                let upto = if r.prop(t, "up-to").is_some() {
                    r.size(t, "up-to")
                } else {
                    None
                };
                if let Some(f) = r.req_num(t, "fraction") {
                    tiers.push((upto, f));
                }
            }
            Reserve::Tiered { tiers }
        }
        Some("per-pod") => Reserve::PerPod {
            base: r.size(n, "base").unwrap_or(0),
            per_pod: r.size(n, "per-pod").unwrap_or(0),
        },
        _ => {
            r.errors.push(
                Diagnostic::error("node-reserve `kind` must be `tiered` or `per-pod`")
                    .with_label(ns, "here"),
            );
            return;
        }
    };
    pack.reserves.push(NodeReserve {
        name,
        reserve,
        eviction,
        source,
        span: ns,
    });
}

fn read_instance(r: &mut Reader<'_>, n: &KdlNode, pack: &mut Pack) {
    let ns = r.name_span(n);
    let Some(name) = r.arg(n, 0, "an instance type") else {
        return;
    };
    let inst = InstanceType {
        name,
        cloud: r.req_str(n, "cloud").unwrap_or_default(),
        reserve: r.req_str(n, "reserve").unwrap_or_default(),
        vcpu: r.req_num(n, "vcpu").unwrap_or(0.0) as u32,
        memory: r.size(n, "memory").unwrap_or(0),
        max_pods: r.prop_num(n, "max-pods").map(|v| v as u32),
        local_nvme_count: r.prop_num(n, "local-nvme-count").unwrap_or(0.0) as u32,
        local_nvme_size: if r.prop(n, "local-nvme-size").is_some() {
            r.size(n, "local-nvme-size").unwrap_or(0)
        } else {
            0
        },
        network_baseline_gbps: r.req_num(n, "network-baseline-gbps").unwrap_or(0.0),
        network_burst_gbps: r.req_num(n, "network-burst-gbps").unwrap_or(0.0),
        disk_bandwidth_mbps: r.prop_num(n, "disk-bandwidth-mbps").unwrap_or(0.0),
        source: r.req_str(n, "source").unwrap_or_default(),
        span: ns,
    };
    if inst.memory == 0 || inst.vcpu == 0 {
        r.errors.push(
            Diagnostic::error(format!(
                "instance `{}` needs `vcpu` and `memory`",
                inst.name
            ))
            .with_label(ns, "here"),
        );
    }
    pack.instances.push(inst);
}

fn read_rule(r: &mut Reader<'_>, n: &KdlNode, pack: &mut Pack) {
    let ns = r.name_span(n);
    let Some(id) = r.arg(n, 0, "a rule id") else {
        return;
    };
    let mut rule = Rule {
        id,
        doc: String::new(),
        when: None,
        sets: vec![],
        assert: None,
        span: ns,
    };
    let mut assert_expr = None;
    let mut severity = crate::diag::Severity::Error;
    let mut message = None;
    let mut help = None;
    let mut about = vec![];
    for c in r.children(n) {
        let cs = r.name_span(c);
        match c.name().value() {
            "doc" => rule.doc = r.arg(c, 0, "a text").unwrap_or_default(),
            "when" => rule.when = r.arg(c, 0, "an expression").map(|e| (e, cs)),
            "set" => {
                let doc = r.arg(c, 0, "a document name");
                let key = r.arg(c, 1, "a key");
                let value = match r.prop_str(c, "expr") {
                    Some(e) => Some(SetValue::Expr(e)),
                    None => r
                        .scalar_arg(c, 2, "a value or expr=…")
                        .map(SetValue::Literal),
                };
                let ty = r.prop_str(c, "type");
                if let (Some(doc), Some(key), Some(value)) = (doc, key, value) {
                    if crate::plan::DocKind::parse(&doc).is_none() {
                        r.errors.push(
                            Diagnostic::error(format!("unknown document `{doc}`"))
                                .with_label(cs, "here")
                                .with_help("documents: flink, k8s, producer, consumer, downstream, sink, broker"),
                        );
                    }
                    rule.sets.push(SetAction {
                        doc,
                        key,
                        value,
                        ty,
                        span: r.span(c.span()),
                    });
                }
            }
            "assert" => assert_expr = r.arg(c, 0, "an expression").map(|e| (e, cs)),
            "severity" => {
                severity = match r.arg(c, 0, "a severity").as_deref() {
                    Some("error") => crate::diag::Severity::Error,
                    Some("warning") => crate::diag::Severity::Warning,
                    Some("info") => crate::diag::Severity::Info,
                    _ => {
                        r.errors.push(
                            Diagnostic::error("severity is `error`, `warning` or `info`")
                                .with_label(cs, "here"),
                        );
                        crate::diag::Severity::Error
                    }
                }
            }
            "message" => message = r.arg(c, 0, "a text"),
            "help" => help = r.arg(c, 0, "a text"),
            "about" => {
                if let (Some(d), Some(k)) =
                    (r.arg(c, 0, "a document or `job`"), r.arg(c, 1, "a key"))
                {
                    about.push((d, k));
                }
            }
            other => {
                let mut d = Diagnostic::error(format!("unknown rule node `{other}`"))
                    .with_label(cs, "not known here");
                if let Some(s) = did_you_mean(
                    other,
                    [
                        "doc", "when", "set", "assert", "severity", "message", "help", "about",
                    ],
                ) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                r.errors.push(d);
            }
        }
    }
    if let Some((expr, span)) = assert_expr {
        rule.assert = Some(Assertion {
            expr,
            severity,
            message: message.unwrap_or_else(|| format!("rule `{}` does not hold", rule.id)),
            help,
            about,
            span,
        });
    }
    if rule.sets.is_empty() && rule.assert.is_none() {
        r.errors.push(
            Diagnostic::error(format!(
                "rule `{}` neither sets nor asserts anything",
                rule.id
            ))
            .with_label(ns, "here"),
        );
    }
    pack.rules.push(rule);
}

impl Pack {
    /// The top-level names (`job`, `cluster`, `flink`, …) the conditions and computed values of
    /// this pack's rules read, sorted: every job builds only those parts of its expression
    /// context, and the packs are the same for every job.
    pub fn rule_reads(&self) -> &[String] {
        &self.reads().0
    }

    /// The same for the pack's assertions (their conditions and asserted expressions).
    pub fn assert_reads(&self) -> &[String] {
        &self.reads().1
    }

    fn reads(&self) -> &(Vec<String>, Vec<String>) {
        self.reads.get_or_init(|| {
            let sets = self.rules.iter().flat_map(|r| {
                r.when
                    .iter()
                    .map(|(w, _)| w.as_str())
                    .chain(r.sets.iter().filter_map(|s| match &s.value {
                        SetValue::Expr(e) => Some(e.as_str()),
                        SetValue::Literal(_) => None,
                    }))
            });
            let asserts = self
                .rules
                .iter()
                .filter_map(|r| Some((r, r.assert.as_ref()?)))
                .flat_map(|(r, a)| {
                    r.when
                        .iter()
                        .map(|(w, _)| w.as_str())
                        .chain([a.expr.as_str()])
                });
            (expr::names_read(sets), expr::names_read(asserts))
        })
    }

    /// Whether the pack applies to a job with these selectors (`flink` → `1.20`, …).
    pub fn applies_to(&self, selectors: &BTreeMap<&str, String>) -> bool {
        self.applies.iter().all(|(k, wanted)| {
            selectors
                .get(k.as_str())
                .is_some_and(|have| wanted.iter().any(|w| version_matches(w, have)))
        })
    }
}

/// `3` matches `3.4.0`; `1.20` matches `1.20` and `1.20.1`; `*` matches anything.
pub fn version_matches(pattern: &str, version: &str) -> bool {
    pattern == "*"
        || version == pattern
        || version
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.starts_with('.'))
}
