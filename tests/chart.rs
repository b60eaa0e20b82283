//! charts/flinkgen-job deploys what flinkgen writes.
//!
//! Helm cannot be installed here, so the chart's templates are restricted to a small subset of
//! Go-template constructs, this test refuses any template that steps outside it, and a tiny
//! evaluator of exactly that subset renders the chart for every example's generated values:
//!
//! - `{{ PATH | quote }}`: Sprig's `quote` (Go's `%q`), nothing for a missing value;
//! - `{{- toYaml PATH | nindent N }}`: Helm's `toYaml` (a YAML serializer, final newline
//!   trimmed) and Sprig's `nindent` (newline, then every line indented);
//! - `{{- if PATH }}` … `{{- end }}`: Go's truthiness (false, 0, "", empty map or list, nil);
//! - PATH is `.Values.a.b…` or `.Release.Namespace` / `.Release.Name`;
//! - `{{-` / `-}}` trim the whitespace next to them, as Go's text/template does;
//! - each rendered template is one manifest, trimmed of surrounding whitespace as Helm does.
//!
//! Values are what Helm makes of them: the chart's values.yaml with the generated file merged
//! over it (maps merge, everything else is replaced), numbers as float64 (so an integral number
//! is written back without a fraction), validated against values.schema.json.
//!
//! Then the rendered FlinkDeployment must equal flinkgen's own k8s/flinkdeployment.yaml as data
//! and validate against the operator's CRD, the ConfigMap must carry the Kafka client files byte
//! for byte, and the ServiceAccount must equal k8s/serviceaccount.yaml (and exist only with it).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::upstream::{assert_valid, flinkdeployment_schema, validation_errors, yaml_k8s};
use serde_json::{Map, Value as Json};

fn chart_dir() -> PathBuf {
    common::root().join("charts/flinkgen-job")
}

// ---------------------------------------------------------------------------------------------
// The template subset
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Quote(Vec<String>),
    ToYaml(Vec<String>, usize),
    If(Vec<String>, Vec<Node>),
}

/// `.Values.a.b` → ["Values", "a", "b"]; only `.Values.…` and `.Release.Namespace|Name`.
fn path(expr: &str) -> Result<Vec<String>, String> {
    let rest = expr
        .strip_prefix('.')
        .ok_or_else(|| format!("`{expr}` is not a field path"))?;
    let segs: Vec<String> = rest.split('.').map(str::to_string).collect();
    let ident =
        |s: &String| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let ok = match segs.first().map(String::as_str) {
        Some("Values") => segs.len() >= 2 && segs.iter().all(ident),
        Some("Release") => segs.len() == 2 && (segs[1] == "Namespace" || segs[1] == "Name"),
        _ => false,
    };
    if ok {
        Ok(segs)
    } else {
        Err(format!(
            "`{expr}` is not `.Values.…` or `.Release.Namespace|Name`"
        ))
    }
}

