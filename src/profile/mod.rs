//! load: KDL text → typed job and cluster profiles, with a span for every value.
//!
//! Pipeline per file: parse KDL v2 (with a hint when the text is KDL v1) → map each top-level
//! `job` / `cluster` node to JSON guided by the schema → validate against the JSON Schema (the one
//! authority for structure, types and ranges) → deserialise into the typed profile.

pub mod kdl_fast;
pub mod kdl_json;
pub mod types;
pub mod validate;

use std::sync::OnceLock;

use kdl::KdlDocument;
use serde_json::Value;

pub use kdl_json::SpanMap;
use kdl_json::{Converter, SchemaIndex, SchemaNav};
pub use types::*;

use crate::diag::{Diagnostic, ERRORS_PER_UNIT, InputErrors, Sources, Span};

/// A profile together with the spans of its values.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub value: T,
    pub file: u32,
    pub spans: SpanMap,
    /// The span of the top-level node's name (`job "orders"` → `job`).
    pub head: Span,
}

impl<T> Located<T> {
    /// The span of the value at `ptr` (e.g. `/state/size`), or of its closest parent.
    pub fn span(&self, ptr: &str) -> Span {
        self.spans.find(ptr).map_or(self.head, |l| l.value)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Profiles {
    pub jobs: Vec<Located<JobProfile>>,
    pub clusters: Vec<Located<ClusterProfile>>,
}

/// Generate a schema; absent optional fields are simply not required, so `null` is never a valid
/// value (KDL's `#null` is rejected like any other wrong type).
fn generate<T: schemars::JsonSchema>() -> Value {
    let mut v = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    strip_nulls(&mut v);
    v
}

pub(crate) fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(types)) = m.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let t = types[0].clone();
                    m.insert("type".into(), t);
                }
            }
            let any_of_null = m.get("anyOf").and_then(Value::as_array).and_then(|alts| {
                let is_null = |a: &Value| a.get("type").and_then(Value::as_str) == Some("null");
                (alts.len() == 2 && alts.iter().any(is_null))
                    .then(|| alts.iter().find(|a| !is_null(a)).cloned())?
            });
            if let Some(Value::Object(inner)) = any_of_null {
                m.remove("anyOf");
                for (k, val) in inner {
                    m.entry(k).or_insert(val);
                }
            }
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The JSON Schema of a job profile: `schemas/job.schema.json`, which the job validator is
/// generated from and which `tests/schema.rs` keeps equal to [`generated_schema`]`("job")`.
pub fn job_schema() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| built_in_schema(include_str!("../../schemas/job.schema.json")))
}

/// The JSON Schema of a cluster profile: `schemas/cluster.schema.json` (see [`job_schema`]).
pub fn cluster_schema() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| built_in_schema(include_str!("../../schemas/cluster.schema.json")))
}

fn built_in_schema(text: &str) -> Value {
    // Checked in, and tested to parse (and to equal the generated schema): a failure here is a
    // broken build, not bad input. An empty schema would accept anything, so say it loudly.
    serde_json::from_str(text).unwrap_or_else(|e| panic!("built-in profile schema: {e}"))
}

/// The JSON Schema the profile types generate (`flinkgen schema job|cluster` prints it; the
/// checked-in files must equal it).
pub fn generated_schema(kind: &str) -> Option<Value> {
    match kind {
        "job" => Some(generate::<JobProfile>()),
        "cluster" => Some(generate::<ClusterProfile>()),
        _ => None,
    }
}

// The profile validators, generated at compile time from the checked-in schemas: compiling a
// schema at start-up (and first the meta-schema that checks it) was about a third of the
// instructions of a one-profile build. The options are `validate::build_validator`'s, which the
// tests below compare them with.
// rustfmt re-indents an attribute's arguments inside a macro on every run (never settling).
#[rustfmt::skip]
macro_rules! profile_validator {
    ($name:ident, $path:literal) => {
        #[jsonschema::validator(
            path = $path,
            validate_formats = true,
            formats = {
                "size" => crate::profile::validate::is_size,
                "duration" => crate::profile::validate::is_duration,
            },
            pattern_options = { engine = regex },
        )]
        struct $name;
    };
}
profile_validator!(JobValidator, "schemas/job.schema.json");
profile_validator!(ClusterValidator, "schemas/cluster.schema.json");

/// What loading a top-level node of one kind (`job`, `cluster`) takes: its schema, its validator
/// and the converter's index of the schema (built once per process).
#[derive(Clone, Copy)]
struct NodeKind {
    schema: &'static Value,
    check: validate::SchemaCheck,
    index: &'static SchemaIndex<'static>,
}

fn node_kind(kind: &str) -> Option<NodeKind> {
    static JOB: OnceLock<SchemaIndex<'static>> = OnceLock::new();
    static CLUSTER: OnceLock<SchemaIndex<'static>> = OnceLock::new();
    let (schema, check, index) = match kind {
        "job" => (
            job_schema(),
            validate::SchemaCheck {
                is_valid: JobValidator::is_valid,
                iter_errors: JobValidator::iter_errors,
            },
            &JOB,
        ),
        "cluster" => (
            cluster_schema(),
            validate::SchemaCheck {
                is_valid: ClusterValidator::is_valid,
                iter_errors: ClusterValidator::iter_errors,
            },
            &CLUSTER,
        ),
        _ => return None,
    };
    let index = index.get_or_init(|| SchemaIndex::new(SchemaNav { root: schema }));
    Some(NodeKind {
        schema,
        check,
        index,
    })
}

