//! Templates: every interpolation goes through a format's escaping filter, and `--templates`
//! replaces built-in templates by name.

mod common;
// The fleet generator includes tests/common/rng.rs for itself (the benchmark has no `common`);
// both copies are the same file.
#[allow(clippy::duplicate_mod)]
#[path = "../benches/support/fleet.rs"]
mod fleet;

use std::collections::BTreeSet;
use std::path::PathBuf;

use flinkgen::app::build;
use flinkgen::render::{Templates, environment, render_units};

#[test]
fn no_template_pastes_a_raw_value() {
    for entry in
        std::fs::read_dir(common::root().join("templates")).unwrap_or_else(|e| panic!("{e}"))
    {
        let path = entry.map(|e| e.path()).unwrap_or_default();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(text.contains("{{"), "{}", path.display());
        assert_eq!(
            flinkgen::render::unescaped_interpolations(&text),
            vec![],
            "{}: every value ends in an escaping filter ({})",
            path.display(),
            flinkgen::render::ESCAPING_FILTERS.join(", ")
        );
    }
}

/// The same check refuses a replacement template that could write a value unescaped, and
/// accepts what the built-in templates write.
#[test]
fn a_template_that_could_write_a_value_unescaped_is_refused() {
    use flinkgen::render::unescaped_interpolations as raw;
    for ok in [
        "{{ e.value|prop_value }}",
        "{{- e.key|prop_key -}}",
        "{{ k8s[\"spec.image\"]|yaml }}",
        "{{ \"*\"|yaml }}",
        "{{ e.value|default(\"\")|trim|yaml_string }}",
    ] {
        assert_eq!(raw(ok), vec![], "{ok}");
    }
    for bad in [
        "{{ e.value }}",
        "{{ e.value|upper }}",
        "{{ a ~ e.value|yaml }}",
        "{{ e.value|yaml ~ x }}",
        "{{ (e.value)|yaml }}",
        "{{ e.value if x else y|yaml }}",
        "{% filter upper %}{{ e.value|prop_value }}{% endfilter %}",
        "{%- autoescape false %}{{ e.value|yaml }}{% endautoescape %}",
    ] {
        assert_eq!(raw(bad).len(), 1, "{bad}");
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("client.properties.j2"),
        "{% for e in entries %}{{ e.key }}={{ e.value|prop_value }}\n{% endfor %}",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let err = environment(Some(dir.path()))
        .err()
        .map(|d| d.message)
        .unwrap_or_default();
    assert!(err.contains("line 1") && err.contains("unescaped"), "{err}");
}

/// A replacement template is bounded in what it writes, not only in its work.
#[test]
fn a_template_that_writes_too_much_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("client.properties.j2"), "{{ \"x\"|yaml }}{% for i in range(100000) %}{{ \"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"|comment }}{% endfor %}")
        .unwrap_or_else(|e| panic!("{e}"));
    let ex = common::root().join("examples/stateless-router.kdl");
    let mut opts = common::options(&[&ex]);
    opts.templates = Some(dir.path().to_path_buf());
    let r = build(&opts, &dir.path().join("out"), false);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("more than the 16 MiB"), "{}", r.stderr);
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

/// The built-in templates are written in Rust (`render::builtin`); their `.j2` texts are the
/// reference, and what `--templates` replaces. Every example and a generated fleet render the
/// same through both, byte for byte, and every template is among what they render.
#[test]
fn built_in_writers_write_what_the_templates_render() {
    let builtin = environment(None).unwrap_or_else(|d| panic!("{}", d.message));
    let interpreted = Templates::interpreted().unwrap_or_else(|d| panic!("{}", d.message));
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let fleet_dir = work.path().join("fleet");
    fleet::write_fleet(&fleet_dir, 300, fleet::SEED).unwrap_or_else(|e| panic!("{e}"));
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(common::root().join("examples"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    inputs.sort();
    inputs.push(fleet_dir);
    // The fleet's bitnami clusters run chart 32 (seeded); chart 31 writes another template.
    let old_bitnami = work.path().join("old-bitnami.kdl");
    std::fs::write(
        &old_bitnami,
        "cluster \"old-bitnami\" {\n    kafka version=\"3.9\" brokers=3 bootstrap=\"kafka:9092\"\n    deployment \"bitnami\" version=\"31.4.1\"\n    broker \"log.retention.hours\" 168\n    broker \"ssl.principal.mapping.rules\" \"RULE:^CN=(.*?),OU=x.*$/$1/L,DEFAULT\"\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    inputs.push(old_bitnami);
    let mut templates_seen = BTreeSet::new();
    let mut files = 0;
    for input in &inputs {
        let c = common::compiled(&[input]);
        let ours = render_units(&c.plan, &builtin);
        let reference = render_units(&c.plan, &interpreted);
        assert_eq!(ours.len(), reference.len());
        for (a, b) in ours.iter().zip(&reference) {
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.dir, b.dir);
                    assert_eq!(a.files.len(), b.files.len(), "{}", a.dir);
                    for (fa, fb) in a.files.iter().zip(&b.files) {
                        assert_eq!(fa.path, fb.path);
                        assert!(
                            fa.contents == fb.contents,
                            "{}: the built-in writer differs from its template\n--- writer\n{}\n--- template\n{}",
                            fa.path,
                            fa.contents,
                            fb.contents
                        );
                        templates_seen.insert(template_of(&fa.path, &fa.contents));
                        files += 1;
                    }
                }
                (Err(a), Err(b)) => assert_eq!(a.message, b.message),
                (a, b) => panic!(
                    "{}: one way renders, the other does not: {:?} / {:?}",
                    input.display(),
                    a.as_ref().map(|u| &u.dir).map_err(|d| &d.message),
                    b.as_ref().map(|u| &u.dir).map_err(|d| &d.message)
                ),
            }
        }
    }
    let all: BTreeSet<&str> = [
        "bitnami-values-31.yaml",
        "bitnami-values-32.yaml",
        "client.properties",
        "config.yaml",
        "flink-conf.yaml",
        "flinkdeployment.yaml",
        "helm values (no template)",
        "serviceaccount.yaml",
        "strimzi-kafka.yaml",
        "strimzi-kafkatopics.yaml",
        "strimzi-kafkauser.yaml",
        "tables.sql",
    ]
    .into();
    assert_eq!(templates_seen, all, "compared {files} files");
}

/// Which template wrote a file.
fn template_of(path: &str, contents: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or_default();
    match name {
        "bitnami-values.yaml" if contents.contains("\nextraConfig: ") => "bitnami-values-31.yaml",
        "bitnami-values.yaml" => "bitnami-values-32.yaml",
        "config.yaml" => "config.yaml",
        "flink-conf.yaml" => "flink-conf.yaml",
        "flinkdeployment.yaml" => "flinkdeployment.yaml",
        "serviceaccount.yaml" => "serviceaccount.yaml",
        "strimzi-kafka.yaml" => "strimzi-kafka.yaml",
        "strimzi-kafkatopics.yaml" => "strimzi-kafkatopics.yaml",
        "strimzi-kafkauser.yaml" => "strimzi-kafkauser.yaml",
        "tables.sql" => "tables.sql",
        "values.yaml" => "helm values (no template)",
        n if n.ends_with(".properties") => "client.properties",
        n => panic!("a file no template writes: {n}"),
    }
}
