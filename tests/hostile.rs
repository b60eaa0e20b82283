//! Hostile input catalogue: every field that reaches an output gets every hostile string. Each
//! case is either refused (exit 2, an error whose span points at the value, nothing written) or
//! built, and then every output is parsed back with a real parser: each file has exactly the
//! keys of a benign build, and the hostile value comes back intact. Also: huge inputs, and
//! secrets that must never be printed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use flinkgen::app::{Format, build, check_cmd, explain_cmd};

/// Every `@FIELD@` is replaced by a KDL string: the benign value, or a hostile one.
const TEMPLATE: &str = r#"job @JOB@ {
    environment @ENV@
    flink version="2.2" operator="1.15"
    kafka cluster=@CLUSTER@ connector="4.0.1"
    delivery "at-least-once"
    source @SOURCE@ topic=@TOPIC@ partitions=2 format="json"
    sink "out" topic="out" partitions=2 format="json"
    checkpoint interval="1min"
    instance "m6i.4xlarge"
    kubernetes namespace=@NAMESPACE@ image=@IMAGE@ storage=@STORAGE@
    artifact jar=@JAR@ entry-class="com.acme.Job" {
        args @ARG@
    }
    security protocol="SASL_SSL" sasl-mechanism="SCRAM-SHA-512" {
        username secret=@SECRET@ key="username"
        password secret=@SECRET@ key=@SECRETKEY@
    }
    override "flink" @FLINKKEY@ @FLINKVAL@
    override "producer" @PRODKEY@ @PRODVAL@
    override "consumer" "client.id" @CONSVAL@
}

cluster @CLUSTER@ {
    kafka version="3.9" brokers=3 bootstrap=@BOOTSTRAP@
    deployment "strimzi" version="0.45.1"
    broker @BROKERKEY@ @BROKERVAL@
    topic @TOPICSET@ retention="7d"
}
"#;

const FIELDS: &[(&str, &str)] = &[
    ("JOB", "hostile"),
    ("ENV", "dev"),
    ("CLUSTER", "c"),
    ("SOURCE", "in"),
    ("TOPIC", "in-topic"),
    ("NAMESPACE", "dev"),
    ("IMAGE", "flink:2.2"),
    ("STORAGE", "s3://bucket/job"),
    ("JAR", "local:///opt/flink/usrlib/j.jar"),
    ("ARG", "--flag"),
    ("SECRET", "kafka-creds"),
    ("SECRETKEY", "password"),
    ("FLINKKEY", "pipeline.name"),
    ("FLINKVAL", "orders"),
    ("PRODKEY", "client.id"),
    ("PRODVAL", "p1"),
    ("CONSVAL", "c1"),
    ("BOOTSTRAP", "kafka:9092"),
    ("BROKERKEY", "log.cleaner.backoff.ms"),
    ("BROKERVAL", "15000"),
    ("TOPICSET", "in-topic"),
];

fn hostile_strings() -> Vec<(&'static str, String)> {
    vec![
        ("newline", "a\nb: 1".into()),
        ("cr", "a\rb=1".into()),
        ("equals", "a=b".into()),
        ("colon", "a: b".into()),
        ("hash", "a # b".into()),
        ("bang", "!a".into()),
        ("jinja-expr", "{{ 7 * 7 }}".into()),
        ("jinja-stmt", "{% include 'x' %}".into()),
        ("quotes", "a\"b'c".into()),
        ("backslash", "a\\b\\".into()),
        ("control", "a\u{7}\u{1b}[31mb".into()),
        ("nul", "a\u{0}b".into()),
        ("line-separator", "a\u{2028}b".into()),
        ("bom", "\u{feff}a".into()),
        ("long-unicode", "é漢".repeat(5_000)),
        ("dot-dot", "../x".into()),
        ("absolute", "/abs".into()),
        ("sql-quote", "a'); DROP TABLE t; --".into()),
    ]
}