/// The largest profile or pack file read, in bytes. Real profiles are a few KiB; a fleet is a
/// directory of files, which has no limit, so one huge file is a mistake or an attack. The
/// limit is fixed (no flag) so that a build's outcome does not depend on how it was invoked.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// The deepest `{ … }` nesting accepted. Profiles nest three levels and packs four; the KDL
/// parser recurses per level, so an unbounded depth would overflow the stack.
pub const MAX_DEPTH: usize = 64;

/// Read a profile or pack, refusing files over [`MAX_FILE_BYTES`] without reading them whole.
pub fn read_bounded(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = open_regular(path)?;
    // Sized from the file's length (a fleet reads thousands): without the hint, reading through
    // `take` starts with 32-byte probes, seven reads for a 3 KB profile instead of two. The
    // length only sizes the buffer; `take` still bounds what is read, should the file grow.
    let len = file.metadata().map_or(0, |m| m.len());
    let mut text = String::with_capacity(len.min(MAX_FILE_BYTES as u64 + 1) as usize + 1);
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_string(&mut text)?;
    if text.len() > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the file is larger than {} MiB, the most flinkgen reads from one file; split it (a directory may hold any number of files)",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        ));
    }
    Ok(text)
}

/// Open a file to read, refusing anything but a regular file: a FIFO (opened without blocking,
/// then refused) would wait for a writer forever, a device (`/dev/zero`) never ends.
pub fn open_regular(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    if file.metadata()?.is_file() {
        Ok(file)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a pipe, socket or device); flinkgen reads files",
        ))
    }
}

/// How many `/-` commented-out blocks may be open inside each other.
pub const MAX_SLASHDASH_DEPTH: usize = 4;

/// Where a `/-` stands while its target is read: not seen yet, or seen and the target started.
#[derive(Clone, Copy)]
enum Slashdash {
    None,
    Pending(usize),
    InNode(usize),
}

/// The length of the KDL newline at `b[i..]`, or 0. KDL v2 ends a line at CR, LF, CRLF, NEL,
/// VT, FF, LS and PS (the kdl crate's `NEWLINES`): `precheck` must end comments and single-line
/// strings exactly where the parser does, or braces it skips would nest unchecked in the parser.
fn newline_len(b: &[u8], i: usize) -> usize {
    match b[i..] {
        [b'\r', b'\n', ..] => 2,
        [b'\r' | b'\n' | 0x0B | 0x0C, ..] => 1,
        [0xC2, 0x85, ..] => 2,
        [0xE2, 0x80, 0xA8 | 0xA9, ..] => 3,
        _ => 0,
    }
}

/// The length of the KDL space (tab, space or a Unicode space: the kdl crate's
/// `UNICODE_SPACES`) at `b[i..]`, or 0.
fn space_len(b: &[u8], i: usize) -> usize {
    match b[i..] {
        [b' ' | b'\t', ..] => 1,
        [0xC2, 0xA0, ..] => 2,
        [0xE1, 0x9A, 0x80, ..] | [0xE2, 0x80, 0x80..=0x8A | 0xAF, ..] | [0xE2, 0x81, 0x9F, ..] => 3,
        [0xE3, 0x80, 0x80, ..] => 3,
        _ => 0,
    }
}

