//! SARIF 2.1.0 output, for code-scanning annotations (GitHub code scanning, GitLab, IDE viewers).
//!
//! `render` is a function of diagnostics and the files they point into, nothing else, so every
//! command that produces `Diagnostic`s (build, check, lint) emits the same log.
//!
//! Regions: lines and columns are 1-based; columns count UTF-16 code units (SARIF's default
//! `columnKind`, stated explicitly in the run), and `endColumn` is the column just after the
//! last character of the span — SARIF §3.30.
//!
//! Artifact URIs are the paths as flinkgen was given them, made relative to the working
//! directory when they are absolute paths below it: code scanning resolves relative URIs against
//! the repository root, so run flinkgen from there. Built-in policy packs are not files of the
//! user's repository; labels in them become related locations only.

use std::path::Path;

use serde_json::{Value, json};

use crate::check;
use crate::diag::{Diagnostic, Severity, Sources, Span};

/// The schema URI written into every log (the OASIS errata 01 schema of SARIF 2.1.0).
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

const BUILTIN_PREFIX: &str = "<builtin>/";

/// The rule id of diagnostics without a code: input errors (exit 2). Code scanning needs a rule
/// for every result.
pub const INPUT_ERROR: &str = "input-error";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Percent-encode what may not appear in a URI reference path (RFC 3986): keeps unreserved
/// characters, `/` and the sub-delimiters that are safe in a path segment.
fn encode_path(p: &str) -> String {
    let mut out = String::new();
    for b in p.bytes() {
        let c = b as char;
        if c.is_ascii_alphanumeric() || "-._~/!$&'()*+,;=:@".contains(c) {
            out.push(c);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    // A relative path whose first segment holds a colon would read as a scheme.
    if !out.starts_with('/')
        && out
            .split('/')
            .next()
            .is_some_and(|first| first.contains(':'))
    {
        out = format!("./{out}");
    }
    out
}

/// The artifact location of a source file name: relative URI for files below the working
/// directory (or given relatively), `file://` URI for other absolute paths.
fn artifact_location(name: &str) -> Value {
    if let Some(rest) = name.strip_prefix(BUILTIN_PREFIX) {
        // Not a file of the user's repository: name it under a base id code scanning ignores.
        return json!({"uri": encode_path(rest), "uriBaseId": "FLINKGEN_BUILTIN"});
    }
    let path = Path::new(name);
    if path.is_absolute() {
        if let Ok(cwd) = std::env::current_dir()
            && let Ok(rel) = path.strip_prefix(&cwd)
        {
            return json!({"uri": encode_path(&rel.to_string_lossy().replace('\\', "/"))});
        }
        let p = name.replace('\\', "/");
        let p = if p.starts_with('/') {
            p
        } else {
            format!("/{p}")
        };
        return json!({"uri": format!("file://{}", encode_path(&p))});
    }
    json!({"uri": encode_path(&name.replace('\\', "/"))})
}

/// The SARIF region of a span.
pub fn region(span: Span, sources: &Sources) -> Value {
    let file = sources.get(span.file);
    let start = span.offset as usize;
    let end = start.saturating_add(span.len as usize);
    let (sl, sc) = file.line_col_utf16(start);
    let (el, ec) = file.line_col_utf16(end);
    let mut r = json!({
        "startLine": sl,
        "startColumn": sc,
        "endLine": el,
        "endColumn": ec,
    });
    let snippet = sources.snippet(span);
    if !snippet.is_empty() {
        r["snippet"] = json!({"text": snippet});
    }
    r
}

fn physical(span: Span, sources: &Sources) -> Value {
    json!({
        "artifactLocation": artifact_location(&sources.get(span.file).name),
        "region": region(span, sources),
    })
}

fn is_builtin(span: Span, sources: &Sources) -> bool {
    sources.get(span.file).name.starts_with(BUILTIN_PREFIX)
}

fn rule_descriptor(def: &check::CheckDef) -> Value {
    json!({
        "id": def.code,
        "name": def.name,
        "shortDescription": {"text": def.summary},
        "fullDescription": {"text": def.why},
        "help": {
            "text": format!("{}\n\nWhy it matters: {}\n\nHow to fix it: {}", def.summary, def.why, def.fix),
            "markdown": format!("**{}** ({})\n\n{}\n\n**Why it matters.** {}\n\n**How to fix it.** {}\n\n`flinkgen rule {}`", def.code, def.name, def.summary, def.why, def.fix, def.code),
        },
        "defaultConfiguration": {"level": level(def.severity)},
        "properties": {"tags": ["flinkgen", family(def.code)]},
    })
}

/// The family of a code, as in the catalog (FG1xx Kafka, FG2xx memory, FG3xx Flink).
fn family(code: &str) -> &'static str {
    match code.get(2..3) {
        Some("1") => "kafka",
        Some("2") => "memory",
        Some("3") => "flink",
        _ => "policy",
    }
}

/// One result per diagnostic. Its primary location is the first label in a file of the user's
/// (built-in packs are not); every other label is a related location.
fn result(d: &Diagnostic, sources: &Sources, rule_index: Option<usize>) -> Value {
    let mut text = sources.scrub(&d.message).into_owned();
    if let Some(h) = &d.help {
        text.push_str(&format!("\n\nHelp: {}", sources.scrub(h)));
    }
    let mut r = json!({
        "level": level(d.severity),
        "message": {"text": text},
    });
    r["ruleId"] = json!(d.code.as_deref().unwrap_or(INPUT_ERROR));
    if let Some(i) = rule_index {
        r["ruleIndex"] = json!(i);
    }
    let primary = d.labels.iter().position(|l| !is_builtin(l.span, sources));
    if let Some(i) = primary {
        let l = &d.labels[i];
        r["locations"] = json!([{
            "physicalLocation": physical(l.span, sources),
            "message": {"text": sources.scrub(&l.text)},
        }]);
    }
    let related: Vec<Value> = d
        .labels
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != primary)
        .enumerate()
        .map(|(id, (_, l))| {
            json!({
                "id": id,
                "physicalLocation": physical(l.span, sources),
                "message": {"text": sources.scrub(&l.text)},
            })
        })
        .collect();
    if !related.is_empty() {
        r["relatedLocations"] = json!(related);
    }
    r
}

