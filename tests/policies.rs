//! The built-in policy packs: they load, and they hold what the resolver relies on.

use flinkgen::diag::Sources;
use flinkgen::policy::{Layer, PackSet};

fn packs() -> PackSet {
    let mut s = Sources::default();
    PackSet::load(&mut s, &[]).unwrap_or_else(|e| {
        panic!(
            "built-in packs do not load: {:?}",
            e.0.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    })
}

const LOGICAL_KEYS: [&str; 24] = [
    "parallelism",
    "max-parallelism",
    "slots",
    "tm-process-size",
    "jm-process-size",
    "state-backend",
    "checkpoint-interval",
    "checkpoint-mode",
    "checkpoint-timeout",
    "checkpoint-min-pause",
    "tolerable-failed-checkpoints",
    "max-concurrent-checkpoints",
    "checkpoint-retention",
    "checkpoint-storage",
    "checkpoint-dir",
    "savepoint-dir",
    "incremental",
    "local-recovery",
    "num-retained",
    "restart-strategy",
    "ha-type",
    "ha-storage-dir",
    "unaligned",
    "rocksdb-localdir",
];

#[test]
fn every_flink_version_defines_every_logical_key_and_its_file_format() {
    let packs = packs();
    for v in ["1.18", "1.19", "1.20", "2.0", "2.1", "2.2", "2.3"] {
        let p = packs
            .packs()
            .find(|p| p.name == format!("flink-{v}"))
            .unwrap_or_else(|| panic!("no pack for Flink {v}"));
        for k in LOGICAL_KEYS {
            assert!(p.keys.contains_key(k), "flink-{v} lacks logical key {k}");
        }
        let file = p.config_file.as_ref().map(|c| c.0.as_str());
        let expected = if v.starts_with('2') {
            "config.yaml"
        } else {
            "flink-conf.yaml"
        };
        assert_eq!(file, Some(expected), "flink-{v}");
        // The 1.20 renames: new checkpoint keys from 1.20 on, state.* before.
        let dir = &p.keys["checkpoint-dir"].concrete;
        let renamed = !matches!(v, "1.18" | "1.19");
        assert_eq!(
            dir == "execution.checkpointing.dir",
            renamed,
            "flink-{v}: {dir}"
        );
        // Only `.type` keys, never a key that is a prefix of another.
        assert_eq!(p.keys["state-backend"].concrete, "state.backend.type");
        let concrete: Vec<&String> = p.keys.values().map(|k| &k.concrete).collect();
        for a in &concrete {
            for b in &concrete {
                assert!(
                    !b.starts_with(&format!("{a}.")),
                    "flink-{v}: {a} is a prefix of {b}"
                );
            }
        }
    }
}

#[test]
fn kafka_packs_cover_2_8_to_4_2_with_their_config_models() {
    let packs = packs();
    for v in [
        "2.8", "3.0", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "3.9", "4.0", "4.1",
        "4.2",
    ] {
        let p = packs
            .packs()
            .find(|p| p.name == format!("kafka-{v}"))
            .unwrap_or_else(|| panic!("no pack for Kafka {v}"));
        assert!(
            flinkgen::policy::kafka_model::model(v).is_some(),
            "no config model for {v}"
        );
        let kraft_only = matches!(
            p.facts.get("kraft-only").map(|f| &f.0),
            Some(flinkgen::profile::Scalar::Bool(true))
        );
        assert_eq!(kraft_only, v.starts_with('4'), "kafka-{v}");
    }
}

#[test]
fn no_released_operator_accepts_flink_2_3() {
    let packs = packs();
    let operators: Vec<_> = packs
        .packs()
        .filter(|p| p.name.starts_with("operator-"))
        .collect();
    assert!(operators.len() >= 3);
    for p in operators {
        for r in &p.releases {
            let versions = r.props.get("flink-versions").cloned().unwrap_or_default();
            assert!(
                !versions.split_whitespace().any(|x| x == "v2_3"),
                "{} {} accepts v2_3",
                p.name,
                r.version
            );
            assert!(
                versions.split_whitespace().any(|x| x == "v1_20"),
                "{} {}",
                p.name,
                r.version
            );
        }
    }
}

#[test]
fn connector_packs_name_the_flink_versions_of_each_release() {
    let packs = packs();
    for (major, flink) in [("3", "1.20"), ("4", "2.0"), ("5", "2.2")] {
        let p = packs
            .packs()
            .find(|p| p.name == format!("connector-kafka-{major}"))
            .unwrap_or_else(|| panic!("connector {major}"));
        assert!(p.releases.iter().any(|r| {
            r.props
                .get("flink")
                .is_some_and(|f| f.split_whitespace().any(|x| x == flink))
        }));
    }
}

#[test]
fn instance_catalog_has_at_least_25_cited_types_across_three_clouds() {
    let packs = packs();
    let instances: Vec<_> = packs.packs().flat_map(|p| p.instances.iter()).collect();
    assert!(instances.len() >= 25, "{} instance types", instances.len());
    for cloud in ["aws", "gcp", "azure"] {
        assert!(
            instances.iter().any(|i| i.cloud == cloud),
            "no {cloud} instances"
        );
    }
    for i in &instances {
        assert!(
            i.source.starts_with("https://"),
            "{} has no public source",
            i.name
        );
        assert!(i.vcpu > 0 && i.memory >= 1 << 30, "{}", i.name);
        assert!(
            packs.reserve(&i.reserve).is_some(),
            "{} names an unknown node reserve {}",
            i.name,
            i.reserve
        );
        assert_eq!(
            i.local_nvme_count == 0,
            i.local_nvme_size == 0,
            "{}: NVMe count and size disagree",
            i.name
        );
    }
    let m6gd = instances
        .iter()
        .find(|i| i.name == "m6gd.4xlarge")
        .unwrap_or_else(|| panic!("m6gd.4xlarge missing"));
    assert_eq!(
        (m6gd.vcpu, m6gd.memory, m6gd.local_nvme_size),
        (16, 64 << 30, 950_000_000_000)
    );
    for r in packs.packs().flat_map(|p| p.reserves.iter()) {
        assert!(
            r.source.starts_with("https://"),
            "node reserve {} has no cited source",
            r.name
        );
    }
}

#[test]
fn node_reserve_formulas_match_their_published_examples() {
    let packs = packs();
    let (m6gd, _) = packs
        .instance("m6gd.4xlarge")
        .unwrap_or_else(|| panic!("m6gd.4xlarge"));
    let eks = packs.reserve("eks").unwrap_or_else(|| panic!("eks"));
    // EKS AMI: 255 MiB + 11 MiB × max pods (234) + 100 MiB eviction.
    assert_eq!(
        flinkgen::resolve::sizing::node_reserve(m6gd, eks),
        (255 + 11 * 234 + 100) << 20
    );
    let gke = packs.reserve("gke").unwrap_or_else(|| panic!("gke"));
    let (n2, _) = packs
        .instance("n2-standard-16")
        .unwrap_or_else(|| panic!("n2-standard-16"));
    // GKE on 64 GiB: 25% of 4 + 20% of 4 + 10% of 8 + 6% of 48 GiB = 1 + 0.8 + 0.8 + 2.88 GiB, + 100 MiB.
    let expected = (5.48 * (1u64 << 30) as f64) as u64 + (100 << 20);
    let got = flinkgen::resolve::sizing::node_reserve(n2, gke);
    assert!(got.abs_diff(expected) < 1 << 20, "{got} vs {expected}");
}

#[test]
fn the_practice_pack_is_the_only_built_in_policy_layer() {
    let packs = packs();
    let practice: Vec<_> = packs
        .packs()
        .filter(|p| p.layer == Layer::Practice)
        .collect();
    assert_eq!(practice.len(), 1);
    assert!(
        packs.packs().all(|p| p.layer != Layer::Organisation),
        "organisation packs come from --policies"
    );
    for r in &practice[0].rules {
        assert!(!r.doc.is_empty(), "rule {} has no doc", r.id);
    }
}

#[test]
fn built_in_pack_hashes_from_build_time_match_their_text() {
    let mut sources = flinkgen::diag::Sources::default();
    let packs = flinkgen::policy::PackSet::load(&mut sources, &[]).unwrap();
    assert!(packs.packs().count() > 30);
    for p in packs.packs() {
        assert_eq!(
            p.sha256,
            flinkgen::emit::sha256_hex(sources.get(p.file).text.as_bytes()),
            "{}",
            p.name
        );
    }
}

/// The built-in packs of one product release are read lazily, found by their path: their name
/// and `applies` must be what the path says, and they may hold nothing that is looked up across
/// all packs (instance types, node reserves).
#[test]
fn built_in_product_release_packs_are_named_and_applied_by_their_path() {
    use flinkgen::policy::embedded::BUILTIN_PACKS;
    let mut sources = flinkgen::diag::Sources::default();
    let set = packs();
    let mut lazy = 0;
    for (path, text) in BUILTIN_PACKS {
        let (dir, file) = path.split_once('/').unwrap();
        let Some(stem) = file.strip_suffix(".kdl") else {
            continue;
        };
        if !["flink", "kafka", "operator", "connector"].contains(&dir) {
            continue;
        }
        lazy += 1;
        let id = sources.add(*path, *text);
        let p = flinkgen::policy::pack::read_pack(&sources, id).unwrap();
        let release = stem.rsplit('-').next().unwrap();
        assert_eq!(p.name, format!("{dir}-{stem}"), "{path}");
        assert_eq!(p.layer, Layer::Product, "{path}");
        assert_eq!(
            p.applies,
            vec![(dir.to_string(), vec![release.to_string()])],
            "{path}"
        );
        assert!(p.instances.is_empty() && p.reserves.is_empty(), "{path}");
        // And the set finds it, by name and as the product pack of its release.
        assert_eq!(set.named(&p.name).map(|q| &q.name), Some(&p.name));
        let mut selectors = std::collections::BTreeMap::new();
        selectors.insert(dir, release.to_string());
        assert_eq!(
            set.product(dir, &selectors).map(|q| q.name.as_str()),
            Some(p.name.as_str()),
            "{path}"
        );
    }
    assert!(lazy > 20, "{lazy}");
}
