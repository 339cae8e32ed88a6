#include "tools/poolbench/spinlock_free_list.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace poolkit::poolbench {

SpinlockFreeList::SpinlockFreeList(std::size_t object_size)
    : object_size_(object_size) {}

SpinlockFreeList::~SpinlockFreeList() {
  // No thread uses the list any more; the caller's join (or whatever ended
  // the threads) ordered their writes before this.
  void* object = head_;
  while (object != nullptr) {
    void* next;
    std::memcpy(&next, object, sizeof(next));
    std::free(object);
    object = next;
  }
}

bool SpinlockFreeList::Prefill(std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    void* object = std::malloc(object_size_);
    if (object == nullptr) return false;
    Free(object);
  }
  return true;
}

std::size_t SpinlockFreeList::CountFree() {
  Lock();
  std::size_t count = 0;
  for (void* object = head_; object != nullptr; ++count) {
    std::memcpy(&object, object, sizeof(object));
  }
  Unlock();
  return count;
}

void* SpinlockFreeList::AllocFromMalloc() {
  // Relaxed: a statistic (see FallbackAllocs()).
  fallback_allocs_.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(object_size_);
}

}  // namespace poolkit::poolbench
