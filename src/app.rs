//! The commands, as library functions: each takes its options and returns what to print and
//! the exit code, so tests run them in-process and `main.rs` only parses arguments.
//!
//! Exit codes: 0 ok, 1 error findings or drift, 2 unusable input.

use std::path::{Path, PathBuf};

use crate::check;
use crate::diag::{Diagnostic, InputErrors, Severity, Sources, render_human, render_json};
use crate::emit::{self, Manifest, ManifestInput};
use crate::explain;
use crate::plan::Plan;
use crate::policy::PackSet;
use crate::profile::{self, Profiles};
use crate::render;
use crate::resolve;
use crate::sarif;
use crate::stream;

pub use crate::commands::{completions_cmd, docs_cmd, fmt_cmd, init_cmd, man_cmd, policies_cmd};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Human,
    Json,
    /// SARIF 2.1.0 (`build`, `check`), for code-scanning annotations.
    Sarif,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub inputs: Vec<PathBuf>,
    pub policies: Vec<PathBuf>,
    pub templates: Option<PathBuf>,
    pub format: Format,
    pub color: bool,
    /// Versions to build with instead of the profiles' own (`flinkgen diff --flink 2.0`).
    pub versions: VersionOverrides,
    /// `build --fsync` / `FLINKGEN_FSYNC=1`: make the output durable before reporting success.
    pub fsync: bool,
}

/// Product versions that replace the profiles' own, for `flinkgen diff`.
#[derive(Debug, Clone, Default)]
pub struct VersionOverrides {
    pub flink: Option<String>,
    pub operator: Option<String>,
    pub connector: Option<String>,
    pub kafka: Option<String>,
}

impl VersionOverrides {
    pub fn is_empty(&self) -> bool {
        self.flink.is_none()
            && self.operator.is_none()
            && self.connector.is_none()
            && self.kafka.is_none()
    }
    /// Apply to every loaded profile (the spans still point at the original text).
    fn apply(&self, profiles: &mut Profiles) -> Result<(), Diagnostic> {
        const FLINK: [&str; 7] = ["1.18", "1.19", "1.20", "2.0", "2.1", "2.2", "2.3"];
        if let Some(v) = &self.flink
            && !FLINK.contains(&v.as_str())
        {
            return Err(Diagnostic::error(format!(
                "--flink {v}: flinkgen knows Flink {}",
                FLINK.join(", ")
            )));
        }
        if let Some(v) = &self.kafka
            && crate::policy::kafka_model::model(v).is_none()
        {
            return Err(Diagnostic::error(format!(
                "--kafka {v}: flinkgen knows Kafka 2.8 to 4.2 (major.minor)"
            )));
        }
        for j in &mut profiles.jobs {
            if let Some(v) = &self.flink {
                j.value.flink.version.clone_from(v);
                // The file format follows the version; a 1.19/1.20-only choice would not apply.
                j.value.flink.config_file = None;
            }
            if let Some(v) = &self.operator {
                j.value.flink.operator.clone_from(v);
            }
            if let Some(v) = &self.connector {
                j.value.kafka.connector.clone_from(v);
            }
        }
        if let Some(v) = &self.kafka {
            for c in &mut profiles.clusters {
                c.value.kafka.version.clone_from(v);
            }
        }
        Ok(())
    }
}

/// Everything up to a checked Plan.
pub struct Compiled {
    pub sources: Sources,
    pub packs: PackSet,
    pub plan: Plan,
    pub findings: Vec<Diagnostic>,
    pub inputs: Vec<ManifestInput>,
}

