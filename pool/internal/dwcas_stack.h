// The dwcas strategy (seeds 000 and 001): a stack of clusters on a double-word
// CAS, with a flush lock.
#ifndef POOLKIT_POOL_INTERNAL_DWCAS_STACK_H_
#define POOLKIT_POOL_INTERNAL_DWCAS_STACK_H_

#include <cstdint>

#include "arch/atomics.h"
#include "arch/word_pair.h"
#include "pool/internal/free_item.h"
#include "pool/internal/spin_lock.h"
#include "pool/internal/stack_counts.h"
#include "pool/internal/stack_words.h"
#include "pool/internal/sync_atomics.h"

// Code mutants for //testing/relacy's self-test (one define, a probe build
// of that test only): each must make a Relacy scenario fail.
//   1: a pop reads the head before the generation;
//   2: a pop's DWCAS keeps the generation (no ABA protection).
#if defined(POOLKIT_DWCAS_RELACY_MUTANT) && !defined(POOLKIT_RELACY_PROBE)
#error "POOLKIT_DWCAS_RELACY_MUTANT is for //testing/relacy's probe builds only"
#endif
#ifndef POOLKIT_DWCAS_RELACY_MUTANT
#define POOLKIT_DWCAS_RELACY_MUTANT 0
#endif

namespace poolkit::internal {

// Seeds 000/001: a lock-free stack on a {head, generation} pair updated with
// a double-word CAS. The generation is bumped by every removal, so a pop that
// read {A, g} cannot succeed after A was popped and pushed back (ABA).
//
// A pop must read `head->next_cluster` before its CAS, while another thread may
// pop the same head and return it to the OS: that read is then a use after free
// (the seed-003 crash). The flush lock closes that window: pops hold it
// shared, and every path that returns objects to the OS takes it exclusively
// first (flush and gc while detaching; ordinary releases as a barrier, see
// ReleaseBarrier()), so no pop is between its read of `head` and its read of
// `head->next_cluster` when an object leaves for the OS. Seed 001 dropped the
// shared side in pop; that is only safe while nothing frees concurrently with a
// pop, which a library cannot promise.
//
// Atomics: NativeSyncAtomics in the library (DwcasStack below); Relacy's in
// //testing/relacy, which checks this source's memory orders with the pair
// as one location (see there for what that model can and cannot see).
template <typename Atomics>
class BasicDwcasStack {
 public:
  static constexpr const char* kName = "dwcas";

  BasicDwcasStack() { Atomics::InitPair(&top_, {0, 0}); }

  // A pop reads `head->next_cluster` while another thread may pop that head,
  // hand it out and have its new owner write to it: the race every Treiber
  // stack has. The value read is used only if the DWCAS then finds the
  // generation unchanged, which proves nobody popped the head in between, so a
  // value read during such a race is always discarded. ThreadSanitizer is told
  // not to report this one read.
  __attribute__((no_sanitize_thread)) static FreeItem* ReadNextMayRace(
      const FreeItem* item) {
    return item->next_cluster;
  }

  // Pushes a cluster of `objects` objects.
  void Push(FreeItem* cluster, std::uint32_t objects) {
    // A guess (relaxed, either order): the DWCAS checks it.
    arch::WordPair seen = {
        Atomics::LoadPairLo(&top_, arch::MemoryOrder::kRelaxed),
        Atomics::LoadPairHi(&top_, arch::MemoryOrder::kRelaxed)};
    for (;;) {
      cluster->next_cluster = ToItem(seen.lo);
      // Release: the cluster's links (next, next_cluster, the objects'
      // contents) are written before a popper can find the cluster at the head.
      // Pushes need no generation bump: ABA only hurts a removal.
      if (Atomics::CompareExchangePair(&top_, &seen, {ToWord(cluster), seen.hi},
                                       arch::MemoryOrder::kRelease)) {
        // No lock to count under: a read-modify-write of its own.
        counts_.AddShared(objects);
        return;
      }
    }
  }

