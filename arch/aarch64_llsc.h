// Atomics backend for aarch64 with load-/store-exclusive loops (LL/SC). Runs
// on every ARMv8-A CPU, including those without the LSE atomics of ARMv8.1.
//
// Each read-modify-write is one asm block: the load-exclusive, the compare,
// and the store-exclusive, with nothing between them that touches memory. A
// compiler spill or any other access between the two could clear the
// exclusive monitor on some implementations, and the loop would then never
// succeed. The "Q" constraint gives the address in a single base register, as
// the exclusive instructions require, and every register that the loop still
// needs after the store-exclusive writes its status is early-clobber ("=&r"),
// so the status register is never also an operand of the store (which the
// architecture leaves CONSTRAINED UNPREDICTABLE).
//
// Orders: the acquire variants (`ldaxp`, `ldaxr`) keep every later access
// after the load; the release variants (`stlxp`, `stlxr`) keep every earlier
// access before the store. ARMv8 acquire/release are RCsc (a store-release
// followed by a load-acquire is not reordered either), so seq_cst
// read-modify-writes are the acquire + release variants with no extra
// barrier, which is the standard C++ mapping for ARMv8.

#ifndef POOLKIT_ARCH_AARCH64_LLSC_H_
#define POOLKIT_ARCH_AARCH64_LLSC_H_

#if !defined(__aarch64__)
#error \
    "arch/aarch64_llsc.h needs an aarch64 target; include arch/atomics.h instead"
#endif

#include <cstdint>

#include "arch/codegen_mutants.h"
#include "arch/tsan_annotations.h"
#include "arch/word_pair.h"

// Pair compare-and-swap as one asm block. LOAD/STORE are the exclusive
// mnemonics for the requested order.
//
// On a compare failure the observed pair is written back with a store-
// exclusive, and the loop retries until that store succeeds. On ARMv8.0 a
// `ldxp` of two 64-bit registers is single-copy atomic only if a following
// `stxp` to the same address succeeds; a failed `stxp` means another CPU
// wrote in between and the two halves may come from different writes. The
// write-back stores the value just read, so memory is unchanged, and its
// success proves the pair returned in *expected is not torn. The write-back
// uses plain `stxp`: a failed compare-exchange is a load and needs only the
// load's acquire (FailureOrder).
//
// cmp/ccmp: Z is set only if both halves are equal (ccmp sets NZCV to #0,
// i.e. "ne", when the first compare already differed).
#define POOLKIT_ARCH_LLSC_CAS_PAIR_(LOAD, STORE) \
  POOLKIT_ARCH_LLSC_CAS_PAIR_WITH_(LOAD, STORE, POOLKIT_ARCH_LLSC_WRITE_BACK_)
#define POOLKIT_ARCH_LLSC_WRITE_BACK_                 \
  "stxp %w[status], %[old_lo], %[old_hi], %[mem]\n\t" \
  "cbnz %w[status], 1b\n"
// MISMATCH: the asm of the compare-failure path (the write-back, except in
// the codegen test's clrex mutant).
#define POOLKIT_ARCH_LLSC_CAS_PAIR_WITH_(LOAD, STORE, MISMATCH)             \
  __asm__ __volatile__("1:\n\t" LOAD                                        \
                       " %[old_lo], %[old_hi], %[mem]\n\t"                  \
                       "cmp %[old_lo], %[exp_lo]\n\t"                       \
                       "ccmp %[old_hi], %[exp_hi], #0, eq\n\t"              \
                       "b.ne 2f\n\t" STORE                                  \
                       " %w[status], %[new_lo], %[new_hi], %[mem]\n\t"      \
                       "cbnz %w[status], 1b\n\t"                            \
                       "b 3f\n"                                             \
                       "2:\n\t" MISMATCH "3:"                               \
                       : [old_lo] "=&r"(old_lo), [old_hi] "=&r"(old_hi),    \
                         [status] "=&r"(status), [mem] "+Q"(*target)        \
                       : [exp_lo] "r"(exp_lo), [exp_hi] "r"(exp_hi),        \
                         [new_lo] "r"(desired.lo), [new_hi] "r"(desired.hi) \
                       : "memory", "cc")

// Atomic pair read: load-exclusive, then store the same value back until the
// store-exclusive succeeds (see above for why the store is needed).
#define POOLKIT_ARCH_LLSC_LOAD_PAIR_(LOAD)                           \
  __asm__ __volatile__("1:\n\t" LOAD                                 \
                       " %[lo], %[hi], %[mem]\n\t"                   \
                       "stxp %w[status], %[lo], %[hi], %[mem]\n\t"   \
                       "cbnz %w[status], 1b"                         \
                       : [lo] "=&r"(lo), [hi] "=&r"(hi),             \
                         [status] "=&r"(status), [mem] "+Q"(*target) \
                       :                                             \
                       : "memory")

