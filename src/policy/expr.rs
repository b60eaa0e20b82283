//! Pack expressions, evaluated by minijinja's expression engine.
//!
//! The environment is sandboxed by construction: no loader, no filters that touch files or the
//! network, and a fuel limit so a hostile pack fails in bounded time.

use std::sync::OnceLock;

use minijinja::Environment;

/// Instruction budget for one expression; generous for real rules, small enough to stop loops.
const FUEL: u64 = 50_000;

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_fuel(Some(FUEL));
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env
    })
}

fn run(expr: &str, ctx: &serde_json::Value) -> Result<minijinja::Value, String> {
    let compiled = env()
        .compile_expression(expr)
        .map_err(|e| format!("cannot compile `{expr}`: {}", plain(&e)))?;
    compiled
        .eval(minijinja::Value::from(minijinja::value::Serde(ctx)))
        .map_err(|e| format!("cannot evaluate `{expr}`: {}", plain(&e)))
}

/// Evaluate `expr` against `ctx` (a JSON object of `job`, `cluster`, `flink`, …).
pub fn eval(expr: &str, ctx: &serde_json::Value) -> Result<serde_json::Value, String> {
    let v = run(expr, ctx)?;
    serde_json::to_value(&v).map_err(|e| format!("`{expr}` gave a value that is not data: {e}"))
}

/// Evaluate a condition; anything but a true boolean is false, errors are reported.
pub fn truthy(expr: &str, ctx: &serde_json::Value) -> Result<bool, String> {
    Ok(run(expr, ctx)?.is_true())
}

fn plain(e: &minijinja::Error) -> String {
    let mut s = e.kind().to_string();
    if let Some(d) = e.detail() {
        s.push_str(": ");
        s.push_str(d);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evaluates_against_context() {
        let ctx = json!({"job": {"delivery": "exactly-once", "interval_ms": 30000}});
        assert_eq!(truthy("job.delivery == 'exactly-once'", &ctx), Ok(true));
        assert_eq!(eval("job.interval_ms // 2", &ctx), Ok(json!(15000)));
    }

    #[test]
    fn undefined_names_are_errors_not_silently_false() {
        let ctx = json!({"job": {}});
        assert!(truthy("job.nope == 1", &ctx).is_err());
    }

    #[test]
    fn runaway_expressions_run_out_of_fuel() {
        let ctx = json!({});
        let r = eval("range(100000) | map('string') | join(',') | length", &ctx);
        assert!(r.is_err(), "{r:?}");
    }
}
