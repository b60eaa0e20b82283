//! Local state on Kubernetes: RocksDB's working directory and local-recovery copies on the
//! node's local NVMe, which a pod only sees through a volume declared in its pod template
//! (a hostPath where the node mounts the disks, or an emptyDir where the cloud backs emptyDir
//! with local SSD). Also the checkpoint storage plumbing that depends on the URI scheme.

use super::context::JobCtx;
use crate::plan::{DocKind, Input, JobPlan, Origin, Value};

/// Where local state lives inside the TaskManager container.
pub const MOUNT: &str = "/flink-local";

pub fn derive(cx: &JobCtx<'_>, plan: &mut JobPlan) {
    let p = cx.p();
    let rocksdb = p
        .state
        .as_ref()
        .is_some_and(|s| s.backend == crate::profile::Backend::Rocksdb);
    let Some((inst, pack)) = cx.packs.instance(&p.instance.kind) else {
        return;
    };
    if rocksdb && inst.local_nvme_count > 0 {
        let param = format!("kubernetes.local-disk.{}", inst.cloud);
        let (volume, input) = match cx.param(&param) {
            Some((v, inp)) => (v.to_text(), Some(inp)),
            None => ("emptyDir".to_string(), None),
        };
        let mut inputs = vec![Input {
            name: format!("instance {} ({}@{})", inst.name, pack.name, pack.version),
            value: format!("{} × local NVMe", inst.local_nvme_count),
            span: Some(cx.span("/instance/type")),
        }];
        inputs.extend(input);
        let origin = Origin::Model {
            model: "local-state".into(),
            steps: vec![
                format!("the node's local NVMe reaches the pod as a volume ({volume}) mounted at {MOUNT}"),
                "RocksDB's working directory and the local-recovery copies live there; SSD-tuned RocksDB options".into(),
            ].into(),
            inputs: inputs.into(),
        };
        plan.doc_mut(DocKind::K8s).set(
            "podTemplate.localVolume",
            Value::Str(volume),
            origin.clone(),
        );
        let flink = plan.doc_mut(DocKind::Flink);
        flink.set(
            cx.key("rocksdb-localdir"),
            Value::Str(format!("{MOUNT}/rocksdb")),
            origin.clone(),
        );
        flink.set(
            cx.key("local-backup-dirs"),
            Value::Str(format!("{MOUNT}/local-recovery")),
            origin.clone(),
        );
        flink.set(
            "state.backend.rocksdb.predefined-options",
            Value::Str("FLASH_SSD_OPTIMIZED".into()),
            origin,
        );
    }

    // S3 entropy injection spreads checkpoint files of many subtasks over S3 prefixes.
    let Some(uri) = &p.kubernetes.storage else {
        return;
    };
    let parallelism = plan
        .get(DocKind::Flink, &cx.key("parallelism"))
        .and_then(|e| e.value.as_i64())
        .unwrap_or(1);
    let (min_p, min_in) = cx.param_f64("storage.s3-entropy-min-parallelism", 32.0);
    if let Some(rest) = uri.strip_prefix("s3://")
        && parallelism as f64 >= min_p
        && rocksdb
    {
        let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
        let path = path.trim_end_matches('/');
        let dir = if path.is_empty() {
            format!("s3://{bucket}/_entropy_/checkpoints")
        } else {
            format!("s3://{bucket}/_entropy_/{path}/checkpoints")
        };
        let mut inputs = vec![
            cx.input("storage", uri, "/kubernetes/storage"),
            Input {
                name: "parallelism".into(),
                value: parallelism.to_string(),
                span: None,
            },
        ];
        inputs.extend(min_in);
        let origin = Origin::Model {
            model: "storage".into(),
            steps: vec![
                format!("parallelism {parallelism} ≥ {min_p}: S3 entropy injection spreads checkpoint data files over random prefixes (avoids S3 request throttling per prefix)"),
                "the `_entropy_` marker is replaced by random characters for data files and removed for checkpoint metadata".into(),
            ].into(),
            inputs: inputs.into(),
        };
        let flink = plan.doc_mut(DocKind::Flink);
        flink.set(
            "s3.entropy.key",
            Value::Str("_entropy_".into()),
            origin.clone(),
        );
        flink.set("s3.entropy.length", Value::Int(4), origin.clone());
        flink.set(cx.key("checkpoint-dir"), Value::Str(dir), origin);
    }
}

/// The Flink filesystem plugin a storage URI scheme needs (in the image's opt/ directory).
pub fn filesystem_plugin(uri: &str) -> Option<&'static str> {
    let scheme = uri.split("://").next()?;
    Some(match scheme {
        "s3" | "s3p" => "flink-s3-fs-presto",
        "s3a" => "flink-s3-fs-hadoop",
        "gs" => "flink-gs-fs-hadoop",
        "abfs" | "abfss" | "wasb" | "wasbs" => "flink-azure-fs-hadoop",
        "oss" => "flink-oss-fs-hadoop",
        _ => return None,
    })
}