pub fn kdl_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), Diagnostic> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Diagnostic::error(format!("cannot read {}: {e}", path.display()))
            .with_help("pass profile files (*.kdl) or directories that hold them")
    })?;
    if meta.is_dir() {
        // Whether an entry is a directory comes with the listing (no `stat` per file: a fleet
        // directory holds thousands); a symbolic link is followed, as `Path::is_dir` does.
        let mut entries: Vec<(PathBuf, bool)> = std::fs::read_dir(path)
            .map_err(|e| {
                Diagnostic::error(format!("cannot read directory {}: {e}", path.display()))
            })?
            .filter_map(Result::ok)
            .map(|e| {
                let p = e.path();
                let is_dir = match e.file_type() {
                    Ok(t) if !t.is_symlink() => t.is_dir(),
                    _ => p.is_dir(),
                };
                (p, is_dir)
            })
            .collect();
        entries.sort();
        for (p, is_dir) in entries {
            if is_dir {
                kdl_files(&p, out)?;
            } else if p.extension().is_some_and(|e| e == "kdl") {
                // Read (and any error reported) when the profiles are loaded.
                out.push(p);
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

pub(crate) fn input_failure(e: InputErrors, sources: &Sources, opts: &Options) -> Outcome {
    match opts.format {
        Format::Json => Outcome {
            stdout: format!(
                "{}\n",
                serde_json::json!({"errors": render_json(&e.0, sources)})
            ),
            code: 2,
            ..Default::default()
        },
        Format::Sarif => Outcome {
            stdout: sarif::render_text(&e.0, sources),
            code: 2,
            ..Default::default()
        },
        Format::Human => Outcome {
            stderr: render_human(&e.0, sources, opts.color),
            code: 2,
            ..Default::default()
        },
    }
}

/// Profiles read and validated, packs loaded: what every command starts from.
pub struct Loaded {
    pub sources: Sources,
    pub packs: PackSet,
    pub profiles: Profiles,
    pub inputs: Vec<ManifestInput>,
}

/// load → resolve → check, the whole plan at once.
pub fn compile(opts: &Options) -> Result<Compiled, (InputErrors, Sources)> {
    let Loaded {
        sources,
        packs,
        profiles,
        inputs,
    } = load(opts)?;
    let plan = resolve::resolve(profiles, &packs).map_err(|e| (e, sources.clone()))?;
    let findings = check::check(&plan, &packs);
    Ok(Compiled {
        sources,
        packs,
        plan,
        findings,
        inputs,
    })
}

/// Read every profile and pack; input errors of all files at once.
pub fn load(opts: &Options) -> Result<Loaded, (InputErrors, Sources)> {
    let mut sources = Sources::default();
    let policy_dirs: Vec<&Path> = opts.policies.iter().map(PathBuf::as_path).collect();
    let packs = PackSet::load(&mut sources, &policy_dirs).map_err(|e| (e, sources.clone()))?;
    let mut files = vec![];
    let mut errors = vec![];
    for i in &opts.inputs {
        if let Err(d) = kdl_files(i, &mut files) {
            errors.push(d);
        }
    }
    if opts.inputs.is_empty() {
        errors.push(
            Diagnostic::error("no profiles given")
                .with_help("e.g. `flinkgen build jobs/ clusters/ -o out`"),
        );
    }
    let mut profiles = Profiles::default();
    let mut inputs = vec![];
    let mut ids = vec![];
    // Read and hash in parallel (a fleet has thousands of files), add in input order. Each text
    // is copied once more on this thread: read on the workers, the long-lived texts would sit
    // between the workers' short-lived parse data and keep its memory from being reused.
    let read: Vec<(PathBuf, std::io::Result<(String, String)>)> = {
        use rayon::prelude::*;
        files
            .into_par_iter()
            .map(|f| {
                let r = profile::read_bounded(&f).map(|text| {
                    let sha = emit::sha256_hex(text.as_bytes());
                    (text, sha)
                });
                (f, r)
            })
            .collect()
    };
    for (f, r) in read {
        match r {
            Ok((text, sha256)) => {
                inputs.push(ManifestInput {
                    path: display_path(&f),
                    sha256,
                });
                ids.push(sources.add(display_path(&f), text.as_str().to_owned()));
            }
            Err(e) => errors.push(
                Diagnostic::error(format!("cannot read {}: {e}", f.display()))
                    .with_help("profiles are UTF-8 text files"),
            ),
        }
    }
    // Files load independently, in parallel; merged in input order. Literal secrets are masked
    // in the source text first, so no report can print them: a file that holds one is loaded
    // again from its masked text; any other is loaded from its one parse.
    {
        use rayon::prelude::*;
        let load = |doc: Result<kdl::KdlDocument, InputErrors>, id: u32| {
            let mut p = Profiles::default();
            let e = doc.and_then(|d| profile::load_doc(&d, id, &mut p)).err();
            (p, e)
        };
        // Loaded, or the literal secrets to mask before loading.
        type FirstParse = Result<(Profiles, Option<InputErrors>), Vec<profile::SecretSpan>>;
        let first: Vec<FirstParse> = ids
            .par_iter()
            .map(|id| match profile::parse_kdl(&sources, *id) {
                Ok(doc) => match profile::secret_spans(&doc, *id) {
                    secrets if secrets.is_empty() => Ok(load(Ok(doc), *id)),
                    secrets => Err(secrets),
                },
                Err(e) => Ok(load(Err(e), *id)),
            })
            .collect();
        let mut embedded = vec![];
        for secret in first.iter().filter_map(|r| r.as_ref().err()).flatten() {
            sources.redact(secret.span());
            if let profile::SecretSpan::Embedded(span) = secret {
                embedded.push(*span);
            }
        }
        // Enough to act on (a hostile file may hold a hundred thousand).
        let more = embedded.len().saturating_sub(crate::diag::ERRORS_PER_UNIT);
        for span in embedded.iter().take(crate::diag::ERRORS_PER_UNIT) {
            errors.push(profile::embedded_credential_error(*span));
        }
        if let Some(span) = embedded.get(crate::diag::ERRORS_PER_UNIT) {
            errors.push(crate::diag::not_checked(
                more,
                "values holding credentials",
                *span,
            ));
        }
        let loaded: Vec<(Profiles, Option<InputErrors>)> = first
            .into_par_iter()
            .zip(ids.par_iter())
            .map(|(r, id)| r.unwrap_or_else(|_| load(profile::parse_kdl(&sources, *id), *id)))
            .collect();
        // Exactly sized: a fleet's profiles are ~1 KB each, and growing by doubling would copy
        // them all and hold both copies at once.
        profiles
            .jobs
            .reserve_exact(loaded.iter().map(|(p, _)| p.jobs.len()).sum());
        profiles
            .clusters
            .reserve_exact(loaded.iter().map(|(p, _)| p.clusters.len()).sum());
        for (p, e) in loaded {
            profiles.jobs.extend(p.jobs);
            profiles.clusters.extend(p.clusters);
            if let Some(e) = e {
                errors.extend(e.0);
            }
        }
    }
    if !errors.is_empty() {
        return Err((InputErrors(errors), sources));
    }
    if let Err(d) = opts.versions.apply(&mut profiles) {
        return Err((InputErrors::one(d), sources));
    }
    Ok(Loaded {
        sources,
        packs,
        profiles,
        inputs,
    })
}

fn findings_output(findings: &[Diagnostic], sources: &Sources, opts: &Options) -> (String, i32) {
    let code = i32::from(findings.iter().any(|f| f.severity == Severity::Error));
    let text = match opts.format {
        Format::Human => render_human(findings, sources, opts.color),
        Format::Json | Format::Sarif => String::new(),
    };
    (text, code)
}

fn summary(findings: &[Diagnostic]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for s in [Severity::Error, Severity::Warning, Severity::Info] {
        m.insert(
            s.to_string(),
            findings.iter().filter(|f| f.severity == s).count(),
        );
    }
    m
}

/// `flinkgen build`: write (or with `check_only`, compare) every artifact.
pub fn build(opts: &Options, out: &Path, check_only: bool) -> Outcome {
    build_impl(opts, out, check_only, None)
}

/// `build` writing through a file-system seam (tests inject faults with `emit::FaultyIo`).
pub fn build_with_io(opts: &Options, out: &Path, check_only: bool, io: &dyn emit::Io) -> Outcome {
    build_impl(opts, out, check_only, Some(io))
}

/// Exit code of a build stopped by SIGINT/SIGTERM/SIGHUP (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

fn build_impl(opts: &Options, out: &Path, check_only: bool, io: Option<&dyn emit::Io>) -> Outcome {
    let Loaded {
        sources,
        packs,
        profiles,
        inputs,
    } = match load(opts) {
        Ok(l) => l,
        Err((e, sources)) => return input_failure(e, &sources, opts),
    };
    let env = match render::environment(opts.templates.as_deref()) {
        Ok(env) => env,
        Err(d) => return input_failure(InputErrors::one(d), &sources, opts),
    };
    // The CLI writes to the real file system, rolling back on SIGINT/SIGTERM/SIGHUP.
    let signals;
    let real_io;
    let io: &dyn emit::Io = match io {
        Some(io) => io,
        None => {
            signals = emit::Signals::catch();
            real_io = signals.io(emit::WriteOptions { fsync: opts.fsync });
            &real_io
        }
    };
    let (fleet, groups) = resolve::Fleet::new(profiles, &packs);
    let diff = check_only.then(|| emit::Diff::new(out));
    // The output is opened (created, locked, recovered) only when there is something to write.
    let writer = match (&diff, fleet.errors.is_empty()) {
        (None, true) => match emit::Writer::open(io, out) {
            Ok(w) => Some(w),
            Err(e) => return emit_failure(e, &sources, opts),
        },
        _ => None,
    };
    let s = {
        let output = match (&diff, &writer) {
            (Some(d), _) => stream::Output::Check(d, &env),
            (None, Some(w)) => stream::Output::Write(w, &env),
            (None, None) => stream::Output::Discard,
        };
        let parallel = check_only || io.concurrent();
        stream::run(
            &fleet,
            groups,
            &packs,
            &output,
            &|| io.interrupted(),
            parallel,
        )
    };
    // What is left to do needs no profile: free the clusters' too before the manifest and the
    // report, the two large texts of a fleet build (the jobs' went group by group).
    drop(fleet);
    if !s.errors.is_empty() {
        // Dropping the writer removes what it staged: the output is as it was.
        drop(writer);
        return input_failure(InputErrors(s.errors), &sources, opts);
    }
    if let Some(e) = s.emit_error {
        drop(writer);
        return emit_failure(e, &sources, opts);
    }
    let mut manifest = Manifest {
        generator: "flinkgen",
        inputs,
        packs: s.packs.clone(),
        findings: summary(&s.findings),
        files: vec![],
    };
    let mut code = 0;
    let mut stdout = String::new();
    let mut stderr = String::new();
    let mut laid_out = None;
    let (jobs, clusters) = (s.jobs, s.clusters);
    if let Some(diff) = diff {
        manifest.files = diff.manifest_files();
        let nfiles = manifest.files.len() + 1;
        let d = diff.finish(&manifest.to_json());
        if d.is_empty() {
            stderr.push_str(&format!(
                "{} is up to date ({nfiles} files)\n",
                out.display()
            ));
        } else {
            stdout.push_str(&d);
            stderr.push_str(&format!(
                "{} is out of date: run `flinkgen build` without --check\n",
                out.display()
            ));
            code = 1;
        }
    } else if let Some(writer) = writer {
        let units = writer.units();
        // Lay out the findings while the swap and manifest.json are written: both are the
        // build's last steps, one mostly the kernel's work, the other all flinkgen's.
        let (finished, findings) = rayon::join(
            || writer.finish(manifest),
            || findings_output(&s.findings, &sources, opts),
        );
        laid_out = Some(findings);
        let report = match finished {
            Ok(r) => r,
            Err(e) => return emit_failure(e, &sources, opts),
        };
        for w in &report.warnings {
            stderr.push_str(&format!("warning: {w}\n"));
        }
        let nfiles = report.files + 1;
        stderr.push_str(&if report.written_files == 0 {
            format!(
                "{} is up to date ({nfiles} files for {jobs} job(s) and {clusters} cluster(s)): nothing written\n",
                out.display()
            )
        } else if report.unchanged_units == 0 {
            format!(
                "wrote {nfiles} files for {jobs} job(s) and {clusters} cluster(s) into {}\n",
                out.display()
            )
        } else {
            format!(
                "wrote {} of {nfiles} files for {jobs} job(s) and {clusters} cluster(s) into {} \
                 ({} of {units} directories unchanged, left as they were)\n",
                report.written_files,
                out.display(),
                report.unchanged_units,
            )
        });
    }
    // The findings come first in the report.
    let (mut findings_text, findings_code) =
        laid_out.unwrap_or_else(|| findings_output(&s.findings, &sources, opts));
    findings_text.push_str(&stderr);
    stderr = findings_text;
    code = code.max(findings_code);
    if opts.format == Format::Json {
        stdout = format!(
            "{}\n",
            serde_json::json!({"findings": render_json(&s.findings, &sources), "drift": check_only && code == 1 && !stdout.is_empty(), "diff": stdout})
        );
    } else if opts.format == Format::Sarif {
        // stdout is the SARIF log alone (it is redirected to a file); the diff goes to stderr.
        stderr.push_str(&stdout);
        stdout = sarif::render_text(&s.findings, &sources);
    }
    Outcome {
        stdout,
        stderr,
        code,
    }
}

/// A write that failed (exit 2) or was stopped by a signal (exit 130).
fn emit_failure(e: emit::EmitError, sources: &Sources, opts: &Options) -> Outcome {
    let mut o = input_failure(InputErrors::one(e.diagnostic), sources, opts);
    if e.interrupted {
        o.code = EXIT_INTERRUPTED;
    }
    o
}

/// Findings of every check, group by group like `build` (a fleet's plans are never all in
/// memory); the same findings, in the same order, as checking the whole plan.
struct StreamedFindings {
    sources: Sources,
    findings: Vec<Diagnostic>,
}

fn streamed_findings(opts: &Options) -> Result<StreamedFindings, (InputErrors, Sources)> {
    let Loaded {
        sources,
        packs,
        profiles,
        ..
    } = load(opts)?;
    let (fleet, groups) = resolve::Fleet::new(profiles, &packs);
    let s = stream::run(
        &fleet,
        groups,
        &packs,
        &stream::Output::Discard,
        &|| false,
        true,
    );
    if !s.errors.is_empty() {
        return Err((InputErrors(s.errors), sources));
    }
    Ok(StreamedFindings {
        sources,
        findings: s.findings,
    })
}

/// `flinkgen check`: findings only, nothing written.
pub fn check_cmd(opts: &Options) -> Outcome {
    match streamed_findings(opts) {
        Err((e, sources)) => input_failure(e, &sources, opts),
        Ok(c) => {
            let (text, code) = findings_output(&c.findings, &c.sources, opts);
            match opts.format {
                Format::Human => Outcome {
                    stderr: text,
                    code,
                    ..Default::default()
                },
                Format::Json => Outcome {
                    stdout: format!(
                        "{}\n",
                        serde_json::json!({"findings": render_json(&c.findings, &c.sources)})
                    ),
                    code,
                    ..Default::default()
                },
                Format::Sarif => Outcome {
                    stdout: sarif::render_text(&c.findings, &c.sources),
                    code,
                    ..Default::default()
                },
            }
        }
    }
}

/// `flinkgen explain`: where every value (or the named keys) comes from.
pub fn explain_cmd(opts: &Options, keys: &[String]) -> Outcome {
    match compile(opts) {
        Err((e, sources)) => input_failure(e, &sources, opts),
        Ok(c) => {
            let stdout = match opts.format {
                Format::Human => explain::human(&c.plan, keys, &c.sources),
                Format::Json | Format::Sarif => format!(
                    "{}\n",
                    serde_json::to_string_pretty(&explain::json(&c.plan, keys, &c.sources))
                        .unwrap_or_default()
                ),
            };
            Outcome {
                stdout,
                ..Default::default()
            }
        }
    }
}

/// `flinkgen schema`: the JSON Schema of a profile kind, or of the Helm values flinkgen writes
/// for chart flinkgen-job (`helm-values`, checked in as `charts/flinkgen-job/values.schema.json`).
pub fn schema_cmd(kind: &str) -> Outcome {
    // Generated from the types, not the checked-in files: this is how they are regenerated.
    let s = match (kind, profile::generated_schema(kind)) {
        (_, Some(s)) => s,
        ("helm-values", _) => crate::render::helm::schema().clone(),
        (other, _) => {
            return Outcome {
                stderr: format!(
                    "error: unknown schema `{other}`: use `job`, `cluster` or `helm-values`\n"
                ),
                code: 2,
                ..Default::default()
            };
        }
    };
    Outcome {
        stdout: format!("{}\n", serde_json::to_string_pretty(&s).unwrap_or_default()),
        ..Default::default()
    }
}

/// `flinkgen rules` and `flinkgen rule CODE`.
pub fn rules_cmd(code: Option<&str>) -> Outcome {
    let catalog = check::catalog();
    match code {
        None => Outcome {
            stdout: catalog
                .iter()
                .map(|c| {
                    format!(
                        "{}  {:<40} {:<7}  {}\n",
                        c.code,
                        c.name,
                        c.severity.to_string(),
                        c.summary
                    )
                })
                .collect(),
            ..Default::default()
        },
        Some(code) => match catalog
            .iter()
            .find(|c| c.code.eq_ignore_ascii_case(code) || c.name == code)
        {
            Some(c) => Outcome {
                stdout: format!(
                    "{} {} ({})\n\nWhat it does\n{}\nWhy it matters\n{}\nHow to fix it\n{}",
                    c.code,
                    c.name,
                    c.severity,
                    wrap(c.summary),
                    wrap(c.why),
                    wrap(c.fix)
                ),
                ..Default::default()
            },
            None => {
                let known = catalog.iter().flat_map(|c| [c.code, c.name]);
                let hint = match crate::profile::validate::did_you_mean(code, known) {
                    Some(n) => format!(" (did you mean `{n}`?)"),
                    None => String::new(),
                };
                Outcome {
                    stderr: format!("error: no rule `{code}`{hint}; `flinkgen rules` lists them\n"),
                    code: 2,
                    ..Default::default()
                }
            }
        },
    }
}

/// A paragraph indented by two spaces and wrapped at 100 columns, for terminals.
fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(" ");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > 100 && line.len() > 1 {
            out.push_str(&line);
            out.push('\n');
            line = String::from(" ");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// `flinkgen instances`: the instance catalog.
pub fn instances_cmd(opts: &Options) -> Outcome {
    let mut sources = Sources::default();
    let dirs: Vec<&Path> = opts.policies.iter().map(PathBuf::as_path).collect();
    match PackSet::load(&mut sources, &dirs) {
        Err(e) => input_failure(e, &sources, opts),
        Ok(packs) => {
            let mut out = String::new();
            for p in packs.packs() {
                for i in &p.instances {
                    out.push_str(&format!(
                        "{:<24} {:<6} {:>4} vCPU {:>10}  local NVMe {}×{}  net {}/{} Gbit/s  {}\n",
                        i.name,
                        i.cloud,
                        i.vcpu,
                        crate::units::human_size(i.memory),
                        i.local_nvme_count,
                        crate::units::human_size(i.local_nvme_size),
                        i.network_baseline_gbps,
                        i.network_burst_gbps,
                        i.source
                    ));
                }
            }
            Outcome {
                stdout: out,
                ..Default::default()
            }
        }
    }
}

/// `flinkgen diff`: the profiles as written against the same profiles with other versions
/// (and, optionally, extra policy packs).
pub fn diff_cmd(opts: &Options, extra_policies: &[PathBuf]) -> Outcome {
    let base_opts = Options {
        versions: VersionOverrides::default(),
        ..opts.clone()
    };
    let mut variant_opts = opts.clone();
    variant_opts.policies.extend(extra_policies.iter().cloned());
    if opts.versions.is_empty() && extra_policies.is_empty() {
        return Outcome {
            stderr: "error: say what to compare with: --flink, --operator, --connector, --kafka or --policies-next\n".into(),
            code: 2,
            ..Default::default()
        };
    }
    let env = match render::environment(opts.templates.as_deref()) {
        Ok(env) => env,
        Err(d) => {
            return Outcome {
                stderr: format!("error: {}\n", d.message),
                code: 2,
                ..Default::default()
            };
        }
    };
    let build = |o: &Options| -> Result<(Compiled, Vec<render::Unit>), Outcome> {
        let c = compile(o).map_err(|(e, sources)| input_failure(e, &sources, o))?;
        let units = render::render_plan(&c.plan, &env)
            .map_err(|e| input_failure(InputErrors(e), &c.sources, o))?;
        Ok((c, units))
    };
    let (before, bu) = match build(&base_opts) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let (after, au) = match build(&variant_opts) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let what = crate::diff::describe(opts, !extra_policies.is_empty());
    let r = crate::diff::report((&before, &bu), (&after, &au), &what);
    Outcome {
        stdout: r.text,
        ..Default::default()
    }
}

/// `flinkgen lint`: the check catalog over existing deployment files.
pub fn lint_cmd(opts: &Options, facts: &[String]) -> Outcome {
    let dirs: Vec<&Path> = opts.policies.iter().map(PathBuf::as_path).collect();
    let l = match crate::lint::lint(&opts.inputs, facts, &dirs) {
        Ok(l) => l,
        Err((e, sources)) => return input_failure(e, &sources, opts),
    };
    let code = i32::from(l.findings.iter().any(|f| f.severity == Severity::Error));
    match opts.format {
        Format::Sarif => Outcome {
            stdout: sarif::render_text(&l.findings, &l.sources),
            code,
            ..Default::default()
        },
        Format::Json => Outcome {
            stdout: format!(
                "{}\n",
                serde_json::json!({
                    "files": l.files.iter().map(|(f, k)| serde_json::json!({"path": f, "read-as": k})).collect::<Vec<_>>(),
                    "findings": render_json(&l.findings, &l.sources),
                    "assumptions": l.assumptions,
                })
            ),
            code,
            ..Default::default()
        },
        Format::Human => {
            let mut stderr = render_human(&l.findings, &l.sources, opts.color);
            let mut stdout = String::new();
            for (f, k) in &l.files {
                stdout.push_str(&format!("read {f}: {k}\n"));
            }
            if !l.assumptions.is_empty() {
                stdout.push_str("assumed (state it with --fact to check against your value):\n");
                for a in &l.assumptions {
                    stdout.push_str(&format!("  - {a}\n"));
                }
            }
            let errors = l
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count();
            let warnings = l
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Warning)
                .count();
            stderr.push_str(&format!(
                "lint: {} job(s), {} cluster(s): {errors} error(s), {warnings} warning(s)\n",
                l.plan.jobs.len(),
                l.plan.clusters.len()
            ));
            Outcome {
                stdout,
                stderr,
                code,
            }
        }
    }
}

/// `flinkgen import`: starting profiles from an existing deployment's files.
pub fn import_cmd(opts: &Options, facts: &[String], out: &Path, force: bool) -> Outcome {
    let dirs: Vec<&Path> = opts.policies.iter().map(PathBuf::as_path).collect();
    let l = match crate::lint::lint(&opts.inputs, facts, &dirs) {
        Ok(l) => l,
        Err((e, sources)) => return input_failure(e, &sources, opts),
    };
    let imported = crate::import::import(&l);
    if !force && let Some(f) = imported.files.iter().find(|f| out.join(&f.path).exists()) {
        return input_failure(
            InputErrors::one(
                Diagnostic::error(format!(
                    "{} already exists",
                    out.join(&f.path).display()
                ))
                .with_help("import writes new profiles; pass --force to replace them, or -o another directory"),
            ),
            &l.sources,
            opts,
        );
    }
    if let Err(e) = std::fs::create_dir_all(out) {
        return input_failure(
            InputErrors::one(Diagnostic::error(format!(
                "cannot create {}: {e}",
                out.display()
            ))),
            &l.sources,
            opts,
        );
    }
    for f in &imported.files {
        let path = out.join(&f.path);
        let written = tempfile::NamedTempFile::new_in(out).and_then(|mut t| {
            std::io::Write::write_all(&mut t, f.text.as_bytes())?;
            t.persist(&path).map(|_| ()).map_err(|e| e.error)
        });
        if let Err(e) = written {
            return input_failure(
                InputErrors::one(Diagnostic::error(format!(
                    "cannot write {}: {e}",
                    path.display()
                ))),
                &l.sources,
                opts,
            );
        }
    }
    let code = i32::from(!imported.remaining.is_empty());
    let report = match opts.format {
        Format::Json => format!(
            "{}\n",
            serde_json::json!({
                "files": imported.files.iter().map(|f| display_path(&out.join(&f.path))).collect::<Vec<_>>(),
                "todo": imported.todo,
                "not-expressed": imported.not_expressed,
                "remaining-errors": imported.remaining,
            })
        ),
        // (`--format sarif` is refused for import before it gets here.)
        Format::Human | Format::Sarif => {
            let mut s = String::new();
            for f in &imported.files {
                s.push_str(&format!("wrote {}\n", display_path(&out.join(&f.path))));
            }
            let section = |s: &mut String, title: &str, items: &[String]| {
                if !items.is_empty() {
                    s.push_str(title);
                    for i in items {
                        s.push_str(&format!("  - {i}\n"));
                    }
                }
            };
            section(&mut s, "fill in (marked TODO(import)):\n", &imported.todo);
            section(
                &mut s,
                "not expressed in the profiles:\n",
                &imported.not_expressed,
            );
            section(
                &mut s,
                "flinkgen still refuses the profiles:\n",
                &imported.remaining,
            );
            s
        }
    };
    Outcome {
        stdout: report,
        code,
        ..Default::default()
    }
}
