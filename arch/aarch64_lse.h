// Atomics backend for aarch64 with the Large System Extensions of ARMv8.1-A
// (`casp`, `cas`, `swp`). Each operation is a single instruction: no retry
// loop, no exclusive monitor, and far better behaviour under contention on
// large machines than LL/SC.
//
// Orders: the plain form is relaxed; the `a` form (casa, caspa, swpa) is a
// load-acquire (later accesses stay after it); the `l` form (casl, caspl,
// swpl) is a store-release (earlier accesses stay before it); the `al` form
// is both, and since ARMv8 acquire/release are RCsc it is also the seq_cst
// mapping. A compare-and-swap that fails does not write, so only its acquire
// half applies, matching FailureOrder().
//
// Needs -march=armv8.1-a or later (which defines __ARM_FEATURE_ATOMICS); on a
// CPU without LSE these instructions raise SIGILL.

#ifndef POOLKIT_ARCH_AARCH64_LSE_H_
#define POOLKIT_ARCH_AARCH64_LSE_H_

#if !defined(__aarch64__)
#error \
    "arch/aarch64_lse.h needs an aarch64 target; include arch/atomics.h instead"
#endif
#if !defined(__ARM_FEATURE_ATOMICS)
#error \
    "arch/aarch64_lse.h needs LSE atomics: build with -march=armv8.1-a or later, or use the aarch64_llsc backend"
#endif

#include <cstdint>

#include "arch/codegen_mutants.h"
#include "arch/tsan_annotations.h"
#include "arch/word_pair.h"

// `casp Xs, Xs+1, Xt, Xt+1, [Xn]` compares the pair at [Xn] with Xs:Xs+1; if
// equal it stores Xt:Xt+1. Either way Xs:Xs+1 receive the value read, which
// for a 16-byte-aligned address is single-copy atomic. Both register pairs
// must start at an even register, which no constraint letter can express;
// the operands are therefore explicit register variables pinned to x0..x3.
// GCC guarantees such a variable's register only at the asm that uses it, so
// they are declared and assigned right before the asm, inside the same block,
// and read right after it: nothing (no call, no branch) runs in between.
// Reads cmp_lo, cmp_hi, new_lo, new_hi; writes old_lo, old_hi.
#define POOLKIT_ARCH_LSE_CASP_(INSN)                            \
  do {                                                          \
    register std::uint64_t x0 __asm__("x0") = cmp_lo;           \
    register std::uint64_t x1 __asm__("x1") = cmp_hi;           \
    register std::uint64_t x2 __asm__("x2") = new_lo;           \
    register std::uint64_t x3 __asm__("x3") = new_hi;           \
    __asm__ __volatile__(                                       \
        INSN " %[c_lo], %[c_hi], %[n_lo], %[n_hi], %[mem]"      \
        : [c_lo] "+r"(x0), [c_hi] "+r"(x1), [mem] "+Q"(*target) \
        : [n_lo] "r"(x2), [n_hi] "r"(x3)                        \
        : "memory");                                            \
    old_lo = x0;                                                \
    old_hi = x1;                                                \
  } while (false)

// `swp Xs, Xt, [Xn]` stores Xs and returns the old value in Xt.
#define POOLKIT_ARCH_LSE_SWP_(INSN)                           \
  __asm__ __volatile__(INSN " %[value], %[old], %[mem]"       \
                       : [old] "=r"(old), [mem] "+Q"(*target) \
                       : [value] "r"(value)                   \
                       : "memory")

// `cas Xs, Xt, [Xn]` compares [Xn] with Xs; if equal it stores Xt. Xs
// receives the value read.
#define POOLKIT_ARCH_LSE_CAS_(INSN)                           \
  __asm__ __volatile__(INSN " %[old], %[desired], %[mem]"     \
                       : [old] "+r"(old), [mem] "+Q"(*target) \
                       : [desired] "r"(desired)               \
                       : "memory")

