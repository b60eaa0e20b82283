//! KDL → JSON, driven by the profile's JSON Schema.
//!
//! The mapping (documented in README, "Profile language"):
//! * a node whose schema is an object becomes an object: its properties become fields, its
//!   arguments fill the fields the schema names in `x-kdl-args` (in order), its children become
//!   fields (recursively);
//! * a node whose schema is a scalar takes exactly one argument: `environment "prod"`;
//! * a node whose schema is an array of scalars takes its arguments as the array: `args "a" "b"`;
//! * a node whose schema is an array of objects may repeat; each node is one item.
//!
//! Every JSON location remembers the span it came from, so schema errors point at KDL text.

use std::collections::HashMap;

use kdl::{KdlNode, KdlValue};
use serde_json::{Map, Value};

use crate::diag::{Diagnostic, Span};

/// Where each JSON location (a JSON pointer) came from.
///
/// Compact, because every loaded profile keeps one until its job is resolved (a fleet holds
/// thousands): the pointers are one string, the entries a vector, and once the conversion is
/// done ([`SpanMap::freeze`]) a hash table of entry numbers finds a pointer's entry; a hash map
/// of owned strings took twice the memory, and sorting the entries to search them was most of
/// the cost of the map.
#[derive(Debug, Clone, Default)]
pub struct SpanMap {
    /// Every pointer, one after another.
    keys: String,
    /// (start, end) of the pointer in `keys`, and its spans.
    entries: Vec<(u32, u32, Located)>,
    /// Entry numbers by their pointer's hash: the last entry inserted for each pointer.
    index: hashbrown::HashTable<u32>,
    frozen: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Located {
    /// The whole node or `name=value` entry.
    pub whole: Span,
    /// The node name or property name (for "unknown" and "missing" errors).
    pub name: Span,
    /// The value itself (for type and range errors).
    pub value: Span,
}

/// The hash of a pointer (fixed: the index is rebuilt, never compared across processes).
fn pointer_hash(ptr: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(ptr)
}

impl SpanMap {
    fn insert(&mut self, ptr: &str, loc: Located) {
        // Profiles are bounded (profile::MAX_FILE_BYTES): the offsets fit in u32.
        let start = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        self.keys.push_str(ptr);
        let end = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        self.entries.push((start, end, loc));
        self.frozen = false;
    }

    fn key(&self, e: &(u32, u32, Located)) -> &str {
        key_in(&self.keys, e)
    }

    /// Index every pointer (its last entry wins), in as little memory as it takes.
    pub fn freeze(&mut self) {
        if self.frozen {
            return;
        }
        self.keys.shrink_to_fit();
        self.entries.shrink_to_fit();
        let (keys, entries) = (&self.keys, &self.entries);
        let at = |n: u32| key_in(keys, &entries[n as usize]);
        let mut index = hashbrown::HashTable::with_capacity(entries.len());
        for (n, e) in entries.iter().enumerate() {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            let k = key_in(keys, e);
            let hash = pointer_hash(k);
            match index.find_mut(hash, |&m| at(m) == k) {
                Some(slot) => *slot = n,
                None => {
                    index.insert_unique(hash, n, |&m| pointer_hash(at(m)));
                }
            }
        }
        index.shrink_to_fit(|&m| pointer_hash(at(m)));
        self.index = index;
        self.frozen = true;
    }

    fn get(&self, ptr: &str) -> Option<&Located> {
        if self.frozen {
            self.index
                .find(pointer_hash(ptr), |&n| {
                    self.entries
                        .get(n as usize)
                        .is_some_and(|e| self.key(e) == ptr)
                })
                .and_then(|&n| self.entries.get(n as usize))
                .map(|e| &e.2)
        } else {
            self.entries
                .iter()
                .rev()
                .find(|e| self.key(e) == ptr)
                .map(|e| &e.2)
        }
    }