/// A KDL v2 string literal for any string.
fn kdl(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The profile with `field` set to `value` (others benign), and the byte ranges of that value.
fn profile(field: &str, value: &str) -> (String, Vec<(usize, usize)>) {
    let mut text = TEMPLATE.to_string();
    let mut ranges = vec![];
    for (f, benign) in FIELDS {
        let marker = format!("@{f}@");
        let lit = kdl(if *f == field { value } else { benign });
        while let Some(at) = text.find(&marker) {
            if *f == field {
                ranges.push((at, at + lit.len()));
            }
            text.replace_range(at..at + marker.len(), &lit);
            // Markers of other fields after this one moved: recompute ranges at the end.
        }
    }
    // Ranges were taken while other markers were still in place before them; find the
    // literal again in the final text instead.
    let lit = kdl(value);
    let ranges: Vec<(usize, usize)> = if ranges.is_empty() {
        vec![]
    } else {
        text.match_indices(&lit)
            .map(|(i, m)| (i, i + m.len()))
            .collect()
    };
    (text, ranges)
}

/// A parsed output: for each file, its keys and values (flattened for YAML and JSON).
type Parsed = BTreeMap<String, BTreeMap<String, String>>;

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                flatten(&format!("{prefix}/{k}"), v, out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        serde_json::Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// Flink SQL `WITH ('k' = 'v', …);` blocks: a small tokenizer (strings with '' escapes,
/// comments outside strings). Any other token is an injection.
fn parse_sql(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| loop {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
        if chars.get(*i) == Some(&'-') && chars.get(*i + 1) == Some(&'-') {
            while *i < chars.len() && chars[*i] != '\n' {
                *i += 1;
            }
        } else {
            break;
        }
    };
    let string = |i: &mut usize| -> Result<String, String> {
        if chars.get(*i) != Some(&'\'') {
            return Err(format!("expected a string at char {i}"));
        }
        *i += 1;
        let mut s = String::new();
        loop {
            match chars.get(*i) {
                None => return Err("unterminated string".into()),
                Some('\'') if chars.get(*i + 1) == Some(&'\'') => {
                    s.push('\'');
                    *i += 2;
                }
                Some('\'') => {
                    *i += 1;
                    return Ok(s);
                }
                Some(c) => {
                    s.push(*c);
                    *i += 1;
                }
            }
        }
    };
    let mut block = 0;
    loop {
        skip_ws(&mut i);
        if i >= chars.len() {
            return Ok(out);
        }
        let rest: String = chars[i..].iter().take(6).collect();
        if !rest.starts_with("WITH (") {
            return Err(format!("unexpected text at char {i}: {rest:?}"));
        }
        i += 6;
        block += 1;
        loop {
            skip_ws(&mut i);
            let k = string(&mut i)?;
            skip_ws(&mut i);
            if chars.get(i) != Some(&'=') {
                return Err(format!("expected = after '{k}'"));
            }
            i += 1;
            skip_ws(&mut i);
            let v = string(&mut i)?;
            out.insert(format!("{block}/{k}"), v);
            skip_ws(&mut i);
            match chars.get(i) {
                Some(',') => i += 1,
                Some(')') if chars.get(i + 1) == Some(&';') => {
                    i += 2;
                    break;
                }
                other => return Err(format!("expected , or ); got {other:?}")),
            }
        }
    }
}

fn parse_outputs(dir: &Path) -> Parsed {
    let mut parsed = Parsed::new();
    for (path, bytes) in common::tree(dir) {
        let text = String::from_utf8(bytes).unwrap_or_else(|e| panic!("{path}: not UTF-8: {e}"));
        let mut kv = BTreeMap::new();
        if path.ends_with(".properties") {
            let props = java_properties::read(text.as_bytes())
                .unwrap_or_else(|e| panic!("{path}: not a properties file: {e}\n{text}"));
            kv.extend(props);
        } else if path.ends_with(".yaml") {
            let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text)
                .unwrap_or_else(|e| panic!("{path}: not YAML: {e}\n{text}"));
            for (i, d) in docs.iter().enumerate() {
                flatten(&format!("#{i}"), d, &mut kv);
            }
        } else if path.ends_with(".sql") {
            kv = parse_sql(&text).unwrap_or_else(|e| panic!("{path}: {e}\n{text}"));
        } else if path.ends_with(".json") {
            let v: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            flatten("", &v, &mut kv);
        } else {
            panic!("unexpected output {path}");
        }
        parsed.insert(path, kv);
    }
    parsed
}

fn keys(p: &Parsed) -> BTreeMap<String, BTreeSet<String>> {
    p.iter()
        .map(|(f, kv)| {
            // Paths and key names that hold the benign value itself (a job directory, a
            // topic list index) are compared by count, not by name.
            (f.clone(), kv.keys().cloned().collect())
        })
        .collect()
}

fn build_json(text: &str) -> (flinkgen::app::Outcome, tempfile::TempDir) {
    let (dir, path) = common::profile(text);
    let mut opts = common::options(&[&path]);
    opts.format = Format::Json;
    let out = dir.path().join("out");
    (build(&opts, &out, false), dir)
}

#[test]
fn every_hostile_value_in_every_field_is_refused_with_a_span_or_round_trips() {
    let (base_text, _) = profile("", "");
    let (base, base_dir) = build_json(&base_text);
    assert!(base.code <= 1, "the benign profile builds: {}", base.stdout);
    let base_parsed = parse_outputs(&base_dir.path().join("out"));
    let mut table: BTreeMap<String, BTreeMap<&str, String>> = BTreeMap::new();
    let (mut refused, mut built) = (0, 0);
    for (field, benign) in FIELDS {
        for (name, value) in hostile_strings() {
            let (text, ranges) = profile(field, &value);
            let what = format!("{field} = {name}");
            let (r, dir) = build_json(&text);
            let out = dir.path().join("out");
            if r.code == 2 {
                refused += 1;
                assert!(!out.exists(), "{what}: nothing written");
                let v: serde_json::Value = serde_json::from_str(&r.stdout)
                    .unwrap_or_else(|e| panic!("{what}: {e}: {}", r.stdout));
                let errors = v["errors"].as_array().cloned().unwrap_or_default();
                let points_at_value = errors.iter().any(|e| {
                    e["labels"].as_array().into_iter().flatten().any(|l| {
                        let off = l["span"]["offset"].as_u64().unwrap_or(u64::MAX) as usize;
                        let len = l["span"]["length"].as_u64().unwrap_or(0) as usize;
                        ranges
                            .iter()
                            .any(|(s, e)| off < *e && *s < off + len.max(1))
                    })
                });
                assert!(
                    points_at_value,
                    "{what}: refused, but no error points at the value {ranges:?}: {}",
                    r.stdout.chars().take(2000).collect::<String>()
                );
                table
                    .entry(field.to_string())
                    .or_default()
                    .insert(name, "refused".into());
                continue;
            }
            built += 1;
            assert!(r.code <= 1, "{what}: {}", r.stdout);
            let parsed = parse_outputs(&out);
            // No key added or removed anywhere. Keys that are the benign value itself (the job
            // directory, a topic name key) are renamed consistently, so compare after putting
            // the benign value back.
            let renamed: BTreeMap<String, BTreeSet<String>> = keys(&parsed)
                .into_iter()
                .map(|(f, ks)| {
                    (
                        f.replace(&value, benign),
                        ks.into_iter().map(|k| k.replace(&value, benign)).collect(),
                    )
                })
                .collect();
            assert_eq!(renamed, keys(&base_parsed), "{what}: the key sets changed");
            let comes_back = parsed
                .values()
                .flat_map(|kv| kv.values())
                .any(|v| v.contains(&value));
            assert!(
                comes_back,
                "{what}: the value does not round-trip in any output"
            );
            table
                .entry(field.to_string())
                .or_default()
                .insert(name, "built, round-trips".into());
        }
    }
    eprintln!("{refused} refused, {built} built and parsed back");
    for (field, row) in &table {
        eprintln!("{field}: {row:?}");
    }
}

#[test]
fn a_ten_megabyte_profile_is_refused_before_parsing() {
    let mut text = String::from("job \"x\" {\n");
    while text.len() < 10 * 1024 * 1024 {
        text.push_str("    // padding padding padding padding padding padding padding padding\n");
    }
    text.push_str("}\n");
    let (dir, path) = common::profile(&text);
    let r = build(&common::options(&[&path]), &dir.path().join("out"), false);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("larger than 4 MiB"), "{}", r.stderr);
}

