// Small locks built on arch/: a spinlock that sleeps on a futex when
// spinning does not get it, and a reader/writer spinlock that yields. Both
// are held for a handful of instructions; the waits matter when a holder is
// preempted (see lock_wait.h).
#ifndef POOLKIT_POOL_INTERNAL_SPIN_LOCK_H_
#define POOLKIT_POOL_INTERNAL_SPIN_LOCK_H_

#include <cstdint>

#include "arch/atomics.h"
#include "pool/internal/lock_wait.h"
#include "pool/internal/sync_atomics.h"

namespace poolkit::internal {

// Atomics: NativeSyncAtomics in the library (SpinLock and SharedSpinLock
// below); Relacy's in //testing/relacy, which checks these memory orders.
template <typename Atomics>
class BasicSpinLock {
 public:
  BasicSpinLock() { Atomics::Init(&word_, kFree); }

  void Lock() {
    // Uncontended: one compare-exchange. Acquire: the critical section's
    // reads must not move above the moment we own the lock, or they could
    // see another owner's half-done writes.
    std::uintptr_t seen = kFree;
    if (Atomics::CompareExchange(&word_, &seen, kLocked,
                                 arch::MemoryOrder::kAcquire)) {
      return;
    }
    LockSlow();
  }

  // Release: everything written inside the section is visible to the next
  // owner, whose acquiring exchange pairs with this one. An exchange rather
  // than a store: the unlocker must see whether a waiter sleeps (abseil's
  // SpinLock pays the same read-modify-write).
  void Unlock() {
    if (Atomics::Exchange(&word_, kFree, arch::MemoryOrder::kRelease) ==
        kLockedWithSleepers) {
      Atomics::WakeSleepers(&word_, 1);
    }
  }

 private:
  static constexpr std::uintptr_t kFree = 0;
  static constexpr std::uintptr_t kLocked = 1;
  // Locked, and a waiter may sleep on the futex: the unlock wakes one.
  static constexpr std::uintptr_t kLockedWithSleepers = 2;

  __attribute__((noinline)) void LockSlow() {
    // Spin on plain loads first, so that waiters share the line instead of
    // bouncing it, and take the lock the moment it is free (kLocked, so as
    // not to erase a sleeper's mark).
    for (int i = 0; i < kSpinsBeforeSleeping; ++i) {
      std::uintptr_t seen = Atomics::Load(&word_, arch::MemoryOrder::kRelaxed);
      if (seen == kFree &&
          Atomics::CompareExchange(&word_, &seen, kLocked,
                                   arch::MemoryOrder::kAcquire)) {
        return;
      }
      Atomics::Relax();
    }
    // Then sleep. Marking the word kLockedWithSleepers with an exchange both
    // announces us and, if it was free, takes the lock (still marked: we
    // cannot know whether others sleep, so our unlock will wake one; a
    // spurious wake only costs a system call). Acquire as in Lock().
    while (Atomics::Exchange(&word_, kLockedWithSleepers,
                             arch::MemoryOrder::kAcquire) != kFree) {
      Atomics::SleepWhile(&word_,
                          static_cast<std::uint32_t>(kLockedWithSleepers));
    }
  }

  typename Atomics::Word word_;
};

// Many readers or one writer. The word counts readers; kWriter marks a writer
// that owns the lock or waits for the readers to leave. Writers are rare
// (flush, gc, release to the OS); readers are shared-cache pops.
template <typename Atomics>
class BasicSharedSpinLock {
 public:
  BasicSharedSpinLock() { Atomics::Init(&word_, 0); }

  void LockShared() {
    typename Atomics::Waiter wait;
    for (;;) {
      std::uintptr_t seen = Atomics::Load(&word_, arch::MemoryOrder::kRelaxed);
      if ((seen & kWriter) == 0 &&
          // Acquire pairs with the writer's releasing unlock: a reader that
          // gets in after a writer sees everything the writer did.
          Atomics::CompareExchange(&word_, &seen, seen + 1,
                                   arch::MemoryOrder::kAcquire)) {
        return;
      }
      wait.Wait();
    }
  }

  // Release: the reader's loads complete before a writer can see the count
  // drop and go on to free what the reader was looking at.
  void UnlockShared() {
    std::uintptr_t seen = Atomics::Load(&word_, arch::MemoryOrder::kRelaxed);
    while (!Atomics::CompareExchange(&word_, &seen, seen - 1,
                                     arch::MemoryOrder::kRelease)) {
    }
  }

  void Lock() {
    // Claim the writer bit first so no new reader gets in, then wait for the
    // readers already inside to leave.
    typename Atomics::Waiter wait;
    for (;;) {
      std::uintptr_t seen = Atomics::Load(&word_, arch::MemoryOrder::kRelaxed);
      if ((seen & kWriter) == 0 &&
          Atomics::CompareExchange(&word_, &seen, seen | kWriter,
                                   arch::MemoryOrder::kAcquire)) {
        break;
      }
      wait.Wait();
    }
    // Acquire: pairs with each reader's releasing unlock, so the readers'
    // accesses happen before whatever the writer does next (such as free()).
    typename Atomics::Waiter drain;
    while (Atomics::Load(&word_, arch::MemoryOrder::kAcquire) != kWriter) {
      drain.Wait();
    }
  }

  void Unlock() { Atomics::Store(&word_, 0, arch::MemoryOrder::kRelease); }

 private:
  static constexpr std::uintptr_t kWriter = std::uintptr_t{1}
                                            << (sizeof(std::uintptr_t) * 8 - 1);
  typename Atomics::Word word_;
};

using SpinLock = BasicSpinLock<NativeSyncAtomics>;
using SharedSpinLock = BasicSharedSpinLock<NativeSyncAtomics>;

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_SPIN_LOCK_H_
