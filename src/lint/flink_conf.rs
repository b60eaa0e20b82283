//! Flink configuration files with spans: the legacy `flink-conf.yaml` read line by line exactly as
//! Flink's legacy parser reads it (cut at the first `#`, split at the first `": "`, trim), and the
//! standard-YAML `config.yaml` (Flink 1.19+) with nested maps flattened to dotted keys.

use crate::diag::{Diagnostic, Span};
use crate::lint::yaml::{self, Kind, Node};

#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub key: String,
    pub value: String,
    pub key_span: Span,
    pub value_span: Span,
}

/// The legacy line format: no escaping, no nesting; lines without `": "` are ignored by Flink
/// (with a warning), and so here.
pub fn parse_legacy(file: u32, text: &str) -> Vec<Setting> {
    let mut out = vec![];
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let content = line.split('#').next().unwrap_or("");
        if let Some((k, v)) = content.split_once(": ") {
            let (key, value) = (k.trim(), v.trim());
            if !key.is_empty() && !value.is_empty() {
                let key_at = line_start + (k.len() - k.trim_start().len());
                let value_at = line_start + k.len() + 2 + (v.len() - v.trim_start().len());
                out.push(Setting {
                    key: key.to_string(),
                    value: value.to_string(),
                    key_span: Span::new(file, key_at, key.len()),
                    value_span: Span::new(file, value_at, value.len()),
                });
            }
        }
        line_start += line.len();
    }
    out
}

/// Standard YAML: nested keys join with `.`; lists become Flink's `a;b` list syntax.
pub fn parse_standard(file: u32, text: &str) -> Result<Vec<Setting>, Diagnostic> {
    let docs = yaml::parse(file, text)?;
    let mut out = vec![];
    if let Some(root) = docs.first() {
        flatten(root, "", None, &mut out);
    }
    Ok(out)
}

/// Flatten a map of Flink settings (also used for a FlinkDeployment's `flinkConfiguration`,
/// which the operator accepts flat or nested).
pub fn flatten(node: &Node, prefix: &str, key_span: Option<Span>, out: &mut Vec<Setting>) {
    match &node.kind {
        Kind::Map(entries) => {
            for (k, v) in entries {
                let Some(name) = k.as_str() else { continue };
                let key = if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(v, &key, Some(k.span), out);
            }
        }
        Kind::Seq(items) => {
            let value: Vec<&str> = items.iter().filter_map(Node::as_str).collect();
            push(out, prefix, value.join(";"), key_span, node.span);
        }
        Kind::Scalar(s) => push(out, prefix, s.clone(), key_span, node.span),
        Kind::Null => {}
    }
}

fn push(out: &mut Vec<Setting>, key: &str, value: String, key_span: Option<Span>, span: Span) {
    if key.is_empty() {
        return;
    }
    out.push(Setting {
        key: key.to_string(),
        value,
        key_span: key_span.unwrap_or(span),
        value_span: span,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_lines_like_flink() {
        let text = "a.b: 1 s # comment\n# full: comment\nbad line\nc:d\nurl: s3://x/y:z\n  e: \n";
        let s = parse_legacy(0, text);
        let kv: Vec<(&str, &str)> = s
            .iter()
            .map(|s| (s.key.as_str(), s.value.as_str()))
            .collect();
        assert_eq!(kv, vec![("a.b", "1 s"), ("url", "s3://x/y:z")]);
        let v = s[0].value_span;
        assert_eq!(&text[v.offset as usize..(v.offset + v.len) as usize], "1 s");
    }

    #[test]
    fn standard_yaml_flattens() {
        let text = "execution:\n  checkpointing:\n    interval: 30 s\nstate.backend.type: rocksdb\nenv.java.opts.all: [-Da, -Db]\n";
        let s = parse_standard(0, text).unwrap();
        let kv: Vec<(&str, &str)> = s
            .iter()
            .map(|s| (s.key.as_str(), s.value.as_str()))
            .collect();
        assert_eq!(
            kv,
            vec![
                ("execution.checkpointing.interval", "30 s"),
                ("state.backend.type", "rocksdb"),
                ("env.java.opts.all", "-Da;-Db")
            ]
        );
    }
}
