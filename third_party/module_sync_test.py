#!/usr/bin/env python3
"""MODULE.bazel and the WORKSPACE pins name the same dependencies.

No Bazel 6+ runs on poolkit's machines, so MODULE.bazel (Bzlmod) is never
built here. This test keeps it in step with what is built: the _UPSTREAM pins
of third_party/repositories.bzl (upstream mode, which CI builds from the
pinned archives). Every pinned repository must appear in MODULE.bazel as the
module it is published as, under the repository name poolkit's BUILD files
use, at the pinned version; the known differences below are the only ones
allowed, and each must still be a difference (a stale entry fails too).

  module_sync_test.py MODULE.bazel third_party/repositories.bzl
"""

import re
import sys

# WORKSPACE repository name -> Bazel Central Registry module name.
MODULE_OF = {
    "rules_cc": "rules_cc",
    "rules_java": "rules_java",
    "platforms": "platforms",
    "bazel_skylib": "bazel_skylib",
    "com_google_absl": "abseil-cpp",
    "com_google_googletest": "googletest",
    "com_github_google_benchmark": "google_benchmark",
}

# Differences that are deliberate, with the reason (also in MODULE.bazel).
# Value: the version MODULE.bazel must have, or None for "not a bazel_dep".
KNOWN_DIFFERENCES = {
    # The BCR has no google_benchmark older than 1.8.2.
    "com_github_google_benchmark": "1.8.2",
    # Under Bzlmod, Bazel supplies its own rules_java; poolkit has no Java.
    "rules_java": None,
}

# The version inside each pinned URL (release archives name their tag).
VERSION_IN_URL = re.compile(
    r"/(?:releases/download|archive/refs/tags)/(?:release-|v)?"
    r"([0-9][0-9.]*[0-9])[/.]"
)


def workspace_pins(text):
    """{repository name: version} from repositories.bzl's _UPSTREAM."""
    body = text[text.index("_UPSTREAM = {") :]
    body = body[: body.index("\n}\n")]
    pins = {}
    for name, urls in re.findall(r'"(\w+)": struct\(\s*urls = \[\s*"([^"]+)"', body):
        match = VERSION_IN_URL.search(urls)
        if not match:
            raise SystemExit("no version in the URL of %s: %s" % (name, urls))
        pins[name] = match.group(1)
    return pins


def module_deps(text):
    """{module name: (version, repo_name or None)} from MODULE.bazel."""
    deps = {}
    for args in re.findall(r"^bazel_dep\(([^)]*)\)", text, re.MULTILINE):
        fields = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', args))
        deps[fields["name"]] = (fields["version"], fields.get("repo_name"))
    return deps


def check(module_text, repositories_text):
    problems = []
    pins = workspace_pins(repositories_text)
    deps = module_deps(module_text)
    if set(pins) != set(MODULE_OF):
        problems.append(
            "repositories.bzl pins %s; this test maps %s"
            % (sorted(pins), sorted(MODULE_OF))
        )
    for repo, version in sorted(pins.items()):
        module = MODULE_OF.get(repo)
        if module is None:
            continue
        want = KNOWN_DIFFERENCES.get(repo, version)
        have = deps.get(module)
        if want is None:
            if have is not None:
                problems.append(
                    "%s: listed as left out of MODULE.bazel, but it is there" % module
                )
            continue
        if have is None:
            problems.append("%s (%s %s) is missing from MODULE.bazel" % (module, repo, version))
            continue
        have_version, repo_name = have
        if have_version != want:
            problems.append(
                "%s: MODULE.bazel has %s, want %s (WORKSPACE pins %s)"
                % (module, have_version, want, version)
            )
        if repo in KNOWN_DIFFERENCES and want == version:
            problems.append("%s: KNOWN_DIFFERENCES is stale (both say %s)" % (repo, version))
        if module != repo and repo_name != repo:
            problems.append(
                "%s: repo_name must be %r (the label poolkit's BUILD files use), is %r"
                % (module, repo, repo_name)
            )
    for module in sorted(set(deps) - set(MODULE_OF.values())):
        problems.append("MODULE.bazel depends on %s, which the WORKSPACE does not pin" % module)
    return pins, problems


def main(argv):
    if len(argv) != 3:
        raise SystemExit(__doc__)
    with open(argv[1]) as f:
        module_text = f.read()
    with open(argv[2]) as f:
        repositories_text = f.read()
    pins, problems = check(module_text, repositories_text)
    for repo, version in sorted(pins.items()):
        print("%-28s %-12s -> %s" % (repo, version, MODULE_OF.get(repo)))
    for problem in problems:
        print("FAIL: " + problem)
    print("%d dependencies, %d problems" % (len(pins), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