/// Parse a template into nodes, refusing every construct outside the subset.
fn parse(text: &str) -> Result<Vec<Node>, String> {
    // (text before, left trim, action, right trim)
    let mut pieces: Vec<(String, bool, String, bool)> = vec![];
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let end = rest[start..]
            .find("}}")
            .map(|e| start + e)
            .ok_or("`{{` without `}}`")?;
        let inner = &rest[start + 2..end];
        let (ltrim, inner) = match inner.strip_prefix("- ") {
            Some(i) => (true, i),
            None => (
                false,
                inner
                    .strip_prefix(' ')
                    .ok_or_else(|| format!("`{{{{{inner}}}}}`: write `{{{{ ` or `{{{{- `"))?,
            ),
        };
        let (rtrim, inner) = match inner.strip_suffix(" -") {
            Some(i) => (true, i),
            None => (
                false,
                inner
                    .strip_suffix(' ')
                    .ok_or_else(|| format!("`{inner}`: write ` }}}}` or ` -}}}}`"))?,
            ),
        };
        pieces.push((rest[..start].to_string(), ltrim, inner.to_string(), rtrim));
        rest = &rest[end + 2..];
    }
    if rest.contains("}}") {
        return Err("`}}` without `{{`".into());
    }
    // Apply the trim markers to the text around each action.
    let mut texts: Vec<String> = pieces.iter().map(|p| p.0.clone()).collect();
    texts.push(rest.to_string());
    for (i, p) in pieces.iter().enumerate() {
        if p.1 {
            texts[i] = texts[i].trim_end().to_string();
        }
        if p.3 {
            texts[i + 1] = texts[i + 1].trim_start().to_string();
        }
    }
    // Build the tree.
    let mut stack: Vec<(Option<Vec<String>>, Vec<Node>)> = vec![(None, vec![])];
    for (i, p) in pieces.iter().enumerate() {
        let top = &mut stack.last_mut().ok_or("unbalanced")?.1;
        if !texts[i].is_empty() {
            top.push(Node::Text(texts[i].clone()));
        }
        let words: Vec<&str> = p.2.split(' ').collect();
        match words.as_slice() {
            ["if", p] => stack.push((Some(path(p)?), vec![])),
            ["end"] => {
                let (cond, body) = stack.pop().ok_or("`end` without `if`")?;
                let cond = cond.ok_or("`end` without `if`")?;
                stack
                    .last_mut()
                    .ok_or("`end` without `if`")?
                    .1
                    .push(Node::If(cond, body));
            }
            [p, "|", "quote"] => top.push(Node::Quote(path(p)?)),
            ["toYaml", p, "|", "nindent", n] => top.push(Node::ToYaml(
                path(p)?,
                n.parse().map_err(|_| format!("nindent `{n}`"))?,
            )),
            _ => return Err(format!("`{{{{ {} }}}}` is not in the proven subset", p.2)),
        }
    }
    let last = texts.last().cloned().unwrap_or_default();
    if stack.len() != 1 {
        return Err("`if` without `end`".into());
    }
    let mut nodes = stack.pop().map(|s| s.1).unwrap_or_default();
    if !last.is_empty() {
        nodes.push(Node::Text(last));
    }
    Ok(nodes)
}

// ---------------------------------------------------------------------------------------------
// The evaluator
// ---------------------------------------------------------------------------------------------

/// Look a path up. A missing last key is nil (Go templates print nothing for it); a missing or
/// nil intermediate is an error, as in Go ("nil pointer evaluating interface {}.b").
fn lookup(ctx: &Json, path: &[String]) -> Result<Json, String> {
    let mut v = ctx;
    for (i, seg) in path.iter().enumerate() {
        match v {
            Json::Object(m) => match m.get(seg) {
                Some(x) => v = x,
                None if i + 1 == path.len() => return Ok(Json::Null),
                None => return Err(format!("nil pointer evaluating .{}", path.join("."))),
            },
            _ => return Err(format!("nil pointer evaluating .{}", path.join("."))),
        }
    }
    Ok(v.clone())
}

fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(m) => !m.is_empty(),
    }
}

