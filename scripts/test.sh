#!/usr/bin/env bash
# Runs every test: the Release build (-O3, warnings as errors, so a release builds), then the
# same suite under ASan + UBSan (RelWithDebInfo), then under ThreadSanitizer in a clang build
# that also checks the ABSL_GUARDED_BY lock annotations (-Wthread-safety, as errors).
# MASA_SKIP_SANITIZERS=1 runs the Release pass only.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
(cd build && ctest --output-on-failure -j2 --timeout 600)
if [ "${MASA_SKIP_SANITIZERS:-0}" != 1 ]; then
  scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMASA_SANITIZE=ON -DMASA_BUILD_BENCH=OFF
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j2 --timeout 900)
  # TSan: every race stops the process (exit 66) and fails its test, masad's included. The
  # suppressions are for races inside uninstrumented third-party libraries only.
  # die_after_fork=0: the store's multi-process tests fork a process whose writer thread is
  # running and open a store (new threads) in the child, as a second process would.
  scripts/build.sh build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DMASA_TSAN=ON -DMASA_THREAD_SAFETY=ON -DMASA_BUILD_BENCH=OFF
  tsan_options="halt_on_error=1 second_deadlock_stack=1 die_after_fork=0"
  tsan_options+=" suppressions=$PWD/tests/tsan/suppressions.txt"
  (cd build-tsan && TSAN_OPTIONS=$tsan_options ctest --output-on-failure -j2 --timeout 900)
fi
