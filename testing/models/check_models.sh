#!/usr/bin/env bash
# check_models.sh: model-checks the shared-cache stacks with Spin and fails
# unless every verdict is the expected one (see README.md in this directory).
#
# Models (testing/models/*.pml; memory.pml and workload.pml are shared parts):
#   spinlock.pml  SpinlockStack                         expect: safe
#   dwcas.pml     DwcasStack, -DVARIANT_A (flush lock + release barrier),
#                 -DVARIANT_B (flush lock around PopAll, only flush frees)
#                                                       expect: safe
#                 -DVARIANT_C (no release barrier)      expect: COUNTEREXAMPLE
#                 (the seed-003 use after free; its trail is replayed and
#                 printed)
#   xchg.pml      XchgStack                             expect: safe, and
#                 progress (every thread finishes) under weak fairness
# plus mutations that must each produce a counterexample, so that no model
# can silently become vacuous: the safe models with their protection removed
# or weakened, a witness that dwcas (a)'s barrier really has a pop in flight
# to wait for, and xchg's progress property without fairness.
#
# Bounds (all searches exhaustive; the script fails if one is cut short):
#   objects    3 (n1 -> n2 in the stack, n3 in the OS at the start)
#   threads    3 threads x 2 operations, and 2 threads x 4 operations; each
#              operation is a pop, push, free to the OS, alloc from the OS,
#              or (thread 0, once) a flush
#   generation DwcasStack's counter mod 8 (never wraps within these bounds)
#   depth      pan -m10000 (the deepest search is a few hundred steps)
#   memory     pan -DMEMLIM=2048 (MB); the largest run stores ~4.5M states
#              in ~310 MB (-DCOLLAPSE)
# About a minute in total on 2 cores.
#
# Usage: check_models.sh [-v]   (-v: replay and print every counterexample)
# Runs from any directory, and as a Bazel sh_test (models found through
# $TEST_SRCDIR/$TEST_WORKSPACE/testing/models). Needs spin (Debian package
# `spin`) and gcc; builds everything in a temporary directory ($TEST_TMPDIR
# under Bazel). Set PAN_CC to use another C compiler for the verifiers.

set -euo pipefail

verbose=0
if [[ "${1:-}" == "-v" ]]; then verbose=1; fi

if ! command -v spin >/dev/null 2>&1; then
  echo "check_models.sh: 'spin' not found. It is the Debian package 'spin':" >&2
  echo "  apt-get install -y spin" >&2
  exit 1
fi
pan_cc="${PAN_CC:-gcc}"
if ! command -v "$pan_cc" >/dev/null 2>&1; then
  echo "check_models.sh: C compiler '$pan_cc' not found (Debian package gcc)" >&2
  exit 1
fi

models=""
if [[ -n "${TEST_SRCDIR:-}" && -n "${TEST_WORKSPACE:-}" &&
      -f "$TEST_SRCDIR/$TEST_WORKSPACE/testing/models/dwcas.pml" ]]; then
  models="$TEST_SRCDIR/$TEST_WORKSPACE/testing/models"
else
  models="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fi
for f in memory.pml workload.pml spinlock.pml dwcas.pml xchg.pml; do
  if [[ ! -f "$models/$f" ]]; then
    echo "check_models.sh: $models/$f not found" >&2
    exit 1
  fi
done

work="$(mktemp -d "${TEST_TMPDIR:-${TMPDIR:-/tmp}}/check_models.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Compile-time flags for pan.
safe_cc="-DSAFETY -DCOLLAPSE -DMEMLIM=2048"  # exhaustive safety search (DFS)
bfs_cc="-DSAFETY -DBFS -DMEMLIM=2048"        # breadth first: the shortest
                                             # counterexample (the mutations
                                             # that read freed memory also
                                             # corrupt the list, later)
fair_cc="-DNFAIR=3 -DMEMLIM=2048"            # LTL + weak fairness
pan_run="-m10000"

# Failed-assertion texts, by kind.
uaf_re='where\[[a-z]+\]!=FREED'                 # read of a freed object
corrupt_re='IN_STACK|>=1|cnt'                   # list broken / garbage head
witness_re='mid_pop'

failures=0
n=0
printf '%-50s %10s %11s %6s %7s  %s\n' \
  "model" "states" "transitions" "depth" "time/s" "verdict"

field() {  # field REGEX-WITH-ONE-GROUP FILE: first match or "?"
  local v
  v="$(sed -n -E "s/$1/\\1/p" "$2" | head -n 1)"
  echo "${v:-?}"
}

