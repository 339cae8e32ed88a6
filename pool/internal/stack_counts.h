// The object count of one shared-cache stack and its low-water mark, kept by
// the stack itself so that a push or a pop costs one atomic
// read-modify-write, not two.
//
// Counting outside the stack's own synchronisation (an atomic add after
// every push, a subtract after every pop, the rule before) was a third of
// the time of a batch of 2 MiB objects past the thread cache: perf on
// `poolbench --patterns=batch --batch=1000 --sizes=2M --contenders=xchg`
// put 16% in the subtract alone and most of Push's 28% in its add, each a
// locked instruction on a line the stack operation had just written.
//
// A stack that changes its head under a lock (spinlock, xchg) counts inside
// it with plain loads and stores (the *Locked calls): the lock's acquire and
// release order them with the previous holder's. A lock-free stack (dwcas)
// counts with atomic read-modify-writes (the *Shared calls). Readers
// (statistics, the release rule) load the count without either, so it may
// lag an operation in flight.
#ifndef POOLKIT_POOL_INTERNAL_STACK_COUNTS_H_
#define POOLKIT_POOL_INTERNAL_STACK_COUNTS_H_

#include <atomic>
#include <cstdint>

#include "pool/internal/free_item.h"

namespace poolkit::internal {

class StackCounts {
 public:
  // Under the stack's lock.
  void AddLocked(std::uint32_t n) {
    objects_.store(objects_.load(std::memory_order_relaxed) + n,
                   std::memory_order_relaxed);
  }
  void TakeLocked(std::uint32_t n) {
    const std::int64_t left = objects_.load(std::memory_order_relaxed) - n;
    objects_.store(left, std::memory_order_relaxed);
    if (left < low_water_.load(std::memory_order_relaxed)) {
      low_water_.store(left, std::memory_order_relaxed);
    }
  }
  // Everything left the stack (PopAll under the lock).
  void TakeAllLocked() {
    objects_.store(0, std::memory_order_relaxed);
    low_water_.store(0, std::memory_order_relaxed);
  }

  // Without a lock: every change is one atomic read-modify-write, so none
  // is lost. Relaxed: a statistic, not a synchronisation.
  void AddShared(std::uint32_t n) {
    objects_.fetch_add(n, std::memory_order_relaxed);
  }
  void TakeShared(std::int64_t n) {
    const std::int64_t left =
        objects_.fetch_sub(n, std::memory_order_relaxed) - n;
    // A new low is rare once a load is steady (it recurs at the same
    // level), so the compare-exchange runs seldom. A plain store here could
    // let a racing, higher low overwrite a lower one, which would count
    // objects as idle that were not, and release them.
    std::int64_t low = low_water_.load(std::memory_order_relaxed);
    while (left < low && !low_water_.compare_exchange_weak(
                             low, left, std::memory_order_relaxed)) {
    }
  }

  // The objects in the stack (may lag an operation in flight).
  std::int64_t Objects() const {
    return objects_.load(std::memory_order_relaxed);
  }
  // The fewest objects the stack held since the previous call (no more than
  // it holds now); starts a new interval. Best effort against a racing
  // pop: its new low may be lost to this reset, so that the next interval's
  // mark can start higher by what that pop took, until a later pop or the
  // next call (which never reports more than the stack holds) corrects it.
  std::int64_t TakeLowWater() {
    std::int64_t now = objects_.load(std::memory_order_relaxed);
    std::int64_t low = low_water_.load(std::memory_order_relaxed);
    // Objects pushed since the low point count from now on.
    if (low > now) low = now;
    low_water_.store(now, std::memory_order_relaxed);
    return low > 0 ? low : 0;
  }

 private:
  std::atomic<std::int64_t> objects_{0};
  std::atomic<std::int64_t> low_water_{0};
};

// The objects of a detached list of clusters (linked by next_cluster).
inline std::int64_t CountClusters(const FreeItem* clusters) {
  std::int64_t total = 0;
  for (; clusters != nullptr; clusters = clusters->next_cluster) {
    total += ClusterCount(clusters);
  }
  return total;
}

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_STACK_COUNTS_H_
