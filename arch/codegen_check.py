#!/usr/bin/env python3
"""Checks, function by function, the instructions an atomics backend emits.

arch/codegen_probe holds one function per (operation, memory order), named
probe_<op>_<order>. This disassembles each by its symbol, keeps the
instructions that carry atomicity or ordering (below, per CPU), and compares
their multiset with the line for that function in
arch/codegen_expected/<backend>. Any difference fails: a lost `lock` prefix,
an acquire variant where a release one belongs, a clrex where a write-back
belongs, an extra barrier, a call to libatomic or to the outline-atomics
helpers.

The backend the binary should contain is derived from the binary, not from
the build's choice of backend: the ELF machine (x86-64 or aarch64) and the
string the probe records from the compiler's own macros (whether the
toolchain enabled LSE atomics). --portable says that the build asked for
the portable backend (//arch:portable). The backend actually built is then
identified from its instructions and must be that one.

  codegen_check.py OBJDUMP PROBE EXPECTED_DIR [--portable]
      exit 0 if every function matches, 1 otherwise (prints each mismatch).
  codegen_check.py OBJDUMP PROBE EXPECTED_DIR --expect-reject=FUNCTION
      for the self-test (mutant probes): exit 0 only if the check fails and
      FUNCTION is among the functions it rejects.
  codegen_check.py OBJDUMP PROBE
      report: print each probe function's instructions of interest.
"""

import collections
import os
import re
import subprocess
import sys

ORDERS = ["relaxed", "acquire", "release", "acq_rel", "seq_cst"]
OPERATIONS = [
    "cas_pair",
    "load_pair",
    "exchange_word",
    "cas_word",
    "load_word",
    "store_word",
]
BARRIERS = ["cpu_relax", "full_barrier", "acquire_barrier", "release_barrier"]
FUNCTIONS = ["probe_%s_%s" % (op, order) for order in ORDERS for op in OPERATIONS] + [
    "probe_" + name for name in BARRIERS
]

HELPER_CALL = re.compile(r"<(__atomic_\w*|__sync_\w*|__aarch64_\w*)")

# x86-64: every lock-prefixed instruction, xchg with a memory operand
# (implicitly locked; `xchg %ax,%ax` is padding), the fences and pause.
X86_PLAIN = {"xchg", "cmpxchg", "cmpxchg8b", "cmpxchg16b", "xadd"}
X86_ALWAYS = {"mfence", "lfence", "sfence", "pause"}

# aarch64: exclusives, acquire/release loads and stores, LSE atomics,
# barriers and hints. dmb/dsb keep their option (ish, ishld, ...).
A64_LSE_OPS = "add|clr|eor|set|smax|smin|umax|umin"
A64_INTEREST = re.compile(
    r"^(ld[a]?xp|st[l]?xp|ld[a]?xr[bh]?|st[l]?xr[bh]?|ldar[bh]?|ldapr[bh]?"
    r"|stlr[bh]?|clrex|casp(a|l|al)?|cas(a|l|al)?[bh]?|swp(a|l|al)?[bh]?"
    r"|ld(" + A64_LSE_OPS + r")(a|l|al)?[bh]?|st(" + A64_LSE_OPS + r")(l)?[bh]?"
    r"|isb|yield|wfe|sev|sevl)$"
)


