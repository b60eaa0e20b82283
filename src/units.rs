//! Units: the profile grammar for sizes and durations, and one parser per override target
//! (Flink's MemorySize and Duration, Kafka's ConfigDef types, Kubernetes quantities).
//!
//! Every parser returns a plain-language error that says what was expected, so callers can
//! attach it to a source span.

const KIB: u128 = 1024;

/// A size written in a profile: `512B`, `500GiB`, `950GB`. Binary units (`KiB MiB GiB TiB`) are
/// powers of 1024, decimal units (`KB MB GB TB`) powers of 1000, as on cloud spec sheets.
/// Decimals are allowed when the result is a whole number of bytes (`1.5GiB`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("`{t}` has no unit: write it as e.g. `{t}GiB` or `{t}MB` (units: B KiB MiB GiB TiB KB MB GB TB)"))?;
    let (num, unit) = t.split_at(split);
    let unit = unit.trim();
    let factor: u128 = match unit {
        "B" => 1,
        "KiB" => KIB,
        "MiB" => KIB.pow(2),
        "GiB" => KIB.pow(3),
        "TiB" => KIB.pow(4),
        "KB" => 1000,
        "MB" => 1000u128.pow(2),
        "GB" => 1000u128.pow(3),
        "TB" => 1000u128.pow(4),
        other => {
            let hint = match other.to_ascii_lowercase().as_str() {
                "gi" | "g" | "gb" | "gib" => " (did you mean `GiB` or `GB`?)",
                "mi" | "m" | "mb" | "mib" => " (did you mean `MiB` or `MB`?)",
                "ki" | "k" | "kb" | "kib" => " (did you mean `KiB` or `KB`?)",
                "ti" | "t" | "tb" | "tib" => " (did you mean `TiB` or `TB`?)",
                _ => "",
            };
            return Err(format!(
                "unknown size unit `{other}`{hint}: use B, KiB, MiB, GiB, TiB (binary) or KB, MB, GB, TB (decimal)"
            ));
        }
    };
    let bytes = scaled(num, factor).ok_or_else(|| {
        format!(
            "`{t}` is not a whole number of bytes: write a number followed by a unit, e.g. `512MiB`"
        )
    })?;
    u64::try_from(bytes).map_err(|_| format!("`{t}` is too large"))
}

/// `num` (digits, optional fraction) × factor, only when the product is a whole number.
fn scaled(num: &str, factor: u128) -> Option<u128> {
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if frac.len() > 12 {
        return None;
    }
    let digits: u128 = format!("{int}{frac}").parse().ok()?;
    let scale = 10u128.pow(frac.len() as u32);
    let total = digits.checked_mul(factor)?;
    (total % scale == 0).then_some(total / scale)
}

