//! A fast reader for the KDL v2 that profiles and packs are written in.
//!
//! Why: the `kdl` crate's v2 parser reads about 0.5 MB/s (measured: 3 ms for a 1.8 KB profile,
//! 120 ms for the built-in packs), which alone would exceed the per-job and start-up budgets
//! (BENCHMARKS.md). This reader handles the subset flinkgen's files use — nodes, bare and quoted
//! identifiers, quoted strings with the simple escapes, decimal numbers, `#true`/`#false`/`#null`,
//! properties, children, `//` and `/* */` comments, `;` and `\` line continuations — and builds
//! the very same `kdl::KdlDocument` (values and spans) the crate would. Anything outside the
//! subset, and every syntax error, returns `None`: the caller then parses with the `kdl` crate,
//! which also owns all KDL error messages. Equality with the crate is proven by
//! `tests/kdl_fast.rs` (every .kdl file in the repository, generated documents) and by fuzzing.

use kdl::{KdlDocument, KdlEntry, KdlIdentifier, KdlNode, KdlValue};

struct Reader<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
}

/// Parse `text`, or `None` when it is not in the subset (or not valid KDL v2).
pub fn parse(text: &str) -> Option<KdlDocument> {
    if !plain_text(text) {
        return None;
    }
    let mut r = Reader {
        text,
        b: text.as_bytes(),
        pos: 0,
    };
    let doc = r.document(false)?;
    (r.pos == r.b.len()).then_some(doc)
}

