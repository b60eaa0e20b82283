//! `--fact NAME=VALUE`: what the files of a deployment cannot tell. The arguments become one
//! source text (`<--fact>`), so findings that rest on a fact point at it like at any file.

use crate::diag::{Diagnostic, InputErrors, Sources, Span};
use crate::plan::{Origin, Value};
use crate::units;

#[derive(Clone, Copy)]
pub enum FactKind {
    Count,
    Duration,
    Size,
    Version,
    OneOf(&'static [&'static str]),
}

/// Every fact lint takes: name, kind, what it means.
pub const FACTS: &[(&str, FactKind, &str)] = &[
    (
        "brokers",
        FactKind::Count,
        "number of Kafka brokers (replication factors and min ISR are checked against it)",
    ),
    (
        "kafka-version",
        FactKind::Version,
        "Kafka release line of the brokers (3.9, 4.1 …): the defaults of unset broker keys",
    ),
    (
        "flink-version",
        FactKind::Version,
        "Flink release line (1.20, 2.1 …): key names, types and defaults",
    ),
    (
        "connector-version",
        FactKind::Version,
        "Flink Kafka connector version (3.3.0, 4.0.1 …)",
    ),
    (
        "operator-version",
        FactKind::Version,
        "Flink Kubernetes Operator version (1.13 …)",
    ),
    (
        "kafka-clients-version",
        FactKind::Version,
        "kafka-clients version the job ships: the defaults of unset client keys",
    ),
    (
        "delivery",
        FactKind::OneOf(&["exactly-once", "at-least-once", "none"]),
        "the sinks' delivery guarantee when no file states it (DataStream jobs set it in code)",
    ),
    (
        "max-downtime",
        FactKind::Duration,
        "the longest outage a job must survive (restart, redeploy, restore)",
    ),
    (
        "restorable-for",
        FactKind::Duration,
        "age of the oldest checkpoint or savepoint the job must still restore",
    ),
    (
        "record-size",
        FactKind::Size,
        "largest record the sinks write",
    ),
    (
        "deployment",
        FactKind::OneOf(&["plain", "strimzi", "bitnami", "managed"]),
        "how the brokers are run (managed: settings cannot be changed)",
    ),
];

#[derive(Debug, Clone, Default)]
pub struct Facts {
    items: Vec<(String, Value, Span)>,
}

impl Facts {
    pub fn parse(sources: &mut Sources, args: &[String]) -> Result<Facts, InputErrors> {
        let text = args.join("\n");
        let file = sources.add("<--fact>", text);
        let mut items = vec![];
        let mut errors = vec![];
        let mut offset = 0;
        for arg in args {
            let here = offset;
            offset += arg.len() + 1;
            let Some((name, value)) = arg.split_once('=') else {
                errors.push(
                    Diagnostic::error(format!("--fact `{arg}` is not NAME=VALUE"))
                        .with_label(Span::new(file, here, arg.len()), "this fact")
                        .with_help("e.g. --fact brokers=3 --fact max-downtime=10min"),
                );
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            let value_span = Span::new(file, here + arg.find('=').unwrap_or(0) + 1, value.len());
            let Some((_, kind, _)) = FACTS.iter().find(|(n, _, _)| *n == name) else {
                let names: Vec<&str> = FACTS.iter().map(|f| f.0).collect();
                let mut d = Diagnostic::error(format!("unknown fact `{name}`"))
                    .with_label(Span::new(file, here, name.len()), "not a fact lint knows");
                d = match crate::profile::validate::did_you_mean(name, names.iter().copied()) {
                    Some(s) => {
                        d.with_help(format!("did you mean `{s}`? Facts: {}", names.join(", ")))
                    }
                    None => d.with_help(format!("facts: {}", names.join(", "))),
                };
                errors.push(d);
                continue;
            };
            match typed(*kind, value) {
                Ok(v) => items.push((name.to_string(), v, value_span)),
                Err(why) => errors.push(
                    Diagnostic::error(format!("--fact {name}: {why}"))
                        .with_label(value_span, "this value"),
                ),
            }
        }
        if errors.is_empty() {
            Ok(Facts { items })
        } else {
            Err(InputErrors(errors))
        }
    }

    /// The fact's value and its origin (the `--fact` argument).
    pub fn get(&self, name: &str) -> Option<(Value, Origin)> {
        self.items
            .iter()
            .rev()
            .find(|(n, _, _)| n == name)
            .map(|(n, v, span)| {
                (
                    v.clone(),
                    Origin::Profile {
                        field: format!("--fact {n}"),
                        span: *span,
                    },
                )
            })
    }

    pub fn str(&self, name: &str) -> Option<(String, Origin)> {
        let (v, o) = self.get(name)?;
        Some((v.flink_text(), o))
    }
}

fn typed(kind: FactKind, value: &str) -> Result<Value, String> {
    match kind {
        FactKind::Count => value
            .parse::<u32>()
            .map(|n| Value::Int(i64::from(n)))
            .map_err(|_| format!("`{value}` is not a count")),
        FactKind::Duration => units::parse_duration_ms(value)
            .map(Value::Millis)
            .map_err(|e| format!("{e} (e.g. 10min, 2h, 7d)")),
        FactKind::Size => units::parse_size(value)
            .map(Value::Bytes)
            .map_err(|e| format!("{e} (e.g. 1MiB)")),
        FactKind::Version => {
            if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit() || c == '.') {
                Ok(Value::Str(value.to_string()))
            } else {
                Err(format!("`{value}` is not a version (e.g. 3.9)"))
            }
        }
        FactKind::OneOf(allowed) => {
            if allowed.contains(&value) {
                Ok(Value::Str(value.to_string()))
            } else {
                Err(format!("`{value}` is not one of {}", allowed.join(", ")))
            }
        }
    }
}
