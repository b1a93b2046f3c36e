#!/bin/bash
# Fails if a C file in the tree is not formatted by .clang-format.
cd "$(dirname "$0")/.." || exit 1
command -v clang-format >/dev/null || { echo "clang-format not installed: apt-get install -y clang-format"; exit 1; }
bad=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests bench -name '*.[ch]'); do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then echo "not formatted: $f (run: clang-format -i $f)"; bad=1; fi
done
exit $bad
