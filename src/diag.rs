//! Source files, spans and diagnostics.
//!
//! Every value flinkgen reads remembers where it came from (a `Span` into a `Sources` entry), so
//! input errors, findings and `explain` can point at the exact text, even across files.

use std::fmt;
use std::sync::OnceLock;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteSpanContents, SourceSpan};
use serde::Serialize;

/// One file that was read: a profile, a policy pack, a template.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// Built on first use: a file with thousands of findings must not have its newlines and
    /// characters counted from the top once per finding.
    positions: OnceLock<Positions>,
}

/// Where lines start, and how many characters precede each block of bytes, so that a line and
/// column are found in time independent of the file's size (and of a 4 MB single-line file).
#[derive(Debug, Clone)]
struct Positions {
    line_starts: Vec<usize>,
    /// Characters and UTF-16 code units before byte `k * BLOCK`.
    before_block: Vec<Units>,
}

/// Text measured as people's editors count columns: characters, and UTF-16 code units (SARIF).
#[derive(Debug, Clone, Copy, Default)]
struct Units {
    chars: usize,
    utf16: usize,
}

impl Units {
    fn of(bytes: &[u8]) -> Self {
        // A character starts at every byte that is not a UTF-8 continuation byte; one of four
        // bytes (lead byte 0xF0 and up) lies outside the BMP and takes two UTF-16 units.
        let chars = bytes.iter().filter(|&&b| (b as i8) >= -0x40).count();
        let astral = bytes.iter().filter(|&&b| b >= 0xF0).count();
        Units {
            chars,
            utf16: chars + astral,
        }
    }
    fn plus(self, other: Units) -> Units {
        Units {
            chars: self.chars + other.chars,
            utf16: self.utf16 + other.utf16,
        }
    }
}

impl Positions {
    const BLOCK: usize = 4096;

    fn of(text: &str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let mut before_block = vec![Units::default()];
        let mut total = Units::default();
        for block in text.as_bytes().chunks(Self::BLOCK) {
            total = total.plus(Units::of(block));
            before_block.push(total);
        }
        Positions {
            line_starts,
            before_block,
        }
    }

    fn before(&self, text: &str, offset: usize) -> Units {
        let block = offset / Self::BLOCK;
        let from = block * Self::BLOCK;
        let rest = text
            .as_bytes()
            .get(from..offset)
            .map_or_else(Units::default, Units::of);
        self.before_block
            .get(block)
            .copied()
            .unwrap_or_default()
            .plus(rest)
    }
}

impl SourceFile {
    fn positions(&self) -> &Positions {
        self.positions.get_or_init(|| Positions::of(&self.text))
    }
    fn line_starts(&self) -> &[usize] {
        &self.positions().line_starts
    }
    /// The 0-based line a byte offset is on.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts()
            .partition_point(|&start| start <= offset)
            .saturating_sub(1)
    }
    /// The byte range of 0-based lines `first..=last`, newline of the last included.
    fn lines_range(&self, first: usize, last: usize) -> std::ops::Range<usize> {
        let starts = self.line_starts();
        let start = starts.get(first).copied().unwrap_or(self.text.len());
        let end = starts.get(last + 1).copied().unwrap_or(self.text.len());
        start..end.max(start)
    }
    /// 1-based line of a byte offset, and the 0-based column measured in `Units` of the line.
    fn line_and_units(&self, offset: usize) -> (usize, Units) {
        let offset = offset.min(self.text.len());
        let line = self.line_of(offset);
        let start = self.line_starts().get(line).copied().unwrap_or(0);
        let p = self.positions();
        let (at, from) = (p.before(&self.text, offset), p.before(&self.text, start));
        let column = Units {
            chars: at.chars - from.chars,
            utf16: at.utf16 - from.utf16,
        };
        (line + 1, column)
    }
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let (line, column) = self.line_and_units(offset);
        (line, column.chars + 1)
    }
    /// 1-based line and column in UTF-16 code units, as SARIF counts them.
    pub fn line_col_utf16(&self, offset: usize) -> (usize, usize) {
        let (line, column) = self.line_and_units(offset);
        (line, column.utf16 + 1)
    }
}

/// All files read in one run, addressed by index.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
    /// The texts masked by [`Sources::redact`] (4 bytes or longer), which [`Sources::scrub`]
    /// masks in messages too: a message may quote a value (a schema error quotes the instance).
    redacted: std::collections::BTreeSet<String>,
    /// An automaton of `redacted`, built on first use after a change.
    scrubber: OnceLock<Option<aho_corasick::AhoCorasick>>,
}

