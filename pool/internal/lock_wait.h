// How poolkit's locks wait once spinning has not helped: a holder that the
// scheduler preempted (more threads than CPUs, a CPU quota, a noisy
// neighbour) would otherwise keep every waiter spinning for a whole
// timeslice. Spin briefly, then wait in the kernel: on a futex where the
// lock word can say "a waiter sleeps" (SpinLock), or by yielding the CPU
// where it cannot (the dwcas flush lock's reader count, the xchg head).
#ifndef POOLKIT_POOL_INTERNAL_LOCK_WAIT_H_
#define POOLKIT_POOL_INTERNAL_LOCK_WAIT_H_

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "arch/atomics.h"

namespace poolkit::internal {

// Spins before a waiter goes to the kernel: about a microsecond of pauses,
// longer than a critical section of a few instructions takes, far shorter
// than a timeslice.
inline constexpr int kSpinsBeforeSleeping = 128;

// A futex is 32 bits: the low half of a lock word on a little-endian CPU
// (x86-64, aarch64 Linux), where poolkit's lock values live.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the futex word is the low half of the lock word");

// Sleeps while the low 32 bits of *word equal `expected` (or until woken;
// spurious returns are fine: callers re-check).
inline void FutexWait(std::uintptr_t* word, std::uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE,
          expected, nullptr, nullptr, 0);
}

inline void FutexWake(std::uintptr_t* word, int waiters) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE,
          waiters, nullptr, nullptr, 0);
}

// For waits without a futex protocol: pause for the first spins, then give
// the CPU away on every call (the holder may be waiting for it).
class SpinThenYield {
 public:
  void Wait() {
    if (spins_ < kSpinsBeforeSleeping) {
      ++spins_;
      arch::CpuRelax();
    } else {
      sched_yield();
    }
  }

 private:
  int spins_ = 0;
};

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_LOCK_WAIT_H_
