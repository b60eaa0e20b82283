//! Flink's configuration options per minor version (every public ConfigOption of flink-dist and
//! the table API, read from the release jars by scripts/flink-options.sh): key, type, deprecated
//! and fallback keys, enum values. Overrides of Flink keys are checked against them.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use super::embedded::FLINK_OPTIONS;

#[derive(Debug, Clone)]
pub struct OptionDef {
    pub key: String,
    pub ty: String,
    pub enum_values: Vec<String>,
    /// Declared only by @Deprecated fields.
    pub deprecated: bool,
}

#[derive(Debug, Default)]
pub struct Catalog {
    pub options: BTreeMap<String, OptionDef>,
    /// Deprecated or fallback key → the option that reads it (only for keys that are not
    /// options themselves).
    pub aliases: HashMap<String, String>,
    /// Any key → a current option that also reads it (for deprecated options' replacements).
    replaced_by: HashMap<String, String>,
    /// Keys with placeholders (`metrics.reporter.<name>.factory.class`) as (prefix, suffix).
    patterns: Vec<(String, String, String)>,
}

/// What a key is for one Flink version.
pub enum Lookup<'a> {
    Known(&'a OptionDef),
    Alias {
        current: &'a str,
    },
    /// An option of its own, but declared only by @Deprecated fields.
    Deprecated {
        replacement: Option<&'a str>,
    },
    Unknown,
}

impl Catalog {
    fn parse(text: &str) -> Catalog {
        let mut c = Catalog::default();
        let mut deprecated: Vec<(String, String)> = vec![];
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let cols: Vec<&str> = line.split('\t').collect();
            let key = cols.first().copied().unwrap_or_default().to_string();
            let def = OptionDef {
                key: key.clone(),
                ty: cols.get(1).copied().unwrap_or("string").to_string(),
                enum_values: cols
                    .get(3)
                    .map(|v| v.split_whitespace().map(str::to_string).collect())
                    .unwrap_or_default(),
                deprecated: cols.get(4).is_some_and(|v| v.trim() == "deprecated"),
            };
            for d in cols
                .get(2)
                .map(|v| v.split_whitespace())
                .into_iter()
                .flatten()
            {
                deprecated.push((d.to_string(), key.clone()));
            }
            if let Some(i) = key.find('<') {
                let end = key.rfind('>').map_or(key.len(), |e| e + 1);
                c.patterns
                    .push((key[..i].to_string(), key[end..].to_string(), key.clone()));
            }
            c.options.insert(key, def);
        }
        for (alias, current) in deprecated {
            if c.options.get(&current).is_some_and(|o| !o.deprecated) {
                c.replaced_by
                    .entry(alias.clone())
                    .or_insert_with(|| current.clone());
            }
            if !c.options.contains_key(&alias) {
                c.aliases.entry(alias).or_insert(current);
            }
        }
        c
    }

    pub fn lookup(&self, key: &str) -> Lookup<'_> {
        if let Some(d) = self.options.get(key) {
            if d.deprecated {
                return Lookup::Deprecated {
                    replacement: self.replaced_by.get(key).map(String::as_str),
                };
            }
            return Lookup::Known(d);
        }
        if let Some(current) = self.aliases.get(key) {
            return Lookup::Alias { current };
        }
        for (prefix, suffix, pattern) in &self.patterns {
            if key.len() > prefix.len() + suffix.len()
                && key.starts_with(prefix.as_str())
                && key.ends_with(suffix.as_str())
                && let Some(d) = self.options.get(pattern)
            {
                return Lookup::Known(d);
            }
        }
        Lookup::Unknown
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.options.keys().map(String::as_str)
    }
}

/// The catalogue of a Flink minor version (`"1.20"`), parsed on first use, once per process:
/// a build pays only for the versions it uses.
pub fn catalog(version: &str) -> Option<&'static Catalog> {
    static CATALOGS: OnceLock<BTreeMap<String, (&'static str, OnceLock<Catalog>)>> =
        OnceLock::new();
    let (text, parsed) = CATALOGS
        .get_or_init(|| {
            FLINK_OPTIONS
                .iter()
                .map(|(name, text)| {
                    (
                        name.trim_end_matches(".tsv").to_string(),
                        (*text, OnceLock::new()),
                    )
                })
                .collect()
        })
        .get(version)?;
    Some(parsed.get_or_init(|| Catalog::parse(text)))
}

/// Key namespaces that plugins and reporters define (not in flink-dist): accepted as written.
pub const PLUGIN_PREFIXES: &[&str] = &[
    "s3.",
    "fs.",
    "gs.",
    "presto.",
    "hive.",
    "metrics.reporter.",
    "flink.hadoop.",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogues_know_keys_types_and_aliases_per_version() {
        let c = catalog("1.20").unwrap_or_else(|| panic!("no 1.20 catalogue"));
        assert!(
            matches!(c.lookup("taskmanager.memory.process.size"), Lookup::Known(d) if d.ty == "memory")
        );
        assert!(
            matches!(c.lookup("state.checkpoints.dir"), Lookup::Alias { current } if current == "execution.checkpointing.dir")
        );
        assert!(
            matches!(c.lookup("taskmanager.memory.size"), Lookup::Alias { current } if current == "taskmanager.memory.managed.size")
        );
        assert!(matches!(
            c.lookup("metrics.reporter.prom.factory.class"),
            Lookup::Known(_)
        ));
        assert!(matches!(
            c.lookup("akka.client.timeout"),
            Lookup::Deprecated {
                replacement: Some("client.timeout")
            }
        ));
        assert!(matches!(
            c.lookup("execution.checkpointing.intervall"),
            Lookup::Unknown
        ));
        let two = catalog("2.2").unwrap_or_else(|| panic!("no 2.2 catalogue"));
        assert!(matches!(
            two.lookup("taskmanager.network.memory.buffers-per-channel"),
            Lookup::Unknown
        ));
        for v in ["1.18", "1.19", "1.20", "2.0", "2.1", "2.2", "2.3"] {
            assert!(catalog(v).is_some_and(|c| c.options.len() > 700), "{v}");
        }
    }
}