impl Sources {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> u32 {
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
            positions: OnceLock::new(),
        });
        (self.files.len() - 1) as u32
    }
    pub fn get(&self, id: u32) -> &SourceFile {
        &self.files[id as usize]
    }
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }
    /// Mask the text of `span` with `*` (one per byte, so every other span stays valid): a
    /// literal secret found in a profile is refused, and no report may show it again.
    pub fn redact(&mut self, span: Span) {
        let Some(f) = self.files.get_mut(span.file as usize) else {
            return;
        };
        let start = (span.offset as usize).min(f.text.len());
        let end = (start + span.len as usize).min(f.text.len());
        if f.text.is_char_boundary(start) && f.text.is_char_boundary(end) {
            let text = &f.text[start..end];
            // Quoted or not, a message may quote the value itself, or its unescaped form.
            for literal in [text, text.trim_matches('"')] {
                if literal.len() >= 4
                    && self.redacted.len() < Self::SCRUBBED_LITERALS
                    && !self.redacted.contains(literal)
                {
                    self.redacted.insert(literal.to_string());
                    self.scrubber = OnceLock::new();
                }
            }
            f.text.replace_range(start..end, &"*".repeat(end - start));
            // A masked newline joins two lines.
            f.positions = OnceLock::new();
        }
    }
    /// How many masked texts [`Sources::scrub`] replaces in messages: every real file has a
    /// handful, and building the automaton grows faster than linearly (a hostile file masking
    /// 120 000 values took 7 s); reports are cut at 100 errors per unit long before this.
    const SCRUBBED_LITERALS: usize = 10_000;

    /// `text` with every masked literal replaced by `****`: what a report may print of a
    /// message, a help or a label.
    pub fn scrub<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        let scrubber = self.scrubber.get_or_init(|| {
            // Leftmost-longest: a literal is replaced whole, never a part of it.
            aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                // Built in time linear in the literals (the other kinds remap states: seconds
                // for the tens of thousands a hostile file masks).
                .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
                .build(&self.redacted)
                .ok()
        });
        match scrubber {
            Some(ac) if !self.redacted.is_empty() && ac.is_match(text) => {
                let mut out = String::with_capacity(text.len());
                ac.replace_all_with(text, &mut out, |_, _, out| {
                    out.push_str("****");
                    true
                });
                std::borrow::Cow::Owned(out)
            }
            _ => std::borrow::Cow::Borrowed(text),
        }
    }
    /// `file:line:col` of a span, for one-line output.
    pub fn location(&self, span: Span) -> String {
        let f = self.get(span.file);
        let (line, col) = f.line_col(span.offset as usize);
        format!("{}:{line}:{col}", f.name)
    }
    /// The text a span covers.
    pub fn snippet(&self, span: Span) -> &str {
        let f = self.get(span.file);
        let start = (span.offset as usize).min(f.text.len());
        let end = (start + span.len as usize).min(f.text.len());
        f.text.get(start..end).unwrap_or("")
    }
}

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    pub file: u32,
    pub offset: u32,
    pub len: u32,
}

impl Span {
    pub fn new(file: u32, offset: usize, len: usize) -> Self {
        Span {
            file,
            offset: offset as u32,
            len: len as u32,
        }
    }
    pub fn from_miette(file: u32, s: miette::SourceSpan) -> Self {
        Span::new(file, s.offset(), s.len())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// A diagnostic: an input error (exit 2) or a finding (exit 1 when its severity is error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code (`FG101`) for findings, a pack rule id for policy assertions, none for input errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
    pub labels: Vec<Label>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: None,
            message: message.into(),
            labels: vec![],
            help: None,
        }
    }
    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Input errors reported for one job or cluster before the rest are summed up in one line:
/// enough to act on, and a hostile file with a hundred thousand mistakes stays cheap to report.
pub const ERRORS_PER_UNIT: usize = 100;

/// The error that ends a list cut at [`ERRORS_PER_UNIT`]: `rest` more `what` (plural) were not
/// checked, from `span` on.
pub fn not_checked(rest: usize, what: &str, span: Span) -> Diagnostic {
    Diagnostic::error(format!(
        "{rest} more {what} were not checked after {ERRORS_PER_UNIT} errors"
    ))
    .with_label(span, "from here on")
    .with_help("fix the errors above and run again")
}

/// A set of input errors: the run cannot go on (exit 2).
#[derive(Debug, Clone, Default)]
pub struct InputErrors(pub Vec<Diagnostic>);

