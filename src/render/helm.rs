//! Helm values for `charts/flinkgen-job`: the typed form of everything the chart deploys for a
//! job (the FlinkDeployment, a ConfigMap with the Kafka client files, the ServiceAccount).
//!
//! The same types generate the chart's `values.schema.json` (`flinkgen schema helm-values`), so
//! the file flinkgen writes and the schema Helm validates it with cannot drift apart. The chart's
//! templates are thin (`toYaml` of these objects); `tests/chart.rs` proves that the chart renders
//! exactly the FlinkDeployment and ServiceAccount flinkgen writes itself.
//!
//! Strictness follows what the chart does with a field: objects whose fields the templates read
//! one by one (the top level, `serviceAccount`, `kafkaConfigMap`) deny unknown fields, since a
//! misspelt key there would be silently ignored; objects the templates pass through whole
//! (`jobManager`, `taskManager`, `job`, `podTemplate`) accept further fields, which land in the
//! FlinkDeployment where the operator's CRD validates them.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::block_yaml;

/// Helm values of chart flinkgen-job (written by flinkgen to jobs/<job>/helm/values.yaml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "flinkgen-job Helm values")]
pub struct HelmValues {
    /// The FlinkDeployment's name: the job's name.
    pub name: String,
    /// Labels of the FlinkDeployment and of the ConfigMap.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The Flink image (spec.image).
    pub image: String,
    /// The operator's name for the Flink version, e.g. `v1_20` (spec.flinkVersion).
    pub flink_version: String,
    /// The Kubernetes service account the job's pods run as.
    pub service_account: ServiceAccount,
    /// spec.flinkConfiguration: Flink settings as strings (the process sizes are left to the
    /// operator, which derives them from the resources).
    pub flink_configuration: BTreeMap<String, String>,
    /// spec.jobManager.
    pub job_manager: Role,
    /// spec.taskManager.
    pub task_manager: Role,
    /// spec.podTemplate: volumes for the Kafka credentials and local state, pod labels for cloud
    /// identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template: Option<PodTemplate>,
    /// spec.job.
    pub job: JobSpec,
    /// A ConfigMap with the job's Kafka client files, for the pods to mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_config_map: Option<ConfigMap>,
}

/// The pods' service account, and whether the chart creates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceAccount {
    /// Create the ServiceAccount (flinkgen sets this when the job binds a cloud identity);
    /// otherwise it must exist already (the operator chart creates `flink`).
    #[serde(default)]
    pub create: bool,
    /// Its name (spec.serviceAccount).
    pub name: String,
    /// Its annotations: the cloud identity binding.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A JobManager or TaskManager.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// Number of pods.
    pub replicas: i64,
    /// CPU and memory of each pod.
    pub resource: Resource,
}

/// A pod's resources; `memory` is the Flink process size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// CPU cores.
    pub cpu: f64,
    /// Memory, in Flink's notation (e.g. `2048m`).
    pub memory: String,
}

/// spec.job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    /// The job's jar.
    #[serde(rename = "jarURI")]
    pub jar_uri: String,
    /// The main class, unless the jar's manifest names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_class: Option<String>,
    /// Program arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Job parallelism.
    pub parallelism: i64,
    /// `savepoint`, `last-state` or `stateless`.
    pub upgrade_mode: String,
    /// `running` or `suspended`.
    pub state: String,
}

/// spec.podTemplate (the parts flinkgen writes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<PodMetadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<PodSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodMetadata {
    /// Pod labels (e.g. Azure Workload Identity's `azure.workload.identity/use`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// `flink-main-container`: the operator merges this into its main container.
    pub name: String,
    #[serde(default)]
    pub volume_mounts: Vec<VolumeMount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    pub name: String,
    pub mount_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// A pod volume: a Secret (Kafka credentials) or the node's local disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretVolume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<HostPathVolume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDirVolume>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretVolume {
    pub secret_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostPathVolume {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EmptyDirVolume {}

/// The ConfigMap with the job's Kafka client files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMap {
    /// Its name.
    pub name: String,
    /// File name → contents, as flinkgen writes them to jobs/<job>/kafka/.
    pub data: BTreeMap<String, String>,
}

