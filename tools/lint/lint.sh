#!/usr/bin/env bash
# Checks formatting and lint: clang-format (Google style) on C++ files,
# buildifier on BUILD, WORKSPACE and .bzl files. Installs both if missing
# (clang-format from Debian, buildifier pinned in tools/lint/package.json).
#   tools/lint/lint.sh         check (CI)
#   tools/lint/lint.sh --fix   rewrite files in place
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
# shellcheck source=tools/setup/packages.sh
source tools/setup/packages.sh
poolkit_install_packages lint

buildifier="tools/lint/node_modules/@bazel/buildifier/buildifier-linux_amd64"
if [[ ! -x "$buildifier" ]]; then
  (cd tools/lint && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

# Off: native-sh-* (rules_shell is not among poolkit's dependencies; Bazel
# 4.2 has sh_* built in); unnamed-macro (poolkit_register_toolchains only
# registers toolchains and creates no target to name).
buildifier_warnings="-native-sh-binary,-native-sh-test,-unnamed-macro"

fix=0
[[ "${1:-}" == "--fix" ]] && fix=1

mapfile -t cc_files < <(git ls-files --cached --others --exclude-standard \
  '*.h' '*.cc' | sort)
mapfile -t bazel_files < <(git ls-files --cached --others --exclude-standard \
  'BUILD.bazel' '*/BUILD.bazel' 'WORKSPACE' '*/WORKSPACE' 'MODULE.bazel' \
  '*.bzl' '*.BUILD' | sort)

status=0
if [[ $fix == 1 ]]; then
  clang-format --style=file -i "${cc_files[@]}"
  "$buildifier" -lint=fix --warnings="$buildifier_warnings" \
    "${bazel_files[@]}"
else
  if ! clang-format --style=file --dry-run -Werror "${cc_files[@]}"; then
    echo "lint: clang-format found unformatted C++ (tools/lint/lint.sh --fix)" >&2
    status=1
  fi
  if ! "$buildifier" -mode=check -lint=warn \
    --warnings="$buildifier_warnings" "${bazel_files[@]}"; then
    echo "lint: buildifier found problems (tools/lint/lint.sh --fix)" >&2
    status=1
  fi
fi
if [[ $status == 0 ]]; then
  echo "lint: ${#cc_files[@]} C++ files and ${#bazel_files[@]} Bazel files clean"
fi
exit $status
