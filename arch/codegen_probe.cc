// One out-of-line function per (operation, memory order) of the selected
// backend (arch/atomics.h), each with a plain C name (probe_<op>_<order>),
// so that codegen_check.py can disassemble each function by its symbol and
// compare the instructions it holds with arch/codegen_expected/<backend>.
// Built with -O2 (BUILD.bazel): the order is a constant in each function,
// so the backend's branches on it fold to the one variant under test.
//
// Running the probe (on the target, or under qemu) also checks every
// result: exit status 0 when every operation behaved as expected.
//
// The binary also records what the compiler was told about the target, as
// a string codegen_check.py reads: whether LSE atomics were enabled
// (__ARM_FEATURE_ATOMICS, from the toolchain's -march). The check derives
// the backend the build should have from that and the ELF machine, not from
// the build's own choice of backend, so a platform that silently builds the
// wrong backend fails.

#include <cstdint>
#include <cstdio>

#include "arch/atomics.h"

namespace arch = ::poolkit::arch;
using arch::MemoryOrder;
using arch::WordPair;

#if defined(__ARM_FEATURE_ATOMICS)
#define POOLKIT_PROBE_LSE "1"
#else
#define POOLKIT_PROBE_LSE "0"
#endif
extern "C" __attribute__((used)) const char poolkit_codegen_target[] =
    "poolkit-codegen-target: lse=" POOLKIT_PROBE_LSE;

// noinline and used: each stays a separate function under its own symbol.
#define POOLKIT_PROBE_FN extern "C" __attribute__((noinline, used))

#define POOLKIT_PROBE_ORDER(name, order)                                  \
  POOLKIT_PROBE_FN bool probe_cas_pair_##name(                            \
      WordPair* target, WordPair* expected, WordPair desired) {           \
    return arch::CompareExchangePair(target, expected, desired, order);   \
  }                                                                       \
  POOLKIT_PROBE_FN WordPair probe_load_pair_##name(const WordPair* src) { \
    return arch::LoadPair(src, order);                                    \
  }                                                                       \
  POOLKIT_PROBE_FN std::uintptr_t probe_exchange_word_##name(             \
      std::uintptr_t* target, std::uintptr_t value) {                     \
    return arch::ExchangeWord(target, value, order);                      \
  }                                                                       \
  POOLKIT_PROBE_FN bool probe_cas_word_##name(std::uintptr_t* target,     \
                                              std::uintptr_t* expected,   \
                                              std::uintptr_t desired) {   \
    return arch::CompareExchangeWord(target, expected, desired, order);   \
  }                                                                       \
  POOLKIT_PROBE_FN std::uintptr_t probe_load_word_##name(                 \
      const std::uintptr_t* src) {                                        \
    return arch::LoadWord(src, order);                                    \
  }                                                                       \
  POOLKIT_PROBE_FN void probe_store_word_##name(std::uintptr_t* dst,      \
                                                std::uintptr_t value) {   \
    arch::StoreWord(dst, value, order);                                   \
  }                                                                       \
  /* Runs every probe of this order and checks the results. */            \
  int check_##name() {                                                    \
    int failures = 0;                                                     \
    const auto check = [&](bool ok, const char* what) {                   \
      if (!ok) {                                                          \
        std::printf("FAILED: %s (%s)\n", what, #name);                    \
        ++failures;                                                       \
      }                                                                   \
    };                                                                    \
    alignas(16) WordPair pair{1, 2};                                      \
    WordPair expected{1, 2};                                              \
    check(probe_cas_pair_##name(&pair, &expected, WordPair{3, 4}) &&      \
              pair == WordPair{3, 4},                                     \
          "CompareExchangePair success");                                 \
    expected = WordPair{1, 2};                                            \
    check(!probe_cas_pair_##name(&pair, &expected, WordPair{5, 6}) &&     \
              expected == WordPair{3, 4} && pair == WordPair{3, 4},       \
          "CompareExchangePair failure");                                 \
    check(probe_load_pair_##name(&pair) == WordPair{3, 4}, "LoadPair");   \
    std::uintptr_t word = 10;                                             \
    check(probe_exchange_word_##name(&word, 11) == 10 && word == 11,      \
          "ExchangeWord");                                                \
    std::uintptr_t expected_word = 11;                                    \
    check(probe_cas_word_##name(&word, &expected_word, 12) && word == 12, \
          "CompareExchangeWord success");                                 \
    check(!probe_cas_word_##name(&word, &expected_word, 13) &&            \
              expected_word == 12 && word == 12,                          \
          "CompareExchangeWord failure");                                 \
    probe_store_word_##name(&word, 14);                                   \
    check(probe_load_word_##name(&word) == 14, "LoadWord/StoreWord");     \
    return failures;                                                      \
  }

POOLKIT_PROBE_ORDER(relaxed, MemoryOrder::kRelaxed)
POOLKIT_PROBE_ORDER(acquire, MemoryOrder::kAcquire)
POOLKIT_PROBE_ORDER(release, MemoryOrder::kRelease)
POOLKIT_PROBE_ORDER(acq_rel, MemoryOrder::kAcqRel)
POOLKIT_PROBE_ORDER(seq_cst, MemoryOrder::kSeqCst)

POOLKIT_PROBE_FN void probe_cpu_relax() { arch::CpuRelax(); }
POOLKIT_PROBE_FN void probe_full_barrier() { arch::FullBarrier(); }
POOLKIT_PROBE_FN void probe_acquire_barrier() { arch::AcquireBarrier(); }
POOLKIT_PROBE_FN void probe_release_barrier() { arch::ReleaseBarrier(); }

int main() {
  std::printf("backend: %s\n", arch::kBackendName);
  std::printf("dwcas instruction: %s\n", arch::kDwcasInstruction);
  std::printf("dwcas lock-free: compile time %s, run time %s\n",
              arch::kDwcasLockFree ? "yes" : "no",
              arch::DwcasIsLockFree() ? "yes" : "no");
  std::printf("%s\n", poolkit_codegen_target);
  const int failures = check_relaxed() + check_acquire() + check_release() +
                       check_acq_rel() + check_seq_cst();
  probe_cpu_relax();
  probe_full_barrier();
  probe_acquire_barrier();
  probe_release_barrier();
  if (failures != 0) {
    std::printf("%d check(s) failed\n", failures);
    return 1;
  }
  std::printf("all operations behaved as expected\n");
  return 0;
}