def disassemble(objdump, binary):
    """{function: [(mnemonic, text)]} for every probe_ function."""
    out = subprocess.run(
        [objdump, "-d", "--no-show-raw-insn", binary],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    functions = {}
    current = None
    for line in out.splitlines():
        header = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if header:
            name = header.group(1)
            current = name if name.startswith("probe_") else None
            if current:
                functions[current] = []
            continue
        insn = re.match(r"^\s*[0-9a-f]+:\s+(.*)$", line)
        if insn and current:
            text = re.sub(r"\s+", " ", insn.group(1)).strip()
            if text and not text.startswith("(bad)"):
                functions[current].append(text)
    return functions


def machine(objdump, binary):
    out = subprocess.run(
        [objdump, "-f", binary], check=True, capture_output=True, text=True
    ).stdout
    if "x86-64" in out:
        return "x86_64"
    if "aarch64" in out:
        return "aarch64"
    raise SystemExit("unknown machine in `objdump -f`:\n" + out)


def tokens_x86(texts):
    tokens = []
    for text in texts:
        words = text.split(" ")
        if HELPER_CALL.search(text):
            tokens.append("call " + HELPER_CALL.search(text).group(1))
            continue
        if words[0] == "lock" and len(words) > 1:
            tokens.append("lock " + words[1])
        elif words[0] in X86_PLAIN and "(" in text:
            tokens.append(words[0])
        elif words[0] in X86_ALWAYS:
            tokens.append(words[0])
    return tokens


def tokens_aarch64(texts):
    tokens = []
    for text in texts:
        words = text.split(" ")
        if HELPER_CALL.search(text):
            tokens.append("call " + HELPER_CALL.search(text).group(1))
        elif words[0] in ("dmb", "dsb") and len(words) > 1:
            tokens.append(words[0] + " " + words[1])
        elif A64_INTEREST.match(words[0]):
            tokens.append(words[0])
    return tokens


def identify(cpu, functions):
    """The backend whose signature the instructions show."""
    every = collections.Counter()
    for tokens in functions.values():
        every.update(tokens)
    if any(t.startswith("call ") for t in every):
        return "portable"
    if cpu == "x86_64":
        return "x86_64" if every["lock cmpxchg16b"] else "portable"
    if any(re.match(r"^casp", t) for t in every):
        return "aarch64_lse"
    if every["ldaxp"]:
        return "aarch64_llsc"
    return "portable"


def read_expected(path):
    expected = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, _, rest = line.partition(":")
            rest = rest.strip()
            tokens = [] if rest == "-" else [t.strip() for t in rest.split(",")]
            if name.strip() in expected:
                raise SystemExit("%s:%d: %s listed twice" % (path, number, name))
            expected[name.strip()] = tokens
    return expected


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    flags = [a for a in argv[1:] if a.startswith("--")]
    portable = "--portable" in flags
    reject = [f.split("=", 1)[1] for f in flags if f.startswith("--expect-reject=")]
    if len(args) not in (2, 3):
        raise SystemExit(__doc__)
    objdump, binary = args[0], args[1]

    cpu = machine(objdump, binary)
    tokenize = tokens_x86 if cpu == "x86_64" else tokens_aarch64
    functions = {name: tokenize(texts) for name, texts in disassemble(objdump, binary).items()}
    with open(binary, "rb") as f:
        marker = re.search(rb"poolkit-codegen-target: lse=([01])", f.read())
    lse = marker is not None and marker.group(1) == b"1"
    built = identify(cpu, functions)

    if len(args) == 2:
        for name in FUNCTIONS:
            print("%s: %s" % (name, ", ".join(sorted(functions.get(name, []))) or "-"))
        print("machine %s, lse %s, looks like backend %s" % (cpu, int(lse), built))
        return 0

    if marker is None:
        print("FAIL: no poolkit-codegen-target marker in %s (not the codegen probe?)" % binary)
        return 1
    if portable:
        want = "portable"
    elif cpu == "x86_64":
        want = "x86_64"
    else:
        want = "aarch64_lse" if lse else "aarch64_llsc"
    spec = want if want != "portable" else "portable_" + cpu
    print("machine %s, compiler LSE %s: expect backend %s; built: %s" % (cpu, int(lse), want, built))

    failures = []
    if built != want:
        failures.append(("(backend)", "the instructions are those of %s, not %s" % (built, want)))
    path = os.path.join(args[2], spec)
    if not os.path.exists(path):
        print("FAIL: no expectations for %s (%s)" % (spec, path))
        return 1
    expected = read_expected(path)
    for name in FUNCTIONS:
        if name not in expected:
            failures.append((name, "no line in %s" % path))
            continue
        if name not in functions:
            failures.append((name, "not in the binary"))
            continue
        have = collections.Counter(functions[name])
        wanted = collections.Counter(expected[name])
        if have != wanted:
            failures.append(
                (
                    name,
                    "has [%s], expected [%s]"
                    % (", ".join(sorted(have.elements())), ", ".join(sorted(wanted.elements()))),
                )
            )
    for name in sorted(set(expected) - set(FUNCTIONS)):
        failures.append((name, "in %s but not a probe function" % path))
    for name, problem in failures:
        print("FAIL: %s: %s" % (name, problem))
    print("%d functions checked against %s, %d failures" % (len(FUNCTIONS), path, len(failures)))

    if reject:
        rejected = {name for name, _ in failures}
        missing = [f for f in reject if f not in rejected]
        if missing:
            print("SELF-TEST FAIL: the mutant in %s was not rejected" % ", ".join(missing))
            return 1
        print("self-test: the mutant in %s was rejected" % ", ".join(reject))
        return 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
