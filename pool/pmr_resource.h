// A std::pmr::memory_resource that serves one object size from a pool.
#ifndef POOLKIT_POOL_PMR_RESOURCE_H_
#define POOLKIT_POOL_PMR_RESOURCE_H_

#include <cstddef>
#include <memory_resource>

#include "arch/cxx17_required.h"
#include "pool/pool.h"

namespace poolkit {

// Requests of at most the pool's object size and alignment come from the
// pool (node-based containers: std::pmr::list, map, set, unordered_map
// nodes); everything else goes to `upstream`. Deallocation routes by the
// same test, so both sides always agree.
//
// Alloc() failure throws std::bad_alloc, as memory_resource requires.
class PoolMemoryResource : public std::pmr::memory_resource {
 public:
  explicit PoolMemoryResource(Pool* pool, std::pmr::memory_resource* upstream =
                                              std::pmr::get_default_resource())
      : pool_(pool),
        upstream_(upstream),
        object_size_(pool->object_size()),
        alignment_(pool->alignment()) {}

  Pool* pool() const { return pool_; }
  std::pmr::memory_resource* upstream() const { return upstream_; }

 private:
  // Routed by the pool's geometry when the resource was made: a shared pool
  // may grow when another user merges into it, and deallocation must route
  // exactly as allocation did.
  bool FromPool(std::size_t bytes, std::size_t alignment) const {
    return bytes <= object_size_ && alignment <= alignment_;
  }

  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    if (!FromPool(bytes, alignment)) {
      return upstream_->allocate(bytes, alignment);
    }
    void* object = pool_->Alloc();
    if (object == nullptr) throw std::bad_alloc();
    return object;
  }

  void do_deallocate(void* object, std::size_t bytes,
                     std::size_t alignment) override {
    if (!FromPool(bytes, alignment)) {
      upstream_->deallocate(object, bytes, alignment);
      return;
    }
    pool_->Free(object);
  }

  bool do_is_equal(
      const std::pmr::memory_resource& other) const noexcept override {
    auto* that = dynamic_cast<const PoolMemoryResource*>(&other);
    return that != nullptr && that->pool_ == pool_ &&
           that->upstream_->is_equal(*upstream_);
  }

  Pool* pool_;
  std::pmr::memory_resource* upstream_;
  std::size_t object_size_;
  std::size_t alignment_;
};

}  // namespace poolkit

#endif  // POOLKIT_POOL_PMR_RESOURCE_H_
