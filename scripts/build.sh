#!/usr/bin/env bash
# Configures and builds into build/ (or $1 with extra cmake flags after it, which override
# the defaults here: -DCMAKE_BUILD_TYPE=Release). Warnings are errors in these builds.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
jobs=$(nproc)
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DMASA_WERROR=ON "$@" >"$dir.cmake.log" 2>&1 \
  || { cat "$dir.cmake.log"; exit 1; }
cmake --build "$dir" -j"$jobs"
