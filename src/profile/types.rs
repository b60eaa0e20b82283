//! The profile data model: what a user writes, as typed Rust. The JSON Schema in `schemas/` is
//! generated from these types; the KDL loader maps KDL onto the schema's JSON shape, validates it,
//! and only then deserialises into these types.
//!
//! Patterns bound long strings with `maxLength`, never with `{0,254}`-style repetition: the regex
//! engine compiles a bounded repetition into that many copies of its automaton (a `[^\s]{1,2000}`
//! took most of a process's start-up), while `+` plus a length limit means the same.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::units;

/// A size with an explicit unit, e.g. `500GiB` (binary) or `950GB` (decimal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Size(pub u64);

/// A duration with an explicit unit, e.g. `30s`, `15min`, `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Duration(pub u64);

macro_rules! unit_type {
    ($ty:ident, $format:literal, $parse:path, $desc:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $parse(&s).map($ty).map_err(serde::de::Error::custom)
            }
        }
        impl JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "format": $format, "description": $desc })
            }
        }
    };
}
unit_type!(
    Size,
    "size",
    units::parse_size,
    "A size with a unit: B, KiB, MiB, GiB, TiB (binary) or KB, MB, GB, TB (decimal)."
);
unit_type!(
    Duration,
    "duration",
    units::parse_duration_ms,
    "A duration with a unit: ms, s, min, h or d."
);

/// A scalar value as written in KDL: string, integer, number or boolean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Scalar {
    /// The value as its target's text (`true`, `42`, `1.5`, `abc`).
    pub fn to_text(&self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Str(s) => s.clone(),
        }
    }
}

/// A Flink job: one FlinkDeployment reading and writing Kafka.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-args" = ["name"]))]
pub struct JobProfile {
    /// The job's name: kebab-case, at most 45 characters (the operator's limit for a deployment name).
    #[schemars(regex(pattern = r"^[a-z]([-a-z0-9]{0,43}[a-z0-9])?$"))]
    pub name: String,
    /// Environment, e.g. `dev`, `staging`, `prod`. Part of the transactional-id prefix.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,30}$"))]
    pub environment: String,
    pub flink: Flink,
    pub kafka: KafkaUse,
    pub delivery: Delivery,
    pub state: Option<State>,
    pub throughput: Option<Throughput>,
    pub parallelism: Option<Parallelism>,
    /// The job's network exchanges (keyBy, rebalance …), for the network buffer estimate.
    pub exchanges: Option<Exchanges>,
    /// Source topics (repeatable node).
    #[serde(default)]
    pub source: Vec<Topic>,
    /// Sink topics (repeatable node).
    #[serde(default)]
    pub sink: Vec<Topic>,
    pub checkpoint: Option<Checkpoint>,
    pub recovery: Option<Recovery>,
    pub instance: Instance,
    pub kubernetes: Kubernetes,
    pub artifact: Artifact,
    pub security: Option<Security>,
    /// How the Kafka sinks name their transactions (exactly-once only).
    pub transactions: Option<Transactions>,
    /// Raw settings for one output, parsed with that output's grammar (repeatable node).
    #[serde(default, rename = "override")]
    pub overrides: Vec<Override>,
}

/// Flink and Flink Kubernetes Operator versions.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(extend("x-kdl-example" = "flink version=\"1.20\" operator=\"1.15\""))]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Flink {
    /// Flink minor version.
    #[schemars(extend("enum" = ["1.18", "1.19", "1.20", "2.0", "2.1", "2.2", "2.3"]))]
    pub version: String,
    /// Flink Kubernetes Operator version (major.minor).
    #[schemars(regex(pattern = r"^1\.[0-9]{1,2}$"))]
    pub operator: String,
    /// Config file to write for Flink 1.19/1.20 (`flink-conf.yaml`, what the operator writes, or
    /// `config.yaml`). Fixed by the version elsewhere.
    #[schemars(extend("enum" = ["flink-conf.yaml", "config.yaml"]))]
    pub config_file: Option<String>,
}

