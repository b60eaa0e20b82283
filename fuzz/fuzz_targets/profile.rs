//! Any text as a profile file: load → resolve → check → render, and the diagnostics rendered with
//! their snippets. Must never panic; errors are fine.
#![no_main]

use std::sync::OnceLock;

use flinkgen::diag::{Sources, render_human, render_json};
use flinkgen::policy::PackSet;
use flinkgen::profile::{self, Profiles};
use libfuzzer_sys::fuzz_target;

fn base() -> &'static (Sources, PackSet) {
    static BASE: OnceLock<(Sources, PackSet)> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut sources = Sources::default();
        let packs = PackSet::load(&mut sources, &[]).unwrap_or_else(|e| panic!("{e:?}"));
        (sources, packs)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (base_sources, packs) = base();
    let mut sources = base_sources.clone();
    let file = sources.add("fuzz.kdl", text);
    let mut profiles = Profiles::default();
    if let Err(e) = profile::load_file(&sources, file, &mut profiles) {
        let _ = render_human(&e.0, &sources, false);
        let _ = render_json(&e.0, &sources);
        return;
    }
    match flinkgen::resolve::resolve(profiles, packs) {
        Err(e) => {
            let _ = render_human(&e.0, &sources, false);
        }
        Ok(plan) => {
            let findings = flinkgen::check::check(&plan, packs);
            let _ = render_human(&findings, &sources, false);
            if let Ok(env) = flinkgen::render::environment(None) {
                let _ = flinkgen::render::render_plan(&plan, &env);
            }
        }
    }
});