/// A duration written in a profile: `500ms`, `30s`, `15min`, `2h`, `7d` (whole numbers).
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| {
        format!("`{t}` has no unit: write e.g. `{t}s` or `{t}min` (units: ms s min h d)")
    })?;
    let (num, unit) = t.split_at(split);
    let unit = unit.trim();
    let factor: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "m" => {
            return Err(format!(
                "`{t}`: `m` is ambiguous; write `min` for minutes or `ms` for milliseconds"
            ));
        }
        other => {
            return Err(format!(
                "unknown duration unit `{other}`: use ms, s, min, h or d"
            ));
        }
    };
    if num.is_empty() {
        return Err(format!("`{t}` has no number: write e.g. `30s`"));
    }
    let n: u64 = num.parse().map_err(|_| format!("`{t}` is too large"))?;
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{t}` is too large"))
}

/// Flink's `MemorySize.parse`: digits, optional whitespace, optional case-insensitive unit;
/// every unit is binary (`m` = `mb` = MiB). No unit means bytes.
pub fn parse_flink_memory(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!(
            "`{t}` is not a Flink memory size: expected digits and a unit, e.g. `256m` or `2g`"
        ));
    }
    let factor: u128 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1,
        "k" | "kb" | "kibibytes" => KIB,
        "m" | "mb" | "mebibytes" => KIB.pow(2),
        "g" | "gb" | "gibibytes" => KIB.pow(3),
        "t" | "tb" | "tebibytes" => KIB.pow(4),
        other => {
            return Err(format!(
                "`{other}` is not a Flink memory unit: Flink reads b, k/kb, m/mb, g/gb, t/tb (all binary), e.g. `256m`"
            ));
        }
    };
    let n: u128 = num.parse().map_err(|_| format!("`{t}` is too large"))?;
    n.checked_mul(factor)
        .and_then(|b| u64::try_from(b).ok())
        .filter(|b| *b <= i64::MAX as u64)
        .ok_or_else(|| format!("`{t}` is too large for Flink (above Long.MAX bytes)"))
}

/// Flink's `TimeUtils.parseDuration`: digits (a long), optional whitespace, optional unit label.
/// No unit means milliseconds. Decimals are not accepted.
pub fn parse_flink_duration_ms(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!(
            "`{t}` is not a Flink duration: expected digits and a unit, e.g. `30 s` or `10 min`"
        ));
    }
    let n: u128 = num.parse().map_err(|_| format!("`{t}` is too large"))?;
    let unit = unit.trim().to_lowercase();
    let nanos_per: u128 = match unit.as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => 1,
        "µs" | "micro" | "micros" | "microsecond" | "microseconds" => 1_000,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
        "min" | "minute" | "minutes" => 60_000_000_000,
        "h" | "hour" | "hours" => 3_600_000_000_000,
        "d" | "day" | "days" => 86_400_000_000_000,
        other => {
            return Err(format!(
                "`{other}` is not a Flink duration unit: use ms, s, min, h or d (e.g. `30 s`)"
            ));
        }
    };
    let nanos = n
        .checked_mul(nanos_per)
        .ok_or_else(|| format!("`{t}` is too large"))?;
    u64::try_from(nanos / 1_000_000).map_err(|_| format!("`{t}` is too large"))
}

/// A Kubernetes resource quantity (`2Gi`, `1500Mi`, `2G`, `1.5Gi`, `500m` CPU) in base units,
/// rounded up as Kubernetes does for byte quantities.
pub fn parse_k8s_quantity(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        format!("`{t}` is not a Kubernetes quantity: expected e.g. `2Gi`, `512Mi` or `500m`")
    })?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        other => {
            return Err(format!(
                "`{other}` is not a Kubernetes quantity suffix: use Ki Mi Gi Ti (binary), k M G T (decimal) or m (milli)"
            ));
        }
    };
    if n < 0.0 {
        return Err(format!("`{t}` is negative"));
    }
    Ok(n * factor)
}

/// The Kafka `ConfigDef` types a config model names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KafkaType {
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl KafkaType {
    pub fn from_model(name: &str) -> Option<Self> {
        Some(match name {
            "boolean" => Self::Boolean,
            "string" => Self::String,
            "int" => Self::Int,
            "short" => Self::Short,
            "long" => Self::Long,
            "double" => Self::Double,
            "list" => Self::List,
            "class" => Self::Class,
            "password" => Self::Password,
            _ => return None,
        })
    }
}

/// Parse a Kafka property value as `ConfigDef.parseType` does: booleans are `true`/`false`
/// (case-insensitive), numbers must fit their Java type.
pub fn parse_kafka_value(ty: KafkaType, text: &str) -> Result<(), String> {
    let t = text.trim();
    match ty {
        KafkaType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "false" => Ok(()),
            _ => Err(format!("`{t}` is not a boolean: Kafka expects `true` or `false`")),
        },
        KafkaType::Int => t
            .parse::<i32>()
            .map(|_| ())
            .map_err(|_| format!("`{t}` is not an int: Kafka expects a whole number within int32 (at most 2147483647)")),
        KafkaType::Short => t
            .parse::<i16>()
            .map(|_| ())
            .map_err(|_| format!("`{t}` is not a short: Kafka expects a whole number within int16")),
        KafkaType::Long => t
            .parse::<i64>()
            .map(|_| ())
            .map_err(|_| format!("`{t}` is not a long: Kafka expects a whole number")),
        KafkaType::Double => t
            .parse::<f64>()
            .map(|_| ())
            .map_err(|_| format!("`{t}` is not a double: Kafka expects a number")),
        KafkaType::String | KafkaType::List | KafkaType::Class | KafkaType::Password => Ok(()),
    }
}

/// Render bytes for a Flink memory key: whole MiB as `<n>m`, otherwise `<n>b`, so the value is exact.
pub fn flink_memory(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 20) {
        with_unit(bytes >> 20, "m")
    } else {
        with_unit(bytes, "b")
    }
}

/// `n` followed by `unit`: the plans' sizes and durations are written tens of times per job,
/// and this is a fraction of the cost of `format!`.
fn with_unit(n: u64, unit: &str) -> String {
    let mut s = n.to_string();
    s.push_str(unit);
    s
}

/// Render milliseconds for a Flink duration key: the largest exact unit of `min`, `s`, `ms`
/// (never `m`, which older Flink versions do not read).
pub fn flink_duration(ms: u64) -> String {
    if ms != 0 && ms.is_multiple_of(60_000) {
        with_unit(ms / 60_000, " min")
    } else if ms != 0 && ms.is_multiple_of(1000) {
        with_unit(ms / 1000, " s")
    } else {
        with_unit(ms, " ms")
    }
}

/// Human form of a duration for messages: `1h 30min`, `45s`.
pub fn human_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = Vec::new();
    let mut rest = ms;
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push(format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out.join(" ")
}

/// Human form of a size for messages: the largest binary unit with up to two decimals.
pub fn human_size(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if (v - v.round()).abs() < 1e-9 {
        with_unit(v.round() as u64, units[i])
    } else {
        format!("{v:.2}{}", units[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_sizes_distinguish_binary_and_decimal() {
        assert_eq!(parse_size("500GiB"), Ok(500 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("950GB"), Ok(950_000_000_000));
        assert_eq!(parse_size("512B"), Ok(512));
        assert_eq!(parse_size("1.5GiB"), Ok(1_610_612_736));
        assert!(parse_size("500").unwrap_err().contains("no unit"));
        assert!(parse_size("500gb").unwrap_err().contains("did you mean"));
        assert!(parse_size("1.0000001B").is_err());
    }

    #[test]
    fn profile_durations() {
        assert_eq!(parse_duration_ms("30s"), Ok(30_000));
        assert_eq!(parse_duration_ms("7d"), Ok(604_800_000));
        assert_eq!(parse_duration_ms("15min"), Ok(900_000));
        assert!(parse_duration_ms("5m").unwrap_err().contains("ambiguous"));
        assert!(parse_duration_ms("1.5h").is_err());
        assert!(parse_duration_ms("99999999999999999999d").is_err());
    }

    #[test]
    fn flink_grammar_is_binary_and_unit_optional() {
        assert_eq!(parse_flink_memory("256m"), Ok(256 << 20));
        assert_eq!(parse_flink_memory("2 GB"), Ok(2 << 30));
        assert_eq!(parse_flink_memory("1024"), Ok(1024));
        assert!(parse_flink_memory("1.5g").is_err());
        assert!(parse_flink_memory("2Gi").is_err());
        assert_eq!(parse_flink_duration_ms("5000"), Ok(5000));
        assert_eq!(parse_flink_duration_ms("10 min"), Ok(600_000));
        assert!(parse_flink_duration_ms("1.5 min").is_err());
    }

    #[test]
    fn kafka_types_follow_java_ranges() {
        assert!(parse_kafka_value(KafkaType::Int, "2147483647").is_ok());
        assert!(parse_kafka_value(KafkaType::Int, "2147483648").is_err());
        assert!(parse_kafka_value(KafkaType::Boolean, "TRUE").is_ok());
        assert!(parse_kafka_value(KafkaType::Boolean, "yes").is_err());
    }

    #[test]
    fn k8s_quantities() {
        assert_eq!(parse_k8s_quantity("2Gi"), Ok(2147483648.0));
        assert_eq!(parse_k8s_quantity("2G"), Ok(2e9));
        assert!(parse_k8s_quantity("2GB").is_err());
    }

    #[test]
    fn rendering_is_exact() {
        assert_eq!(flink_memory(256 << 20), "256m");
        assert_eq!(flink_memory(1000), "1000b");
        assert_eq!(flink_duration(600_000), "10 min");
        assert_eq!(flink_duration(1500), "1500 ms");
        assert_eq!(human_duration(5_400_000), "1h 30min");
    }
}