/// The Kafka cluster the job uses and the Flink Kafka connector version.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(extend("x-kdl-example" = "kafka cluster=\"main\" connector=\"3.4.0\""))]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct KafkaUse {
    /// The name of the Kafka cluster profile this job uses.
    #[schemars(regex(pattern = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub cluster: String,
    /// Flink Kafka connector version (e.g. `3.4.0`, `4.0.1`, `5.0.0`).
    #[schemars(regex(pattern = r"^[0-9]+\.[0-9]+\.[0-9]+$"))]
    pub connector: String,
}

/// Delivery guarantee of the job's Kafka sinks: `none`, `at-least-once` or `exactly-once`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("x-kdl-example" = "delivery \"exactly-once\""))]
pub enum Delivery {
    None,
    AtLeastOnce,
    ExactlyOnce,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::None => "none",
            Delivery::AtLeastOnce => "at-least-once",
            Delivery::ExactlyOnce => "exactly-once",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = "state size=\"500GiB\" backend=\"rocksdb\""))]
/// The job's keyed state; omit the node for a stateless job.
pub struct State {
    /// Expected total keyed state across the job.
    pub size: Size,
    /// State backend: `rocksdb` (state on local disk, for large state) or `hashmap` (on the heap).
    pub backend: Backend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    Hashmap,
    Rocksdb,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Hashmap => "hashmap",
            Backend::Rocksdb => "rocksdb",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = "throughput records-per-second=200000 record-size=\"512B\""))]
/// Peak input rate and record size, for sizing, buffers and transactional-id estimates.
pub struct Throughput {
    /// Peak records per second across all sources.
    #[schemars(range(min = 1, max = 1_000_000_000))]
    pub records_per_second: u64,
    /// Average serialized record size.
    pub record_size: Size,
}

/// Network exchanges between operators: how many, and their fan-in/fan-out where known
/// (all-to-all exchanges such as keyBy connect every subtask: fan-in = fan-out = parallelism).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-args" = ["count"], "x-kdl-example" = "exchanges 2 fan-in=48 fan-out=48"))]
pub struct Exchanges {
    /// Number of exchanges in the job graph (a chain of operators without exchanges has none).
    #[schemars(range(min = 0, max = 1000))]
    pub count: u32,
    /// Input channels per receiving subtask (default: the parallelism).
    #[schemars(range(min = 1, max = 32768))]
    pub fan_in: Option<u32>,
    /// Output subpartitions per sending subtask (default: the parallelism).
    #[schemars(range(min = 1, max = 32768))]
    pub fan_out: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-args" = ["default"], "x-kdl-example" = "parallelism 48 max=720"))]
/// Job parallelism and max parallelism; derived when absent.
pub struct Parallelism {
    /// Job parallelism; derived from the source partitions and throughput when absent.
    #[schemars(range(min = 1, max = 32768))]
    pub default: Option<u32>,
    /// Max parallelism (key groups); pinned, because changing it breaks restore from state.
    #[schemars(range(min = 1, max = 32768))]
    pub max: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-args" = ["name"], "x-kdl-example" = "source \"orders\" topic=\"orders\" partitions=48 format=\"avro-confluent\""))]
/// A source or sink topic of the job.
pub struct Topic {
    /// The table / operator name of this source or sink (kebab-case).
    #[schemars(regex(pattern = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub name: String,
    /// The Kafka topic (Kafka's legal characters, at most 249).
    #[schemars(regex(pattern = r"^[a-zA-Z0-9._-]+$"), length(max = 249))]
    pub topic: String,
    /// The topic's partition count; bounds the useful source parallelism.
    #[schemars(range(min = 1, max = 100000))]
    pub partitions: Option<u32>,
    /// Record format of the Flink SQL table (`'format'` option), e.g. `json`, `avro-confluent`.
    #[schemars(extend("enum" = ["json", "csv", "avro", "avro-confluent", "raw", "protobuf", "debezium-json", "debezium-avro-confluent", "canal-json", "maxwell-json", "ogg-json"]))]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = "checkpoint interval=\"30s\""))]
/// Checkpointing; the policy packs' defaults apply to what is left out.
pub struct Checkpoint {
    /// Checkpoint interval (policy default when absent).
    pub interval: Option<Duration>,
    /// Backpressure is expected (slow sinks, skew): use unaligned checkpoints after an aligned
    /// timeout, so barriers do not wait behind buffered records.
    pub backpressure: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = "recovery max-downtime=\"30min\" restorable-for=\"7d\""))]
