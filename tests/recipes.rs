//! The CI recipes (docs/ci/github-actions.yml, docs/ci/gitlab-ci.yml, .pre-commit-hooks.yaml)
//! are parsed, their flinkgen commands extracted (`run:`, `script:`, `entry:` + `args:`) and run
//! with the built binary in a temp repository: examples/ copied to `profiles/` (the path the
//! recipes use) and `generated/` built and "committed". Asserted: what the recipes rely on —
//! exit 0 on a clean tree, exit 1 on drift after a profile is edited, a valid SARIF log.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(common::root().join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

/// One command line of a recipe: arguments and an optional `> file` redirection. The recipes
/// keep to this subset of shell on purpose, so what runs here is what runs in CI.
#[derive(Debug, Clone)]
struct Cmd {
    args: Vec<String>,
    stdout_to: Option<String>,
}

fn parse_line(line: &str) -> Cmd {
    assert!(
        !line.contains(['|', '&', ';', '"', '\'', '$', '`']),
        "recipe command outside the tested subset of shell: {line}"
    );
    let mut args = vec![];
    let mut stdout_to = None;
    let mut words = line.split_whitespace();
    while let Some(w) = words.next() {
        if w == ">" {
            stdout_to = words.next().map(str::to_string);
        } else {
            args.push(w.to_string());
        }
    }
    assert_eq!(args.first().map(String::as_str), Some("flinkgen"), "{line}");
    args.remove(0);
    Cmd { args, stdout_to }
}

fn flinkgen_lines(text: &str) -> Vec<Cmd> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("flinkgen "))
        .map(parse_line)
        .collect()
}

