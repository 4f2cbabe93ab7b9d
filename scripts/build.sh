#!/usr/bin/env bash
# Configures and builds into build/ (or $1 with extra cmake flags after it).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
jobs=$(nproc)
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.cmake.log" 2>&1 \
  || { cat "$dir.cmake.log"; exit 1; }
cmake --build "$dir" -j"$jobs"
