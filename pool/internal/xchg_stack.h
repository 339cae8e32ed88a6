// The xchg strategy (seed 003): a stack of clusters with a self-locked head.
#ifndef POOLKIT_POOL_INTERNAL_XCHG_STACK_H_
#define POOLKIT_POOL_INTERNAL_XCHG_STACK_H_

#include <cstdint>

#include "arch/atomics.h"
#include "pool/internal/free_item.h"
#include "pool/internal/stack_counts.h"
#include "pool/internal/stack_words.h"
#include "pool/internal/sync_atomics.h"

namespace poolkit::internal {

// Seed 003: a self-locked head. A pop swaps the BUSY sentinel into the head
// with one exchange; while the head is BUSY no other thread can pop, so the
// item we took cannot be popped, used and freed by anyone else before we read
// its `next_cluster`. Storing `next` into the head publishes it and unlocks in
// one write. A push never dereferences the head, so it cannot touch freed
// memory either. Objects may be returned to the OS at any time with no barrier.
//
// A push takes the head the same way (seed 003 pushed with a compare-and-swap
// that waited while the head was BUSY). It could not complete while a pop
// held the head anyway, so nothing is lost in progress; what is gained is
// that the stack's count (StackCounts) is updated under the lock with plain
// stores, so that a push or a pop is one atomic instruction instead of two.
//
// Atomics: NativeSyncAtomics in the library (XchgStack below); Relacy's in
// //testing/relacy, which checks this source's memory orders.
template <typename Atomics>
class BasicXchgStack {
 public:
  static constexpr const char* kName = "xchg";
  static constexpr std::uintptr_t kBusy = 1;

  BasicXchgStack() { Atomics::Init(&head_, 0); }

  // Pushes a cluster of `objects` objects.
  void Push(FreeItem* cluster, std::uint32_t objects) {
    const std::uintptr_t seen = LockForPush();
    cluster->next_cluster = ToItem(seen);
    counts_.AddLocked(objects);
    // Release: the cluster's links and contents, and the count, are written
    // before a popper can reach the cluster through the head (or the next
    // holder reads the count).
    Atomics::Store(&head_, ToWord(cluster), arch::MemoryOrder::kRelease);
  }

  FreeItem* Pop() {
    std::uintptr_t item = Lock();
    if (item == 0) return nullptr;
    FreeItem* cluster = ToItem(item);
    if (pop_hook_ != nullptr) pop_hook_(pop_hook_arg_, cluster);
    counts_.TakeLocked(ClusterCount(cluster));
    // Release: our read of cluster->next_cluster completes before anybody can
    // pop the next cluster (and a thread that pops it sees a consistent head).
    Atomics::Store(&head_, ToWord(cluster->next_cluster),
                   arch::MemoryOrder::kRelease);
    return cluster;
  }

  FreeItem* PopAll() {
    std::uintptr_t all = Lock();
    if (all != 0) {
      counts_.TakeAllLocked();
      Atomics::Store(&head_, 0, arch::MemoryOrder::kRelease);
    }
    return ToItem(all);
  }

  std::int64_t Objects() const { return counts_.Objects(); }
  std::int64_t TakeLowWater() { return counts_.TakeLowWater(); }

  // Objects popped from this stack may go to the OS at any time: no pop
  // reads the link of an object unless it holds the head (BUSY).
  void ReleaseBarrier() {}

  // fork(): the forking thread holds the head (BUSY, even over an empty
  // stack, as a push does) across the fork; every other pop and push waits,
  // and none is left holding it in the child.
  void LockForFork() { fork_saved_head_ = LockForPush(); }
  // Release, as every unlock.
  void UnlockAfterFork() {
    Atomics::Store(&head_, fork_saved_head_, arch::MemoryOrder::kRelease);
  }

  bool LooksEmpty() const {
    return Atomics::Load(&head_, arch::MemoryOrder::kRelaxed) == 0;
  }
  FreeItem* PeekForTesting() const {
    return ToItem(Atomics::Load(&head_, arch::MemoryOrder::kRelaxed));
  }
  // No flush lock to switch off.
  void SetFlushLockForTesting(bool) {}
  // Called between taking the head (BUSY installed) and reading its
  // `next_cluster`.
  void SetPopHookForTesting(PopHook hook, void* arg) {
    pop_hook_arg_ = arg;
    pop_hook_ = hook;
  }

 private:
  // Swaps BUSY into the head and returns what was there. A non-zero result
  // means the head is now locked by us (it reads BUSY) and the caller must
  // store the new head; zero means the list was empty and is not locked.
  std::uintptr_t Lock() {
    typename Atomics::Waiter wait;
    for (;;) {
      std::uintptr_t seen = Atomics::Load(&head_, arch::MemoryOrder::kRelaxed);
      if (seen == 0) return 0;  // nothing to take: no need to lock
      if (seen != kBusy) {
        // Acquire: pairs with the releasing push or unlock that installed
        // this head, so its links and contents are visible to us.
        seen = Atomics::Exchange(&head_, kBusy, arch::MemoryOrder::kAcquire);
        if (seen == 0) {
          // Emptied between our load and the exchange: put the empty head
          // back (nothing was published under the lock, relaxed would do;
          // release keeps every unlock alike).
          Atomics::Store(&head_, 0, arch::MemoryOrder::kRelease);
          return 0;
        }
        if (seen != kBusy) return seen;
      }
      wait.Wait();
    }
  }

  // Swaps BUSY into the head, even over an empty stack, and returns what was
  // there: the head is then locked by us, and the caller must store the new
  // head.
  std::uintptr_t LockForPush() {
    typename Atomics::Waiter wait;
    for (;;) {
      std::uintptr_t seen = Atomics::Load(&head_, arch::MemoryOrder::kRelaxed);
      if (seen != kBusy) {
        // Acquire: pairs with the unlocking store of the previous holder, so
        // that its count update is visible to our read-modify-write of it.
        // (The head's links need none: a push does not read them.)
        seen = Atomics::Exchange(&head_, kBusy, arch::MemoryOrder::kAcquire);
        if (seen != kBusy) return seen;
      }
      // A pop or another push holds the head: spin, then yield (its holder
      // may be preempted; see lock_wait.h).
      wait.Wait();
    }
  }

  typename Atomics::Word head_;
  std::uintptr_t fork_saved_head_ = 0;  // LockForFork() to UnlockAfterFork()
  PopHook pop_hook_ = nullptr;
  void* pop_hook_arg_ = nullptr;
  StackCounts counts_;
};

using XchgStack = BasicXchgStack<NativeSyncAtomics>;

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_XCHG_STACK_H_
