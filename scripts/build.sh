#!/usr/bin/env bash
# Configures and builds into build/ (or $1 with extra cmake flags after it, which override
# the defaults here: -DCMAKE_BUILD_TYPE=Release). Warnings are errors in these builds.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
jobs=$(nproc)
# A new build folder is a Ninja build: it compiles a target's files while the libraries it
# links are still being built, where make waits for them with a core idle (CI's 2 cores were
# a third of the time on one job). A folder made before keeps its generator.
generator=()
if [ ! -f "$dir/CMakeCache.txt" ] && command -v ninja >/dev/null; then
  generator=(-G Ninja)
fi
cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DMASA_WERROR=ON "$@" \
  >"$dir.cmake.log" 2>&1 \
  || { cat "$dir.cmake.log"; exit 1; }
cmake --build "$dir" -j"$jobs"
