#!/usr/bin/env python3
"""Checks what a poolbench run wrote; used by poolbench's shell tests.

  check_outputs.py run --json=F --svg=F --table=F --contenders=a,b
      --patterns=hot,... --sizes=64,... --threads=1,2 --batch=64,1000
      --repeats=N
    The JSON parses and is Google Benchmark's format; every contender is
    there with its version, and has a median and one entry per repeat for
    every scenario of the matrix (batch: per batch size, with its batch
    fields; cross: even thread counts only; spike: with its resident-memory
    fields); the OS-call counts of poolkit and simple are there; the SVG is
    well-formed XML with a polyline per contender; the table names every
    contender and has a section per pattern (batch: per batch size). No
    timing is asserted: only that numbers exist and are positive.

  check_outputs.py missing --json=F --missing=jemalloc --present=xchg
    The JSON reports the missing contender as "missing" with the package to
    install, and every present one still produced numbers.

Exits 1 with a message naming the first failed check.
"""

import argparse
import json
import math
import sys
import xml.etree.ElementTree as ET

PEER_VERSION_PREFIX = {
    "jemalloc": "jemalloc ",
    "tcmalloc": "gperftools ",
    "mimalloc": "mimalloc ",
    "glibc": "glibc ",
}
# The contenders whose OS allocator calls are counted.
COUNTS_OS_CALLS = ("spinlock", "dwcas", "xchg", "none", "simple")
PEER_PACKAGE = {
    "jemalloc": "libjemalloc-dev",
    "tcmalloc": "libgoogle-perftools-dev",
    "mimalloc": "libmimalloc-dev",
}


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def positive_number(value):
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as error:
        raise CheckFailed("%s: not readable JSON: %s" % (path, error))


def contenders_by_name(data):
    check("context" in data and "benchmarks" in data,
          "JSON lacks Google Benchmark's context/benchmarks")
    return {c["name"]: c for c in data["context"].get("contenders", [])}


def variants(patterns, batches):
    """(pattern, batch size or None, table section name), in table order."""
    for pattern in patterns:
        if pattern == "batch":
            for batch in batches:
                yield pattern, batch, "batch x%d" % batch
        else:
            yield pattern, None, pattern


def scenario_names(patterns, sizes, threads, batches):
    for pattern, batch, _ in variants(patterns, batches):
        counts = sorted({t - t % 2 if pattern == "cross" else t for t in threads})
        for count in counts:
            if count < 1:
                continue
            for size in sizes:
                yield pattern, batch, size, count


def run_name(pattern, name, batch, size, count):
    batch_part = "" if batch is None else "/batch:%d" % batch
    return "%s/%s/size:%d%s/threads:%d" % (pattern, name, size, batch_part, count)


def check_run(args):
    data = load_json(args.json)
    contenders = contenders_by_name(data)
    names = args.contenders.split(",")
    patterns = args.patterns.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    batches = [int(b) for b in args.batch.split(",")]

    context = data["context"]
    for key in ("date", "host_name", "num_cpus", "library_build_type"):
        check(key in context, "context lacks %s" % key)
    check(context["poolbench"]["complete"] is True,
          "context.poolbench.complete is not true")

    for name in names:
        check(name in contenders, "contender %s not in the context" % name)
        contender = contenders[name]
        check(contender["status"] == "ok",
              "contender %s did not run: %s %s"
              % (name, contender["status"], contender["problem"]))
        check(contender["version"], "contender %s has no version" % name)
        prefix = PEER_VERSION_PREFIX.get(name)
        if prefix:
            check(contender["version"].startswith(prefix),
                  "%s's version %r does not start with %r"
                  % (name, contender["version"], prefix))
        if name in PEER_PACKAGE:
            # The worker proved that malloc came from the preloaded file.
            check(contender["library"] and contender["malloc_from"],
                  "%s lacks library/malloc_from" % name)

    entries = {}
    for bench in data["benchmarks"]:
        for key in ("name", "run_name", "run_type", "threads"):
            check(key in bench, "benchmark entry lacks %s: %r" % (key, bench))
        check(not bench.get("error_occurred"),
              "%s failed: %s" % (bench["name"], bench.get("error_message")))
        entries.setdefault(bench["run_name"], []).append(bench)

    for pattern, batch, size, count in scenario_names(patterns, sizes, threads,
                                                      batches):
        for name in names:
            full_name = run_name(pattern, name, batch, size, count)
            runs = entries.get(full_name)
            check(runs, "no result for %s" % full_name)
            medians = [b for b in runs if b.get("aggregate_name") == "median"]
            check(len(medians) == 1, "%s: %d medians" % (full_name, len(medians)))
            median = medians[0]
            check(median["name"] == full_name + "_median",
                  "%s: median named %s" % (full_name, median["name"]))
            check(median["run_type"] == "aggregate", "%s: not an aggregate" % full_name)
            check(median["time_unit"] == "ns", "%s: time unit" % full_name)
            for key in ("real_time", "cpu_time", "spread_min", "spread_max",
                        "ratio_to_best_poolkit"):
                check(positive_number(median.get(key)),
                      "%s: %s is %r" % (full_name, key, median.get(key)))
            check(median["spread_min"] <= median["real_time"] <= median["spread_max"],
                  "%s: median outside its spread" % full_name)
            iterations = [b for b in runs if b["run_type"] == "iteration"]
            expected = args.spike_cycles if pattern == "spike" else args.repeats
            check(len(iterations) == expected,
                  "%s: %d iteration entries, expected %d"
                  % (full_name, len(iterations), expected))
            for it in iterations:
                check(positive_number(it.get("real_time")),
                      "%s: iteration real_time %r" % (full_name, it.get("real_time")))
                check(positive_number(it.get("iterations")),
                      "%s: iteration count %r" % (full_name, it.get("iterations")))
            if pattern == "spike":
                for key in ("rss_baseline_mib", "rss_peak_mib", "rss_final_mib"):
                    check(positive_number(median.get(key)),
                          "%s: %s is %r" % (full_name, key, median.get(key)))
                check(median["rss_peak_mib"] >= median["rss_baseline_mib"],
                      "%s: peak below baseline" % full_name)
            else:
                if name in COUNTS_OS_CALLS:
                    check("os_calls_per_op" in median,
                          "%s: no os_calls_per_op" % full_name)
                if name == "simple":
                    # Its prefill holds what the threads hold at once: it
                    # never falls back to malloc.
                    check(median["os_calls_per_op"] == 0,
                          "%s: simple's prefill ran out (%r OS calls/op)"
                          % (full_name, median["os_calls_per_op"]))
                if batch is not None:
                    check(median.get("batch_size") == batch,
                          "%s: batch_size %r" % (full_name, median.get("batch_size")))
                    check(positive_number(median.get("objects_per_batch"))
                          and median["objects_per_batch"] <= batch,
                          "%s: objects_per_batch %r"
                          % (full_name, median.get("objects_per_batch")))

    check_svg(args.svg, names,
              [section for _, _, section in variants(patterns, batches)])

    with open(args.table) as f:
        table = f.read()
    for name in names:
        check(name in table, "table does not name %s" % name)
        version = contenders[name]["version"]
        check(version in table, "table lacks %s's version %r" % (name, version))
    for _, _, section in variants(patterns, batches):
        check("\n%s: " % section in table, "table has no %s section" % section)