/// The files of jobs/<job>/kafka/ that the job itself reads (the client properties, the sink
/// builder settings and the SQL options); the others are for downstream consumers, topic admins
/// and Strimzi.
pub fn is_client_file(name: &str) -> bool {
    matches!(
        name,
        "producer.properties" | "consumer.properties" | "tables.sql"
    ) || (name.starts_with("sink-") && name.ends_with(".properties"))
}

/// The JSON Schema of the values, checked in as `charts/flinkgen-job/values.schema.json`.
/// Draft-07: the newest draft every Helm 3 release validates values with.
pub fn schema() -> &'static serde_json::Value {
    static S: OnceLock<serde_json::Value> = OnceLock::new();
    S.get_or_init(|| {
        let mut v = schemars::generate::SchemaSettings::draft07()
            .into_generator()
            .into_root_schema_for::<HelmValues>()
            .to_value();
        // Helm drops null values before validating, so `null` is never a value to allow.
        crate::profile::strip_nulls(&mut v);
        v
    })
}

/// The values file: a header comment, then the values as YAML.
pub fn to_file(values: &HelmValues, namespace: &str) -> Result<String, String> {
    // A comment ends at a line break: YAML 1.1 readers also break at NEL, LS and PS.
    let line = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                    ' '
                } else {
                    c
                }
            })
            .collect()
    };
    let mut out = format!(
        "# Helm values of chart flinkgen-job for job {}.\n# helm install {} charts/flinkgen-job --namespace {} -f values.yaml\n# Generated by flinkgen: change the profile and rebuild.\n",
        line(&values.name),
        line(&values.name),
        line(namespace),
    );
    block_yaml::write(values, &mut out).map_err(|e| format!("Helm values: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values whose every string (keys included) needs escaping read back as the same values:
    /// no string can add a key, change a type or end a block early.
    #[test]
    fn hostile_values_read_back_unchanged() {
        let hostile = [
            "x\nkey: v",
            "y",
            "1e3",
            "- item",
            "{b: c}",
            "it's \"quoted\": #1",
            "é\u{2028}z",
            "  lead\nx\n",
            "tab\tstart\n\n",
            "a\r\nb",
            "#comment\n---\n...\n",
            "",
            "\n\n",
        ];
        let map = |i: usize| -> BTreeMap<String, String> {
            hostile
                .iter()
                .enumerate()
                .map(|(j, h)| (format!("{h}{i}{j}"), h.to_string()))
                .collect()
        };
        let values = HelmValues {
            name: hostile[0].into(),
            labels: map(1),
            image: hostile[1].into(),
            flink_version: hostile[2].into(),
            service_account: ServiceAccount {
                create: true,
                name: hostile[3].into(),
                annotations: map(2),
            },
            flink_configuration: map(3),
            job_manager: Role {
                replicas: 1,
                resource: Resource {
                    cpu: 0.5,
                    memory: hostile[4].into(),
                },
            },
            task_manager: Role {
                replicas: 2,
                resource: Resource {
                    cpu: 15.0,
                    memory: hostile[5].into(),
                },
            },
            pod_template: Some(PodTemplate {
                metadata: Some(PodMetadata { labels: map(4) }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: hostile[6].into(),
                        volume_mounts: vec![VolumeMount {
                            name: hostile[7].into(),
                            mount_path: hostile[8].into(),
                            read_only: Some(true),
                        }],
                    }],
                    volumes: vec![Volume {
                        name: hostile[9].into(),
                        secret: None,
                        host_path: None,
                        empty_dir: Some(EmptyDirVolume {}),
                    }],
                }),
            }),
            job: JobSpec {
                jar_uri: hostile[10].into(),
                entry_class: Some(hostile[11].into()),
                args: hostile.iter().map(|h| h.to_string()).collect(),
                parallelism: 3,
                upgrade_mode: hostile[12].into(),
                state: "running".into(),
            },
            kafka_config_map: Some(ConfigMap {
                name: "n".into(),
                data: map(5),
            }),
        };
        let text = to_file(&values, "ns\u{2028}key: v\nother: w").unwrap_or_default();
        let back: HelmValues =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, values, "{text}");
    }
}
