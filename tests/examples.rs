//! Every example is a snapshot test: all generated files of the example, and its findings.
//! A config change shows up as a snapshot diff in review.

mod common;

use flinkgen::diag::render_human;

#[test]
fn every_example_builds_cleanly_and_matches_its_snapshot() {
    let examples = common::examples();
    assert!(
        examples.len() >= 5,
        "examples/ should hold at least five examples"
    );
    for ex in examples {
        let name = ex
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let c = common::compiled(&[&ex]);
        let errors: Vec<_> = c
            .findings
            .iter()
            .filter(|f| f.severity == flinkgen::diag::Severity::Error)
            .collect();
        assert!(
            errors.is_empty(),
            "example {name} has error findings:\n{}",
            render_human(&c.findings, &c.sources, false)
        );
        let mut all = String::new();
        for unit in common::units(&c) {
            for f in unit.files {
                all.push_str(&format!("=== {}\n{}\n", f.path, f.contents));
            }
        }
        all.push_str("=== findings\n");
        all.push_str(&render_human(&c.findings, &c.sources, false));
        insta::assert_snapshot!(format!("example-{name}"), all);
    }
}

#[test]
fn explain_names_the_origin_of_every_value_of_an_example() {
    let ex = std::path::PathBuf::from("examples/orders-enrichment.kdl");
    let c = common::compiled(&[&ex]);
    let keys = vec![
        "transaction.timeout.ms".to_string(),
        "taskmanager.memory.process.size".to_string(),
        "execution.checkpointing.incremental".to_string(),
    ];
    let text = flinkgen::explain::human(&c.plan, &keys, &c.sources);
    insta::assert_snapshot!("explain-orders-enrichment", text);
    // Every value of every document has an origin that explain can print.
    let all = flinkgen::explain::json(&c.plan, &[], &c.sources);
    let items = all.as_array().map(Vec::len).unwrap_or(0);
    let values: usize = c
        .plan
        .jobs
        .iter()
        .flat_map(|j| j.docs.values())
        .map(|d| d.entries.len())
        .sum::<usize>()
        + c.plan
            .clusters
            .iter()
            .map(|c| c.current.entries.len() + c.proposed.entries.len())
            .sum::<usize>();
    assert_eq!(items, values);
}