def check_svg(path, names, sections):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as error:
        raise CheckFailed("%s: not well-formed XML: %s" % (path, error))
    svg = "{http://www.w3.org/2000/svg}"
    check(root.tag == svg + "svg", "SVG root is %s" % root.tag)
    check(root.get("viewBox"), "SVG has no viewBox")
    drawn = {}
    for line in root.iter(svg + "polyline"):
        drawn.setdefault(line.get("data-contender"), 0)
        drawn[line.get("data-contender")] += 1
        check(len(line.get("points", "").split()) >= 1, "empty polyline")
    for name in names:
        check(drawn.get(name), "SVG has no polyline for %s" % name)
    texts = "".join(t.text or "" for t in root.iter(svg + "text"))
    check("object size" in texts and "ns/op" in texts, "SVG lacks axis labels")
    for section in sections:
        check("%s, " % section in texts, "SVG has no %s panel" % section)


def check_missing(args):
    data = load_json(args.json)
    contenders = contenders_by_name(data)
    name = args.missing
    check(name in contenders, "%s not in the context at all" % name)
    contender = contenders[name]
    check(contender["status"] == "missing",
          "%s is %s, not missing" % (name, contender["status"]))
    check(PEER_PACKAGE[name] in contender["problem"],
          "%s's problem does not name %s: %r"
          % (name, PEER_PACKAGE[name], contender["problem"]))
    check(data["context"]["poolbench"]["complete"] is False,
          "a run with a missing contender claims to be complete")
    check(not any(b.get("contender") == name for b in data["benchmarks"]),
          "the missing %s has benchmark entries" % name)
    for present in filter(None, args.present.split(",")):
        check(contenders.get(present, {}).get("status") == "ok",
              "%s did not run" % present)
        check(any(b.get("contender") == present
                  and b.get("aggregate_name") == "median"
                  and positive_number(b.get("real_time"))
                  for b in data["benchmarks"]),
              "%s produced no number" % present)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    run = sub.add_parser("run")
    for flag in ("--json", "--svg", "--table", "--contenders", "--patterns",
                 "--sizes", "--threads", "--batch"):
        run.add_argument(flag, required=True)
    run.add_argument("--repeats", type=int, required=True)
    run.add_argument("--spike-cycles", type=int, required=True)
    missing = sub.add_parser("missing")
    missing.add_argument("--json", required=True)
    missing.add_argument("--missing", required=True)
    missing.add_argument("--present", default="")
    args = parser.parse_args(argv[1:])
    try:
        if args.mode == "run":
            check_run(args)
        else:
            check_missing(args)
    except CheckFailed as failure:
        print("check_outputs: FAILED: %s" % failure, file=sys.stderr)
        return 1
    print("check_outputs: %s: all checks passed" % args.mode)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
