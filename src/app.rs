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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Human,
    Json,
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

fn kdl_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), Diagnostic> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Diagnostic::error(format!("cannot read {}: {e}", path.display()))
            .with_help("pass profile files (*.kdl) or directories that hold them")
    })?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| {
                Diagnostic::error(format!("cannot read directory {}: {e}", path.display()))
            })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() || p.extension().is_some_and(|e| e == "kdl") {
                kdl_files(&p, out)?;
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

fn input_failure(e: InputErrors, sources: &Sources, opts: &Options) -> Outcome {
    match opts.format {
        Format::Json => Outcome {
            stdout: format!(
                "{}\n",
                serde_json::json!({"errors": render_json(&e.0, sources)})
            ),
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

/// load → resolve → check.
pub fn compile(opts: &Options) -> Result<Compiled, (InputErrors, Sources)> {
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
    for f in files {
        match profile::read_bounded(&f) {
            Ok(text) => {
                inputs.push(ManifestInput {
                    path: display_path(&f),
                    sha256: emit::sha256_hex(text.as_bytes()),
                });
                let id = sources.add(display_path(&f), text);
                for span in profile::secret_spans(&sources, id) {
                    sources.redact(span);
                }
                if let Err(e) = profile::load_file(&sources, id, &mut profiles) {
                    errors.extend(e.0);
                }
            }
            Err(e) => errors.push(
                Diagnostic::error(format!("cannot read {}: {e}", f.display()))
                    .with_help("profiles are UTF-8 text files"),
            ),
        }
    }
    if !errors.is_empty() {
        return Err((InputErrors(errors), sources));
    }
    if let Err(d) = opts.versions.apply(&mut profiles) {
        return Err((InputErrors::one(d), sources));
    }
    let plan = resolve::resolve(&profiles, &packs).map_err(|e| (e, sources.clone()))?;
    let findings = check::check(&plan, &packs);
    Ok(Compiled {
        sources,
        packs,
        plan,
        findings,
        inputs,
    })
}

fn findings_output(c: &Compiled, opts: &Options) -> (String, i32) {
    let code = i32::from(c.findings.iter().any(|f| f.severity == Severity::Error));
    let text = match opts.format {
        Format::Human => render_human(&c.findings, &c.sources, opts.color),
        Format::Json => String::new(),
    };
    (text, code)
}

fn summary(c: &Compiled) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for s in [Severity::Error, Severity::Warning, Severity::Info] {
        m.insert(
            s.to_string(),
            c.findings.iter().filter(|f| f.severity == s).count(),
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
    let c = match compile(opts) {
        Ok(c) => c,
        Err((e, sources)) => return input_failure(e, &sources, opts),
    };
    let env = match render::environment(opts.templates.as_deref()) {
        Ok(env) => env,
        Err(d) => return input_failure(InputErrors::one(d), &c.sources, opts),
    };
    let units = match render::render_plan(&c.plan, &env) {
        Ok(u) => u,
        Err(e) => return input_failure(InputErrors(e), &c.sources, opts),
    };
    let manifest = Manifest {
        generator: "flinkgen",
        inputs: c.inputs.clone(),
        packs: c.plan.packs.clone(),
        findings: summary(&c),
        files: emit::manifest_files(&units),
    };
    let (findings_text, mut code) = findings_output(&c, opts);
    let mut stdout = String::new();
    let mut stderr = findings_text;
    let nfiles: usize = units.iter().map(|u| u.files.len()).sum::<usize>() + 1;
    if check_only {
        let d = emit::diff(out, &units, &manifest);
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
    } else {
        let written = match io {
            None => emit::write(
                out,
                &units,
                &manifest,
                emit::WriteOptions { fsync: opts.fsync },
            ),
            Some(io) => emit::write_with(io, out, &units, &manifest),
        };
        let report = match written {
            Ok(r) => r,
            Err(e) => {
                let mut o = input_failure(InputErrors::one(e.diagnostic), &c.sources, opts);
                if e.interrupted {
                    o.code = EXIT_INTERRUPTED;
                }
                return o;
            }
        };
        for w in report.warnings {
            stderr.push_str(&format!("warning: {w}\n"));
        }
        stderr.push_str(&format!(
            "wrote {nfiles} files for {} job(s) and {} cluster(s) into {}\n",
            c.plan.jobs.len(),
            c.plan.clusters.len(),
            out.display()
        ));
    }
    if opts.format == Format::Json {
        stdout = format!(
            "{}\n",
            serde_json::json!({"findings": render_json(&c.findings, &c.sources), "drift": check_only && code == 1 && !stdout.is_empty(), "diff": stdout})
        );
    }
    Outcome {
        stdout,
        stderr,
        code,
    }
}

/// `flinkgen check`: findings only, nothing written.
pub fn check_cmd(opts: &Options) -> Outcome {
    match compile(opts) {
        Err((e, sources)) => input_failure(e, &sources, opts),
        Ok(c) => {
            let (text, code) = findings_output(&c, opts);
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
                Format::Json => format!(
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

/// `flinkgen schema`: the JSON Schema of a profile kind.
pub fn schema_cmd(kind: &str) -> Outcome {
    let s = match kind {
        "job" => profile::job_schema(),
        "cluster" => profile::cluster_schema(),
        other => {
            return Outcome {
                stderr: format!("error: unknown profile kind `{other}`: use `job` or `cluster`\n"),
                code: 2,
                ..Default::default()
            };
        }
    };
    Outcome {
        stdout: format!("{}\n", serde_json::to_string_pretty(s).unwrap_or_default()),
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
                    "{} {} ({})\n\nWhat it does\n  {}\n\nWhy it matters\n  {}\n\nHow to fix it\n  {}\n",
                    c.code, c.name, c.severity, c.summary, c.why, c.fix
                ),
                ..Default::default()
            },
            None => Outcome {
                stderr: format!("error: no rule `{code}`; `flinkgen rules` lists them\n"),
                code: 2,
                ..Default::default()
            },
        },
    }
}

/// `flinkgen instances`: the instance catalog.
pub fn instances_cmd(opts: &Options) -> Outcome {
    let mut sources = Sources::default();
    let dirs: Vec<&Path> = opts.policies.iter().map(PathBuf::as_path).collect();
    match PackSet::load(&mut sources, &dirs) {
        Err(e) => input_failure(e, &sources, opts),
        Ok(packs) => {
            let mut out = String::new();
            for p in &packs.packs {
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