impl InputErrors {
    pub fn one(d: Diagnostic) -> Self {
        InputErrors(vec![d])
    }
}

impl From<Diagnostic> for InputErrors {
    fn from(d: Diagnostic) -> Self {
        InputErrors(vec![d])
    }
}

/// miette's view of one diagnostic in one file; labels in other files become related reports.
#[derive(Debug)]
struct MietteView {
    message: String,
    code: Option<String>,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<Excerpt>,
    labels: Vec<LabeledSpan>,
    related: Vec<MietteView>,
}

/// The lines of a file around a group of labels, for miette. Handing miette the whole file would
/// copy it and scan it from the top once per diagnostic: quadratic on a large file with many
/// findings. A long line is cut to a window around its labels, marked with `…`.
#[derive(Debug)]
struct Excerpt {
    name: String,
    text: String,
    /// The file offset that `text`'s byte 0 stands for (a window's `…` sits before it).
    offset: usize,
    /// 0-based line of `text`'s first line, and the file column (in bytes, as miette counts)
    /// at which it starts: 0 unless the excerpt is a window into a long line.
    line: usize,
    column: usize,
}

impl Excerpt {
    /// Lines this many either side of the labels: more than miette shows as context.
    const CONTEXT_LINES: usize = 3;
    /// Longer excerpts of a single line are cut to a window this wide around the labels.
    const LONG_LINE: usize = 512;
    const WINDOW_MARGIN: usize = 120;
    const ELLIPSIS: &str = "…";

    fn around(file: &SourceFile, labels: &[Label]) -> Self {
        let start = labels
            .iter()
            .map(|l| l.span.offset as usize)
            .min()
            .unwrap_or(0);
        let end = labels
            .iter()
            .map(|l| l.span.offset as usize + l.span.len as usize)
            .max()
            .unwrap_or(0)
            .min(file.text.len());
        // A span that ends with a line break ends on its line, not the next: otherwise a label
        // to the end of a long line would show the whole line, unwindowed.
        let (first, last) = (
            file.line_of(start),
            file.line_of(end.saturating_sub(1).max(start)),
        );
        let line = file.lines_range(first, first);
        if first == last && line.len() > Self::LONG_LINE {
            return Self::window(file, first, line, start..end);
        }
        let first = first.saturating_sub(Self::CONTEXT_LINES);
        let range = file.lines_range(first, last + Self::CONTEXT_LINES);
        Excerpt {
            name: file.name.clone(),
            text: file.text.get(range.clone()).unwrap_or("").to_string(),
            offset: range.start,
            line: first,
            column: 0,
        }
    }

    /// A window of one long line around `labels`, with `…` where it is cut.
    fn window(
        file: &SourceFile,
        line_no: usize,
        line: std::ops::Range<usize>,
        labels: std::ops::Range<usize>,
    ) -> Self {
        let text = &file.text;
        // Cut the start only where the `…` fits in what is cut, so that it can stand for
        // file bytes before the window (offsets and columns stay those of the file).
        let mut from = labels.start.saturating_sub(Self::WINDOW_MARGIN);
        if from < line.start + Self::ELLIPSIS.len() {
            from = line.start;
        }
        while !text.is_char_boundary(from) {
            from -= 1;
        }
        let mut to = (labels.end + Self::WINDOW_MARGIN).min(line.end);
        while !text.is_char_boundary(to) {
            to += 1;
        }
        let mut excerpt = String::new();
        let mut offset = from;
        let mut column = from - line.start;
        if from > line.start {
            excerpt.push_str(Self::ELLIPSIS);
            offset -= Self::ELLIPSIS.len();
            column -= Self::ELLIPSIS.len();
        }
        excerpt.push_str(text.get(from..to).unwrap_or(""));
        if to < line.end {
            excerpt.push_str(Self::ELLIPSIS);
        }
        Excerpt {
            name: file.name.clone(),
            text: excerpt,
            offset,
            line: line_no,
            column,
        }
    }
}

impl miette::SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let local = SourceSpan::new(span.offset().saturating_sub(self.offset).into(), span.len());
        let inner =
            self.text
                .as_str()
                .read_span(&local, context_lines_before, context_lines_after)?;
        let found = SourceSpan::new(
            (inner.span().offset() + self.offset).into(),
            inner.span().len(),
        );
        // Only the excerpt's first line can start after the file line does.
        let column = if inner.line() == 0 {
            inner.column() + self.column
        } else {
            inner.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            found,
            inner.line() + self.line,
            column,
            inner.line_count(),
        )))
    }
}

