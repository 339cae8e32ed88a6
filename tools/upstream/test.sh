#!/usr/bin/env bash
# Builds and tests poolkit with every dependency from its pinned upstream
# sources (poolkit_dependencies(mode = "upstream")), offline:
#   - abseil, googletest, benchmark and rules_cc from their release archives,
#     found by file name in UPSTREAM/distdir (--distdir; Bazel checks each
#     against the sha256 pinned in third_party/repositories.bzl), rules_cc
#     patched to load in Bazel 4.2.3 (third_party/rules_cc_bazel4.patch);
#   - platforms, bazel_skylib and rules_java from their source trees at the
#     pinned tags in UPSTREAM/trees (--override_repository: their release
#     archives are built assets that cannot be rebuilt byte for byte).
# UPSTREAM is $POOLKIT_UPSTREAM_DIR, by default ../shared/upstream beside
# the checkout (its README gives tags, commits and sha256). With network
# access, `bazel test --config=upstream //...` alone does the same.
#
# Runs in its own output base (under ~/.cache/poolkit-upstream), so that it
# does not throw away the Debian-mode build of the main one.
#
#   tools/upstream/test.sh [FLAGS...] [TARGETS...]   (default targets: //...)
#   tools/upstream/test.sh --config=arm64_lse        (arm64, under qemu)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
upstream="${POOLKIT_UPSTREAM_DIR:-$root/../shared/upstream}"
if [[ ! -d "$upstream/distdir" || ! -d "$upstream/trees" ]]; then
  echo "tools/upstream/test.sh: no upstream sources at $upstream" \
    "(set POOLKIT_UPSTREAM_DIR to a directory with distdir/ and trees/)" >&2
  exit 2
fi
upstream="$(cd "$upstream" && pwd)"

# shellcheck source=tools/setup/packages.sh
source "$root/tools/setup/packages.sh"
sets=(base bench)
[[ " $* " == *" --config=arm64"* ]] && sets+=(arm64)
poolkit_install_packages "${sets[@]}"

tree() {
  local dir="$upstream/trees/$1"
  [[ -f "$dir/WORKSPACE" ]] || {
    echo "tools/upstream/test.sh: missing $dir" >&2
    exit 2
  }
  echo "$dir"
}
flags=(
  --config=upstream
  "--distdir=$upstream/distdir"
  "--override_repository=platforms=$(tree platforms-0.0.6)"
  "--override_repository=bazel_skylib=$(tree skylib-1.0.3)"
  "--override_repository=rules_java=$(tree rules_java-4.0.0)"
)
# No bazel-* links: they would point the main output base's build into this
# one's tree (and this one's //... into the main one's).
test_flags=(--symlink_prefix=/)
[[ "${CI:-}" == "true" ]] && test_flags+=(--config=ci)
if [[ " $* " != *" //"* ]]; then
  # No target pattern given: //..., less the main output base's bazel-*
  # links, which this server does not know to skip.
  set -- "$@" //:all
  for dir in */; do
    [[ "$dir" == bazel-* || ! -f "$dir/BUILD.bazel" ]] || set -- "$@" "//${dir%/}/..."
  done
fi

cd "$root"
# One output base per checkout, as Bazel keys its own.
output_base="$HOME/.cache/poolkit-upstream/$(echo -n "$root" | md5sum | cut -c1-16)"
bazel_upstream() {
  bazel --output_base="$output_base" "$@"
}
# Proof that the sources are upstream's: Debian mode's Abseil targets have no
# sources (they link /usr/lib's shared libraries), upstream's have.
sources="$(bazel_upstream query "${flags[@]}" \
  'labels(srcs, @com_google_absl//absl/status:status)' | wc -l)"
if [[ "$sources" -eq 0 ]]; then
  echo "tools/upstream/test.sh: @com_google_absl is not upstream Abseil" >&2
  exit 1
fi
echo "tools/upstream/test.sh: @com_google_absl//absl/status has $sources" \
  "source files (upstream Abseil)"
bazel_upstream test "${flags[@]}" "${test_flags[@]}" "$@"
