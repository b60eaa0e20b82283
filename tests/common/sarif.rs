//! SARIF validation for the tests.
//!
//! tests/data/sarif-schema-2.1.0.json is the OASIS SARIF 2.1.0 (errata 01) JSON Schema, from
//! https://github.com/oasis-tcs/sarif-spec/blob/e0583813964ec43cea53b6b531b402866095ed1f/sarif-2.1/schema/sarif-schema-2.1.0.json
//! (published at https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json).

use serde_json::Value;

fn sarif_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(super::root().join("tests/data/sarif-schema-2.1.0.json"))
        .unwrap_or_else(|e| panic!("SARIF schema: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("SARIF schema does not compile: {e}"))
}

/// Validate a SARIF log against the official schema, and the parts code scanning relies on
/// that the schema leaves optional.
pub fn assert_valid_sarif(log: &Value) {
    let v = sarif_validator();
    let errors: Vec<String> = v
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().unwrap_or_else(|| panic!("no runs"));
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "flinkgen");
    let rules = driver["rules"]
        .as_array()
        .unwrap_or_else(|| panic!("no rules"));
    for r in runs[0]["results"].as_array().into_iter().flatten() {
        let id = r["ruleId"]
            .as_str()
            .unwrap_or_else(|| panic!("result without ruleId: {r}"));
        let i = r["ruleIndex"]
            .as_u64()
            .unwrap_or_else(|| panic!("no ruleIndex: {r}")) as usize;
        assert_eq!(rules[i]["id"], id, "ruleIndex points at another rule");
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap_or("")));
        for loc in r["locations"].as_array().into_iter().flatten() {
            let uri = loc["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap_or("");
            assert!(
                !uri.starts_with('/') && !uri.contains("<builtin>"),
                "primary locations are repository-relative files: {uri}"
            );
        }
    }
}