#define POOLKIT_ARCH_LLSC_EXCHANGE_WORD_(LOAD, STORE)                 \
  __asm__ __volatile__(                                               \
      "1:\n\t" LOAD " %[old], %[mem]\n\t" STORE                       \
      " %w[status], %[value], %[mem]\n\t"                             \
      "cbnz %w[status], 1b"                                           \
      : [old] "=&r"(old), [status] "=&r"(status), [mem] "+Q"(*target) \
      : [value] "r"(value)                                            \
      : "memory")

// A single 64-bit load-exclusive is single-copy atomic by itself, so on a
// mismatch `clrex` just drops the reservation; no write-back is needed.
#define POOLKIT_ARCH_LLSC_CAS_WORD_(LOAD, STORE)                      \
  __asm__ __volatile__(                                               \
      "1:\n\t" LOAD                                                   \
      " %[old], %[mem]\n\t"                                           \
      "cmp %[old], %[expected]\n\t"                                   \
      "b.ne 2f\n\t" STORE                                             \
      " %w[status], %[desired], %[mem]\n\t"                           \
      "cbnz %w[status], 1b\n\t"                                       \
      "b 3f\n"                                                        \
      "2:\n\t"                                                        \
      "clrex\n"                                                       \
      "3:"                                                            \
      : [old] "=&r"(old), [status] "=&r"(status), [mem] "+Q"(*target) \
      : [expected] "r"(expected_value), [desired] "r"(desired)        \
      : "memory", "cc")

