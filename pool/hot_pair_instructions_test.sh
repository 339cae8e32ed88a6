#!/usr/bin/env bash
# README's "20 instructions per alloc+free pair", as a test: callgrind counts
# the instructions of 1,000,000 hot pairs through a pool (hot_pair_probe's
# PoolPairs), less the loop alone (EmptyPairs), and the result must not pass
# the ceiling. Instruction counts are deterministic for a given binary, so
# this is a behaviour, not a timing. The probe is built with -O2 in every
# compilation mode (the fast path is inline in pool/pool.h).
#   hot_pair_instructions_test.sh PROBE CEILING
set -euo pipefail
probe="$1"
ceiling="$2"
command -v valgrind >/dev/null || {
  echo "valgrind is missing (tools/setup/packages.sh bench installs it)" >&2
  exit 1
}
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
count() { # FUNCTION -> instructions executed inside it
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1" \
    --toggle-collect="*$1*" "$probe" >/dev/null 2>"$out/log.$1" || {
    cat "$out/log.$1" >&2
    exit 1
  }
  callgrind_annotate "$out/cg.$1" 2>/dev/null |
    sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,
}
pool=$(count PoolPairs)
empty=$(count EmptyPairs)
pairs=1000000
awk -v p="$pool" -v e="$empty" -v n="$pairs" -v c="$ceiling" 'BEGIN {
  per_pair = (p - e) / n
  printf "poolkit hot pair (xchg pool, 64 B): %.4f instructions (ceiling %s; %d in all, loop %d)\n", per_pair, c, p, e
  if (p == "" || e == "" || p <= e) { print "FAIL: no count"; exit 1 }
  # One more instruction in the loop is +1.0 a pair; the 0.01 of slack
  # covers the few thousand instructions of the first pair and callgrind
  # toggling, which do not repeat per pair.
  if (per_pair > c + 0.01) { print "FAIL: over the ceiling"; exit 1 }
  print "PASS"
}'
