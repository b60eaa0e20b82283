//! Existing deployment files → typed pieces (Flink settings, a FlinkDeployment, client
//! properties, SQL tables, broker settings, topics), each value with its span. What a file is
//! follows from its name where that is conventional, else from its content.

use crate::diag::{Diagnostic, Span};
use crate::lint::flink_conf::{self, Setting};
use crate::lint::properties;
use crate::lint::sql::{self, SqlTable};
use crate::lint::yaml::{self, Kind, Node};
use crate::plan::DocKind;

/// A key and value read from a file.
pub type Kv = Setting;

#[derive(Debug, Clone)]
pub enum Piece {
    /// Flink configuration (any source: config file, FlinkDeployment, docker-compose).
    Flink { group: String, settings: Vec<Kv> },
    /// A FlinkDeployment: its name, version and spec fields (dotted paths under `spec`).
    Deployment {
        group: String,
        name: Option<(String, Span)>,
        flink_version: Option<(String, Span)>,
        spec: Vec<Kv>,
        head: Span,
    },
    /// Kafka client properties (producer, consumer, downstream consumer).
    Client {
        group: String,
        kind: DocKind,
        props: Vec<Kv>,
        head: Span,
    },
    /// KafkaSink builder settings (`sink-<name>.properties` as flinkgen writes them).
    SinkSettings {
        group: String,
        sink: String,
        props: Vec<Kv>,
        head: Span,
    },
    Tables {
        group: String,
        tables: Vec<SqlTable>,
    },
    /// Broker settings of one cluster.
    Broker {
        group: String,
        name: Option<String>,
        deployment: &'static str,
        settings: Vec<Kv>,
        brokers: Option<(i64, Span)>,
        version: Option<(String, Span)>,
        head: Span,
    },
    /// Settings of one existing topic.
    Topic { topic: String, settings: Vec<Kv> },
    /// Versions read from container images (`flink:1.20`, `apache/kafka:3.9.0`).
    Image {
        group: String,
        product: &'static str,
        version: (String, Span),
    },
}

/// The group of a file: its directory, or the parent of conventional sub-directories, so that
/// `jobs/orders/flink/` and `jobs/orders/kafka/` are one job.
pub fn group_of(path: &str) -> String {
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    while let Some(last) = parts.last() {
        if matches!(
            *last,
            "flink" | "kafka" | "k8s" | "helm" | "sql" | "conf" | "config" | "kubernetes"
        ) {
            parts.pop();
        } else {
            break;
        }
    }
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// What one file holds. `name` is the path as shown to the user.
pub fn read(name: &str, file: u32, text: &str) -> Result<Vec<Piece>, Diagnostic> {
    let group = group_of(name);
    let base = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    if base.ends_with(".properties") {
        return Ok(read_properties(&base, group, file, text));
    }
    if base.ends_with(".sql") {
        return Ok(vec![Piece::Tables {
            group,
            tables: sql::parse(file, text),
        }]);
    }
    if base == "flink-conf.yaml" {
        return Ok(vec![Piece::Flink {
            group,
            settings: flink_conf::parse_legacy(file, text),
        }]);
    }
    if base == "config.yaml" {
        return Ok(vec![Piece::Flink {
            group,
            settings: flink_conf::parse_standard(file, text)?,
        }]);
    }
    if base.ends_with(".yaml") || base.ends_with(".yml") {
        let docs = yaml::parse(file, text)?;
        let mut out = vec![];
        for doc in &docs {
            read_yaml_doc(doc, &group, name, file, text, &mut out);
        }
        return Ok(out);
    }
    Ok(vec![])
}

fn read_properties(base: &str, group: String, file: u32, text: &str) -> Vec<Piece> {
    let props: Vec<Kv> = properties::parse(file, text)
        .into_iter()
        .map(|p| Kv {
            key: p.key,
            value: p.value,
            key_span: p.key_span,
            value_span: p.value_span,
        })
        .collect();
    let head = Span::new(file, 0, 0);
    let stem = base.trim_end_matches(".properties");
    if let Some(sink) = stem.strip_prefix("sink-") {
        return vec![Piece::SinkSettings {
            group,
            sink: sink.to_string(),
            props,
            head,
        }];
    }
    if let Some(topic) = stem.strip_prefix("topic-") {
        return vec![Piece::Topic {
            topic: topic.to_string(),
            settings: props,
        }];
    }
    let kind =
        if stem.contains("server") || stem.contains("broker") || stem.contains("dynamic-cluster") {
            None
        } else if stem.contains("downstream") {
            Some(DocKind::Downstream)
        } else if stem.contains("producer") {
            Some(DocKind::Producer)
        } else if stem.contains("consumer") {
            Some(DocKind::Consumer)
        } else {
            classify_by_keys(&props)
        };
    match kind {
        Some(kind) => vec![Piece::Client {
            group,
            kind,
            props,
            head,
        }],
        None => vec![Piece::Broker {
            group,
            name: None,
            deployment: "plain",
            settings: props,
            brokers: None,
            version: None,
            head,
        }],
    }
}

/// A properties file with no telling name: the Kafka model decides by which config its keys
/// belong to (None = broker).
fn classify_by_keys(props: &[Kv]) -> Option<DocKind> {
    let Some(m) = crate::policy::kafka_model::model(crate::lint::LATEST_KAFKA) else {
        return Some(DocKind::Producer);
    };
    let count =
        |map: &std::collections::BTreeMap<&'static str, crate::policy::kafka_model::ConfigKey>| {
            props
                .iter()
                .filter(|p| map.contains_key(p.key.as_str()))
                .count()
        };
    let (b, p, c) = (count(&m.broker), count(&m.producer), count(&m.consumer));
    if b > p && b > c {
        None
    } else if c > p {
        Some(DocKind::Consumer)
    } else {
        Some(DocKind::Producer)
    }
}

