"""poolkit's dependencies, in one place.

A consumer's WORKSPACE calls `poolkit_dependencies()` (and, to cross-compile
for arm64, `poolkit_register_toolchains()`). Every repository is declared only
if the consumer has not declared it already, so a consumer's own versions win.

Two modes:
  * "system" (default): Debian's packages (see tools/setup/packages.sh). No
    network. This is the mode built and tested on poolkit's machines.
  * "upstream": pinned upstream release archives checked by sha256. Offline,
    CI builds and tests this mode from copies of those archives (--distdir)
    and of the rule sets' source trees (--override_repository); see
    tools/upstream/test.sh.

Every BUILD file in poolkit uses the upstream labels
(`@com_google_absl//absl/status`, `@com_google_googletest//:gtest_main`,
`@com_github_google_benchmark//:benchmark`), so both modes serve the same
BUILD files.
"""

load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")
load(
    "//third_party:system_repositories.bzl",
    "local_coverage_tools",
    "patched_rules_cc",
    "system_abseil",
    "system_benchmark",
)

_DEBIAN_BAZEL = "/usr/share/bazel"

# Pinned upstream releases for mode = "upstream". The versions match Debian
# 12's packages so that both modes build the same code.
#
# Each URL, sha256 and strip_prefix was checked against a public source that
# gives that exact URL together with its hash (noted above each entry); "BCR"
# is github.com/bazelbuild/bazel-central-registry, whose source.json holds the
# hash as `"integrity": "sha256-<base64>"`. Not downloaded from poolkit's
# (offline) machines. A sha256 belongs to one exact URL: change the URL form
# (for example `archive/refs/tags/` vs `archive/`) only with a new hash.
_UPSTREAM = {
    # BCR modules/rules_cc/0.0.4/source.json. Patched to load in Bazel 4.2.3
    # (third_party/rules_cc_bazel4.patch), as Debian's copy is.
    "rules_cc": struct(
        urls = ["https://github.com/bazelbuild/rules_cc/releases/download/0.0.4/rules_cc-0.0.4.tar.gz"],
        sha256 = "af6cc82d87db94585bceeda2561cb8a9d55ad435318ccb4ddfee18a43580fb5d",
        strip_prefix = "rules_cc-0.0.4",
        patches = [Label("//third_party:rules_cc_bazel4.patch")],
    ),
    # BCR modules/rules_java/4.0.0/source.json (archive has no top directory).
    "rules_java": struct(
        urls = ["https://github.com/bazelbuild/rules_java/releases/download/4.0.0/rules_java-4.0.0.tar.gz"],
        sha256 = "34b41ec683e67253043ab1a3d1e8b7c61e4e8edefbcad485381328c934d072fe",
        strip_prefix = "",
    ),
    # BCR modules/platforms/0.0.6/source.json (archive has no top directory).
    "platforms": struct(
        urls = ["https://github.com/bazelbuild/platforms/releases/download/0.0.6/platforms-0.0.6.tar.gz"],
        sha256 = "5308fc1d8865406a49427ba24a9ab53087f17f5266a7aabbfc28823f3916e1ca",
        strip_prefix = "",
    ),
    # BCR modules/bazel_skylib/1.0.3/source.json (archive has no top directory).
    "bazel_skylib": struct(
        urls = ["https://github.com/bazelbuild/bazel-skylib/releases/download/1.0.3/bazel-skylib-1.0.3.tar.gz"],
        sha256 = "1c531376ac7e5a180e0237938a2536de0c54d93f5c278634818e0efc952dd56c",
        strip_prefix = "",
    ),
    # BCR modules/abseil-cpp/20220623.1/source.json.
    "com_google_absl": struct(
        urls = ["https://github.com/abseil/abseil-cpp/archive/refs/tags/20220623.1.tar.gz"],
        sha256 = "91ac87d30cc6d79f9ab974c51874a704de9c2647c40f6932597329a282217ba8",
        strip_prefix = "abseil-cpp-20220623.1",
    ),
    # BCR modules/googletest/1.12.1/source.json.
    "com_google_googletest": struct(
        urls = ["https://github.com/google/googletest/archive/refs/tags/release-1.12.1.tar.gz"],
        sha256 = "81964fe578e9bd7c94dfdb09c8e4d6e6759e19967e397dbea48d1c10e45d0df2",
        strip_prefix = "googletest-release-1.12.1",
    ),
    # conan-io/conan-center-index recipes/benchmark/all/conandata.yml (BCR has
    # no google_benchmark older than 1.8.2).
    "com_github_google_benchmark": struct(
        urls = ["https://github.com/google/benchmark/archive/refs/tags/v1.7.1.tar.gz"],
        sha256 = "6430e4092653380d9dc4ccb45a1e2dc9259d581f4866dc0759713126056bc1d7",
        strip_prefix = "benchmark-1.7.1",
    ),
}

