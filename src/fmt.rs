//! `flinkgen fmt`: a KDL v2 formatter that keeps every comment.
//!
//! The `kdl` crate's `autoformat` drops end-of-line comments and blank lines and rewrites every
//! value's spelling (verified on kdl 6.7.1 with examples/orders-enrichment.kdl), so flinkgen
//! formats the text itself and touches only whitespace that KDL ignores:
//!
//! * indentation: four spaces per open `{`, one level more for a line continued with `\`;
//! * trailing whitespace, and CRLF line ends outside strings and comments;
//! * runs of blank lines (one kept), blank lines after `{`, before `}` and at the start and end
//!   of the file; one final LF.
//!
//! Lines that begin inside a string or a block comment are left exactly as they are, and so is
//! the trailing whitespace of a line that ends inside one. Every result is checked: both texts
//! are parsed and their comment-free canonical forms compared, so formatting can never change
//! what a file means — if it would, the file is refused with an internal error instead.

const INDENT: &str = "    ";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Normal,
    LineComment,
    BlockComment(u32),
    /// A quoted string; `multi` for `"""`.
    Str {
        multi: bool,
    },
    /// A raw string with this many `#`s; `multi` for `#"""`.
    Raw {
        hashes: usize,
        multi: bool,
    },
}

/// What the lexer knows about one line.
#[derive(Debug)]
struct LineInfo {
    /// The line starts outside strings and comments.
    starts_normal: bool,
    /// The line ends outside strings and block comments (so its trailing whitespace is free).
    ends_free: bool,
    /// `{` open at the start of the line.
    depth: usize,
    /// The previous line ended with a line continuation (`\`).
    continued: bool,
}