    /// The span recorded for `ptr`, or for its closest recorded parent.
    pub fn find(&self, ptr: &str) -> Option<Located> {
        let mut p = ptr;
        loop {
            if let Some(l) = self.get(p) {
                return Some(*l);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }
    /// The span of a value at exactly `ptr` (e.g. `/state/size`).
    pub fn value(&self, ptr: &str) -> Option<Span> {
        self.get(ptr).map(|l| l.value)
    }
    pub fn whole(&self, ptr: &str) -> Option<Span> {
        self.get(ptr).map(|l| l.whole)
    }
}

fn key_in<'k>(keys: &'k str, e: &(u32, u32, Located)) -> &'k str {
    keys.get(e.0 as usize..e.1 as usize).unwrap_or("")
}

/// Navigates a schemars-generated schema (with `$defs` and `$ref`).
#[derive(Clone, Copy)]
pub struct SchemaNav<'a> {
    pub root: &'a Value,
}

#[derive(Clone, Copy)]
pub enum Shape<'a> {
    Object(&'a Value),
    ScalarArray,
    ObjectArray(&'a Value),
    Scalar,
}

impl<'a> SchemaNav<'a> {
    pub fn resolve(&self, mut s: &'a Value) -> &'a Value {
        for _ in 0..32 {
            match s.get("$ref").and_then(Value::as_str) {
                Some(r) => match r
                    .strip_prefix("#/$defs/")
                    .and_then(|n| self.root.get("$defs")?.get(n))
                {
                    Some(t) => s = t,
                    None => return s,
                },
                None => return s,
            }
        }
        s
    }
    pub fn shape(&self, s: &'a Value) -> Shape<'a> {
        let s = self.resolve(s);
        if s.get("properties").is_some() {
            return Shape::Object(s);
        }
        if s.get("type").and_then(Value::as_str) == Some("array") {
            if let Some(items) = s.get("items") {
                let items = self.resolve(items);
                if items.get("properties").is_some() {
                    return Shape::ObjectArray(items);
                }
            }
            return Shape::ScalarArray;
        }
        Shape::Scalar
    }
    pub fn property(&self, obj: &'a Value, name: &str) -> Option<&'a Value> {
        self.resolve(obj).get("properties")?.get(name)
    }
    pub fn property_names(&self, obj: &'a Value) -> Vec<&'a str> {
        self.resolve(obj)
            .get("properties")
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }
    pub fn arg_names(&self, obj: &'a Value) -> Vec<&'a str> {
        self.resolve(obj)
            .get("x-kdl-args")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
    /// The schema that describes the JSON location `ptr` (a pointer into an instance).
    pub fn at(&self, root: &'a Value, ptr: &str) -> Option<&'a Value> {
        let mut s = self.resolve(root);
        for seg in ptr.split('/').skip(1) {
            let seg = seg.replace("~1", "/").replace("~0", "~");
            s = if seg.parse::<usize>().is_ok() && s.get("items").is_some() {
                self.resolve(s.get("items")?)
            } else {
                self.resolve(self.property(s, &seg)?)
            };
        }
        Some(s)
    }
}

/// What the converter asks of each subschema — its shape, properties and argument names —
/// worked out once per schema. Asked through `serde_json` maps (a hashed lookup per keyword,
/// per node of every profile), these were a third of converting a profile.
pub struct SchemaIndex<'a> {
    /// By the address of a subschema, as written (a `$ref`) and as resolved.
    facts: HashMap<usize, Facts<'a>, foldhash::fast::FixedState>,
}

struct Facts<'a> {
    shape: Shape<'a>,
    /// Property name → its subschema as written, sorted by name.
    properties: Vec<(&'a str, &'a Value)>,
    args: Vec<&'a str>,
    /// The `items` subschema as written.
    items: Option<&'a Value>,
}

fn address(v: &Value) -> usize {
    std::ptr::from_ref(v) as usize
}

impl<'a> SchemaIndex<'a> {
    /// Index every subschema reachable from the root (through properties, items and `$ref`).
    pub fn new(nav: SchemaNav<'a>) -> Self {
        let mut index = SchemaIndex {
            facts: HashMap::default(),
        };
        let mut todo = vec![nav.root];
        while let Some(s) = todo.pop() {
            if index.facts.contains_key(&address(s)) {
                continue;
            }
            let resolved = nav.resolve(s);
            let mut properties: Vec<(&'a str, &'a Value)> = resolved
                .get("properties")
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
                .unwrap_or_default();
            properties.sort_by_key(|(k, _)| *k);
            let items = resolved.get("items");
            todo.extend(properties.iter().map(|(_, v)| *v));
            todo.extend(items);
            if !std::ptr::eq(resolved, s) {
                todo.push(resolved);
            }
            index.facts.insert(
                address(s),
                Facts {
                    shape: nav.shape(s),
                    properties,
                    args: nav.arg_names(s),
                    items,
                },
            );
        }
        index
    }

    fn get(&self, s: &Value) -> Option<&Facts<'a>> {
        self.facts.get(&address(s))
    }

    /// An index of nothing: the converter then asks the schema itself (the tests compare).
    #[cfg(test)]
    pub fn empty() -> Self {
        SchemaIndex {
            facts: HashMap::default(),
        }
    }
}

pub struct Converter<'a> {
    pub file: u32,
    pub nav: SchemaNav<'a>,
    index: &'a SchemaIndex<'a>,
    pub spans: SpanMap,
    pub errors: Vec<Diagnostic>,
    /// The JSON pointer of the node being converted, grown and cut back as the conversion
    /// goes down and up (not a new string per node).
    path: String,
}

fn span(file: u32, s: miette::SourceSpan) -> Span {
    Span::from_miette(file, s)
}

/// Append `/seg` to a JSON pointer, escaped (`~` → `~0`, `/` → `~1`).
fn push_segment(ptr: &mut String, seg: &str) {
    ptr.push('/');
    for c in seg.chars() {
        match c {
            '~' => ptr.push_str("~0"),
            '/' => ptr.push_str("~1"),
            c => ptr.push(c),
        }
    }
}

/// A KDL value as JSON. Out-of-range integers become floats so that range checks reject them;
/// `#inf`/`#nan` become strings so that type checks reject them.
fn kdl_to_json(v: &KdlValue) -> Value {
    match v {
        KdlValue::String(s) => Value::String(s.clone()),
        KdlValue::Integer(i) => match i64::try_from(*i) {
            Ok(n) => Value::from(n),
            Err(_) => serde_json::Number::from_f64(*i as f64).map_or(Value::Null, Value::Number),
        },
        KdlValue::Float(f) => serde_json::Number::from_f64(*f)
            .map_or_else(|| Value::String(format!("#{f}")), Value::Number),
        KdlValue::Bool(b) => Value::Bool(*b),
        KdlValue::Null => Value::Null,
    }
}

impl<'a> Converter<'a> {
    /// A converter for schema `nav.root`, of which `index` is the index.
    pub fn new(file: u32, nav: SchemaNav<'a>, index: &'a SchemaIndex<'a>) -> Self {
        Converter {
            file,
            nav,
            index,
            spans: SpanMap::default(),
            errors: vec![],
            path: String::new(),
        }
    }

    fn shape(&self, s: &'a Value) -> Shape<'a> {
        self.index
            .get(s)
            .map_or_else(|| self.nav.shape(s), |f| f.shape)
    }

    /// The subschema of property `name` of object schema `obj`.
    fn property(&self, obj: &'a Value, name: &str) -> Option<&'a Value> {
        match self.index.get(obj) {
            Some(f) => f
                .properties
                .binary_search_by(|(k, _)| (*k).cmp(name))
                .ok()
                .map(|i| f.properties[i].1),
            None => self.nav.property(obj, name),
        }
    }

    /// Convert `node` (described by `schema`, or unknown) to JSON at location `ptr`.
    pub fn node(&mut self, node: &KdlNode, schema: Option<&'a Value>, ptr: &str) -> Value {
        self.path.clear();
        self.path.push_str(ptr);
        self.convert(node, schema)
    }

    /// Convert `node` to JSON at location `self.path`.
    fn convert(&mut self, node: &KdlNode, schema: Option<&'a Value>) -> Value {
        let name = node.name().value();
        let name_span = span(self.file, node.name().span());
        let whole = span(self.file, node.span());
        let first_value_span = node
            .entries()
            .first()
            .map(|e| span(self.file, e.span()))
            .unwrap_or(name_span);
        self.spans.insert(
            &self.path,
            Located {
                whole,
                name: name_span,
                value: first_value_span,
            },
        );

        let args: Vec<_> = node
            .entries()
            .iter()
            .filter(|e| e.name().is_none())
            .collect();
        let props: Vec<_> = node
            .entries()
            .iter()
            .filter(|e| e.name().is_some())
            .collect();
        let children = node.children().map(|c| c.nodes()).unwrap_or(&[]);

        let shape = schema.map(|s| self.shape(s));
        match shape {
            Some(Shape::Scalar) => {
                if args.len() != 1 || !props.is_empty() || !children.is_empty() {
                    self.errors.push(
                        Diagnostic::error(format!("`{name}` takes exactly one value"))
                            .with_label(whole, "expected one value here")
                            .with_help(format!(
                                "write it as `{name} <value>`, e.g. `{name} \"…\"`"
                            )),
                    );
                    return Value::Null;
                }
                let v = args[0];
                self.spans.insert(
                    &self.path,
                    Located {
                        whole,
                        name: name_span,
                        value: span(self.file, v.span()),
                    },
                );
                kdl_to_json(v.value())
            }
            Some(Shape::ScalarArray) => {
                if !props.is_empty() || !children.is_empty() {
                    self.errors.push(
                        Diagnostic::error(format!(
                            "`{name}` takes a list of values, not properties or children"
                        ))
                        .with_label(whole, "here")
                        .with_help(format!("write it as `{name} \"a\" \"b\" …`")),
                    );
                }
                let mut out = vec![];
                let len = self.path.len();
                for (i, a) in args.iter().enumerate() {
                    let s = span(self.file, a.span());
                    push_segment(&mut self.path, &i.to_string());
                    self.spans.insert(
                        &self.path,
                        Located {
                            whole: s,
                            name: s,
                            value: s,
                        },
                    );
                    self.path.truncate(len);
                    out.push(kdl_to_json(a.value()));
                }
                Value::Array(out)
            }
            Some(Shape::Object(obj)) | Some(Shape::ObjectArray(obj)) => {
                self.object(node, obj, &args, &props, children)
            }
            None => {
                // Unknown node: keep a faithful JSON shape so that schema validation reports it.
                if args.len() == 1 && props.is_empty() && children.is_empty() {
                    kdl_to_json(args[0].value())
                } else {
                    let mut m = Map::new();
                    for p in &props {
                        if let Some(n) = p.name() {
                            m.insert(n.value().to_string(), kdl_to_json(p.value()));
                        }
                    }
                    Value::Object(m)
                }
            }
        }
    }

    fn object(
        &mut self,
        node: &KdlNode,
        obj: &'a Value,
        args: &[&kdl::KdlEntry],
        props: &[&kdl::KdlEntry],
        children: &[KdlNode],
    ) -> Value {
        let name = node.name().value();
        let mut m = Map::new();
        let index = self.index;
        let owned_args;
        let arg_names: &[&str] = match index.get(obj) {
            Some(f) => &f.args,
            None => {
                owned_args = self.nav.arg_names(obj);
                &owned_args
            }
        };
        let len = self.path.len();
        for (i, a) in args.iter().enumerate() {
            let s = span(self.file, a.span());
            match arg_names.get(i) {
                Some(field) => {
                    push_segment(&mut self.path, field);
                    self.spans.insert(
                        &self.path,
                        Located {
                            whole: s,
                            name: s,
                            value: s,
                        },
                    );
                    self.path.truncate(len);
                    m.insert(field.to_string(), kdl_to_json(a.value()));
                }
                None => {
                    let help = if arg_names.is_empty() {
                        let props = self.nav.property_names(obj);
                        let extra = self
                            .nav
                            .resolve(obj)
                            .get("x-kdl-help")
                            .and_then(Value::as_str)
                            .map(|h| format!("; {h}"))
                            .unwrap_or_default();
                        format!(
                            "`{name}` takes properties only: {}{extra}",
                            list_props(&props)
                        )
                    } else {
                        format!(
                            "`{name}` takes {} value(s): {}",
                            arg_names.len(),
                            arg_names.join(", ")
                        )
                    };
                    self.errors.push(
                        Diagnostic::error(format!("unexpected value in `{name}`"))
                            .with_label(s, "not expected here")
                            .with_help(help),
                    );
                }
            }
        }
        for p in props {
            let Some(ident) = p.name() else { continue };
            let key = ident.value();
            let s = span(self.file, p.span());
            let ns = span(self.file, ident.span());
            if m.contains_key(key) {
                self.errors.push(
                    Diagnostic::error(format!("`{key}` is given twice in `{name}`"))
                        .with_label(ns, "again here")
                        .with_help("remove one of them"),
                );
                continue;
            }
            // The value span is the part after `=`.
            let text_len = s.len.saturating_sub(ns.len + 1);
            let vs = Span {
                file: self.file,
                offset: ns.offset + ns.len + 1,
                len: text_len.max(1),
            };
            push_segment(&mut self.path, key);
            self.spans.insert(
                &self.path,
                Located {
                    whole: s,
                    name: ns,
                    value: vs,
                },
            );
            self.path.truncate(len);
            m.insert(key.to_string(), kdl_to_json(p.value()));
        }
        for c in children {
            let cname = c.name().value();
            let child_schema = self.property(obj, cname);
            push_segment(&mut self.path, cname);
            match child_schema.map(|s| self.shape(s)) {
                Some(Shape::ObjectArray(_)) => {
                    let idx = match m.get(cname) {
                        Some(Value::Array(a)) => a.len(),
                        _ => 0,
                    };
                    let item_schema = child_schema.and_then(|s| match index.get(s) {
                        Some(f) => f.items,
                        None => self.nav.resolve(s).get("items"),
                    });
                    let child_len = self.path.len();
                    push_segment(&mut self.path, &idx.to_string());
                    let v = self.convert(c, item_schema);
                    self.path.truncate(child_len);
                    let slot = m
                        .entry(cname.to_string())
                        .or_insert_with(|| Value::Array(vec![]));
                    if let Value::Array(a) = slot {
                        a.push(v);
                    }
                    self.spans.insert(
                        &self.path,
                        Located {
                            whole: span(self.file, c.span()),
                            name: span(self.file, c.name().span()),
                            value: span(self.file, c.name().span()),
                        },
                    );
                }
                _ => {
                    if m.contains_key(cname) {
                        self.errors.push(
                            Diagnostic::error(format!("`{cname}` is given twice in `{name}`"))
                                .with_label(span(self.file, c.name().span()), "again here")
                                .with_help(format!(
                                    "`{cname}` may appear once; merge the two nodes"
                                )),
                        );
                        self.path.truncate(len);
                        continue;
                    }
                    let v = self.convert(c, child_schema);
                    m.insert(cname.to_string(), v);
                }
            }
            self.path.truncate(len);
        }
        Value::Object(m)
    }
}

pub fn list_props(props: &[&str]) -> String {
    props
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: u32) -> Located {
        let s = Span {
            file: 0,
            offset,
            len: 1,
        };
        Located {
            whole: s,
            name: s,
            value: s,
        }
    }

    /// The same answers before and after `freeze`: the last span inserted for a pointer, the
    /// closest recorded parent for `find`, nothing for a pointer never recorded.
    #[test]
    fn a_pointer_finds_its_last_span_frozen_or_not() {
        let mut m = SpanMap::default();
        let pointers: Vec<String> = (0..300)
            .map(|i| format!("/kafka/sinks/{i}/topic"))
            .collect();
        for (i, p) in pointers.iter().enumerate() {
            m.insert(p, at(i as u32));
        }
        m.insert("/kafka/sinks/7/topic", at(1000));
        m.insert("/state", at(2000));
        m.insert("", at(3000));
        for frozen in [false, true] {
            if frozen {
                m.freeze();
            }
            let offset = |p: &str| m.whole(p).map(|s| s.offset);
            assert_eq!(
                offset("/kafka/sinks/7/topic"),
                Some(1000),
                "frozen: {frozen}"
            );
            assert_eq!(
                offset("/kafka/sinks/299/topic"),
                Some(299),
                "frozen: {frozen}"
            );
            assert_eq!(offset("/kafka/sinks/300/topic"), None, "frozen: {frozen}");
            assert_eq!(offset("/state/size"), None, "frozen: {frozen}");
            let found = |p: &str| m.find(p).map(|l| l.whole.offset);
            assert_eq!(found("/state/size/x"), Some(2000), "frozen: {frozen}");
            assert_eq!(found("/other"), Some(3000), "frozen: {frozen}");
            assert_eq!(found("/kafka/sinks/3/topic/x"), Some(3), "frozen: {frozen}");
        }
    }
}