/// The index after the block comment that starts at `b[i..]` (`/*`); block comments nest in KDL.
fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut level = 0usize;
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            level += 1;
            i += 2;
        } else if b[i..].starts_with(b"*/") {
            level -= 1;
            i += 2;
            if level == 0 {
                break;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// Cheap checks before the parser sees the text: size, brace nesting outside strings and
/// comments, and how deeply `/-` comments nest. Returns the span to point at.
fn precheck(text: &str, file: u32) -> Result<(), Diagnostic> {
    if text.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::error(format!(
            "file is {} bytes; flinkgen reads files of at most {} MiB",
            text.len(),
            MAX_FILE_BYTES / (1024 * 1024)
        ))
        .with_label(Span::new(file, 0, 0), "this file")
        .with_help("split it: pass a directory of profile files (any number of them)"));
    }
    let b = text.as_bytes();
    let mut i = 0;
    // Open `{` blocks, each marked whether it belongs to a slashdashed (`/-`) node or is a
    // slashdashed children block, and where the `/-` stands; `slashdash` is a `/-` whose target
    // has not reached its `{` (or its end) yet.
    let mut open: Vec<Option<usize>> = vec![];
    let mut slashdash = Slashdash::None;
    while i < b.len() {
        // Most of a file is names, numbers and blanks, which nothing below treats specially: a
        // name or number only moves a pending `/-` into its node.
        if b[i].is_ascii_alphanumeric() || matches!(b[i], b'-' | b'_' | b'.' | b'=' | b':') {
            if let Slashdash::Pending(at) = slashdash {
                slashdash = Slashdash::InNode(at);
            }
            i += 1;
            continue;
        }
        if matches!(b[i], b' ' | b'\t') {
            i += 1;
            continue;
        }
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'-') => {
                slashdash = Slashdash::Pending(i);
                i += 2;
                continue;
            }
            b'\\' => {
                // A line continuation: the node goes on after the newline. Only blanks and
                // comments may come between; anything else is read as it stands, so that no
                // brace after a stray `\` goes uncounted.
                i += 1;
                loop {
                    while i < b.len() && matches!(b[i], b' ' | b'\t') {
                        i += 1;
                    }
                    if b[i..].starts_with(b"/*") {
                        i = skip_block_comment(b, i);
                    } else {
                        break;
                    }
                }
                if b[i..].starts_with(b"//") {
                    while i < b.len() && newline_len(b, i) == 0 {
                        i += 1;
                    }
                }
                if i < b.len() {
                    i += newline_len(b, i);
                }
                continue;
            }
            _ if newline_len(b, i) > 0 || b[i] == b';' => {
                if let Slashdash::InNode(_) = slashdash {
                    slashdash = Slashdash::None;
                }
            }
            b' ' | b'\t' => {}
            _ => {
                if let Slashdash::Pending(at) = slashdash
                    && b[i] != b'{'
                {
                    slashdash = Slashdash::InNode(at);
                }
            }
        }
        match b[i] {
            b'"' => {
                // A quoted string (escapes skipped), or a multi-line `"""` one.
                let triple = b[i..].starts_with(b"\"\"\"");
                i += if triple { 3 } else { 1 };
                while i < b.len() {
                    // Plain string bytes first: no escape, no quote, no start of a newline.
                    if !matches!(
                        b[i],
                        b'\\' | b'"' | b'\r' | b'\n' | 0x0B | 0x0C | 0xC2 | 0xE2
                    ) {
                        i += 1;
                        continue;
                    }
                    if b[i] == b'\\' {
                        // An escaped character, or a whitespace escape: `\` and every space
                        // and newline after it (newlines too in a single-line string).
                        i += 1;
                        let start = i;
                        while i < b.len() && (newline_len(b, i) > 0 || space_len(b, i) > 0) {
                            i += newline_len(b, i).max(space_len(b, i));
                        }
                        if i == start {
                            i += 1;
                        }
                        continue;
                    }
                    // A single-line string cannot hold a newline: the parser reads the rest as
                    // nodes after reporting it, and so does this count.
                    if !triple && newline_len(b, i) > 0 {
                        break;
                    }
                    if b[i] == b'"' && (!triple || b[i..].starts_with(b"\"\"\"")) {
                        i += if triple { 3 } else { 1 };
                        break;
                    }
                    i += 1;
                }
                continue;
            }
            b'#' if b.get(i + 1).is_some_and(|c| *c == b'"' || *c == b'#') => {
                // A raw string: #"…"#, ##"…"##, … up to the same number of hashes.
                let hashes = b[i..].iter().take_while(|c| **c == b'#').count();
                if b.get(i + hashes) != Some(&b'"') {
                    i += hashes;
                    continue;
                }
                let triple = b[i + hashes..].starts_with(b"\"\"\"");
                let mut close = vec![b'"'];
                close.extend(std::iter::repeat_n(b'#', hashes));
                i += hashes + 1;
                while i < b.len()
                    && !b[i..].starts_with(&close)
                    && (triple || newline_len(b, i) == 0)
                {
                    i += 1;
                }
                if i < b.len() && !triple && newline_len(b, i) > 0 {
                    continue;
                }
                i += close.len();
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && newline_len(b, i) == 0 {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(b, i);
                continue;
            }
            b'{' => {
                let slashed = match slashdash {
                    Slashdash::Pending(at) | Slashdash::InNode(at) => Some(at),
                    Slashdash::None => None,
                };
                slashdash = Slashdash::None;
                open.push(slashed);
                if open.len() > MAX_DEPTH {
                    return Err(Diagnostic::error(format!(
                        "nesting deeper than {MAX_DEPTH} levels"
                    ))
                    .with_label(Span::new(file, i, 1), "too deep")
                    .with_help("profiles nest three levels (job → security → password); check for unbalanced braces"));
                }
                if let Some(at) = slashed
                    && open.iter().flatten().count() > MAX_SLASHDASH_DEPTH
                {
                    // The kdl crate's parser takes time exponential in this depth
                    // (kdl-org/kdl-rs#177): 14 levels take a second, 30 would take hours.
                    return Err(Diagnostic::error(format!(
                        "`/-` comments nested more than {MAX_SLASHDASH_DEPTH} deep"
                    ))
                    .with_label(Span::new(file, at, 2), "one commented-out block too deep")
                    .with_help("delete commented-out blocks instead of nesting them, or comment them out with `/* … */`"));
                }
            }
            b'}' => {
                open.pop();
                slashdash = Slashdash::None;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Parse KDL v2, turning parser diagnostics into ours (deduplicated by span) and adding a hint
/// when the text parses as KDL v1. Size and nesting are checked first (`precheck`).
pub fn parse_kdl(sources: &Sources, file: u32) -> Result<KdlDocument, InputErrors> {
    parse_kdl_text(&sources.get(file).text, file)
}

/// [`parse_kdl`] of a text that is (or will be) file `file` of the run's sources.
pub fn parse_kdl_text(text: &str, file: u32) -> Result<KdlDocument, InputErrors> {
    precheck(text, file)?;
    // The fast reader covers what profiles and packs are written in; anything else, and every
    // error, goes through the kdl crate.
    if let Some(doc) = kdl_fast::parse(text) {
        return Ok(doc);
    }
    // The kdl crate's parser takes time exponential in nested `/-` on some broken files
    // (kdl-org/kdl-rs#177: a 1.7 KB fuzz input took 5 s). So a file with `/-` is first parsed
    // with every `/-` blanked (same offsets, nothing commented out): syntax errors are reported
    // from that parse. Only a file that reads cleanly without them is parsed as written, where
    // `precheck` has bounded their nesting.
    if text.contains("/-") {
        let uncommented = text.replace("/-", "  ");
        if let Err(e) = parse_v2_on_a_deep_stack(&uncommented, file)? {
            return Err(syntax_errors(e, text, file));
        }
    }
    parse_v2_on_a_deep_stack(text, file)?.map_err(|e| syntax_errors(e, text, file))
}

/// Stack for one level of the kdl crate's parser, which recurses once per `{` it opens (measured:
/// 3 000 levels fit in 52 MiB optimised; unoptimised frames are ~130 KiB).
const KDL_STACK_PER_LEVEL: usize = if cfg!(debug_assertions) {
    256 << 10
} else {
    16 << 10
};
/// The most `{` a file the fast reader declines may hold. Real profiles and packs have fewer than
/// ten; past a few thousand, the kdl crate's error recovery on deeply nested broken text takes
/// seconds and gigabytes (65 000 levels: 22 GB before the kernel killed it).
const KDL_MAX_BRACES: usize = 4096;

/// The kdl crate's parse, on a thread whose stack holds one level per `{` in the text. `precheck`
/// bounds nesting as it reads KDL's strings and comments, but the parser's error recovery need
/// not read a broken file the same way (a comment ended by a form feed once hid 100 000 braces
/// from it): counting every `{`, whatever it is in, bounds the parser's depth for any text.
fn parse_v2_on_a_deep_stack(
    text: &str,
    file: u32,
) -> Result<Result<KdlDocument, kdl::KdlError>, InputErrors> {
    let braces = text.bytes().filter(|b| *b == b'{').count();
    if braces > KDL_MAX_BRACES {
        return Err(Diagnostic::error(format!(
            "{braces} `{{` in a file that is not plain KDL: flinkgen hands at most {KDL_MAX_BRACES} to the full KDL parser"
        ))
        .with_label(Span::new(file, 0, 0), "this file")
        .with_help("profiles and packs hold a few dozen blocks: check for a stray quote, comment or brace")
        .into());
    }
    let stack = (4 << 20) + braces * KDL_STACK_PER_LEVEL;
    std::thread::scope(|scope| {
        let parser = std::thread::Builder::new()
            .stack_size(stack)
            .spawn_scoped(scope, || KdlDocument::parse_v2(text))
            .map_err(|e| Diagnostic::error(format!("cannot start the KDL parser: {e}")))?;
        parser
            .join()
            .map_err(|_| Diagnostic::error("internal error: the KDL parser panicked").into())
    })
}

/// The kdl crate's syntax errors as ours, deduplicated by span, with a hint for KDL v1 files.
fn syntax_errors(e: kdl::KdlError, text: &str, file: u32) -> InputErrors {
    // A v1 file fails where it writes a bare keyword or a v1 raw string. (The kdl crate's
    // own v1 parser is not asked: it panics on some inputs — `(null`, a fuzz finding.)
    let looks_v1 = |span: miette::SourceSpan| {
        let at = text.get(span.offset()..).unwrap_or("");
        ["true", "false", "null", "r\"", "r#"]
            .iter()
            .any(|w| at.starts_with(w))
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = vec![];
    // Broken text can make thousands (4 000 nested unclosed blocks: 8 000, each underlining to
    // the end of the line — a gigabyte of report): the first ones say what is wrong.
    let mut rest: Option<(usize, Span)> = None;
    for d in e.diagnostics {
        if !seen.insert((d.span.offset(), d.span.len())) {
            continue;
        }
        if out.len() == ERRORS_PER_UNIT {
            let (n, _) = rest.get_or_insert((0, Span::from_miette(file, d.span)));
            *n += 1;
            continue;
        }
        let msg = d.message.clone().unwrap_or_else(|| "invalid KDL".into());
        let mut diag = Diagnostic::error(format!("KDL syntax error: {msg}")).with_label(
            Span::from_miette(file, d.span),
            d.label.clone().unwrap_or_else(|| "here".into()),
        );
        let help = if looks_v1(d.span) {
            Some("this file looks like KDL v1; flinkgen reads KDL v2: write booleans and null as #true, #false, #null, and quote strings that are not identifiers".to_string())
        } else {
            d.help.clone()
        };
        if let Some(h) = help {
            diag = diag.with_help(h);
        }
        out.push(diag);
    }
    if let Some((n, from)) = rest {
        out.push(crate::diag::not_checked(n, "KDL syntax errors", from));
    }
    if out.is_empty() {
        out.push(
            Diagnostic::error("KDL syntax error").with_label(Span::new(file, 0, 0), "in this file"),
        );
    }
    InputErrors(out)
}

/// Whether a key names a credential (`sasl.jaas.config`, `ssl.key.password`, `s3.secret-key`,
/// `basic.auth.user.info`, an Azure storage account key or SAS token, a metrics reporter's API
/// key, a client's PEM private key …): its value must be a reference, never a literal.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        // misspelt: a key with a typo is still a credential in a report
        "passwd",
        "pasword",
        "pwd",
        "secret",
        "jaas",
        "token",
        "credential",
        "access-key",
        "access.key",
        "user.info",
        "private",
        // fs.azure.account.key.<account>… (not fs.azure.account.keyprovider…, a class name)
        "account.key.",
        // fs.azure.sas.<container>.<account>…
        ".sas.",
        // metrics.reporter.dghttp.apikey and the like
        "apikey",
        "api-key",
        "api.key",
        "api_key",
    ]
    .iter()
    .any(|w| k.contains(w))
        || k == "ssl.keystore.key"
}

/// The byte ranges of credentials written inside a text: the value after a credential-like
/// key and `=` or `:` — `-Djavax.net.ssl.keyStorePassword=…` in JVM options, `password="…"`
/// in a JAAS line, a commented-out `# ssl.key.password: …` — unless it is a reference. A
/// value ends at its closing quote, or unquoted at a blank, `;`, `,` or the end of the line.
pub fn embedded_credentials(text: &str) -> Vec<std::ops::Range<usize>> {
    let is_key_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    let bytes = text.as_bytes();
    let mut out = vec![];
    let mut line_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            line_start = i + 1;
            continue;
        }
        if b != b'=' && b != b':' {
            continue;
        }
        let key_end = bytes[line_start..i]
            .iter()
            .rposition(|b| !b.is_ascii_whitespace() && *b != b'"' && *b != b'\'')
            .map_or(line_start, |p| line_start + p + 1);
        let key_start = bytes[line_start..key_end]
            .iter()
            .rposition(|b| !is_key_byte(*b))
            .map_or(line_start, |p| line_start + p + 1);
        if key_start == key_end || !is_secret_key(&text[key_start..key_end]) {
            continue;
        }
        let mut start = i + 1;
        while bytes.get(start).is_some_and(|b| *b == b' ' || *b == b'\t') {
            start += 1;
        }
        let end = match bytes.get(start) {
            Some(q @ (b'"' | b'\'')) => {
                start += 1;
                bytes[start..]
                    .iter()
                    .position(|b| b == q || *b == b'\n')
                    .map_or(bytes.len(), |p| start + p)
            }
            _ => bytes[start..]
                .iter()
                .position(|b| b.is_ascii_whitespace() || matches!(b, b';' | b','))
                .map_or(bytes.len(), |p| start + p),
        };
        let value = &text[start..end];
        if !value.is_empty() && !is_reference_only(value) {
            out.push(start..end);
        }
    }
    // A URI's password: `scheme://user:password@host/…`.
    let mut from = 0;
    while let Some(at) = text[from..].find("://") {
        let authority_start = from + at + 3;
        let authority_end = text[authority_start..]
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .map_or(text.len(), |p| authority_start + p);
        let authority = &text[authority_start..authority_end];
        if let Some(userinfo_len) = authority.rfind('@')
            && let Some(colon) = colon_outside_references(&authority[..userinfo_len])
        {
            let password = authority_start + colon + 1..authority_start + userinfo_len;
            if !password.is_empty() && !is_reference_only(&text[password.clone()]) {
                out.push(password);
            }
        }
        from = authority_end.max(authority_start);
    }
    // A host list's `user:password@host:port` (no scheme).
    let mut offset = 0;
    for token in text.split_inclusive(|c: char| c == ',' || c.is_whitespace()) {
        let t = token.trim_end_matches(|c: char| c == ',' || c.is_whitespace());
        if !t.contains("://")
            && let Some(at) = t.rfind('@')
            && let Some(colon) = colon_outside_references(&t[..at])
            && colon + 1 < at
            && !is_reference_only(&t[colon + 1..at])
        {
            out.push(offset + colon + 1..offset + at);
        }
        offset += token.len();
    }
    out.sort_by_key(|r| r.start);
    out.dedup();
    out
}

