// A shared cache made of one Stack per bucket: the common half of the
// spinlock, dwcas and xchg strategies. The stack type is the strategy
// (spinlock_stack.h, dwcas_stack.h, xchg_stack.h); it provides
//
//   void Push(FreeItem* cluster);   FreeItem* Pop();   FreeItem* PopAll();
//   void ReleaseBarrier();          bool LooksEmpty() const;
//   void LockForFork();             void UnlockAfterFork();
//   FreeItem* PeekForTesting() const;
//   void SetPopHookForTesting(PopHook, void*);   (no-op without a hook)
//   void SetFlushLockForTesting(bool);            (no-op without the lock)
#ifndef POOLKIT_POOL_INTERNAL_STACKED_SHARED_CACHE_H_
#define POOLKIT_POOL_INTERNAL_STACKED_SHARED_CACHE_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "pool/internal/shared_cache.h"

namespace poolkit::internal {

template <typename Stack>
class StackedSharedCache final : public SharedCache {
 public:
  explicit StackedSharedCache(std::uint32_t buckets)
      : buckets_(new Bucket[buckets]), mask_(buckets - 1) {}

  bool Push(std::uint32_t bucket, FreeItem* cluster,
            std::uint32_t objects) override {
    Bucket& b = buckets_[bucket & mask_];
    b.stack.Push(cluster);
    // Relaxed: a statistic and the release rule's input, not a
    // synchronisation; it lives on the line the push just wrote, so the
    // add finds it owned.
    b.objects.fetch_add(objects, std::memory_order_relaxed);
    return true;
  }

  FreeItem* Pop(std::uint32_t home, std::uint32_t* from) override {
    // The home bucket first (where this thread's evictions went), then the
    // others (objects freed by other threads end up in theirs). Buckets that
    // look empty cost one load, no atomic operation.
    for (std::uint32_t i = 0; i <= mask_; ++i) {
      std::uint32_t index = (home + i) & mask_;
      Stack& stack = buckets_[index].stack;
      if (stack.LooksEmpty()) continue;
      FreeItem* cluster = stack.Pop();
      if (cluster != nullptr) {
        *from = index;
        return cluster;
      }
    }
    return nullptr;
  }

  FreeItem* PopAll(std::uint32_t bucket) override {
    return buckets_[bucket & mask_].stack.PopAll();
  }

  void NoteTaken(std::uint32_t bucket, std::uint32_t objects) override {
    Bucket& b = buckets_[bucket & mask_];
    // Relaxed, as in Push(). The low-water mark is best effort: two racing
    // updates may keep the higher of two lows, which only keeps more.
    std::int64_t left =
        b.objects.fetch_sub(objects, std::memory_order_relaxed) - objects;
    if (left < b.low_water.load(std::memory_order_relaxed)) {
      b.low_water.store(left, std::memory_order_relaxed);
    }
  }

  void ReleaseBarrier() override {
    for (std::uint32_t i = 0; i <= mask_; ++i) {
      buckets_[i].stack.ReleaseBarrier();
    }
  }

  std::int64_t Objects() const override {
    std::int64_t total = 0;
    for (std::uint32_t i = 0; i <= mask_; ++i) {
      total += buckets_[i].objects.load(std::memory_order_relaxed);
    }
    return total;
  }

  std::int64_t TakeLowWater() override {
    std::int64_t total = 0;
    for (std::uint32_t i = 0; i <= mask_; ++i) {
      Bucket& b = buckets_[i];
      std::int64_t low = b.low_water.load(std::memory_order_relaxed);
      std::int64_t now = b.objects.load(std::memory_order_relaxed);
      // Objects pushed since the low point count from now on: the mark can
      // be no higher than what the bucket holds now.
      if (low > now) low = now;
      if (low > 0) total += low;
      b.low_water.store(now, std::memory_order_relaxed);
    }
    return total;
  }

  std::uint32_t buckets() const override { return mask_ + 1; }

  void LockForFork() override {
    for (std::uint32_t i = 0; i <= mask_; ++i) buckets_[i].stack.LockForFork();
  }
  void UnlockAfterFork() override {
    for (std::uint32_t i = 0; i <= mask_; ++i) {
      buckets_[i].stack.UnlockAfterFork();
    }
  }

  std::int64_t CountByWalkingForTesting() const override {
    std::int64_t count = 0;
    for (std::uint32_t i = 0; i <= mask_; ++i) {
      for (FreeItem* cluster = buckets_[i].stack.PeekForTesting();
           cluster != nullptr; cluster = cluster->next_cluster) {
        for (FreeItem* item = cluster; item != nullptr; item = item->next) {
          ++count;
        }
      }
    }
    return count;
  }
  void SetPopHookForTesting(PopHook hook, void* arg) override {
    for (std::uint32_t i = 0; i <= mask_; ++i) {
      buckets_[i].stack.SetPopHookForTesting(hook, arg);
    }
  }
  void SetFlushLockForTesting(bool enabled) override {
    for (std::uint32_t i = 0; i <= mask_; ++i) {
      buckets_[i].stack.SetFlushLockForTesting(enabled);
    }
  }

 private:
  // A bucket's stack and its counts share one line: a thread that just
  // pushed or popped owns it, so counting costs no further miss.
  struct alignas(64) Bucket {
    Stack stack;
    // Objects in the stack (may lag a concurrent push or pop).
    std::atomic<std::int64_t> objects{0};
    // The fewest `objects` seen after a pop since TakeLowWater().
    std::atomic<std::int64_t> low_water{0};
  };

  std::unique_ptr<Bucket[]> buckets_;
  const std::uint32_t mask_;
};

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_STACKED_SHARED_CACHE_H_