impl fmt::Display for MietteView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for MietteView {}

impl miette::Diagnostic for MietteView {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code
            .as_ref()
            .map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

/// Labels grouped into snippets: by file, and within a file by proximity, so that two labels
/// far apart are shown as two short snippets rather than one long one.
fn snippets(d: &Diagnostic, sources: &Sources) -> Vec<Vec<Label>> {
    let mut files: Vec<u32> = Vec::new();
    for l in &d.labels {
        if !files.contains(&l.span.file) {
            files.push(l.span.file);
        }
    }
    let mut out = vec![];
    for f in files {
        let file = sources.get(f);
        let line = |off: u32| file.line_of(off as usize);
        let mut labels: Vec<Label> = d
            .labels
            .iter()
            .filter(|l| l.span.file == f)
            .cloned()
            .collect();
        labels.sort_by_key(|l| l.span.offset);
        // A label on a long line is shown on its own, in a window of that line: in a group,
        // another label could widen the excerpt past what miette lays out (it pads to a label's
        // column with a format width, which panics beyond 65 535).
        let long = |l: &Label| {
            let n = line(l.span.offset);
            file.lines_range(n, n).len() > Excerpt::LONG_LINE
        };
        let mut group: Vec<Label> = vec![];
        for l in labels {
            let far = group.last().is_some_and(|g| {
                line(l.span.offset) > line(g.span.offset + g.span.len) + 4 || long(&l) || long(g)
            });
            if far {
                out.push(std::mem::take(&mut group));
            }
            group.push(l);
        }
        if !group.is_empty() {
            out.push(group);
        }
    }
    out
}

fn view(d: &Diagnostic, sources: &Sources) -> MietteView {
    let severity = match d.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
        Severity::Info => miette::Severity::Advice,
    };
    let in_group = |group: &[Label]| -> (Option<Excerpt>, Vec<LabeledSpan>) {
        let Some(first) = group.first() else {
            return (None, vec![]);
        };
        let f = sources.get(first.span.file);
        let labels = group
            .iter()
            .map(|l| {
                LabeledSpan::new(
                    Some(sources.scrub(&l.text).into_owned()),
                    l.span.offset as usize,
                    l.span.len as usize,
                )
            })
            .collect();
        (Some(Excerpt::around(f, group)), labels)
    };
    let groups = snippets(d, sources);
    let (source, labels) = groups.first().map_or((None, vec![]), |g| in_group(g));
    let related = groups
        .iter()
        .skip(1)
        .map(|g| {
            let (source, labels) = in_group(g);
            MietteView {
                message: format!("…and in {}", sources.get(g[0].span.file).name),
                code: None,
                severity: miette::Severity::Advice,
                help: None,
                source,
                labels,
                related: vec![],
            }
        })
        .collect();
    MietteView {
        message: sources.scrub(&d.message).into_owned(),
        code: d.code.clone(),
        severity,
        help: d.help.as_deref().map(|h| sources.scrub(h).into_owned()),
        source,
        labels,
        related,
    }
}

/// Text for a terminal: every control character but line breaks and tabs — BEL, a C1 control,
/// a bidirectional override, an ESC that does not start a colour (SGR) sequence, or any ESC
/// when `colors` is off — is written as a visible `\u{…}` escape. Reports quote hostile
/// files and packs: they must not clear the screen, retitle the window or write the
/// clipboard (OSC 52).
pub fn terminal_safe(text: &str, colors: bool) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let len = c.len_utf8();
        if c == '\u{1b}' && colors {
            // ESC [ digits and `;` … m: a colour, which the report's own theme writes.
            let body = &rest[1..];
            let params = body.strip_prefix('[').map(|b| {
                b.bytes()
                    .take_while(|b| b.is_ascii_digit() || *b == b';')
                    .count()
            });
            if let Some(n) = params
                && body.as_bytes().get(1 + n) == Some(&b'm')
            {
                out.push_str(&rest[..2 + n + 1]);
                rest = &rest[2 + n + 1..];
                continue;
            }
        }
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
        rest = &rest[len..];
    }
    std::borrow::Cow::Owned(out)
}

