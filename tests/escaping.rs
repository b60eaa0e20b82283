//! Escaping by format: arbitrary strings round-trip through the real parsers, and hostile
//! override values cannot add or change keys in any output.

mod common;

use std::collections::BTreeMap;

use flinkgen::render::escape::{properties, yaml_scalar};
use proptest::prelude::*;

fn parse_properties(text: &str) -> BTreeMap<String, String> {
    java_properties::read(text.as_bytes())
        .unwrap_or_else(|e| panic!("not a valid .properties file: {e}\n{text}"))
        .into_iter()
        .collect()
}

fn parse_yaml(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("not valid YAML: {e}\n{text}"))
}

proptest! {
    // The java-properties crate (the oracle) cannot decode surrogate pairs, which is how Java
    // reads characters beyond the BMP: those are pinned by `non_bmp_characters_are_surrogate_pairs`.
    #[test]
    fn properties_round_trip(key in "[\u{20}-\u{D7FF}\u{E000}-\u{FFFD}]{1,20}", value in "[\u{20}-\u{D7FF}\u{E000}-\u{FFFD}]{0,40}", ctl in "[\\n\\r\\t =:#!\\\\]{0,4}") {
        let key = format!("{key}{ctl}");
        let value = format!("{ctl}{value}{ctl}");
        let text = format!("{}={}\n", properties(&key, true), properties(&value, false));
        let parsed = parse_properties(&text);
        prop_assert_eq!(parsed, BTreeMap::from([(key, value)]));
    }

    #[test]
    fn yaml_scalars_round_trip_as_strings(s in "\\PC{0,40}", ctl in "[\\n\\r\\t\"':#{}\\[\\],&*!|>%@`-]{0,4}") {
        let s = format!("{ctl}{s}{ctl}");
        let text = format!("k: {}\n", yaml_scalar(&s));
        prop_assert_eq!(&parse_yaml(&text)["k"], &serde_json::Value::String(s));
    }
}

#[test]
fn non_bmp_characters_are_surrogate_pairs() {
    // java.util.Properties.load(InputStream) reads ISO-8859-1 and \uXXXX escapes as UTF-16 units.
    assert_eq!(properties("a𜽐", false), "a\\uD833\\uDF50");
}

#[test]
fn values_that_look_like_other_types_stay_strings() {
    for s in [
        "true", "False", "yes", "no", "on", "null", "~", "1.20", "0x1F", "1e3", "12:30", "-",
        ".inf", "",
    ] {
        let text = format!("k: {}\n", yaml_scalar(s));
        assert_eq!(
            parse_yaml(&text)["k"],
            serde_json::Value::String(s.into()),
            "{s:?} → {text}"
        );
    }
}

/// Overrides with every hostile character: the outputs hold exactly the intended keys.
#[test]
fn hostile_override_values_cannot_inject_keys() {
    let hostile = "x\\nevil.key: 1\\n# note = y\\r\\n!bang\\u{0}:\\\\ \\\"q\\\" 'q' {{ t }} é漢";
    let text = format!(
        r#"job "inject" {{
    environment "dev"
    flink version="2.2" operator="1.15"
    kafka cluster="c" connector="5.0.0"
    delivery "at-least-once"
    source "in" topic="in" partitions=1 format="json"
    sink "out" topic="out" partitions=1 format="json"
    checkpoint interval="1min"
    instance "m6i.4xlarge"
    kubernetes namespace="dev" image="flink:2.2"
    artifact jar="local:///opt/flink/usrlib/j.jar" {{
        args "{hostile}"
    }}
    override "flink" "pipeline.name" "{hostile}"
    override "producer" "client.id" "{hostile}"
    override "consumer" "client.id" "{hostile}"
}}
cluster "c" {{
    kafka version="4.0" brokers=3 bootstrap="kafka:9092"
    deployment "plain"
}}
"#
    );
    let (_dir, path) = common::profile(&text);
    let c = common::compiled(&[&path]);
    let intended = "x\nevil.key: 1\n# note = y\r\n!bang\u{0}:\\ \"q\" 'q' {{ t }} é漢";
    let job = &c.plan.jobs[0];
    for unit in common::units(&c) {
        for f in unit.files {
            if f.path.ends_with(".properties") {
                let doc = if f.path.ends_with("producer.properties") {
                    Some(flinkgen::plan::DocKind::Producer)
                } else if f.path.ends_with("/consumer.properties") {
                    Some(flinkgen::plan::DocKind::Consumer)
                } else {
                    None
                };
                let parsed = parse_properties(&f.contents);
                assert!(!parsed.contains_key("evil.key"), "{}: {parsed:?}", f.path);
                if let Some(kind) = doc {
                    let want: BTreeMap<String, String> = job
                        .doc(kind)
                        .map(|d| {
                            d.entries
                                .iter()
                                .map(|(k, e)| (k.clone(), e.value.kafka_text()))
                                .collect()
                        })
                        .unwrap_or_default();
                    assert_eq!(parsed, want, "{}", f.path);
                    assert_eq!(parsed.get("client.id").map(String::as_str), Some(intended));
                }
            } else if f.path.ends_with(".yaml") {
                let y = parse_yaml(&f.contents);
                let helm = f.path.ends_with("helm/values.yaml");
                let flat = if f.path.ends_with("config.yaml") {
                    y.clone()
                } else if helm {
                    y["flinkConfiguration"].clone()
                } else {
                    y["spec"]["flinkConfiguration"].clone()
                };
                let keys: Vec<&String> = flat
                    .as_object()
                    .map(|m| m.keys().collect())
                    .unwrap_or_default();
                assert!(
                    !keys.iter().any(|k| k.contains("evil")),
                    "{}: {keys:?}",
                    f.path
                );
                assert_eq!(
                    flat["pipeline.name"],
                    serde_json::Value::String(intended.into()),
                    "{}",
                    f.path
                );
                if f.path.ends_with("flinkdeployment.yaml") {
                    assert_eq!(
                        y["spec"]["job"]["args"][0],
                        serde_json::Value::String(intended.into())
                    );
                }
                if helm {
                    // The Helm values: the same, and no key added at the top level either.
                    assert_eq!(
                        y["job"]["args"][0],
                        serde_json::Value::String(intended.into())
                    );
                    let top: Vec<&String> = y
                        .as_object()
                        .map(|m| m.keys().collect())
                        .unwrap_or_default();
                    assert!(!top.iter().any(|k| k.contains("evil")), "{top:?}");
                    let data = &y["kafkaConfigMap"]["data"];
                    assert!(
                        data["producer.properties"]
                            .as_str()
                            .is_some_and(|p| parse_properties(p)
                                .get("client.id")
                                .map(String::as_str)
                                == Some(intended)),
                        "{}: {data}",
                        f.path
                    );
                }
            }
        }
    }
}
