//! Escaping by format. Every value that reaches an output passes through one of these; no
//! template pastes a raw string.

/// A YAML string scalar: plain when every YAML reader reads it back as the same string,
/// double-quoted otherwise.
pub fn yaml_scalar(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_yaml_scalar(&mut out, s);
    out
}

/// [`yaml_scalar`], appended to `out`.
pub fn push_yaml_scalar(out: &mut String, s: &str) {
    if plain_safe(s) {
        out.push_str(s);
        return;
    }
    out.reserve(s.len() + 2);
    out.push('"');
    // Runs of characters that need no escape are copied whole. Byte by byte: printable ASCII
    // is most of every value, and only a non-ASCII byte needs its character decoded.
    let bytes = s.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let c = if b < 0x80 {
            if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
                i += 1;
                continue;
            }
            char::from(b)
        } else {
            let Some(c) = s.get(i..).and_then(|rest| rest.chars().next()) else {
                break;
            };
            if !(('\u{80}'..='\u{9f}').contains(&c)
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}'))
            {
                i += c.len_utf8();
                continue;
            }
            c
        };
        out.push_str(&s[run..i]);
        i += c.len_utf8();
        run = i;
        push_yaml_escape(out, c);
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// `c`'s escape inside a double-quoted YAML scalar: a short form where YAML has one, else
/// `\xNN` or `\uNNNN`.
fn push_yaml_escape(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push_str(&format!("\\u{:04x}", c as u32)),
    }
}

/// The bytes a plain scalar may hold: a conservative alphabet.
const PLAIN_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'/' | b'-' | b'+' | b'@');
        b += 1;
    }
    table
};

/// Plain scalars limited to a conservative alphabet, and never a word or number form that a
/// YAML 1.1 reader (go-yaml v2: kubectl, Helm) or a YAML 1.2 reader would take for a boolean,
/// null or number. Anything starting with a digit or sign is quoted: `1_000`, `0b1`, `12:30`
/// and `1e3` are numbers to some reader.
fn plain_safe(s: &str) -> bool {
    const WORDS: [&str; 12] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", ".inf", ".nan",
    ];
    let Some(&first) = s.as_bytes().first() else {
        return false;
    };
    !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.' | b'@'))
        && s.bytes().all(|b| PLAIN_BYTES[usize::from(b)])
        // The words are at most five letters long.
        && (s.len() > 5 || !WORDS.iter().any(|w| s.eq_ignore_ascii_case(w)))
}

/// A `.properties` key or value, escaped as `java.util.Properties.store` does, with every
/// non-ASCII character as `\uXXXX` so the file reads the same as ISO-8859-1 or UTF-8.
pub fn properties(s: &str, is_key: bool) -> String {
    let mut out = String::with_capacity(s.len());
    push_properties(&mut out, s, is_key);
    out
}

/// [`properties`], appended to `out`.
pub fn push_properties(out: &mut String, s: &str, is_key: bool) {
    if !s.starts_with(' ')
        && s.bytes()
            .all(|b| (0x20..=0x7e).contains(&b) && !matches!(b, b'\\' | b'=' | b':' | b'#' | b'!'))
        && !(is_key && s.contains(' '))
    {
        // Nothing to escape: most keys and values.
        out.push_str(s);
        return;
    }
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{c}' => out.push_str("\\f"),
            '=' | ':' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
}

/// A Flink SQL string literal: single quotes, doubled inside.
pub fn sql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_sql_string(&mut out, s);
    out
}

/// [`sql_string`], appended to `out`.
pub fn push_sql_string(out: &mut String, s: &str) {
    out.push('\'');
    for (i, part) in s.split('\'').enumerate() {
        if i > 0 {
            out.push_str("''");
        }
        out.push_str(part);
    }
    out.push('\'');
}

/// Text for a comment line: control characters (a newline would end the comment) as spaces.
pub fn push_comment(out: &mut String, s: &str) {
    if !s.chars().any(char::is_control) {
        out.push_str(s);
        return;
    }
    out.extend(s.chars().map(|c| if c.is_control() { ' ' } else { c }));
}

