// The `simple` contender: the floor of a shared path. One intrusive free
// list (a free object's first word links to the next) behind one
// test-and-test-and-set spinlock: no thread cache, no size classes, no
// giving memory back. It is what a pool's shared cache costs at the least
// when every alloc and free goes through it, and what a hand-written
// "pool" in a user's program usually is.
//
// Filled from malloc before the measurement; an alloc that finds the list
// empty falls back to malloc and counts it (the prefill was too small).
// Everything on the list goes back to malloc when the list is destroyed.
#ifndef POOLKIT_TOOLS_POOLBENCH_SPINLOCK_FREE_LIST_H_
#define POOLKIT_TOOLS_POOLBENCH_SPINLOCK_FREE_LIST_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tools/poolbench/threads.h"

namespace poolkit::poolbench {

class SpinlockFreeList {
 public:
  // Objects of `object_size` bytes, at least a pointer's.
  explicit SpinlockFreeList(std::size_t object_size);
  SpinlockFreeList(const SpinlockFreeList&) = delete;
  SpinlockFreeList& operator=(const SpinlockFreeList&) = delete;
  // Frees every object on the list. Objects still allocated are the
  // caller's to free (with Free(), before this, or with std::free()).
  ~SpinlockFreeList();

  // Puts `count` objects from malloc on the list (not counted as fallback
  // allocations). False if malloc failed; what it gave is on the list.
  bool Prefill(std::size_t count);

  void* Alloc() {
    Lock();
    void* object = head_;
    if (object != nullptr) std::memcpy(&head_, object, sizeof(head_));
    Unlock();
    return object != nullptr ? object : AllocFromMalloc();
  }

  void Free(void* object) {
    Lock();
    std::memcpy(object, &head_, sizeof(head_));
    head_ = object;
    Unlock();
  }

  // Allocs that found the list empty and went to malloc, so far.
  std::uint64_t FallbackAllocs() const {
    // Relaxed: a statistic; the coordinator samples it while threads run.
    return fallback_allocs_.load(std::memory_order_relaxed);
  }

  // Objects on the list now (walks it; for tests and checks).
  std::size_t CountFree();

 private:
  void Lock() {
    Backoff backoff;
    // Acquire: pairs with Unlock's release, so that the list (head_ and the
    // links in the objects) is as the previous holder left it.
    while (locked_.exchange(true, std::memory_order_acquire)) {
      // Relaxed: only waits until the lock looks free, without writing the
      // line; the exchange above does the ordering. Backoff pauses, then
      // yields: with more threads than CPUs the holder may be preempted.
      while (locked_.load(std::memory_order_relaxed)) backoff.Wait();
    }
  }

  void Unlock() {
    // Release: this holder's reads and writes of the list happen before the
    // next holder's acquire sees the lock free.
    locked_.store(false, std::memory_order_release);
  }

  void* AllocFromMalloc();

  const std::size_t object_size_;
  // The lock and the head share one line: a holder touches nothing else of
  // the list's own.
  alignas(64) std::atomic<bool> locked_{false};
  void* head_ = nullptr;  // guarded by locked_
  alignas(64) std::atomic<std::uint64_t> fallback_allocs_{0};
};

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_SPINLOCK_FREE_LIST_H_
