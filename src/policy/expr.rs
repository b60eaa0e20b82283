//! Pack expressions, evaluated by minijinja's expression engine.
//!
//! The environment is sandboxed by construction: no loader, no filters that touch files or the
//! network, and a fuel limit so a hostile pack fails in bounded time.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use minijinja::Environment;

/// Instruction budget for one expression; generous for real rules, small enough to stop loops.
const FUEL: u64 = 50_000;
/// The longest expression accepted: real rules are one line. (minijinja's parser also has its
/// own nesting limit, so `((((…))))` fails to compile rather than overflowing the stack.)
pub const MAX_EXPR_CHARS: usize = 2_000;
/// The most values (list items, map entries, scalars) and string bytes an expression may
/// return. minijinja repeats sequences lazily (`[1] * 100000000` is cheap in fuel), so the
/// result is bounded when it is turned into data, not only by fuel.
pub const MAX_RESULT_VALUES: usize = 10_000;
pub const MAX_RESULT_BYTES: usize = 1024 * 1024;

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_fuel(Some(FUEL));
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env
    })
}

/// At most this many compiled expressions are kept: the packs of a build have a few hundred; a
/// hostile input (or a fuzzer) with more is compiled each time instead of growing the cache.
const CACHED_EXPRESSIONS: usize = 4096;

/// An expression compiled, with the top-level names it reads.
struct CompiledExpr {
    expr: minijinja::Expression<'static, 'static>,
    variables: Arc<[String]>,
}

type Compiled = Arc<CompiledExpr>;

/// The top-level names `expr` reads (`job`, `flink`, …), so that a caller builds only those
/// parts of a context; none for an expression that does not compile (evaluating it reports
/// the error).
pub fn variables(expr: &str) -> Arc<[String]> {
    if expr.chars().count() > MAX_EXPR_CHARS {
        // Refused when evaluated (`run_in`); not compiled.
        return Arc::from([]);
    }
    compiled(expr).map_or_else(|_| Arc::from([]), |c| c.variables.clone())
}

/// Every top-level name these expressions read, sorted and once each.
pub fn names_read<'e>(exprs: impl Iterator<Item = &'e str>) -> Vec<String> {
    let mut names: Vec<String> = exprs.flat_map(|e| variables(e).to_vec()).collect();
    names.sort();
    names.dedup();
    names
}

/// `expr` compiled, once per process: every job of a fleet evaluates the same pack expressions,
/// and compiling one cost more than evaluating it.
fn compiled(expr: &str) -> Result<Compiled, String> {
    static CACHE: OnceLock<RwLock<HashMap<String, Compiled>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    // A poisoned lock only means another thread panicked while holding it; the map is intact.
    if let Some(e) = cache
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(expr)
    {
        return Ok(e.clone());
    }
    let compiled = env()
        .compile_expression_owned(expr.to_string())
        .map_err(|e| format!("cannot compile `{}`: {}", shown(expr), plain(&e)))?;
    let mut variables: Vec<String> = compiled.undeclared_variables(false).into_iter().collect();
    variables.sort();
    let e: Compiled = Arc::new(CompiledExpr {
        expr: compiled,
        variables: variables.into(),
    });
    let mut map = cache.write().unwrap_or_else(PoisonError::into_inner);
    if map.len() < CACHED_EXPRESSIONS {
        map.insert(expr.to_string(), e.clone());
    }
    Ok(e)
}

/// The expression as quoted in messages: a hostile one may be long.
fn shown(expr: &str) -> String {
    let mut s: String = expr.chars().take(80).collect();
    if s.len() < expr.len() {
        s.push('…');
    }
    s
}

/// A context converted for the engine once, to evaluate many expressions against (converting a
/// job's whole context per expression was most of a job's resolve time).
pub fn context(ctx: &serde_json::Value) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(ctx))
}

fn run(expr: &str, ctx: &serde_json::Value) -> Result<minijinja::Value, String> {
    run_in(expr, &context(ctx))
}

/// minijinja repeats strings and lists with `*` lazily, outside the fuel budget, and `~` then
/// turns a repeated list into one string without spending fuel either: `311 ~ 4553132 * range(4)`
/// (found by fuzzing) ran for minutes. Rules multiply numbers; so an expression that multiplies
/// may not also hold string or list literals, filters, `~`, or calls.
fn multiplies_sequences(expr: &str) -> bool {
    if !expr.contains('*') {
        return false;
    }
    let b = expr.as_bytes();
    let call = b.iter().enumerate().any(|(i, &c)| {
        c == b'(' && i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
    });
    call || expr.contains(['[', '\'', '"', '|', '~'])
}

fn run_in(expr: &str, ctx: &minijinja::Value) -> Result<minijinja::Value, String> {
    if multiplies_sequences(expr) {
        return Err(format!(
            "expression `{}` multiplies and also uses strings, lists, filters, `~` or calls; a multiplying expression may use numbers, names and arithmetic only",
            shown(expr)
        ));
    }
    let n = expr.chars().count();
    if n > MAX_EXPR_CHARS {
        return Err(format!(
            "expression `{}` is {n} characters; at most {MAX_EXPR_CHARS} are accepted",
            shown(expr)
        ));
    }
    let compiled = compiled(expr)?;
    compiled
        .expr
        .eval(ctx.clone())
        .map_err(|e| format!("cannot evaluate `{}`: {}", shown(expr), plain(&e)))
}

/// Evaluate `expr` against `ctx` (a JSON object of `job`, `cluster`, `flink`, …).
pub fn eval(expr: &str, ctx: &serde_json::Value) -> Result<serde_json::Value, String> {
    eval_in(expr, &context(ctx))
}

