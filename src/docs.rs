//! Generated documentation: the profile reference (from the JSON Schemas), the rule catalog
//! (from the checks' docs), the man page and shell completions (from the clap definition).
//!
//! Everything here is derived from one source of truth each, so the checked-in copies under
//! `docs/` can be compared with a fresh generation by a test (`tests/docs.rs`); regenerate with
//! `flinkgen docs --out docs`.

use std::fmt::Write as _;

use clap::CommandFactory;
use serde_json::Value;

use crate::check;
use crate::cli::Cli;
use crate::profile;

/// The command that regenerates every checked-in generated document.
pub const REGENERATE: &str = "cargo run -- docs --out docs";

/// Generated documents: path below the docs directory → contents.
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("profile-reference.md", profile_reference()),
        ("rules.md", rules_md()),
        ("man/flinkgen.1", man_page()),
    ]
}

fn resolve<'a>(root: &'a Value, mut s: &'a Value) -> &'a Value {
    // `$ref` to `#/$defs/X`, possibly several levels; sibling keywords of a `$ref` (its
    // description) are read by the caller before resolving.
    for _ in 0..8 {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => match r
                .strip_prefix("#/$defs/")
                .and_then(|n| root.get("$defs")?.get(n))
            {
                Some(t) => s = t,
                None => break,
            },
            None => break,
        }
    }
    s
}

fn is_node(s: &Value) -> bool {
    s.get("properties").is_some()
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Allowed values of an enumeration (`enum`, or `oneOf` of `const`s), with their descriptions.
fn enum_values(s: &Value) -> Option<Vec<(String, Option<String>)>> {
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        return Some(
            e.iter()
                .map(|v| (v.as_str().map_or(v.to_string(), str::to_string), None))
                .collect(),
        );
    }
    let one = s.get("oneOf")?.as_array()?;
    one.iter()
        .map(|v| {
            Some((
                v.get("const")?.as_str()?.to_string(),
                v.get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            ))
        })
        .collect()
}

/// Type, unit and constraint text of a scalar schema.
fn type_text(root: &Value, prop: &Value) -> (String, String) {
    let s = resolve(root, prop);
    if let Some(values) = enum_values(s) {
        let list: Vec<String> = values.iter().map(|(v, _)| format!("`{v}`")).collect();
        return (format!("one of {}", list.join(", ")), String::new());
    }
    match s.get("format").and_then(Value::as_str) {
        Some("size") => {
            return (
                "size".into(),
                "B, KiB, MiB, GiB, TiB; KB, MB, GB, TB".into(),
            );
        }
        Some("duration") => return ("duration".into(), "ms, s, min, h, d".into()),
        _ => {}
    }
    if s.get("anyOf").is_some() {
        return ("string, integer, number or boolean".into(), String::new());
    }
    let ty = s.get("type").and_then(Value::as_str).unwrap_or("any");
    let mut text = match ty {
        "array" => {
            let items = s.get("items").map(|i| type_text(root, i).0);
            format!("list of {}", items.unwrap_or_else(|| "values".into()))
        }
        other => other.to_string(),
    };
    let mut limits = vec![];
    if let Some(m) = s.get("minimum") {
        limits.push(format!("≥ {m}"));
    }
    if let Some(m) = s.get("maximum") {
        limits.push(format!("≤ {m}"));
    }
    if let Some(p) = s.get("pattern").and_then(Value::as_str) {
        limits.push(format!("matches `{}`", p.replace('|', "\\|")));
    }
    if !limits.is_empty() {
        text.push_str(&format!(" ({})", limits.join(", ")));
    }
    (text, String::new())
}

