#!/usr/bin/env bash
# Writes the consumer workspace that README's "Depending on poolkit" shows
# into DIR: every fenced block preceded by `<!-- consumer: FILE -->` becomes
# DIR/FILE, exactly as written, except that `/path/to/poolkit` becomes the
# path of this checkout. CI then builds and tests DIR, so README's text and
# the tested workspace cannot drift apart.
#
#   examples/consumer/from_readme.sh DIR
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${1:?usage: from_readme.sh DIR}"
mkdir -p "$dir"
# Files of an earlier run (a block README no longer has) must not stay;
# Bazel's convenience links may.
find "$dir" -mindepth 1 -maxdepth 1 ! -name 'bazel-*' -exec rm -rf {} +

awk -v dir="$dir" '
  /^<!-- consumer: [^ ]+ -->$/ { name = $3; want_fence = 1; next }
  want_fence && /^```/ {
    want_fence = 0; out = dir "/" name; printf "" > out; files++; next
  }
  want_fence && !/^$/ {
    print "from_readme: no code block after consumer: " name > "/dev/stderr"
    exit 2
  }
  out != "" && /^```$/ { close(out); out = ""; next }
  out != "" { print > out }
  END {
    if (out != "") {
      print "from_readme: unclosed block " name > "/dev/stderr"; exit 2
    }
    if (files < 4) {
      print "from_readme: found " files + 0 " blocks, want 4" > "/dev/stderr"
      exit 2
    }
  }
' "$root/README.md"

grep -q '"/path/to/poolkit"' "$dir/WORKSPACE" || {
  echo "from_readme: README's WORKSPACE block has no \"/path/to/poolkit\"" >&2
  exit 2
}
sed -i "s|\"/path/to/poolkit\"|\"$root\"|" "$dir/WORKSPACE"
find "$dir" -mindepth 1 -maxdepth 1 ! -name 'bazel-*' -printf 'from_readme: wrote %p\n'