/// Reject what the subset leaves to the crate: control characters other than tab and newlines,
/// the code points KDL forbids (bidi controls, BOM), and newlines other than LF and CRLF.
fn plain_text(text: &str) -> bool {
    let b = text.as_bytes();
    for (i, &byte) in b.iter().enumerate() {
        let bad = match byte {
            b'\t' | b'\n' => false,
            b'\r' => b.get(i + 1) != Some(&b'\n'),
            0..=0x1f | 0x7f => true,
            // Non-ASCII: look at the whole character once, at its first byte.
            0xc0..=0xff => text[i..].chars().next().is_some_and(|c| {
                c.is_control()
                    || matches!(
                        c,
                        '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{0085}'
                    )
                    || ('\u{202A}'..='\u{202E}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)
            }),
            _ => false,
        };
        if bad {
            return false;
        }
    }
    true
}

fn span(start: usize, end: usize) -> (usize, usize) {
    (start, end - start)
}

/// Characters that end a bare identifier or may not appear in one.
fn stops_identifier(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | b'\\'
            | b'/'
            | b'('
            | b')'
            | b'{'
            | b'}'
            | b';'
            | b'['
            | b']'
            | b'"'
            | b'#'
            | b'='
    )
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }
    fn at(&self, s: &str) -> bool {
        self.b[self.pos..].starts_with(s.as_bytes())
    }

    /// Block comment, nested; `None` if unterminated.
    fn block_comment(&mut self) -> Option<()> {
        self.pos += 2;
        let mut depth = 1;
        while depth > 0 {
            if self.pos >= self.b.len() {
                return None;
            }
            if self.at("/*") {
                depth += 1;
                self.pos += 2;
            } else if self.at("*/") {
                depth -= 1;
                self.pos += 2;
            } else {
                self.pos += 1;
            }
        }
        Some(())
    }

    fn newline(&mut self) -> bool {
        if self.at("\r\n") {
            self.pos += 2;
            true
        } else if self.peek() == Some(b'\n') {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Whitespace, newlines and comments between nodes.
    fn line_space(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'\n' | b'\r') => {
                    if !self.newline() {
                        return None;
                    }
                }
                Some(b'/') if self.at("//") => {
                    while self.peek().is_some_and(|c| c != b'\n' && c != b'\r') {
                        self.pos += 1;
                    }
                }
                Some(b'/') if self.at("/*") => self.block_comment()?,
                Some(b'/') if self.at("/-") => return None,
                _ => return Some(()),
            }
        }
    }

    /// Whitespace within a node: spaces, block comments, `\` continuations. Whether any was seen.
    fn node_space(&mut self) -> Option<bool> {
        let start = self.pos;
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'/') if self.at("/*") => self.block_comment()?,
                Some(b'\\') => {
                    self.pos += 1;
                    while matches!(self.peek(), Some(b' ' | b'\t')) {
                        self.pos += 1;
                    }
                    if self.at("//") {
                        while self.peek().is_some_and(|c| c != b'\n' && c != b'\r') {
                            self.pos += 1;
                        }
                    }
                    if !self.newline() && self.pos < self.b.len() {
                        return None;
                    }
                }
                _ => return Some(self.pos > start),
            }
        }
    }

    fn document(&mut self, children: bool) -> Option<KdlDocument> {
        let mut doc = KdlDocument::new();
        let mut first: Option<usize> = None;
        let mut last_end = self.pos;
        loop {
            self.line_space()?;
            match self.peek() {
                None if !children => break,
                None => return None,
                Some(b'}') if children => break,
                Some(b'}') => return None,
                _ => {}
            }
            let start = self.pos;
            let node = self.node()?;
            first.get_or_insert(start);
            last_end = start + node.span().len();
            doc.nodes_mut().push(node);
        }
        let begin = first.unwrap_or(self.pos);
        let end = if first.is_some() { last_end } else { self.pos };
        doc.set_span(span(begin, end.max(begin)));
        Some(doc)
    }

    fn node(&mut self) -> Option<KdlNode> {
        let start = self.pos;
        if self.peek() == Some(b'(') {
            return None;
        }
        let name = self.identifier()?;
        let mut node = KdlNode::new(name);
        loop {
            let spaced = self.node_space()?;
            match self.peek() {
                None | Some(b'\n' | b'\r' | b';' | b'}') => break,
                Some(b'/') if self.at("//") => break,
                Some(b'{') => {
                    self.pos += 1;
                    let children = self.document(true)?;
                    if self.peek() != Some(b'}') {
                        return None;
                    }
                    self.pos += 1;
                    node.set_children(children);
                    self.node_space()?;
                    match self.peek() {
                        None | Some(b'\n' | b'\r' | b';' | b'}') => break,
                        Some(b'/') if self.at("//") => break,
                        _ => return None,
                    }
                }
                Some(_) if !spaced => return None,
                Some(_) => {
                    let entry = self.entry()?;
                    node.entries_mut().push(entry);
                }
            }
        }
        node.set_span(span(start, self.pos));
        if self.peek() == Some(b';') {
            self.pos += 1;
        }
        Some(node)
    }

    /// A node name or property key: a quoted string or a bare identifier.
    fn identifier(&mut self) -> Option<KdlIdentifier> {
        let start = self.pos;
        let value = if self.peek() == Some(b'"') {
            self.quoted()?
        } else {
            self.bare()?
        };
        let mut id = KdlIdentifier::from(value);
        id.set_span(span(start, self.pos));
        Some(id)
    }

    /// A bare identifier: ASCII only in the subset, not starting like a number, not a keyword.
    fn bare(&mut self) -> Option<String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if stops_identifier(c) {
                break;
            }
            if !c.is_ascii_graphic() {
                return None;
            }
            self.pos += 1;
        }
        let s = &self.text[start..self.pos];
        let b = s.as_bytes();
        let numeric_start = match b {
            [] => true,
            [c, ..] if c.is_ascii_digit() => true,
            [b'+' | b'-', c, ..] if c.is_ascii_digit() => true,
            [b'+' | b'-', b'.', c, ..] | [b'.', c, ..] if c.is_ascii_digit() => true,
            _ => false,
        };
        if numeric_start || matches!(s, "true" | "false" | "null" | "inf" | "-inf" | "nan") {
            return None;
        }
        Some(s.to_string())
    }

    /// A single-line quoted string with the simple escapes; multi-line strings, whitespace
    /// escapes and raw strings are left to the crate.
    fn quoted(&mut self) -> Option<String> {
        if self.at("\"\"\"") {
            return None;
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let c = rest.chars().next()?;
            match c {
                '"' => {
                    self.pos += 1;
                    return Some(out);
                }
                '\n' | '\r' => return None,
                '\\' => {
                    let e = rest[1..].chars().next()?;
                    self.pos += 2;
                    match e {
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        '\\' => out.push('\\'),
                        '"' => out.push('"'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        's' => out.push(' '),
                        'u' => {
                            if self.peek() != Some(b'{') {
                                return None;
                            }
                            let close = self.text[self.pos..].find('}')?;
                            let hex = &self.text[self.pos + 1..self.pos + close];
                            if hex.is_empty() || hex.len() > 6 {
                                return None;
                            }
                            let ch = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                            out.push(ch);
                            self.pos += close + 1;
                        }
                        _ => return None,
                    }
                }
                _ => {
                    // Copy the run up to the next quote, escape or line end in one go.
                    // The stops are ASCII, so a byte scan lands on a char boundary (and is
                    // several times faster than a char-pattern search).
                    let run = rest
                        .bytes()
                        .position(|b| matches!(b, b'"' | b'\\' | b'\n' | b'\r'))
                        .unwrap_or(rest.len());
                    out.push_str(&rest[..run]);
                    self.pos += run;
                }
            }
        }
    }

    fn entry(&mut self) -> Option<KdlEntry> {
        let start = self.pos;
        // A property is a key immediately followed by `=`.
        let save = self.pos;
        if matches!(self.peek(), Some(c) if c == b'"' || !(c.is_ascii_digit() || c == b'#' || c == b'-' || c == b'+' || c == b'.'))
            && let Some(key) = self.identifier()
            && self.peek() == Some(b'=')
        {
            self.pos += 1;
            let value = self.value()?;
            let mut e = KdlEntry::new_prop(key, value);
            e.set_span(span(start, self.pos));
            return Some(e);
        }
        self.pos = save;
        let value = self.value()?;
        let mut e = KdlEntry::new(value);
        e.set_span(span(start, self.pos));
        Some(e)
    }

    fn value(&mut self) -> Option<KdlValue> {
        let value = match self.peek()? {
            b'"' => KdlValue::String(self.quoted()?),
            b'#' => {
                let v = if self.at("#true") {
                    KdlValue::Bool(true)
                } else if self.at("#false") {
                    KdlValue::Bool(false)
                } else if self.at("#null") {
                    KdlValue::Null
                } else {
                    return None;
                };
                self.pos += match v {
                    KdlValue::Bool(true) => 5,
                    KdlValue::Bool(false) => 6,
                    _ => 5,
                };
                v
            }
            c if c.is_ascii_digit() || c == b'-' || c == b'+' => {
                let next = self.b.get(self.pos + 1).copied();
                if (c == b'-' || c == b'+') && !next.is_some_and(|n| n.is_ascii_digit()) {
                    KdlValue::String(self.bare()?)
                } else {
                    self.number()?
                }
            }
            b'.' => return None,
            _ => KdlValue::String(self.bare()?),
        };
        // A value must end where an entry may end.
        match self.peek() {
            None | Some(b' ' | b'\t' | b'\n' | b'\r' | b';' | b'}' | b'{' | b'\\') => Some(value),
            Some(b'/') if self.at("//") || self.at("/*") => Some(value),
            _ => None,
        }
    }

    /// Decimal numbers only (`0x`, `0o`, `0b` go to the crate).
    fn number(&mut self) -> Option<KdlValue> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.pos += 1;
        }
        if self.at("0x") || self.at("0o") || self.at("0b") {
            return None;
        }
        // One group of digits (underscores allowed after the first). The kdl crate reads each
        // group — integer part, fraction, exponent — as an i128 and rejects the number when one
        // overflows, so a group of 39 or more digits is left to it (fuzzing found
        // `3.1111…` with 40 fraction digits accepted here and rejected there).
        let digits = |r: &mut Self| -> bool {
            if !r.peek().is_some_and(|c| c.is_ascii_digit()) {
                return false;
            }
            let mut n = 0;
            while let Some(c) = r.peek().filter(|c| c.is_ascii_digit() || *c == b'_') {
                n += usize::from(c != b'_');
                r.pos += 1;
            }
            n <= 38
        };
        if !digits(self) {
            return None;
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(self) {
                return None;
            }
            float = true;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'-' | b'+')) {
                self.pos += 1;
            }
            if !digits(self) {
                return None;
            }
            float = true;
        }
        let text: String = self.text[start..self.pos]
            .chars()
            .filter(|c| *c != '_')
            .collect();
        if float {
            let f: f64 = text.parse().ok()?;
            f.is_finite().then_some(KdlValue::Float(f))
        } else {
            Some(KdlValue::Integer(text.parse::<i128>().ok()?))
        }
    }
}
