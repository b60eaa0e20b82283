//! The CI-, review- and editor-facing commands: `policies`, `init`, `fmt`, `docs`, `man`,
//! `completions`. Library functions returning an `Outcome`, like those of `app` (which re-exports
//! them), so tests run them in-process.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::app::{Format, Options, Outcome, compile, input_failure, kdl_files};
use crate::diag::{Diagnostic, Sources, render_human};
use crate::policy::PackSet;
use crate::{docs, fmt, profile};

fn fail(message: impl std::fmt::Display) -> Outcome {
    Outcome {
        stderr: format!("error: {message}\n"),
        code: 2,
        ..Default::default()
    }
}

/// Write a file atomically: a temporary file in the same directory renamed over the target, so a
/// reader (or a crash of flinkgen) never sees half a file. Keeps the permissions of a file it
/// replaces.
pub fn write_atomic(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
    tmp.write_all(contents.as_bytes())?;
    if let Ok(meta) = std::fs::metadata(path) {
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// policies

/// `flinkgen policies [PROFILE...]`: every pack (name, version, layer, file, sha256) and, with
/// profiles, the packs and product versions each job and cluster uses.
pub fn policies_cmd(opts: &Options) -> Outcome {
    let mut sources = Sources::default();
    let dirs: Vec<&Path> = opts.policies.iter().map(PathBuf::as_path).collect();
    let packs = match PackSet::load(&mut sources, &dirs) {
        Ok(p) => p,
        Err(e) => return input_failure(e, &sources, opts),
    };
    let pack_rows: Vec<serde_json::Value> = packs
        .packs()
        .map(|p| {
            json!({
                "name": p.name,
                "version": p.version,
                "layer": p.layer.as_str(),
                "source": sources.get(p.file).name,
                "sha256": p.sha256,
            })
        })
        .collect();
    let mut jobs = vec![];
    let mut clusters = vec![];
    if !opts.inputs.is_empty() {
        let c = match compile(opts) {
            Ok(c) => c,
            Err((e, sources)) => return input_failure(e, &sources, opts),
        };
        let fact = |facts: &std::collections::BTreeMap<String, crate::plan::Fact>, k: &str| {
            facts
                .get(k)
                .and_then(|f| f.value.as_str().map(str::to_string))
        };
        for j in &c.plan.jobs {
            jobs.push(json!({
                "job": j.name,
                "cluster": j.cluster,
                "versions": {
                    "flink": fact(&j.facts, "flink-version"),
                    "operator": fact(&j.facts, "operator-version"),
                    "connector": fact(&j.facts, "connector-version"),
                    "kafka": fact(&j.facts, "kafka-version"),
                },
                "packs": j.packs.iter().map(|p| json!({
                    "name": p.name, "version": p.version, "layer": p.layer, "sha256": p.sha256,
                })).collect::<Vec<_>>(),
            }));
        }
        for cl in &c.plan.clusters {
            let pack = cl.fact_str("kafka-pack").map(str::to_string);
            clusters.push(json!({
                "cluster": cl.name,
                "versions": {
                    "kafka": cl.fact_str("kafka-version"),
                    "deployment": cl.fact_str("deployment"),
                    "deployment-version": cl.fact_str("deployment-version"),
                },
                "packs": pack.into_iter().collect::<Vec<_>>(),
            }));
        }
    }
    let doc = json!({"packs": pack_rows, "jobs": jobs, "clusters": clusters});
    if opts.format != Format::Human {
        return Outcome {
            stdout: format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ),
            ..Default::default()
        };
    }
    let mut out = format!("{} policy packs\n", pack_rows.len());
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
    for p in &pack_rows {
        out.push_str(&format!(
            "  {:<22} {:<10} {:<12} {:<44} sha256:{}\n",
            s(&p["name"]),
            s(&p["version"]),
            s(&p["layer"]),
            s(&p["source"]),
            s(&p["sha256"]),
        ));
    }
    for j in &jobs {
        let v = &j["versions"];
        out.push_str(&format!(
            "\njob {} (cluster {}): Flink {}, operator {}, connector {}, Kafka {}\n",
            s(&j["job"]),
            s(&j["cluster"]),
            s(&v["flink"]),
            s(&v["operator"]),
            s(&v["connector"]),
            s(&v["kafka"]),
        ));
        for p in j["packs"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "  {:<22} {:<10} {}\n",
                s(&p["name"]),
                s(&p["version"]),
                s(&p["layer"])
            ));
        }
    }
    for c in &clusters {
        let v = &c["versions"];
        let dep = match v["deployment-version"].as_str() {
            Some(dv) => format!("{} {dv}", s(&v["deployment"])),
            None => s(&v["deployment"]),
        };
        out.push_str(&format!(
            "\ncluster {}: Kafka {}, {}\n",
            s(&c["cluster"]),
            s(&v["kafka"]),
            dep
        ));
        for p in c["packs"].as_array().into_iter().flatten() {
            out.push_str(&format!("  {}\n", s(p)));
        }
    }
    Outcome {
        stdout: out,
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// init

/// The starter profiles `flinkgen init` writes. They build cleanly with the built-in packs
/// (`tests/people.rs`), and they are already formatted.
pub const STARTER_JOB: &str = include_str!("starter/job.kdl");
pub const STARTER_CLUSTER: &str = include_str!("starter/cluster.kdl");

/// The starter text of a kind: `job`, `cluster`, or both in one file (a job with its cluster,
/// which builds on its own).
pub fn starter(kind: Option<&str>) -> Result<String, String> {
    match kind {
        None | Some("both") => Ok(format!("{STARTER_JOB}\n{STARTER_CLUSTER}")),
        Some("job") => Ok(STARTER_JOB.to_string()),
        Some("cluster") => Ok(STARTER_CLUSTER.to_string()),
        Some(other) => Err(format!(
            "unknown profile kind `{other}`: use job, cluster or both"
        )),
    }
}

/// `flinkgen init [--kind job|cluster] [PATH]`: write a commented starter profile; never
/// overwrites a file; `-` writes to stdout.
pub fn init_cmd(kind: Option<&str>, path: &Path) -> Outcome {
    let text = match starter(kind) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    if path == Path::new("-") {
        return Outcome {
            stdout: text,
            ..Default::default()
        };
    }
    // create_new: the existence check and the creation are one step, so nothing is overwritten
    // even by a race.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path);
    match file {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => fail(format!(
            "{} already exists; flinkgen init never overwrites a file: choose another path, or `-` for stdout",
            path.display()
        )),
        Err(e) => fail(format!("cannot create {}: {e}", path.display())),
        Ok(mut f) => match f.write_all(text.as_bytes()) {
            Err(e) => fail(format!("cannot write {}: {e}", path.display())),
            Ok(()) => Outcome {
                stderr: format!(
                    "wrote {}: edit it, then `flinkgen check {}`\n",
                    path.display(),
                    path.display()
                ),
                ..Default::default()
            },
        },
    }
}

// ---------------------------------------------------------------------------------------------
// fmt

/// `flinkgen fmt [--check] PATH...`: format KDL files (every `*.kdl` below a directory),
/// keeping comments. With `check`, write nothing, print a diff and exit 1 when a file would
/// change. Unusable input (unreadable, not KDL v2) exits 2 and writes nothing.
pub fn fmt_cmd(paths: &[PathBuf], check: bool, color: bool) -> Outcome {
    let mut files = vec![];
    let mut errors = vec![];
    for p in paths {
        if let Err(d) = kdl_files(p, &mut files) {
            errors.push(d);
        }
    }
    if paths.is_empty() {
        errors.push(Diagnostic::error("no files given").with_help("e.g. `flinkgen fmt profiles/`"));
    }
    let mut sources = Sources::default();
    let mut changed: Vec<(PathBuf, String, String)> = vec![];
    let mut unchanged = 0usize;
    for f in &files {
        let text = match profile::read_bounded(f) {
            Ok(t) => t,
            Err(e) => {
                errors.push(Diagnostic::error(format!(
                    "cannot read {}: {e}",
                    f.display()
                )));
                continue;
            }
        };
        let id = sources.add(f.display().to_string(), text.clone());
        if let Err(e) = profile::parse_kdl(&sources, id) {
            errors.extend(e.0);
            continue;
        }
        match fmt::format_checked(&text) {
            Ok(formatted) if formatted == text => unchanged += 1,
            Ok(formatted) => changed.push((f.clone(), text, formatted)),
            Err(e) => errors.push(Diagnostic::error(format!("{}: {e}", f.display()))),
        }
    }
    if !errors.is_empty() {
        return Outcome {
            stderr: render_human(&errors, &sources, color),
            code: 2,
            ..Default::default()
        };
    }
    if check {
        let mut diff = String::new();
        for (path, before, after) in &changed {
            let name = path.display().to_string();
            // The diff goes to CI logs: literal credentials are masked on both sides.
            let (before, after) = (masked(before), masked(after));
            diff.push_str(
                &similar::TextDiff::from_lines(before.as_str(), after.as_str())
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{name}"), &format!("b/{name}"))
                    .to_string(),
            );
        }
        let stderr = if changed.is_empty() {
            format!("{unchanged} file(s) already formatted\n")
        } else {
            format!(
                "{} file(s) would be reformatted: run `flinkgen fmt` without --check\n",
                changed.len()
            )
        };
        return Outcome {
            stdout: diff,
            stderr,
            code: i32::from(!changed.is_empty()),
        };
    }
    let mut stderr = String::new();
    for (path, _, after) in &changed {
        if let Err(e) = write_atomic(path, after) {
            return fail(format!("cannot write {}: {e}", path.display()));
        }
        stderr.push_str(&format!("formatted {}\n", path.display()));
    }
    stderr.push_str(&format!(
        "{} file(s) formatted, {unchanged} already formatted\n",
        changed.len()
    ));
    Outcome {
        stderr,
        ..Default::default()
    }
}

/// A profile's text with every literal credential masked (`profile::secret_spans`).
fn masked(text: &str) -> String {
    let mut sources = Sources::default();
    let id = sources.add("", text);
    if let Ok(doc) = profile::parse_kdl(&sources, id) {
        for secret in profile::secret_spans(&doc, id) {
            sources.redact(secret.span());
        }
    }
    sources.get(id).text.clone()
}

// ---------------------------------------------------------------------------------------------
// docs, man, completions

/// `flinkgen docs --out DIR`: write the generated docs (profile reference, rule catalog, man page).
pub fn docs_cmd(out: &Path) -> Outcome {
    let mut stderr = String::new();
    for (rel, text) in docs::all() {
        let path = out.join(rel);
        if let Some(parent) = path.parent()
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            return fail(format!("cannot create {}: {e}", parent.display()));
        }
        if let Err(e) = write_atomic(&path, &text) {
            return fail(format!("cannot write {}: {e}", path.display()));
        }
        stderr.push_str(&format!("wrote {}\n", path.display()));
    }
    Outcome {
        stderr,
        ..Default::default()
    }
}

/// `flinkgen man [--out DIR]`: the man page on stdout, or written as DIR/flinkgen.1.
pub fn man_cmd(out: Option<&Path>) -> Outcome {
    let page = docs::man_page();
    match out {
        None => Outcome {
            stdout: page,
            ..Default::default()
        },
        Some(dir) => {
            if let Err(e) = std::fs::create_dir_all(dir) {
                return fail(format!("cannot create {}: {e}", dir.display()));
            }
            let path = dir.join("flinkgen.1");
            match write_atomic(&path, &page) {
                Ok(()) => Outcome {
                    stderr: format!("wrote {}\n", path.display()),
                    ..Default::default()
                },
                Err(e) => fail(format!("cannot write {}: {e}", path.display())),
            }
        }
    }
}

/// `flinkgen completions SHELL`: the completion script on stdout.
pub fn completions_cmd(shell: clap_complete::Shell) -> Outcome {
    Outcome {
        stdout: docs::completions(shell),
        ..Default::default()
    }
}
