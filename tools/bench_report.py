#!/usr/bin/env python3
"""Turns pool_benchmark's JSON into the README's tables.

  tools/bazelw run -c opt //pool:pool_benchmark -- \
      --benchmark_repetitions=5 --benchmark_out=/tmp/bench.json \
      --benchmark_out_format=json
  tools/bench_report.py /tmp/bench.json

Prints, per pattern, the median time per alloc+free pair of every contender
and object size, and each strategy's ratio against malloc/free measured in
the same run (malloc time / strategy time: above 1 means poolkit is faster).
Then the seed-003 comparison: xchg against spinlock and against none.
"""

import json
import statistics
import sys
from collections import defaultdict

CONTENDERS = ["spinlock", "dwcas", "xchg", "none", "malloc"]
PATTERNS = [
    ("BM_Hot", "hot: alloc+free on one thread"),
    ("BM_Batch", "batch: alloc 64, then free 64 (per pair)"),
    ("BM_Cross", "cross-thread: thread 0 allocates, thread 1 frees"),
]


def size_label(size):
    if size >= 1 << 20:
        return "%d MiB" % (size >> 20)
    if size >= 1 << 10:
        return "%d KiB" % (size >> 10)
    return "%d B" % size


def load(path):
    with open(path) as f:
        data = json.load(f)
    # (pattern, contender, size) -> [ns per pair, ...]
    samples = defaultdict(list)
    os_calls = defaultdict(list)
    for bench in data["benchmarks"]:
        if bench.get("run_type") == "aggregate":
            continue
        name = bench["name"]
        pattern = name.split("/")[0]
        fields = dict(
            part.split(":", 1) for part in name.split("/")[1:] if ":" in part
        )
        contender = CONTENDERS[int(fields["contender"])]
        size = int(fields["size"])
        # items_per_second counts pairs (batch: 64 per iteration).
        ns_per_pair = 1e9 / bench["items_per_second"]
        samples[(pattern, contender, size)].append(ns_per_pair)
        if "os_calls_per_pair" in bench:
            os_calls[(pattern, contender, size)].append(bench["os_calls_per_pair"])
    return data.get("context", {}), samples, os_calls


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    context, samples, os_calls = load(argv[1])
    medians = {key: statistics.median(v) for key, v in samples.items()}
    spread = {
        key: (min(v), max(v)) for key, v in samples.items()
    }
    sizes = sorted({key[2] for key in medians})
    print(
        "Machine: %s CPUs at %s MHz; %s; library built as %s."
        % (
            context.get("num_cpus", "?"),
            context.get("mhz_per_cpu", "?"),
            context.get("date", "?"),
            context.get("library_build_type", "?"),
        )
    )
    for pattern, title in PATTERNS:
        print("\n**%s** — ns per pair, median (ratio malloc/strategy)\n" % title)
        print("| size | " + " | ".join(CONTENDERS) + " |")
        print("|---" * (len(CONTENDERS) + 1) + "|")
        for size in sizes:
            base = medians.get((pattern, "malloc", size))
            cells = []
            for contender in CONTENDERS:
                value = medians.get((pattern, contender, size))
                if value is None:
                    cells.append("-")
                    continue
                low, high = spread[(pattern, contender, size)]
                cell = "%.1f" % value
                if high > 1.2 * low:
                    cell += " (%.0f–%.0f)" % (low, high)
                if contender != "malloc" and base:
                    cell += " **%.1fx**" % (base / value)
                cells.append(cell)
            print("| %s | %s |" % (size_label(size), " | ".join(cells)))
    print("\n**OS allocator calls per pair** (median; 0 = the pattern's steady")
    print("state never reaches malloc/free)\n")
    pools = CONTENDERS[:-1]
    print("| pattern | size | " + " | ".join(pools) + " |")
    print("|---" * (len(pools) + 2) + "|")
    for pattern, _ in PATTERNS:
        for size in sizes:
            cells = []
            for contender in pools:
                values = os_calls.get((pattern, contender, size))
                cells.append("%.3g" % statistics.median(values) if values else "-")
            print("| %s | %s | %s |" % (pattern[3:].lower(), size_label(size), " | ".join(cells)))
    print("\n**seed 003** (xchg vs spinlock and vs none: ratio = other / xchg)\n")
    print("| pattern | size | xchg ns | vs spinlock | vs none |")
    print("|---|---|---|---|---|")
    for pattern, _ in PATTERNS:
        for size in sizes:
            x = medians.get((pattern, "xchg", size))
            s = medians.get((pattern, "spinlock", size))
            n = medians.get((pattern, "none", size))
            if x and s and n:
                print(
                    "| %s | %s | %.1f | %.2fx | %.2fx |"
                    % (pattern[3:].lower(), size_label(size), x, s / x, n / x)
                )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