fn github() -> (Vec<Cmd>, Value) {
    let wf = yaml("docs/ci/github-actions.yml");
    let mut cmds = vec![];
    let mut upload = Value::Null;
    for job in wf["jobs"].as_object().into_iter().flat_map(|j| j.values()) {
        for step in job["steps"].as_array().into_iter().flatten() {
            if let Some(run) = step["run"].as_str() {
                cmds.extend(flinkgen_lines(run));
            }
            if step["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
            {
                upload = step.clone();
            }
        }
    }
    (cmds, upload)
}

fn gitlab() -> (Vec<Cmd>, Value) {
    let ci = yaml("docs/ci/gitlab-ci.yml");
    let job = &ci["flinkgen"];
    let cmds = job["script"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .flat_map(flinkgen_lines)
        .collect();
    (cmds, job["artifacts"].clone())
}

/// pre-commit hooks: `entry` + `args`, plus the matching files when `pass_filenames` is not off.
fn pre_commit(repo: &Path) -> Vec<(String, Cmd)> {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let mut out = vec![];
    for h in hooks.as_array().into_iter().flatten() {
        let id = h["id"].as_str().unwrap_or_default().to_string();
        let mut cmd = parse_line(h["entry"].as_str().unwrap_or_default());
        cmd.args.extend(
            h["args"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string),
        );
        assert_eq!(h["files"], "\\.kdl$", "{id} runs on KDL files");
        if h["pass_filenames"] != Value::Bool(false) {
            cmd.args
                .extend(kdl_below(&repo.join("profiles")).into_iter().map(|p| {
                    p.strip_prefix(repo)
                        .unwrap_or(&p)
                        .to_string_lossy()
                        .to_string()
                }));
        }
        out.push((id, cmd));
    }
    out
}

fn kdl_below(d: &Path) -> Vec<PathBuf> {
    let mut v = vec![];
    for e in std::fs::read_dir(d)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
    {
        let p = e.path();
        if p.is_dir() {
            v.extend(kdl_below(&p));
        } else if p.extension().is_some_and(|x| x == "kdl") {
            v.push(p);
        }
    }
    v.sort();
    v
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for e in std::fs::read_dir(from)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
    {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// A temp repository: profiles/ = examples/, generated/ built from them.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_dir(
        &common::root().join("examples"),
        &dir.path().join("profiles"),
    );
    let setup = parse_line("flinkgen build profiles/ -o generated");
    assert_eq!(run(dir.path(), &setup).0, 0);
    dir
}

/// Run a recipe command in `cwd`; returns the exit code and stderr.
fn run(cwd: &Path, cmd: &Cmd) -> (i32, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flinkgen"));
    c.args(&cmd.args).current_dir(cwd).stdin(Stdio::null());
    let o = c.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    if let Some(f) = &cmd.stdout_to {
        std::fs::write(cwd.join(f), &o.stdout).unwrap_or_else(|e| panic!("{e}"));
    }
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn sarif_file(cwd: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(cwd.join(name)).unwrap_or_else(|e| panic!("{e}"));
    let log: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    common::sarif::assert_valid_sarif(&log);
    // Locations are relative to the repository root, where the recipes run flinkgen.
    for r in log["runs"][0]["results"].as_array().into_iter().flatten() {
        for l in r["locations"].as_array().into_iter().flatten() {
            let uri = l["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap_or("");
            assert!(uri.starts_with("profiles/"), "{uri}");
            assert!(cwd.join(uri).is_file(), "{uri} is a file of the repository");
        }
    }
    log
}

/// Edit a profile so that its generated files change (one more partition on a source topic).
fn drift(cwd: &Path) {
    let p = cwd.join("profiles/orders-enrichment.kdl");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
    let edited = text.replacen("partitions=48", "partitions=64", 1);
    assert_ne!(edited, text);
    std::fs::write(&p, edited).unwrap_or_else(|e| panic!("{e}"));
}

/// The CI commands of a recipe: formatting, drift and SARIF, on a clean tree and after drift.
fn exercise_ci(cmds: &[Cmd]) -> String {
    let has = |word: &str, flag: &str| {
        cmds.iter().any(|c| {
            c.args.first().map(String::as_str) == Some(word) && c.args.iter().any(|a| a == flag)
        })
    };
    assert!(
        has("build", "--check"),
        "the recipe checks for drift: {cmds:?}"
    );
    assert!(has("check", "sarif"), "the recipe writes SARIF: {cmds:?}");
    let sarif_out = cmds
        .iter()
        .find_map(|c| c.stdout_to.clone())
        .unwrap_or_else(|| panic!("the SARIF log is redirected to a file"));

    let clean = repo();
    for c in cmds {
        let (code, err) = run(clean.path(), c);
        assert_eq!(
            code,
            0,
            "on a clean tree `{}` exits 0:\n{err}",
            c.args.join(" ")
        );
    }
    sarif_file(clean.path(), &sarif_out);

    let drifted = repo();
    drift(drifted.path());
    for c in cmds {
        let (code, err) = run(drifted.path(), c);
        let want = i32::from(c.args.iter().any(|a| a == "--check") && c.args[0] == "build");
        assert_eq!(
            code,
            want,
            "after editing a profile `{}`:\n{err}",
            c.args.join(" ")
        );
    }
    sarif_file(drifted.path(), &sarif_out);
    sarif_out
}

#[test]
fn github_actions_workflow() {
    let (cmds, upload) = github();
    let sarif = exercise_ci(&cmds);
    assert_eq!(
        upload["with"]["sarif_file"],
        sarif.as_str(),
        "uploads what check wrote"
    );
    assert_eq!(
        upload["if"], "always()",
        "uploads findings when the check failed too"
    );
    let wf = yaml("docs/ci/github-actions.yml");
    assert_eq!(wf["permissions"]["security-events"], "write");
    let install = wf["jobs"]["flinkgen"]["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["run"].as_str())
        .any(|r| r.starts_with("cargo install --locked --git"));
    assert!(install, "installs flinkgen");
}

#[test]
fn gitlab_ci_job() {
    let (cmds, artifacts) = gitlab();
    let sarif = exercise_ci(&cmds);
    assert_eq!(artifacts["paths"][0], sarif.as_str());
    assert_eq!(artifacts["when"], "always");
}

#[test]
fn pre_commit_hooks() {
    let clean = repo();
    let hooks = pre_commit(clean.path());
    let ids: Vec<&str> = hooks.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["flinkgen-fmt", "flinkgen-check"]);
    for (id, c) in &hooks {
        let (code, err) = run(clean.path(), c);
        assert_eq!(code, 0, "{id} on a clean tree:\n{err}");
    }
    // An unformatted profile: the fmt hook rewrites it (pre-commit then fails the commit because
    // a file changed) and leaves it formatted.
    let p = clean.path().join("profiles/stateless-router.kdl");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&p, text.replace("\n    ", "\n  ")).unwrap_or_else(|e| panic!("{e}"));
    let (_, fmt) = &hooks[0];
    assert_eq!(run(clean.path(), fmt).0, 0);
    assert_eq!(std::fs::read_to_string(&p).unwrap_or_default(), text);
    // A profile with an error finding fails the check hook.
    let broken = clean.path().join("profiles/orders-enrichment.kdl");
    let t = std::fs::read_to_string(&broken).unwrap_or_default();
    std::fs::write(
        &broken,
        t.replacen(
            "override \"flink\"",
            "override \"producer\" \"transaction.timeout.ms\" \"99999999\"\n    override \"flink\"",
            1,
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (_, check) = &hooks[1];
    assert_eq!(run(clean.path(), check).0, 1);

    // The sample configuration in docs/ci/README.md uses these hooks.
    let readme =
        std::fs::read_to_string(common::root().join("docs/ci/README.md")).unwrap_or_default();
    let block = readme
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap_or_else(|| panic!("no yaml block in docs/ci/README.md"));
    let cfg: Value = serde_saphyr::from_str(block).unwrap_or_else(|e| panic!("{e}"));
    let used: Vec<&str> = cfg["repos"][0]["hooks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["id"].as_str())
        .collect();
    assert_eq!(used, ids);
}