/// A value for Flink's legacy `flink-conf.yaml` line parser, which has no escaping at all: it
/// splits each line at the first `#` and at the first `": "`. Values it cannot carry are refused.
pub fn flink_legacy(s: &str, is_key: bool) -> Result<String, String> {
    check_flink_legacy(s, is_key).map(|()| s.to_string())
}

/// Whether [`flink_legacy`] can carry `s` (it is then written as it is).
pub fn check_flink_legacy(s: &str, is_key: bool) -> Result<(), String> {
    // One pass: newlines are control characters too. Byte by byte when ASCII (every key and
    // almost every value), characters otherwise.
    let unwritable = if s.is_ascii() {
        s.bytes().any(|b| b < 0x20 || b == 0x7f || b == b'#')
    } else {
        s.chars().any(|c| c == '#' || c.is_control())
    };
    if unwritable {
        return Err(format!(
            "`{}` cannot be written to flink-conf.yaml (no escaping for newlines, `#` or control characters)",
            s.escape_debug()
        ));
    }
    if s.trim() != s || s.is_empty() {
        return Err(format!(
            "`{}` cannot be written to flink-conf.yaml (leading or trailing spaces are trimmed)",
            s.escape_debug()
        ));
    }
    if is_key && (s.contains(": ") || s.ends_with(':')) {
        return Err(format!(
            "key `{s}` cannot be written to flink-conf.yaml (contains `: `)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_quotes_only_when_needed() {
        assert_eq!(yaml_scalar("rocksdb"), "rocksdb");
        assert_eq!(yaml_scalar("s3://bucket/x"), "\"s3://bucket/x\"");
        assert_eq!(yaml_scalar("1.20"), "\"1.20\"");
        assert_eq!(yaml_scalar("y"), "\"y\"");
        assert_eq!(yaml_scalar("320m"), "\"320m\"");
        assert_eq!(yaml_scalar("true"), "\"true\"");
        assert_eq!(yaml_scalar("a\nb: c"), "\"a\\nb: c\"");
        assert_eq!(yaml_scalar(""), "\"\"");
    }

    /// The character-by-character scan `push_yaml_scalar` had before it went byte by byte: the
    /// reference its output must equal. It decides on its own which characters to escape; how
    /// each is written is `push_yaml_escape`, checked by `yaml_quotes_only_when_needed` and by
    /// the round trips through real YAML parsers (tests/escaping.rs).
    fn yaml_scalar_by_chars(s: &str) -> String {
        if plain_safe(s) {
            return s.to_string();
        }
        let mut out = String::from('"');
        for c in s.chars() {
            let escaped = matches!(c, '"' | '\\')
                || (c as u32) < 0x20
                || c == '\u{7f}'
                || ('\u{80}'..='\u{9f}').contains(&c)
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}');
            if escaped {
                push_yaml_escape(&mut out, c);
            } else {
                out.push(c);
            }
        }
        out.push('"');
        out
    }

    proptest::proptest! {
        #[test]
        fn yaml_scalars_byte_by_byte_as_char_by_char(
            s in "(\\PC|[\u{0}-\u{1f}\u{7f}-\u{a0}\u{2028}\u{2029}\u{feff}\"\\\\])*"
        ) {
            proptest::prop_assert_eq!(yaml_scalar(&s), yaml_scalar_by_chars(&s));
        }
    }

    #[test]
    fn properties_escape_separators_and_unicode() {
        assert_eq!(properties("a=b:c", false), "a\\=b\\:c");
        assert_eq!(properties(" lead", false), "\\ lead");
        assert_eq!(properties("k y", true), "k\\ y");
        assert_eq!(properties("x\ny=1", false), "x\\ny\\=1");
        assert_eq!(properties("é", false), "\\u00E9");
    }

    #[test]
    fn legacy_flink_conf_refuses_what_it_cannot_carry() {
        assert!(flink_legacy("a#b", false).is_err());
        assert!(flink_legacy("a\nb", false).is_err());
        assert_eq!(flink_legacy("s3://x/y", false), Ok("s3://x/y".into()));
    }
}
