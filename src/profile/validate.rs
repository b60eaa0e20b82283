//! JSON Schema validation of converted profiles, with errors mapped back to KDL spans.
//!
//! The schema is the one authority for structure, types and ranges; this module only turns its
//! verdicts into messages a person can act on.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use super::kdl_json::{SchemaNav, SpanMap, list_props};
use crate::diag::{Diagnostic, Span};
use crate::units;

/// A profile kind's schema validator (generated at compile time, see `profile::validator`).
#[derive(Clone, Copy)]
pub struct SchemaCheck {
    pub is_valid: fn(&Value) -> bool,
    pub iter_errors: for<'a> fn(&'a Value) -> jsonschema::ErrorIterator<'a>,
}

/// The `size` format: what `units::parse_size` accepts.
pub fn is_size(s: &str) -> bool {
    units::parse_size(s).is_ok()
}

/// The `duration` format: what `units::parse_duration_ms` accepts.
pub fn is_duration(s: &str) -> bool {
    units::parse_duration_ms(s).is_ok()
}

/// A validator compiled at run time with the options the generated ones are built with: the
/// tests compare the two.
#[cfg(test)]
pub fn build_validator(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        // The schemas' patterns are plain regular expressions: the `regex` engine compiles them
        // faster than fancy-regex, and start-up pays for every pattern.
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .should_validate_formats(true)
        .with_format("size", is_size)
        .with_format("duration", is_duration)
        .build(schema)
        .map_err(|e| e.to_string())
}

/// How many diagnostics of one file or unit may carry a "did you mean" against a large candidate
/// set (a Flink release's options, a Kafka model's keys). Each suggestion compares the word with
/// every candidate; past this many, a hostile file with a hundred thousand unknown keys would
/// spend seconds on suggestions nobody reads.
pub const SUGGESTION_LIMIT: usize = 100;

/// The closest candidate by edit distance (adjacent transpositions count as one edit), for "did
/// you mean"; none when every candidate is more than a third of its length away (at least 2).
///
/// A hostile file can hold a hundred thousand unknown keys, each compared with every option of a
/// Flink release, so the comparison is bit-parallel and gives up at the cutoff (rapidfuzz):
/// a quadratic-time distance per pair made a 4 MB file take minutes.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    use rapidfuzz::distance::osa;
    let word_chars = word.chars().count();
    let scorer = osa::BatchComparator::new(word.chars());
    candidates
        .into_iter()
        .filter_map(|c| {
            let cutoff = 2.max(c.len() / 3);
            // Cheap refusal first: the length difference alone is a lower bound.
            if word_chars.abs_diff(c.chars().count()) > cutoff {
                return None;
            }
            let d =
                scorer.distance_with_args(c.chars(), &osa::Args::default().score_cutoff(cutoff))?;
            Some((d, c))
        })
        .min()
        .map(|(_, c)| c)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a node with properties",
    }
}

fn pointer_field(ptr: &str, root: &str) -> String {
    let segs: Vec<&str> = ptr
        .split('/')
        .filter(|s| !s.is_empty() && s.parse::<usize>().is_err())
        .collect();
    segs.last().map_or_else(
        || root.to_string(),
        |s| s.replace("~1", "/").replace("~0", "~"),
    )
}

fn kdl_example(v: &str) -> String {
    match v {
        "boolean" => "#true or #false".into(),
        "integer" => "a number without quotes, e.g. 48".into(),
        "number" => "a number without quotes".into(),
        "string" => "a quoted string, e.g. \"value\"".into(),
        _ => v.to_string(),
    }
}

