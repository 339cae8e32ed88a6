#!/usr/bin/env bash
# Installs the Debian packages poolkit needs, once. Sourced by tools/bazelw and
# .ci/run; run directly as
# `tools/setup/packages.sh [base|arm64|bench|server|fuzz|cmake|lint]...`.
#
# A second call finds everything installed (one dpkg-query) and returns at
# once. Without root or apt-get it stops and names the packages to install.

POOLKIT_PACKAGES_BASE=(
  bazel-bootstrap bazel-rules-cc bazel-rules-java bazel-platforms bazel-skylib
  g++ binutils googletest libabsl-dev libbenchmark-dev
  spin python3 relacy-dev
)
POOLKIT_PACKAGES_ARM64=(
  g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user
  libabsl-dev:arm64 libbenchmark-dev:arm64 libatomic1:arm64
)
POOLKIT_PACKAGES_BENCH=(
  libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev valgrind
)
# The example server's bench (//examples/http_server:bench): the wrk load
# generator (the peers come from the bench set).
POOLKIT_PACKAGES_SERVER=(wrk)
# --config=fuzz: clang 14 with libFuzzer and the sanitizer runtimes.
POOLKIT_PACKAGES_FUZZ=(clang-14 llvm-14 libclang-rt-14-dev)
# The CMake build (tools/cmake/test.sh): CMake, Ninja, pkg-config, and
# GoogleTest/GoogleMock built for CMake (the base set's googletest is the
# source tree Bazel builds).
POOLKIT_PACKAGES_CMAKE=(cmake ninja-build pkg-config libgtest-dev libgmock-dev)
POOLKIT_PACKAGES_LINT=(clang-format)
# npm comes from Debian only where no Node.js is installed already (the
# NodeSource build some machines carry conflicts with Debian's npm).
if ! command -v npm >/dev/null 2>&1; then POOLKIT_PACKAGES_LINT+=(npm); fi

poolkit_missing_packages() {
  local pkg native arch
  native="$(dpkg --print-architecture)"
  for pkg in "$@"; do
    # A package named without an architecture must be installed for the
    # native one (or be arch-independent): with multiarch, the plain name
    # also matches (and lists) a foreign architecture's copy.
    arch="${pkg#*:}"
    [[ "$arch" == "$pkg" ]] && arch="$native"
    dpkg-query -W -f='${db:Status-Status} ${Architecture}\n' "${pkg%%:*}" \
      2>/dev/null | grep -Eq "^installed ($arch|all)\$" || echo "$pkg"
  done
}

# poolkit_install_packages SET... (SET: base, arm64, bench, server, fuzz,
# cmake, lint)
poolkit_install_packages() {
  local wanted=() set
  for set in "$@"; do
    case "$set" in
      base) wanted+=("${POOLKIT_PACKAGES_BASE[@]}") ;;
      arm64) wanted+=("${POOLKIT_PACKAGES_ARM64[@]}") ;;
      bench) wanted+=("${POOLKIT_PACKAGES_BENCH[@]}") ;;
      server) wanted+=("${POOLKIT_PACKAGES_SERVER[@]}") ;;
      fuzz) wanted+=("${POOLKIT_PACKAGES_FUZZ[@]}") ;;
      cmake) wanted+=("${POOLKIT_PACKAGES_CMAKE[@]}") ;;
      lint) wanted+=("${POOLKIT_PACKAGES_LINT[@]}") ;;
      *) echo "packages.sh: unknown package set '$set'" >&2; return 2 ;;
    esac
  done
  local missing
  missing="$(poolkit_missing_packages "${wanted[@]}")"
  [[ -z "$missing" ]] && return 0

  # shellcheck disable=SC2086
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "poolkit: these packages are missing and cannot be installed from" \
      "here (need root and apt-get):" >&2
    echo "  $(echo $missing)" >&2
    echo "Install them (Debian 12: apt-get install ...), then run again." >&2
    return 1
  fi
  echo "poolkit: installing $(echo $missing)" >&2
  if grep -q ':arm64' <<<"$missing" &&
    ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >&2
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  poolkit_install_packages "${@:-base}"
fi
