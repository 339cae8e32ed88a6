#include "pool/internal/shared_cache.h"

#include <deque>
#include <memory>
#include <mutex>

#include "pool/internal/dwcas_stack.h"
#include "pool/internal/spinlock_stack.h"
#include "pool/internal/stacked_shared_cache.h"
#include "pool/internal/xchg_stack.h"

namespace poolkit::internal {
namespace {

// Strategy kNone: no shared cache; every object that leaves a thread cache
// goes to the OS (the baseline the other strategies are measured against).
class NoSharedCache final : public SharedCache {
 public:
  bool Push(std::uint32_t, FreeItem*, std::uint32_t) override { return false; }
  FreeItem* Pop(std::uint32_t) override { return nullptr; }
  FreeItem* PopAll(std::uint32_t) override { return nullptr; }
  void ReleaseBarrier() override {}
  std::int64_t Objects() const override { return 0; }
  std::int64_t TakeLowWater() override { return 0; }
  std::uint32_t buckets() const override { return 1; }
  void LockForFork() override {}
  void UnlockAfterFork() override {}
  std::int64_t CountByWalkingForTesting() const override { return 0; }
  void SetPopHookForTesting(PopHook, void*) override {}
  void SetFlushLockForTesting(bool) override {}
};

// The cold-first debugging aid: every free object in one FIFO behind a
// mutex, handed out oldest first as a cluster of one. Speed does not
// matter here, age does.
class ColdFirstSharedCache final : public SharedCache {
 public:
  bool Push(std::uint32_t, FreeItem* cluster, std::uint32_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (FreeItem* item = cluster; item != nullptr;) {
      FreeItem* next = item->next;
      fifo_.push_back(item);
      item = next;
    }
    return true;
  }
  FreeItem* Pop(std::uint32_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fifo_.empty()) return nullptr;
    FreeItem* item = fifo_.front();
    fifo_.pop_front();
    item->next = nullptr;
    return item;
  }
  FreeItem* PopAll(std::uint32_t bucket) override {
    if (bucket != 0) return nullptr;
    // Every object as a cluster of one, linked by next_cluster.
    std::lock_guard<std::mutex> lock(mu_);
    FreeItem* all = nullptr;
    while (!fifo_.empty()) {
      FreeItem* item = fifo_.back();
      fifo_.pop_back();
      item->next = nullptr;
      item->next_cluster = all;
      all = item;
    }
    return all;
  }
  void ReleaseBarrier() override {}
  std::int64_t Objects() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<std::int64_t>(fifo_.size());
  }
  // Nothing is ever judged spare by age here: Gc() and Flush() trim.
  std::int64_t TakeLowWater() override { return 0; }
  std::uint32_t buckets() const override { return 1; }
  void LockForFork() override { mu_.lock(); }
  void UnlockAfterFork() override { mu_.unlock(); }
  std::int64_t CountByWalkingForTesting() const override { return Objects(); }
  void SetPopHookForTesting(PopHook, void*) override {}
  void SetFlushLockForTesting(bool) override {}

 private:
  mutable std::mutex mu_;
  std::deque<FreeItem*> fifo_;
};

}  // namespace

std::unique_ptr<SharedCache> MakeSharedCache(SharedCacheStrategy strategy,
                                             std::uint32_t buckets,
                                             bool cold_first) {
  if (cold_first) return std::make_unique<ColdFirstSharedCache>();
  switch (strategy) {
    case SharedCacheStrategy::kSpinlock:
      return std::make_unique<StackedSharedCache<SpinlockStack>>(buckets);
    case SharedCacheStrategy::kDwcas:
      return std::make_unique<StackedSharedCache<DwcasStack>>(buckets);
    case SharedCacheStrategy::kXchg:
      return std::make_unique<StackedSharedCache<XchgStack>>(buckets);
    case SharedCacheStrategy::kNone:
      break;
  }
  return std::make_unique<NoSharedCache>();
}

}  // namespace poolkit::internal
