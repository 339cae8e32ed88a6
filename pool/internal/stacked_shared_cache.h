// A shared cache made of one Stack per bucket: the common half of the
// spinlock, dwcas and xchg strategies. The stack type is the strategy
// (spinlock_stack.h, dwcas_stack.h, xchg_stack.h); it provides
//
//   void Push(FreeItem* cluster, std::uint32_t objects);
//   FreeItem* Pop();                FreeItem* PopAll();
//   std::int64_t Objects() const;   std::int64_t TakeLowWater();
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
    buckets_[bucket & mask_].stack.Push(cluster, objects);
    return true;
  }

  FreeItem* Pop(std::uint32_t home) override {
    // The home bucket first (where this thread's evictions went), then the
    // others (objects freed by other threads end up in theirs). Buckets that
    // look empty cost one load, no atomic operation.
    for (std::uint32_t i = 0; i <= mask_; ++i) {
      Stack& stack = buckets_[(home + i) & mask_].stack;
      if (stack.LooksEmpty()) continue;
      FreeItem* cluster = stack.Pop();
      if (cluster != nullptr) return cluster;
    }
    return nullptr;
  }

  FreeItem* PopAll(std::uint32_t bucket) override {
    return buckets_[bucket & mask_].stack.PopAll();
  }

  void ReleaseBarrier() override {
    for (std::uint32_t i = 0; i <= mask_; ++i) {
      buckets_[i].stack.ReleaseBarrier();
    }
  }

  std::int64_t Objects() const override {
    std::int64_t total = 0;
    for (std::uint32_t i = 0; i <= mask_; ++i) {
      total += buckets_[i].stack.Objects();
    }
    return total;
  }

  std::int64_t TakeLowWater() override {
    std::int64_t total = 0;
    for (std::uint32_t i = 0; i <= mask_; ++i) {
      total += buckets_[i].stack.TakeLowWater();
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
  // One stack per line (its count and low-water mark inside it, see
  // stack_counts.h): a thread that just pushed or popped owns the line, so
  // counting costs no further miss, and buckets never share a line.
  struct alignas(64) Bucket {
    Stack stack;
  };

  std::unique_ptr<Bucket[]> buckets_;
  const std::uint32_t mask_;
};

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_STACKED_SHARED_CACHE_H_
