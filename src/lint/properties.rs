//! `.properties` files read as `java.util.Properties.load` reads them (logical lines, `\`
//! continuations, `=`/`:`/whitespace separators, escapes), with the span of every key and value.

use crate::diag::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct Prop {
    pub key: String,
    pub value: String,
    pub key_span: Span,
    pub value_span: Span,
}

/// Every entry in file order; a later duplicate key wins when read into a map, as in Java.
pub fn parse(file: u32, text: &str) -> Vec<Prop> {
    let b = text.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\x0c' | b'\r' | b'\n') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if matches!(b[i], b'#' | b'!') {
            while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                i += 1;
            }
            continue;
        }
        let (chars, next) = logical_line(text, i);
        out.push(entry(file, &chars));
        i = next;
    }
    out
}

/// The characters of one logical line with their source offsets (continuations joined, each
/// continuation line's leading whitespace dropped), and where the next line starts.
fn logical_line(text: &str, start: usize) -> (Vec<(char, usize)>, usize) {
    let b = text.as_bytes();
    let mut chars = vec![];
    let mut i = start;
    loop {
        let Some(c) = text[i..].chars().next() else {
            return (chars, i);
        };
        match c {
            '\n' | '\r' => return (chars, i),
            '\\' => {
                let next = text[i + 1..].chars().next();
                match next {
                    Some('\n' | '\r') => {
                        i += 1;
                        if b.get(i) == Some(&b'\r') {
                            i += 1;
                        }
                        if b.get(i) == Some(&b'\n') {
                            i += 1;
                        }
                        while matches!(b.get(i), Some(b' ' | b'\t' | b'\x0c')) {
                            i += 1;
                        }
                    }
                    Some(n) => {
                        chars.push(('\\', i));
                        chars.push((n, i + 1));
                        i += 1 + n.len_utf8();
                    }
                    None => {
                        chars.push(('\\', i));
                        i += 1;
                    }
                }
            }
            c => {
                chars.push((c, i));
                i += c.len_utf8();
            }
        }
    }
}

fn span_of(file: u32, chars: &[(char, usize)]) -> Span {
    match (chars.first(), chars.last()) {
        (Some(first), Some(last)) => Span::new(file, first.1, last.1 + last.0.len_utf8() - first.1),
        _ => Span::new(file, 0, 0),
    }
}

fn entry(file: u32, c: &[(char, usize)]) -> Prop {
    let mut key_end = c.len();
    let mut i = 0;
    while i < c.len() {
        match c[i].0 {
            '\\' => i += 2,
            '=' | ':' | ' ' | '\t' | '\x0c' => {
                key_end = i;
                break;
            }
            _ => i += 1,
        }
    }
    let key_end = key_end.min(c.len());
    let mut v = key_end;
    while v < c.len() && matches!(c[v].0, ' ' | '\t' | '\x0c') {
        v += 1;
    }
    if v < c.len() && matches!(c[v].0, '=' | ':') {
        v += 1;
        while v < c.len() && matches!(c[v].0, ' ' | '\t' | '\x0c') {
            v += 1;
        }
    }
    let key = &c[..key_end];
    let value = &c[v..];
    let value_span = if value.is_empty() {
        Span::new(file, c.last().map_or(0, |l| l.1 + l.0.len_utf8()), 0)
    } else {
        span_of(file, value)
    };
    Prop {
        key: unescape(key),
        value: unescape(value),
        key_span: span_of(file, key),
        value_span,
    }
}

fn unescape(chars: &[(char, usize)]) -> String {
    let mut out = String::new();
    let mut units: Vec<u16> = vec![];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].0;
        if c == '\\' && i + 1 < chars.len() {
            let n = chars[i + 1].0;
            if n == 'u' {
                let hex: String = chars[i + 2..].iter().take(4).map(|x| x.0).collect();
                if let (4, Ok(u)) = (hex.chars().count(), u16::from_str_radix(&hex, 16)) {
                    units.push(u);
                    i += 6;
                    continue;
                }
            }
            flush(&mut units, &mut out);
            out.push(match n {
                't' => '\t',
                'n' => '\n',
                'r' => '\r',
                'f' => '\x0c',
                other => other,
            });
            i += 2;
            continue;
        }
        flush(&mut units, &mut out);
        if c != '\\' {
            out.push(c);
        }
        i += 1;
    }
    flush(&mut units, &mut out);
    out
}

/// `\uXXXX` escapes are UTF-16 code units: surrogate pairs join into one character.
fn flush(units: &mut Vec<u16>, out: &mut String) {
    if !units.is_empty() {
        out.push_str(&String::from_utf16_lossy(units));
        units.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_java() {
        let text = "# c\n! c\n a = 1\nb:2\nc 3\nlong = x \\\n    y\nk\\=ey=v\\u00E9\\uD83D\\uDE00\nempty\n";
        let p = parse(0, text);
        let kv: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            kv,
            vec![
                ("a", "1"),
                ("b", "2"),
                ("c", "3"),
                ("long", "x y"),
                ("k=ey", "vé😀"),
                ("empty", "")
            ]
        );
        let at = |s: Span| &text[s.offset as usize..(s.offset + s.len) as usize];
        assert_eq!(at(p[0].key_span), "a");
        assert_eq!(at(p[0].value_span), "1");
        assert_eq!(at(p[3].value_span), "x \\\n    y");
    }
}
