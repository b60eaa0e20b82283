//! Escaping round-trips: any string, escaped for YAML or .properties, parses back as exactly that
//! string under exactly the intended key, through real parsers. A mismatch is a crash.
#![no_main]

use flinkgen::render::escape;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // YAML: `key: <scalar>` reads back as {key: s}.
    let doc = format!("key: {}\nnext: 1\n", escape::yaml_scalar(s));
    let parsed: std::collections::BTreeMap<String, serde_json::Value> =
        serde_saphyr::from_str(&doc).unwrap_or_else(|e| panic!("{doc:?}: {e}"));
    assert_eq!(parsed.len(), 2, "{doc:?}");
    assert_eq!(parsed.get("key"), Some(&serde_json::Value::String(s.to_string())), "{doc:?}");

    // Legacy flink-conf.yaml: what is accepted is carried unchanged by Flink's line rule.
    if let Ok(v) = escape::flink_legacy(s, false) {
        let line = format!("k: {v}");
        let (_, value) = line.split_once(": ").unwrap_or(("", ""));
        assert_eq!(value.trim(), s);
    }

    // .properties: the escaped key and value read back as one entry, exactly (s), plus the sentinel.
    // The java-properties oracle cannot join UTF-16 surrogate pairs (`\uD83D\uDE00`), which
    // java.util.Properties does; characters outside the BMP are pinned by
    // tests/escaping.rs (`non_bmp_characters_are_surrogate_pairs`).
    if s.chars().any(|c| u32::from(c) > 0xFFFF) {
        return;
    }
    let key = if s.is_empty() { "k".to_string() } else { s.to_string() };
    let text = format!(
        "{}={}\nsentinel=1\n",
        escape::properties(&key, true),
        escape::properties(s, false)
    );
    let map = java_properties::read(text.as_bytes()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(map.len(), if key == "sentinel" { 1 } else { 2 }, "{text:?}");
    if key != "sentinel" {
        assert_eq!(map.get(&key), Some(&s.to_string()), "{text:?}");
    }

});
