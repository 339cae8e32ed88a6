// Atomics backend on the compiler's `__atomic` builtins: any CPU that gcc or
// clang supports. The reference against which the asm backends are tested,
// and the fallback where none of them applies.
//
// The 16-byte operations use the generic `__atomic_compare_exchange` and
// `__atomic_load` directly on WordPair (they accept any trivially copyable
// type of a supported size), so there is no punning through
// `unsigned __int128`. Whether they are inlined is the compiler's choice:
// - gcc (x86-64, even with -mcx16, and aarch64) calls libatomic
//   (`__atomic_compare_exchange_16`), which takes a lock or uses the
//   instruction after a run-time CPU check; a binary using this backend must
//   link with -latomic.
// - clang inlines `lock cmpxchg16b` with -mcx16 and `casp`/LL-SC on aarch64,
//   and otherwise also calls libatomic.
// kDwcasLockFree and DwcasIsLockFree() report what the compiler and
// libatomic actually promise, not what the CPU could do.
//
// TSan understands the `__atomic` builtins itself, so no annotations are
// needed here.

#ifndef POOLKIT_ARCH_PORTABLE_H_
#define POOLKIT_ARCH_PORTABLE_H_

#include <cstdint>

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
inline bool DwcasIsLockFree() {
  return __atomic_is_lock_free(sizeof(WordPair), nullptr);
}

// Atomically: if *target == *expected, *target = desired and return true;
// otherwise *expected = the value observed in *target and return false. The
// failure order is derived as FailureOrder() says.
inline bool CompareExchangePair(WordPair* target, WordPair* expected,
                                WordPair desired, MemoryOrder order) {
  return __atomic_compare_exchange(target, expected, &desired, /*weak=*/false,
                                   ToBuiltinOrder(order),
                                   ToBuiltinOrder(FailureOrder(order)));
}

// An atomic 16-byte read. Depending on the compiler and CPU, libatomic or the
// inlined code may implement it with a compare-and-swap, so `src` must be in
// writable memory, as with the asm backends. kRelease and kAcqRel are
// strengthened as LoadOrder() says.
inline WordPair LoadPair(const WordPair* src, MemoryOrder order) {
  WordPair result;
  __atomic_load(src, &result, ToBuiltinOrder(LoadOrder(order)));
  return result;
}

// Atomically stores `value` and returns the previous value. Every order is
// valid for a read-modify-write.
inline std::uintptr_t ExchangeWord(std::uintptr_t* target,
                                   std::uintptr_t value, MemoryOrder order) {
  return __atomic_exchange_n(internal::AsAliasing(target), value,
                             ToBuiltinOrder(order));
}

// Word compare-and-swap. Same contract as CompareExchangePair.
inline bool CompareExchangeWord(std::uintptr_t* target,
                                std::uintptr_t* expected,
                                std::uintptr_t desired, MemoryOrder order) {
  return __atomic_compare_exchange_n(
      internal::AsAliasing(target), internal::AsAliasing(expected), desired,
      /*weak=*/false, ToBuiltinOrder(order),
      ToBuiltinOrder(FailureOrder(order)));
}

// Nonsensical orders are strengthened as LoadOrder() / StoreOrder() say.
inline std::uintptr_t LoadWord(const std::uintptr_t* src, MemoryOrder order) {
  return __atomic_load_n(internal::AsAliasing(src),
                         ToBuiltinOrder(LoadOrder(order)));
}

inline void StoreWord(std::uintptr_t* dst, std::uintptr_t value,
                      MemoryOrder order) {
  __atomic_store_n(internal::AsAliasing(dst), value,
                   ToBuiltinOrder(StoreOrder(order)));
}

// Spin-wait hint where the compiler has one: `pause` on x86 (a builtin, no
// asm), `isb` on aarch64 (see aarch64_llsc.h for why not `yield`; there is no
// gcc builtin for it, hence the one asm statement in this file). Elsewhere
// only a compiler barrier, so that a spin loop still re-reads memory.
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("isb" ::: "memory");
#else
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

inline void FullBarrier() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void AcquireBarrier() { __atomic_thread_fence(__ATOMIC_ACQUIRE); }
inline void ReleaseBarrier() { __atomic_thread_fence(__ATOMIC_RELEASE); }

}  // namespace poolkit::arch::portable

#endif  // POOLKIT_ARCH_PORTABLE_H_