/// `eval` against a context already converted with [`context`].
pub fn eval_in(expr: &str, ctx: &minijinja::Value) -> Result<serde_json::Value, String> {
    let v = run_in(expr, ctx)?;
    let mut budget = (MAX_RESULT_VALUES, MAX_RESULT_BYTES);
    to_data(&v, &mut budget, 0).map_err(|e| format!("`{}` {e}", shown(expr)))
}

/// minijinja value → JSON, within the budget of values and bytes.
fn to_data(
    v: &minijinja::Value,
    budget: &mut (usize, usize),
    depth: usize,
) -> Result<serde_json::Value, String> {
    use minijinja::value::ValueKind;
    use serde_json::Value as J;
    let too_big = || {
        format!(
            "gave a value larger than {MAX_RESULT_VALUES} values or {} KiB",
            MAX_RESULT_BYTES / 1024
        )
    };
    if budget.0 == 0 || depth > 32 {
        return Err(too_big());
    }
    budget.0 -= 1;
    Ok(match v.kind() {
        // Strict undefined stops `x.nope == 1` but not a bare `x.nope`: same error here.
        ValueKind::Undefined => return Err("is undefined".into()),
        ValueKind::None => J::Null,
        ValueKind::Bool => J::Bool(v.is_true()),
        ValueKind::Number => {
            if let Some(i) = v.as_i64() {
                J::from(i)
            } else {
                f64::try_from(v.clone())
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(J::Null, J::Number)
            }
        }
        ValueKind::String | ValueKind::Bytes => {
            let s = v.to_string();
            budget.1 = budget.1.checked_sub(s.len()).ok_or_else(too_big)?;
            J::String(s)
        }
        ValueKind::Seq | ValueKind::Iterable => {
            if v.len().is_some_and(|n| n > budget.0) {
                return Err(too_big());
            }
            let mut items = vec![];
            for item in v.try_iter().map_err(|e| plain(&e))? {
                items.push(to_data(&item, budget, depth + 1)?);
            }
            J::Array(items)
        }
        ValueKind::Map => {
            if v.len().is_some_and(|n| n > budget.0) {
                return Err(too_big());
            }
            let mut m = serde_json::Map::new();
            for key in v.try_iter().map_err(|e| plain(&e))? {
                let item = v.get_item(&key).map_err(|e| plain(&e))?;
                let k = key.to_string();
                budget.1 = budget.1.checked_sub(k.len()).ok_or_else(too_big)?;
                m.insert(k, to_data(&item, budget, depth + 1)?);
            }
            J::Object(m)
        }
        _ => return Err("gave a value that is not data (a function or object)".into()),
    })
}

/// Evaluate a condition; anything but a true boolean is false, errors are reported.
pub fn truthy(expr: &str, ctx: &serde_json::Value) -> Result<bool, String> {
    Ok(run(expr, ctx)?.is_true())
}

/// `truthy` against a context already converted with [`context`].
pub fn truthy_in(expr: &str, ctx: &minijinja::Value) -> Result<bool, String> {
    Ok(run_in(expr, ctx)?.is_true())
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

    /// Hostile packs: each fails with a clear error, by result (no timing assertions).
    #[test]
    fn hostile_expressions_fail_cleanly() {
        let ctx = json!({"job": {"name": "x"}});
        let deep = format!("{}1{}", "(".repeat(900), ")".repeat(900));
        let long = format!("1{}", " + 1".repeat(600));
        for (e, want) in [
            ("[1] * 100000000", "multiplies"),
            ("[[1] * 5000] * 5000", "multiplies"),
            ("'ab' * 100000000", "multiplies"),
            ("range(1000000) | list", "too many elements"),
            ("range(99999) | map('string') | join(',')", "fuel"),
            (deep.as_str(), "recursion"),
            (long.as_str(), "at most 2000"),
            ("include('/etc/passwd')", "unknown function"),
            ("import('os')", "unknown function"),
            ("open('/etc/passwd')", "unknown function"),
            ("lipsum()", "unknown function"),
            ("job.__class__", "undefined"),
            ("namespace", "not data"),
        ] {
            let r = eval(e, &ctx);
            let err = r.err().unwrap_or_else(|| panic!("{} must fail", shown(e)));
            assert!(err.contains(want), "{}: {err}", shown(e));
            assert!(err.len() < 400, "the message quotes a bounded part: {err}");
        }
        // Statements are not expressions: `{% include %}` cannot be written in a pack.
        assert!(eval("{% include 'x' %}", &ctx).is_err());
        // The template syntax inside a string is just text.
        assert_eq!(eval("'{{ x }}'", &ctx), Ok(json!("{{ x }}")));
    }

    #[test]
    fn runaway_expressions_run_out_of_fuel() {
        let ctx = json!({});
        let r = eval("range(100000) | map('string') | join(',') | length", &ctx);
        assert!(r.is_err(), "{r:?}");
    }

    #[test]
    fn repetition_outside_the_fuel_budget_is_refused() {
        let ctx = json!({"job": {"parallelism": 4}});
        // Found by fuzzing (fuzz/artifacts/expr): a lazily repeated list joined into a string.
        for hostile in [
            "3~8>311~4553132*range(4)",
            "'x' * 100000000",
            "[1] * 100000000 | length",
        ] {
            let r = eval(hostile, &ctx);
            assert!(
                r.as_ref().is_err_and(|e| e.contains("multiplies")),
                "{hostile}: {r:?}"
            );
        }
        assert_eq!(eval("job.parallelism * 2", &ctx), Ok(json!(8)));
        assert_eq!(eval("(job.parallelism + 1) * 2", &ctx), Ok(json!(10)));
    }
}
