#!/usr/bin/env bash
# Stands in for Bazel's downloaded coverage tools (lcov_merger and
# coverage_report_generator): merges every lcov tracefile it is given into
# one. Bazel passes either --coverage_dir=DIR (per test) or
# --reports_file=FILE (a list of tracefiles, for the combined report).
set -euo pipefail

output=""
coverage_dir=""
reports_file=""
for arg in "$@"; do
  case "$arg" in
    --output_file=*) output="${arg#*=}" ;;
    --coverage_dir=*) coverage_dir="${arg#*=}" ;;
    --reports_file=*) reports_file="${arg#*=}" ;;
    *) ;;  # Filters and manifests: every file given is merged.
  esac
done
if [[ -z "$output" ]]; then
  echo "lcov_merge: --output_file is required" >&2
  exit 2
fi

inputs=()
if [[ -n "$coverage_dir" ]]; then
  while IFS= read -r -d '' f; do inputs+=("$f"); done \
    < <(find "$coverage_dir" -name '*.dat' -size +0 -print0)
fi
if [[ -n "$reports_file" ]]; then
  while IFS= read -r f; do
    [[ -s "$f" ]] && inputs+=("$f")
  done <"$reports_file"
fi

: >"$output"
if [[ ${#inputs[@]} -eq 0 ]]; then
  exit 0
fi
if command -v lcov >/dev/null 2>&1; then
  args=()
  for f in "${inputs[@]}"; do args+=(-a "$f"); done
  lcov --quiet "${args[@]}" -o "$output"
else
  # Without lcov, tracefiles still concatenate into a valid (unmerged) file.
  cat "${inputs[@]}" >"$output"
fi
