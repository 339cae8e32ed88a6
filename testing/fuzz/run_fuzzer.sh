#!/usr/bin/env bash
# Runs the libFuzzer build of pool_api_fuzzer for POOLKIT_FUZZ_SECONDS
# (default 60) from the checked-in corpus. New inputs go to a scratch copy;
# a crash input is kept in the test's undeclared outputs (add it to
# testing/fuzz/corpus once fixed). Fails on any finding.
set -euo pipefail
fuzzer="$1"
corpus="$2"
seconds="${POOLKIT_FUZZ_SECONDS:-60}"
work="${TEST_TMPDIR:-$(mktemp -d)}/corpus"
artifacts="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-/tmp}}/"
mkdir -p "$work"
echo "fuzz: $seconds s, seed corpus $(find -L "$corpus" -type f | wc -l) inputs"
"$fuzzer" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
  -print_final_stats=1 -artifact_prefix="$artifacts" \
  -dict="$(dirname "$corpus")/pool_api.dict" "$work" "$corpus"
