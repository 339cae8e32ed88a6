#!/usr/bin/env bash
# poolbench end to end, on a tiny matrix: every contender (the four poolkit
# strategies, simple, glibc, and jemalloc, tcmalloc and mimalloc LD_PRELOADed
# into workers) must produce a number for every scenario, and the JSON, the SVG
# and the table must be well-formed. Also the command line's error path.
# No timing is asserted.
#
#   smoke_test.sh <poolbench> <check_outputs.py>
set -euo pipefail

poolbench=$1
checker=$2
out="${TEST_TMPDIR:-$(mktemp -d)}"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# An unknown option: exit 2, the option named, the usage on stderr.
status=0
"$poolbench" --bogus >"$out/bogus.out" 2>"$out/bogus.err" || status=$?
[[ $status == 2 ]] || fail "--bogus exited $status, not 2"
grep -q "unknown option '--bogus'" "$out/bogus.err" ||
  fail "--bogus: no message naming it: $(cat "$out/bogus.err")"
grep -q '^Usage: poolbench' "$out/bogus.err" || fail "--bogus: no usage"
[[ ! -s "$out/bogus.out" ]] || fail "--bogus wrote to stdout"

# A malformed value: the same.
status=0
"$poolbench" --sizes=12X >/dev/null 2>"$out/size.err" || status=$?
[[ $status == 2 ]] || fail "--sizes=12X exited $status, not 2"
grep -q "^poolbench: --sizes: '12X' is not a size" "$out/size.err" ||
  fail "--sizes=12X: $(head -1 "$out/size.err")"

# An output that cannot be written: refused before the run, exit 2.
status=0
"$poolbench" --json=/nonexistent/run.json >/dev/null 2>"$out/path.err" ||
  status=$?
[[ $status == 2 ]] || fail "--json=/nonexistent/run.json exited $status, not 2"
grep -q "cannot write /nonexistent/run.json" "$out/path.err" ||
  fail "unwritable --json: $(cat "$out/path.err")"

# --help: the usage on stdout, exit 0.
"$poolbench" --help >"$out/help.out" || fail "--help failed"
grep -q '^Usage: poolbench' "$out/help.out" || fail "--help: no usage"

# The tiny matrix, every contender, two batch sizes.
sizes=64,16384
threads=1,2
batch=8,64
patterns=hot,batch,cross,spike
contenders=spinlock,dwcas,xchg,none,simple,glibc,jemalloc,tcmalloc,mimalloc
status=0
"$poolbench" --sizes=64,16K --threads=$threads --batch=$batch \
  --patterns=$patterns --contenders=$contenders --repeats=2 --min-time=0.002 \
  --spike-mib=4 --spike-cycles=1 --json="$out/run.json" --svg="$out/run.svg" \
  >"$out/table.txt" 2>"$out/progress.txt" || status=$?
if [[ $status != 0 ]]; then
  cat "$out/progress.txt" >&2
  fail "poolbench exited $status"
fi
grep -q '^\[1/' "$out/progress.txt" || fail "no progress on stderr"

python3 "$checker" run --json="$out/run.json" --svg="$out/run.svg" \
  --table="$out/table.txt" --contenders=$contenders --patterns=$patterns \
  --sizes=$sizes --threads=$threads --batch=$batch --repeats=2 \
  --spike-cycles=1 || {
  echo "--- table" >&2
  cat "$out/table.txt" >&2
  echo "--- progress" >&2
  cat "$out/progress.txt" >&2
  fail "outputs did not pass the checks"
}
echo "PASS"