/// Render diagnostics for people. `color` follows NO_COLOR and whether stderr is a terminal.
pub fn render_human(diags: &[Diagnostic], sources: &Sources, color: bool) -> String {
    use rayon::prelude::*;
    // A fleet's report has tens of thousands of findings, each laid out on its own: rendered in
    // parallel, a batch at a time (so that only one batch's texts exist beside the report), and
    // joined in order — the text does not depend on the thread count.
    const CHUNK: usize = 32;
    const BATCH: usize = 64 * CHUNK;
    let mut out = String::new();
    for batch in diags.chunks(BATCH) {
        let parts: Vec<String> = batch
            .par_chunks(CHUNK)
            .map(|chunk| {
                let handler = handler(color);
                let mut text = String::new();
                for d in chunk {
                    let v = view(d, sources);
                    if handler.render_report(&mut text, &v).is_err() {
                        text.push_str(&sources.scrub(&d.message));
                    }
                    text.push('\n');
                }
                text
            })
            .collect();
        if out.is_empty() {
            // Reserve for the whole report from the first batch, generously: capacity that is
            // never written costs no memory, while growing by doubling would copy a fleet's
            // tens of megabytes and hold both copies at once.
            let first: usize = parts.iter().map(String::len).sum();
            let per = first / batch.len().max(1) + 1;
            out.reserve(per * diags.len() * 2);
        }
        for p in parts {
            out.push_str(&p);
        }
    }
    out
}

fn handler(color: bool) -> GraphicalReportHandler {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    // Lines wrap at spaces only, and a word longer than a line stays whole: a job name, a
    // config key or a path in a finding is never split across lines (so it can be copied and
    // searched for), and wrapping by Unicode line-break rules was most of the cost of laying
    // out a fleet's findings.
    GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false)
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation)
        .with_break_words(false)
}

/// A span as JSON for machines: file, line, column, byte range.
pub fn span_json(span: Span, sources: &Sources) -> serde_json::Value {
    let f = sources.get(span.file);
    let (line, column) = f.line_col(span.offset as usize);
    serde_json::json!({
        "file": f.name,
        "line": line,
        "column": column,
        "offset": span.offset,
        "length": span.len,
    })
}