fn description(root: &Value, prop: &Value) -> String {
    prop.get("description")
        .or_else(|| resolve(root, prop).get("description"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// One node's section, then the sections of its child nodes.
fn node_section(root: &Value, path: &str, prop: &Value, node: &Value, out: &mut String) {
    let depth = path.matches(' ').count();
    let heading = "#".repeat((depth + 2).min(5));
    let _ = writeln!(out, "{heading} `{path}`\n");
    let mut desc = description(root, prop);
    if desc.is_empty() {
        desc = node
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
    }
    if !desc.is_empty() {
        let _ = writeln!(out, "{desc}\n");
    }
    if let Some(ex) = prop
        .get("x-kdl-example")
        .or_else(|| node.get("x-kdl-example"))
        .and_then(Value::as_str)
    {
        let _ = writeln!(out, "```kdl\n{ex}\n```\n");
    }
    let args: Vec<&str> = node
        .get("x-kdl-args")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let required: Vec<&str> = node
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = node.get("properties").and_then(Value::as_object) else {
        return;
    };
    let _ = writeln!(
        out,
        "| field | written as | type | unit | required | default | description |\n|---|---|---|---|---|---|---|"
    );
    let mut children = vec![];
    for (name, p) in props {
        let target = resolve(root, p);
        let item = target.get("items").map(|i| resolve(root, i));
        let written = if let Some(i) = args.iter().position(|a| a == name) {
            format!("argument {}", i + 1)
        } else if is_node(target) || item.is_some() || !path.contains(' ') {
            // Nodes, lists and the top-level fields are child nodes (`environment "prod"`,
            // `args "a" "b"`); the scalar fields of a nested node are its properties.
            "child node".to_string()
        } else {
            "property".to_string()
        };
        let (ty, unit) = if is_node(target) {
            ("node".to_string(), String::new())
        } else if item.is_some_and(is_node) {
            ("repeatable node".to_string(), String::new())
        } else {
            type_text(root, p)
        };
        let default = p
            .get("default")
            .or_else(|| target.get("default"))
            .map(|d| format!("`{d}`"))
            .unwrap_or_default();
        let req = if required.contains(&name.as_str()) {
            "yes"
        } else {
            "no"
        };
        let mut desc = description(root, p);
        if !is_node(target)
            && let Some(ex) = target.get("x-kdl-example").and_then(Value::as_str)
        {
            desc.push_str(&format!(" Example: `{ex}`."));
        }
        let _ = writeln!(
            out,
            "| `{name}` | {written} | {} | {} | {req} | {default} | {} |",
            md_escape(&ty),
            md_escape(&unit),
            md_escape(&desc)
        );
        if is_node(target) {
            children.push((name.clone(), p, target));
        } else if let Some(i) = item.filter(|i| is_node(i)) {
            children.push((name.clone(), p, i));
        }
        if let Some(values) = enum_values(target)
            && values.iter().any(|(_, d)| d.is_some())
        {
            // Documented enumeration values get their own list below the table.
            children.push((name.clone(), p, target));
        }
    }
    out.push('\n');
    for (name, p, target) in children {
        let child = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        if is_node(target) {
            node_section(root, &child, p, target, out);
        } else if let Some(values) = enum_values(target) {
            let _ = writeln!(out, "Values of `{child}`:\n");
            for (v, d) in values {
                let _ = writeln!(out, "- `{v}`: {}", d.unwrap_or_default());
            }
            out.push('\n');
        }
    }
}

/// `docs/profile-reference.md`: every node and field of the job and cluster profiles.
pub fn profile_reference() -> String {
    let mut out = String::from(
        "# Profile reference\n\n\
         <!-- Generated from the JSON Schemas by `flinkgen docs --out docs`; do not edit. -->\n\n\
         Profiles are KDL v2. A node's arguments fill the fields marked \"argument N\"; properties\n\
         are written `name=value`; child nodes go inside `{ … }`. Sizes and durations are strings\n\
         with a unit (`\"500GiB\"`, `\"30s\"`). The same structure is the JSON Schema printed by\n\
         `flinkgen schema job` and `flinkgen schema cluster`.\n\n",
    );
    for (kind, schema) in [
        ("job", profile::job_schema()),
        ("cluster", profile::cluster_schema()),
    ] {
        node_section(schema, kind, &Value::Null, schema, &mut out);
    }
    let trimmed = out.trim_end().to_string();
    format!("{trimmed}\n")
}

/// `docs/rules.md`: the rule catalog, from each check's docs.
pub fn rules_md() -> String {
    let mut out = String::from(
        "# Rule catalog\n\n\
         <!-- Generated from the checks' docs by `flinkgen docs --out docs`; do not edit. -->\n\n\
         Every finding carries one of these codes. `flinkgen rules` lists them and\n\
         `flinkgen rule CODE` prints one. FG1xx: Kafka and exactly-once; FG2xx: memory and sizing;\n\
         FG3xx: Flink, compatibility and deployment.\n\n\
         | code | name | severity | summary |\n|---|---|---|---|\n",
    );
    let catalog = check::catalog();
    for c in &catalog {
        let _ = writeln!(
            out,
            "| [{}](#{}) | `{}` | {} | {} |",
            c.code,
            c.code.to_lowercase(),
            c.name,
            c.severity,
            md_escape(c.summary)
        );
    }
    for c in &catalog {
        let _ = write!(
            out,
            "\n## {}\n\n`{}` · {}\n\n{}\n\n**Why it matters.** {}\n\n**How to fix it.** {}\n",
            c.code, c.name, c.severity, c.summary, c.why, c.fix
        );
    }
    out
}

/// The man page (roff), from the clap definition.
pub fn man_page() -> String {
    let cmd = Cli::command();
    let mut buf: Vec<u8> = vec![];
    // Rendering into a Vec cannot fail for I/O reasons.
    if clap_mangen::Man::new(cmd).render(&mut buf).is_err() {
        return String::new();
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Shell completions, from the clap definition.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut cmd = Cli::command();
    let mut buf: Vec<u8> = vec![];
    clap_complete::generate(shell, &mut cmd, "flinkgen", &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}