/// Go's strconv.Quote (what `%q` and so Sprig's `quote` write): `\a \b \f \n \r \t \v \\ \"`,
/// other non-printable characters as `\xNN`, `\uNNNN` or `\UNNNNNNNN`. Go's "printable" is
/// approximated by "not a control, format or non-ASCII space character". Every one of these
/// escapes means the same in a YAML double-quoted scalar.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control()
                || (c.is_whitespace() && c != ' ')
                || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}') =>
            {
                let n = c as u32;
                if n < 0x80 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n < 0x10000 {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Helm's toYaml: serialize, trim the final newline.
fn to_yaml(v: &Json) -> String {
    let text = serde_saphyr::to_string(v).unwrap_or_else(|e| panic!("toYaml: {e}"));
    text.strip_suffix('\n').unwrap_or(&text).to_string()
}

/// Sprig's nindent: a newline, then `n` spaces before every line (empty lines included).
fn nindent(n: usize, s: &str) -> String {
    let pad = " ".repeat(n);
    format!("\n{pad}{}", s.replace('\n', &format!("\n{pad}")))
}

fn eval(nodes: &[Node], ctx: &Json, out: &mut String) -> Result<(), String> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Quote(p) => match lookup(ctx, p)? {
                // Sprig's quote skips nil arguments.
                Json::Null => {}
                Json::String(s) => out.push_str(&go_quote(&s)),
                other => {
                    return Err(format!(
                        "quote of a non-string at .{} ({other}): outside the proven subset",
                        p.join(".")
                    ));
                }
            },
            Node::ToYaml(p, n) => out.push_str(&nindent(*n, &to_yaml(&lookup(ctx, p)?))),
            Node::If(p, body) => {
                if truthy(&lookup(ctx, p)?) {
                    eval(body, ctx, out)?;
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Values as Helm sees them
// ---------------------------------------------------------------------------------------------

/// Helm reads values through JSON into float64: an integral number is written back as an
/// integer (Go's encoding/json), a fractional one as a float. Comparing documents goes through
/// the same function, since JSON does not tell 1 from 1.0.
fn helm_numbers(v: &mut Json) {
    match v {
        Json::Number(n) => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 1e15
            {
                *v = Json::from(f as i64);
            }
        }
        Json::Array(a) => a.iter_mut().for_each(helm_numbers),
        Json::Object(m) => m.values_mut().for_each(helm_numbers),
        _ => {}
    }
}

/// Helm's coalescing of user values over the chart's defaults: maps merge key by key, a user
/// `null` deletes the key, anything else replaces.
fn merge(base: &mut Json, over: &Json) {
    match (base, over) {
        (Json::Object(b), Json::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(k);
                } else if let Some(slot) = b.get_mut(k) {
                    merge(slot, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

fn chart_defaults() -> Json {
    let path = chart_dir().join("values.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml_k8s("charts/flinkgen-job/values.yaml", &text)
}

fn values_schema() -> Json {
    let path = chart_dir().join("values.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("values.schema.json: {e}"))
}

/// The values Helm would render with: defaults, the user's file over them, numbers as float64.
fn helm_values(user: &Json) -> Json {
    let mut v = chart_defaults();
    merge(&mut v, user);
    helm_numbers(&mut v);
    v
}

/// Every template of the chart, by file name, parsed (panics on a construct outside the subset).
fn templates() -> BTreeMap<String, Vec<Node>> {
    let dir = chart_dir().join("templates");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = entry.map(|e| e.path()).unwrap_or_default();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        let nodes = parse(&text).unwrap_or_else(|e| panic!("templates/{name}: {e}"));
        out.insert(name, nodes);
    }
    out
}

/// Render the chart: every non-empty template output parsed as a YAML document, by kind.
fn render_chart(values: &Json, namespace: &str) -> BTreeMap<String, Json> {
    let ctx = serde_json::json!({
        "Values": values,
        "Release": { "Namespace": namespace, "Name": "release" },
    });
    let mut docs = BTreeMap::new();
    for (name, nodes) in templates() {
        let mut text = String::new();
        eval(&nodes, &ctx, &mut text).unwrap_or_else(|e| panic!("templates/{name}: {e}"));
        // Helm skips a blank template, trims the whitespace around each manifest
        // (releaseutil.SplitManifests) and writes it back followed by one newline.
        if text.trim().is_empty() {
            continue;
        }
        assert!(
            !text.lines().any(|l| l.starts_with("---")),
            "templates/{name} renders a document separator:\n{text}"
        );
        let text = format!("{}\n", text.trim());
        let mut doc = yaml_k8s(&format!("rendered {name}:\n{text}"), &text);
        helm_numbers(&mut doc);
        let kind = doc["kind"]
            .as_str()
            .unwrap_or_else(|| panic!("rendered {name} has no kind:\n{text}"))
            .to_string();
        assert!(
            docs.insert(kind.clone(), doc).is_none(),
            "two {kind} documents"
        );
    }
    docs
}

// ---------------------------------------------------------------------------------------------
// The examples
// ---------------------------------------------------------------------------------------------

/// One job of a built example: its generated files by path relative to jobs/<job>/.
struct Job {
    name: String,
    namespace: String,
    files: BTreeMap<String, String>,
}

fn jobs_of(inputs: &[&Path]) -> Vec<Job> {
    let c = common::compiled(inputs);
    common::units(&c)
        .into_iter()
        .filter_map(|u| {
            let name = u.dir.strip_prefix("jobs/")?.to_string();
            let job = c.plan.jobs.iter().find(|j| j.name == name)?;
            // The namespace `helm install --namespace` is given: the profile's, from the Plan.
            let namespace = job
                .get(flinkgen::plan::DocKind::K8s, "metadata.namespace")
                .map(|e| e.value.flink_text())
                .unwrap_or_default();
            let prefix = format!("{}/", u.dir);
            let files = u
                .files
                .into_iter()
                .filter_map(|f| Some((f.path.strip_prefix(&prefix)?.to_string(), f.contents)))
                .collect();
            Some(Job {
                name,
                namespace,
                files,
            })
        })
        .collect()
}

fn example_jobs() -> Vec<Job> {
    let jobs: Vec<Job> = common::examples()
        .iter()
        .flat_map(|ex| jobs_of(&[ex]))
        .collect();
    assert!(
        jobs.len() >= 6,
        "expected every example job, got {}",
        jobs.len()
    );
    jobs
}

fn values_of(job: &Job) -> Json {
    let text = job
        .files
        .get("helm/values.yaml")
        .unwrap_or_else(|| panic!("job {}: no helm/values.yaml", job.name));
    yaml_k8s(&format!("jobs/{}/helm/values.yaml", job.name), text)
}

fn k8s_doc(job: &Job, file: &str) -> Option<Json> {
    job.files.get(file).map(|t| {
        let mut d = yaml_k8s(&format!("jobs/{}/{file}", job.name), t);
        helm_numbers(&mut d);
        d
    })
}

/// Everything the chart must do for a job.
fn check_job(job: &Job) {
    let what = format!("job {}", job.name);
    let schema = values_schema();
    let values = helm_values(&values_of(job));
    // (e) the values Helm would render with validate against values.schema.json.
    assert_valid(&format!("{what}: helm/values.yaml"), &schema, &values);

    let docs = render_chart(&values, &job.namespace);

    // (a) the FlinkDeployment is flinkgen's own, as data.
    let fd = docs
        .get("FlinkDeployment")
        .unwrap_or_else(|| panic!("{what}: the chart renders no FlinkDeployment"));
    let want = k8s_doc(job, "k8s/flinkdeployment.yaml")
        .unwrap_or_else(|| panic!("{what}: no k8s/flinkdeployment.yaml"));
    assert_eq!(
        fd, &want,
        "{what}: the chart's FlinkDeployment differs from k8s/flinkdeployment.yaml"
    );
    // (b) and it validates against the operator's CRD.
    if let Some(crd) = flinkdeployment_schema() {
        assert_valid(&format!("{what}: chart FlinkDeployment"), crd, fd);
    }

    // (c) the ConfigMap carries the job's Kafka client files, byte for byte.
    let client_files: BTreeMap<String, String> = job
        .files
        .iter()
        .filter_map(|(p, c)| {
            let name = p.strip_prefix("kafka/")?;
            flinkgen::render::helm::is_client_file(name).then(|| (name.to_string(), c.clone()))
        })
        .collect();
    assert!(
        client_files.contains_key("producer.properties")
            || client_files.contains_key("consumer.properties"),
        "{what}: no client properties among {:?}",
        job.files.keys().collect::<Vec<_>>()
    );
    let cm = docs
        .get("ConfigMap")
        .unwrap_or_else(|| panic!("{what}: the chart renders no ConfigMap"));
    assert_eq!(
        cm["metadata"]["namespace"],
        job.namespace.as_str(),
        "{what}"
    );
    assert_eq!(
        cm["metadata"]["name"],
        format!("{}-kafka", job.name),
        "{what}"
    );
    let data: BTreeMap<String, String> = cm["data"]
        .as_object()
        .unwrap_or_else(|| panic!("{what}: ConfigMap without data"))
        .iter()
        .map(|(k, v)| {
            let s = v
                .as_str()
                .unwrap_or_else(|| panic!("{what}: ConfigMap data {k} is not a string"));
            (k.clone(), s.to_string())
        })
        .collect();
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        client_files.keys().collect::<Vec<_>>(),
        "{what}: ConfigMap keys"
    );
    for (k, want) in &client_files {
        assert!(
            data[k] == *want,
            "{what}: ConfigMap {k} differs from kafka/{k}:\n--- chart\n{}\n--- flinkgen\n{want}",
            data[k]
        );
    }

    // (d) the ServiceAccount exactly when flinkgen writes one, and the same.
    match (
        docs.get("ServiceAccount"),
        k8s_doc(job, "k8s/serviceaccount.yaml"),
    ) {
        (Some(got), Some(want)) => assert_eq!(got, &want, "{what}: ServiceAccount"),
        (None, None) => {}
        (got, want) => {
            panic!("{what}: ServiceAccount from the chart {got:?}, from flinkgen {want:?}")
        }
    }
    let kinds: Vec<&String> = docs.keys().collect();
    assert!(
        kinds
            .iter()
            .all(|k| ["ConfigMap", "FlinkDeployment", "ServiceAccount"].contains(&k.as_str())),
        "{what}: unexpected kinds {kinds:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn chart_templates_use_only_the_proven_subset() {
    let t = templates();
    // The proof covers what the chart does only if the chart is exactly these templates.
    assert_eq!(
        t.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "configmap.yaml",
            "flinkdeployment.yaml",
            "serviceaccount.yaml"
        ]
    );
    for (name, nodes) in &t {
        assert!(!nodes.is_empty(), "templates/{name} is empty");
    }
}

#[test]
fn the_subset_check_refuses_everything_else() {
    for bad in [
        "a: {{ .Values.x }}\n",
        "a: {{ .Values.x | default \"y\" | quote }}\n",
        "{{ include \"x\" . }}\n",
        "{{- range .Values.x }}\n{{- end }}\n",
        "{{- toYaml .Values.x | indent 2 }}\n",
        "{{ tpl .Values.x . | quote }}\n",
        "{{/* comment */}}\n",
        "{{ .Chart.Name | quote }}\n",
        "{{ .Values.a-b | quote }}\n",
        "{{- if .Values.x }}\n",
        "{{- end }}\n",
        "{{ .Values.x | quote\n",
        "{{.Values.x | quote}}\n",
    ] {
        assert!(parse(bad).is_err(), "accepted: {bad:?}");
    }
    assert!(parse("a: {{ .Values.x | quote }}\n").is_ok());
}

#[test]
fn the_evaluator_behaves_like_helm() {
    // Trim markers, nindent on every line, quote escapes, Go truthiness, toYaml of a map.
    let nodes = parse(
        "a:\n  {{- if .Values.m }}\n  m:\n    {{- toYaml .Values.m | nindent 4 }}\n  {{- end }}\n  q: {{ .Values.s | quote }}\n  n: {{ .Values.missing | quote }}\n  ns: {{ .Release.Namespace | quote }}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ctx = serde_json::json!({
        "Values": { "m": { "k": "line1\nline2\n", "b": "true" }, "s": "say \"hi\"\t\u{1}é" },
        "Release": { "Namespace": "ns1", "Name": "r" },
    });
    let mut out = String::new();
    eval(&nodes, &ctx, &mut out).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.contains("q: \"say \\\"hi\\\"\\t\\x01é\"\n  n: \n  ns: \"ns1\"\n"),
        "{out}"
    );
    let doc = yaml_k8s("evaluated", &out);
    assert_eq!(
        doc,
        serde_json::json!({ "a": {
            "m": { "b": "true", "k": "line1\nline2\n" },
            "q": "say \"hi\"\t\u{1}é", "n": null, "ns": "ns1"
        }})
    );
    // An empty map is false; a nil intermediate is an error, not a silent empty value.
    let ctx =
        serde_json::json!({ "Values": { "m": {}, "s": "x" }, "Release": { "Namespace": "n" } });
    let mut out = String::new();
    eval(&nodes, &ctx, &mut out).unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.contains("m:"), "{out}");
    let nodes = parse("{{ .Values.a.b | quote }}").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        eval(
            &nodes,
            &serde_json::json!({ "Values": {} }),
            &mut String::new()
        )
        .is_err()
    );
}

#[test]
fn the_chart_deploys_what_flinkgen_writes_for_every_example() {
    for job in example_jobs() {
        check_job(&job);
    }
}

/// Strings that need escaping everywhere they travel: through flinkgen's values file, Helm's
/// quote and toYaml, and back.
#[test]
fn the_chart_deploys_hostile_strings_unchanged() {
    let (_dir, path) = common::profile(
        r#"
job "hostile" {
    environment "dev"
    flink version="2.2" operator="1.15"
    kafka cluster="c" connector="5.0.0"
    delivery "exactly-once"
    state size="2GiB" backend="rocksdb"
    throughput records-per-second=500 record-size="256B"
    source "raw" topic="h.raw" partitions=2 format="raw"
    sink "routed" topic="h.routed" partitions=2 format="raw"
    instance "m6i.4xlarge"
    kubernetes namespace="dev" image="flink:2.2" storage="s3://bucket/hostile" identity="arn:aws:iam::1:role/x=y,z@w"
    artifact jar="local:///opt/flink/usrlib/router.jar" entry-class="com.acme.X" {
        args "--a" "yes" "1e3" "multi\nline\n" "- item" "{b: c}" "it's \"quoted\": #1" "é\u{2028}" "  lead\n"
    }
    override "flink" "pipeline.name" "y"
    override "flink" "metrics.scope.jm" "a: b, [c] {d} 'e' \"f\" é\t\\ #x \u{2028}\nkey: v"
    override "producer" "client.id" "x=y: z é\t!#"
    override "consumer" "client.id" "line1\nline2: \"q\""
}

cluster "c" {
    kafka version="3.9" brokers=3 bootstrap="kafka.h.svc:9092"
    deployment "plain"
    broker "transaction.max.timeout.ms" 7200000
}
"#,
    );
    let jobs = jobs_of(&[&path]);
    assert_eq!(jobs.len(), 1);
    check_job(&jobs[0]);
    // The hostile strings reached the chart's output (not some default).
    let values = values_of(&jobs[0]);
    assert_eq!(values["job"]["args"][3], "multi\nline\n");
    assert_eq!(
        values["flinkConfiguration"]["metrics.scope.jm"],
        "a: b, [c] {d} 'e' \"f\" é\t\\ #x \u{2028}\nkey: v"
    );
    assert!(values["flinkConfiguration"].get("key").is_none());
}

/// A change that breaks valid values.
type Mutation = fn(&mut Map<String, Json>);

#[test]
fn the_values_schema_rejects_broken_values() {
    let schema = values_schema();
    let job = example_jobs()
        .into_iter()
        .find(|j| j.files.contains_key("k8s/serviceaccount.yaml"))
        .unwrap_or_else(|| panic!("an example with a ServiceAccount"));
    let good = helm_values(&values_of(&job));
    assert!(validation_errors("good", &schema, &good).is_empty());
    let broken: Vec<(&str, Mutation)> = vec![
        ("replicas as a string", |v| {
            v["taskManager"]["replicas"] = Json::from("3");
        }),
        ("no image", |v| {
            v.remove("image");
        }),
        ("no job", |v| {
            v.remove("job");
        }),
        ("a misspelt top-level key", |v| {
            v.insert("imagePullPolicyy".into(), Json::from("Always"));
        }),
        ("serviceAccount.create as a string", |v| {
            v["serviceAccount"]["create"] = Json::from("yes");
        }),
        ("serviceAccount without a name", |v| {
            if let Some(sa) = v["serviceAccount"].as_object_mut() {
                sa.remove("name");
            }
        }),
        ("a non-string Flink setting", |v| {
            v["flinkConfiguration"]["parallelism.default"] = Json::from(4);
        }),
        ("kafkaConfigMap without a name", |v| {
            if let Some(cm) = v["kafkaConfigMap"].as_object_mut() {
                cm.remove("name");
            }
        }),
        ("job.parallelism as a float", |v| {
            v["job"]["parallelism"] = Json::from(1.5);
        }),
    ];
    for (what, break_it) in broken {
        let mut v = good.clone();
        if let Some(m) = v.as_object_mut() {
            break_it(m);
        }
        assert_ne!(v, good, "{what}: the mutation changed nothing");
        assert!(
            !validation_errors(what, &schema, &v).is_empty(),
            "values with {what} validate"
        );
    }
    // The chart's defaults alone (a `helm install` without flinkgen's file) are refused.
    assert!(!validation_errors("defaults", &schema, &chart_defaults()).is_empty());
}