/// A SARIF 2.1.0 log of one run: the rule catalog as the driver's rules, one result per
/// diagnostic. Diagnostics whose code is not in the catalog (pack assertions, lint's own codes)
/// get a minimal rule of their own so that every `ruleId` resolves.
pub fn render(diags: &[Diagnostic], sources: &Sources) -> Value {
    let catalog = check::catalog();
    let mut rules: Vec<Value> = catalog.iter().map(|d| rule_descriptor(d)).collect();
    let mut ids: Vec<String> = catalog.iter().map(|d| d.code.to_string()).collect();
    let mut results = vec![];
    for d in diags {
        let code = d.code.as_deref().unwrap_or(INPUT_ERROR);
        let index = if let Some(i) = ids.iter().position(|c| c == code) {
            i
        } else {
            ids.push(code.to_string());
            rules.push(if d.code.is_none() {
                json!({
                    "id": INPUT_ERROR,
                    "name": INPUT_ERROR,
                    "shortDescription": {"text": "The input cannot be used: KDL syntax, the profile schema, unknown names or values; nothing was built."},
                    "defaultConfiguration": {"level": "error"},
                    "properties": {"tags": ["flinkgen", "input"]},
                })
            } else {
                json!({
                    "id": code,
                    "shortDescription": {"text": format!("policy rule {code}")},
                    "defaultConfiguration": {"level": level(d.severity)},
                    "properties": {"tags": ["flinkgen", "policy"]},
                })
            });
            ids.len() - 1
        };
        results.push(result(d, sources, Some(index)));
    }
    let mut driver = json!({
        "name": "flinkgen",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    // informationUri must be an absolute URI; Cargo.toml's `repository` is the one we have.
    let repo = env!("CARGO_PKG_REPOSITORY");
    if !repo.is_empty() {
        driver["informationUri"] = json!(repo);
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "columnKind": "utf16CodeUnits",
            "results": results,
        }],
    })
}

/// The log as pretty JSON text with a final newline.
pub fn render_text(diags: &[Diagnostic], sources: &Sources) -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(&render(diags, sources)).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(artifact_location("a b/c.kdl")["uri"], "a%20b/c.kdl");
        assert_eq!(artifact_location("x:y.kdl")["uri"], "./x:y.kdl");
        assert_eq!(
            artifact_location("<builtin>/policies/flink/1.20.kdl")["uriBaseId"],
            "FLINKGEN_BUILTIN"
        );
    }
}
