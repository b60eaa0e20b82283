//! Any text as one of the files lint reads (the first byte picks which kind), through the whole
//! lint pipeline: readers, Plan assembly, the check catalog, and the rendered findings.
#![no_main]

use std::sync::OnceLock;

use flinkgen::diag::{Sources, render_human};
use flinkgen::policy::PackSet;
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 10] = [
    "flink-conf.yaml",
    "config.yaml",
    "producer.properties",
    "consumer.properties",
    "server.properties",
    "pipeline.sql",
    "flinkdeployment.yaml",
    "docker-compose.yml",
    "values.yaml",
    "sink-out.properties",
];

fn base() -> &'static (Sources, PackSet) {
    static BASE: OnceLock<(Sources, PackSet)> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut sources = Sources::default();
        let packs = PackSet::load(&mut sources, &[]).unwrap_or_else(|e| panic!("{e:?}"));
        (sources, packs)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let name = NAMES[usize::from(kind) % NAMES.len()];
    let (sources, packs) = base();
    let facts = ["delivery=exactly-once".to_string(), "brokers=3".to_string()];
    match flinkgen::lint::lint_texts(
        vec![(format!("deploy/{name}"), text.to_string())],
        &facts,
        packs.clone(),
        sources.clone(),
    ) {
        Ok(l) => {
            let _ = render_human(&l.findings, &l.sources, false);
            let _ = flinkgen::import::import(&l);
        }
        Err((e, s)) => {
            let _ = render_human(&e.0, &s, false);
        }
    }
});