def _maybe(rule, name, **kwargs):
    """Declares a repository unless the consumer already declared it."""
    if not native.existing_rule(name):
        rule(name = name, **kwargs)

def _upstream(name):
    pin = _UPSTREAM[name]
    _maybe(
        http_archive,
        name = name,
        urls = pin.urls,
        sha256 = pin.sha256,
        strip_prefix = pin.strip_prefix,
        patches = getattr(pin, "patches", []),
        patch_args = ["-p1"],
    )

def poolkit_dependencies(mode = "system"):
    """Declares every repository poolkit needs.

    Args:
      mode: "system" (Debian packages, offline) or "upstream" (pinned
        archives: the network, or copies of them in a --distdir).
    """
    if mode == "system":
        _maybe(
            patched_rules_cc,
            name = "rules_cc",
            path = _DEBIAN_BAZEL + "/rules/cc",
        )
        _maybe(
            native.local_repository,
            name = "rules_java",
            path = _DEBIAN_BAZEL + "/rules/java",
        )
        _maybe(
            native.local_repository,
            name = "platforms",
            path = _DEBIAN_BAZEL + "/tools/platforms",
        )
        _maybe(
            native.local_repository,
            name = "bazel_skylib",
            path = _DEBIAN_BAZEL + "/tools/skylib",
        )
        _maybe(
            native.new_local_repository,
            name = "com_google_googletest",
            path = "/usr/src/googletest",
            build_file = "@poolkit//third_party:googletest.BUILD",
        )
        _maybe(system_abseil, name = "com_google_absl")
        _maybe(system_benchmark, name = "com_github_google_benchmark")
    elif mode == "upstream":
        for name in _UPSTREAM:
            _upstream(name)
    else:
        fail("poolkit_dependencies: mode must be \"system\" or \"upstream\", got %r" % mode)

    # Every test rule depends on this repository; Bazel would download it.
    _maybe(local_coverage_tools, name = "remote_coverage_tools")

def _dependency_mode_impl(rctx):
    mode = rctx.os.environ.get("POOLKIT_DEPENDENCIES", "system")
    if mode not in ("system", "upstream"):
        fail("POOLKIT_DEPENDENCIES must be \"system\" or \"upstream\", got %r" % mode)
    rctx.file("BUILD.bazel", "")
    rctx.file("mode.bzl", "POOLKIT_DEPENDENCY_MODE = %r\n" % mode)

# poolkit's own WORKSPACE reads its mode from here, so that
# `--repo_env=POOLKIT_DEPENDENCIES=upstream` (`--config=upstream`) switches
# every dependency to upstream sources without editing a file. Consumers pass
# the mode to poolkit_dependencies() directly.
poolkit_dependency_mode = repository_rule(
    implementation = _dependency_mode_impl,
    environ = ["POOLKIT_DEPENDENCIES"],
    doc = "Writes mode.bzl: POOLKIT_DEPENDENCY_MODE from $POOLKIT_DEPENDENCIES.",
)

def poolkit_register_toolchains():
    """Registers poolkit's toolchains (aarch64 cross gcc, clang for fuzzing).

    Each matches only its own platforms (the arm64 ones, and
    //tools/platforms:linux_x86_64_clang), so host builds are unaffected.
    """
    native.register_toolchains(
        "@poolkit//tools/toolchains:aarch64_llsc_toolchain",
        "@poolkit//tools/toolchains:aarch64_lse_toolchain",
        "@poolkit//tools/toolchains:x86_64_clang_toolchain",
    )
