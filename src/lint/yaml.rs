//! YAML inputs as a tree whose every node remembers its byte span, so lint findings point into the
//! user's file. Parsed by serde-saphyr (pure Rust, budgeted); scalars keep their source text, so a
//! version written `1.20` stays `1.20` and is not read as the float 1.2.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, Span};

/// One YAML node with its span in the source file.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Span,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Map(Vec<(Node, Node)>),
    Seq(Vec<Node>),
    /// A scalar's value as the YAML reader decoded it (a quoted string unquoted and unescaped).
    Scalar(String),
    Null,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
    /// Follow a dotted path of map keys (`spec.job.upgradeMode`).
    pub fn path(&self, path: &str) -> Option<&Node> {
        path.split('.').try_fold(self, |n, k| n.get(k))
    }
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            Kind::Map(e) => e,
            _ => &[],
        }
    }
    pub fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(i) => i,
            _ => &[],
        }
    }
}

/// What the deserializer hands over before spans are attached.
enum Raw {
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
    Seq(Vec<Spanned<Raw>>),
    Scalar(String),
    Null,
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Scalar(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Scalar(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Scalar(v.to_string()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Raw, E> {
        Ok(Raw::Scalar(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Raw, E> {
        Ok(Raw::Scalar(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Scalar(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Scalar(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Scalar(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = vec![];
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = vec![];
        while let Some(k) = map.next_key::<Spanned<Raw>>()? {
            let v = map.next_value::<Spanned<Raw>>()?;
            entries.push((k, v));
        }
        Ok(Raw::Map(entries))
    }
}

/// Documents larger than this are refused rather than parsed (lint reads config files, not data).
pub const MAX_BYTES: usize = 8 << 20;

/// Parse every document of a YAML file (`---` separated).
pub fn parse(file: u32, text: &str) -> Result<Vec<Node>, Diagnostic> {
    if text.len() > MAX_BYTES {
        return Err(Diagnostic::error(format!(
            "this YAML file is {} bytes; lint reads configuration files up to {MAX_BYTES} bytes",
            text.len()
        ))
        .with_label(Span::new(file, 0, 0), "this file"));
    }
    let docs: Vec<Spanned<Raw>> = serde_saphyr::from_multiple(text).map_err(|e| {
        let msg = e.to_string();
        let first = msg.lines().next().unwrap_or("invalid YAML").to_string();
        Diagnostic::error(format!("YAML syntax error: {first}"))
            .with_label(error_span(file, text, &msg), "here")
            .with_help("lint reads YAML 1.2; fix the syntax, or leave this file out")
    })?;
    Ok(docs.into_iter().map(|d| attach(file, text, d)).collect())
}

/// serde-saphyr reports `line N column M`; point there when it does.
fn error_span(file: u32, text: &str, msg: &str) -> Span {
    let num_after = |word: &str| -> Option<usize> {
        let i = msg.find(word)? + word.len();
        let digits: String = msg[i..]
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    match (num_after("line"), num_after("column")) {
        (Some(line), Some(col)) if line > 0 => {
            let start: usize = text
                .split_inclusive('\n')
                .take(line - 1)
                .map(str::len)
                .sum();
            let line_text = text[start.min(text.len())..].lines().next().unwrap_or("");
            let offset = line_text
                .char_indices()
                .nth(col.saturating_sub(1))
                .map_or(line_text.len(), |(i, _)| i);
            Span::new(file, (start + offset).min(text.len()), 0)
        }
        _ => Span::new(file, 0, 0),
    }
}

fn attach(file: u32, text: &str, raw: Spanned<Raw>) -> Node {
    let loc = raw.referenced.span();
    let offset = loc.byte_offset().unwrap_or(0) as usize;
    let len = loc.byte_len().unwrap_or(0) as usize;
    let offset = offset.min(text.len());
    let len = len.min(text.len() - offset);
    let span = Span::new(file, offset, len);
    let kind = match raw.value {
        Raw::Map(entries) => Kind::Map(
            entries
                .into_iter()
                .map(|(k, v)| (attach(file, text, k), attach(file, text, v)))
                .collect(),
        ),
        Raw::Seq(items) => Kind::Seq(items.into_iter().map(|i| attach(file, text, i)).collect()),
        Raw::Scalar(s) => {
            // Numbers and booleans come back re-printed; take the plain scalar's source text.
            let src = text.get(offset..offset + len).unwrap_or("");
            let plain = !src.starts_with(['"', '\'', '|', '>']);
            if plain && !src.is_empty() && !src.contains('\n') {
                Kind::Scalar(src.trim_end().to_string())
            } else {
                Kind::Scalar(s)
            }
        }
        Raw::Null => Kind::Null,
    };
    Node { span, kind }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        parse(0, text).unwrap().remove(0)
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text =
            "spec:\n  flinkVersion: v1_20\n  flinkConfiguration:\n    a.b: \"x: y\"\n    n: 1.20\n";
        let n = one(text);
        let v = n.path("spec.flinkVersion").unwrap();
        assert_eq!(v.as_str(), Some("v1_20"));
        assert_eq!(
            &text[v.span.offset as usize..][..v.span.len as usize],
            "v1_20"
        );
        let conf = n.path("spec.flinkConfiguration").unwrap();
        let (k, v) = &conf.entries()[0];
        assert_eq!(k.as_str(), Some("a.b"));
        assert_eq!(
            &text[k.span.offset as usize..][..k.span.len as usize],
            "a.b"
        );
        assert_eq!(v.as_str(), Some("x: y"));
        assert_eq!(conf.get("n").unwrap().as_str(), Some("1.20"));
    }

    #[test]
    fn several_documents_and_errors() {
        let docs = parse(0, "a: 1\n---\nb: [x, y]\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].get("b").unwrap().items().len(), 2);
        let e = parse(0, "a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.message.contains("YAML syntax error"), "{}", e.message);
    }
}