/// The first `:` of a URI's user info that is not inside a `${…}` reference.
fn colon_outside_references(userinfo: &str) -> Option<usize> {
    let mut in_reference = false;
    let bytes = userinfo.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'$' if bytes.get(i + 1) == Some(&b'{') => in_reference = true,
            b'}' => in_reference = false,
            b':' if !in_reference => return Some(i),
            _ => {}
        }
    }
    None
}

/// Whether a credential value holds references only: the whole value is one config-provider
/// placeholder (`${dir:/path:key}`, `${env:VAR}`, `${file:…}`), or — for a JAAS line — every
/// option whose name is credential-like is one.
pub fn is_reference_only(value: &str) -> bool {
    let v = value.trim();
    let placeholder = |s: &str| {
        s.strip_prefix("${")
            .and_then(|r| r.strip_suffix('}'))
            .is_some_and(|r| {
                r.split_once(':').is_some_and(|(p, rest)| {
                    !p.is_empty()
                        && p.chars().all(|c| c.is_ascii_alphanumeric())
                        && !rest.is_empty()
                        && !rest.contains(['{', '}', '"', '\''])
                })
            })
    };
    if placeholder(v) {
        return true;
    }
    if !v.contains("LoginModule") {
        return false;
    }
    // JAAS: `Module required opt="value" opt2="value";` — every credential-like option a
    // placeholder. Anything that does not parse that way is treated as a literal.
    let Some((_, options)) = v.split_once(char::is_whitespace) else {
        return false;
    };
    let mut rest = options.trim();
    rest = rest
        .strip_prefix("required")
        .or_else(|| rest.strip_prefix("requisite"))
        .or_else(|| rest.strip_prefix("sufficient"))
        .or_else(|| rest.strip_prefix("optional"))
        .unwrap_or(rest)
        .trim();
    loop {
        rest = rest.trim_start();
        if rest == ";" || rest.is_empty() {
            return rest == ";";
        }
        let Some((name, after)) = rest.split_once('=') else {
            return false;
        };
        let name = name.trim();
        let Some(after) = after.trim_start().strip_prefix('"') else {
            return false;
        };
        let Some((val, tail)) = after.split_once('"') else {
            return false;
        };
        if is_secret_key(name) && !placeholder(val) {
            return false;
        }
        rest = tail;
    }
}

