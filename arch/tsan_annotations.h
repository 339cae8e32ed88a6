// Happens-before annotations for ThreadSanitizer.
//
// TSan instruments loads, stores and `__atomic` builtins, but it cannot see
// inside inline asm. An asm compare-and-swap with release semantics followed
// by an asm load with acquire semantics in another thread is a
// synchronisation that TSan would miss, so it would report data races on the
// ordinary accesses that the atomics protect. The asm backends therefore tell
// TSan about each edge: a release on the atomic's address before a releasing
// operation, an acquire on that address after an acquiring one.
//
// Without TSan every function here is an empty inline function.

#ifndef POOLKIT_ARCH_TSAN_ANNOTATIONS_H_
#define POOLKIT_ARCH_TSAN_ANNOTATIONS_H_

#include "arch/word_pair.h"

// gcc defines __SANITIZE_THREAD__; clang answers __has_feature.
#if defined(__SANITIZE_THREAD__)
#define POOLKIT_ARCH_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define POOLKIT_ARCH_TSAN 1
#endif
#endif

#if defined(POOLKIT_ARCH_TSAN)
// Provided by the TSan runtime (compiler-rt / libtsan).
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace poolkit::arch::internal {

#if defined(POOLKIT_ARCH_TSAN)
inline constexpr bool kTsanAnnotations = true;
#else
inline constexpr bool kTsanAnnotations = false;
#endif

// Call before an operation on `addr` that has order `order`: records a
// release on `addr` if the order releases.
inline void TsanBefore([[maybe_unused]] const volatile void* addr,
                       [[maybe_unused]] MemoryOrder order) {
#if defined(POOLKIT_ARCH_TSAN)
  if (IsReleasing(order)) __tsan_release(const_cast<void*>(addr));
#endif
}

// Call after an operation on `addr` that has order `order`: records an
// acquire on `addr` if the order acquires. For a failed compare-exchange pass
// FailureOrder(order).
inline void TsanAfter([[maybe_unused]] const volatile void* addr,
                      [[maybe_unused]] MemoryOrder order) {
#if defined(POOLKIT_ARCH_TSAN)
  if (IsAcquiring(order)) __tsan_acquire(const_cast<void*>(addr));
#endif
}

}  // namespace poolkit::arch::internal

#endif  // POOLKIT_ARCH_TSAN_ANNOTATIONS_H_
