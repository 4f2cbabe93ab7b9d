#!/usr/bin/env bash
# scripts/fuzz.sh against two probe targets (tests/fuzz/fuzz_sh_probe.cc) in a manifest of
# its own: it must fail when one finds something (a heap overflow on its seed), naming that
# target, showing the sanitizer's report and the command that replays the finding, while
# reporting the other ok; and it must pass a run of the clean one alone.
# Usage: fuzz_sh_test.sh SOURCE_DIR CRASH_PROBE CLEAN_PROBE   (ctest runs it, label fuzz)
set -euo pipefail
src=$1
crash=$2
clean=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/out.log
fail() { echo "FAILED: $*"; echo "--- fuzz.sh output:"; cat "$out"; exit 1; }
unset MASA_FUZZ_ONLY MASA_FUZZ_MERGE

seeds=$src/tests/fuzz/corpus
printf '%s\t%s\t%s\t\n' fuzz_sh_probe_crash "$crash" "$seeds/fuzz_sh_probe_crash" \
  fuzz_sh_probe_clean "$clean" "$seeds/fuzz_sh_probe_clean" >"$work/fuzz_targets.txt"

rc=0
"$src/scripts/fuzz.sh" "$work" 1 2 >"$out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "fuzz.sh exited 0 although fuzz_sh_probe_crash found a heap overflow"
grep -qE '^fuzz_sh_probe_crash .*FAILED \(exit [1-9][0-9]*\)$' "$out" \
  || fail "no line reports fuzz_sh_probe_crash as FAILED"
grep -q 'ERROR: AddressSanitizer: heap-buffer-overflow' "$out" \
  || fail "the sanitizer's report is not shown"
artifact=
while IFS= read -r line; do
  if [[ $line == "---- replay: $crash "* ]]; then artifact=${line#"---- replay: $crash"}; fi
done <"$out"
artifact=${artifact#"${artifact%%[! ]*}"}  # the probe has no extra flags: two spaces
case $artifact in
  "$work"/fuzz-out/fuzz_sh_probe_crash/crash-*) [ -s "$artifact" ] ;;
  *) false ;;
esac || fail "no replay command names the probe and its crash file"
grep -qE '^fuzz_sh_probe_clean .* ok$' "$out" || fail "the clean probe is not reported ok"

MASA_FUZZ_ONLY=clean "$src/scripts/fuzz.sh" "$work" 1 1 >"$out" 2>&1 \
  || fail "fuzz.sh failed a run of the clean probe alone"
grep -qE '^fuzz_sh_probe_clean .* ok$' "$out" || fail "the clean probe is not reported ok"
if grep -q fuzz_sh_probe_crash "$out"; then fail "MASA_FUZZ_ONLY=clean ran the crash probe"; fi
echo "fuzz.sh fails on a finding (exit $rc) and passes a clean run"
