//! lint: existing deployment files → a Plan → the same check catalog.
//!
//! Files are read into pieces (`read`), pieces grouped into jobs and clusters and turned into a
//! Plan whose values carry spans into those files (`assemble`). What no file can tell (broker
//! count, expected downtime, restore window, versions) comes from `--fact NAME=VALUE`; a fact
//! nobody stated is assumed at the product default — or flinkgen's policy default where the
//! product has none — and every such assumption is reported, never silently invented.

mod assemble;
pub mod facts;
pub mod flink_conf;
pub mod properties;
pub mod read;
mod secrets;
pub mod sql;
pub mod yaml;

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, InputErrors, Sources};
use crate::plan::Plan;
use crate::policy::PackSet;

pub use facts::{FACTS, Facts};

/// The newest release lines flinkgen has models for: used to read files whose version nobody
/// stated (key names and types are stable across releases; the assumption is reported).
pub const LATEST_KAFKA: &str = "4.2";
pub const LATEST_FLINK: &str = "2.3";

/// File names lint reads inside a directory.
fn readable(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "properties" | "yaml" | "yml" | "sql"))
}

fn collect(path: &Path, explicit: bool, out: &mut Vec<PathBuf>) -> Result<(), Diagnostic> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Diagnostic::error(format!("cannot read {}: {e}", path.display())).with_help(
            "pass the deployment's files (flink-conf.yaml, config.yaml, *.properties, *.sql, Kubernetes or compose YAML) or directories that hold them",
        )
    })?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| {
                Diagnostic::error(format!("cannot read directory {}: {e}", path.display()))
            })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                !p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
            })
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() || readable(&p) {
                collect(&p, false, out)?;
            }
        }
    } else if explicit || readable(path) {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// What lint found: the Plan it built, the findings, and what it had to assume.
pub struct Linted {
    pub sources: Sources,
    pub packs: PackSet,
    pub plan: Plan,
    /// Check findings and notes about the files (unknown keys, unreadable values).
    pub findings: Vec<Diagnostic>,
    /// Facts no file and no `--fact` stated, with the value assumed and where it came from.
    pub assumptions: Vec<String>,
    /// Every file read and what it was read as.
    pub files: Vec<(String, String)>,
}

/// Read the files, build the Plan, run the catalog.
pub fn lint(
    paths: &[PathBuf],
    fact_args: &[String],
    policy_dirs: &[&Path],
) -> Result<Linted, (InputErrors, Sources)> {
    let mut sources = Sources::default();
    let packs = PackSet::load(&mut sources, policy_dirs).map_err(|e| (e, sources.clone()))?;
    let mut files = vec![];
    let mut errors = vec![];
    for p in paths {
        if let Err(d) = collect(p, true, &mut files) {
            errors.push(d);
        }
    }
    if paths.is_empty() {
        errors.push(
            Diagnostic::error("no files given")
                .with_help("e.g. `flinkgen lint deploy/flink-conf.yaml deploy/producer.properties --fact brokers=3`"),
        );
    }
    let mut texts = vec![];
    for f in files {
        let name = display_path(&f);
        match crate::profile::read_bounded(&f) {
            Ok(t) => texts.push((name, t)),
            Err(e) => errors.push(
                Diagnostic::error(format!("cannot read {name}: {e}"))
                    .with_help("lint reads UTF-8 text files"),
            ),
        }
    }
    if !errors.is_empty() {
        return Err((InputErrors(errors), sources));
    }
    lint_texts(texts, fact_args, packs, sources)
}

/// The pure part of `lint`: named file texts (as read) → findings. `sources` already holds
/// the packs' files.
pub fn lint_texts(
    texts: Vec<(String, String)>,
    fact_args: &[String],
    packs: PackSet,
    mut sources: Sources,
) -> Result<Linted, (InputErrors, Sources)> {
    let facts = Facts::parse(&mut sources, fact_args).map_err(|e| (e, sources.clone()))?;
    let mut errors = vec![];
    let mut pieces = vec![];
    let mut read_as = vec![];
    let first_file = sources.files().len() as u32;
    for (name, text) in texts {
        let id = sources.add(name.clone(), text);
        match read::read(&name, id, &sources.get(id).text) {
            Ok(p) => {
                read_as.push((name, describe(&p)));
                pieces.extend(p);
            }
            Err(d) => errors.push(d),
        }
    }
    if !errors.is_empty() {
        return Err((InputErrors(errors), sources));
    }
    // Before anything is reported: no report may show a literal credential of these files.
    let credentials = secrets::screen(&pieces, &mut sources);
    for id in first_file..sources.files().len() as u32 {
        secrets::mask_text(&mut sources, id);
    }
    let built = assemble::assemble(pieces, &facts, &packs);
    let mut findings = crate::check::check(&built.plan, &packs);
    findings.extend(built.notes);
    findings.extend(credentials);
    Ok(Linted {
        sources,
        packs,
        plan: built.plan,
        findings,
        assumptions: built.assumptions,
        files: read_as,
    })
}

fn describe(pieces: &[read::Piece]) -> String {
    use read::Piece;
    let names: Vec<&str> = pieces
        .iter()
        .map(|p| match p {
            Piece::Flink { .. } => "Flink configuration",
            Piece::Deployment { .. } => "FlinkDeployment",
            Piece::Client { kind, .. } => match kind {
                crate::plan::DocKind::Producer => "producer properties",
                crate::plan::DocKind::Consumer => "consumer properties",
                _ => "downstream consumer properties",
            },
            Piece::SinkSettings { .. } => "KafkaSink builder settings",
            Piece::Tables { .. } => "Flink SQL tables",
            Piece::Broker { deployment, .. } => match *deployment {
                "strimzi" => "Strimzi Kafka",
                "bitnami" => "bitnami/kafka values",
                _ => "broker settings",
            },
            Piece::Topic { .. } => "topic settings",
            Piece::Image { .. } => "container image",
        })
        .collect();
    if names.is_empty() {
        "nothing lint reads".into()
    } else {
        let mut n = names;
        n.dedup();
        n.join(", ")
    }
}
