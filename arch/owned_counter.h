// A counter that one thread (its owner) updates and other threads only read,
// such as a thread cache's object count read by statistics.
//
// The owner needs no atomic read-modify-write: nobody else writes. It needs
// each store to be single-copy atomic, so that a reader sees the old or the
// new value, never a torn one. Relaxed atomic load + store gives exactly
// that, but compilers emit it as load, add, store (three instructions); on
// x86-64 one `add` to memory is the same thing in one instruction (the store
// half of an unlocked aligned RMW is single-copy atomic; only the pair is not
// atomic, which a single writer does not need).
#ifndef POOLKIT_ARCH_OWNED_COUNTER_H_
#define POOLKIT_ARCH_OWNED_COUNTER_H_

#include <cstdint>

#include "arch/cxx17_required.h"

#if defined(__SANITIZE_THREAD__)
#define POOLKIT_ARCH_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define POOLKIT_ARCH_TSAN 1
#endif
#endif

namespace poolkit::arch {

// The portable protocol over an access policy: `Access::Counter` is the
// counter's type, `Access::Load` and `Access::Store` relaxed atomic
// accesses. BuiltinCounterAccess below is the library's; //testing/relacy
// checks the same function over Relacy's atomics.
template <typename Access>
inline void OwnerAddWith(typename Access::Counter* counter,
                         std::int32_t delta) {
  // Relaxed both: the owner reads its own last store (program order), and a
  // reader needs the value whole, not ordered against anything.
  Access::Store(counter,
                Access::Load(counter) + static_cast<std::uint32_t>(delta));
}

struct BuiltinCounterAccess {
  using Counter = std::uint32_t;
  static std::uint32_t Load(const std::uint32_t* counter) {
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
  }
  static void Store(std::uint32_t* counter, std::uint32_t value) {
    __atomic_store_n(counter, value, __ATOMIC_RELAXED);
  }
};

// Adds `delta` to a counter only the calling thread writes.
inline void OwnerAdd(std::uint32_t* counter, std::int32_t delta) {
#if defined(__x86_64__) && !defined(POOLKIT_ARCH_TSAN)
  // ThreadSanitizer cannot see inside asm, so TSan builds take the atomic
  // path below and check the protocol instead.
  __asm__ __volatile__("addl %1, %0" : "+m"(*counter) : "ir"(delta));
#else
  OwnerAddWith<BuiltinCounterAccess>(counter, delta);
#endif
}

// Reads such a counter from any thread. Relaxed: a statistic, ordered
// against nothing.
inline std::uint32_t ReadOwnedCounter(const std::uint32_t* counter) {
  return BuiltinCounterAccess::Load(counter);
}

}  // namespace poolkit::arch

#endif  // POOLKIT_ARCH_OWNED_COUNTER_H_
