//! Kafka's configuration model per release line (from Kafka's generated docs), embedded.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::embedded::KAFKA_MODELS;
use crate::units::KafkaType;

/// One option of the model. Its text borrows from the embedded JSON (no copy per field: parsing
/// a model is on the start-up path of every build).
#[derive(Debug, Clone, Deserialize)]
pub struct ConfigKey {
    #[serde(rename = "type", borrow)]
    pub ty: Cow<'static, str>,
    #[serde(borrow)]
    pub default: Option<Cow<'static, str>>,
    #[serde(borrow)]
    pub valid_values: Option<Cow<'static, str>>,
    #[serde(borrow)]
    pub importance: Option<Cow<'static, str>>,
    #[serde(borrow)]
    pub update_mode: Option<Cow<'static, str>>,
}

impl ConfigKey {
    pub fn kafka_type(&self) -> Option<KafkaType> {
        KafkaType::from_model(&self.ty)
    }
    /// The documented default's number (`"900000 (15 minutes)"` → 900000).
    pub fn default_number(&self) -> Option<i64> {
        self.default
            .as_deref()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct KafkaModel {
    pub kafka_version: String,
    pub source_revision: String,
    #[serde(borrow)]
    pub broker: BTreeMap<&'static str, ConfigKey>,
    #[serde(borrow)]
    pub producer: BTreeMap<&'static str, ConfigKey>,
    #[serde(borrow)]
    pub consumer: BTreeMap<&'static str, ConfigKey>,
    #[serde(borrow)]
    pub topic: BTreeMap<&'static str, ConfigKey>,
}

/// The model of one Kafka release line (`"3.9"`), parsed on first use, once per process.
pub fn model(version: &str) -> Option<&'static KafkaModel> {
    type Lazy = (&'static str, OnceLock<Option<KafkaModel>>);
    static MODELS: OnceLock<BTreeMap<String, Lazy>> = OnceLock::new();
    let (text, parsed) = MODELS
        .get_or_init(|| {
            KAFKA_MODELS
                .iter()
                .map(|(name, text)| {
                    (
                        name.trim_end_matches(".json").to_string(),
                        (*text, OnceLock::new()),
                    )
                })
                .collect()
        })
        .get(version)?;
    parsed
        .get_or_init(|| serde_json::from_str::<KafkaModel>(text).ok())
        .as_ref()
}

/// Validate a value against the model's type and the simple validators (`[a,...,b]`, enums).
pub fn check_value(key: &ConfigKey, value: &str) -> Result<(), String> {
    if let Some(t) = key.kafka_type() {
        crate::units::parse_kafka_value(t, value)?;
    }
    let Some(valid) = key.valid_values.as_deref() else {
        return Ok(());
    };
    let v = value.trim();
    if let Some(range) = valid.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let parts: Vec<&str> = range.split(',').map(str::trim).collect();
        let numeric = parts
            .iter()
            .all(|p| *p == "..." || p.parse::<f64>().is_ok());
        if numeric && parts.contains(&"...") {
            let n: f64 = v.parse().map_err(|_| format!("`{v}` is not a number"))?;
            let lo = parts.first().and_then(|p| p.parse::<f64>().ok());
            let hi = parts.last().and_then(|p| p.parse::<f64>().ok());
            if lo.is_some_and(|lo| n < lo) || hi.is_some_and(|hi| n > hi) {
                return Err(format!("`{v}` is outside the valid range {valid}"));
            }
            return Ok(());
        }
        if !numeric && !parts.contains(&"...") && key.ty != "list" {
            let opts: Vec<&str> = parts.iter().map(|p| p.trim()).collect();
            if !opts.contains(&v) {
                return Err(format!("`{v}` is not one of {valid}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_cover_2_8_to_4_2() {
        for v in ["2.8", "3.0", "3.4", "3.9", "4.0", "4.1", "4.2"] {
            assert!(model(v).is_some(), "{v}");
        }
        let m = model("3.9").map(|m| &m.broker["transaction.max.timeout.ms"]);
        assert_eq!(m.and_then(ConfigKey::default_number), Some(900_000));
        assert!(model("3.3").is_some_and(|m| !m.broker.contains_key("producer.id.expiration.ms")));
        assert!(model("3.4").is_some_and(|m| m.broker.contains_key("producer.id.expiration.ms")));
    }

    #[test]
    fn values_are_checked_against_type_and_range() {
        let m = model("3.9").map(|m| &m.producer);
        let Some(p) = m else {
            panic!("3.9 model missing")
        };
        assert!(check_value(&p["acks"], "all").is_ok());
        assert!(check_value(&p["acks"], "most").is_err());
        assert!(check_value(&p["transaction.timeout.ms"], "3600000").is_ok());
        assert!(check_value(&p["transaction.timeout.ms"], "9999999999").is_err());
    }
}