fn scalar_kv(key: &str, n: &Node, key_span: Span) -> Option<Kv> {
    Some(Kv {
        key: key.to_string(),
        value: n.as_str()?.to_string(),
        key_span,
        value_span: n.span,
    })
}

/// Every scalar below a map, as dotted paths (lists are left out: nothing lint reads is one).
fn flatten_paths(node: &Node, prefix: &str, out: &mut Vec<Kv>) {
    for (k, v) in node.entries() {
        let Some(name) = k.as_str() else { continue };
        let path = format!("{prefix}.{name}");
        match &v.kind {
            Kind::Map(_) => flatten_paths(v, &path, out),
            Kind::Scalar(_) => out.extend(scalar_kv(&path, v, k.span)),
            _ => {}
        }
    }
}

fn read_yaml_doc(doc: &Node, group: &str, name: &str, file: u32, text: &str, out: &mut Vec<Piece>) {
    let kind = doc.get("kind").and_then(Node::as_str);
    let meta_name = doc
        .path("metadata.name")
        .and_then(|n| Some((n.as_str()?.to_string(), n.span)));
    match kind {
        Some("FlinkDeployment") => {
            let flink_version = doc.path("spec.flinkVersion").and_then(|n| {
                let v = n.as_str()?.trim_start_matches('v').replace('_', ".");
                Some((v, n.span))
            });
            if let Some(conf) = doc.path("spec.flinkConfiguration") {
                let mut settings = vec![];
                flink_conf::flatten(conf, "", None, &mut settings);
                out.push(Piece::Flink {
                    group: group.to_string(),
                    settings,
                });
            }
            let mut spec = vec![];
            if let Some(s) = doc.get("spec") {
                flatten_paths(s, "spec", &mut spec);
            }
            if let Some(img) = doc.path("spec.image") {
                image(img, group, out);
            }
            out.push(Piece::Deployment {
                group: group.to_string(),
                name: meta_name,
                flink_version,
                spec,
                head: doc.get("kind").map_or(Span::new(file, 0, 0), |k| k.span),
            });
        }
        Some("Kafka") => {
            let mut settings = vec![];
            if let Some(conf) = doc.path("spec.kafka.config") {
                flink_conf::flatten(conf, "", None, &mut settings);
            }
            let brokers = doc
                .path("spec.kafka.replicas")
                .and_then(|n| Some((n.as_str()?.parse().ok()?, n.span)));
            let version = doc
                .path("spec.kafka.version")
                .and_then(|n| Some((n.as_str()?.to_string(), n.span)));
            out.push(Piece::Broker {
                group: group.to_string(),
                name: meta_name.map(|n| n.0),
                deployment: "strimzi",
                settings,
                brokers,
                version,
                head: doc.get("kind").map_or(Span::new(file, 0, 0), |k| k.span),
            });
        }
        Some("KafkaNodePool") => {
            let is_broker = doc
                .path("spec.roles")
                .is_some_and(|r| r.items().iter().any(|i| i.as_str() == Some("broker")));
            if let (true, Some(n)) = (is_broker, doc.path("spec.replicas"))
                && let Some(count) = n.as_str().and_then(|s| s.parse().ok())
            {
                let cluster = doc
                    .path("metadata.labels")
                    .and_then(|l| l.get("strimzi.io/cluster"))
                    .and_then(Node::as_str)
                    .map(str::to_string);
                out.push(Piece::Broker {
                    group: group.to_string(),
                    name: cluster,
                    deployment: "strimzi",
                    settings: vec![],
                    brokers: Some((count, n.span)),
                    version: None,
                    head: n.span,
                });
            }
        }
        Some("KafkaTopic") => {
            let topic = doc
                .path("spec.topicName")
                .or_else(|| doc.path("metadata.name"))
                .and_then(Node::as_str)
                .unwrap_or("topic")
                .to_string();
            let mut settings = vec![];
            if let Some(conf) = doc.path("spec.config") {
                flink_conf::flatten(conf, "", None, &mut settings);
            }
            out.push(Piece::Topic { topic, settings });
        }
        Some(_) => {}
        None if doc.get("services").is_some() => compose(doc, name, file, text, out),
        None if [
            "extraConfig",
            "overrideConfiguration",
            "controller",
            "broker",
        ]
        .iter()
        .any(|k| doc.get(k).is_some()) =>
        {
            bitnami(doc, group, file, text, out);
        }
        None => {}
    }
}