/// Recovery expectations, which set transaction timeouts, transactional-id expiry and retention.
pub struct Recovery {
    /// The longest unplanned downtime to survive (crash, redeploy) without losing data.
    pub max_downtime: Option<Duration>,
    /// The oldest checkpoint or savepoint that must stay restorable.
    pub restorable_for: Option<Duration>,
}

/// The Kubernetes nodes the TaskManagers run on (`flinkgen instances` lists the catalog).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(extend("x-kdl-example" = "instance \"m6gd.4xlarge\" count=4"))]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-args" = ["type"]))]
pub struct Instance {
    /// Instance type from the catalog (e.g. `m6gd.4xlarge`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Nodes for this job; derived from parallelism when absent.
    #[schemars(range(min = 1, max = 10000))]
    pub count: Option<u32>,
}

/// Where and how the job runs on Kubernetes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(extend("x-kdl-example" = "kubernetes namespace=\"streaming\" image=\"flink:1.20\" storage=\"s3://bucket/job\""))]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Kubernetes {
    /// Namespace of the FlinkDeployment.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub namespace: String,
    /// Container image of the job.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$"), length(max = 255))]
    pub image: String,
    /// Kubernetes ServiceAccount of the job's pods.
    #[schemars(
        regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"),
        length(max = 253)
    )]
    pub service_account: Option<String>,
    /// How the operator upgrades the job: `stateless`, `last-state` or `savepoint`.
    pub upgrade_mode: Option<UpgradeMode>,
    /// Cloud identity the job's pods use for checkpoint storage: an AWS IAM role ARN (EKS IRSA),
    /// a GCP service account e-mail (GKE Workload Identity) or an Azure client id (AKS Workload
    /// Identity). flinkgen writes the annotated ServiceAccount.
    #[schemars(regex(pattern = r"^[A-Za-z0-9:/._@+=,-]+$"), length(max = 300))]
    pub identity: Option<String>,
    /// Where checkpoints and savepoints go, e.g. `s3://bucket/flink/orders`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9+.-]*://[^\s#]+$"), length(max = 1100))]
    pub storage: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpgradeMode {
    Stateless,
    LastState,
    Savepoint,
}

impl UpgradeMode {
    pub fn as_str(self) -> &'static str {
        match self {
            UpgradeMode::Stateless => "stateless",
            UpgradeMode::LastState => "last-state",
            UpgradeMode::Savepoint => "savepoint",
        }
    }
}

/// Transaction naming of the exactly-once Kafka sinks.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = "transactions naming=\"pooling\" acls-granted=#true serializer-exposes-topics=#true"))]
pub struct Transactions {
    /// `incrementing` (the connector default: a new transactional ID per checkpoint) or `pooling`
    /// (connector 4.0+, brokers 3.0+: a small reused pool; switching back is not supported).
    pub naming: Option<Naming>,
    /// POOLING precondition, confirmed by the job's owner: the job's principal may read and
    /// describe its sink topics and list/describe transactions.
    pub acls_granted: Option<bool>,
    /// POOLING precondition: the record serializer exposes its topics (a lambda topic selector does not).
    pub serializer_exposes_topics: Option<bool>,
    /// KIP-939 / FLIP-319 two-phase commit: not available in any released connector or Kafka client.
    pub two_phase_commit: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Naming {
    Incrementing,
    Pooling,
}

/// The job artifact: a jar with entry class and arguments, or a SQL script run by a SQL runner jar.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(extend("x-kdl-example" = "artifact jar=\"local:///opt/flink/usrlib/job.jar\" entry-class=\"com.acme.Job\""))]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Artifact {
    /// Jar URI as the operator reads it (`local:///opt/flink/usrlib/job.jar`, `s3://…`, `https://…`).
    #[schemars(regex(pattern = r"^[a-z][a-z0-9+.-]*:[^\s]+$"), length(max = 2100))]
    pub jar: String,
    /// Main class of the jar (omit when the jar's manifest names it).
    #[schemars(regex(pattern = r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$"))]
    pub entry_class: Option<String>,
    /// Program arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// For SQL jobs: path of the SQL script inside the image, passed to the runner jar.
    pub sql: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-example" = "security protocol=\"SASL_SSL\" sasl-mechanism=\"SCRAM-SHA-512\" {\n    username secret=\"kafka-user\" key=\"username\"\n    password secret=\"kafka-user\" key=\"password\"\n}"))]
