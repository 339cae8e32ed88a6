#!/usr/bin/env bash
# The CMake route, tried as a user would (CI runs this):
#   1. configure, build and ctest poolkit with CMake (Ninja, RelWithDebInfo);
#   2. install into a temporary prefix;
#   3. build README's CMake consumer (its blocks, through
#      examples/consumer/from_readme.sh) against that prefix with
#      find_package(poolkit), and run it;
#   4. build the same program with `pkg-config --cflags --libs poolkit`
#      alone, and run it;
#   5. check that CMakeLists.txt builds every library source and every
#      cc_test of arch/, debug/, pool/ and testing/ that the BUILD files have
#      (bazel query against the manifest CMake writes), and nothing else.
# Works in ${TMPDIR:-/tmp}/poolkit_cmake (emptied first).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tools/setup/packages.sh
source "$root/tools/setup/packages.sh"
poolkit_install_packages base cmake

work="${TMPDIR:-/tmp}/poolkit_cmake"
rm -rf "$work"
mkdir -p "$work"
jobs="$(nproc)"

step() { echo "=== cmake: $*"; }

step "configure and build"
cmake -S "$root" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$work/build" -j "$jobs"

step "ctest"
ctest --test-dir "$work/build" --output-on-failure -j "$jobs"

step "install into $work/prefix"
cmake --install "$work/build" --prefix "$work/prefix"
for file in include/poolkit/pool/pool.h include/poolkit/arch/atomics.h; do
  [[ -f "$work/prefix/$file" ]] || {
    echo "cmake: $file was not installed" >&2
    exit 1
  }
done
if find "$work/prefix" -name pool_test_peer.h | grep -q .; then
  echo "cmake: the test hooks (pool_test_peer.h) were installed" >&2
  exit 1
fi

step "README's consumer, with find_package(poolkit)"
"$root/examples/consumer/from_readme.sh" cmake "$work/consumer"
cmake -S "$work/consumer" -B "$work/consumer/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix"
cmake --build "$work/consumer/build"
"$work/consumer/build/session_demo" | grep -q 'session' || {
  echo "cmake: the consumer's dump does not name its pool" >&2
  exit 1
}

step "the same program with pkg-config"
pc_dir="$(dirname "$(find "$work/prefix" -name poolkit.pc)")"
# shellcheck disable=SC2046  # pkg-config's output is a list of flags
PKG_CONFIG_PATH="$pc_dir" g++ -std=c++17 -Wall -Wextra -Werror \
  "$work/consumer/session_demo.cc" -o "$work/session_demo_pc" \
  $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs poolkit)
"$work/session_demo_pc" | grep -q 'session'

step "CMakeLists.txt against the BUILD files"
cd "$root"
bazel_query() {
  # --noshow_progress: only the labels on stdout.
  bazel query --noshow_progress "$@" 2>/dev/null
}
{
  bazel_query \
    'labels(srcs, kind(cc_library, //arch/... + //debug/... + //pool/...))' |
    sed -n 's|^//\([^:]*\):\(.*\.cc\)$|library-source \1/\2|p'
  bazel_query 'kind(cc_test, //arch/... + //debug/... + //pool/... + //testing:*)' |
    sed -n 's|^//[^:]*:\(.*\)$|test \1|p'
} | sort >"$work/bazel_manifest.txt"
sort "$work/build/poolkit_manifest.txt" >"$work/cmake_manifest.txt"
if ! diff -u --label BUILD.bazel "$work/bazel_manifest.txt" \
  --label CMakeLists.txt "$work/cmake_manifest.txt"; then
  echo "cmake: CMakeLists.txt and the BUILD files differ (above)" >&2
  exit 1
fi
echo "cmake: $(grep -c library-source "$work/cmake_manifest.txt") library" \
  "sources and $(grep -c '^test' "$work/cmake_manifest.txt") tests in both"
