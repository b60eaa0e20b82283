//! The command-line definition (clap) and its dispatch to `app`. Lives in the library so that
//! completions, the man page and the docs are generated from the same definition.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::app::{self, Format, Options, Outcome};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "flinkgen",
    version,
    about = "Compiles Flink job and Kafka cluster profiles into consistent, checked configuration"
)]
pub struct Cli {
    /// Colour in diagnostics: `auto` colours only when stderr is a terminal and NO_COLOR is
    /// unset or empty (https://no-color.org).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorArg,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

impl ColorArg {
    /// Whether to colour stderr.
    pub fn enabled(self) -> bool {
        match self {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Human,
    Json,
    /// SARIF 2.1.0, for code scanning (build and check).
    Sarif,
}

#[derive(clap::Args)]
pub struct Common {
    /// Extra policy packs: every *.kdl below DIR (repeatable).
    #[arg(long = "policies", value_name = "DIR")]
    pub policies: Vec<PathBuf>,
    /// Output format for findings and reports.
    #[arg(long, value_enum, default_value = "human")]
    pub format: FormatArg,
}

#[derive(Subcommand)]
pub enum Command {
    /// Build every artifact of the given job and cluster profiles (files or directories).
    Build {
        #[arg(required = true, value_name = "PROFILE")]
        inputs: Vec<PathBuf>,
        /// Output directory.
        #[arg(short, long, default_value = "out")]
        out: PathBuf,
        /// Write nothing: print a diff against the output directory and exit 1 on drift.
        #[arg(long)]
        check: bool,
        /// Replace built-in templates with the same-named *.j2 files of DIR.
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        /// fsync every written file and directory before reporting success (also
        /// FLINKGEN_FSYNC=1). Without it, renames keep the output whole if flinkgen dies, but
        /// not if the machine loses power.
        #[arg(long)]
        fsync: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Run the rule catalog and the packs' assertions; write nothing.
    Check {
        #[arg(required = true, value_name = "PROFILE")]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Show where values come from. Arguments that are files or directories are profiles;
    /// the others are keys (e.g. taskmanager.memory.process.size).
    Explain {
        #[arg(required = true, value_name = "PROFILE|KEY")]
        args: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Show how every artifact and finding changes under other versions or policy packs.
    Diff {
        #[arg(required = true, value_name = "PROFILE")]
        inputs: Vec<PathBuf>,
        /// Compare with this Flink version (e.g. 2.0).
        #[arg(long)]
        flink: Option<String>,
        /// Compare with this Flink Kubernetes Operator version.
        #[arg(long)]
        operator: Option<String>,
        /// Compare with this Flink Kafka connector version.
        #[arg(long)]
        connector: Option<String>,
        /// Compare with this Kafka version for every cluster.
        #[arg(long)]
        kafka: Option<String>,
        /// Compare with these policy packs added (e.g. the next version of your organisation's packs).
        #[arg(long = "policies-next", value_name = "DIR")]
        policies_next: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Run the check catalog over an existing deployment's files (flink-conf.yaml, config.yaml,
    /// *.properties, Flink SQL, FlinkDeployment, Strimzi Kafka, bitnami values, docker-compose).
    Lint {
        #[arg(required = true, value_name = "FILE|DIR")]
        inputs: Vec<PathBuf>,
        /// What the files cannot tell, e.g. brokers=3, max-downtime=10min, restorable-for=7d,
        /// delivery=exactly-once, kafka-version=3.9, flink-version=1.20 (repeatable).
        #[arg(long = "fact", value_name = "NAME=VALUE")]
        facts: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Turn an existing deployment's files into starting job and cluster profiles (reports what
    /// the profile language cannot express).
    Import {
        #[arg(required = true, value_name = "FILE|DIR")]
        inputs: Vec<PathBuf>,
        /// What the files cannot tell (as for `lint`).
        #[arg(long = "fact", value_name = "NAME=VALUE")]
        facts: Vec<String>,
        /// Directory for the profiles.
        #[arg(short, long, default_value = "profiles")]
        out: PathBuf,
        /// Replace profiles that already exist.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Print the JSON Schema of a profile kind, or of the Helm values for charts/flinkgen-job.
    Schema {
        #[arg(default_value = "job", value_parser = ["job", "cluster", "helm-values"])]
        kind: String,
    },
    /// List the rule catalog.
    Rules,
    /// Show one rule's documentation.
    Rule { code: String },
    /// List the instance catalog.
    Instances {
        #[command(flatten)]
        common: Common,
    },
    /// List the policy packs (name, version, layer, file, sha256) and, given profiles, the packs
    /// and product versions each job and cluster uses.
    Policies {
        #[arg(value_name = "PROFILE")]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Write a commented starter profile (never overwrites a file).
    Init {
        /// What to write: a job, a cluster, or both in one file (a job that builds on its own).
        #[arg(long, default_value = "both", value_parser = ["job", "cluster", "both"])]
        kind: String,
        /// The file to create; `-` writes to stdout.
        #[arg(default_value = "profile.kdl")]
        path: PathBuf,
    },
    /// Format KDL profiles (files or directories), keeping every comment.
    Fmt {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Write nothing: print a diff and exit 1 when a file would change.
        #[arg(long)]
        check: bool,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write it into a directory.
    Man {
        /// Write DIR/flinkgen.1 instead of printing.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Regenerate the generated docs: profile reference, rule catalog and man page.
    Docs {
        /// The docs directory (the repository's is `docs`).
        #[arg(long, value_name = "DIR", default_value = "docs")]
        out: PathBuf,
    },
}

fn options(
    inputs: Vec<PathBuf>,
    common: Common,
    templates: Option<PathBuf>,
    color: bool,
) -> Options {
    Options {
        inputs,
        policies: common.policies,
        templates,
        format: match common.format {
            FormatArg::Human => Format::Human,
            FormatArg::Json => Format::Json,
            FormatArg::Sarif => Format::Sarif,
        },
        color,
        versions: app::VersionOverrides::default(),
        fsync: false,
    }
}

/// Run one parsed command line.
pub fn run(cli: Cli) -> Outcome {
    let color = cli.color.enabled();
    // What reaches the terminal quotes files and packs anyone may have written.
    let mut outcome = run_command(cli, color);
    for text in [&mut outcome.stdout, &mut outcome.stderr] {
        if let std::borrow::Cow::Owned(safe) = crate::diag::terminal_safe(text, color) {
            *text = safe;
        }
    }
    outcome
}

fn run_command(cli: Cli, color: bool) -> Outcome {
    if let Some(name) = sarif_unsupported(&cli.command) {
        return Outcome {
            stderr: format!("error: --format sarif applies to build, check and lint, not {name}\n"),
            code: 2,
            ..Default::default()
        };
    }
    match cli.command {
        Command::Build {
            inputs,
            out,
            check,
            templates,
            fsync,
            common,
        } => {
            let mut opts = options(inputs, common, templates, color);
            opts.fsync = fsync || std::env::var("FLINKGEN_FSYNC").is_ok_and(|v| v == "1");
            app::build(&opts, &out, check)
        }
        Command::Check { inputs, common } => app::check_cmd(&options(inputs, common, None, color)),
        Command::Explain { args, common } => {
            let (paths, keys): (Vec<String>, Vec<String>) = args
                .into_iter()
                .partition(|a| a.ends_with(".kdl") || std::path::Path::new(a).exists());
            app::explain_cmd(
                &options(
                    paths.into_iter().map(PathBuf::from).collect(),
                    common,
                    None,
                    color,
                ),
                &keys,
            )
        }
        Command::Diff {
            inputs,
            flink,
            operator,
            connector,
            kafka,
            policies_next,
            common,
        } => {
            let mut opts = options(inputs, common, None, color);
            opts.versions = app::VersionOverrides {
                flink,
                operator,
                connector,
                kafka,
            };
            app::diff_cmd(&opts, &policies_next)
        }
        Command::Lint {
            inputs,
            facts,
            common,
        } => app::lint_cmd(&options(inputs, common, None, color), &facts),
        Command::Import {
            inputs,
            facts,
            out,
            force,
            common,
        } => app::import_cmd(&options(inputs, common, None, color), &facts, &out, force),
        Command::Schema { kind } => app::schema_cmd(&kind),
        Command::Rules => app::rules_cmd(None),
        Command::Rule { code } => app::rules_cmd(Some(&code)),
        Command::Instances { common } => app::instances_cmd(&options(vec![], common, None, color)),
        Command::Policies { inputs, common } => {
            app::policies_cmd(&options(inputs, common, None, color))
        }
        Command::Init { kind, path } => app::init_cmd(Some(&kind), &path),
        Command::Fmt { paths, check } => app::fmt_cmd(&paths, check, color),
        Command::Completions { shell } => app::completions_cmd(shell),
        Command::Man { out } => app::man_cmd(out.as_deref()),
        Command::Docs { out } => app::docs_cmd(&out),
    }
}

/// The commands that take `--format` but have no SARIF form (their output is not findings).
fn sarif_unsupported(c: &Command) -> Option<&'static str> {
    let (name, common) = match c {
        Command::Explain { common, .. } => ("explain", common),
        Command::Diff { common, .. } => ("diff", common),
        Command::Instances { common } => ("instances", common),
        Command::Policies { common, .. } => ("policies", common),
        Command::Import { common, .. } => ("import", common),
        _ => return None,
    };
    (common.format == FormatArg::Sarif).then_some(name)
}
