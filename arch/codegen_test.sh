#!/usr/bin/env bash
# Checks the instructions that an atomics backend really emits, from the
# disassembly of arch/codegen_probe.
#
# Usage:
#   codegen_test.sh <objdump> <probe-binary> [<expected-backend>]
#
#   <objdump>           objdump for the probe's CPU (objdump,
#                       aarch64-linux-gnu-objdump, llvm-objdump, ...)
#   <expected-backend>  x86_64 | aarch64_llsc | aarch64_lse | portable, or a
#                       file holding one of these names (as Bazel passes it)
#
# With an expected backend it is a test: it exits 1 if a check fails and
# prints the check and the disassembly lines concerned. Without one it is a
# report: it prints what it found and which backend that looks like.
#
# Checks:
#   all but portable  no call or reference to libatomic (__atomic_*) or to
#                     the aarch64 outline-atomics helpers (__aarch64_*)
#   x86_64            lock cmpxchg16b (pair), lock cmpxchg and xchg (word)
#   aarch64_llsc      ldaxp/stlxp and ldxp/stxp (pair), ldaxr/stlxr (word),
#                     and no LSE instruction at all (cas*, casp*, swp*,
#                     ld<op>*, st<op>*): such a binary must run on ARMv8.0
#   aarch64_lse       casp, caspa, caspl, caspal (pair), cas* and swp* (word)
#   every backend     the probe's wrappers are present (not stripped) and the
#                     binary carries the expected backend name

set -euo pipefail

usage() {
  echo "usage: $0 <objdump> <probe-binary> [x86_64|aarch64_llsc|aarch64_lse|portable]" >&2
  exit 2
}

[[ $# -ge 2 && $# -le 3 ]] || usage
objdump_tool=$1
binary=$2
expected=${3:-}
# Bazel passes the expected backend as a file holding its name.
if [[ -f "$expected" ]]; then
  expected="$(tr -d '[:space:]' <"$expected")"
fi
case "${expected}" in
  "" | x86_64 | aarch64_llsc | aarch64_lse | portable) ;;
  *) echo "unknown backend '${expected}'" >&2; usage ;;
esac
[[ -r "${binary}" ]] || { echo "cannot read ${binary}" >&2; exit 2; }

workdir=$(mktemp -d)
trap 'rm -rf "${workdir}"' EXIT

# One line per instruction: "<function>\t<address>\t<mnemonic>\t<full text>".
# The mnemonic skips x86 prefixes (lock, rep, ...), so "lock cmpxchg16b" has
# mnemonic "cmpxchg16b"; the full text keeps them.
"${objdump_tool}" -d -C --no-show-raw-insn "${binary}" >"${workdir}/raw"
awk '
  /^[0-9a-f]+ <.*>:$/ {
    fn = $0
    sub(/^[0-9a-f]+ </, "", fn)
    sub(/>:$/, "", fn)
    next
  }
  /^ *[0-9a-f]+:\t/ {
    line = $0
    sub(/^ */, "", line)
    addr = line
    sub(/:\t.*/, "", addr)
    text = line
    sub(/^[0-9a-f]+:\t/, "", text)
    gsub(/\t/, " ", text)
    n = split(text, word, " ")
    if (n == 0) next
    m = word[1]
    if ((m == "lock" || m ~ /^rep/ || m == "notrack" || m == "bnd" ||
         m == "data16") && n > 1) m = word[2]
    printf "%s\t%s\t%s\t%s\n", fn, addr, m, text
  }
' "${workdir}/raw" >"${workdir}/insns"

failures=0

# Lines whose mnemonic matches the extended regex $1 (anchored).
insns_matching() {
  awk -F'\t' -v re="^($1)\$" '$3 ~ re' "${workdir}/insns"
}

count_matching() {
  insns_matching "$1" | wc -l | tr -d ' '
}

show_lines() {
  awk -F'\t' '{ printf "    %s: %s    [in %s]\n", $2, $4, $1 }' | head -n 20
}

pass() { echo "PASS: $1"; }

fail() {
  echo "FAIL: $1"
  failures=$((failures + 1))
}

# Requires at least one instruction matching $1.
require_insn() {
  local re=$1 what=$2 n
  n=$(count_matching "${re}")
  if [[ ${n} -gt 0 ]]; then
    pass "${what}: ${n} found"
  else
    fail "${what}: none found"
    echo "  atomic-looking instructions present instead:"
    insns_matching 'lock|cmpxchg.*|xchg|ld[a]?xp|st[l]?xp|ld[a]?xr|st[l]?xr|cas.*|swp.*|ldadd.*' |
      show_lines
  fi
}

# Forbids every instruction matching $1.
forbid_insn() {
  local re=$1 what=$2 n
  n=$(count_matching "${re}")
  if [[ ${n} -eq 0 ]]; then
    pass "${what}: none"
  else
    fail "${what}: ${n} found"
    insns_matching "${re}" | show_lines
  fi
}

# Forbids calls/jumps to, or address references of, symbols matching $1.
forbid_reference() {
  local re=$1 what=$2 n
  n=$(awk -F'\t' -v re="<(${re})" '$4 ~ re' "${workdir}/insns" | wc -l | tr -d ' ')
  if [[ ${n} -eq 0 ]]; then
    pass "${what}: none"
  else
    fail "${what}: ${n} found"
    awk -F'\t' -v re="<(${re})" '$4 ~ re' "${workdir}/insns" | show_lines
  fi
}

# LSE (ARMv8.1) atomic mnemonics: CAS, CASP, SWP and the LD<op>/ST<op> family,
# in every size and ordering variant.
lse_ops='add|clr|eor|set|smax|smin|umax|umin'
lse_re="cas(p)?(a|l|al)?(b|h)?|swp(a|l|al)?(b|h)?|ld(${lse_ops})(a|l|al)?(b|h)?|st(${lse_ops})(l)?(b|h)?"
libatomic_re='__atomic_|__aarch64_|__sync_'

