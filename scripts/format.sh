#!/usr/bin/env bash
# Formats the tracked C and C++ sources (*.cc, *.h, *.c) with clang-format 14 and the
# repository's .clang-format. With --check, changes nothing: lists the files that would
# change and exits 1 if there are any. Other arguments: only those files.
set -euo pipefail
cd "$(dirname "$0")/.."
clang_format=${CLANG_FORMAT:-clang-format-14}
check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files '*.cc' '*.h' '*.c')
fi
if [ "$check" = 0 ]; then
  printf '%s\0' "${files[@]}" | xargs -0 -r "$clang_format" -i --style=file
  exit 0
fi
differ=0
for f in "${files[@]}"; do
  if ! "$clang_format" --style=file "$f" | cmp -s - "$f"; then
    echo "$f"
    differ=1
  fi
done
exit "$differ"
