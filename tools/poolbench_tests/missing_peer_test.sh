#!/usr/bin/env bash
# A peer allocator that is not there is reported, never skipped: the run
# says MISSING with the package to install, the other contenders still run,
# and the exit status is 1. Unless the user left that peer out.
#
#   missing_peer_test.sh <poolbench> <check_outputs.py>
set -euo pipefail

poolbench=$1
checker=$2
out="${TEST_TMPDIR:-$(mktemp -d)}"
tiny=(--patterns=hot --sizes=64 --threads=1 --repeats=1 --min-time=0.002)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run NAME ARGS...: runs poolbench, keeps stdout/stderr in $out/NAME.*,
# sets $status.
run() {
  local name=$1
  shift
  status=0
  "$poolbench" "$@" >"$out/$name.out" 2>"$out/$name.err" || status=$?
}

expect_missing() {
  local name=$1 package=$2
  [[ $status == 1 ]] || fail "$name: exit status $status, not 1"
  grep -q "jemalloc MISSING" "$out/$name.err" ||
    fail "$name: stderr does not say jemalloc MISSING: $(cat "$out/$name.err")"
  grep -q "$package" "$out/$name.err" ||
    fail "$name: stderr does not name $package"
  grep -q "MISSING" "$out/$name.out" || fail "$name: the table hides it"
}

# 1. The library file does not exist.
run nofile --contenders=xchg,simple,jemalloc \
  --peer-library=jemalloc=/nonexistent/libjemalloc.so.2 "${tiny[@]}" \
  --json="$out/nofile.json" --svg="$out/nofile.svg"
expect_missing nofile libjemalloc-dev
grep -q "/nonexistent/libjemalloc.so.2" "$out/nofile.err" ||
  fail "nofile: the path is not named"
python3 "$checker" missing --json="$out/nofile.json" --missing=jemalloc \
  --present=xchg,simple

# 2. The file exists but is no shared library: the dynamic loader ignores
# the LD_PRELOAD, and the worker finds malloc still comes from the C
# library.
run notalib --contenders=glibc,jemalloc --peer-library=jemalloc="$0" \
  "${tiny[@]}" --json="$out/notalib.json" --svg="$out/notalib.svg"
expect_missing notalib libjemalloc-dev
grep -q "malloc comes from .*libc" "$out/notalib.err" ||
  fail "notalib: the worker's finding is not reported"
python3 "$checker" missing --json="$out/notalib.json" --missing=jemalloc \
  --present=glibc

# 3. A real allocator, but not the one named: mimalloc's library passed as
# jemalloc serves malloc, yet has no mallctl.
run find --check-contenders --contenders=mimalloc
mimalloc=$(sed -n 's/.*LD_PRELOAD=\([^ )]*\).*/\1/p' "$out/find.err" | head -1)
[[ -n "$mimalloc" ]] || fail "could not find mimalloc: $(cat "$out/find.err")"
run wrong --check-contenders --contenders=jemalloc \
  --peer-library=jemalloc="$mimalloc"
expect_missing wrong libjemalloc-dev
grep -q "no mallctl" "$out/wrong.err" ||
  fail "wrong: not reported as 'not jemalloc': $(cat "$out/wrong.err")"

# 4. Left out with --contenders: not reported, exit 0.
run excluded --contenders=xchg \
  --peer-library=jemalloc=/nonexistent/libjemalloc.so.2 "${tiny[@]}" \
  --json="$out/excluded.json" --svg="$out/excluded.svg"
[[ $status == 0 ]] || fail "excluded: exit status $status: $(cat "$out/excluded.err")"
if grep -q MISSING "$out/excluded.err" "$out/excluded.out"; then
  fail "excluded: a contender left out was reported missing"
fi
echo "PASS"
