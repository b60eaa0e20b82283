//! Any pack expression against a context shaped like the real one. Must never panic and must
//! stop within the fuel budget (libFuzzer's -timeout catches a hang).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn ctx() -> &'static serde_json::Value {
    static CTX: OnceLock<serde_json::Value> = OnceLock::new();
    CTX.get_or_init(|| {
        serde_json::json!({
            "job": {"name": "orders", "delivery": "exactly-once", "parallelism": 24,
                    "state": {"size": 536870912000u64, "backend": "rocksdb"},
                    "sinks": [{"name": "out", "topic": "orders-out"}]},
            "cluster": {"name": "main", "brokers": 6, "kafka": {"version": "3.9"}},
            "flink": {"version": "1.20"},
            "params": {"checkpoint-interval": 60000, "headroom": 0.25},
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(expr) = std::str::from_utf8(data) else {
        return;
    };
    let _ = flinkgen::policy::expr::eval(expr, ctx());
    let _ = flinkgen::policy::expr::truthy(expr, ctx());
});