namespace poolkit::arch::aarch64_lse {

inline constexpr const char kName[] = "aarch64_lse";
inline constexpr const char kDwcasInstruction[] = "casp";
inline constexpr bool kDwcasLockFree = true;

// Always true: `casp` is a single lock-free instruction.
POOLKIT_ARCH_INLINE bool DwcasIsLockFree() { return true; }

// Atomically: if *target == *expected, *target = desired and return true;
// otherwise *expected = the value observed in *target and return false.
// `casp` does not report success in a flag; the swap happened exactly when
// the value it read equals the value we compared against.
POOLKIT_ARCH_INLINE bool CompareExchangePair(WordPair* target,
                                             WordPair* expected,
                                             WordPair desired,
                                             MemoryOrder order) {
  internal::TsanBefore(target, order);
  const std::uint64_t cmp_lo = expected->lo;
  const std::uint64_t cmp_hi = expected->hi;
  const std::uint64_t new_lo = desired.lo;
  const std::uint64_t new_hi = desired.hi;
  std::uint64_t old_lo;
  std::uint64_t old_hi;
  if (order == MemoryOrder::kRelaxed) {
    POOLKIT_ARCH_LSE_CASP_("casp");
  } else if (order == MemoryOrder::kAcquire) {
#if POOLKIT_ARCH_MUTANT(LSE_ACQUIRE_CAS_PAIR_CASP)
    POOLKIT_ARCH_LSE_CASP_("casp");
#else
    POOLKIT_ARCH_LSE_CASP_("caspa");
#endif
  } else if (order == MemoryOrder::kRelease) {
    POOLKIT_ARCH_LSE_CASP_("caspl");
  } else {
    // kAcqRel and kSeqCst (and, defensively, an out-of-range value).
    POOLKIT_ARCH_LSE_CASP_("caspal");
  }
  if (old_lo == cmp_lo && old_hi == cmp_hi) {
    internal::TsanAfter(target, order);
    return true;
  }
  expected->lo = old_lo;
  expected->hi = old_hi;
  internal::TsanAfter(target, FailureOrder(order));
  return false;
}

// An atomic 16-byte read: `casp` comparing with {0, 0} and storing {0, 0}. If
// the pair is {0, 0} it writes the same value back, otherwise it fails;
// either way x0:x1 hold the pair, read single-copy atomically. `casp` may
// need write permission even when it fails, so `src` must be in writable
// memory. kRelease and kAcqRel are strengthened as LoadOrder() says; seq_cst
// needs only the RCsc acquire of `caspa`.
POOLKIT_ARCH_INLINE WordPair LoadPair(const WordPair* src, MemoryOrder order) {
  // `casp` writes back only the value already there.
  WordPair* target = const_cast<WordPair*>(src);
  const std::uint64_t cmp_lo = 0;
  const std::uint64_t cmp_hi = 0;
  const std::uint64_t new_lo = 0;
  const std::uint64_t new_hi = 0;
  std::uint64_t old_lo;
  std::uint64_t old_hi;
  if (LoadOrder(order) == MemoryOrder::kRelaxed) {
    POOLKIT_ARCH_LSE_CASP_("casp");
  } else {
    // Later accesses stay after the read.
    POOLKIT_ARCH_LSE_CASP_("caspa");
  }
  internal::TsanAfter(src, LoadOrder(order));
  return WordPair{old_lo, old_hi};
}

// Atomically stores `value` and returns the previous value.
POOLKIT_ARCH_INLINE std::uintptr_t ExchangeWord(std::uintptr_t* target,
                                                std::uintptr_t value,
                                                MemoryOrder order) {
  internal::TsanBefore(target, order);
  std::uintptr_t old;
  if (order == MemoryOrder::kRelaxed) {
    POOLKIT_ARCH_LSE_SWP_("swp");
  } else if (order == MemoryOrder::kAcquire) {
    POOLKIT_ARCH_LSE_SWP_("swpa");
  } else if (order == MemoryOrder::kRelease) {
#if POOLKIT_ARCH_MUTANT(LSE_RELEASE_EXCHANGE_SWP)
    POOLKIT_ARCH_LSE_SWP_("swp");
#else
    POOLKIT_ARCH_LSE_SWP_("swpl");
#endif
  } else {
    // kAcqRel and kSeqCst (and, defensively, an out-of-range value).
    POOLKIT_ARCH_LSE_SWP_("swpal");
  }
  internal::TsanAfter(target, order);
  return old;
}

// Word compare-and-swap. Same contract as CompareExchangePair.
// *expected may be a T* slot seen as a word (atomics.h's typed layer), hence
// the accesses through AsAliasing.
POOLKIT_ARCH_INLINE bool CompareExchangeWord(std::uintptr_t* target,
                                             std::uintptr_t* expected,
                                             std::uintptr_t desired,
                                             MemoryOrder order) {
  internal::TsanBefore(target, order);
  const std::uintptr_t expected_value = *internal::AsAliasing(expected);
  std::uintptr_t old = expected_value;
  if (order == MemoryOrder::kRelaxed) {
    POOLKIT_ARCH_LSE_CAS_("cas");
  } else if (order == MemoryOrder::kAcquire) {
    POOLKIT_ARCH_LSE_CAS_("casa");
  } else if (order == MemoryOrder::kRelease) {
    POOLKIT_ARCH_LSE_CAS_("casl");
  } else {
    // kAcqRel and kSeqCst (and, defensively, an out-of-range value).
#if POOLKIT_ARCH_MUTANT(LSE_SEQ_CST_CAS_WORD_CASA)
    POOLKIT_ARCH_LSE_CAS_("casa");
#else
    POOLKIT_ARCH_LSE_CAS_("casal");
#endif
  }
  if (old == expected_value) {
    internal::TsanAfter(target, order);
    return true;
  }
  *internal::AsAliasing(expected) = old;
  internal::TsanAfter(target, FailureOrder(order));
  return false;
}

// Aligned 64-bit loads and stores are single-copy atomic; the builtins emit
// `ldr`/`ldar` and `str`/`stlr`. Nonsensical orders are strengthened as
// LoadOrder() / StoreOrder() say.
POOLKIT_ARCH_INLINE std::uintptr_t LoadWord(const std::uintptr_t* src,
                                            MemoryOrder order) {
  return __atomic_load_n(internal::AsAliasing(src),
                         ToBuiltinOrder(LoadOrder(order)));
}

POOLKIT_ARCH_INLINE void StoreWord(std::uintptr_t* dst, std::uintptr_t value,
                                   MemoryOrder order) {
  __atomic_store_n(internal::AsAliasing(dst), value,
                   ToBuiltinOrder(StoreOrder(order)));
}

// Spin-wait hint: `isb`, for the reason given in aarch64_llsc.h (a real
// short delay, where `yield` is a no-op on most cores).
POOLKIT_ARCH_INLINE void CpuRelax() {
  __asm__ __volatile__("isb" ::: "memory");
}

// Earlier loads and stores before later loads and stores.
POOLKIT_ARCH_INLINE void FullBarrier() {
  __asm__ __volatile__("dmb ish" ::: "memory");
}

// Earlier loads before later loads and stores: an acquire fence.
POOLKIT_ARCH_INLINE void AcquireBarrier() {
  __asm__ __volatile__("dmb ishld" ::: "memory");
}

// Earlier loads and stores before later stores; `dmb ishst` would order only
// stores, so a release fence needs the full `dmb ish`.
POOLKIT_ARCH_INLINE void ReleaseBarrier() {
  __asm__ __volatile__("dmb ish" ::: "memory");
}

}  // namespace poolkit::arch::aarch64_lse

#undef POOLKIT_ARCH_LSE_CASP_
#undef POOLKIT_ARCH_LSE_SWP_
#undef POOLKIT_ARCH_LSE_CAS_

#endif  // POOLKIT_ARCH_AARCH64_LSE_H_