/// Map every schema error of `instance` to a spanned diagnostic.
pub fn validate(
    errors: jsonschema::ErrorIterator<'_>,
    nav: SchemaNav<'_>,
    schema_root: &Value,
    instance: &Value,
    spans: &SpanMap,
    fallback: Span,
    root: &str,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Sorted by place, a wrong type first (it is the cause: `format 6` is "must be a string",
    // not "not one of json, csv, …"), then by schema keyword: the generated validators report
    // one place's errors in an order of their own, and the first of two overlapping diagnostics
    // is the one kept, so the order must not depend on the validator.
    let mut errors: Vec<_> = errors.collect();
    let order = |e: &jsonschema::ValidationError<'_>| {
        let not_type = !matches!(e.kind(), ValidationErrorKind::Type { .. });
        (
            e.instance_path().as_str().to_owned(),
            not_type,
            e.schema_path().as_str().to_owned(),
        )
    };
    errors.sort_by_cached_key(order);
    for err in errors {
        let ptr = err.instance_path().as_str().to_string();
        let here = spans.find(&ptr);
        let field = pointer_field(&ptr, root);
        let sub = nav.at(schema_root, &ptr);
        let help_of = |s: Option<&Value>| -> Option<String> {
            let s = s?;
            s.get("x-kdl-help")
                .or_else(|| s.get("description"))
                .and_then(Value::as_str)
                .map(|d| d.split("\n\n").next().unwrap_or(d).replace('\n', " "))
        };
        let value_span = here.map_or(fallback, |l| l.value);
        let actual = instance.pointer(&ptr).cloned().unwrap_or(Value::Null);
        let d = match err.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for name in unexpected {
                    let p = format!("{ptr}/{}", name.replace('~', "~0").replace('/', "~1"));
                    let s = spans.find(&p).map_or(fallback, |l| l.name);
                    let known = sub.map(|s| nav.property_names(s)).unwrap_or_default();
                    let mut d = Diagnostic::error(format!(
                        "unknown node or property `{name}` in `{field}`"
                    ))
                    .with_label(s, "not known here");
                    d = match did_you_mean(name, known.iter().copied()) {
                        Some(c) => d.with_help(format!("did you mean `{c}`?")),
                        None => d.with_help(format!("`{field}` takes {}", list_props(&known))),
                    };
                    out.push(d);
                }
                continue;
            }
            ValidationErrorKind::Required { property } => {
                let prop = property.as_str().unwrap_or("?");
                let s = here.map_or(fallback, |l| l.name);
                let psub = sub
                    .and_then(|s| nav.property(s, prop))
                    .map(|p| nav.resolve(p));
                let mut help = format!("add `{prop}`");
                if let Some(example) = psub
                    .and_then(|p| p.get("x-kdl-example"))
                    .and_then(Value::as_str)
                {
                    help.push_str(&format!(", e.g. `{example}`"));
                }
                if let Some(h) = help_of(psub.or(sub.and_then(|s| nav.property(s, prop)))) {
                    help.push_str(&format!(": {h}"));
                }
                Diagnostic::error(format!("missing `{prop}` in `{field}`"))
                    .with_label(s, format!("`{prop}` is required here"))
                    .with_help(help)
            }
            ValidationErrorKind::Type { kind } => {
                let want = match kind {
                    TypeKind::Single(t) => t.to_string(),
                    TypeKind::Multiple(ts) => ts
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(" or "),
                };
                wrong_type(&field, &want, &actual, value_span)
            }
            // A value of the wrong type for a list of names: the type is the cause. (The
            // generated validators leave out the `type` error an `enum` of strings implies.)
            ValidationErrorKind::Enum { options }
                if !actual.is_string()
                    && options
                        .as_array()
                        .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string)) =>
            {
                wrong_type(&field, "string", &actual, value_span)
            }
            ValidationErrorKind::Format { format } => {
                let text = actual.as_str().unwrap_or_default();
                let why = match format.as_str() {
                    "size" => units::parse_size(text).err(),
                    "duration" => units::parse_duration_ms(text).err(),
                    _ => None,
                }
                .unwrap_or_else(|| format!("not a valid {format}"));
                Diagnostic::error(format!("bad {format} for `{field}`: {why}"))
                    .with_label(value_span, format!("not a {format}"))
            }
            ValidationErrorKind::Enum { options } => {
                let opts: Vec<String> = options
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let shown = actual
                    .as_str()
                    .map_or_else(|| actual.to_string(), str::to_string);
                let mut d = Diagnostic::error(format!("`{shown}` is not a valid `{field}`"))
                    .with_label(value_span, "not one of the allowed values");
                let list = opts
                    .iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                d = match did_you_mean(&shown, opts.iter().map(String::as_str)) {
                    Some(c) => d.with_help(format!("did you mean `{c}`? allowed: {list}")),
                    None => d.with_help(format!("allowed: {list}")),
                };
                d
            }
            ValidationErrorKind::Minimum { limit }
            | ValidationErrorKind::ExclusiveMinimum { limit } => Diagnostic::error(format!(
                "`{field}` is out of range: {actual} is below the minimum {limit}"
            ))
            .with_label(value_span, format!("must be at least {limit}")),
            ValidationErrorKind::Maximum { limit }
            | ValidationErrorKind::ExclusiveMaximum { limit } => Diagnostic::error(format!(
                "`{field}` is out of range: {actual} is above the maximum {limit}"
            ))
            .with_label(value_span, format!("must be at most {limit}")),
            ValidationErrorKind::Pattern { pattern } => {
                let shown = actual.as_str().unwrap_or_default();
                let mut d = Diagnostic::error(format!(
                    "`{}` is not a valid `{field}`",
                    shown.escape_debug()
                ))
                .with_label(value_span, format!("must match {pattern}"));
                if let Some(h) = help_of(sub) {
                    d = d.with_help(h);
                }
                d
            }
            ValidationErrorKind::MinLength { limit } | ValidationErrorKind::MaxLength { limit } => {
                Diagnostic::error(format!("`{field}` has the wrong length (limit {limit})"))
                    .with_label(value_span, "here")
            }
            _ => {
                let mut d = Diagnostic::error(format!("invalid `{field}`: {err}"))
                    .with_label(value_span, "here");
                if let Some(h) = help_of(sub) {
                    d = d.with_help(h);
                }
                d
            }
        };
        out.push(d);
    }
    out.sort_by_key(|d| d.labels.first().map(|l| l.span));
    out.dedup();
    out
}

fn wrong_type(field: &str, want: &str, actual: &Value, value_span: Span) -> Diagnostic {
    let mut help = format!("write {}", kdl_example(want));
    if want == "boolean" && actual.as_str().is_some_and(|s| s == "true" || s == "false") {
        help = "KDL v2 writes booleans as #true and #false".into();
    }
    Diagnostic::error(format!(
        "`{field}` must be {}, found {}",
        article(want),
        json_type(actual)
    ))
    .with_label(value_span, format!("expected {want}"))
    .with_help(help)
}

fn article(t: &str) -> String {
    match t.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {t}"),
        _ => format!("a {t}"),
    }
}
