#!/usr/bin/env bash
# Run flinkgen's fuzz targets (cargo-fuzz, nightly), outside .ci/run.
#
#   scripts/fuzz.sh TARGET [SECONDS] [JOBS]   # one target, SECONDS of wall time (default 600)
#   scripts/fuzz.sh all [SECONDS]             # every target in turn
#   scripts/fuzz.sh merge                     # minimise every corpus in place
#
# Targets: profile, pack, expr, escape, lint, kdl. Corpora live in fuzz/corpus/TARGET (committed);
# crashes land in fuzz/artifacts/TARGET. Every run appends the CPU seconds it used to
# fuzz/cpu-seconds.tsv, which RELIABILITY.md sums up.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q nightly || { echo "fuzz.sh: needs a nightly toolchain (rustup toolchain install nightly)" >&2; exit 2; }

TARGETS=(profile pack expr escape lint kdl)
secs=${2:-600}
jobs=${3:-1}

run_one() {
  local t=$1
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  # Build first, so the CPU time recorded below is fuzzing only.
  cargo +nightly fuzz build "$t" >/dev/null 2>&1 || { echo "fuzz.sh: $t does not build" >&2; return 1; }
  TIMEFORMAT='%U %S'
  local used
  used=$( { time cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -jobs="$jobs" -workers="$jobs" -print_final_stats=1 \
      -artifact_prefix="fuzz/artifacts/$t/" >"fuzz/last-$t.log" 2>&1 ; } 2>&1 ) || {
    echo "fuzz.sh: $t stopped with a failure: see fuzz/last-$t.log and fuzz/artifacts/$t/" >&2
    return 1
  }
  local cpu
  cpu=$(echo "$used" | awk '{printf "%d", $1+$2}')
  printf '%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$cpu" >> fuzz/cpu-seconds.tsv
  echo "$t: ${cpu} CPU seconds this run, $(awk -v t="$t" '$2==t {s+=$3} END {print s+0}' fuzz/cpu-seconds.tsv) in total"
}

case "${1:-}" in
  all) for t in "${TARGETS[@]}"; do run_one "$t"; done ;;
  merge)
    for t in "${TARGETS[@]}"; do
      [ -d "fuzz/corpus/$t" ] || continue
      mkdir -p "fuzz/corpus/$t.min"
      cargo +nightly fuzz run "$t" "fuzz/corpus/$t.min" "fuzz/corpus/$t" -- -merge=1 >/dev/null 2>&1
      rm -rf "fuzz/corpus/$t" && mv "fuzz/corpus/$t.min" "fuzz/corpus/$t"
    done ;;
  "" ) sed -n '2,10p' "$0"; exit 2 ;;
  *) run_one "$1" ;;
esac
