#!/usr/bin/env python3
"""wrk against the example server, per allocator and configuration.

  tools/bazelw run -c opt //examples/http_server:bench -- [--quick]
      [--duration=S] [--json=PATH] [--svg=PATH]

Installs wrk (and the peer allocators) if missing, then for every
configuration starts the server on a free loopback port, warms it up, runs
wrk for a bounded time, reads the server's own counters (/stats, /pools) and
its /proc entries, stops it (SIGTERM; a non-zero exit status fails the run)
and prints one table row:

  requests/s, its ratio to plain malloc (glibc) in the same configuration,
  latency p50/p99 (wrk --latency), peak RSS (VmHWM) and RSS once the load
  has been gone for --idle seconds, poolkit's OS calls per request (objects
  its pools took from or gave back to malloc, per request; "-" for the malloc
  contenders, whose OS calls poolkit cannot see), and the server's CPU time
  split between user and kernel.

Contenders: poolkit with each shared-cache strategy (HTTP_SERVER_STRATEGY),
and the server's malloc mode on glibc, jemalloc, tcmalloc and mimalloc
(LD_PRELOAD). Full matrix: connections 10, 100, 1000; server threads 1,
one per CPU and 4 per CPU; 16 KiB and 2 MiB buffers; plus hand-off,
proxy and debugging-aid rows. --quick: connections 100, one thread per CPU.
wrk runs 2 threads on the same machine as the server: the figures are those
of a loaded box, not of a server alone.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

PEERS = {
    "jemalloc": ["libjemalloc.so.2"],
    "tcmalloc": ["libtcmalloc_minimal.so.4", "libtcmalloc.so.4"],
    "mimalloc": ["libmimalloc.so.2", "libmimalloc.so.2.0"],
}
LIBRARY_DIRS = [
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
]
STRATEGIES = ["xchg", "spinlock", "dwcas", "none"]
KIB = 1024
MIB = 1024 * 1024


def find_library(names):
    for directory in LIBRARY_DIRS:
        for name in names:
            path = os.path.join(directory, name)
            if os.path.exists(path):
                return path
    return None


def install_missing():
    """wrk and the peers, through the repository's package script."""
    missing = shutil.which("wrk") is None or any(
        find_library(names) is None for names in PEERS.values()
    )
    workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    if missing and workspace:
        script = os.path.join(workspace, "tools/setup/packages.sh")
        subprocess.run(["bash", script, "bench", "server"], check=False)
    if shutil.which("wrk") is None:
        sys.exit(
            "bench: wrk is missing and could not be installed "
            "(Debian: apt-get install wrk)"
        )


def contenders():
    """(name, memory flag, extra environment) for each contender."""
    found = [("poolkit/" + s, "poolkit", {"HTTP_SERVER_STRATEGY": s})
             for s in STRATEGIES]
    found.append(("malloc", "malloc", {}))
    for peer, names in PEERS.items():
        path = find_library(names)
        if path is None:
            print("bench: %s not found; left out" % peer, file=sys.stderr)
            continue
        found.append((peer, "malloc", {"LD_PRELOAD": path}))
    return found