/// How the job's Kafka clients authenticate; credentials are references, never values.
pub struct Security {
    /// Kafka `security.protocol`.
    pub protocol: SecurityProtocol,
    /// Kafka `sasl.mechanism` (SASL protocols only).
    pub sasl_mechanism: Option<SaslMechanism>,
    /// SASL user name: a reference, never a literal.
    pub username: Option<SecretRef>,
    /// SASL password: a reference, never a literal.
    pub password: Option<SecretRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SecurityProtocol {
    #[serde(rename = "PLAINTEXT")]
    Plaintext,
    #[serde(rename = "SSL")]
    Ssl,
    #[serde(rename = "SASL_PLAINTEXT")]
    SaslPlaintext,
    #[serde(rename = "SASL_SSL")]
    SaslSsl,
}

impl SecurityProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
    pub fn login_module(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "org.apache.kafka.common.security.plain.PlainLoginModule",
            _ => "org.apache.kafka.common.security.scram.ScramLoginModule",
        }
    }
}

/// A credential reference: a Kubernetes Secret key (`secret=… key=…`) or an environment variable
/// of the Flink pods (`env=…`). Literal credentials are not accepted anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend(
    "oneOf" = [
        { "required": ["env"], "not": { "anyOf": [{ "required": ["secret"] }, { "required": ["key"] }] } },
        { "required": ["secret", "key"], "not": { "required": ["env"] } }
    ],
    "x-kdl-help" = "a credential is a reference: `env=\"VAR\"` (an environment variable of the Flink pods) or `secret=\"name\" key=\"key\"` (a Kubernetes Secret); literal values are refused"
))]
pub struct SecretRef {
    /// An environment variable of the Flink pods (alone).
    #[schemars(regex(pattern = r"^[A-Z_][A-Z0-9_]*$"), length(max = 128))]
    pub env: Option<String>,
    /// A Kubernetes Secret in the job's namespace (with `key`).
    #[schemars(
        regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"),
        length(max = 253)
    )]
    pub secret: Option<String>,
    /// The key within the Secret (with `secret`).
    #[schemars(regex(pattern = r"^[-._a-zA-Z0-9]+$"), length(max = 253))]
    pub key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-args" = ["target", "key", "value"], "x-kdl-example" = "override \"flink\" \"taskmanager.memory.jvm-metaspace.size\" \"320m\""))]
/// A raw setting for one output, parsed with that output's grammar.
pub struct Override {
    /// The output the setting goes to.
    pub target: OverrideTarget,
    /// The key as the target spells it.
    #[schemars(length(min = 1, max = 256))]
    pub key: String,
    /// The value, in the target's own grammar (`"256m"`, `"30 s"`, `5`, `#true`).
    pub value: Scalar,
}

/// Which output an override goes to; each is parsed with that output's grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OverrideTarget {
    /// Flink configuration (Flink's MemorySize / Duration grammar).
    Flink,
    /// Sink producer properties (Kafka ConfigDef types).
    Producer,
    /// Source consumer properties (Kafka ConfigDef types).
    Consumer,
    /// FlinkDeployment resources: `jobmanager.cpu`, `taskmanager.cpu` (Kubernetes quantities).
    Kubernetes,
}

