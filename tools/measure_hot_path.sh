#!/usr/bin/env bash
# Instructions per hot alloc+free pair (64-byte objects), poolkit vs glibc
# malloc, counted by callgrind (deterministic, unlike wall-clock time).
#   tools/measure_hot_path.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=tools/setup/packages.sh
source tools/setup/packages.sh
poolkit_install_packages base bench
bazel build -c opt //pool:hot_pair_probe >&2
probe="$(bazel info -c opt bazel-bin 2>/dev/null)/pool/hot_pair_probe"
out="$(mktemp -d)"
count() {  # FUNCTION -> instructions inclusive
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1" \
    --toggle-collect="*$1*" "$probe" >/dev/null 2>&1
  callgrind_annotate "$out/cg.$1" 2>/dev/null |
    sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,
}
pairs=1000000
pool=$(count PoolPairs)
malloc=$(count MallocPairs)
empty=$(count EmptyPairs)
awk -v p="$pool" -v m="$malloc" -v e="$empty" -v n="$pairs" 'BEGIN {
  printf "instructions per alloc+free pair (loop overhead %.1f subtracted)\n", e / n
  printf "  poolkit (xchg pool, 64 B): %.1f\n", (p - e) / n
  printf "  glibc malloc/free (64 B):  %.1f\n", (m - e) / n
}'
rm -rf "$out"
