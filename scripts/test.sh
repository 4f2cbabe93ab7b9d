#!/usr/bin/env bash
# Runs every test: the Release build (g++ -O3, warnings as errors, so a release builds), then
# the same suite under ASan + UBSan, then under ThreadSanitizer in a clang build that also
# checks the ABSL_GUARDED_BY lock annotations (-Wthread-safety, as errors). The ASan build
# also builds the libFuzzer targets (MASA_FUZZ): its ctests replay each seed corpus, then
# scripts/fuzz.sh fuzzes each target for MASA_FUZZ_SECONDS (5) and fails on any finding.
# Both sanitizer builds use clang with line tables only: g++ took twice as long to build the
# ASan pass (16 min against 8 on a 2-core machine), which CI's 40 minutes cannot afford.
# After the Release tests, scripts/bench-ci.sh runs the benchmark pass on that build (results
# in build/bench-results/); its failure fails this script at the end, after the sanitizer
# passes have run, so one run reports both. MASA_SKIP_BENCH=1 leaves it out.
# MASA_SKIP_SANITIZERS=1 runs the Release pass only.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step is announced with the minutes and seconds since the start, so that a CI log shows
# where its time went.
start_seconds=$SECONDS
step() {
  local t=$((SECONDS - start_seconds))
  printf '\ntest.sh [%dm%02ds]: %s\n' $((t / 60)) $((t % 60)) "$*"
}
step "installing dependencies"
scripts/install-deps.sh
# Unity builds (CMAKE_UNITY_BUILD: each target's files compiled 8 to a unit, so the headers
# they share are parsed once per unit, not once per file) take about half the CPU off every
# build, the TSan one included since the PostgreSQL store's tests needed the 3 minutes it
# saves to keep CI under 40. A unity build does not catch a missing #include in a file that
# comes after one including it; a plain cmake build (no -DCMAKE_UNITY_BUILD) does. A
# unity build needs the names in a target's anonymous namespaces to differ from file to
# file. The test binaries reuse one precompiled header (MASA_PCH; see CMakeLists.txt).
step "Release build"
scripts/build.sh build -DMASA_PCH=ON -DCMAKE_UNITY_BUILD=ON
# -j3 on 2 cores: the Release tests wait more than they compute (masad start-up, fsync,
# loopback round trips); 706 tests took 186-220 s at -j3 against 243-331 s at -j2, 195 s at
# -j4, the same CPU time in each (measured back to back on the shared 2-core machine).
step "Release tests"
(cd build && ctest --output-on-failure -j3 --timeout 600)
bench_status=0
if [ "${MASA_SKIP_BENCH:-0}" != 1 ]; then
  step "benchmark pass"
  scripts/bench-ci.sh build || bench_status=$?
fi
if [ "${MASA_SKIP_SANITIZERS:-0}" != 1 ]; then
  sanitizer_build=(-DCMAKE_BUILD_TYPE=RelWithDebInfo
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -gline-tables-only -DNDEBUG"
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -gline-tables-only -DNDEBUG"
    -DMASA_BUILD_BENCH=OFF -DMASA_PCH=ON
    -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld)
  # lld links (Debian lld-14): each sanitized binary links the whole stack, in 0.12 s of CPU
  # against GNU ld's 0.45, some 70 binaries per build.
  step "ASan + UBSan build"
  scripts/build.sh build-asan "${sanitizer_build[@]}" -DCMAKE_UNITY_BUILD=ON \
    -DMASA_SANITIZE=ON -DMASA_FUZZ=ON
  # The lint checks (label lint: format, layering) read sources only; the Release pass ran them.
  # The browser tests (label browser) run in the Release pass only: Chromium and node are not
  # ours to instrument, and masad's paths under them are the REST API's, tested here already.
  # -j3 as in the Release pass: these tests wait on masad, fsync and loopback more than
  # they compute.
  step "ASan + UBSan tests"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j3 --timeout 900 -LE 'lint|browser')
  step "fuzzing"
  scripts/fuzz.sh build-asan "${MASA_FUZZ_SECONDS:-5}"
  # TSan: every race stops the process (exit 66) and fails its test, masad's included. The
  # suppressions are for races inside uninstrumented third-party libraries only.
  # die_after_fork=0: the store's multi-process tests start threads (a store) in a forked
  # child, as a second process would; ForkChild itself refuses to fork beside other threads.
  # The test binaries whose every test the ctest run below leaves out are not built at all.
  step "TSan build"
  scripts/build.sh build-tsan "${sanitizer_build[@]}" -DMASA_TSAN=ON -DMASA_THREAD_SAFETY=ON \
    -DCMAKE_UNITY_BUILD=ON "-DMASA_SKIP_TEST_LABELS=grpc;slow;pg"
  tsan_options="halt_on_error=1 second_deadlock_stack=1 die_after_fork=0"
  tsan_options+=" suppressions=$PWD/tests/tsan/suppressions.txt"
  # Not the gRPC tests (label grpc): Debian's libgrpc is not instrumented, and TSan reports
  # races inside it (its event engine's epoll fd, created on one thread and waited on by
  # another); they run in the Release and ASan passes. Nor the lint checks, nor the slow
  # end-to-end runs (label slow: masad behind the PKCS#11 fault module), whose fault paths
  # the queue's and the service's own tests cover under TSan. Nor the browser tests, nor
  # the PostgreSQL store's (label pg: its writer thread and read connections run inside
  # uninstrumented libpq, and the servers are processes of their own; not race-checked yet).
  step "TSan tests"
  (cd build-tsan && TSAN_OPTIONS=$tsan_options ctest --output-on-failure -j2 --timeout 900 \
     -LE 'grpc|lint|slow|browser|pg')
fi
step "done"
if [ "$bench_status" != 0 ]; then
  echo "test.sh: the benchmark pass failed (scripts/bench-ci.sh build, above)" >&2
  exit "$bench_status"
fi
