#!/usr/bin/env bash
# Fuzzes every libFuzzer target of a MASA_FUZZ build for a fixed time, on top of its
# checked-in seed corpus, and fails on any finding: a crash, an ASan or UBSan report, a leak,
# an input slower than 10 s (a hang) or one that takes over 2 GB.
#
#   scripts/fuzz.sh [BUILD_DIR [SECONDS [PARALLEL]]]     (build-asan, 30, nproc)
#   MASA_FUZZ_ONLY=regex   fuzz only the targets whose name matches
#   MASA_FUZZ_MERGE=1      afterwards, merge what the run found into the checked-in corpus
#                          (libFuzzer -merge=1 keeps only inputs that add coverage)
#
# Prints one line per target: executions per second, coverage (cov: edges reached, ft:
# features), the corpus size and inputs found. Logs and findings stay in
# BUILD_DIR/fuzz-out/<target>/, with the command that replays a finding.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-asan}
secs=${2:-30}
parallel=${3:-$(nproc)}
manifest=$dir/fuzz_targets.txt
[ -s "$manifest" ] || { echo "fuzz.sh: no $manifest (configure with -DMASA_FUZZ=ON)" >&2; exit 2; }
out=$dir/fuzz-out
rm -rf "$out"
mkdir -p "$out"

# One target: its own working corpus first (libFuzzer writes new inputs there), then the
# checked-in seeds, which it only reads.
fuzz_one() {
  local name=$1 bin=$2 corpus=$3 args=$4
  local work=$out/$name
  mkdir -p "$work/new"
  local rc=0
  # shellcheck disable=SC2086  # args is a list of flags
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
     -artifact_prefix="$work/" $args "$work/new" "$corpus" >"$work/log" 2>&1 || rc=$?
  echo "$rc" >"$work/rc"
}

names=()
while IFS=$'\t' read -r name bin corpus args; do
  [ -n "$name" ] || continue
  if [ -n "${MASA_FUZZ_ONLY:-}" ] && ! [[ $name =~ $MASA_FUZZ_ONLY ]]; then continue; fi
  names+=("$name")
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  fuzz_one "$name" "$bin" "$corpus" "$args" &
done <"$manifest"
wait

failed=0
printf '%-32s %9s %7s %7s %7s %6s  %s\n' target exec/s cov ft corpus new result
while IFS=$'\t' read -r name bin corpus args; do
  [[ " ${names[*]} " == *" $name "* ]] || continue
  work=$out/$name
  rc=$(cat "$work/rc")
  # The last status line: "#N <event> cov: X ft: Y corp: Z/..b ... exec/s: E ..."
  status=$(grep -E '^#[0-9]+.*cov: ' "$work/log" | tail -1 || true)
  field() { sed -nE "s/.* $1: ([0-9]+).*/\1/p" <<<"$status"; }
  execs=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$work/log")
  found=$(sed -nE 's/^stat::new_units_added: *([0-9]+)/\1/p' "$work/log")
  result=ok
  if [ "$rc" != 0 ]; then
    result="FAILED (exit $rc)"
    failed=1
  fi
  printf '%-32s %9s %7s %7s %7s %6s  %s\n' "$name" "${execs:-?}" "$(field cov)" \
    "$(field ft)" "$(field corp)" "${found:-?}" "$result"
  if [ "$rc" != 0 ]; then
    # The report itself (a sanitizer's, UBSan's or libFuzzer's), which the shadow-byte legend
    # and the statistics after it would push out of the log's tail; then that tail.
    first=$(grep -nE '^==[0-9]+== ?ERROR|runtime error:|^ERROR: libFuzzer' "$work/log" \
              | head -1 | cut -d: -f1 || true)
    if [ -n "$first" ] && [ $(($(wc -l <"$work/log") - first)) -ge 20 ]; then
      echo "---- $name: the finding, from $work/log" >&2
      sed -n "${first},$((first + 40))p" "$work/log" >&2
    fi
    echo "---- $name: the end of $work/log" >&2
    tail -n 20 "$work/log" >&2
    for artifact in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* \
                    "$work"/slow-unit-*; do
      [ -e "$artifact" ] && echo "---- replay: $bin $args $artifact" >&2
    done
  elif [ "${MASA_FUZZ_MERGE:-0}" = 1 ]; then
    # shellcheck disable=SC2086
    "$bin" -merge=1 $args "$corpus" "$work/new" >"$work/merge.log" 2>&1
  fi
done <"$manifest"
exit $failed