class Server:
    def __init__(self, binary, flags, env):
        self.process = subprocess.Popen(
            [binary, "--port=0"] + flags,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(os.environ, **env),
            text=True,
        )
        line = []
        reader = threading.Thread(
            target=lambda: line.append(self.process.stdout.readline()))
        reader.start()
        reader.join(30)
        if not line or "listening on" not in line[0]:
            self.process.kill()
            raise RuntimeError("server did not start: %s" %
                               self.process.stderr.read())
        self.port = int(re.search(r":(\d+) ", line[0]).group(1))
        self.url = "http://127.0.0.1:%d" % self.port

    def get_json(self, path):
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.loads(response.read())

    def proc_status(self, field):
        """A /proc/PID/status figure in MiB (VmHWM, VmRSS)."""
        with open("/proc/%d/status" % self.process.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
        return 0.0

    def cpu_seconds(self):
        """(user, system) CPU seconds of the whole process so far."""
        with open("/proc/%d/stat" % self.process.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / ticks, int(fields[12]) / ticks

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            _, stderr = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return "did not stop within 60 s"
        if self.process.returncode != 0:
            return "exit status %d: %s" % (self.process.returncode,
                                           stderr.strip()[-300:])
        return None


def os_calls(pools):
    return sum(p["os_allocs"] + p["os_releases"] for p in pools["pools"])


LATENCY_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def run_wrk(url, connections, seconds, latency=True):
    command = ["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds, url + "/"]
    if latency:
        command.insert(1, "--latency")
    out = subprocess.run(command, capture_output=True, text=True,
                         timeout=seconds + 60).stdout
    result = {"requests_per_s": 0.0, "p50_ms": None, "p99_ms": None,
              "errors": 0}
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match:
        result["requests_per_s"] = float(match.group(1))
    for percent, key in (("50", "p50_ms"), ("99", "p99_ms")):
        match = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % percent, out,
                          re.M)
        if match:
            result[key] = float(match.group(1)) * LATENCY_UNITS[match.group(2)]
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                      r"timeout (\d+)", out)
    if match:
        result["errors"] += sum(int(x) for x in match.groups())
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if match:
        result["errors"] += int(match.group(1))
    return result


def measure(args, contender, config):
    """One row: the server with `contender` under `config`."""
    name, memory, env = contender
    env = dict(env)
    if config.get("debug"):
        env["POOLKIT_DEBUG"] = config["debug"]
    flags = ["--memory=" + memory, "--threads=%d" % config["threads"],
             "--buffer_size=%d" % config["buffer"]]
    upstream = None
    if config.get("handoff"):
        flags.append("--handoff")
    if config.get("proxy"):
        # The upstream is the server itself, on glibc, for every contender.
        upstream = Server(args.server, ["--memory=malloc", "--threads=1"], {})
        flags.append("--upstream=127.0.0.1:%d" % upstream.port)
    server = Server(args.server, flags, env)
    try:
        run_wrk(server.url, config["connections"], args.warmup, latency=False)
        stats0, pools0 = server.get_json("/stats"), server.get_json("/pools")
        cpu0 = server.cpu_seconds()
        result = run_wrk(server.url, config["connections"], args.duration)
        cpu1 = server.cpu_seconds()
        stats1, pools1 = server.get_json("/stats"), server.get_json("/pools")
        peak = server.proc_status("VmHWM")
        time.sleep(args.idle)
        final = server.proc_status("VmRSS")
    finally:
        failure = server.stop()
        if upstream is not None:
            upstream_failure = upstream.stop()
            failure = failure or upstream_failure
    requests = stats1["requests"] - stats0["requests"] - 2  # /stats, /pools
    user, system = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    row = dict(config)
    row.update(result)
    row.update({
        "contender": name,
        "requests": requests,
        "peak_rss_mib": round(peak, 1),
        "final_rss_mib": round(final, 1),
        "os_calls_per_request": (
            (os_calls(pools1) - os_calls(pools0)) / max(requests, 1)
            if memory == "poolkit" else None),
        "cpu_user_s": round(user, 2),
        "cpu_system_s": round(system, 2),
        "kernel_share": round(system / (user + system), 3)
        if user + system > 0 else None,
        "alloc_failures": stats1["alloc_failures"],
        "failure": failure,
    })
    return row


def median_row(runs):
    """The run with the median requests/s, with the spread of all runs."""
    ordered = sorted(runs, key=lambda r: r["requests_per_s"])
    row = dict(ordered[len(ordered) // 2])
    row["runs"] = len(runs)
    row["requests_per_s_min"] = ordered[0]["requests_per_s"]
    row["requests_per_s_max"] = ordered[-1]["requests_per_s"]
    row["failure"] = next((r["failure"] for r in runs if r["failure"]), None)
    return row


def size_label(size):
    return "%d MiB" % (size // MIB) if size >= MIB else "%d KiB" % (size // KIB)


def config_label(config):
    label = "%s, %d conn, %d thr" % (size_label(config["buffer"]),
                                     config["connections"], config["threads"])
    if config.get("handoff"):
        label += ", hand-off"
    if config.get("proxy"):
        label += ", proxy"
    if config.get("debug"):
        label += ", POOLKIT_DEBUG=" + config["debug"]
    return label


def configurations(args):
    cpus = os.cpu_count() or 1
    if args.quick:
        connections, threads = [100], [cpus]
    else:
        connections, threads = [10, 100, 1000], [1, cpus, 4 * cpus]
    main = []
    for buffer in (16 * KIB, 2 * MIB):
        for c in connections:
            for t in sorted(set(threads)):
                main.append({"buffer": buffer, "connections": c, "threads": t})
    extra = []
    for buffer in (16 * KIB, 2 * MIB):
        extra.append({"buffer": buffer, "connections": 100, "threads": cpus,
                      "handoff": True})
    extra.append({"buffer": 16 * KIB, "connections": 100, "threads": cpus,
                  "proxy": True})
    debug = [{"buffer": 16 * KIB, "connections": 100, "threads": cpus,
              "debug": aid} for aid in ("tag,integrity", "uaf")]
    return main + extra, debug


def rate(row):
    if row.get("runs", 1) == 1:
        return "%.0f" % row["requests_per_s"]
    return "%.0f (%.0f-%.0f)" % (row["requests_per_s"], row["requests_per_s_min"],
                                 row["requests_per_s_max"])


def format_table(rows):
    lines = []
    header = ("| configuration | contender | req/s (min-max) | vs malloc | p50 ms | p99 ms "
              "| peak RSS MiB | RSS after MiB | OS calls/req | kernel CPU |")
    lines.append(header)
    lines.append("|" + "---|" * 10)
    baseline = {}
    for row in rows:
        if row["contender"] == "malloc":
            baseline[config_label(row)] = row["requests_per_s"]
    for row in rows:
        label = config_label(row)
        base = baseline.get(label) or baseline.get(
            config_label(dict(row, debug=None)))
        ratio = ("%.2fx" % (row["requests_per_s"] / base)
                 if base else "-")
        calls = row["os_calls_per_request"]
        note = ""
        if row["failure"]:
            note = " FAILED: " + row["failure"]
        elif row["errors"]:
            note = " (%d wrk errors)" % row["errors"]
        lines.append(
            "| %s | %s | %s | %s | %s | %s | %.1f | %.1f | %s | %s |%s" % (
                label, row["contender"], rate(row), ratio,
                "%.3f" % row["p50_ms"] if row["p50_ms"] is not None else "-",
                "%.3f" % row["p99_ms"] if row["p99_ms"] is not None else "-",
                row["peak_rss_mib"], row["final_rss_mib"],
                "%.5f" % calls if calls is not None else "-",
                "%.0f%%" % (100 * row["kernel_share"])
                if row["kernel_share"] is not None else "-", note))
    return "\n".join(lines)


def format_svg(rows):
    """Requests/s relative to malloc: one group of bars per configuration."""
    groups = []
    for row in rows:
        label = config_label(row)
        if not groups or groups[-1][0] != label:
            groups.append((label, []))
        groups[-1][1].append(row)
    names = []
    for row in rows:
        if row["contender"] not in names:
            names.append(row["contender"])
    colours = ["#1f77b4", "#2ca02c", "#17becf", "#9467bd", "#7f7f7f",
               "#d62728", "#ff7f0e", "#8c564b"]
    bar, gap, left, width = 9, 14, 300, 420
    height = 60 + sum(len(g[1]) * bar + gap for g in groups) + 30
    most = max([r.get("requests_per_s_max", r["requests_per_s"])
                for r in rows] + [1.0])
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="10">' % (left + width + 160,
                                                        height),
           '<text x="10" y="18" font-size="13">example server under wrk: '
           'requests/s per contender and configuration (median; line: '
           'slowest to fastest run)</text>']
    for i, name in enumerate(names):
        out.append('<rect x="%d" y="28" width="10" height="10" fill="%s"/>'
                   '<text x="%d" y="37">%s</text>' % (
                       10 + i * 95, colours[i % len(colours)], 24 + i * 95,
                       name))
    y = 55
    for label, group in groups:
        out.append('<text x="10" y="%d">%s</text>' % (
            y + len(group) * bar / 2 + 3, label))
        for row in group:
            colour = colours[names.index(row["contender"]) % len(colours)]
            length = width * row["requests_per_s"] / most
            out.append('<rect x="%d" y="%d" width="%.1f" height="%d" '
                       'fill="%s"/>' % (left, y, length, bar - 1, colour))
            end = length
            if row.get("runs", 1) > 1:
                # The spread of the repeats: a line from slowest to fastest.
                low = width * row["requests_per_s_min"] / most
                end = width * row["requests_per_s_max"] / most
                out.append('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" '
                           'stroke="black"/>' % (left + low, left + end,
                                                 y + bar / 2 - 0.5,
                                                 y + bar / 2 - 0.5))
            out.append('<text x="%.1f" y="%d">%.0f</text>' % (
                left + end + 3, y + bar - 2, row["requests_per_s"]))
            y += bar
        y += gap
    out.append("</svg>")
    return "\n".join(out) + "\n"


def absolute(path):
    base = os.environ.get("BUILD_WORKING_DIRECTORY", os.getcwd())
    return os.path.join(base, path)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--duration", type=int, default=None,
                        help="seconds of wrk per run (default 2, quick 1)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per row, median kept (default 3, quick 1)")
    parser.add_argument("--contenders", default="",
                        help="comma-separated names to run (default all)")
    parser.add_argument("--idle", type=float, default=2.0,
                        help="seconds after the load before the last RSS "
                        "reading (poolkit returns spares within two release "
                        "intervals of 1 s)")
    parser.add_argument("--json", default="http_server_bench.json")
    parser.add_argument("--svg", default="http_server_bench.svg")
    args = parser.parse_args()
    if args.duration is None:
        args.duration = 1 if args.quick else 2
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    args.server = os.path.abspath(args.server)
    install_missing()

    main_configs, debug_configs = configurations(args)
    all_contenders = contenders()
    plan = [(c, k) for k in main_configs for c in all_contenders]
    plan += [(all_contenders[0], k) for k in debug_configs]
    if args.contenders:
        wanted = args.contenders.split(",")
        plan = [(c, k) for c, k in plan if c[0] in wanted]
    started = time.time()
    # Repeats go round the whole plan, so that a slow spell of the machine
    # spreads over every contender instead of hitting one.
    samples = [[] for _ in plan]
    for repeat in range(args.repeat):
        for i, (contender, config) in enumerate(plan):
            print("bench: [%d/%d] %s: %s" % (
                repeat * len(plan) + i + 1, args.repeat * len(plan),
                config_label(config), contender[0]),
                  file=sys.stderr, flush=True)
            samples[i].append(measure(args, contender, config))
    rows = [median_row(runs) for runs in samples]
    table = format_table(rows)
    machine = "%d CPUs (%s), %s, %s" % (
        os.cpu_count() or 0, cpu_model(), platform.platform(),
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    print("Machine: " + machine)
    print("wrk: 2 threads, %d s per run after %d s of warm-up, median of %d "
          "runs; server on the same machine\n" % (args.duration, args.warmup,
                                                  args.repeat))
    print(table)
    failures = [r for r in rows if r["failure"]]
    report = {"machine": machine, "duration_s": args.duration,
              "repeat": args.repeat,
              "quick": args.quick, "wall_s": round(time.time() - started),
              "rows": rows}
    with open(absolute(args.json), "w") as f:
        json.dump(report, f, indent=1)
    with open(absolute(args.svg), "w") as f:
        f.write(format_svg(rows))
    print("\nwrote %s and %s (%d s)" % (absolute(args.json), absolute(args.svg),
                                        time.time() - started))
    if failures:
        print("bench: %d runs failed (see FAILED above)" % len(failures),
              file=sys.stderr)
        return 1
    return 0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


if __name__ == "__main__":
    sys.exit(main())