/// The literal credentials a policy pack's `set "doc" "key" "value"` nodes hold, at any depth:
/// the values to mask (and refuse) before anything of the pack is reported.
pub fn pack_secret_spans(doc: &KdlDocument, file: u32) -> Vec<Span> {
    fn walk(nodes: &[kdl::KdlNode], file: u32, out: &mut Vec<Span>) {
        for node in nodes {
            if node.name().value() == "set" {
                let args: Vec<_> = node
                    .entries()
                    .iter()
                    .filter(|e| e.name().is_none())
                    .collect();
                if let [_, key, value, ..] = args.as_slice() {
                    let (key, text) = (key.value().as_string(), value.value().as_string());
                    // (A non-string value of a credential key is a literal too.)
                    let literal = match text {
                        Some(t) => credential_refusal(false, key.unwrap_or(""), t).is_some(),
                        None => key.is_some_and(is_secret_key),
                    };
                    if literal {
                        out.push(value_span(file, value));
                    }
                }
            }
            if let Some(children) = node.children() {
                walk(children.nodes(), file, out);
            }
        }
    }
    let mut out = vec![];
    walk(doc.nodes(), file, &mut out);
    out
}

/// A literal credential to mask in a profile's text before it is loaded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SecretSpan {
    /// A credential's own value: resolve refuses it (the masked `****` is a literal too).
    Literal(Span),
    /// A value that holds a credential inside (`-Djavax.net.ssl.keyStorePassword=…`): once
    /// masked nothing shows it was one, so the loader reports it ([`embedded_credential_error`]).
    Embedded(Span),
}