# --- Report (always printed) ------------------------------------------------
echo "== ${binary}"
echo "instructions of interest (count):"
for m in cmpxchg16b cmpxchg xchg pause mfence \
  ldxp ldaxp stxp stlxp ldxr ldaxr stxr stlxr clrex \
  casp caspa caspl caspal cas casa casl casal swp swpa swpl swpal \
  isb yield dmb; do
  n=$(count_matching "${m}")
  if [[ ${n} -gt 0 ]]; then
    printf "  %-11s %s\n" "${m}" "${n}"
  fi
done
n_lse=$(count_matching "${lse_re}")
n_calls=$(awk -F'\t' -v re="<(${libatomic_re})" '$4 ~ re' "${workdir}/insns" | wc -l | tr -d ' ')
echo "LSE instructions (any): ${n_lse}"
echo "references to libatomic / outline-atomics helpers: ${n_calls}"
awk -F'\t' -v re="<(${libatomic_re})" '$4 ~ re' "${workdir}/insns" | show_lines

# The backend's kName is in the binary; trust it if exactly one is there,
# else guess from the instructions (clang with -mcx16 inlines cmpxchg16b for
# the portable backend, for instance).
names=()
for name in x86_64 aarch64_llsc aarch64_lse portable; do
  if grep -a -q -w -- "${name}" "${binary}"; then names+=("${name}"); fi
done
if [[ ${#names[@]} -eq 1 ]]; then
  guess=${names[0]}
elif [[ $(count_matching 'cmpxchg16b') -gt 0 ]]; then
  guess=x86_64
elif [[ $(count_matching 'casp(a|l|al)?') -gt 0 ]]; then
  guess=aarch64_lse
elif [[ $(count_matching 'ldaxp') -gt 0 && ${n_calls} -eq 0 ]]; then
  guess=aarch64_llsc
else
  guess=portable
fi
echo "looks like backend: ${guess}" \
  "(backend names found in the binary: ${names[*]:-none})"

if [[ -z "${expected}" ]]; then
  exit 0
fi

# --- Checks -----------------------------------------------------------------
echo "== checking for backend ${expected}"

if grep -q 'ProbeCompareExchangePair' "${workdir}/insns"; then
  pass "probe wrappers present"
else
  fail "probe wrappers present: no ProbeCompareExchangePair in the disassembly (stripped, or not the codegen probe?)"
fi

if grep -a -q -w -- "${expected}" "${binary}"; then
  pass "backend name '${expected}' in the binary"
else
  fail "backend name '${expected}' in the binary: not found (a different backend was selected?)"
fi

if [[ "${expected}" != portable ]]; then
  forbid_reference "${libatomic_re}" "calls to libatomic or outline-atomics helpers"
fi

case "${expected}" in
  x86_64)
    require_insn 'cmpxchg16b' "pair CAS: lock cmpxchg16b"
    if awk -F'\t' '$3 == "cmpxchg16b" && $4 !~ /^lock /' "${workdir}/insns" | grep -q .; then
      fail "every cmpxchg16b carries the lock prefix"
      awk -F'\t' '$3 == "cmpxchg16b" && $4 !~ /^lock /' "${workdir}/insns" | show_lines
    else
      pass "every cmpxchg16b carries the lock prefix"
    fi
    require_insn 'cmpxchg' "word CAS: lock cmpxchg"
    # With a memory operand: `xchg %ax,%ax` is also how objdump shows a nop.
    n=$(awk -F'\t' '$3 == "xchg" && $4 ~ /\(/' "${workdir}/insns" | wc -l | tr -d ' ')
    if [[ ${n} -gt 0 ]]; then
      pass "word exchange: xchg with a memory operand: ${n} found"
    else
      fail "word exchange: xchg with a memory operand: none found"
    fi
    require_insn 'pause' "CpuRelax: pause"
    ;;
  aarch64_llsc)
    require_insn 'ldaxp' "pair CAS (acquire): ldaxp"
    require_insn 'stlxp' "pair CAS (release): stlxp"
    require_insn 'ldxp' "pair CAS (relaxed): ldxp"
    require_insn 'stxp' "pair CAS (relaxed / write-back): stxp"
    require_insn 'ldaxr' "word ops (acquire): ldaxr"
    require_insn 'stlxr' "word ops (release): stlxr"
    require_insn 'clrex' "word CAS mismatch: clrex"
    require_insn 'isb' "CpuRelax: isb"
    forbid_insn "${lse_re}" "LSE instructions (casp, cas, swp, ldadd, ...)"
    ;;
  aarch64_lse)
    require_insn 'casp' "pair CAS (relaxed): casp"
    require_insn 'caspa' "pair CAS (acquire): caspa"
    require_insn 'caspl' "pair CAS (release): caspl"
    require_insn 'caspal' "pair CAS (acq_rel/seq_cst): caspal"
    require_insn 'cas(a|l|al)?' "word CAS: cas*"
    require_insn 'swp(a|l|al)?' "word exchange: swp*"
    forbid_insn 'ld[a]?xp|st[l]?xp' "LL/SC pair loops"
    ;;
  portable)
    echo "INFO: portable backend; libatomic references: ${n_calls}" \
      "(expected with gcc, which routes 16-byte atomics through libatomic)"
    ;;
esac

if [[ ${failures} -gt 0 ]]; then
  echo "${failures} check(s) FAILED for backend ${expected}"
  exit 1
fi
echo "all checks passed for backend ${expected}"