/// Every file flinkgen reads — profiles, packs, files to lint or format, templates — must be a
/// regular file read with the profiles' bound: `/dev/zero` never ends and a FIFO waits for a
/// writer forever (both hung or ran out of memory), so both are refused at once.
#[cfg(unix)]
#[test]
fn every_file_flinkgen_reads_is_a_regular_file_read_with_a_bound() {
    let refused = |r: &flinkgen::app::Outcome, what: &str| {
        assert_eq!(r.code, 2, "{what}: {}", r.stderr);
        assert!(
            r.stderr.contains("not a regular file"),
            "{what}: {}",
            r.stderr
        );
    };
    let endless = Path::new("/dev/zero");
    refused(
        &flinkgen::app::lint_cmd(&common::options(&[endless]), &[]),
        "lint /dev/zero",
    );
    refused(
        &flinkgen::app::fmt_cmd(&[endless.to_path_buf()], true, false),
        "fmt /dev/zero",
    );
    let base = std::fs::read_to_string(common::root().join("examples/stateless-router.kdl"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (dir, path) = common::profile(&base);
    let fifo = |p: &Path| {
        let ok = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mkfifo {}", p.display());
    };
    // A FIFO among the profiles, among the packs, as a template.
    let profiles = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(profiles.path().join("a.kdl"), &base).unwrap_or_else(|e| panic!("{e}"));
    fifo(&profiles.path().join("z.kdl"));
    refused(
        &check_cmd(&common::options(&[profiles.path()])),
        "a FIFO among the profiles",
    );
    refused(
        &flinkgen::app::fmt_cmd(&[profiles.path().to_path_buf()], true, false),
        "fmt of a FIFO",
    );
    let packs = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    fifo(&packs.path().join("p.kdl"));
    let mut opts = common::options(&[&path]);
    opts.policies = vec![packs.path().to_path_buf()];
    refused(&check_cmd(&opts), "a FIFO among the packs");
    let templates = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(endless, templates.path().join("client.properties.j2"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut opts = common::options(&[&path]);
    opts.templates = Some(templates.path().to_path_buf());
    refused(
        &build(&opts, &dir.path().join("out"), false),
        "an endless template",
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn deep_nesting_is_refused_with_a_span_not_a_stack_overflow() {
    let text = format!("job \"x\" {}\n", "a {".repeat(100_000));
    let (dir, path) = common::profile(&text);
    let mut opts = common::options(&[&path]);
    opts.format = Format::Json;
    let r = build(&opts, &dir.path().join("out"), false);
    assert_eq!(r.code, 2);
    assert!(r.stdout.contains("nesting deeper than 64"), "{}", r.stdout);
    // The same for a pack.
    let packs = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(packs.path().join("p.kdl"), &text).unwrap_or_else(|e| panic!("{e}"));
    let (_d, good) = common::profile("job \"x\" {}\n");
    let mut opts = common::options(&[&good]);
    opts.policies = vec![packs.path().to_path_buf()];
    let r = build(&opts, &dir.path().join("out"), false);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nesting deeper than 64"), "{}", r.stderr);
    // Braces inside strings and comments do not count.
    let ok = format!(
        "// {}\njob \"x\" {{\n    environment \"{}\"\n}}\n",
        "{".repeat(1000),
        "{".repeat(100)
    );
    let (dir, path) = common::profile(&ok);
    let r = build(&common::options(&[&path]), &dir.path().join("out"), false);
    assert!(!r.stderr.contains("nesting deeper"), "{}", r.stderr);
}

/// The nesting limit is checked outside comments and strings, which end where the parser ends
/// them: at every KDL v2 newline (CR, LF, NEL, VT, FF, LS, PS), not only LF. A comment ended by
/// a form feed once hid 100 000 braces from the check, and the parser overflowed its stack. The
/// same for single-line strings, raw strings and a `\` followed by something other than a
/// newline.
#[test]
fn deep_nesting_after_any_kind_of_newline_is_refused() {
    let deep = "{".repeat(100_000);
    let newlines = ["\r", "\u{0B}", "\u{0C}", "\u{85}", "\u{2028}", "\u{2029}"];
    let mut cases: Vec<(String, String)> = vec![];
    for nl in newlines {
        let shown = nl.escape_unicode().to_string();
        cases.push((
            format!("comment ended by {shown}"),
            format!("// c{nl}{deep}\n"),
        ));
        cases.push((
            format!("string ended by {shown}"),
            format!("job \"x{nl}{deep}\n"),
        ));
        cases.push((
            format!("raw string ended by {shown}"),
            format!("job #\"x{nl}{deep}\n"),
        ));
    }
    cases.push(("stray backslash".into(), format!("job \"x\" \\ {deep}\n")));
    cases.push((
        "string continued by a whitespace escape over CRLF".into(),
        format!("job \"a\\\r\n\" {deep}\n"),
    ));
    cases.push((
        "backslash, comments, form feed".into(),
        format!("job \"x\" \\ /* c */ // c\u{0C}{deep}\n"),
    ));
    for (what, text) in cases {
        // A directory of several files: they are parsed on the worker threads, whose stacks are
        // smaller than the main thread's.
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("a.kdl"), &text).unwrap_or_else(|e| panic!("{e}"));
        let example =
            std::fs::read_to_string(common::root().join("examples/orders-enrichment.kdl"))
                .unwrap_or_else(|e| panic!("{e}"));
        for i in 0..3 {
            std::fs::write(dir.path().join(format!("e{i}.kdl")), &example)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let r = build(
            &common::options(&[dir.path()]),
            &dir.path().join("out"),
            false,
        );
        assert_eq!(r.code, 2, "{what}: {}", r.stderr);
        assert!(
            r.stderr.contains("nesting deeper than 64"),
            "{what}: {}",
            r.stderr
        );
    }
}

/// `flinkgen build` of one profile with this text: it must be refused as bad input (exit 2).
fn build_refused(text: &str) -> flinkgen::app::Outcome {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("profile.kdl");
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
    let r = build(&common::options(&[&p]), &dir.path().join("out"), false);
    assert_eq!(r.code, 2, "{}", r.stderr);
    r
}

/// What the fast reader declines goes to the kdl crate's parser, whose error recovery on broken
/// text with thousands of blocks takes seconds and gigabytes: more than 4 096 `{` are refused
/// before it runs; and a broken file reports its first 100 syntax errors, not thousands.
#[test]
fn broken_files_with_thousands_of_blocks_or_errors_are_cut_short() {
    let many_blocks = format!("job \"x\" {{\n{}\n\"unclosed\n}}\n", "a {}\n".repeat(5000));
    let r = build_refused(&many_blocks);
    assert!(
        r.stderr
            .contains("5001 `{` in a file that is not plain KDL"),
        "{}",
        r.stderr
    );
    let many_errors = format!("job \"x\" {{\n{}}}\n", "a \"unclosed\n".repeat(300));
    let r = build_refused(&many_errors);
    assert!(
        r.stderr
            .contains("more KDL syntax errors were not checked after 100 errors"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.matches("KDL syntax error").count() <= 102,
        "{}",
        r.stderr
    );
}

/// A label more than 65 535 columns into a line once reached miette unwindowed, which pads to a
/// label's column with a format width and panics beyond that: an unclosed block at the end of a
/// 70 KB line (its label ends with the line break, so it seemed to span two lines), or two labels
/// of one finding far apart on a long line.
#[test]
fn errors_far_into_a_very_long_line_are_reported_not_a_panic() {
    let cases = [
        format!("job \"x\" {{\n{}b {{\n", "a=1 ".repeat(20_000)),
        format!("job \"x\" {{ a {{ {}b {{\n", " ".repeat(70_000)),
        format!("{}job \"x\" {{ a {{\n", " ".repeat(70_000)),
        format!(
            "job \"x\" {{\n environment {{\n{}a 1 }}\n}}\n",
            " ".repeat(70_000)
        ),
    ];
    for text in &cases {
        let r = build_refused(text);
        assert!(r.stderr.contains('×'), "{}", r.stderr);
        // A label on one line shows a window of it; one spanning lines shows them whole.
        assert!(r.stderr.len() < 1_000_000, "{} bytes", r.stderr.len());
    }
}

#[test]
fn a_hundred_thousand_nodes_are_handled() {
    let base = std::fs::read_to_string(common::root().join("examples/stateless-router.kdl"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut text = base.replacen(
        "deployment \"strimzi\" version=\"0.45.1\"",
        "deployment \"strimzi\" version=\"0.45.1\"\n",
        1,
    );
    let at = text.rfind('}').unwrap_or(text.len());
    let many: String = (0..100_000)
        .map(|i| format!("    topic \"t{i}\" retention=\"7d\"\n"))
        .collect();
    text.insert_str(at, &many);
    assert!(text.len() < 4 * 1024 * 1024);
    let (dir, path) = common::profile(&text);
    let r = build(&common::options(&[&path]), &dir.path().join("out"), false);
    // Handled: built (or refused with a clear error), in bounded time — the test finishing is
    // the evidence; no timing assertion.
    assert!(r.code <= 2, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"));
}

/// Many mistakes in one file: each unknown key is compared with every option of the release for
/// a "did you mean". A profile stops after 100 override errors (naming how many it did not check);
/// the first ones still get their suggestion.
#[test]
fn a_profile_with_sixty_thousand_unknown_overrides_stops_after_a_hundred_errors() {
    let base = std::fs::read_to_string(common::root().join("examples/legacy-audit.kdl"))
        .unwrap_or_else(|e| panic!("{e}"));
    let many: String = (0..60_000)
        .map(|i| {
            format!("    override \"flink\" \"execution.checkpointing.interval{i:05}\" \"1 min\"\n")
        })
        .collect();
    let text = base.replacen(
        "    override \"flink\" \"execution.checkpointing.timeout\" \"5 min\"\n",
        &many,
        1,
    );
    assert!(text.len() < 4 * 1024 * 1024 && text.contains("interval59999"));
    let (dir, path) = common::profile(&text);
    let r = build(&common::options(&[&path]), &dir.path().join("out"), false);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr
            .matches("is not a Flink 1.18 configuration option")
            .count(),
        100
    );
    assert_eq!(
        r.stderr
            .matches("did you mean `execution.checkpointing.interval`?")
            .count(),
        100,
        "{}",
        head(&r.stderr)
    );
    // 59 900 Flink overrides and the example's Kubernetes one are checked in the same pass.
    assert!(
        r.stderr
            .contains("59901 more overrides of this job were not checked after 100 errors"),
        "{}",
        tail(&r.stderr)
    );
    assert!(!dir.path().join("out").exists());
}

/// The kdl crate's parser takes time exponential in how deeply `/-` commented-out blocks nest
/// (kdl-org/kdl-rs#177; the profile fuzzer found two inputs of 1-2 KB that took 0.3 s and 5 s).
/// Such files are refused before the parser runs; commented-out blocks nested up to four deep
/// still parse.
#[test]
fn nested_slashdash_comments_are_refused_before_the_kdl_parser() {
    let root = common::root().join("fuzz/artifacts/profile");
    let found: Vec<String> = [
        "timeout-slashdash-in-unclosed-strings",
        "slow-unit-nested-slashdash",
    ]
    .iter()
    .map(|f| {
        let bytes = std::fs::read(root.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        String::from_utf8_lossy(&bytes).into_owned()
    })
    .collect();
    let hostile = [
        "a /-{\n".repeat(30),
        format!("{}{}", "a /-{\n".repeat(30), "}\n".repeat(30)),
        "/- a {\n b\n".repeat(30),
        "/-\n a {\n".repeat(30),
        "/- a \\\n {\n".repeat(30),
    ];
    for text in &hostile {
        let (dir, path) = common::profile(text);
        let r = build(&common::options(&[&path]), &dir.path().join("out"), false);
        assert_eq!(r.code, 2);
        assert!(
            r.stderr.contains("`/-` comments nested more than 4 deep"),
            "{}",
            head(&r.stderr)
        );
        assert!(flinkgen::fmt::format_checked(text).is_err());
    }
    // The fuzz inputs: refused by that count, or (where their `/-` nest only as the parser's
    // error recovery reads them) by the syntax errors of the parse with every `/-` blanked.
    for text in &found {
        let (dir, path) = common::profile(text);
        let r = build(&common::options(&[&path]), &dir.path().join("out"), false);
        assert_eq!(r.code, 2);
        assert!(
            r.stderr.contains("KDL syntax error") || r.stderr.contains("nested more than 4 deep"),
            "{}",
            head(&r.stderr)
        );
        assert!(flinkgen::fmt::format_checked(text).is_err());
    }
    // Four deep is fine: the parser answers (here: the file is not a profile).
    let four = format!("{}{}", "a /-{\n".repeat(4), "}\n".repeat(4));
    let (dir, path) = common::profile(&four);
    let r = build(&common::options(&[&path]), &dir.path().join("out"), false);
    assert_eq!(r.code, 2);
    assert!(
        !r.stderr.contains("nested more than"),
        "{}",
        head(&r.stderr)
    );
    assert!(
        r.stderr.contains("unknown top-level node `a`"),
        "{}",
        head(&r.stderr)
    );
}

/// The start of a long report, for an assertion message.
fn head(s: &str) -> String {
    s.chars().take(1500).collect()
}

/// The end of a long report, for an assertion message.
fn tail(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars[chars.len().saturating_sub(1500)..].iter().collect()
}

/// The same bound for unknown nodes (schema errors) and unknown broker settings.
#[test]
fn ninety_thousand_unknown_nodes_or_broker_keys_report_the_first_hundred() {
    let base = std::fs::read_to_string(common::root().join("examples/legacy-audit.kdl"))
        .unwrap_or_else(|e| panic!("{e}"));
    let nodes: String = (0..90_000)
        .map(|i| format!("    checkpoint{i:05} \"1 min\"\n"))
        .collect();
    let brokers: String = (0..90_000)
        .map(|i| format!("    broker \"log.retention.hourz{i:05}\" \"1\"\n"))
        .collect();
    let cases = [
        (
            base.replacen("    environment", &format!("{nodes}    environment"), 1),
            "unknown node or property `checkpoint",
            "more errors in this `job` are not shown after the first 100",
        ),
        (
            base.replacen(
                "cluster \"legacy\" {\n",
                &format!("cluster \"legacy\" {{\n{brokers}"),
                1,
            ),
            "is not a Kafka 3.6 broker config",
            "more broker settings were not checked after 100 errors",
        ),
    ];
    for (text, each, summary) in cases {
        assert!(text.len() < 4 * 1024 * 1024);
        let (dir, path) = common::profile(&text);
        let r = build(&common::options(&[&path]), &dir.path().join("out"), false);
        assert_eq!(r.code, 2);
        assert_eq!(r.stderr.matches(each).count(), 100, "{each}");
        assert!(r.stderr.contains(summary), "{}", tail(&r.stderr));
    }
}

/// lint reports every unknown key of a hostile file, in time linear in its size: suggestions for
/// the first hundred findings of a unit only, and a single long line shown as a window.
#[test]
fn lint_reports_a_hundred_thousand_unknown_keys_without_slowing_down() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let keys: Vec<String> = (0..90_000)
        .map(|i| format!("execution.checkpointing.interval{i:05}"))
        .collect();
    // Legacy flink-conf.yaml, one key per line.
    let legacy = dir.path().join("legacy");
    std::fs::create_dir(&legacy).unwrap_or_else(|e| panic!("{e}"));
    let text: String = keys.iter().map(|k| format!("{k}: 1 min\n")).collect();
    std::fs::write(legacy.join("flink-conf.yaml"), &text).unwrap_or_else(|e| panic!("{e}"));
    // Standard config.yaml, every key on one 3.6 MB line.
    let flow = dir.path().join("flow");
    std::fs::create_dir(&flow).unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{{{}}}\n",
        keys.iter()
            .map(|k| format!("{k}: 1 min"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    std::fs::write(flow.join("config.yaml"), &text).unwrap_or_else(|e| panic!("{e}"));
    for d in [&legacy, &flow] {
        let mut opts = common::options(&[d]);
        opts.policies = vec![];
        let r = flinkgen::app::lint_cmd(&opts, &[]);
        let unknown = r.stderr.matches("is not a setting Flink").count();
        assert_eq!(unknown, 90_000, "{}", head(&r.stderr));
        let suggested = r
            .stderr
            .matches("did you mean `execution.checkpointing.interval`?")
            .count();
        assert!((1..=100).contains(&suggested), "{suggested}");
        // The last key's header carries its real position.
        let last = text
            .find("interval89999")
            .map_or(0, |i| i - "execution.checkpointing.".len());
        let (line, col) = if d == &flow {
            (1, last + 1)
        } else {
            (90_000, 1)
        };
        let header = format!(
            "{}:{line}:{col}]",
            d.join(if d == &flow {
                "config.yaml"
            } else {
                "flink-conf.yaml"
            })
            .display()
        );
        assert!(r.stderr.contains(&header), "{header}");
        let widest = r
            .stderr
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        assert!(widest < 1024, "a line of {widest} characters");
    }
}

/// Credentials: refused literals are never printed by any command, in any format; accepted
/// references are all that reaches the outputs.
/// `build`, `build --check`, `check` and `explain` of the credential keys all refuse `opts`
/// (exit 2) without printing `sentinel`.
fn refused_without_printing(case: &str, opts: &flinkgen::app::Options, out: &Path, sentinel: &str) {
    for r in [
        build(opts, out, false),
        build(opts, out, true),
        check_cmd(opts),
        explain_cmd(opts, &["sasl.jaas.config".into(), "s3.secret-key".into()]),
    ] {
        assert_eq!(r.code, 2, "{case}: refused\n{}{}", r.stdout, r.stderr);
        assert!(
            !r.stdout.contains(sentinel) && !r.stderr.contains(sentinel),
            "{case}: the secret was printed:\n{}{}",
            r.stdout,
            r.stderr
        );
    }
}

#[test]
fn literal_secrets_never_appear_in_any_report() {
    let base = std::fs::read_to_string(common::root().join("examples/stateless-router.kdl"))
        .unwrap_or_else(|e| panic!("{e}"));
    let sentinel = "hunter2-S3CRET";
    let cases = [
        format!(
            "security protocol=\"SASL_SSL\" sasl-mechanism=\"PLAIN\" {{\n username secret=\"s\" key=\"u\"\n password \"{sentinel}\"\n }}\n    artifact jar"
        ),
        format!(
            "security protocol=\"SASL_SSL\" sasl-mechanism=\"PLAIN\" {{\n username secret=\"s\" key=\"u\"\n password value=\"{sentinel}\"\n }}\n    artifact jar"
        ),
        format!(
            "override \"producer\" \"sasl.jaas.config\" \"org.apache.kafka.common.security.plain.PlainLoginModule required username=\\\"u\\\" password=\\\"{sentinel}\\\";\"\n    artifact jar"
        ),
        format!(
            "override \"consumer\" \"ssl.truststore.password\" \"{sentinel}\"\n    artifact jar"
        ),
        format!("override \"flink\" \"s3.secret-key\" \"{sentinel}\"\n    artifact jar"),
        format!("override \"flink\" \"fs.s3a.access.key\" \"{sentinel}\"\n    artifact jar"),
        // Messages that quote the value: a schema error quotes the instance it refuses.
        format!(
            "security protocol=\"SASL_SSL\" sasl-mechanism=\"PLAIN\" {{\n username secret=\"s\" key=\"u\"\n password {{\n value \"{sentinel}\"\n }}\n }}\n    artifact jar"
        ),
        format!(
            "security protocol=\"SASL_SSL\" sasl-mechanism=\"PLAIN\" {{\n username secret=\"s\" key=\"u\"\n password env=\"{sentinel}\"\n }}\n    artifact jar"
        ),
        // A credential inside another setting's value.
        format!(
            "override \"flink\" \"env.java.opts.all\" \"-Djavax.net.ssl.keyStorePassword={sentinel} -Dx=1\"\n    artifact jar"
        ),
        format!("override \"producer\" \"client.id\" \"password={sentinel}\"\n    artifact jar"),
        format!(
            "override \"flink\" \"s3.endpoint\" \"https://minio:{sentinel}@minio.svc:9000\"\n    artifact jar"
        ),
        // A misspelt credential key (refused as unknown, its snippet shown).
        format!(
            "override \"consumer\" \"ssl.truststore.pasword\" \"{sentinel}\"\n    artifact jar"
        ),
        // The named forms: only the value is masked, so the masked text parses the same.
        format!(
            "override \"producer\" \"ssl.key.password\" value=\"{sentinel}\"\n    artifact jar"
        ),
        format!(
            "override target=\"consumer\" key=\"ssl.key.password\" value=\"{sentinel}\"\n    artifact jar"
        ),
        // Broker settings of the cluster.
        format!(
            "artifact jar\n}}\ncluster \"x\" {{\n    kafka version=\"3.9\" brokers=1 bootstrap=\"x:9092\"\n    deployment \"plain\"\n    broker \"ssl.keystore.password\" \"{sentinel}\"\n}}\njob \"y\" {{\n    artifact jar"
        ),
        format!(
            "artifact jar\n}}\ncluster \"x\" {{\n    kafka version=\"3.9\" brokers=1 bootstrap=\"x:9092\"\n    deployment \"plain\"\n    broker key=\"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config\" value=\"{sentinel}\"\n}}\njob \"y\" {{\n    artifact jar"
        ),
    ];
    for case in &cases {
        let text = base.replacen("artifact jar", case, 1);
        let (dir, path) = common::profile(&text);
        let out = dir.path().join("out");
        for format in [Format::Human, Format::Json, Format::Sarif] {
            let mut opts = common::options(&[&path]);
            opts.format = format;
            refused_without_printing(case, &opts, &out, sentinel);
        }
        assert!(!out.exists());
        // `fmt --check` prints a diff (for CI logs): masked on both sides.
        let r = flinkgen::app::fmt_cmd(std::slice::from_ref(&path), true, false);
        assert!(
            !r.stdout.contains(sentinel) && !r.stderr.contains(sentinel),
            "{case}: fmt --check printed the secret:\n{}{}",
            r.stdout,
            r.stderr
        );
    }
}

#[test]
fn references_are_all_that_reaches_outputs_explain_and_the_manifest() {
    let base = std::fs::read_to_string(common::root().join("examples/stateless-router.kdl"))
        .unwrap_or_else(|e| panic!("{e}"))
        .replacen("connector=\"3.4.0\"", "connector=\"4.0.1\"", 1);
    let text = base.replacen(
        "artifact jar",
        "security protocol=\"SASL_SSL\" sasl-mechanism=\"SCRAM-SHA-512\" {\n        username secret=\"kafka-user\" key=\"username\"\n        password env=\"KAFKA_PASSWORD\"\n    }\n    override \"consumer\" \"ssl.truststore.password\" \"${dir:/opt/flink/secrets/truststore:password}\"\n    artifact jar",
        1,
    );
    let (dir, path) = common::profile(&text);
    let out = dir.path().join("out");
    let opts = common::options(&[&path]);
    let r = build(&opts, &out, false);
    assert!(r.code <= 1, "{}", r.stderr);
    let mut secret_values = 0;
    for (file, kv) in parse_outputs(&out) {
        for (k, v) in kv {
            let key = k.rsplit('/').next().unwrap_or(&k);
            // Kubernetes Secret names are the references themselves.
            let names_a_secret = key == "secretName" || k.contains("secretVolumes");
            if flinkgen::profile::is_secret_key(key) && !names_a_secret {
                secret_values += 1;
                assert!(
                    flinkgen::profile::is_reference_only(&v),
                    "{file}: {k} holds something other than references: {v}"
                );
            }
        }
    }
    assert!(secret_values >= 2, "the credential keys were checked");
    // A reference works only where the client declares its provider, and a `dir` reference
    // only where the pods mount its Secret (tests/kafka_clients.rs proves it with the client).
    let consumer =
        std::fs::read_to_string(out.join("jobs/stateless-router/kafka/consumer.properties"))
            .unwrap_or_else(|e| panic!("{e}"));
    for line in [
        "config.providers=dir,env",
        "config.providers.dir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider",
        "config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider",
    ] {
        assert!(consumer.lines().any(|l| l == line), "{line}:\n{consumer}");
    }
    let deployment =
        std::fs::read_to_string(out.join("jobs/stateless-router/k8s/flinkdeployment.yaml"))
            .unwrap_or_else(|e| panic!("{e}"));
    for secret in ["kafka-user", "truststore"] {
        assert!(
            deployment.contains(&format!("secretName: {secret}\n"))
                && deployment.contains(&format!("mountPath: /opt/flink/secrets/{secret}\n")),
            "Secret {secret} is not mounted:\n{deployment}"
        );
    }
    let explained = explain_cmd(
        &opts,
        &["sasl.jaas.config".into(), "ssl.truststore.password".into()],
    );
    assert!(
        explained.stdout.contains("${env:KAFKA_PASSWORD}"),
        "{}",
        explained.stdout
    );
    for line in explained.stdout.lines().filter(|l| l.contains("password=")) {
        assert!(
            line.contains("password=\\\"${") || line.contains("password=\"${"),
            "{line}"
        );
    }
}

/// A broker credential as a reference builds when the cluster declares its provider, and the
/// broker's settings carry the reference and the declaration (the refusals are in errors.rs).
#[test]
fn a_broker_credential_reference_with_its_provider_declared_builds() {
    let base = std::fs::read_to_string(common::root().join("examples/stateless-router.kdl"))
        .unwrap_or_else(|e| panic!("{e}"));
    let text = base
        .replacen("deployment \"strimzi\" version=\"0.45.1\"", "deployment \"plain\"", 1)
        .replacen(
            "    broker \"default.replication.factor\" 1",
            "    broker \"default.replication.factor\" 1\n    broker \"config.providers\" \"file\"\n    broker \"config.providers.file.class\" \"org.apache.kafka.common.config.provider.FileConfigProvider\"\n    broker \"ssl.keystore.password\" \"${file:/opt/kafka/secrets/ks.properties:password}\"",
            1,
        );
    let (dir, path) = common::profile(&text);
    let out = dir.path().join("out");
    let r = build(&common::options(&[&path]), &out, false);
    assert!(r.code <= 1, "{}", r.stderr);
    let server = std::fs::read_to_string(out.join("clusters/dev/server.properties"))
        .unwrap_or_else(|e| panic!("{e}"));
    let props: BTreeMap<String, String> = java_properties::read(server.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .collect();
    assert_eq!(
        props.get("config.providers").map(String::as_str),
        Some("file"),
        "{server}"
    );
    assert_eq!(
        props.get("ssl.keystore.password").map(String::as_str),
        Some("${file:/opt/kafka/secrets/ks.properties:password}"),
        "{server}"
    );
}

/// Reports quote packs and files anyone may have written: what reaches the terminal carries no
/// control sequence of theirs (screen clear, window title, OSC 52 clipboard write, BEL), with
/// colour on or off; the text stays readable as `\u{…}` escapes.
#[test]
fn no_terminal_control_sequence_of_a_pack_reaches_the_terminal() {
    use clap::Parser;
    let packs = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        packs.path().join("org.kdl"),
        "pack \"ev\\u{1b}]0;pwned\\u{7}il\" version=\"1\" layer=\"organisation\" {\n    doc \"x\"\n    rule \"r1\" {\n        doc \"x\"\n        assert \"false\"\n        severity \"warning\"\n        message \"hello \\u{1b}[2J\\u{1b}]52;c;ZWNobyBoaQ==\\u{7}\\u{9b}31m\\u{202e} world\"\n    }\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let example = common::root().join("examples/stateless-router.kdl");
    for color in ["never", "always"] {
        let cli = flinkgen::cli::Cli::parse_from([
            "flinkgen",
            "check",
            example.to_str().unwrap_or_default(),
            "--policies",
            packs.path().to_str().unwrap_or_default(),
            "--color",
            color,
        ]);
        let r = flinkgen::cli::run(cli);
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(all.contains("hello \\u{1b}[2J"), "{color}: {all}");
        for bad in ["\u{1b}[2J", "\u{1b}]", "\u{7}", "\u{9b}", "\u{202e}"] {
            assert!(
                !all.contains(bad),
                "{color}: {bad:?} reached the terminal:\n{all}"
            );
        }
        if color == "never" {
            assert!(!all.contains('\u{1b}'), "no escape at all without colour");
        }
    }
}

/// A `--policies` pack follows the profiles' rule for credentials: a literal (written or
/// computed by an expression, or inside another value) is refused and never printed, by any
/// command in any format; Flink's configuration takes no references; a Kafka client reference
/// gets its provider declared and its Secret mounted.
#[test]
fn a_pack_sets_credentials_only_as_references() {
    let example = common::root().join("examples/stateless-router.kdl");
    let sentinel = "hunter2-PACK";
    let pack = |sets: &str| {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join("org.kdl"),
            format!("pack \"org\" version=\"1\" layer=\"organisation\" {{\n    doc \"x\"\n    rule \"creds\" {{\n        doc \"x\"\n        {sets}\n    }}\n}}\n"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        dir
    };
    let refused = [
        format!(
            "set \"consumer\" \"sasl.jaas.config\" \"org.apache.kafka.common.security.plain.PlainLoginModule required username=\\\"u\\\" password=\\\"{sentinel}\\\";\""
        ),
        format!("set \"flink\" \"s3.secret-key\" \"{sentinel}\""),
        format!(
            "set \"flink\" \"env.java.opts.all\" \"-Djavax.net.ssl.keyStorePassword={sentinel}\""
        ),
        "set \"consumer\" \"ssl.key.password\" expr=\"'hunter2-' ~ 'PACK'\"".to_string(),
        "set \"flink\" \"s3.secret-key\" \"${env:S3_KEY}\"".to_string(),
    ];
    for sets in &refused {
        let packs = pack(sets);
        let out = packs.path().join("out");
        for format in [Format::Human, Format::Json, Format::Sarif] {
            let mut opts = common::options(&[&example]);
            opts.policies = vec![packs.path().to_path_buf()];
            opts.format = format;
            refused_without_printing(sets, &opts, &out, sentinel);
        }
        assert!(!out.exists());
    }
    // A reference: declared and mounted, as for an override.
    let packs = pack(
        "set \"consumer\" \"ssl.key.password\" \"${dir:/opt/flink/secrets/pack-tls:key-password}\"",
    );
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut opts = common::options(&[&example]);
    opts.policies = vec![packs.path().to_path_buf()];
    let r = build(&opts, dir.path(), false);
    assert!(r.code <= 1, "{}", r.stderr);
    let consumer = std::fs::read_to_string(
        dir.path()
            .join("jobs/stateless-router/kafka/consumer.properties"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        consumer.lines().any(|l| l == "config.providers=dir"),
        "{consumer}"
    );
    let deployment = std::fs::read_to_string(
        dir.path()
            .join("jobs/stateless-router/k8s/flinkdeployment.yaml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        deployment.contains("secretName: pack-tls\n"),
        "{deployment}"
    );
}

/// Tens of thousands of credentials in one file: all masked, the first hundred reported one by
/// one and the rest counted (a file like these took over four minutes: every masked value was
/// compared with every message, and each value produced its own error).
#[test]
fn tens_of_thousands_of_credentials_are_masked_and_reported_in_bulk() {
    let mut profile = String::from("job \"x\" {\n    artifact jar=\"local:///j.jar\" {\n");
    for i in 0..60_000 {
        profile.push_str(&format!("        args \"--password=hunter-{i:05}\"\n"));
    }
    profile.push_str("    }\n}\n");
    let (dir, path) = common::profile(&profile);
    let r = check_cmd(&common::options(&[&path]));
    assert_eq!(r.code, 2);
    assert!(!r.stderr.contains("hunter-"), "a credential was printed");
    assert_eq!(
        r.stderr
            .matches("holds a literal credential inside it")
            .count(),
        100
    );
    assert!(
        r.stderr.contains("59900 more values holding credentials"),
        "{}",
        &r.stderr[r.stderr.len().saturating_sub(2000)..]
    );
    let lint_dir = dir.path().join("lint");
    std::fs::create_dir_all(&lint_dir).unwrap_or_else(|e| panic!("{e}"));
    let lines: String = (0..90_000)
        .map(|i| format!("ssl.key.password{i}=hunter-{i:05}\n"))
        .collect();
    std::fs::write(lint_dir.join("producer.properties"), lines).unwrap_or_else(|e| panic!("{e}"));
    let r = flinkgen::app::lint_cmd(&common::options(&[&lint_dir]), &[]);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(!all.contains("hunter-"), "a credential was printed");
    assert_eq!(
        all.matches("holds a literal credential (masked in this report)")
            .count(),
        100
    );
    assert!(
        all.contains("89900 more literal credentials are masked"),
        "{}",
        &all[all.len().saturating_sub(2000)..]
    );
}