impl SecretSpan {
    pub fn span(self) -> Span {
        match self {
            SecretSpan::Literal(s) | SecretSpan::Embedded(s) => s,
        }
    }
}

/// Why flinkgen will not write a value of `key` (in Flink's configuration or not): the one
/// rule for credentials that profiles, overrides and packs share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialRefusal {
    /// A reference in Flink's configuration, which resolves none.
    FlinkReference,
    /// A credential key holding something other than references.
    Literal,
    /// Another key's value holding a credential inside (`-D…Password=…`, `user:pw@`).
    Embedded,
}

pub fn credential_refusal(in_flink: bool, key: &str, value: &str) -> Option<CredentialRefusal> {
    if is_secret_key(key) {
        if in_flink && value.contains("${") {
            Some(CredentialRefusal::FlinkReference)
        } else if !is_reference_only(value) {
            Some(CredentialRefusal::Literal)
        } else {
            None
        }
    } else if !embedded_credentials(value).is_empty() {
        Some(CredentialRefusal::Embedded)
    } else {
        None
    }
}

/// The error for a literal credential: `subject` names it (`` `ssl.key.password` ``,
/// `` broker `…` ``), the label points at its (masked) value.
pub fn literal_secret_error(subject: &str, value: Span, help: &str) -> Diagnostic {
    Diagnostic::error(format!(
        "{subject} holds a literal secret; flinkgen writes credentials only as references"
    ))
    .with_label(value, "a literal secret (not shown)")
    .with_help(help)
}

/// The error for a value that holds a credential inside.
pub fn embedded_credential_error(span: Span) -> Diagnostic {
    Diagnostic::error("this value holds a literal credential inside it; flinkgen writes credentials only as references")
        .with_label(span, "holds a credential (not shown)")
        .with_help("move the credential out of this value: a Kafka client or broker setting can be its own line with a `${env:…}`/`${dir:…}` reference; for the JVM, give the pods a cloud identity or mount the key store from a Kubernetes Secret")
}

/// The spans of literal secrets in one profile file: arguments or unknown properties of
/// `security { username … password … }`, values of overrides and broker settings whose key
/// names a credential and that are not references, and any string that holds a credential
/// inside. Masked in the sources (`Sources::redact`) before any report.
pub fn secret_spans(doc: &KdlDocument, file: u32) -> Vec<SecretSpan> {
    let mut out = credential_keys(doc, file);
    let mut seen: std::collections::HashSet<Span> = out.iter().map(|s| s.span()).collect();
    // Any other string that holds a credential inside: a JVM option, a program argument
    // (`--password=…`), a URI's `user:password@`, anywhere in the file.
    fn embedded(
        nodes: &[kdl::KdlNode],
        file: u32,
        seen: &mut std::collections::HashSet<Span>,
        out: &mut Vec<SecretSpan>,
    ) {
        for node in nodes {
            // `args "--password" "…"`: the argument after a flag that names a credential.
            let args: Vec<_> = node
                .entries()
                .iter()
                .filter(|e| e.name().is_none())
                .collect();
            for pair in args.windows(2) {
                let span = value_span(file, pair[1]);
                if pair[0]
                    .value()
                    .as_string()
                    .is_some_and(|f| f.starts_with('-') && !f.contains('=') && is_secret_key(f))
                    && seen.insert(span)
                {
                    out.push(SecretSpan::Embedded(span));
                }
            }
            for e in node.entries() {
                let span = value_span(file, e);
                if e.value()
                    .as_string()
                    .is_some_and(|v| !embedded_credentials(v).is_empty())
                    && seen.insert(span)
                {
                    out.push(SecretSpan::Embedded(span));
                }
            }
            if let Some(children) = node.children() {
                embedded(children.nodes(), file, seen, out);
            }
        }
    }
    embedded(doc.nodes(), file, &mut seen, &mut out);
    out
}

