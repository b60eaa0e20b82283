//! Any text as a policy pack file. Must never panic.
#![no_main]

use flinkgen::diag::{Sources, render_human};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut sources = Sources::default();
    let file = sources.add("fuzz-pack.kdl", text);
    if let Err(e) = flinkgen::policy::pack::read_pack(&sources, file) {
        let _ = render_human(&e.0, &sources, false);
    }
});
