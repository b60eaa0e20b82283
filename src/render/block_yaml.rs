//! Block-style YAML written straight from a `Serialize` value (the Helm values).
//!
//! The layout: mappings and sequences in block style, two spaces per level, a sequence item's
//! first line after `- `, empty collections as `{}` / `[]`, every key and string through
//! [`push_yaml_scalar`] (or a literal block when that reads back exactly), numbers as serde_json
//! prints them (a non-finite float is `null`). Writing it while the value is serialised, rather
//! than from a `serde_json::Value` tree, saves copying every string of a job's values (its
//! ConfigMap carries the Kafka client files) into a tree and dropping it again; the tests prove
//! the text is byte for byte what the tree writer wrote.

use std::fmt::Display;

use serde::ser::{self, Serialize};

use super::escape::push_yaml_scalar;

/// `value` as a block YAML document appended to `out`.
pub fn write<T: Serialize + ?Sized>(value: &T, out: &mut String) -> Result<(), Error> {
    value.serialize(Emitter {
        out,
        place: Place::Top,
    })
}

#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Where a value is written.
#[derive(Clone, Copy)]
enum Place {
    /// The document itself: a collection's entries at column 0, nothing for an empty one.
    Top,
    /// After `key:` of a mapping whose entries are at `indent`: a scalar or empty collection on
    /// the same line, a collection's entries on the next lines, two deeper.
    Value { indent: usize },
    /// A sequence item of a sequence at `indent`: written as a block two deeper, whose first
    /// line's indentation then becomes the dash.
    Item { indent: usize },
}

impl Place {
    /// The indentation of a collection's entries here.
    fn entries(self) -> usize {
        match self {
            Place::Top => 0,
            Place::Value { indent } | Place::Item { indent } => indent + 2,
        }
    }
}

fn pad(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

struct Emitter<'o> {
    out: &'o mut String,
    place: Place,
}

impl<'o> Emitter<'o> {
    /// A scalar (or an empty collection, `{}` / `[]`) at this place.
    fn scalar(self, write: impl FnOnce(&mut String, usize)) -> Result<(), Error> {
        match self.place {
            Place::Top => {
                write(self.out, 0);
                self.out.push('\n');
            }
            Place::Value { indent } => {
                self.out.push(' ');
                write(self.out, indent + 2);
                self.out.push('\n');
            }
            Place::Item { indent } => {
                pad(self.out, indent);
                self.out.push_str("- ");
                write(self.out, indent + 2);
                self.out.push('\n');
            }
        }
        Ok(())
    }

    fn text(self, s: &str) -> Result<(), Error> {
        self.scalar(|out, indent| {
            if !push_block_literal(out, s, indent) {
                push_yaml_scalar(out, s);
            }
        })
    }

    fn plain(self, s: &str) -> Result<(), Error> {
        self.scalar(|out, _| out.push_str(s))
    }

    fn collection(self, empty: &'static str) -> Collection<'o> {
        let start = self.out.len();
        Collection {
            out: self.out,
            place: self.place,
            empty,
            start,
            entries: 0,
        }
    }
}

/// A mapping or sequence being written.
struct Collection<'o> {
    out: &'o mut String,
    place: Place,
    /// How it reads when it has no entries: `{}` or `[]`.
    empty: &'static str,
    /// Where it started in `out`.
    start: usize,
    entries: usize,
}

impl Collection<'_> {
    /// Before an entry: the line break after `key:` when this is the first one.
    fn begin_entry(&mut self) {
        if self.entries == 0
            && let Place::Value { .. } = self.place
        {
            self.out.push('\n');
        }
        self.entries += 1;
    }

    fn key(&mut self, key: &str) {
        self.begin_entry();
        pad(self.out, self.place.entries());
        push_yaml_scalar(self.out, key);
        self.out.push(':');
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Emitter {
            out: self.out,
            place: Place::Value {
                indent: self.place.entries(),
            },
        })
    }

    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.begin_entry();
        value.serialize(Emitter {
            out: self.out,
            place: Place::Item {
                indent: self.place.entries(),
            },
        })
    }

    fn end(self) -> Result<(), Error> {
        match (self.entries, self.place) {
            (0, Place::Top) => {}
            (0, place) => {
                let empty = self.empty;
                Emitter {
                    out: self.out,
                    place,
                }
                .plain(empty)?;
            }
            (_, Place::Item { indent }) => {
                // The first entry's line starts with `indent + 2` spaces: its last two become
                // the item's dash.
                let at = self.start + indent;
                self.out.replace_range(at..at + 2, "- ");
            }
            _ => {}
        }
        Ok(())
    }
}

