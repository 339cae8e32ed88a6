#!/usr/bin/env bash
# Writes a consumer project that README shows into DIR: every fenced block
# preceded by `<!-- KIND-consumer: FILE -->` becomes DIR/FILE, exactly as
# written, except that `/path/to/poolkit` becomes the path of this checkout.
# CI then builds and tests DIR, so README's text and the tested project
# cannot drift apart.
#
#   examples/consumer/from_readme.sh bazel DIR   # "Depending on poolkit"
#   examples/consumer/from_readme.sh cmake DIR   # "Without Bazel: CMake ..."
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
kind="${1:?usage: from_readme.sh bazel|cmake DIR}"
dir="${2:?usage: from_readme.sh bazel|cmake DIR}"
case "$kind" in
  bazel) want=(WORKSPACE .bazelrc BUILD.bazel) ;;
  cmake) want=(CMakeLists.txt) ;;
  *)
    echo "from_readme: KIND is bazel or cmake, not '$kind'" >&2
    exit 2
    ;;
esac
mkdir -p "$dir"
# Files of an earlier run (a block README no longer has) must not stay;
# Bazel's convenience links and a build directory may.
find "$dir" -mindepth 1 -maxdepth 1 ! -name 'bazel-*' ! -name build \
  -exec rm -rf {} +

awk -v dir="$dir" -v tag="<!-- $kind-consumer: " '
  index($0, tag) == 1 && / -->$/ {
    name = substr($0, length(tag) + 1); sub(/ -->$/, "", name)
    want_fence = 1; next
  }
  want_fence && /^```/ {
    want_fence = 0; out = dir "/" name; printf "" > out; next
  }
  want_fence && !/^$/ {
    print "from_readme: no code block after " tag name > "/dev/stderr"
    exit 2
  }
  out != "" && /^```$/ { close(out); out = ""; next }
  out != "" { print > out }
  END {
    if (out != "") {
      print "from_readme: unclosed block " name > "/dev/stderr"; exit 2
    }
  }
' "$root/README.md"

for file in "${want[@]}"; do
  [[ -f "$dir/$file" ]] || {
    echo "from_readme: README has no $kind-consumer block for $file" >&2
    exit 2
  }
done
if [[ "$kind" == bazel ]]; then
  grep -q '"/path/to/poolkit"' "$dir/WORKSPACE" || {
    echo "from_readme: README's WORKSPACE block has no \"/path/to/poolkit\"" >&2
    exit 2
  }
  sed -i "s|\"/path/to/poolkit\"|\"$root\"|" "$dir/WORKSPACE"
fi
find "$dir" -mindepth 1 -maxdepth 1 -type f -printf 'from_readme: wrote %p\n'
