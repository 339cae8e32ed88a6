// Atomics backend on the compiler's `__atomic` builtins: any CPU that gcc or
// clang supports. The reference against which the asm backends are tested,
// and the fallback where none of them applies.
//
// The 16-byte operations use the generic `__atomic_compare_exchange` and
// `__atomic_load` directly on WordPair (they accept any trivially copyable
// type of a supported size), so there is no punning through
// `unsigned __int128`. Whether they are inlined is the compiler's choice:
// - gcc (x86-64, even with -mcx16, and aarch64) calls libatomic
//   (`__atomic_compare_exchange_16`), which uses the instruction where a
//   run-time check finds it (x86-64: cmpxchg16b) and a lock otherwise; a
//   binary using this backend must link with -latomic.
// - clang inlines `lock cmpxchg16b` with -mcx16 and `casp` with
//   -march=armv8.1-a; for ARMv8.0 it calls libgcc's outline helpers
//   (`__aarch64_cas16_*`, see CompareExchangePair for their flaw); otherwise
//   it also calls libatomic.
// kDwcasLockFree and DwcasIsLockFree() report what the compiler and
// libatomic actually promise, not what the CPU could do.
//
// TSan instruments the `__atomic` builtins itself, except where clang turns a
// 16-byte one into a libatomic call (without -mcx16 on x86-64): TSan does not
// see inside libatomic, misses the synchronisation, and reports false data
// races on what the pair publishes. The pair operations therefore carry the
// same annotations as the asm backends; where TSan does see the operation
// (gcc instruments it as __tsan_atomic128_*) they add nothing it does not
// already know.

#ifndef POOLKIT_ARCH_PORTABLE_H_
#define POOLKIT_ARCH_PORTABLE_H_

#include <cstdint>

#include "arch/tsan_annotations.h"
#include "arch/word_pair.h"

namespace poolkit::arch::portable {

inline constexpr const char kName[] = "portable";
inline constexpr const char kDwcasInstruction[] =
    "__atomic_compare_exchange (16 bytes)";

// True only if the compiler promises lock-free 16-byte atomics for every
// target CPU of this build (false with gcc, see above).
inline constexpr bool kDwcasLockFree =
    __atomic_always_lock_free(sizeof(WordPair), 0);

// The run-time answer, from the compiler or, failing that, from libatomic,
// for a suitably aligned WordPair (a null pointer means "typical alignment").
POOLKIT_ARCH_INLINE bool DwcasIsLockFree() {
  return __atomic_is_lock_free(sizeof(WordPair), nullptr);
}

// clang warns (-Watomic-alignment) where it cannot inline a 16-byte atomic
// and calls libatomic instead. That is this backend's documented fallback,
// reported by kDwcasLockFree; the warning would only repeat it.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Watomic-alignment"
#endif

// An atomic 16-byte read. Depending on the compiler and CPU, libatomic or the
// inlined code may implement it with a compare-and-swap, so `src` must be in
// writable memory, as with the asm backends. kRelease and kAcqRel are
// strengthened as LoadOrder() says.
POOLKIT_ARCH_INLINE WordPair LoadPair(const WordPair* src, MemoryOrder order) {
  WordPair result;
  __atomic_load(src, &result, ToBuiltinOrder(LoadOrder(order)));
  internal::TsanAfter(src, LoadOrder(order));
  return result;
}

// Atomically: if *target == *expected, *target = desired and return true;
// otherwise *expected = the value observed in *target and return false. The
// failure order is derived as FailureOrder() says.
POOLKIT_ARCH_INLINE bool CompareExchangePair(WordPair* target,
                                             WordPair* expected,
                                             WordPair desired,
                                             MemoryOrder order) {
  internal::TsanBefore(target, order);
  const bool swapped = __atomic_compare_exchange(
      target, expected, &desired, /*weak=*/false, ToBuiltinOrder(order),
      ToBuiltinOrder(FailureOrder(order)));
  internal::TsanAfter(target, swapped ? order : FailureOrder(order));
#if defined(__aarch64__) && !defined(__ARM_FEATURE_ATOMICS)
  if (!swapped) {
    // For an ARMv8.0 target clang calls libgcc's outline helper
    // __aarch64_cas16_*, whose LL/SC path returns the `ldaxp` result on a
    // compare failure without the store-exclusive that would make that read
    // single-copy atomic, so *expected may be torn (dwcas_torture_test caught
    // it: clang 14 with Debian's libgcc 12, under qemu -cpu cortex-a53). The
    // failure itself is sound: a torn pair that differs from *expected has a
    // half that differs from what memory held when it was read. Only the
    // reported value is repaired, with an atomic load (an ldxp/stxp loop).
    *expected = portable::LoadPair(target, FailureOrder(order));
  }
#endif
  return swapped;
}

#if defined(__clang__)
#pragma clang diagnostic pop
#endif

// Atomically stores `value` and returns the previous value. Every order is
// valid for a read-modify-write.
POOLKIT_ARCH_INLINE std::uintptr_t ExchangeWord(std::uintptr_t* target,
                                                std::uintptr_t value,
                                                MemoryOrder order) {
  return __atomic_exchange_n(internal::AsAliasing(target), value,
                             ToBuiltinOrder(order));
}

// Word compare-and-swap. Same contract as CompareExchangePair.
POOLKIT_ARCH_INLINE bool CompareExchangeWord(std::uintptr_t* target,
                                             std::uintptr_t* expected,
                                             std::uintptr_t desired,
                                             MemoryOrder order) {
  return __atomic_compare_exchange_n(internal::AsAliasing(target),
                                     internal::AsAliasing(expected), desired,
                                     /*weak=*/false, ToBuiltinOrder(order),
                                     ToBuiltinOrder(FailureOrder(order)));
}

// Nonsensical orders are strengthened as LoadOrder() / StoreOrder() say.
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

// Spin-wait hint where the compiler has one: `pause` on x86 (a builtin, no
// asm), `isb` on aarch64 (see aarch64_llsc.h for why not `yield`; there is no
// gcc builtin for it, hence the one asm statement in this file). Elsewhere
// only a compiler barrier, so that a spin loop still re-reads memory.
POOLKIT_ARCH_INLINE void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("isb" ::: "memory");
#else
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

// ThreadSanitizer does not model standalone fences, and gcc 11+ says so with
// -Wtsan (an error under -Werror). The fences below are still emitted and
// still order memory; TSan merely cannot derive happens-before from them, as
// it cannot from the asm backends' barriers either. Code that synchronises
// through a fence rather than through an ordered operation will therefore
// see false reports under TSan; poolkit synchronises through ordered
// operations.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#endif
POOLKIT_ARCH_INLINE void FullBarrier() {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
POOLKIT_ARCH_INLINE void AcquireBarrier() {
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
}
POOLKIT_ARCH_INLINE void ReleaseBarrier() {
  __atomic_thread_fence(__ATOMIC_RELEASE);
}
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#pragma GCC diagnostic pop
#endif

}  // namespace poolkit::arch::portable

#endif  // POOLKIT_ARCH_PORTABLE_H_
