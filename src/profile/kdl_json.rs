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

use kdl::{KdlNode, KdlValue};
use serde_json::{Map, Value};

use crate::diag::{Diagnostic, Span};

/// Where each JSON location (a JSON pointer) came from.
///
/// Compact, because every loaded profile keeps one until its job is resolved (a fleet holds
/// thousands): the pointers are one string, the entries a vector sorted by pointer once the
/// conversion is done ([`SpanMap::freeze`]); a hash map of owned strings took twice the memory.
#[derive(Debug, Clone, Default)]
pub struct SpanMap {
    /// Every pointer, one after another.
    keys: String,
    /// (start, end) of the pointer in `keys`, and its spans.
    entries: Vec<(u32, u32, Located)>,
    /// Sorted by pointer, one entry per pointer (the last one inserted).
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
        self.keys.get(e.0 as usize..e.1 as usize).unwrap_or("")
    }

    /// Sort by pointer and keep the last span of each, in as little memory as it takes.
    pub fn freeze(&mut self) {
        if self.frozen {
            return;
        }
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        // Stable: among equal pointers the last inserted stays last.
        order.sort_by(|&a, &b| self.key(&self.entries[a]).cmp(self.key(&self.entries[b])));
        let mut keys = String::with_capacity(self.keys.len());
        let mut entries: Vec<(u32, u32, Located)> = Vec::with_capacity(self.entries.len());
        for (n, &i) in order.iter().enumerate() {
            let e = self.entries[i];
            let k = self.key(&e);
            if order
                .get(n + 1)
                .is_some_and(|&next| self.key(&self.entries[next]) == k)
            {
                continue;
            }
            let start = u32::try_from(keys.len()).unwrap_or(u32::MAX);
            keys.push_str(k);
            let end = u32::try_from(keys.len()).unwrap_or(u32::MAX);
            entries.push((start, end, e.2));
        }
        self.keys = keys;
        self.entries = entries;
        self.frozen = true;
    }

    fn get(&self, ptr: &str) -> Option<&Located> {
        if self.frozen {
            self.entries
                .binary_search_by(|e| self.key(e).cmp(ptr))
                .ok()
                .map(|i| &self.entries[i].2)
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

/// Navigates a schemars-generated schema (with `$defs` and `$ref`).
#[derive(Clone, Copy)]
pub struct SchemaNav<'a> {
    pub root: &'a Value,
}

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

pub struct Converter<'a> {
    pub file: u32,
    pub nav: SchemaNav<'a>,
    pub spans: SpanMap,
    pub errors: Vec<Diagnostic>,
}

fn span(file: u32, s: miette::SourceSpan) -> Span {
    Span::from_miette(file, s)
}

fn escape_ptr(seg: &str) -> String {
    seg.replace('~', "~0").replace('/', "~1")
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
    pub fn new(file: u32, nav: SchemaNav<'a>) -> Self {
        Converter {
            file,
            nav,
            spans: SpanMap::default(),
            errors: vec![],
        }
    }

    /// Convert `node` (described by `schema`, or unknown) to JSON at location `ptr`.
    pub fn node(&mut self, node: &KdlNode, schema: Option<&'a Value>, ptr: &str) -> Value {
        let name = node.name().value();
        let name_span = span(self.file, node.name().span());
        let whole = span(self.file, node.span());
        let first_value_span = node
            .entries()
            .first()
            .map(|e| span(self.file, e.span()))
            .unwrap_or(name_span);
        self.spans.insert(
            ptr,
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

        let shape = schema.map(|s| self.nav.shape(s));
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
                    ptr,
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
                for (i, a) in args.iter().enumerate() {
                    let s = span(self.file, a.span());
                    self.spans.insert(
                        &format!("{ptr}/{i}"),
                        Located {
                            whole: s,
                            name: s,
                            value: s,
                        },
                    );
                    out.push(kdl_to_json(a.value()));
                }
                Value::Array(out)
            }
            Some(Shape::Object(obj)) | Some(Shape::ObjectArray(obj)) => {
                self.object(node, obj, ptr, &args, &props, children)
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
        ptr: &str,
        args: &[&kdl::KdlEntry],
        props: &[&kdl::KdlEntry],
        children: &[KdlNode],
    ) -> Value {
        let name = node.name().value();
        let mut m = Map::new();
        let arg_names = self.nav.arg_names(obj);
        for (i, a) in args.iter().enumerate() {
            let s = span(self.file, a.span());
            match arg_names.get(i) {
                Some(field) => {
                    let p = format!("{ptr}/{}", escape_ptr(field));
                    self.spans.insert(
                        &p,
                        Located {
                            whole: s,
                            name: s,
                            value: s,
                        },
                    );
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
            let ptr_k = format!("{ptr}/{}", escape_ptr(key));
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
            self.spans.insert(
                &ptr_k,
                Located {
                    whole: s,
                    name: ns,
                    value: vs,
                },
            );
            m.insert(key.to_string(), kdl_to_json(p.value()));
        }
        for c in children {
            let cname = c.name().value();
            let child_schema = self.nav.property(obj, cname);
            let cptr = format!("{ptr}/{}", escape_ptr(cname));
            match child_schema.map(|s| self.nav.shape(s)) {
                Some(Shape::ObjectArray(_)) => {
                    let idx = match m.get(cname) {
                        Some(Value::Array(a)) => a.len(),
                        _ => 0,
                    };
                    let item_schema = child_schema.and_then(|s| self.nav.resolve(s).get("items"));
                    let v = self.node(c, item_schema, &format!("{cptr}/{idx}"));
                    let slot = m
                        .entry(cname.to_string())
                        .or_insert_with(|| Value::Array(vec![]));
                    if let Value::Array(a) = slot {
                        a.push(v);
                    }
                    self.spans.insert(
                        &cptr,
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
                        continue;
                    }
                    let v = self.node(c, child_schema, &cptr);
                    m.insert(cname.to_string(), v);
                }
            }
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
