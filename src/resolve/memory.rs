//! Flink's TaskManager and JobManager memory derivation, reproduced with Flink's arithmetic:
//! fractions are read as 32-bit floats, widened to double, multiplied as BigDecimal from the
//! double's shortest decimal form, and truncated (`MemorySize.multiply`).
//!
//! Sources: flink-runtime ProcessMemoryUtils, TaskExecutorFlinkMemoryUtils,
//! JobManagerFlinkMemoryUtils (see ../shared/reference/flink.md §1).

use std::collections::BTreeMap;

use crate::units;

/// `MemorySize.multiply(double)`: exact decimal product of bytes and the double's shortest
/// decimal representation, truncated toward zero.
pub fn multiply(bytes: u64, factor: f64) -> u64 {
    let text = format!("{factor}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let digits: u128 = format!("{int}{frac}").parse().unwrap_or(0);
    let scale = 10u128.pow(frac.len() as u32);
    ((bytes as u128 * digits) / scale).min(u64::MAX as u128) as u64
}

/// A fraction option as Flink reads it: a float widened to double.
pub fn float_fraction(f: f64) -> f64 {
    f as f32 as f64
}

fn clamp(v: u64, min: u64, max: u64) -> u64 {
    v.max(min).min(max)
}

/// The resolved TaskManager memory components, in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmMemory {
    pub framework_heap: u64,
    pub task_heap: u64,
    pub framework_off_heap: u64,
    pub task_off_heap: u64,
    pub managed: u64,
    pub network: u64,
    pub metaspace: u64,
    pub overhead: u64,
}

impl TmMemory {
    pub fn total_flink(&self) -> u64 {
        self.framework_heap
            + self.task_heap
            + self.framework_off_heap
            + self.task_off_heap
            + self.managed
            + self.network
    }
    pub fn total_process(&self) -> u64 {
        self.total_flink() + self.metaspace + self.overhead
    }
    pub fn jvm_heap(&self) -> u64 {
        self.framework_heap + self.task_heap
    }
    pub fn direct(&self) -> u64 {
        self.framework_off_heap + self.task_off_heap + self.network
    }
}

/// The Flink memory options, read from a flat Flink config with product defaults.
pub struct MemoryOptions<'a> {
    pub config: &'a BTreeMap<String, String>,
    pub defaults: &'a BTreeMap<String, String>,
}

impl MemoryOptions<'_> {
    fn raw(&self, key: &str) -> Option<&str> {
        self.config
            .get(key)
            .or_else(|| self.defaults.get(key))
            .map(String::as_str)
    }
    fn is_set(&self, key: &str) -> bool {
        self.config.contains_key(key)
    }
    fn size(&self, key: &str) -> Result<Option<u64>, String> {
        match self.raw(key) {
            None => Ok(None),
            Some(t) => units::parse_flink_memory(t)
                .map(Some)
                .map_err(|_| format!("Cannot read memory size from config option '{key}'.")),
        }
    }
    fn size_or(&self, key: &str, default: u64) -> Result<u64, String> {
        Ok(self.size(key)?.unwrap_or(default))
    }
    fn fraction(&self, key: &str, default: f64) -> Result<f64, String> {
        match self.raw(key) {
            None => Ok(float_fraction(default)),
            Some(t) => t
                .trim()
                .parse::<f32>()
                .map(|f| f as f64)
                .map_err(|_| format!("Could not parse value '{t}' for key '{key}'.")),
        }
    }
    fn range(
        &self,
        prefix: &str,
        dmin: u64,
        dmax: u64,
        dfrac: f64,
    ) -> Result<(u64, u64, f64), String> {
        let min = self.size_or(&format!("{prefix}.min"), dmin)?;
        let max = self.size_or(&format!("{prefix}.max"), dmax)?;
        let f = self.fraction(&format!("{prefix}.fraction"), dfrac)?;
        if min > max || !(0.0..1.0).contains(&f) {
            return Err(format!(
                "Inconsistently configured {prefix} fraction ({f}) and its min ({}), max ({}) value",
                units::flink_memory(min),
                units::flink_memory(max)
            ));
        }
        Ok((min, max, f))
    }
}

const MIB: u64 = 1 << 20;

