//! People and editors: `init`, `fmt`, colour, completions, the man page and the generated docs.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use flinkgen::app::{self, Options};
use flinkgen::diag::{Severity, render_human};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flinkgen"));
    c.env_remove("NO_COLOR").stdin(Stdio::null());
    c
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn comments(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.find("//").map(|i| l[i..].trim_end().to_string()))
        .collect()
}

/// The profile JSON of every job and cluster of the given files, in order.
fn profile_json(files: &[PathBuf]) -> serde_json::Value {
    let mut sources = flinkgen::diag::Sources::default();
    let mut profiles = flinkgen::profile::Profiles::default();
    for f in files {
        let id = sources.add(f.display().to_string(), read(f));
        if let Err(e) = flinkgen::profile::load_file(&sources, id, &mut profiles) {
            panic!("{}", render_human(&e.0, &sources, false));
        }
    }
    serde_json::json!({
        "jobs": profiles.jobs.iter().map(|j| serde_json::to_value(&j.value).unwrap_or_default()).collect::<Vec<_>>(),
        "clusters": profiles.clusters.iter().map(|c| serde_json::to_value(&c.value).unwrap_or_default()).collect::<Vec<_>>(),
    })
}

// ---------------------------------------------------------------------------------------------
// init

#[test]
fn init_starters_build_clean_and_are_formatted() {
    let dir = tmp();
    let both = dir.path().join("profile.kdl");
    let o = app::init_cmd(None, &both);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let job = dir.path().join("jobs/job.kdl");
    let cluster = dir.path().join("clusters/cluster.kdl");
    for p in [&job, &cluster] {
        std::fs::create_dir_all(p.parent().unwrap_or(dir.path())).unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(app::init_cmd(Some("job"), &job).code, 0);
    assert_eq!(app::init_cmd(Some("cluster"), &cluster).code, 0);

    for inputs in [vec![both.clone()], vec![job.clone(), cluster.clone()]] {
        let opts = Options {
            inputs: inputs.clone(),
            ..Default::default()
        };
        let out = dir.path().join("out");
        let o = app::build(&opts, &out, false);
        assert_eq!(
            o.code, 0,
            "starter {inputs:?} does not build:\n{}",
            o.stderr
        );
        let c = common::compiled(&inputs.iter().map(PathBuf::as_path).collect::<Vec<_>>());
        let loud: Vec<_> = c
            .findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .collect();
        assert!(loud.is_empty(), "starter has warnings: {loud:?}");
    }
    // Comments explain every node; fmt keeps all of them and changes nothing.
    let text = read(&both);
    let cs = comments(&text);
    assert!(cs.len() >= 15, "a commented starter: {} comments", cs.len());
    let f = flinkgen::fmt::format_checked(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f, text, "the starter is formatted");
    assert_eq!(comments(&f), cs);
}

#[test]
fn init_refuses_to_overwrite_and_writes_stdout_for_dash() {
    let dir = tmp();
    let p = dir.path().join("mine.kdl");
    std::fs::write(&p, "// mine\n").unwrap_or_else(|e| panic!("{e}"));
    let o = app::init_cmd(None, &p);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("already exists"), "{}", o.stderr);
    assert_eq!(read(&p), "// mine\n", "left untouched");

    let o = bin()
        .args(["init", "--kind", "cluster", "-"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        flinkgen::commands::STARTER_CLUSTER
    );

    let o = app::init_cmd(None, &dir.path().join("no/such/dir/p.kdl"));
    assert_eq!(o.code, 2);
}

// ---------------------------------------------------------------------------------------------
// fmt

/// Every KDL file the project ships: examples, built-in packs, test fixtures, the starters.
fn all_kdl() -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(d) else {
            return;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "kdl") {
                out.push(p);
            }
        }
    }
    let mut v = vec![];
    for d in ["examples", "policies", "tests", "src/starter"] {
        walk(Path::new(d), &mut v);
    }
    v.sort();
    v
}

