#!/usr/bin/env bash
# Runs every test: the Release build (-O3, warnings as errors, so a release builds), then the
# same suite under ASan + UBSan (RelWithDebInfo).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
(cd build && ctest --output-on-failure -j2 --timeout 600)
if [ "${MASA_SKIP_SANITIZERS:-0}" != 1 ]; then
  scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMASA_SANITIZE=ON -DMASA_BUILD_BENCH=OFF
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j2 --timeout 900)
fi