namespace poolkit::arch::aarch64_llsc {

inline constexpr const char kName[] = "aarch64_llsc";
inline constexpr const char kDwcasInstruction[] = "ldaxp/stlxp";
inline constexpr bool kDwcasLockFree = true;

// Always true. (LL/SC loops are lock-free, though not wait-free: a store-
// exclusive can fail spuriously, and the loop retries.)
POOLKIT_ARCH_INLINE bool DwcasIsLockFree() { return true; }

// Atomically: if *target == *expected, *target = desired and return true;
// otherwise *expected = the value observed in *target (single-copy atomic)
// and return false. The branches on `order` fold away when it is a constant.
POOLKIT_ARCH_INLINE bool CompareExchangePair(WordPair* target,
                                             WordPair* expected,
                                             WordPair desired,
                                             MemoryOrder order) {
  internal::TsanBefore(target, order);
  const std::uint64_t exp_lo = expected->lo;
  const std::uint64_t exp_hi = expected->hi;
  std::uint64_t old_lo;
  std::uint64_t old_hi;
  std::uint32_t status;
  if (order == MemoryOrder::kRelaxed) {
    POOLKIT_ARCH_LLSC_CAS_PAIR_("ldxp", "stxp");
  } else if (order == MemoryOrder::kAcquire) {
    // Later accesses stay after the load-exclusive.
    POOLKIT_ARCH_LLSC_CAS_PAIR_("ldaxp", "stxp");
  } else if (order == MemoryOrder::kRelease) {
    // Earlier accesses stay before the store-exclusive.
#if POOLKIT_ARCH_MUTANT(LLSC_RELEASE_CAS_PAIR_CLREX)
    POOLKIT_ARCH_LLSC_CAS_PAIR_WITH_("ldxp", "stxp", "clrex\n");
#else
    POOLKIT_ARCH_LLSC_CAS_PAIR_("ldxp", "stlxp");
#endif
  } else {
    // kAcqRel and kSeqCst (and, defensively, an out-of-range value): both;
    // RCsc acquire/release make this seq_cst as well.
    POOLKIT_ARCH_LLSC_CAS_PAIR_("ldaxp", "stlxp");
  }
  if (old_lo == exp_lo && old_hi == exp_hi) {
    internal::TsanAfter(target, order);
    return true;
  }
  expected->lo = old_lo;
  expected->hi = old_hi;
  internal::TsanAfter(target, FailureOrder(order));
  return false;
}

// An atomic 16-byte read: `ldxp`/`ldaxp` plus a store-exclusive of the same
// value, looping until it succeeds. The store needs write access, so `src`
// must be in writable memory. kRelease and kAcqRel are strengthened as
// LoadOrder() says; seq_cst needs only the RCsc acquire of `ldaxp`.
POOLKIT_ARCH_INLINE WordPair LoadPair(const WordPair* src, MemoryOrder order) {
  // The store-exclusive writes back only the value just read.
  WordPair* target = const_cast<WordPair*>(src);
  std::uint64_t lo;
  std::uint64_t hi;
  std::uint32_t status;
  if (LoadOrder(order) == MemoryOrder::kRelaxed) {
    POOLKIT_ARCH_LLSC_LOAD_PAIR_("ldxp");
  } else {
    // Later accesses stay after the load.
    POOLKIT_ARCH_LLSC_LOAD_PAIR_("ldaxp");
  }
  internal::TsanAfter(src, LoadOrder(order));
  return WordPair{lo, hi};
}

// Atomically stores `value` and returns the previous value.
POOLKIT_ARCH_INLINE std::uintptr_t ExchangeWord(std::uintptr_t* target,
                                                std::uintptr_t value,
                                                MemoryOrder order) {
  internal::TsanBefore(target, order);
  std::uintptr_t old;
  std::uint32_t status;
  if (order == MemoryOrder::kRelaxed) {
    POOLKIT_ARCH_LLSC_EXCHANGE_WORD_("ldxr", "stxr");
  } else if (order == MemoryOrder::kAcquire) {
#if POOLKIT_ARCH_MUTANT(LLSC_ACQUIRE_EXCHANGE_LDXR)
    POOLKIT_ARCH_LLSC_EXCHANGE_WORD_("ldxr", "stxr");
#else
    POOLKIT_ARCH_LLSC_EXCHANGE_WORD_("ldaxr", "stxr");
#endif
  } else if (order == MemoryOrder::kRelease) {
    POOLKIT_ARCH_LLSC_EXCHANGE_WORD_("ldxr", "stlxr");
  } else {
    // kAcqRel and kSeqCst (and, defensively, an out-of-range value).
    POOLKIT_ARCH_LLSC_EXCHANGE_WORD_("ldaxr", "stlxr");
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
  std::uintptr_t old;
  std::uint32_t status;
  if (order == MemoryOrder::kRelaxed) {
    POOLKIT_ARCH_LLSC_CAS_WORD_("ldxr", "stxr");
  } else if (order == MemoryOrder::kAcquire) {
    POOLKIT_ARCH_LLSC_CAS_WORD_("ldaxr", "stxr");
  } else if (order == MemoryOrder::kRelease) {
    POOLKIT_ARCH_LLSC_CAS_WORD_("ldxr", "stlxr");
  } else {
    // kAcqRel and kSeqCst (and, defensively, an out-of-range value).
    POOLKIT_ARCH_LLSC_CAS_WORD_("ldaxr", "stlxr");
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
// `ldr`/`ldar` and `str`/`stlr` (never an outline helper). Nonsensical orders
// are strengthened as LoadOrder() / StoreOrder() say.
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

// Spin-wait hint. `isb` flushes the pipeline and so really waits a little,
// where `yield` is a no-op on most cores; HAProxy measured better fairness
// under contention with `isb` on Neoverse N1. The "memory" clobber makes it
// a compiler barrier too, so a spin loop re-reads memory.
POOLKIT_ARCH_INLINE void CpuRelax() {
  __asm__ __volatile__("isb" ::: "memory");
}

// Earlier loads and stores before later loads and stores.
POOLKIT_ARCH_INLINE void FullBarrier() {
  __asm__ __volatile__("dmb ish" ::: "memory");
}

// Earlier loads before later loads and stores: exactly an acquire fence.
POOLKIT_ARCH_INLINE void AcquireBarrier() {
  __asm__ __volatile__("dmb ishld" ::: "memory");
}

// Earlier loads and stores before later stores. `dmb ishst` orders only
// stores against stores, so a release fence needs the full `dmb ish`.
POOLKIT_ARCH_INLINE void ReleaseBarrier() {
  __asm__ __volatile__("dmb ish" ::: "memory");
}

}  // namespace poolkit::arch::aarch64_llsc

#undef POOLKIT_ARCH_LLSC_CAS_PAIR_
#undef POOLKIT_ARCH_LLSC_CAS_PAIR_WITH_
#undef POOLKIT_ARCH_LLSC_WRITE_BACK_
#undef POOLKIT_ARCH_LLSC_LOAD_PAIR_
#undef POOLKIT_ARCH_LLSC_EXCHANGE_WORD_
#undef POOLKIT_ARCH_LLSC_CAS_WORD_

#endif  // POOLKIT_ARCH_AARCH64_LLSC_H_
