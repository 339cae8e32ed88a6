#!/usr/bin/env python3
"""The bench driver end to end, on a small plan: it runs wrk against the
real server, and what it writes must hold together. Asserts nothing about
speed.

  bench_test.py BENCH_PY SERVER
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree


class BenchTest(unittest.TestCase):
    def test_quick_plan_for_two_contenders(self):
        out = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        json_path = os.path.join(out, "bench.json")
        svg_path = os.path.join(out, "bench.svg")
        result = subprocess.run(
            [sys.executable, BENCH, "--server=" + SERVER, "--quick",
             "--duration=1", "--warmup=1", "--idle=0", "--repeat=2",
             "--contenders=poolkit/xchg,malloc", "--json=" + json_path,
             "--svg=" + svg_path],
            capture_output=True, text=True, timeout=600)
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        with open(json_path) as f:
            report = json.load(f)
        rows = report["rows"]
        # 2 buffers + 2 hand-off + 1 proxy configurations, two contenders
        # each, and the two debugging-aid rows (poolkit only).
        self.assertEqual(len(rows), 5 * 2 + 2)
        for row in rows:
            self.assertIsNone(row["failure"], row)
            self.assertEqual(row["runs"], 2)
            self.assertGreater(row["requests"], 0, row)
            self.assertGreater(row["requests_per_s"], 0, row)
            self.assertLessEqual(row["requests_per_s_min"],
                                 row["requests_per_s"])
            self.assertLessEqual(row["requests_per_s"],
                                 row["requests_per_s_max"])
            self.assertGreater(row["peak_rss_mib"], 0)
            if row["contender"] == "malloc":
                self.assertIsNone(row["os_calls_per_request"])
            else:
                self.assertGreaterEqual(row["os_calls_per_request"], 0)
        self.assertEqual(
            sorted(r.get("debug") for r in rows if r.get("debug")),
            ["tag,integrity", "uaf"])
        # The table has a row per result, with its ratio to malloc.
        table = [l for l in result.stdout.splitlines() if l.startswith("| ")]
        self.assertEqual(len(table), len(rows) + 1)
        self.assertTrue(all("x |" in l for l in table[1:]), table)
        svg = ElementTree.parse(svg_path).getroot()
        self.assertTrue(svg.tag.endswith("svg"))


if __name__ == "__main__":
    BENCH, SERVER = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    unittest.main(argv=sys.argv[:1])
