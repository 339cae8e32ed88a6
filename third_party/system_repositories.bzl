"""Repository rules that present Debian's packages under upstream labels.

Nothing here downloads: each rule reads files that Debian's packages installed
(tools/setup/packages.sh lists them) and writes BUILD files that map the
upstream targets poolkit uses onto them.
"""

def _patched_rules_cc_impl(rctx):
    src = rctx.path(rctx.attr.path)
    if not src.exists:
        fail("rules_cc not found at %s: install Debian's bazel-rules-cc" % src)
    result = rctx.execute(["cp", "-R", str(src) + "/.", "."])
    if result.return_code != 0:
        fail("copying rules_cc failed: " + result.stderr)

    # The same patch as the upstream archive gets (mode = "upstream").
    rctx.patch(Label("//third_party:rules_cc_bazel4.patch"), strip = 1)

patched_rules_cc = repository_rule(
    implementation = _patched_rules_cc_impl,
    attrs = {"path": attr.string(mandatory = True)},
    doc = "Debian's rules_cc, patched to load in Bazel 4.2.3.",
)

# Upstream Abseil targets poolkit uses -> the system libraries behind them.
# Headers come from /usr/include (a built-in include directory of both the host
# and the aarch64 cross compiler); the shared libraries carry their own
# dependencies, so each target names only its own libraries.
_ABSEIL_TARGETS = {
    "absl/base": {
        "base": ["absl_base", "absl_raw_logging_internal", "absl_spinlock_wait"],
        "config": [],
        "core_headers": [],
    },
    "absl/container": {
        "flat_hash_map": ["absl_raw_hash_set", "absl_hash"],
        "inlined_vector": [],
    },
    "absl/debugging": {
        "stacktrace": ["absl_stacktrace"],
        "symbolize": ["absl_symbolize"],
    },
    "absl/flags": {
        "flag": [
            "absl_flags_commandlineflag",
            "absl_flags_config",
            "absl_flags_internal",
            "absl_flags_marshalling",
            "absl_flags_reflection",
        ],
        "parse": ["absl_flags_parse", "absl_flags_usage", "absl_flags_usage_internal"],
        "usage": ["absl_flags_usage"],
    },
    "absl/status": {
        "status": ["absl_status"],
        "statusor": ["absl_statusor", "absl_status"],
    },
    "absl/strings": {
        "str_format": ["absl_str_format_internal", "absl_strings"],
        "strings": ["absl_strings", "absl_strings_internal", "absl_throw_delegate"],
    },
    "absl/synchronization": {
        "synchronization": ["absl_synchronization"],
    },
    "absl/time": {
        "time": ["absl_time", "absl_time_zone"],
    },
    "absl/types": {
        "optional": [],
        "span": [],
    },
}

_SYSTEM_LIBRARY_TEMPLATE = """
cc_library(
    name = "{name}",
    linkopts = [{linkopts}],
)
"""

def _write_package(rctx, package, targets):
    content = ["package(default_visibility = [\"//visibility:public\"])\n"]
    for name, libs in sorted(targets.items()):
        content.append(_SYSTEM_LIBRARY_TEMPLATE.format(
            name = name,
            linkopts = ", ".join(["\"-l%s\"" % lib for lib in libs]),
        ))
    rctx.file(package + "/BUILD.bazel", "".join(content))

def _require_header(rctx, header, package):
    if not rctx.path("/usr/include/" + header).exists:
        fail("/usr/include/%s is missing: install Debian's %s (tools/bazelw does)" %
             (header, package))

def _system_abseil_impl(rctx):
    _require_header(rctx, "absl/base/config.h", "libabsl-dev")
    rctx.file("WORKSPACE", "workspace(name = \"com_google_absl\")\n")
    rctx.file("BUILD.bazel", "")
    for package, targets in _ABSEIL_TARGETS.items():
        _write_package(rctx, package, targets)

system_abseil = repository_rule(
    implementation = _system_abseil_impl,
    doc = "Debian's libabsl-dev under upstream Abseil labels.",
)

def _system_benchmark_impl(rctx):
    _require_header(rctx, "benchmark/benchmark.h", "libbenchmark-dev")
    rctx.file("WORKSPACE", "workspace(name = \"com_github_google_benchmark\")\n")

    # benchmark_main must precede benchmark on the link line.
    _write_package(rctx, ".", {
        "benchmark": ["benchmark", "pthread"],
        "benchmark_main": ["benchmark_main", "benchmark", "pthread"],
    })

system_benchmark = repository_rule(
    implementation = _system_benchmark_impl,
    doc = "Debian's libbenchmark-dev under upstream Google Benchmark labels.",
)

def _local_coverage_tools_impl(rctx):
    rctx.file("WORKSPACE", "workspace(name = \"remote_coverage_tools\")\n")
    rctx.template(
        "lcov_merge.sh",
        Label("//third_party:lcov_merge.sh"),
        executable = True,
    )
    rctx.file("BUILD.bazel", """
package(default_visibility = ["//visibility:public"])

sh_binary(
    name = "lcov_merger",
    srcs = ["lcov_merge.sh"],
)

sh_binary(
    name = "coverage_report_generator",
    srcs = ["lcov_merge.sh"],
)
""")

local_coverage_tools = repository_rule(
    implementation = _local_coverage_tools_impl,
    doc = "Stands in for Bazel's downloaded coverage tools: merges lcov files.",
)