/// Derive the TaskManager memory as Flink does. `Err` carries Flink's own reason.
pub fn derive_tm(o: &MemoryOptions<'_>) -> Result<TmMemory, String> {
    let fh = o.size_or("taskmanager.memory.framework.heap.size", 128 * MIB)?;
    let fo = o.size_or("taskmanager.memory.framework.off-heap.size", 128 * MIB)?;
    let to = o.size_or("taskmanager.memory.task.off-heap.size", 0)?;
    let ms = o.size_or("taskmanager.memory.jvm-metaspace.size", 256 * MIB)?;
    let (ov_min, ov_max, ov_f) =
        o.range("taskmanager.memory.jvm-overhead", 192 * MIB, 1 << 30, 0.1)?;
    let (nw_min, nw_max, nw_f) =
        o.range("taskmanager.memory.network", 64 * MIB, i64::MAX as u64, 0.1)?;
    let managed_f = o.fraction("taskmanager.memory.managed.fraction", 0.4)?;
    // The fraction is read (and its range checked) only when managed.size is not set.
    if !o.is_set("taskmanager.memory.managed.size") && !(0.0..1.0).contains(&managed_f) {
        return Err(format!(
            "Inconsistently configured taskmanager.memory.managed.fraction ({managed_f}) and its min (0 bytes), max (9223372036854775807 bytes) value: fraction must be in range [0, 1)"
        ));
    }
    let th_set = o.is_set("taskmanager.memory.task.heap.size");
    let mm_set = o.is_set("taskmanager.memory.managed.size");
    let th = o.size("taskmanager.memory.task.heap.size")?;
    let mm_cfg = o.size("taskmanager.memory.managed.size")?;
    let flink_size = if o.is_set("taskmanager.memory.flink.size") {
        o.size("taskmanager.memory.flink.size")?
    } else {
        None
    };
    let process = if o.is_set("taskmanager.memory.process.size") {
        o.size("taskmanager.memory.process.size")?
    } else {
        None
    };

    let (flink_total, parts) = if th_set && mm_set {
        // Fine-grained branch.
        let (th, mm) = (th.unwrap_or(0), mm_cfg.unwrap_or(0));
        let others = fh + fo + th + to + mm;
        let nw = match flink_size {
            Some(f) => network_rest(f, others, nw_min, nw_max)?,
            None => clamp(multiply(others, nw_f / (1.0 - nw_f)), nw_min, nw_max),
        };
        (flink_size.unwrap_or(others + nw), (th, mm, nw))
    } else if let Some(f) = flink_size {
        (
            f,
            derive_from_flink(f, fh, fo, to, th, mm_cfg, managed_f, (nw_min, nw_max, nw_f))?,
        )
    } else if let Some(p) = process {
        let ov = clamp(multiply(p, ov_f), ov_min, ov_max);
        if ms + ov > p {
            return Err(format!(
                "Sum of configured JVM Metaspace ({}) and JVM Overhead ({}) exceed configured Total Process Memory ({}).",
                units::flink_memory(ms),
                units::flink_memory(ov),
                units::flink_memory(p)
            ));
        }
        let f = p - ms - ov;
        let parts =
            derive_from_flink(f, fh, fo, to, th, mm_cfg, managed_f, (nw_min, nw_max, nw_f))?;
        let (th, mm, nw) = parts;
        return Ok(TmMemory {
            framework_heap: fh,
            task_heap: th,
            framework_off_heap: fo,
            task_off_heap: to,
            managed: mm,
            network: nw,
            metaspace: ms,
            overhead: ov,
        });
    } else {
        return Err("Either required fine-grained memory (taskmanager.memory.task.heap.size and taskmanager.memory.managed.size), or Total Flink Memory size (Key: 'taskmanager.memory.flink.size'), or Total Process Memory size (Key: 'taskmanager.memory.process.size') need to be configured explicitly.".into());
    };
    // Flink memory is known (branches 1 and 2): metaspace and overhead around it.
    let ov = overhead_around(process, flink_total, ms, (ov_min, ov_max, ov_f))?;
    let (th, mm, nw) = parts;
    Ok(TmMemory {
        framework_heap: fh,
        task_heap: th,
        framework_off_heap: fo,
        task_off_heap: to,
        managed: mm,
        network: nw,
        metaspace: ms,
        overhead: ov,
    })
}

/// JVM overhead when total Flink memory is known (Flink's ProcessMemoryUtils, shared by the
/// TaskManager and JobManager): the rest of an explicit process size, which must lie in the
/// overhead range, or else the fraction of the process it makes up, clamped.
fn overhead_around(
    process: Option<u64>,
    flink_total: u64,
    ms: u64,
    (ov_min, ov_max, ov_f): (u64, u64, f64),
) -> Result<u64, String> {
    let Some(p) = process else {
        return Ok(clamp(
            multiply(flink_total + ms, ov_f / (1.0 - ov_f)),
            ov_min,
            ov_max,
        ));
    };
    if p < flink_total + ms {
        return Err(format!(
            "The configured Total Process Memory size ({}) is less than the sum of the derived Total Flink Memory size ({}) and the configured or default JVM Metaspace size ({}).",
            units::flink_memory(p),
            units::flink_memory(flink_total),
            units::flink_memory(ms)
        ));
    }
    let ov = p - flink_total - ms;
    if ov < ov_min || ov > ov_max {
        return Err(format!(
            "Derived JVM Overhead size ({}) is not in configured JVM Overhead range [{}, {}].",
            units::flink_memory(ov),
            units::flink_memory(ov_min),
            units::flink_memory(ov_max)
        ));
    }
    Ok(ov)
}

