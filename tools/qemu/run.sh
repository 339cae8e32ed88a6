#!/usr/bin/env bash
# Usage: run.sh PROGRAM [ARGS...]
# Runs PROGRAM under qemu-aarch64 if it is an aarch64 ELF file, else runs it
# directly (shell scripts such as the codegen checks run on the host).
# QEMU_CPU comes from the environment (the arm64 configs set it per flavour).
set -euo pipefail

program="$1"
shift
# e_machine, two little-endian bytes at offset 18 of an ELF header; 0xb7 is
# EM_AARCH64.
magic="$(od -An -tx1 -N4 "$program" | tr -d ' ')"
machine="$(od -An -tx1 -j18 -N2 "$program" | tr -d ' ')"
if [[ "$magic" == "7f454c46" && "$machine" == "b700" ]]; then
  if ! command -v qemu-aarch64 >/dev/null 2>&1; then
    echo "run.sh: qemu-aarch64 not found; install Debian's qemu-user" >&2
    exit 127
  fi
  # Prefer the multiarch arm64 C library (libc6:arm64, which the arm64
  # Abseil packages pull in): with `-L /usr/aarch64-linux-gnu` the cross
  # toolchain's loader pairs with a different libc build and
  # pthread_create() hangs (seen with Debian 12's glibc 2.36 packages).
  if [[ -e /lib/ld-linux-aarch64.so.1 ]]; then
    exec qemu-aarch64 "$program" "$@"
  fi
  exec qemu-aarch64 -L /usr/aarch64-linux-gnu "$program" "$@"
fi
exec "$program" "$@"