/// Diagnostics as JSON for machines.
pub fn render_json(diags: &[Diagnostic], sources: &Sources) -> serde_json::Value {
    serde_json::Value::Array(
        diags
            .iter()
            .map(|d| {
                serde_json::json!({
                    "severity": d.severity,
                    "code": d.code,
                    "message": sources.scrub(&d.message),
                    "help": d.help.as_deref().map(|h| sources.scrub(h)),
                    "labels": d.labels.iter().map(|l| serde_json::json!({
                        "text": sources.scrub(&l.text),
                        "span": span_json(l.span, sources),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_text_is_masked_in_messages_too() {
        let mut s = Sources::default();
        let id = s.add("f", "password=\"hunter2\" pin=42\n");
        s.redact(Span::new(id, 9, 9));
        s.redact(Span::new(id, 23, 2));
        assert_eq!(s.get(id).text, "password=********* pin=**\n");
        assert_eq!(
            s.scrub("bad value `hunter2` (\"hunter2\"), pin 42"),
            "bad value `****` (****), pin 42",
            "quoted or not; literals under 4 bytes are too common to replace"
        );
        assert!(matches!(s.scrub("nothing"), std::borrow::Cow::Borrowed(_)));
    }

    fn sources(text: &str) -> (Sources, u32) {
        let mut s = Sources::default();
        let id = s.add("f.txt", text);
        (s, id)
    }

    /// Line and columns counted from the top, the way the index must agree with.
    fn counted(text: &str, offset: usize) -> (usize, usize, usize) {
        let before = &text[..offset];
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = &text[start..offset];
        (
            before.matches('\n').count() + 1,
            col.chars().count() + 1,
            col.encode_utf16().count() + 1,
        )
    }

    #[test]
    fn columns_count_characters_and_utf16_code_units() {
        // "é" is one character and one UTF-16 unit (2 bytes), "𝄞" one character and two units.
        let (s, id) = sources("ab\né𝄞x");
        let f = s.get(id);
        let x = f.text.find('x').unwrap_or(0);
        assert_eq!(f.line_col(x), (2, 3));
        assert_eq!(f.line_col_utf16(x), (2, 4));
        assert_eq!(f.line_col_utf16(0), (1, 1));
        assert_eq!(f.line_col_utf16(f.text.len()), (2, 5));
    }

    #[test]
    fn the_position_index_agrees_with_counting_from_the_top() {
        // Multi-byte characters straddle the index's 4 KiB blocks; lines both short and long.
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(["a", "é", "𝄞", "中", "b"][i % 5]);
            if i % 7 == 0 || i % 1000 == 999 {
                text.push('\n');
            }
        }
        text.push_str(&"z𝄞".repeat(5000));
        let (s, id) = sources(&text);
        let f = s.get(id);
        for (offset, _) in text.char_indices().step_by(7).chain([(text.len(), ' ')]) {
            let (line, chars, utf16) = counted(&text, offset);
            assert_eq!(f.line_col(offset), (line, chars), "at {offset}");
            assert_eq!(f.line_col_utf16(offset), (line, utf16), "at {offset}");
        }
    }

    #[test]
    fn redacting_a_newline_moves_the_lines_after_it() {
        let mut s = Sources::default();
        let id = s.add("f.txt", "a\nb\nc");
        assert_eq!(s.location(Span::new(id, 4, 1)), "f.txt:3:1");
        s.redact(Span::new(id, 1, 1));
        assert_eq!(s.location(Span::new(id, 4, 1)), "f.txt:2:1");
    }

    /// Render one diagnostic with miette seeing the whole file: how excerpts must look.
    fn rendered_from_whole_file(d: &Diagnostic, sources: &Sources) -> String {
        let mut v = view(d, sources);
        let whole = |e: Option<Excerpt>| {
            e.map(|e| {
                let f = sources
                    .files()
                    .iter()
                    .find(|f| f.name == e.name)
                    .map_or_else(String::new, |f| f.text.clone());
                Excerpt {
                    name: e.name,
                    text: f,
                    offset: 0,
                    line: 0,
                    column: 0,
                }
            })
        };
        v.source = whole(v.source.take());
        for r in &mut v.related {
            r.source = whole(r.source.take());
        }
        let mut out = String::new();
        let _ = handler(false).render_report(&mut out, &v);
        out.push('\n');
        out
    }

    #[test]
    fn excerpts_render_exactly_as_the_whole_file_would() {
        let text: String = (1..=40)
            .map(|i| format!("line {i} = value {i}\n"))
            .collect();
        let (s, id) = sources(&text);
        let at = |line: usize| {
            text.match_indices('\n')
                .nth(line.saturating_sub(2))
                .map_or(0, |(i, _)| i + 1)
        };
        let cases = [
            vec![(at(1), 4)],
            vec![(at(2), 4), (at(3) + 7, 5)],
            vec![(at(20), 4), (at(30), 4)],
            vec![(at(40), 4)],
            vec![(text.len(), 0)],
            vec![(at(10), at(14) - at(10))],
        ];
        for labels in cases {
            let mut d = Diagnostic::error("bad");
            for (offset, len) in labels {
                d = d.with_label(Span::new(id, offset, len), "here");
            }
            assert_eq!(
                render_human(std::slice::from_ref(&d), &s, false),
                rendered_from_whole_file(&d, &s),
            );
        }
    }

    #[test]
    fn any_span_renders_without_panicking() {
        // Spans at and past the end, inside multi-byte characters, on CRLF lines and on a long
        // line: whatever a caller hands in, a report comes out.
        let long = "é".repeat(2000);
        let text = format!("a\r\nb 𝄞 c\r\n{long}\n");
        let (s, id) = sources(&text);
        let n = text.len();
        for (offset, len) in [
            (0, 0),
            (n, 0),
            (n, 5),
            (n + 10, 3),
            (4, 2),
            (9, 1),
            (12, 2000),
            (n - 3, 1),
            (6, 1),
            (n - 2, 1),
        ] {
            let d = Diagnostic::error("bad").with_label(Span::new(id, offset, len), "here");
            let out = render_human(&[d], &s, false);
            assert!(out.contains("bad"), "{offset}+{len}: {out}");
            let _ = s.location(Span::new(id, offset, len));
            let _ = s.get(id).line_col_utf16(offset);
        }
    }

    #[test]
    fn a_long_line_is_shown_as_a_window_around_the_label() {
        let text = format!(
            "first\n{}needle{}\nlast\n",
            "x".repeat(100_000),
            "y".repeat(100_000)
        );
        let (s, id) = sources(&text);
        let at = text.find("needle").unwrap_or(0);
        let d = Diagnostic::error("bad").with_label(Span::new(id, at, 6), "here");
        let out = render_human(&[d], &s, false);
        assert!(out.contains("[f.txt:2:100001]"), "{out}");
        assert!(
            out.contains("…xxx") && out.contains("needleyyy") && out.contains("y…"),
            "{out}"
        );
        let widest = out.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(widest < 2 * Excerpt::LONG_LINE, "{widest}: {out}");
    }
}