/// A messy layout of a formatted file: every indentation, blank-line, trailing-space and CRLF
/// change that fmt undoes, so formatting has something to do.
fn messed_up(text: &str) -> String {
    let mut out = String::from("\n\n");
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            out.push_str("\n \n\t\n");
            continue;
        }
        if trimmed.starts_with('}') {
            out.push_str("\n\n");
        }
        let indent = [0, 1, 3, 7, 2][i % 5];
        out.push_str(&" ".repeat(indent));
        out.push_str(trimmed);
        out.push_str(if i % 3 == 0 { "   \r\n" } else { "\n" });
        if trimmed.ends_with('{') {
            out.push_str("\n  \n");
        }
    }
    out.push_str("\n\n\n");
    out
}

#[test]
fn fmt_keeps_meaning_and_comments_and_is_idempotent() {
    let files = all_kdl();
    assert!(files.len() >= 40, "{} KDL files", files.len());
    let dir = tmp();
    for f in &files {
        let text = read(f);
        let formatted =
            flinkgen::fmt::format_checked(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert_eq!(
            flinkgen::fmt::format_text(&formatted),
            formatted,
            "{}: not idempotent",
            f.display()
        );
        assert_eq!(
            comments(&formatted),
            comments(&text),
            "{}: comments",
            f.display()
        );
        // The shipped files are formatted already (so CI's `flinkgen fmt --check` passes).
        assert_eq!(
            formatted,
            text,
            "{} is not formatted: run `cargo run -- fmt {}`",
            f.display(),
            f.display()
        );

        // A messed-up layout formats back to the same text.
        let messy = messed_up(&text);
        let back = flinkgen::fmt::format_checked(&messy)
            .unwrap_or_else(|e| panic!("{} (messed up): {e}", f.display()));
        assert_eq!(
            back,
            text,
            "{}: messy layout does not format back",
            f.display()
        );

        // Profiles load to the same JSON before and after.
        if f.starts_with("examples") || f.starts_with("src/starter") || f.starts_with("tests/data")
        {
            let p = dir.path().join("messy.kdl");
            std::fs::write(&p, &messy).unwrap_or_else(|e| panic!("{e}"));
            let q = dir.path().join("formatted.kdl");
            std::fs::write(&q, &back).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(profile_json(&[p]), profile_json(&[q]), "{}", f.display());
        }
    }
}

#[test]
fn fmt_leaves_strings_and_block_comments_alone() {
    let src = "job \"a\" {\n  s \"\"\"\n      kept   \n    as is\n    \"\"\"\n  r #\"}{\"#  \n    /* a\n  block */ x 1\n  y \"tab\\\n      continued\"\n}\n";
    let f = flinkgen::fmt::format_checked(src).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        f.contains("    s \"\"\"\n      kept   \n    as is\n    \"\"\"\n"),
        "{f}"
    );
    assert!(f.contains("\n    r #\"}{\"#\n"), "{f}");
    assert!(f.contains("\n    /* a\n  block */ x 1\n"), "{f}");
    assert!(f.contains("\n    y \"tab\\\n      continued\"\n}\n"), "{f}");
}

#[test]
fn fmt_command_check_diff_atomic_write_and_bad_input() {
    let dir = tmp();
    let p = dir.path().join("p.kdl");
    let text = read(Path::new("examples/orders-enrichment.kdl"));
    let messy = messed_up(&text);
    std::fs::write(&p, &messy).unwrap_or_else(|e| panic!("{e}"));

    let o = app::fmt_cmd(std::slice::from_ref(&p), true, false);
    assert_eq!(o.code, 1, "--check on an unformatted file exits 1");
    assert!(
        o.stdout.contains("--- a/") && o.stdout.contains("+++ b/"),
        "{}",
        o.stdout
    );
    assert_eq!(read(&p), messy, "--check writes nothing");

    let o = app::fmt_cmd(&[dir.path().to_path_buf()], false, false);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(read(&p), text);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");

    let o = app::fmt_cmd(std::slice::from_ref(&p), true, false);
    assert_eq!(o.code, 0);
    assert!(o.stdout.is_empty());

    // Not KDL v2: exit 2 with a diagnostic, nothing written.
    let bad = dir.path().join("bad.kdl");
    std::fs::write(&bad, "job \"x\" {\n  flag true\n").unwrap_or_else(|e| panic!("{e}"));
    let o = app::fmt_cmd(&[p.clone(), bad.clone()], false, false);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("bad.kdl"), "{}", o.stderr);
    assert_eq!(
        app::fmt_cmd(&[dir.path().join("missing.kdl")], false, false).code,
        2
    );
}

