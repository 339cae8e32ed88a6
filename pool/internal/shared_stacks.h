// The shared-cache strategies: three stacks of clusters, one per
// synchronisation technique. Each holds clusters of free objects (see
// FreeItem) and offers the same operations:
//
//   void Push(FreeItem* cluster);  // cluster->down chains its objects
//   FreeItem* Pop();               // one whole cluster, or nullptr
//   FreeItem* PopAll();            // every cluster (linked by next)
//
// How each stays safe when objects popped from it may be returned to the OS
// (free() may unmap them) while another thread is in the middle of a pop is
// the point of the comparison; each class says how.
#ifndef POOLKIT_POOL_INTERNAL_SHARED_STACKS_H_
#define POOLKIT_POOL_INTERNAL_SHARED_STACKS_H_

#include <cstdint>

#include "arch/atomics.h"
#include "arch/word_pair.h"
#include "pool/internal/free_item.h"
#include "pool/internal/spin_lock.h"

namespace poolkit::internal {

inline std::uintptr_t ToWord(FreeItem* item) {
  return reinterpret_cast<std::uintptr_t>(item);
}
inline FreeItem* ToItem(std::uintptr_t word) {
  return reinterpret_cast<FreeItem*>(word);
}

// Test hook (the seed-003 race made reproducible): called by a pop between
// taking the head and reading its `next`, with that head.
using PopHook = void (*)(void* arg, FreeItem* head);

// Seed 002: one lock around every access. A pop reads `head->next` under the
// lock, and nothing can remove (let alone free) `head` while the lock is held,
// so releasing objects to the OS anywhere else is always safe.
class SpinlockStack {
 public:
  void Push(FreeItem* cluster) {
    lock_.Lock();
    cluster->next = ToItem(Head());
    SetHead(ToWord(cluster));
    lock_.Unlock();
  }

  FreeItem* Pop() {
    // Unlocked peek: an empty stack (the common miss) costs no lock traffic.
    // A stale answer only sends the caller to the OS allocator once.
    if (Head() == 0) return nullptr;
    lock_.Lock();
    FreeItem* item = ToItem(Head());
    if (item != nullptr) SetHead(ToWord(item->next));
    lock_.Unlock();
    return item;
  }

  FreeItem* PopAll() {
    lock_.Lock();
    FreeItem* all = ToItem(Head());
    SetHead(0);
    lock_.Unlock();
    return all;
  }

  // The first cluster; only meaningful while no other thread uses the stack.
  FreeItem* PeekForTesting() const { return ToItem(Head()); }

 private:
  // Relaxed atomic accesses: the lock orders everything inside it; the
  // head is atomic only because Pop() peeks at it without the lock.
  std::uintptr_t Head() const {
    return arch::LoadWord(&head_, arch::MemoryOrder::kRelaxed);
  }
  void SetHead(std::uintptr_t head) {
    arch::StoreWord(&head_, head, arch::MemoryOrder::kRelaxed);
  }

  SpinLock lock_;
  std::uintptr_t head_ = 0;
};

// Seeds 000/001: a lock-free stack on a {head, generation} pair updated with
// a double-word CAS. The generation is bumped by every removal, so a pop that
// read {A, g} cannot succeed after A was popped and pushed back (ABA).
//
// A pop must read `head->next` before its CAS, while another thread may pop
// the same head and return it to the OS: that read is then a use after free
// (the seed-003 crash). The flush lock closes that window: pops hold it
// shared, and every path that returns objects to the OS takes it exclusively
// first (flush and gc while detaching; ordinary releases as a barrier, see
// ReleaseBarrier()), so no pop is between its read of `head` and its read of
// `head->next` when an object leaves for the OS. Seed 001 dropped the shared
// side in pop; that is only safe while nothing frees concurrently with a pop,
// which a library cannot promise.
class DwcasStack {
 public:
  // A pop reads `head->next` while another thread may pop that head, hand
  // it out and have its new owner write to it: the race every Treiber stack
  // has. The value read is used only if the DWCAS then finds the generation
  // unchanged, which proves nobody popped the head in between, so a value
  // read during such a race is always discarded. ThreadSanitizer is told not
  // to report this one read.
  __attribute__((no_sanitize_thread)) static FreeItem* ReadNextMayRace(
      const FreeItem* item) {
    return item->next;
  }

