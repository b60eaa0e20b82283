//! The benchmarks' fleet and pack generator (`benches/support/fleet.rs`) stays usable: a sample
//! of its profiles builds without input errors, with and without the generated organisation
//! packs, and generation is deterministic. No timing here: the benchmarks measure.

#[path = "../benches/support/fleet.rs"]
mod fleet;

use std::path::{Path, PathBuf};

use flinkgen::app::{Compiled, Options, compile};
use flinkgen::diag::{Severity, render_human};
use flinkgen::render::{environment, render_plan};

fn build(inputs: &[&Path], policies: &[&Path]) -> Compiled {
    let opts = Options {
        inputs: inputs.iter().map(|p| p.to_path_buf()).collect(),
        policies: policies.iter().map(|p| p.to_path_buf()).collect(),
        ..Default::default()
    };
    let c = match compile(&opts) {
        Ok(c) => c,
        Err((e, sources)) => panic!(
            "generated profiles have input errors:\n{}",
            render_human(&e.0, &sources, false)
        ),
    };
    let env = environment(None).unwrap_or_else(|d| panic!("{}", d.message));
    if let Err(e) = render_plan(&c.plan, &env) {
        panic!(
            "generated profiles do not render: {:?}",
            e.iter().map(|d| &d.message).collect::<Vec<_>>()
        );
    }
    c
}

fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = vec![];
    for sub in ["clusters", "jobs"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
            .unwrap_or_else(|e| panic!("read {sub}: {e}"))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("read {}: {e}", f.display()));
            out.push((f.strip_prefix(dir).unwrap_or(&f).to_path_buf(), bytes));
        }
    }
    out
}

#[test]
fn generated_fleet_builds_without_input_errors() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = work.path().join("fleet");
    let info = fleet::write_fleet(&dir, 200, fleet::SEED).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.jobs, 200);
    assert!(info.clusters >= 5, "{info:?}");

    let c = build(&[dir.as_path()], &[]);
    assert_eq!(c.plan.jobs.len(), 200);
    assert_eq!(c.plan.clusters.len(), info.clusters);
    // Varied like a fleet: every Flink minor, several clouds, both state backends.
    let facts = |name: &str| {
        let mut v: Vec<String> = c
            .plan
            .jobs
            .iter()
            .filter_map(|j| j.fact_str(name).map(str::to_string))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(
        facts("flink-version"),
        ["1.18", "1.19", "1.20", "2.0", "2.1", "2.2", "2.3"]
    );
    assert_eq!(facts("cloud").len(), 3, "{:?}", facts("cloud"));
    assert_eq!(facts("delivery").len(), 3, "{:?}", facts("delivery"));
    assert!(facts("state-backend").len() >= 2);

    // And writes: `flinkgen build` gets through emit (exit 1 is error findings, e.g. the Flink
    // 2.3 jobs no operator accepts; 2 would be unusable input).
    let out = work.path().join("out");
    let o = flinkgen::app::build(
        &Options {
            inputs: vec![dir.clone()],
            ..Default::default()
        },
        &out,
        false,
    );
    assert!(o.code < 2, "flinkgen build failed:\n{}", o.stderr);
    assert!(out.join("manifest.json").is_file());

    // Deterministic: the same seed writes the same bytes.
    let again = work.path().join("again");
    fleet::write_fleet(&again, 200, fleet::SEED).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        tree(&dir) == tree(&again),
        "fleet generation is not deterministic"
    );
}

#[test]
fn generated_packs_are_valid_and_apply_to_the_fleet() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = work.path().join("fleet");
    fleet::write_fleet(&dir, 30, fleet::SEED ^ 1).unwrap_or_else(|e| panic!("{e}"));
    let packs = work.path().join("packs");
    let info = fleet::write_packs(&packs, 10).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.packs, 10);
    assert_eq!(info.rules, 10 * fleet::BUILTIN_PRACTICE_RULES);

    let base = build(&[dir.as_path()], &[]);
    let with = build(&[dir.as_path()], &[packs.as_path()]);
    // Every generated pack applies to the jobs, and its assertions hold.
    assert_eq!(
        with.plan.packs.len(),
        base.plan.packs.len() + 10,
        "{:?}",
        with.plan.packs.iter().map(|p| &p.name).collect::<Vec<_>>()
    );
    // (Spans differ: the user packs' sources come before the profiles'.)
    let before: Vec<&String> = base.findings.iter().map(|f| &f.message).collect();
    let broken: Vec<_> = with
        .findings
        .iter()
        .filter(|f| {
            f.code
                .as_deref()
                .is_some_and(|c| c.starts_with("acme-platform"))
                || (f.severity == Severity::Error && !before.contains(&&f.message))
        })
        .map(|f| &f.message)
        .collect();
    assert!(
        broken.is_empty(),
        "the generated packs add findings: {broken:?}"
    );
}
