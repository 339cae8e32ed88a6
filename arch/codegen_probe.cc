// Calls every operation of the selected backend (arch/atomics.h) with every
// memory order, each through its own out-of-line wrapper, so that
// `objdump -d` of this binary shows exactly which instructions the backend
// emits. codegen_test.sh reads that disassembly.
//
// It also checks the results, so running it on the target (or under qemu) is
// a quick smoke test: exit status 0 when every result was as expected.

#include <cstdint>
#include <cstdio>

#include "arch/atomics.h"

namespace poolkit::arch {
namespace {

// One wrapper per operation and order. noinline keeps each a separate
// function in the disassembly; the order is a template argument, so it is a
// constant inside and the backend's order switch folds to one instruction
// variant.

template <MemoryOrder kOrder>
__attribute__((noinline)) bool ProbeCompareExchangePair(WordPair* target,
                                                        WordPair* expected,
                                                        WordPair desired) {
  return CompareExchangePair(target, expected, desired, kOrder);
}

template <MemoryOrder kOrder>
__attribute__((noinline)) WordPair ProbeLoadPair(const WordPair* src) {
  return LoadPair(src, kOrder);
}

template <MemoryOrder kOrder>
__attribute__((noinline)) std::uintptr_t ProbeExchangeWord(
    std::uintptr_t* target, std::uintptr_t value) {
  return ExchangeWord(target, value, kOrder);
}

template <MemoryOrder kOrder>
__attribute__((noinline)) bool ProbeCompareExchangeWord(
    std::uintptr_t* target, std::uintptr_t* expected, std::uintptr_t desired) {
  return CompareExchangeWord(target, expected, desired, kOrder);
}

template <MemoryOrder kOrder>
__attribute__((noinline)) std::uintptr_t ProbeLoadWord(
    const std::uintptr_t* src) {
  return LoadWord(src, kOrder);
}

template <MemoryOrder kOrder>
__attribute__((noinline)) void ProbeStoreWord(std::uintptr_t* dst,
                                              std::uintptr_t value) {
  StoreWord(dst, value, kOrder);
}

__attribute__((noinline)) void ProbeCpuRelax() { CpuRelax(); }
__attribute__((noinline)) void ProbeFullBarrier() { FullBarrier(); }
__attribute__((noinline)) void ProbeAcquireBarrier() { AcquireBarrier(); }
__attribute__((noinline)) void ProbeReleaseBarrier() { ReleaseBarrier(); }

int failure_count = 0;

void Check(bool ok, const char* what, const char* order) {
  if (!ok) {
    std::printf("FAILED: %s (%s)\n", what, order);
    ++failure_count;
  }
}

// Runs every wrapper for one order and checks the results.
template <MemoryOrder kOrder>
void ProbeOrder(const char* order_name) {
  alignas(16) WordPair pair{1, 2};
  WordPair expected{1, 2};
  Check(ProbeCompareExchangePair<kOrder>(&pair, &expected, WordPair{3, 4}) &&
            pair == WordPair{3, 4},
        "CompareExchangePair success", order_name);
  expected = WordPair{1, 2};
  Check(!ProbeCompareExchangePair<kOrder>(&pair, &expected, WordPair{5, 6}) &&
            expected == WordPair{3, 4} && pair == WordPair{3, 4},
        "CompareExchangePair failure", order_name);
  Check(ProbeLoadPair<kOrder>(&pair) == WordPair{3, 4}, "LoadPair", order_name);

  std::uintptr_t word = 10;
  Check(ProbeExchangeWord<kOrder>(&word, 11) == 10 && word == 11,
        "ExchangeWord", order_name);
  std::uintptr_t expected_word = 11;
  Check(
      ProbeCompareExchangeWord<kOrder>(&word, &expected_word, 12) && word == 12,
      "CompareExchangeWord success", order_name);
  Check(!ProbeCompareExchangeWord<kOrder>(&word, &expected_word, 13) &&
            expected_word == 12 && word == 12,
        "CompareExchangeWord failure", order_name);
  ProbeStoreWord<kOrder>(&word, 14);
  Check(ProbeLoadWord<kOrder>(&word) == 14, "LoadWord/StoreWord", order_name);
}

}  // namespace
}  // namespace poolkit::arch

int main() {
  namespace arch = ::poolkit::arch;
  std::printf("backend: %s\n", arch::kBackendName);
  std::printf("dwcas instruction: %s\n", arch::kDwcasInstruction);
  std::printf("dwcas lock-free: compile time %s, run time %s\n",
              arch::kDwcasLockFree ? "yes" : "no",
              arch::DwcasIsLockFree() ? "yes" : "no");

  arch::ProbeOrder<arch::MemoryOrder::kRelaxed>("kRelaxed");
  arch::ProbeOrder<arch::MemoryOrder::kAcquire>("kAcquire");
  arch::ProbeOrder<arch::MemoryOrder::kRelease>("kRelease");
  arch::ProbeOrder<arch::MemoryOrder::kAcqRel>("kAcqRel");
  arch::ProbeOrder<arch::MemoryOrder::kSeqCst>("kSeqCst");
  arch::ProbeCpuRelax();
  arch::ProbeFullBarrier();
  arch::ProbeAcquireBarrier();
  arch::ProbeReleaseBarrier();

  if (arch::failure_count != 0) {
    std::printf("%d check(s) failed\n", arch::failure_count);
    return 1;
  }
  std::printf("all operations behaved as expected\n");
  return 0;
}