  void Push(FreeItem* cluster) {
    arch::WordPair seen = {
        arch::LoadWord(&top_.lo, arch::MemoryOrder::kRelaxed),
        arch::LoadWord(&top_.hi, arch::MemoryOrder::kRelaxed)};
    for (;;) {
      cluster->next = ToItem(seen.lo);
      // Release: the cluster's links (next, down, the objects' contents) are
      // written before a popper can find the cluster at the head. Pushes need
      // no generation bump: ABA only hurts a removal.
      if (arch::CompareExchangePair(&top_, &seen, {ToWord(cluster), seen.hi},
                                    arch::MemoryOrder::kRelease)) {
        return;
      }
    }
  }

  FreeItem* Pop() {
    if (arch::LoadWord(&top_.lo, arch::MemoryOrder::kRelaxed) == 0) {
      return nullptr;
    }
    const bool locked = flush_lock_enabled_;
    if (locked) flush_lock_.LockShared();
    // Generation first, then head, each acquire so that the head is read
    // after the generation. Then the pair we use is never newer in its
    // generation than in its head: if the head was popped after we read the
    // generation, the real generation is higher and our CAS must fail.
    // (Head first, then generation, let a pop pair an old head with a newer
    // generation, read the old head's `next` after its new owner overwrote
    // it, and succeed once that head was pushed back: garbage installed as
    // the head. Found in review; reproduced within seconds.)
    arch::WordPair seen;
    seen.hi = arch::LoadWord(&top_.hi, arch::MemoryOrder::kAcquire);
    seen.lo = arch::LoadWord(&top_.lo, arch::MemoryOrder::kAcquire);
    FreeItem* item;
    for (;;) {
      item = ToItem(seen.lo);
      if (item == nullptr) break;
      if (pop_hook_ != nullptr) pop_hook_(pop_hook_arg_, item);
      // The read that may touch freed memory if the flush lock is bypassed.
      FreeItem* next = ReadNextMayRace(item);
      // Acquire: the popped cluster's contents, written before its releasing
      // push, are visible to us.
      if (arch::CompareExchangePair(&top_, &seen, {ToWord(next), seen.hi + 1},
                                    arch::MemoryOrder::kAcquire)) {
        break;
      }
    }
    if (locked) flush_lock_.UnlockShared();
    return item;
  }

  FreeItem* PopAll() {
    flush_lock_.Lock();
    arch::WordPair seen = {
        arch::LoadWord(&top_.lo, arch::MemoryOrder::kRelaxed),
        arch::LoadWord(&top_.hi, arch::MemoryOrder::kRelaxed)};
    // Acquire: we are about to walk (and free) what other threads pushed.
    while (!arch::CompareExchangePair(&top_, &seen, {0, seen.hi + 1},
                                      arch::MemoryOrder::kAcquire)) {
    }
    flush_lock_.Unlock();
    return ToItem(seen.lo);
  }

  // Called before an object popped from this stack is returned to the OS
  // outside PopAll(): waits until no pop is between reading the head and
  // reading its `next`. New pops cannot reach the object any more (it was
  // popped), so one empty exclusive section is enough.
  void ReleaseBarrier() {
    if (!flush_lock_enabled_) return;
    flush_lock_.Lock();
    flush_lock_.Unlock();
  }