impl<'o> ser::Serializer for Emitter<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Collection<'o>;
    type SerializeTuple = Collection<'o>;
    type SerializeTupleStruct = Collection<'o>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = MapWriter<'o>;
    type SerializeStruct = Collection<'o>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.plain(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.plain(&v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.plain(&v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        // As serde_json prints a float, and `null` where JSON has no number for it.
        match serde_json::Number::from_f64(v) {
            Some(n) => self.plain(&n.to_string()),
            None => self.plain("null"),
        }
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.text(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(Error("bytes have no YAML form here".into()))
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.plain("null")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.plain("null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.plain("null")
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut c = self.collection("{}");
        c.key(variant);
        c.value(value)?;
        c.end()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Collection<'o>, Error> {
        Ok(self.collection("[]"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Collection<'o>, Error> {
        Ok(self.collection("[]"))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Collection<'o>, Error> {
        Ok(self.collection("[]"))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error(format!("{name}::{variant}: no YAML form here")))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapWriter<'o>, Error> {
        Ok(MapWriter {
            map: self.collection("{}"),
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Collection<'o>, Error> {
        Ok(self.collection("{}"))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error(format!("{name}::{variant}: no YAML form here")))
    }
}

impl ser::SerializeSeq for Collection<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Error> {
        Collection::end(self)
    }
}

impl ser::SerializeTuple for Collection<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Error> {
        Collection::end(self)
    }
}

impl ser::SerializeTupleStruct for Collection<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Error> {
        Collection::end(self)
    }
}

impl ser::SerializeStruct for Collection<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.key(key);
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        Collection::end(self)
    }
}

/// A mapping: its keys must be strings (the tree writer's JSON keys were).
struct MapWriter<'o> {
    map: Collection<'o>,
}

impl ser::SerializeMap for MapWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        // Keys are few and short: serde_json tells a string key from any other.
        match serde_json::to_value(key) {
            Ok(serde_json::Value::String(key)) => {
                self.map.key(&key);
                Ok(())
            }
            _ => Err(Error("a mapping key must be a string".into())),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.map.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.map.end()
    }
}