fn analyse(lines: &[&str]) -> Vec<LineInfo> {
    let mut out = Vec::with_capacity(lines.len());
    let mut state = State::Normal;
    let mut depth: usize = 0;
    let mut continued = false;
    for line in lines {
        let starts_normal = state == State::Normal;
        let info_depth = depth;
        let info_continued = continued;
        let mut escline = false;
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            match state {
                State::Normal => {
                    if c == '/' && next == Some('/') {
                        state = State::LineComment;
                        i += 2;
                        continue;
                    }
                    if c == '/' && next == Some('*') {
                        state = State::BlockComment(1);
                        i += 2;
                        continue;
                    }
                    if c == '"' {
                        if next == Some('"') && chars.get(i + 2) == Some(&'"') {
                            state = State::Str { multi: true };
                            i += 3;
                        } else {
                            state = State::Str { multi: false };
                            i += 1;
                        }
                        continue;
                    }
                    if c == '#' {
                        let mut h = 0;
                        while chars.get(i + h) == Some(&'#') {
                            h += 1;
                        }
                        if chars.get(i + h) == Some(&'"') {
                            let multi = chars.get(i + h + 1) == Some(&'"')
                                && chars.get(i + h + 2) == Some(&'"');
                            state = State::Raw { hashes: h, multi };
                            i += h + if multi { 3 } else { 1 };
                            continue;
                        }
                    }
                    match c {
                        '{' => depth += 1,
                        '}' => depth = depth.saturating_sub(1),
                        '\\' => escline = true,
                        c if c.is_whitespace() => {}
                        _ => escline = false,
                    }
                    i += 1;
                }
                State::LineComment => {
                    i = chars.len();
                }
                State::BlockComment(n) => {
                    if c == '/' && next == Some('*') {
                        state = State::BlockComment(n + 1);
                        i += 2;
                    } else if c == '*' && next == Some('/') {
                        state = if n == 1 {
                            State::Normal
                        } else {
                            State::BlockComment(n - 1)
                        };
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                State::Str { multi } => {
                    if c == '\\' {
                        // An escape; `\` before whitespace or the line end continues the string.
                        i += 2;
                    } else if c == '"' {
                        if !multi {
                            state = State::Normal;
                            i += 1;
                        } else if next == Some('"') && chars.get(i + 2) == Some(&'"') {
                            state = State::Normal;
                            i += 3;
                        } else {
                            i += 1;
                        }
                    } else {
                        i += 1;
                    }
                }
                State::Raw { hashes, multi } => {
                    let quotes = if multi { 3 } else { 1 };
                    let closes = (0..quotes).all(|k| chars.get(i + k) == Some(&'"'))
                        && (0..hashes).all(|k| chars.get(i + quotes + k) == Some(&'#'));
                    if closes {
                        state = State::Normal;
                        i += quotes + hashes;
                    } else {
                        i += 1;
                    }
                }
            }
        }
        if state == State::LineComment {
            state = State::Normal;
        }
        let ends_free = matches!(state, State::Normal);
        continued = ends_free && escline;
        out.push(LineInfo {
            starts_normal,
            ends_free,
            depth: info_depth,
            continued: info_continued,
        });
    }
    out
}

/// Format KDL text (layout only, see the module docs). The text must be KDL v2.
pub fn format_text(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let infos = analyse(&lines);
    // Output lines, each with whether it may be dropped when blank (a blank line after a
    // continuation ends its node, so it is never dropped) and whether it opens a block.
    let mut out: Vec<(String, bool)> = Vec::with_capacity(lines.len());
    let mut opens_block = false;
    for (line, info) in lines.iter().zip(&infos) {
        let body = if info.ends_free {
            line.trim_end()
        } else {
            line
        };
        if !info.starts_normal {
            out.push((body.to_string(), false));
            opens_block = false;
            continue;
        }
        let content = body.trim_start();
        if content.is_empty() {
            let after_blank = out.last().is_none_or(|(l, _)| l.is_empty());
            if info.continued {
                out.push((String::new(), false));
            } else if !after_blank && !opens_block {
                out.push((String::new(), true));
            }
            continue;
        }
        let closing = content.chars().take_while(|c| *c == '}').count();
        if closing > 0 {
            // No blank line before a closing brace.
            while out
                .last()
                .is_some_and(|(l, droppable)| l.is_empty() && *droppable)
            {
                out.pop();
            }
        }
        let level = info.depth.saturating_sub(closing) + usize::from(info.continued);
        out.push((format!("{}{content}", INDENT.repeat(level)), false));
        // No blank line after an opening brace either.
        opens_block = info.ends_free && content.ends_with('{');
    }
    while out.last().is_some_and(|(l, _)| l.is_empty()) {
        out.pop();
    }
    if out.is_empty() {
        return String::new();
    }
    let mut s = out
        .into_iter()
        .map(|(l, _)| l)
        .collect::<Vec<_>>()
        .join("\n");
    s.push('\n');
    s
}

/// The comment-free canonical form of a document: equal for two texts that mean the same.
fn canonical(text: &str) -> Option<String> {
    // Through the loader's parse: size and nesting limits, and no exponential parse of nested
    // `/-` (`profile::parse_kdl_text`).
    let mut doc = crate::profile::parse_kdl_text(text, 0).ok()?;
    doc.autoformat_no_comments();
    Some(doc.to_string())
}

/// Format, refusing a result whose meaning differs from the input's.
pub fn format_checked(text: &str) -> Result<String, String> {
    let formatted = format_text(text);
    match (canonical(text), canonical(&formatted)) {
        (Some(a), Some(b)) if a == b => Ok(formatted),
        (None, _) => Err("not valid KDL v2".into()),
        _ => Err(
            "internal error: formatting would change this file's meaning; it was left as it is (please report it)"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_and_keeps_comments() {
        let src = "// head\njob \"a\" {\n  x 1   // one\n\n\n      y 2 \\\n  z=3\n        /* block\n   kept */\n}\n\n";
        let f = format_text(src);
        assert_eq!(
            f,
            "// head\njob \"a\" {\n    x 1   // one\n\n    y 2 \\\n        z=3\n    /* block\n   kept */\n}\n"
        );
        assert_eq!(format_text(&f), f);
    }

    #[test]
    fn keeps_the_blank_line_that_ends_a_continued_node() {
        // `a 1 \` + blank line: the blank line ends node `a`; dropping it would make `b` an
        // argument of `a`.
        let src = "a 1 \\\n\nb 2\n";
        assert_eq!(format_checked(src), Ok(src.to_string()));
        // Blank lines after `{` and before `}` go, CRLF becomes LF outside strings.
        assert_eq!(
            format_text("a {\r\n\r\n  b 1\r\n\r\n}\r\n"),
            "a {\n    b 1\n}\n"
        );
    }

    #[test]
    fn leaves_multiline_strings_alone() {
        let src = "a {\n  s \"\"\"\n     keep  \n  this\n  \"\"\"\n  r #\"{\"#\n}\n";
        let f = format_checked(src).unwrap_or_else(|e| panic!("{e}"));
        assert!(f.contains("     keep  \n  this\n  \"\"\""), "{f}");
        assert!(f.contains("\n    r #\"{\"#\n}"), "{f}");
    }
}
