//! The checked-in JSON Schemas are the generated ones; regenerate with
//! `cargo run -- schema job > schemas/job.schema.json` (and `cluster`).

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