// ---------------------------------------------------------------------------------------------
// colour

fn has_ansi(s: &[u8]) -> bool {
    s.windows(2).any(|w| w == b"\x1b[")
}

#[test]
fn colour_follows_no_color_tty_and_the_flag() {
    let (_d, p) = common::profile("job \"x\" {\n    environment \"prod\n}\n");
    let p = p.to_string_lossy().to_string();
    // Output is piped here, so `auto` means no colour.
    let auto = bin()
        .args(["check", &p])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(auto.status.code(), Some(2));
    assert!(!auto.stderr.is_empty());
    assert!(!has_ansi(&auto.stderr), "piped output has no colour");

    let no_color = bin()
        .env("NO_COLOR", "1")
        .args(["check", &p])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!has_ansi(&no_color.stderr));

    let never = bin()
        .args(["--color", "never", "check", &p])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!has_ansi(&never.stderr));

    let always = bin()
        .args(["check", &p, "--color", "always"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(always.status.code(), Some(2));
    assert!(
        has_ansi(&always.stderr),
        "--color always colours even when piped"
    );

    let bad = bin()
        .args(["--color", "sometimes", "rules"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bad.status.code(), Some(2));
}

// ---------------------------------------------------------------------------------------------
// completions, man page, generated docs

#[test]
fn completions_cover_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = bin()
            .args(["completions", shell])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&o.stdout);
        for sub in [
            "build",
            "check",
            "fmt",
            "init",
            "policies",
            "completions",
            "rules",
        ] {
            assert!(text.contains(sub), "{shell} completions lack {sub}");
        }
    }
    let o = bin()
        .args(["completions", "tcsh"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn generated_docs_are_current() {
    for (rel, generated) in flinkgen::docs::all() {
        let path = common::root().join("docs").join(rel);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "docs/{rel} is stale: run `{}`",
            flinkgen::docs::REGENERATE
        );
    }
}

#[test]
fn man_page_and_docs_commands_write_what_docs_all_generates() {
    let dir = tmp();
    let o = bin().arg("man").output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        flinkgen::docs::man_page()
    );
    assert!(
        flinkgen::docs::man_page().contains(".SH SUBCOMMANDS")
            || flinkgen::docs::man_page().contains("flinkgen\\-fmt")
    );
    let o = app::docs_cmd(dir.path());
    assert_eq!(o.code, 0, "{}", o.stderr);
    for (rel, text) in flinkgen::docs::all() {
        assert_eq!(read(&dir.path().join(rel)), text);
    }
}

#[test]
fn docs_cover_every_schema_field_and_every_rule() {
    let reference = flinkgen::docs::profile_reference();
    for schema in [
        flinkgen::profile::job_schema(),
        flinkgen::profile::cluster_schema(),
    ] {
        let mut objects = vec![schema];
        objects.extend(
            schema["$defs"]
                .as_object()
                .into_iter()
                .flat_map(|d| d.values()),
        );
        for o in objects {
            for name in o["properties"]
                .as_object()
                .into_iter()
                .flat_map(|p| p.keys())
            {
                assert!(
                    reference.contains(&format!("| `{name}` |")),
                    "field {name} undocumented"
                );
            }
            if let Some(ex) = o["x-kdl-example"].as_str() {
                assert!(reference.contains(ex), "example {ex} missing");
            }
        }
    }
    // No field without a description.
    for line in reference.lines().filter(|l| l.starts_with("| `")) {
        assert!(
            !line.ends_with("|  |"),
            "field without a description: {line}"
        );
    }
    let rules = flinkgen::docs::rules_md();
    for c in flinkgen::check::catalog() {
        assert!(rules.contains(&format!("\n## {}\n", c.code)));
        for text in [c.summary, c.why, c.fix] {
            assert!(rules.contains(text), "{}: {text}", c.code);
        }
    }
}