# run NAME MODEL SPIN_DEFS CC_FLAGS PAN_FLAGS EXPECT [PATTERN]
#   EXPECT: safe     errors: 0, complete search
#           holds    errors: 0, complete search, weak fairness on
#           assert   an assertion violation whose text matches PATTERN
#           cycle    an acceptance cycle (an LTL property fails)
run() {
  local name="$1" model="$2" defs="$3" ccflags="$4" panflags="$5"
  local expect="$6" pattern="${7:-}"
  local dir verdict ok=1 errors states trans depth secs failed_text=""
  n=$((n + 1))
  dir="$work/run$n"
  mkdir -p "$dir"
  cp -L "$models"/*.pml "$dir"/
  # shellcheck disable=SC2086  # flag lists are meant to split
  if ! (cd "$dir" && spin $defs -a "$model" >spin.log 2>&1); then
    printf '%-50s spin -a failed:\n' "$name"; sed 's/^/    /' "$dir/spin.log"
    failures=$((failures + 1)); return
  fi
  # shellcheck disable=SC2086
  if ! (cd "$dir" && "$pan_cc" -O1 -w $ccflags -o pan pan.c >cc.log 2>&1); then
    printf '%-50s compiling pan failed:\n' "$name"; sed 's/^/    /' "$dir/cc.log"
    failures=$((failures + 1)); return
  fi
  # shellcheck disable=SC2086
  (cd "$dir" && ./pan $panflags >pan.log 2>&1) || true
  local log="$dir/pan.log"
  errors="$(field '.*errors: ([0-9]+).*' "$log")"
  states="$(field '^ *([0-9.e+]+) states, stored.*' "$log")"
  trans="$(field '^ *([0-9.e+]+) transitions \(= .*' "$log")"
  depth="$(field '.*depth reached ([0-9]+).*' "$log")"
  secs="$(field '^pan: elapsed time ([0-9.e+]+) seconds.*' "$log")"

  if grep -q -E 'max search depth too small|MEMLIM|out of memory' "$log"; then
    verdict="FAIL: search cut short (depth or memory bound)"; ok=0
  elif ! grep -q 'Full statespace search' "$log"; then
    verdict="FAIL: not an exhaustive search"; ok=0
  fi
  if [[ $ok == 1 ]]; then
    case "$expect" in
      safe|holds)
        if [[ "$errors" != 0 ]]; then
          verdict="FAIL: expected no errors, got errors: $errors"; ok=0
        elif grep -q 'Search not completed' "$log"; then
          verdict="FAIL: search not completed"; ok=0
        elif [[ $expect == holds ]] && ! grep -q 'fairness enabled' "$log"; then
          verdict="FAIL: weak fairness was not enabled"; ok=0
        elif [[ $expect == holds ]]; then
          verdict="holds (errors: 0, weak fairness)"
        else
          verdict="safe (errors: 0)"
        fi
        ;;
      assert)
        if [[ "$errors" == "?" || "$errors" == 0 ]]; then
          verdict="FAIL: expected a counterexample, got errors: $errors"; ok=0
        elif ! grep -q 'assertion violated' "$log"; then
          verdict="FAIL: errors: $errors but no assertion violation"; ok=0
        else
          # shellcheck disable=SC2086
          (cd "$dir" && spin $defs -t -T "$model" >replay.log 2>&1) || true
          failed_text="$(sed -n 's/^spin: text of failed assertion: //p' \
                         "$dir/replay.log" | head -n 1)"
          if [[ -z "$failed_text" ]]; then
            verdict="FAIL: the trail does not replay to an assertion"; ok=0
          elif ! grep -q -E "$pattern" <<<"$failed_text"; then
            verdict="FAIL: unexpected assertion $failed_text"; ok=0
          else
            verdict="COUNTEREXAMPLE as expected (errors: $errors)"
          fi
        fi
        ;;
      cycle)
        if [[ "$errors" == "?" || "$errors" == 0 ]] ||
           ! grep -q 'acceptance cycle' "$log"; then
          verdict="FAIL: expected an acceptance cycle, got errors: $errors"; ok=0
        else
          verdict="property fails without fairness, as expected"
        fi
        ;;
    esac
  fi
  printf '%-50s %10s %11s %6s %7s  %s\n' \
    "$name" "$states" "$trans" "$depth" "$secs" "$verdict"
  if [[ -n "$failed_text" ]]; then
    printf '%-50s   failed: %s\n' "" "$failed_text"
  fi
  if [[ $ok == 0 ]]; then
    failures=$((failures + 1))
    sed 's/^/    | /' "$log" | head -n 40
  fi
  if [[ -n "$failed_text" && ( $verbose == 1 || "$name" == *"seed 003"* ) ]]; then
    if [[ "$ccflags" == *-DBFS* ]]; then
      explain "$dir/replay.log" "shortest"
    else
      explain "$dir/replay.log" "the first one depth-first search found"
    fi
  fi
  if [[ $ok == 1 && "$name" == *"seed 003"* ]]; then
    cat <<'EOF'
    in words: one thread read the head (n1) and was about to read n1->next;
    another thread popped n1 and, with no release barrier, returned it to the
    OS at once; the first thread's read of n1->next then touches unmapped
    memory: the seed-003 crash. In dwcas (a) the barrier makes that free wait
    until the first pop has left its shared section of the flush lock.
EOF
  fi
  if [[ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]]; then
    local out="$TEST_UNDECLARED_OUTPUTS_DIR/run$n"
    mkdir -p "$out"
    cp "$dir"/*.log "$out"/ 2>/dev/null || true
    cp "$dir"/*.trail "$out"/ 2>/dev/null || true
  fi
}

# The model's narrative (printf "@@ ...") along the trail, up to the failure.
explain() {  # explain REPLAY_LOG KIND
  echo "    trail ($2, replayed with spin -t; n0 = null, n4 = junk):"
  awk '/^@@ /{sub(/^@@ /, ""); print "      " $0}
       /^spin: text of failed assertion/{exit}' "$1"
}

T32="-DNTHREADS=3 -DOPS=2"
T24="-DNTHREADS=2 -DOPS=4"

echo "== expected safe"
run "spinlock                               3x2" spinlock.pml "$T32" "$safe_cc" "$pan_run" safe
run "spinlock                               2x4" spinlock.pml "$T24" "$safe_cc" "$pan_run" safe
run "dwcas (a) flush lock + release barrier 3x2" dwcas.pml "-DVARIANT_A $T32" "$safe_cc" "$pan_run" safe
run "dwcas (a) flush lock + release barrier 2x4" dwcas.pml "-DVARIANT_A $T24" "$safe_cc" "$pan_run" safe
run "dwcas (b) flush lock, only flush frees 3x2" dwcas.pml "-DVARIANT_B $T32" "$safe_cc" "$pan_run" safe
run "dwcas (b) flush lock, only flush frees 2x4" dwcas.pml "-DVARIANT_B $T24" "$safe_cc" "$pan_run" safe
run "xchg                                   3x2" xchg.pml "$T32" "$safe_cc" "$pan_run" safe
run "xchg                                   2x4" xchg.pml "$T24" "$safe_cc" "$pan_run" safe
run "xchg progress (LTL, weak fairness)     3x2" xchg.pml "-DCHECK_PROGRESS $T32" "$fair_cc" "$pan_run -a -f" holds

echo "== expected counterexample"
run "dwcas (c) no release barrier [seed 003] 3x2" dwcas.pml "-DVARIANT_C $T32" "$bfs_cc" "$pan_run" assert "$uaf_re"

echo "== mutations (each must fail)"
run "spinlock BROKEN: next read before the lock" spinlock.pml "-DBROKEN $T32" "$bfs_cc" "$pan_run" assert "$uaf_re"
run "dwcas (a) WITNESS: free while popped from" dwcas.pml "-DVARIANT_A -DWITNESS $T32" "$safe_cc" "$pan_run" assert "$witness_re"
run "dwcas (a) NO_SHARED_IN_POP [seed 001]" dwcas.pml "-DVARIANT_A -DNO_SHARED_IN_POP $T32" "$bfs_cc" "$pan_run" assert "$uaf_re"
run "dwcas (b) NO_SHARED_IN_POP" dwcas.pml "-DVARIANT_B -DNO_SHARED_IN_POP $T32" "$bfs_cc" "$pan_run" assert "$uaf_re"
run "dwcas (a) HEAD_FIRST: head read before gen" dwcas.pml "-DVARIANT_A -DHEAD_FIRST $T32" "$safe_cc" "$pan_run" assert "$corrupt_re"
run "dwcas (a) NO_GEN: DWCAS ignores generation" dwcas.pml "-DVARIANT_A -DNO_GEN $T32" "$safe_cc" "$pan_run" assert "$corrupt_re"
run "dwcas (a) GEN_MOD=2: generation wraps" dwcas.pml "-DVARIANT_A -DGEN_MOD=2 $T32" "$safe_cc" "$pan_run" assert "$corrupt_re"
run "xchg BROKEN: next read before BUSY" xchg.pml "-DBROKEN $T32" "$bfs_cc" "$pan_run" assert "$uaf_re"
run "xchg progress without weak fairness" xchg.pml "-DCHECK_PROGRESS $T32" "-DMEMLIM=2048" "$pan_run -a" cycle

if [[ $failures != 0 ]]; then
  echo "check_models.sh: FAILED: $failures of $n checks did not give the expected verdict" >&2
  exit 1
fi
echo "check_models.sh: all $n checks gave the expected verdict"
