// Small locks built on arch/: a test-and-test-and-set spinlock and a
// reader/writer spinlock. Both are held for a handful of instructions only.
#ifndef POOLKIT_POOL_INTERNAL_SPIN_LOCK_H_
#define POOLKIT_POOL_INTERNAL_SPIN_LOCK_H_

#include <cstdint>

#include "arch/atomics.h"

namespace poolkit::internal {

class SpinLock {
 public:
  void Lock() {
    for (;;) {
      // Acquire: the critical section's reads must not move above the moment
      // we own the lock, or they could see another owner's half-done writes.
      if (arch::ExchangeWord(&word_, 1, arch::MemoryOrder::kAcquire) == 0) {
        return;
      }
      // Spin on a plain load so that waiters share the line instead of
      // bouncing it with exchanges.
      while (arch::LoadWord(&word_, arch::MemoryOrder::kRelaxed) != 0) {
        arch::CpuRelax();
      }
    }
  }

  // Release: everything written inside the section is visible to the next
  // owner, whose acquiring exchange pairs with this store.
  void Unlock() { arch::StoreWord(&word_, 0, arch::MemoryOrder::kRelease); }

 private:
  std::uintptr_t word_ = 0;
};

// Many readers or one writer. The word counts readers; kWriter marks a writer
// that owns the lock or waits for the readers to leave. Writers are rare
// (flush, gc, release to the OS); readers are shared-cache pops.
class SharedSpinLock {
 public:
  void LockShared() {
    for (;;) {
      std::uintptr_t seen = arch::LoadWord(&word_, arch::MemoryOrder::kRelaxed);
      if ((seen & kWriter) == 0 &&
          // Acquire pairs with the writer's releasing unlock: a reader that
          // gets in after a writer sees everything the writer did.
          arch::CompareExchangeWord(&word_, &seen, seen + 1,
                                    arch::MemoryOrder::kAcquire)) {
        return;
      }
      arch::CpuRelax();
    }
  }

  // Release: the reader's loads complete before a writer can see the count
  // drop and go on to free what the reader was looking at.
  void UnlockShared() {
    std::uintptr_t seen = arch::LoadWord(&word_, arch::MemoryOrder::kRelaxed);
    while (!arch::CompareExchangeWord(&word_, &seen, seen - 1,
                                      arch::MemoryOrder::kRelease)) {
    }
  }

  void Lock() {
    // Claim the writer bit first so no new reader gets in, then wait for the
    // readers already inside to leave.
    for (;;) {
      std::uintptr_t seen = arch::LoadWord(&word_, arch::MemoryOrder::kRelaxed);
      if ((seen & kWriter) == 0 &&
          arch::CompareExchangeWord(&word_, &seen, seen | kWriter,
                                    arch::MemoryOrder::kAcquire)) {
        break;
      }
      arch::CpuRelax();
    }
    // Acquire: pairs with each reader's releasing unlock, so the readers'
    // accesses happen before whatever the writer does next (such as free()).
    while (arch::LoadWord(&word_, arch::MemoryOrder::kAcquire) != kWriter) {
      arch::CpuRelax();
    }
  }

  void Unlock() { arch::StoreWord(&word_, 0, arch::MemoryOrder::kRelease); }

 private:
  static constexpr std::uintptr_t kWriter = std::uintptr_t{1}
                                            << (sizeof(std::uintptr_t) * 8 - 1);
  std::uintptr_t word_ = 0;
};

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_SPIN_LOCK_H_
