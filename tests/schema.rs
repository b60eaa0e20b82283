//! The checked-in JSON Schemas are the generated ones; regenerate with
//! `cargo run -- schema job > schemas/job.schema.json` (and `cluster`), and
//! `cargo run -- schema helm-values > charts/flinkgen-job/values.schema.json`.

mod common;

#[test]
fn checked_in_schemas_are_current() {
    for kind in ["job", "cluster"] {
        let path = common::root().join(format!("schemas/{kind}.schema.json"));
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        let generated = flinkgen::app::schema_cmd(kind).stdout;
        assert!(
            on_disk == generated,
            "schemas/{kind}.schema.json is stale: run `cargo run -- schema {kind} > schemas/{kind}.schema.json`"
        );
    }
}

#[test]
fn checked_in_helm_values_schema_is_current() {
    let path = common::root().join("charts/flinkgen-job/values.schema.json");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = flinkgen::app::schema_cmd("helm-values").stdout;
    assert!(
        !generated.trim().is_empty(),
        "no helm-values schema generated"
    );
    assert!(
        on_disk == generated,
        "charts/flinkgen-job/values.schema.json is stale: run `cargo run -- schema helm-values > charts/flinkgen-job/values.schema.json`"
    );
}

#[test]
fn schema_documents_the_kdl_mapping() {
    let job = flinkgen::profile::job_schema();
    // Argument names of nodes are part of the schema, so editors and docs can show them.
    assert_eq!(job["x-kdl-args"], serde_json::json!(["name"]));
    assert_eq!(
        job["$defs"]["Override"]["x-kdl-args"],
        serde_json::json!(["target", "key", "value"])
    );
    assert_eq!(job["$defs"]["Size"]["format"], "size");
}
