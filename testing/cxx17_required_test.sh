#!/usr/bin/env bash
# Every public header of arch/, debug/ and pool/:
#   - compiles on its own at C++17 (headers are self-contained), and
#   - below C++17 (c++14 and Bazel's default c++0x), stops with poolkit's own
#     "poolkit needs C++17" as its first error, not an error deep in the
#     library (what a consumer without the .bazelrc lines saw before).
# Usage: cxx17_required_test.sh HEADER... (runfiles paths)
set -euo pipefail

cxx="${CXX:-g++}"
# The runfiles are links into the source tree; includes resolve from there.
first="$(readlink -f "$1")"
root="${first%/*/*}"
[[ -f "$root/arch/cxx17_required.h" ]] || {
  echo "cannot find the source root from $1 ($first)" >&2
  exit 1
}

failures=0
for header in "$@"; do
  name="${header}"
  if ! out="$("$cxx" -std=c++17 -fsyntax-only -Wall -Wextra -Werror \
    -x c++ -I"$root" "$header" 2>&1)"; then
    echo "FAIL: $name does not compile on its own at C++17:"
    echo "$out" | head -5
    failures=$((failures + 1))
  fi
  for std in c++14 c++0x; do
    out="$("$cxx" -std="$std" -fsyntax-only -x c++ -I"$root" "$header" 2>&1)" &&
      {
        echo "FAIL: $name compiles at -std=$std"
        failures=$((failures + 1))
        continue
      }
    error="$(grep -m1 'error' <<<"$out" || true)"
    if [[ "$error" != *"poolkit needs C++17"* ]]; then
      echo "FAIL: $name at -std=$std: first error is not poolkit's:"
      echo "  $error"
      failures=$((failures + 1))
    fi
  done
done
echo "$# headers checked, $failures failures"
[[ "$failures" == 0 ]]