/// The version in an image reference: `flink:1.20.1-scala_2.12-java17` → 1.20.1.
fn image(n: &Node, group: &str, out: &mut Vec<Piece>) {
    let Some(img) = n.as_str() else { return };
    let (repo, tag) = match img.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, t),
        _ => return,
    };
    let product = if repo.ends_with("flink") {
        "flink"
    } else if repo.ends_with("kafka") {
        "kafka"
    } else {
        return;
    };
    let version: String = tag
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    if version.contains('.') {
        out.push(Piece::Image {
            group: group.to_string(),
            product,
            version: (version, n.span),
        });
    }
}

/// The span of `needle` inside a node's source text (block scalars are decoded, so a value's
/// text is searched for), or the node's span.
fn inner_span(text: &str, node: Span, needle: &str, from: &mut usize) -> Span {
    let start = node.offset as usize;
    let end = (start + node.len as usize).min(text.len());
    let hay = text
        .get(start + (*from).min(end - start)..end)
        .unwrap_or("");
    match hay.find(needle) {
        Some(i) if !needle.is_empty() => {
            let at = start + (*from).min(end - start) + i;
            *from = at - start + needle.len();
            Span::new(node.file, at, needle.len())
        }
        _ => node,
    }
}

/// Settings embedded in a block scalar (`FLINK_PROPERTIES`, bitnami `extraConfig`), re-spanned
/// into the YAML file.
fn embedded(settings: Vec<Kv>, node: &Node, text: &str) -> Vec<Kv> {
    let mut from = 0;
    settings
        .into_iter()
        .map(|s| {
            let key_span = inner_span(text, node.span, &s.key, &mut from);
            let value_span = inner_span(text, node.span, &s.value, &mut from);
            Kv {
                key_span,
                value_span,
                ..s
            }
        })
        .collect()
}

/// docker-compose: Flink services carry `FLINK_PROPERTIES`; Kafka services carry broker settings
/// as `KAFKA_CFG_*` (bitnami) or `KAFKA_*` (Apache and Confluent images) variables.
fn compose(doc: &Node, name: &str, file: u32, text: &str, out: &mut Vec<Piece>) {
    let group = name.to_string();
    let mut kafka_services = 0;
    let mut kafka_settings = vec![];
    let mut kafka_head = None;
    for (svc_name, svc) in doc.get("services").map(Node::entries).unwrap_or(&[]) {
        if let Some(img) = svc.get("image") {
            image(img, &group, out);
        }
        let env = env_vars(svc.get("environment"));
        let is_kafka = svc
            .get("image")
            .and_then(Node::as_str)
            .is_some_and(|i| i.contains("kafka"));
        for (k, k_span, v) in &env {
            if k == "FLINK_PROPERTIES" {
                let settings = flink_conf::parse_legacy(file, v.as_str().unwrap_or(""));
                out.push(Piece::Flink {
                    group: group.clone(),
                    settings: embedded(settings, v, text),
                });
            } else if is_kafka
                && let Some(kv) = kafka_env_key(k).and_then(|key| scalar_kv(&key, v, *k_span))
            {
                kafka_settings.push(kv);
            }
        }
        if is_kafka {
            kafka_services += 1;
            kafka_head.get_or_insert(svc_name.span);
        }
    }
    if kafka_services > 0 {
        out.push(Piece::Broker {
            group,
            name: None,
            deployment: "plain",
            settings: kafka_settings,
            brokers: kafka_head.map(|s| (kafka_services, s)),
            version: None,
            head: kafka_head.unwrap_or(Span::new(file, 0, 0)),
        });
    }
}