/// `s` as a literal block scalar (`|`, `|+` or `|-` by its trailing newlines), or false (and
/// nothing written) when a literal block cannot carry it exactly: a single line, characters
/// that are not printable or are line breaks to some YAML reader (CR, NEL, LS, PS), a BOM, or a
/// first line starting with a space or tab (its indentation would be taken for the block's).
fn push_block_literal(out: &mut String, s: &str, indent: usize) -> bool {
    if !s.contains('\n') {
        return false;
    }
    let bad = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
    };
    // Byte by byte when the text is ASCII (the ConfigMap's client files are kilobytes each),
    // a chunk at a time without a branch per byte.
    let all_good = if s.is_ascii() {
        s.as_bytes().chunks(64).all(|chunk| {
            chunk.iter().fold(true, |good, &b| {
                good & (((b >= 0x20) & (b != 0x7f)) | (b == b'\n') | (b == b'\t'))
            })
        })
    } else {
        !s.chars().any(bad)
    };
    if !all_good {
        return false;
    }
    if s.lines()
        .find(|l| !l.is_empty())
        .is_none_or(|l| l.starts_with([' ', '\t']))
    {
        return false;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    out.reserve(s.len() + (indent + 1) * (s.len() / 32 + 2));
    out.push('|');
    out.push_str(match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    });
    // Lines are short: a plain scan finds each end sooner than a searcher is set up.
    let mut rest = body;
    loop {
        let end = rest.bytes().position(|b| b == b'\n').unwrap_or(rest.len());
        out.push('\n');
        if end > 0 {
            pad(out, indent);
            out.push_str(&rest[..end]);
        }
        if end == rest.len() {
            break;
        }
        rest = &rest[end + 1..];
    }
    // Kept trailing newlines beyond the first are empty lines of the block; the caller ends
    // the scalar with a newline of its own.
    for _ in 1..trailing {
        out.push('\n');
    }
    true
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value as J, json};

    use super::*;

    /// The writer this module replaced, kept as the reference: block YAML of a
    /// `serde_json::Value` tree.
    fn tree_text(v: &J) -> String {
        let mut out = String::new();
        tree_yaml(v, 0, &mut out);
        out
    }

    fn tree_yaml(v: &J, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match v {
            J::Object(m) => {
                for (k, item) in m {
                    out.push_str(&pad);
                    push_yaml_scalar(out, k);
                    out.push(':');
                    tree_value(item, indent, out);
                }
            }
            J::Array(items) => {
                for item in items {
                    let mut inner = String::new();
                    match item {
                        J::Object(m) if !m.is_empty() => tree_yaml(item, indent + 2, &mut inner),
                        J::Array(a) if !a.is_empty() => tree_yaml(item, indent + 2, &mut inner),
                        _ => {
                            inner.push_str(&" ".repeat(indent + 2));
                            inner.push_str(tree_scalar(item, indent + 2).trim_start());
                            inner.push('\n');
                        }
                    }
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&inner[indent + 2..]);
                }
            }
            other => {
                out.push_str(&pad);
                out.push_str(&tree_scalar(other, indent));
                out.push('\n');
            }
        }
    }

    fn tree_value(v: &J, indent: usize, out: &mut String) {
        match v {
            J::Object(m) if !m.is_empty() => {
                out.push('\n');
                tree_yaml(v, indent + 2, out);
            }
            J::Array(a) if !a.is_empty() => {
                out.push('\n');
                tree_yaml(v, indent + 2, out);
            }
            _ => {
                out.push(' ');
                out.push_str(&tree_scalar(v, indent + 2));
                out.push('\n');
            }
        }
    }

    fn tree_scalar(v: &J, indent: usize) -> String {
        let mut out = String::new();
        match v {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Number(n) => out.push_str(&n.to_string()),
            J::String(s) => {
                if !push_block_literal(&mut out, s, indent) {
                    push_yaml_scalar(&mut out, s);
                }
            }
            J::Array(_) => out.push_str("[]"),
            J::Object(_) => out.push_str("{}"),
        }
        out
    }

    fn text<T: Serialize>(v: &T) -> String {
        let mut out = String::new();
        write(v, &mut out).unwrap_or_else(|e| panic!("{e}"));
        out
    }

    #[test]
    fn nesting_and_empty_collections_as_the_tree_writer_wrote_them() {
        let v = json!({
            "a": 1,
            "b": [],
            "c": {},
            "d": [[], {}, [1, [2, 3], {"x": [], "y": {"z": "two\nlines\n"}}], {"k": null}],
            "e": [{"p": 1, "q": [true, false]}, "s", -2.5, 1e300, 18446744073709551615u64],
            "f": "x\nkey: v",
            "g": {"h": {"i": ["  lead\nx\n", "tab\tstart\n\n", "a\r\nb", "\n\n", ""]}},
            "it's \"quoted\": #1": "é\u{2028}z",
        });
        assert_eq!(text(&v), tree_text(&v));
        // Scalars and empty collections as the whole document.
        for v in [
            json!("top\nlevel"),
            json!(7),
            json!(null),
            json!([]),
            json!({}),
        ] {
            assert_eq!(text(&v), tree_text(&v), "{v}");
        }
        // A float JSON has no number for is null, as in the tree.
        assert_eq!(text(&f64::NAN), "null\n");
        assert_eq!(text(&vec![0.5f64, 15.0]), tree_text(&json!([0.5, 15.0])));
    }

    /// Structs (the Helm values are structs, which serde writes field by field, not as maps).
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Outer {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        kept_none: Option<u8>,
        inner: Inner,
        items: Vec<Inner>,
        empty: Empty,
        empties: Vec<Empty>,
        labels: std::collections::BTreeMap<String, String>,
    }
    #[derive(serde::Serialize)]
    struct Inner {
        cpu: f64,
        replicas: i64,
        data: Vec<String>,
    }
    #[derive(serde::Serialize)]
    struct Empty {}

    #[test]
    fn structs_as_the_tree_writer_wrote_them() {
        let inner = |cpu: f64, data: &[&str]| Inner {
            cpu,
            replicas: -3,
            data: data.iter().map(|s| s.to_string()).collect(),
        };
        let v = Outer {
            name: "x\nkey: v".into(),
            skipped: None,
            kept_none: None,
            inner: inner(0.5, &[]),
            items: vec![inner(15.0, &["a\nb\n", "yes"]), inner(f64::INFINITY, &[""])],
            empty: Empty {},
            empties: vec![Empty {}, Empty {}],
            labels: [("app: x".to_string(), "1".to_string())].into(),
        };
        let tree = serde_json::to_value(&v).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text(&v), tree_text(&tree));
    }

    fn arb_json() -> impl Strategy<Value = J> {
        let leaf = prop_oneof![
            Just(J::Null),
            any::<bool>().prop_map(J::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|f| json!(f)),
            "[a-z0-9 :#'\"\\-\n\t\r\u{85}\u{2028}é]{0,12}".prop_map(J::String),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(J::Array),
                prop::collection::vec(("[a-z: \n-]{0,6}", inner), 0..5)
                    .prop_map(|kv| J::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_trees_as_the_tree_writer_wrote_them(v in arb_json()) {
            prop_assert_eq!(text(&v), tree_text(&v));
        }
    }

    fn block_literal(s: &str, indent: usize) -> Option<String> {
        let mut out = String::new();
        push_block_literal(&mut out, s, indent).then_some(out)
    }

    #[test]
    fn literal_blocks_only_for_what_they_carry() {
        assert_eq!(block_literal("a\nb\n", 2).as_deref(), Some("|\n  a\n  b"));
        assert_eq!(block_literal("a\nb", 2).as_deref(), Some("|-\n  a\n  b"));
        assert_eq!(
            block_literal("a\n\nb\n\n", 2).as_deref(),
            Some("|+\n  a\n\n  b\n")
        );
        assert_eq!(block_literal("one line", 2), None);
        assert_eq!(block_literal(" lead\nx", 2), None);
        assert_eq!(block_literal("a\r\nb", 2), None);
    }
}
