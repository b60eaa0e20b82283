//! Flink SQL scripts: the Kafka tables' `WITH (...)` options with spans, and which tables an
//! `INSERT INTO` writes. A small tokenizer, not a SQL parser: it only needs statement shapes.

use crate::diag::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct SqlTable {
    pub name: String,
    pub name_span: Span,
    pub options: Vec<SqlOption>,
    /// `INSERT INTO` this table appears in the script.
    pub inserted: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SqlOption {
    pub key: String,
    pub value: String,
    pub key_span: Span,
    pub value_span: Span,
}

impl SqlTable {
    pub fn option(&self, key: &str) -> Option<&SqlOption> {
        self.options.iter().find(|o| o.key == key)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Punct(char),
}

fn tokens(text: &str) -> Vec<(Tok, usize, usize)> {
    let b = text.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i = (i + 2).min(b.len());
        } else if c == b'\'' {
            // A string literal; '' is an escaped quote.
            let start = i;
            let mut s = String::new();
            i += 1;
            loop {
                match text[i.min(b.len())..].chars().next() {
                    None => break,
                    Some('\'') if b.get(i + 1) == Some(&b'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            out.push((Tok::Str(s), start, i - start));
        } else if c == b'`' {
            let start = i;
            i += 1;
            let from = i;
            while i < b.len() && b[i] != b'`' {
                i += 1;
            }
            let name = text[from..i].to_string();
            i = (i + 1).min(b.len());
            out.push((Tok::Word(name), start, i - start));
        } else if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
                i += 1;
            }
            out.push((Tok::Word(text[start..i].to_string()), start, i - start));
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push((Tok::Punct(ch), i, ch.len_utf8()));
            i += ch.len_utf8();
        }
    }
    out
}

fn is_kw(t: &Tok, kw: &str) -> bool {
    matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
}

/// A possibly qualified name (`cat.db.tbl`) starting at `i`: the last part, its span, and the
/// index after it.
fn name_at(toks: &[(Tok, usize, usize)], mut i: usize, file: u32) -> Option<(String, Span, usize)> {
    let mut last = None;
    while let Some((Tok::Word(w), at, len)) = toks.get(i) {
        last = Some((w.clone(), Span::new(file, *at, *len)));
        i += 1;
        if matches!(toks.get(i), Some((Tok::Punct('.'), _, _))) {
            i += 1;
        } else {
            break;
        }
    }
    last.map(|(n, s)| (n, s, i))
}

pub fn parse(file: u32, text: &str) -> Vec<SqlTable> {
    let toks = tokens(text);
    let mut tables: Vec<SqlTable> = vec![];
    let mut inserted = vec![];
    let mut i = 0;
    while i < toks.len() {
        if is_kw(&toks[i].0, "CREATE") {
            let mut j = i + 1;
            if toks.get(j).is_some_and(|t| is_kw(&t.0, "TEMPORARY")) {
                j += 1;
            }
            if toks.get(j).is_some_and(|t| is_kw(&t.0, "TABLE")) {
                j += 1;
                if toks.get(j).is_some_and(|t| is_kw(&t.0, "IF")) {
                    j += 3; // IF NOT EXISTS
                }
                if let Some((name, name_span, after)) = name_at(&toks, j, file) {
                    let (options, end) = with_options(&toks, after, file);
                    tables.push(SqlTable {
                        name,
                        name_span,
                        options,
                        inserted: false,
                    });
                    i = end;
                    continue;
                }
            }
        }
        if is_kw(&toks[i].0, "INSERT") {
            let mut j = i + 1;
            if toks
                .get(j)
                .is_some_and(|t| is_kw(&t.0, "INTO") || is_kw(&t.0, "OVERWRITE"))
            {
                j += 1;
                if toks.get(j).is_some_and(|t| is_kw(&t.0, "TABLE")) {
                    j += 1;
                }
                if let Some((name, _, _)) = name_at(&toks, j, file) {
                    inserted.push(name);
                }
            }
        }
        i += 1;
    }
    for t in &mut tables {
        t.inserted = inserted.iter().any(|n| n.eq_ignore_ascii_case(&t.name));
    }
    tables
}

/// From after the table name: skip the column list, then read `WITH ('k' = 'v', ...)`.
fn with_options(toks: &[(Tok, usize, usize)], mut i: usize, file: u32) -> (Vec<SqlOption>, usize) {
    let mut depth = 0i32;
    while i < toks.len() {
        match &toks[i].0 {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            Tok::Punct(';') if depth <= 0 => return (vec![], i + 1),
            t if depth == 0 && is_kw(t, "WITH") => break,
            _ => {}
        }
        i += 1;
    }
    let mut opts = vec![];
    if !matches!(toks.get(i + 1), Some((Tok::Punct('('), _, _))) {
        return (opts, i + 1);
    }
    i += 2;
    while i + 2 < toks.len() {
        if let (Tok::Str(k), Tok::Punct('='), Tok::Str(v)) =
            (&toks[i].0, &toks[i + 1].0, &toks[i + 2].0)
        {
            opts.push(SqlOption {
                key: k.clone(),
                value: v.clone(),
                key_span: Span::new(file, toks[i].1, toks[i].2),
                value_span: Span::new(file, toks[i + 2].1, toks[i + 2].2),
            });
            i += 3;
        } else {
            i += 1;
        }
        match toks.get(i).map(|t| &t.0) {
            Some(Tok::Punct(',')) => i += 1,
            Some(Tok::Punct(')')) | None => return (opts, i + 1),
            _ => {}
        }
    }
    (opts, toks.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_tables_and_inserts() {
        let text = "-- orders\nCREATE TABLE IF NOT EXISTS cat.db.`orders_out` (\n  id BIGINT,\n  ts TIMESTAMP(3),\n  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND\n) WITH (\n  'connector' = 'kafka',\n  'properties.transaction.timeout.ms' = '900000', /* x */\n  'k''q' = 'it''s'\n);\nCREATE TEMPORARY TABLE src (a INT) WITH ('connector' = 'kafka');\nINSERT INTO orders_out SELECT * FROM src;\n";
        let t = parse(0, text);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].name, "orders_out");
        assert!(t[0].inserted && !t[1].inserted);
        let o = t[0].option("properties.transaction.timeout.ms").unwrap();
        assert_eq!(o.value, "900000");
        assert_eq!(
            &text[o.value_span.offset as usize..][..o.value_span.len as usize],
            "'900000'"
        );
        assert_eq!(t[0].option("k'q").unwrap().value, "it's");
        assert_eq!(t[1].option("connector").unwrap().value, "kafka");
    }
}