/// `environment:` as a map or a list of `KEY=VALUE`.
fn env_vars(env: Option<&Node>) -> Vec<(String, Span, Node)> {
    let Some(env) = env else { return vec![] };
    match &env.kind {
        Kind::Map(entries) => entries
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), k.span, v.clone())))
            .collect(),
        Kind::Seq(items) => items
            .iter()
            .filter_map(|i| {
                let s = i.as_str()?;
                let (k, v) = s.split_once('=')?;
                let v_at = i.span.offset as usize + k.len() + 1;
                Some((
                    k.to_string(),
                    Span::new(i.span.file, i.span.offset as usize, k.len()),
                    Node {
                        span: Span::new(i.span.file, v_at, v.len()),
                        kind: Kind::Scalar(v.to_string()),
                    },
                ))
            })
            .collect(),
        _ => vec![],
    }
}

/// `KAFKA_CFG_TRANSACTION_MAX_TIMEOUT_MS` / `KAFKA_TRANSACTION_MAX_TIMEOUT_MS` →
/// `transaction.max.timeout.ms`; the images' own variables (heap, JMX, log4j …) are not settings.
fn kafka_env_key(var: &str) -> Option<String> {
    let rest = var
        .strip_prefix("KAFKA_CFG_")
        .or_else(|| var.strip_prefix("KAFKA_"))?;
    const NOT_SETTINGS: [&str; 8] = [
        "HEAP_OPTS",
        "OPTS",
        "JMX_OPTS",
        "JMX_PORT",
        "LOG4J_OPTS",
        "LOG4J_ROOT_LOGLEVEL",
        "KRAFT_CLUSTER_ID",
        "CLUSTER_ID",
    ];
    if NOT_SETTINGS.contains(&rest) || rest.starts_with("LOG4J") || rest.starts_with("JVM") {
        return None;
    }
    // Confluent's convention: `_` → `.`, `__` → `_`, `___` → `-`.
    Some(
        rest.to_ascii_lowercase()
            .replace("___", "\u{1}")
            .replace("__", "\u{2}")
            .replace('_', ".")
            .replace('\u{1}', "-")
            .replace('\u{2}', "_"),
    )
}

/// bitnami/kafka values: `extraConfig` (chart ≤ 31, properties text), `overrideConfiguration`
/// (chart 32+, a map), and the broker count from the replica counts (combined controller+broker
/// nodes count as brokers).
fn bitnami(doc: &Node, group: &str, file: u32, text: &str, out: &mut Vec<Piece>) {
    let mut settings = vec![];
    if let Some(extra) = doc.get("extraConfig") {
        let parsed: Vec<Kv> = properties::parse(file, extra.as_str().unwrap_or(""))
            .into_iter()
            .map(|p| Kv {
                key: p.key,
                value: p.value,
                key_span: p.key_span,
                value_span: p.value_span,
            })
            .collect();
        settings.extend(embedded(parsed, extra, text));
    }
    if let Some(over) = doc.get("overrideConfiguration") {
        flink_conf::flatten(over, "", None, &mut settings);
    }
    let count = |path: &str| {
        doc.path(path)
            .and_then(|n| Some((n.as_str()?.parse::<i64>().ok()?, n.span)))
    };
    let controller_only =
        doc.path("controller.controllerOnly").and_then(Node::as_str) == Some("true");
    let brokers = match (
        count("broker.replicaCount"),
        count("controller.replicaCount"),
    ) {
        (Some(b), Some(c)) if !controller_only => Some((b.0 + c.0, c.1)),
        (Some(b), _) => Some(b),
        (None, Some(c)) if !controller_only => Some(c),
        _ => None,
    };
    let version = doc.path("image.tag").and_then(|n| {
        let v: String = n
            .as_str()?
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        v.contains('.').then_some((v, n.span))
    });
    out.push(Piece::Broker {
        group: group.to_string(),
        name: None,
        deployment: "bitnami",
        settings,
        brokers,
        version,
        head: Span::new(file, 0, 0),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_fold_conventional_directories() {
        assert_eq!(
            group_of("out/jobs/orders/flink/flink-conf.yaml"),
            "out/jobs/orders"
        );
        assert_eq!(
            group_of("out/jobs/orders/kafka/producer.properties"),
            "out/jobs/orders"
        );
        assert_eq!(group_of("producer.properties"), ".");
    }

    #[test]
    fn kafka_environment_variables() {
        assert_eq!(
            kafka_env_key("KAFKA_CFG_TRANSACTION_MAX_TIMEOUT_MS").as_deref(),
            Some("transaction.max.timeout.ms")
        );
        assert_eq!(
            kafka_env_key("KAFKA_CONFLUENT_SUPPORT__METRICS___ENABLE").as_deref(),
            Some("confluent.support_metrics-enable")
        );
        assert_eq!(kafka_env_key("KAFKA_HEAP_OPTS"), None);
        assert_eq!(kafka_env_key("FLINK_PROPERTIES"), None);
    }
}
