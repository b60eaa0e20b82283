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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Human,
    Json,
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
    /// Print the JSON Schema of a profile kind.
    Schema {
        #[arg(default_value = "job", value_parser = ["job", "cluster"])]
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
}

fn options(inputs: Vec<PathBuf>, common: Common, templates: Option<PathBuf>) -> Options {
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stderr().is_terminal();
    Options {
        inputs,
        policies: common.policies,
        templates,
        format: match common.format {
            FormatArg::Human => Format::Human,
            FormatArg::Json => Format::Json,
        },
        color,
        versions: app::VersionOverrides::default(),
        fsync: false,
    }
}

/// Run one parsed command line.
pub fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::Build {
            inputs,
            out,
            check,
            templates,
            fsync,
            common,
        } => {
            let mut opts = options(inputs, common, templates);
            opts.fsync = fsync || std::env::var("FLINKGEN_FSYNC").is_ok_and(|v| v == "1");
            app::build(&opts, &out, check)
        }
        Command::Check { inputs, common } => app::check_cmd(&options(inputs, common, None)),
        Command::Explain { args, common } => {
            let (paths, keys): (Vec<String>, Vec<String>) = args
                .into_iter()
                .partition(|a| a.ends_with(".kdl") || std::path::Path::new(a).exists());
            app::explain_cmd(
                &options(paths.into_iter().map(PathBuf::from).collect(), common, None),
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
            let mut opts = options(inputs, common, None);
            opts.versions = app::VersionOverrides {
                flink,
                operator,
                connector,
                kafka,
            };
            app::diff_cmd(&opts, &policies_next)
        }
        Command::Schema { kind } => app::schema_cmd(&kind),
        Command::Rules => app::rules_cmd(None),
        Command::Rule { code } => app::rules_cmd(Some(&code)),
        Command::Instances { common } => app::instances_cmd(&options(vec![], common, None)),
    }
}