  FreeItem* Pop() {
    if (Atomics::LoadPairLo(&top_, arch::MemoryOrder::kRelaxed) == 0) {
      return nullptr;
    }
    const bool locked = flush_lock_enabled_;
    if (locked) flush_lock_.LockShared();
    // Generation first, then head, each acquire so that the head is read
    // after the generation. Then the pair we use is never newer in its
    // generation than in its head: if the head was popped after we read the
    // generation, the real generation is higher and our CAS must fail.
    // (Head first, then generation, let a pop pair an old head with a newer
    // generation, read the old head's `next_cluster` after its new owner
    // overwrote it, and succeed once that head was pushed back: garbage
    // installed as the head. Found in review; reproduced within seconds.)
    arch::WordPair seen;
#if POOLKIT_DWCAS_RELACY_MUTANT == 1
    seen.lo = Atomics::LoadPairLo(&top_, arch::MemoryOrder::kAcquire);
    seen.hi = Atomics::LoadPairHi(&top_, arch::MemoryOrder::kAcquire);
#else
    seen.hi = Atomics::LoadPairHi(&top_, arch::MemoryOrder::kAcquire);
    seen.lo = Atomics::LoadPairLo(&top_, arch::MemoryOrder::kAcquire);
#endif
    FreeItem* item;
    for (;;) {
      item = ToItem(seen.lo);
      if (item == nullptr) break;
      if (pop_hook_ != nullptr) pop_hook_(pop_hook_arg_, item);
      // The read that may touch freed memory if the flush lock is bypassed.
      FreeItem* next = ReadNextMayRace(item);
      if (after_read_hook_ != nullptr)
        after_read_hook_(after_read_hook_arg_, item);
        // Acquire: the popped cluster's contents, written before its releasing
        // push, are visible to us.
#if POOLKIT_DWCAS_RELACY_MUTANT == 2
      const std::uintptr_t generation = seen.hi;
#else
      const std::uintptr_t generation = seen.hi + 1;
#endif
      if (Atomics::CompareExchangePair(&top_, &seen, {ToWord(next), generation},
                                       arch::MemoryOrder::kAcquire)) {
        break;
      }
    }
    if (locked) flush_lock_.UnlockShared();
    // The cluster is ours now: its count can be read outside the lock.
    if (item != nullptr) counts_.TakeShared(ClusterCount(item));
    return item;
  }

  FreeItem* PopAll() {
    flush_lock_.Lock();
    arch::WordPair seen = {
        Atomics::LoadPairLo(&top_, arch::MemoryOrder::kRelaxed),
        Atomics::LoadPairHi(&top_, arch::MemoryOrder::kRelaxed)};
    // Acquire: we are about to walk (and free) what other threads pushed.
    while (!Atomics::CompareExchangePair(&top_, &seen, {0, seen.hi + 1},
                                         arch::MemoryOrder::kAcquire)) {
    }
    flush_lock_.Unlock();
    // What we detached is ours: counted by walking it, since a push whose
    // cluster is in it may not have added its count yet (exchanging the count
    // for zero would then leave that push's count behind).
    FreeItem* all = ToItem(seen.lo);
    if (all != nullptr) counts_.TakeShared(CountClusters(all));
    return all;
  }

  // The objects in the stack and their low-water mark (StackCounts).
  std::int64_t Objects() const { return counts_.Objects(); }
  std::int64_t TakeLowWater() { return counts_.TakeLowWater(); }

  // Called before an object popped from this stack is returned to the OS
  // outside PopAll(): waits until no pop is between reading the head and
  // reading its `next_cluster`. New pops cannot reach the object any more (it
  // was popped), so one empty exclusive section is enough.
  void ReleaseBarrier() {
    if (!flush_lock_enabled_) return;
    flush_lock_.Lock();
    flush_lock_.Unlock();
  }

  // Test hooks (the seed-003 race made reproducible): a callback between a
  // pop's read of the head and its read of head->next_cluster, and a switch
  // that runs the stack without its flush lock in pops and releases (seed 001;
  // PopAll keeps it, which then excludes nobody).
  void SetPopHookForTesting(PopHook hook, void* arg) {
    pop_hook_arg_ = arg;
    pop_hook_ = hook;
  }
  void SetFlushLockForTesting(bool enabled) { flush_lock_enabled_ = enabled; }
  // Between a pop's read of head->next_cluster and its DWCAS: where an ABA
  // (the head popped and pushed back meanwhile) must make the DWCAS fail
  // (//pool:stacks_test).
  void SetPopAfterReadHookForTesting(PopHook hook, void* arg) {
    after_read_hook_arg_ = arg;
    after_read_hook_ = hook;
  }
  // fork(): no pop may hold the flush lock shared, and no release hold it
  // exclusively, when the process forks (pushes take no lock).
  void LockForFork() { flush_lock_.Lock(); }
  void UnlockAfterFork() { flush_lock_.Unlock(); }

  bool LooksEmpty() const {
    return Atomics::LoadPairLo(&top_, arch::MemoryOrder::kRelaxed) == 0;
  }
  FreeItem* PeekForTesting() const {
    return ToItem(Atomics::LoadPairLo(&top_, arch::MemoryOrder::kRelaxed));
  }

 private:
  typename Atomics::Pair top_;
  BasicSharedSpinLock<Atomics> flush_lock_;
  PopHook pop_hook_ = nullptr;
  void* pop_hook_arg_ = nullptr;
  PopHook after_read_hook_ = nullptr;
  void* after_read_hook_arg_ = nullptr;
  bool flush_lock_enabled_ = true;
  StackCounts counts_;
};

using DwcasStack = BasicDwcasStack<NativeSyncAtomics>;

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_DWCAS_STACK_H_
