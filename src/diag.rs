//! Source files, spans and diagnostics.
//!
//! Every value flinkgen reads remembers where it came from (a `Span` into a `Sources` entry), so
//! input errors, findings and `explain` can point at the exact text, even across files.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;

/// One file that was read: a profile, a policy pack, a template.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

/// All files read in one run, addressed by index.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> u32 {
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
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
            f.text.replace_range(start..end, &"*".repeat(end - start));
        }
    }
    /// `file:line:col` of a span, for one-line output.
    pub fn location(&self, span: Span) -> String {
        let f = self.get(span.file);
        let before = &f.text[..(span.offset as usize).min(f.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
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
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<MietteView>,
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
        let text = &sources.get(f).text;
        let line = |off: u32| text[..(off as usize).min(text.len())].matches('\n').count();
        let mut labels: Vec<Label> = d
            .labels
            .iter()
            .filter(|l| l.span.file == f)
            .cloned()
            .collect();
        labels.sort_by_key(|l| l.span.offset);
        let mut group: Vec<Label> = vec![];
        for l in labels {
            let far = group
                .last()
                .is_some_and(|g| line(l.span.offset) > line(g.span.offset + g.span.len) + 4);
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
    let in_group = |group: &[Label]| -> (Option<NamedSource<String>>, Vec<LabeledSpan>) {
        let Some(first) = group.first() else {
            return (None, vec![]);
        };
        let f = sources.get(first.span.file);
        let labels = group
            .iter()
            .map(|l| {
                LabeledSpan::new(
                    Some(l.text.clone()),
                    l.span.offset as usize,
                    l.span.len as usize,
                )
            })
            .collect();
        (
            Some(NamedSource::new(f.name.clone(), f.text.clone())),
            labels,
        )
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
        message: d.message.clone(),
        code: d.code.clone(),
        severity,
        help: d.help.clone(),
        source,
        labels,
        related,
    }
}

/// Render diagnostics for people. `color` follows NO_COLOR and whether stderr is a terminal.
pub fn render_human(diags: &[Diagnostic], sources: &Sources, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    for d in diags {
        let v = view(d, sources);
        if handler.render_report(&mut out, &v).is_err() {
            out.push_str(&d.message);
        }
        out.push('\n');
    }
    out
}

/// A span as JSON for machines: file, line, column, byte range.
pub fn span_json(span: Span, sources: &Sources) -> serde_json::Value {
    let f = sources.get(span.file);
    let before = &f.text[..(span.offset as usize).min(f.text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
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
                    "message": d.message,
                    "help": d.help,
                    "labels": d.labels.iter().map(|l| serde_json::json!({
                        "text": l.text,
                        "span": span_json(l.span, sources),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}
