// The spinlock strategy (seed 002): a stack of clusters behind one lock.
#ifndef POOLKIT_POOL_INTERNAL_SPINLOCK_STACK_H_
#define POOLKIT_POOL_INTERNAL_SPINLOCK_STACK_H_

#include <cstdint>

#include "arch/atomics.h"
#include "pool/internal/free_item.h"
#include "pool/internal/spin_lock.h"
#include "pool/internal/stack_counts.h"
#include "pool/internal/stack_words.h"
#include "pool/internal/sync_atomics.h"

namespace poolkit::internal {

// One lock around every access. A pop reads `head->next_cluster` under the
// lock, and nothing can remove (let alone free) `head` while the lock is
// held, so releasing objects to the OS anywhere else is always safe.
//
// Atomics: NativeSyncAtomics in the library (SpinlockStack below); Relacy's
// in //testing/relacy.
template <typename Atomics>
class BasicSpinlockStack {
 public:
  BasicSpinlockStack() { Atomics::Init(&head_, 0); }

  static constexpr const char* kName = "spinlock";

  // Pushes a cluster of `objects` objects.
  void Push(FreeItem* cluster, std::uint32_t objects) {
    lock_.Lock();
    cluster->next_cluster = ToItem(Head());
    SetHead(ToWord(cluster));
    counts_.AddLocked(objects);
    lock_.Unlock();
  }

  FreeItem* Pop() {
    // Unlocked peek: an empty stack (the common miss) costs no lock traffic.
    // A stale answer only sends the caller to the next bucket or the OS.
    if (Head() == 0) return nullptr;
    lock_.Lock();
    FreeItem* item = ToItem(Head());
    if (item != nullptr) {
      SetHead(ToWord(item->next_cluster));
      counts_.TakeLocked(ClusterCount(item));
    }
    lock_.Unlock();
    return item;
  }

  FreeItem* PopAll() {
    lock_.Lock();
    FreeItem* all = ToItem(Head());
    SetHead(0);
    counts_.TakeAllLocked();
    lock_.Unlock();
    return all;
  }

  // The objects in the stack and their low-water mark (StackCounts).
  std::int64_t Objects() const { return counts_.Objects(); }
  std::int64_t TakeLowWater() { return counts_.TakeLowWater(); }

  // Objects popped from this stack may go to the OS at any time.
  void ReleaseBarrier() {}

  // fork(): no other thread may hold the lock when the process forks.
  void LockForFork() { lock_.Lock(); }
  void UnlockAfterFork() { lock_.Unlock(); }

  bool LooksEmpty() const { return Head() == 0; }
  // The first cluster; only meaningful while no other thread uses the stack.
  FreeItem* PeekForTesting() const { return ToItem(Head()); }
  // No pop reads a link outside the lock: nothing for the seed-003 hook to
  // stop, no flush lock to switch off.
  void SetPopHookForTesting(PopHook, void*) {}
  void SetFlushLockForTesting(bool) {}

 private:
  // Relaxed atomic accesses: the lock orders everything inside it; the
  // head is atomic only because Pop() peeks at it without the lock.
  std::uintptr_t Head() const {
    return Atomics::Load(&head_, arch::MemoryOrder::kRelaxed);
  }
  void SetHead(std::uintptr_t head) {
    Atomics::Store(&head_, head, arch::MemoryOrder::kRelaxed);
  }

  BasicSpinLock<Atomics> lock_;
  typename Atomics::Word head_;
  StackCounts counts_;
};

using SpinlockStack = BasicSpinlockStack<NativeSyncAtomics>;

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_SPINLOCK_STACK_H_