impl OverrideTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideTarget::Flink => "flink",
            OverrideTarget::Producer => "producer",
            OverrideTarget::Consumer => "consumer",
            OverrideTarget::Kubernetes => "kubernetes",
        }
    }
}

/// A Kafka cluster shared by many jobs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-args" = ["name"]))]
pub struct ClusterProfile {
    /// The cluster's name (kebab-case), as jobs refer to it in `kafka cluster=…`.
    #[schemars(regex(pattern = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub name: String,
    pub kafka: KafkaCluster,
    pub deployment: Deployment,
    /// Broker settings the cluster already has (repeatable node: `broker "key" "value"`).
    #[serde(default)]
    pub broker: Vec<BrokerSetting>,
    /// Settings of existing topics (repeatable node), for retention and size checks.
    #[serde(default)]
    pub topic: Vec<TopicSettings>,
}

/// An existing topic's settings, as the cluster has them.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-args" = ["name"], "x-kdl-example" = "topic \"orders\" retention=\"7d\" replication=3"))]
pub struct TopicSettings {
    /// The topic's name.
    #[schemars(regex(pattern = r"^[a-zA-Z0-9._-]+$"), length(max = 249))]
    pub name: String,
    /// retention.ms of the topic.
    pub retention: Option<Duration>,
    /// The topic's replication factor.
    #[schemars(range(min = 1, max = 100))]
    pub replication: Option<u32>,
    /// min.insync.replicas of the topic.
    #[schemars(range(min = 1, max = 100))]
    pub min_insync_replicas: Option<u32>,
    /// max.message.bytes of the topic.
    pub max_message_bytes: Option<Size>,
}

/// Kafka version, broker count and bootstrap servers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(extend("x-kdl-example" = "kafka version=\"3.9\" brokers=3 bootstrap=\"kafka:9092\""))]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct KafkaCluster {
    /// Kafka version of the brokers (major.minor).
    #[schemars(extend("enum" = ["2.8", "3.0", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "3.9", "4.0", "4.1", "4.2"]))]
    pub version: String,
    /// Number of brokers.
    #[schemars(range(min = 1, max = 10000))]
    pub brokers: u32,
    /// Bootstrap servers the jobs connect to (`host:port[,host:port…]`).
    #[schemars(regex(pattern = r"^[A-Za-z0-9.-]+:[0-9]{1,5}(,[A-Za-z0-9.-]+:[0-9]{1,5})*$"))]
    pub bootstrap: String,
}

/// How the cluster is run: plain, strimzi, bitnami or managed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(extend("x-kdl-example" = "deployment \"strimzi\" version=\"0.45.1\""))]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-args" = ["kind"]))]
pub struct Deployment {
    /// How the brokers are run and configured.
    pub kind: DeploymentKind,
    /// Strimzi version (`0.45.1`) or bitnami/kafka chart version (`32.4.4`).
    #[schemars(regex(pattern = r"^[0-9]+\.[0-9]+\.[0-9]+$"))]
    pub version: Option<String>,
    /// For `managed`: the service (e.g. `msk`, `confluent-cloud`), for reports.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,40}$"))]
    pub service: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeploymentKind {
    /// Self-managed brokers configured by `server.properties`.
    Plain,
    /// Strimzi operator: `spec.kafka.config`.
    Strimzi,
    /// bitnami/kafka Helm chart.
    Bitnami,
    /// A managed service whose broker settings are fixed: never a proposed broker change.
    Managed,
}

impl DeploymentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentKind::Plain => "plain",
            DeploymentKind::Strimzi => "strimzi",
            DeploymentKind::Bitnami => "bitnami",
            DeploymentKind::Managed => "managed",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(extend("x-kdl-args" = ["key", "value"], "x-kdl-example" = "broker \"transaction.max.timeout.ms\" 7200000"))]
/// A broker setting the cluster has now.
pub struct BrokerSetting {
    /// The broker config key.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9._-]*$"), length(max = 255))]
    pub key: String,
    /// Its current value.
    pub value: Scalar,
}
