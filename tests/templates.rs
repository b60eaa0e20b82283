//! Templates: every interpolation goes through a format's escaping filter, and `--templates`
//! replaces built-in templates by name.

mod common;

use flinkgen::app::build;

const ESCAPING_FILTERS: [&str; 8] = [
    "yaml",
    "yaml_string",
    "prop_key",
    "prop_value",
    "sql",
    "comment",
    "flink_conf_key",
    "flink_conf_value",
];

#[test]
fn no_template_pastes_a_raw_value() {
    for entry in
        std::fs::read_dir(common::root().join("templates")).unwrap_or_else(|e| panic!("{e}"))
    {
        let path = entry.map(|e| e.path()).unwrap_or_default();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("{{") {
            let end = rest[start..].find("}}").map_or(rest.len(), |e| start + e);
            let expr = rest[start + 2..end].trim();
            let last_filter = expr.rsplit('|').next().map(str::trim).unwrap_or_default();
            assert!(
                expr.contains('|') && ESCAPING_FILTERS.contains(&last_filter),
                "{}: `{{{{ {expr} }}}}` must end with an escaping filter ({})",
                path.display(),
                ESCAPING_FILTERS.join(", ")
            );
            rest = &rest[end..];
        }
    }
}

#[test]
fn a_template_directory_replaces_built_in_templates_by_name() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("client.properties.j2"), "# custom\n{% for e in entries %}{{ e.key|prop_key }} = {{ e.value|prop_value }}\n{% endfor %}")
        .unwrap_or_else(|e| panic!("{e}"));
    let ex = common::root().join("examples/stateless-router.kdl");
    let mut opts = common::options(&[&ex]);
    opts.templates = Some(dir.path().to_path_buf());
    let out = dir.path().join("out");
    let r = build(&opts, &out, false);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let producer =
        std::fs::read_to_string(out.join("jobs/stateless-router/kafka/producer.properties"))
            .unwrap_or_default();
    assert!(
        producer.starts_with("# custom\nbootstrap.servers = kafka.dev.svc\\:9092\n"),
        "{producer}"
    );

    std::fs::write(dir.path().join("nonsense.j2"), "x").unwrap_or_else(|e| panic!("{e}"));
    let r = build(&opts, &dir.path().join("out2"), false);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("replaces no built-in template"),
        "{}",
        r.stderr
    );
}
