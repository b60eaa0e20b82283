#!/usr/bin/env bash
# Run flinkgen's pipeline benchmarks (benches/pipeline.rs) and print the table of figures.
#
#   scripts/bench.sh            # full run: fleets of 100, 1 000 and 10 000 jobs (~10–20 min on 2 cores)
#   scripts/bench.sh --quick    # smoke test: few repetitions, fleets of 100 and 1 000 only
#
# Prints a Markdown table (median, p10–p90, MAD, targets with PASS/FAIL) on stdout and writes
# target/bench-results.json; the previous results are kept as target/bench-results.prev.json and
# their medians shown in the table. Fleets and outputs go to target/bench-work
# (FLINKGEN_BENCH_WORK=DIR elsewhere; keep it on a real disk, not a tmpfs). Figures from a
# loaded machine are noisy: run it idle, and compare medians, not single runs.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--quick" ]]; then
    export FLINKGEN_BENCH_QUICK=1
elif [[ -n "${1:-}" ]]; then
    echo "usage: scripts/bench.sh [--quick]" >&2
    exit 2
fi

# Build first: the release binary the whole-process benchmarks spawn (target/release/flinkgen,
# built by cargo bench with the bench profile = release, features unified with the benches') and
# the benchmark itself, so compiling never overlaps the measurements.
cargo bench --locked --bench pipeline --no-run
# Flush what earlier work left dirty: its writeback would run on the same two cores during the
# measurements (see "Measuring" in BENCHMARKS.md).
sync
cargo bench --locked --bench pipeline
rm -rf target/bench-work