  // Test hooks (the seed-003 race made reproducible): a callback between a
  // pop's read of the head and its read of head->next, and a switch that
  // runs the stack without its flush lock in pops and releases (seed 001;
  // PopAll keeps it, which then excludes nobody).
  void SetPopHookForTesting(PopHook hook, void* arg) {
    pop_hook_arg_ = arg;
    pop_hook_ = hook;
  }
  void SetFlushLockForTesting(bool enabled) { flush_lock_enabled_ = enabled; }
  FreeItem* PeekForTesting() const { return ToItem(top_.lo); }

 private:
  arch::WordPair top_ = {0, 0};
  SharedSpinLock flush_lock_;
  PopHook pop_hook_ = nullptr;
  void* pop_hook_arg_ = nullptr;
  bool flush_lock_enabled_ = true;
};

// Seed 003: a self-locked head. A pop swaps the BUSY sentinel into the head
// with one exchange; while the head is BUSY no other thread can pop, so the
// item we took cannot be popped, used and freed by anyone else before we read
// its `next`. Storing `next` into the head publishes it and unlocks in one
// write. A push never dereferences the head, so it cannot touch freed memory
// either. Objects may be returned to the OS at any time with no barrier.
class XchgStack {
 public:
  static constexpr std::uintptr_t kBusy = 1;

  void Push(FreeItem* cluster) {
    std::uintptr_t seen = arch::LoadWord(&head_, arch::MemoryOrder::kRelaxed);
    for (;;) {
      if (seen == kBusy) {
        arch::CpuRelax();
        seen = arch::LoadWord(&head_, arch::MemoryOrder::kRelaxed);
        continue;
      }
      cluster->next = ToItem(seen);
      // Release: the cluster's links and contents are written before a
      // popper can reach the cluster through the head.
      if (arch::CompareExchangeWord(&head_, &seen, ToWord(cluster),
                                    arch::MemoryOrder::kRelease)) {
        return;
      }
    }
  }

  FreeItem* Pop() {
    std::uintptr_t item = Lock();
    if (item == 0) return nullptr;
    FreeItem* cluster = ToItem(item);
    if (pop_hook_ != nullptr) pop_hook_(pop_hook_arg_, cluster);
    // Release: our read of cluster->next completes before anybody can pop
    // the next cluster (and a thread that pops it sees a consistent head).
    arch::StoreWord(&head_, ToWord(cluster->next), arch::MemoryOrder::kRelease);
    return cluster;
  }

  FreeItem* PopAll() {
    std::uintptr_t all = Lock();
    if (all != 0) arch::StoreWord(&head_, 0, arch::MemoryOrder::kRelease);
    return ToItem(all);
  }

  FreeItem* PeekForTesting() const { return ToItem(head_); }
  // Called between taking the head (BUSY installed) and reading its `next`.
  void SetPopHookForTesting(PopHook hook, void* arg) {
    pop_hook_arg_ = arg;
    pop_hook_ = hook;
  }

 private:
  // Swaps BUSY into the head and returns what was there. A non-zero result
  // means the head is now locked by us (it reads BUSY) and the caller must
  // store the new head; zero means the list was empty and is not locked.
  std::uintptr_t Lock() {
    for (;;) {
      std::uintptr_t seen = arch::LoadWord(&head_, arch::MemoryOrder::kRelaxed);
      if (seen == 0) return 0;  // nothing to take: no need to lock
      if (seen != kBusy) {
        // Acquire: pairs with the releasing push or unlock that installed
        // this head, so its links and contents are visible to us.
        seen = arch::ExchangeWord(&head_, kBusy, arch::MemoryOrder::kAcquire);
        if (seen == 0) {
          // Emptied between our load and the exchange: put the empty head
          // back (nothing was published under the lock, relaxed would do;
          // release keeps every unlock alike).
          arch::StoreWord(&head_, 0, arch::MemoryOrder::kRelease);
          return 0;
        }
        if (seen != kBusy) return seen;
      }
      arch::CpuRelax();
    }
  }

  std::uintptr_t head_ = 0;
  PopHook pop_hook_ = nullptr;
  void* pop_hook_arg_ = nullptr;
};

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_SHARED_STACKS_H_