fn network_rest(f: u64, others: u64, min: u64, max: u64) -> Result<u64, String> {
    if others > f {
        return Err(format!(
            "Sum of configured Framework Heap Memory, Framework Off-Heap Memory, Task Heap Memory, Task Off-Heap Memory and Managed Memory ({}) exceed configured Total Flink Memory ({}).",
            units::flink_memory(others),
            units::flink_memory(f)
        ));
    }
    let nw = f - others;
    if nw < min || nw > max {
        return Err(format!(
            "Derived Network Memory size ({}) is not in configured Network Memory range [{}, {}].",
            units::flink_memory(nw),
            units::flink_memory(min),
            units::flink_memory(max)
        ));
    }
    Ok(nw)
}

#[allow(clippy::too_many_arguments)]
fn derive_from_flink(
    f: u64,
    fh: u64,
    fo: u64,
    to: u64,
    th: Option<u64>,
    mm: Option<u64>,
    managed_f: f64,
    (nw_min, nw_max, nw_f): (u64, u64, f64),
) -> Result<(u64, u64, u64), String> {
    let mm = mm.unwrap_or_else(|| multiply(f, managed_f));
    match th {
        Some(th) => {
            let nw = network_rest(f, fh + fo + th + to + mm, nw_min, nw_max)?;
            Ok((th, mm, nw))
        }
        None => {
            let nw = clamp(multiply(f, nw_f), nw_min, nw_max);
            let used = fh + fo + to + mm + nw;
            if used > f {
                return Err(format!(
                    "Sum of configured Framework Heap Memory ({}), Framework Off-Heap Memory ({}), Task Off-Heap Memory ({}), Managed Memory ({}) and Network Memory ({}) exceed configured Total Flink Memory ({}).",
                    units::flink_memory(fh),
                    units::flink_memory(fo),
                    units::flink_memory(to),
                    units::flink_memory(mm),
                    units::flink_memory(nw),
                    units::flink_memory(f)
                ));
            }
            Ok((f - used, mm, nw))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tm(pairs: &[(&str, &str)]) -> Result<TmMemory, String> {
        let config: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let defaults = BTreeMap::new();
        derive_tm(&MemoryOptions {
            config: &config,
            defaults: &defaults,
        })
    }

    #[test]
    fn matches_flinks_8g_worked_example() {
        // ../shared/reference/flink.md §1.4
        let m = tm(&[("taskmanager.memory.process.size", "8g")]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.overhead, 858_993_472);
        assert_eq!(m.managed, 2_985_002_310);
        assert_eq!(m.network, 746_250_577);
        assert_eq!(m.task_heap, 3_462_817_321);
        assert_eq!(m.jvm_heap(), 3_597_035_049);
        assert_eq!(m.direct(), 880_468_305);
        assert_eq!(m.total_process(), 8 << 30);
    }

    #[test]
    fn matches_flinks_dist_default_and_32g() {
        let m =
            tm(&[("taskmanager.memory.process.size", "1728m")]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (m.managed, m.network, m.task_heap),
            (536_870_920, 134_217_730, 402_653_174)
        );
        let m = tm(&[("taskmanager.memory.process.size", "32g")]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (m.overhead, m.managed, m.network, m.task_heap),
            (1 << 30, 13_207_024_632, 3_301_756_158, 16_240_344_842)
        );
    }

    #[test]
    fn rejects_what_flink_rejects() {
        let e = tm(&[("taskmanager.memory.process.size", "400m")]).unwrap_err();
        assert!(e.contains("exceed configured Total Process Memory"), "{e}");
        assert!(
            tm(&[])
                .unwrap_err()
                .contains("need to be configured explicitly")
        );
        let e = tm(&[
            ("taskmanager.memory.process.size", "2g"),
            ("taskmanager.memory.managed.fraction", "0.95"),
        ])
        .unwrap_err();
        assert!(e.contains("exceed configured Total Flink Memory"), "{e}");
    }
}

/// The resolved JobManager memory components, in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JmMemory {
    pub heap: u64,
    pub off_heap: u64,
    pub metaspace: u64,
    pub overhead: u64,
    /// Whether `-XX:MaxDirectMemorySize` is set (jobmanager.memory.enable-jvm-direct-memory-limit).
    pub direct_limit: bool,
}

impl JmMemory {
    pub fn total_flink(&self) -> u64 {
        self.heap + self.off_heap
    }
    pub fn total_process(&self) -> u64 {
        self.total_flink() + self.metaspace + self.overhead
    }
}

/// Derive the JobManager memory as Flink does (JobManagerFlinkMemoryUtils + ProcessMemoryUtils).
pub fn derive_jm(o: &MemoryOptions<'_>) -> Result<JmMemory, String> {
    let off_heap = o.size_or("jobmanager.memory.off-heap.size", 128 * MIB)?;
    let ms = o.size_or("jobmanager.memory.jvm-metaspace.size", 256 * MIB)?;
    let (ov_min, ov_max, ov_f) =
        o.range("jobmanager.memory.jvm-overhead", 192 * MIB, 1 << 30, 0.1)?;
    let direct_limit = o
        .raw("jobmanager.memory.enable-jvm-direct-memory-limit")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let heap_cfg = if o.is_set("jobmanager.memory.heap.size") {
        o.size("jobmanager.memory.heap.size")?
    } else {
        None
    };
    let flink_size = if o.is_set("jobmanager.memory.flink.size") {
        o.size("jobmanager.memory.flink.size")?
    } else {
        None
    };
    let process = if o.is_set("jobmanager.memory.process.size") {
        o.size("jobmanager.memory.process.size")?
    } else {
        None
    };
    let from_flink = |f: u64| -> Result<u64, String> {
        // Flink requires room for a heap: equality is rejected too.
        if f <= off_heap {
            return Err(format!(
                "The configured Total Flink Memory ({}) is less than the configured Off-heap Memory ({}).",
                units::flink_memory(f),
                units::flink_memory(off_heap)
            ));
        }
        Ok(f - off_heap)
    };
    let off_heap_set = o.is_set("jobmanager.memory.off-heap.size");
    let mut off_heap = off_heap;
    let (heap, flink_total) = if let Some(h) = heap_cfg {
        match flink_size {
            // Heap and total given, off-heap not: off-heap is what remains.
            Some(f) if !off_heap_set => {
                if h > f {
                    return Err(format!(
                        "The configured JVM Heap Memory ({}) exceeds the configured Total Flink Memory ({}).",
                        units::flink_memory(h),
                        units::flink_memory(f)
                    ));
                }
                off_heap = f - h;
                (h, f)
            }
            Some(f) if f != h + off_heap => {
                return Err(format!(
                    "Sum of the configured JVM Heap Memory ({}) and the configured Off-heap Memory ({}) does not match the configured Total Flink Memory ({}). Please, make the configuration consistent or configure only one option: either JVM Heap or Total Flink Memory.",
                    units::flink_memory(h),
                    units::flink_memory(off_heap),
                    units::flink_memory(f)
                ));
            }
            _ => (h, h + off_heap),
        }
    } else if let Some(f) = flink_size {
        (from_flink(f)?, f)
    } else if let Some(p) = process {
        let ov = clamp(multiply(p, ov_f), ov_min, ov_max);
        if ms + ov > p {
            return Err(format!(
                "Sum of configured JVM Metaspace ({}) and JVM Overhead ({}) exceed configured Total Process Memory ({}).",
                units::flink_memory(ms),
                units::flink_memory(ov),
                units::flink_memory(p)
            ));
        }
        let f = p - ms - ov;
        return Ok(JmMemory {
            heap: from_flink(f)?,
            off_heap,
            metaspace: ms,
            overhead: ov,
            direct_limit,
        });
    } else {
        return Err("Either required fine-grained memory (jobmanager.memory.heap.size), or Total Flink Memory size (Key: 'jobmanager.memory.flink.size'), or Total Process Memory size (Key: 'jobmanager.memory.process.size') need to be configured explicitly.".into());
    };
    let ov = overhead_around(process, flink_total, ms, (ov_min, ov_max, ov_f))?;
    Ok(JmMemory {
        heap,
        off_heap,
        metaspace: ms,
        overhead: ov,
        direct_limit,
    })
}

#[cfg(test)]
mod jm_tests {
    use super::*;

    fn jm(pairs: &[(&str, &str)]) -> Result<JmMemory, String> {
        let config: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let defaults = BTreeMap::new();
        derive_jm(&MemoryOptions {
            config: &config,
            defaults: &defaults,
        })
    }

    #[test]
    fn matches_flinks_jobmanager_examples() {
        // ../shared/reference/flink.md §1.5
        let m =
            jm(&[("jobmanager.memory.process.size", "1600m")]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((m.overhead, m.heap), (192 << 20, 1 << 30));
        let m = jm(&[("jobmanager.memory.process.size", "2g")]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((m.overhead, m.heap), (214_748_368, 1_530_082_096));
        assert!(jm(&[]).is_err());
    }
}