/// The values of credential keys and `security` credentials that are not references.
fn credential_keys(doc: &KdlDocument, file: u32) -> Vec<SecretSpan> {
    let mut out = vec![];
    for top in doc.nodes() {
        let Some(children) = top.children() else {
            continue;
        };
        for node in children.nodes() {
            match node.name().value() {
                "security" => {
                    for cred in node.children().map(|c| c.nodes()).unwrap_or_default() {
                        for e in cred.entries() {
                            // A reference is shaped like one; anything else may be the secret.
                            let is_ref = e.name().is_some_and(|n| {
                                let v = e.value().as_string().unwrap_or("");
                                match n.value() {
                                    "env" => is_env_name(v),
                                    "secret" => is_object_name(v),
                                    "key" => is_secret_key_name(v),
                                    _ => false,
                                }
                            });
                            if !is_ref {
                                out.push(SecretSpan::Literal(value_span(file, e)));
                            }
                        }
                        // Nothing below a credential is a reference (`password { value "…" }`).
                        mask_all_below(cred, file, &mut out);
                    }
                }
                // `override TARGET KEY VALUE` and `broker KEY VALUE`, each part positional or
                // named (`value="…"`).
                name @ ("override" | "broker") => {
                    let parts: &[&str] = if name == "override" {
                        &["target", "key", "value"]
                    } else {
                        &["key", "value"]
                    };
                    let mut positional = node.entries().iter().filter(|e| e.name().is_none());
                    let mut part = |want: &str| {
                        node.entries()
                            .iter()
                            .rfind(|e| e.name().is_some_and(|n| n.value() == want))
                            .or_else(|| positional.next())
                    };
                    let found: Vec<_> = parts.iter().map(|p| part(p)).collect();
                    if let [.., Some(key), Some(value)] = found.as_slice()
                        && key.value().as_string().is_some_and(is_secret_key)
                        && !value.value().as_string().is_some_and(is_reference_only)
                    {
                        out.push(SecretSpan::Literal(value_span(file, value)));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Mask every entry of every node below `node`.
fn mask_all_below(node: &kdl::KdlNode, file: u32, out: &mut Vec<SecretSpan>) {
    for child in node.children().map(|c| c.nodes()).unwrap_or_default() {
        out.extend(
            child
                .entries()
                .iter()
                .map(|e| SecretSpan::Literal(value_span(file, e))),
        );
        mask_all_below(child, file, out);
    }
}

/// `env=` of a credential reference: an environment variable's name (the schema's pattern).
fn is_env_name(v: &str) -> bool {
    v.len() <= 128
        && v.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_uppercase() || b == b'_')
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// `secret=`: a Kubernetes object name (the schema's pattern).
fn is_object_name(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 253
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && v.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && v.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
}

/// `key=`: a key within a Secret (the schema's pattern).
fn is_secret_key_name(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 253
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// The span of an entry's value: the whole entry for an argument, the part after `=` for a
/// property. Masking covers only the value, so that the masked text parses to the same nodes
/// (the file is parsed again after masking: `value=****` stays a property, `****` an argument).
fn value_span(file: u32, entry: &kdl::KdlEntry) -> Span {
    let whole = Span::from_miette(file, entry.span());
    match entry.name() {
        None => whole,
        Some(name) => {
            let name = Span::from_miette(file, name.span());
            Span {
                file,
                offset: name.offset + name.len + 1,
                len: whole.len.saturating_sub(name.len + 1),
            }
        }
    }
}

/// A node's conversion and schema errors together, but only one per place (each schema error is
/// compared with those kept), and at most ERRORS_PER_UNIT of them.
fn one_per_place(
    mut node_errors: Vec<Diagnostic>,
    schema_errors: Vec<Diagnostic>,
    kind: &str,
    head: Span,
) -> Vec<Diagnostic> {
    let mut more = node_errors.len() > ERRORS_PER_UNIT;
    node_errors.truncate(ERRORS_PER_UNIT);
    for e in schema_errors {
        if node_errors.len() == ERRORS_PER_UNIT {
            more = true;
            break;
        }
        let overlaps = |a: Span, b: Span| {
            a.file == b.file
                && a.offset < b.offset + b.len.max(1)
                && b.offset < a.offset + a.len.max(1)
        };
        let dup = node_errors.iter().any(|c| {
            c.labels
                .iter()
                .any(|cl| e.labels.iter().any(|el| overlaps(cl.span, el.span)))
        });
        if !dup {
            node_errors.push(e);
        }
    }
    if more {
        node_errors.push(
            Diagnostic::error(format!(
                "more errors in this `{kind}` are not shown after the first {ERRORS_PER_UNIT}"
            ))
            .with_label(head, "in this node")
            .with_help("fix the errors above and run again"),
        );
    }
    node_errors
}

/// Load every `job` and `cluster` node of one file.
pub fn load_file(sources: &Sources, file: u32, into: &mut Profiles) -> Result<(), InputErrors> {
    let doc = parse_kdl(sources, file)?;
    load_doc(&doc, file, into)
}

/// [`load_file`] of a file already parsed.
pub fn load_doc(doc: &KdlDocument, file: u32, into: &mut Profiles) -> Result<(), InputErrors> {
    let mut errors = vec![];
    for node in doc.nodes() {
        let kind = node.name().value();
        let head = Span::from_miette(file, node.name().span());
        let Some(NodeKind {
            schema,
            check,
            index,
        }) = node_kind(kind)
        else {
            let mut d = Diagnostic::error(format!("unknown top-level node `{kind}`"))
                .with_label(head, "expected `job` or `cluster`");
            d = match validate::did_you_mean(kind, ["job", "cluster"]) {
                Some(c) => d.with_help(format!("did you mean `{c}`?")),
                None => d.with_help(
                    "a profile file holds `job \"name\" { … }` and `cluster \"name\" { … }` nodes",
                ),
            };
            errors.push(d);
            continue;
        };
        let nav = SchemaNav { root: schema };
        let mut conv = Converter::new(file, nav, index);
        let json = conv.node(node, Some(schema), "");
        conv.spans.freeze();
        let schema_errors = if (check.is_valid)(&json) {
            vec![]
        } else {
            let found = (check.iter_errors)(&json);
            validate::validate(found, nav, schema, &json, &conv.spans, head, kind)
        };
        let node_errors =
            one_per_place(std::mem::take(&mut conv.errors), schema_errors, kind, head);
        if !node_errors.is_empty() {
            errors.extend(node_errors);
            continue;
        }
        let result = match kind {
            "job" => serde_json::from_value::<JobProfile>(json).map(|value| {
                into.jobs.push(Located {
                    value,
                    file,
                    spans: std::mem::take(&mut conv.spans),
                    head,
                })
            }),
            _ => serde_json::from_value::<ClusterProfile>(json).map(|value| {
                into.clusters.push(Located {
                    value,
                    file,
                    spans: std::mem::take(&mut conv.spans),
                    head,
                })
            }),
        };
        if let Err(e) = result {
            errors.push(
                Diagnostic::error(format!("invalid `{kind}`: {e}"))
                    .with_label(head, "in this node"),
            );
        }
    }
    if doc.nodes().is_empty() {
        errors.push(
            Diagnostic::error("the file holds no `job` or `cluster` node")
                .with_label(Span::new(file, 0, 0), "empty profile")
                .with_help(
                    "start with `job \"name\" { … }` or run `flinkgen schema` to see the language",
                ),
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(InputErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn credential_keys_are_recognised_and_their_neighbours_are_not() {
        for key in [
            "sasl.jaas.config",
            "ssl.key.password",
            "ssl.keystore.key",
            "s3.secret-key",
            "s3.access-key",
            "fs.azure.account.key.acme.blob.core.windows.net",
            "fs.azure.sas.logs.acme.blob.core.windows.net",
            "metrics.reporter.dghttp.apikey",
            "basic.auth.user.info",
        ] {
            assert!(is_secret_key(key), "{key} names a credential");
        }
        for key in [
            "sasl.mechanism",
            "ssl.keystore.location",
            "ssl.keystore.type",
            "fs.azure.account.keyprovider.acme.blob.core.windows.net",
            "fs.azure.account.auth.type",
            "s3.endpoint",
            "key.serializer",
        ] {
            assert!(!is_secret_key(key), "{key} does not name a credential");
        }
    }

    #[test]
    fn credentials_inside_values_are_found_and_references_are_not() {
        fn found(t: &str) -> Vec<&str> {
            embedded_credentials(t).into_iter().map(|r| &t[r]).collect()
        }
        assert_eq!(
            found("-Djavax.net.ssl.keyStorePassword=s3cr3t -Dx=1"),
            ["s3cr3t"]
        );
        assert_eq!(
            found("Module required username=\"u\" password=\"p w\";"),
            ["p w"]
        );
        assert_eq!(found("a\n# ssl.key.password: old-one\nb"), ["old-one"]);
        assert_eq!(found("password = 'x', token:y"), ["x", "y"]);
        assert_eq!(found("s3://AKIA:s3cr3t@bucket/path"), ["s3cr3t"]);
        assert_eq!(found("https://deploy:tok@repo.example.com/x.jar"), ["tok"]);
        assert_eq!(found("user:pw@kafka:9092,b:9092"), ["pw"]);
        for clean in [
            "Module required username=\"u\" password=\"${env:KAFKA_PASSWORD}\";",
            "-Dpassword=${dir:/opt/flink/secrets/s:p}",
            "http://host:8080/path",
            "s3://bucket/path",
            "kafka-0:9092,kafka-1:9093",
            "arn:aws:iam::123456789012:role/flink",
            "user@host",
            "https://${env:USER}:${env:PASSWORD}@repo/x.jar",
            "password=",
            "pipeline.name=orders",
        ] {
            assert!(found(clean).is_empty(), "{clean}: {:?}", found(clean));
        }
    }

    fn kdl_files_in(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    }

    /// For every example and every input of the profile fuzzing corpus (valid and broken ones
    /// alike): the validators generated at compile time give the verdict, and the diagnostics,
    /// of validators compiled at run time from the same schemas with `build_validator`'s
    /// options; and the converter's schema index converts as the schema itself does.
    #[test]
    fn generated_validators_and_schema_index_agree_with_the_schema() {
        let runtime_job = validate::build_validator(job_schema()).unwrap();
        let runtime_cluster = validate::build_validator(cluster_schema()).unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = [root.join("examples"), root.join("fuzz/corpus/profile")]
            .iter()
            .flat_map(|d| kdl_files_in(d))
            .collect::<Vec<_>>();
        let (mut valid, mut invalid) = (0, 0);
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            let Ok(doc) = parse_kdl_text(&text, 0) else {
                continue;
            };
            for node in doc.nodes() {
                let kind = node.name().value();
                let Some(NodeKind {
                    schema,
                    check: generated,
                    index,
                }) = node_kind(kind)
                else {
                    continue;
                };
                let runtime = if kind == "job" {
                    &runtime_job
                } else {
                    &runtime_cluster
                };
                let head = Span::from_miette(0, node.name().span());
                let nav = SchemaNav { root: schema };
                let mut conv = Converter::new(0, nav, index);
                let json = conv.node(node, Some(schema), "");
                conv.spans.freeze();
                // The converter's schema index answers as the schema itself does.
                let unindexed = SchemaIndex::empty();
                let mut plain = Converter::new(0, nav, &unindexed);
                assert_eq!(json, plain.node(node, Some(schema), ""), "{}", f.display());
                plain.spans.freeze();
                assert_eq!(conv.errors, plain.errors, "{}", f.display());
                let spans = format!("{:?}", conv.spans);
                assert_eq!(spans, format!("{:?}", plain.spans), "{}", f.display());
                // What a person is shown: the two report some errors differently (the generated
                // one leaves out `type` where an `enum` already fails, and orders one place's
                // errors its own way), never so that the diagnostics differ.
                let shown = |found: jsonschema::ErrorIterator<'_>| {
                    let schema_errors =
                        validate::validate(found, nav, schema, &json, &conv.spans, head, kind);
                    one_per_place(conv.errors.clone(), schema_errors, kind, head)
                };
                let is_valid = (generated.is_valid)(&json);
                assert_eq!(is_valid, runtime.is_valid(&json), "{}", f.display());
                let d = shown((generated.iter_errors)(&json));
                assert_eq!(d, shown(runtime.iter_errors(&json)), "{}", f.display());
                let none = (generated.iter_errors)(&json).next().is_none();
                assert_eq!(is_valid, none, "{}", f.display());
                if is_valid {
                    valid += 1;
                } else {
                    invalid += 1;
                }
            }
        }
        // Both verdicts were compared, many times each.
        assert!(
            valid > 50 && invalid > 50,
            "{valid} valid, {invalid} invalid"
        );
    }
}
