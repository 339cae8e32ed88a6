#include "pool/pmr_resource.h"

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory_resource>
#include <new>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "pool/pool.h"
#include "pool/registry.h"

namespace poolkit {
namespace {

// new/delete, counting the calls and the bytes outstanding.
class CountingResource : public std::pmr::memory_resource {
 public:
  int allocations() const { return allocations_; }
  int deallocations() const { return deallocations_; }
  std::size_t bytes_outstanding() const { return bytes_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    ++allocations_;
    bytes_ += bytes;
    return std::pmr::new_delete_resource()->allocate(bytes, alignment);
  }
  void do_deallocate(void* p, std::size_t bytes,
                     std::size_t alignment) override {
    ++deallocations_;
    bytes_ -= bytes;
    std::pmr::new_delete_resource()->deallocate(p, bytes, alignment);
  }
  bool do_is_equal(
      const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  int allocations_ = 0;
  int deallocations_ = 0;
  std::size_t bytes_ = 0;
};

Pool* MakePool(const std::string& name, std::size_t size,
               std::size_t limit = 0) {
  PoolOptions options;
  options.name = name;
  options.object_size = size;
  options.limit = limit;
  absl::StatusOr<Pool*> pool = CreatePool(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *pool : nullptr;
}

TEST(PoolMemoryResourceTest, ListNodesComeFromThePool) {
  Pool* pool = MakePool("pmr-list", 64);
  ASSERT_NE(pool, nullptr);
  CountingResource upstream;
  PoolMemoryResource resource(pool, &upstream);
  EXPECT_EQ(resource.pool(), pool);
  EXPECT_EQ(resource.upstream(), &upstream);
  {
    std::pmr::list<int> list(&resource);
    for (int i = 0; i < 1000; ++i) list.push_back(i);
    EXPECT_EQ(pool->Stats().in_use, 1000);
    EXPECT_EQ(upstream.allocations(), 0);
    int expected = 0;
    for (int value : list) EXPECT_EQ(value, expected++);
    for (int i = 0; i < 500; ++i) list.pop_front();
    EXPECT_EQ(pool->Stats().in_use, 500);
  }
  EXPECT_EQ(pool->Stats().in_use, 0);
  EXPECT_EQ(upstream.allocations(), 0);
  EXPECT_EQ(upstream.deallocations(), 0);
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST(PoolMemoryResourceTest, MapNodesComeFromThePool) {
  Pool* pool = MakePool("pmr-map", 64);
  ASSERT_NE(pool, nullptr);
  CountingResource upstream;
  PoolMemoryResource resource(pool, &upstream);
  {
    std::pmr::map<int, long> map(&resource);
    for (int i = 0; i < 300; ++i) map[i] = i * 2;
    EXPECT_EQ(pool->Stats().in_use, 300);
    EXPECT_EQ(map.at(150), 300);
  }
  EXPECT_EQ(pool->Stats().in_use, 0);
  EXPECT_EQ(upstream.allocations(), 0);
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST(PoolMemoryResourceTest, LargeOrOverAlignedRequestsGoUpstream) {
  Pool* pool = MakePool("pmr-upstream", 64);
  ASSERT_NE(pool, nullptr);
  CountingResource upstream;
  PoolMemoryResource resource(pool, &upstream);

  void* large = resource.allocate(4096);
  ASSERT_NE(large, nullptr);
  EXPECT_EQ(upstream.allocations(), 1);
  EXPECT_EQ(upstream.bytes_outstanding(), 4096u);
  EXPECT_EQ(pool->Stats().in_use, 0);

  // One byte over the object size.
  void* just_over = resource.allocate(pool->object_size() + 1);
  EXPECT_EQ(upstream.allocations(), 2);
  // Small, but more aligned than the pool's objects.
  void* aligned = resource.allocate(32, 2 * pool->alignment());
  EXPECT_EQ(upstream.allocations(), 3);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned) % (2 * pool->alignment()),
            0u);
  EXPECT_EQ(pool->Stats().in_use, 0);

  // Exactly the object size: from the pool.
  void* fits = resource.allocate(pool->object_size(), pool->alignment());
  EXPECT_EQ(upstream.allocations(), 3);
  EXPECT_EQ(pool->Stats().in_use, 1);

  resource.deallocate(large, 4096);
  resource.deallocate(just_over, pool->object_size() + 1);
  resource.deallocate(aligned, 32, 2 * pool->alignment());
  EXPECT_EQ(upstream.deallocations(), 3);
  EXPECT_EQ(upstream.bytes_outstanding(), 0u);
  EXPECT_EQ(pool->Stats().in_use, 1);
  resource.deallocate(fits, pool->object_size(), pool->alignment());
  EXPECT_EQ(upstream.deallocations(), 3);
  EXPECT_EQ(pool->Stats().in_use, 0);
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST(PoolMemoryResourceTest, VectorStorageGoesUpstream) {
  Pool* pool = MakePool("pmr-vector", 64);
  ASSERT_NE(pool, nullptr);
  CountingResource upstream;
  PoolMemoryResource resource(pool, &upstream);
  {
    std::pmr::vector<std::uint64_t> vector(&resource);
    for (std::uint64_t i = 0; i < 1000; ++i) vector.push_back(i);
    EXPECT_GT(upstream.allocations(), 0);
    EXPECT_GT(upstream.bytes_outstanding(), 0u);
  }
  EXPECT_EQ(upstream.bytes_outstanding(), 0u);
  EXPECT_EQ(upstream.allocations(), upstream.deallocations());
  EXPECT_EQ(pool->Stats().in_use, 0);
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST(PoolMemoryResourceTest, IsEqualNeedsSamePoolAndEqualUpstream) {
  Pool* pool = MakePool("pmr-equal-a", 64);
  Pool* other = MakePool("pmr-equal-b", 64);
  ASSERT_NE(pool, nullptr);
  ASSERT_NE(other, nullptr);
  CountingResource upstream;
  CountingResource other_upstream;
  PoolMemoryResource a(pool, &upstream);
  PoolMemoryResource a_again(pool, &upstream);
  PoolMemoryResource b(other, &upstream);
  PoolMemoryResource a_other_upstream(pool, &other_upstream);
  PoolMemoryResource a_default(pool);
  PoolMemoryResource a_default_again(pool);

  EXPECT_TRUE(a.is_equal(a));
  EXPECT_TRUE(a.is_equal(a_again));
  EXPECT_TRUE(a_again.is_equal(a));
  EXPECT_TRUE(a == a_again);
  EXPECT_FALSE(a.is_equal(b));
  EXPECT_FALSE(b.is_equal(a));
  EXPECT_FALSE(a.is_equal(a_other_upstream));
  EXPECT_TRUE(a_default.is_equal(a_default_again));
  EXPECT_EQ(a_default.upstream(), std::pmr::get_default_resource());
  // Not a PoolMemoryResource at all.
  EXPECT_FALSE(a.is_equal(upstream));
  EXPECT_FALSE(a.is_equal(*std::pmr::new_delete_resource()));

  // Equal resources can free each other's memory.
  void* p = a.allocate(16);
  a_again.deallocate(p, 16);
  EXPECT_EQ(pool->Stats().in_use, 0);

  EXPECT_TRUE(DestroyPool(pool).ok());
  EXPECT_TRUE(DestroyPool(other).ok());
}

TEST(PoolMemoryResourceTest, PoolAtItsLimitThrowsBadAlloc) {
  Pool* pool = MakePool("pmr-limit", 64, /*limit=*/3);
  ASSERT_NE(pool, nullptr);
  CountingResource upstream;
  PoolMemoryResource resource(pool, &upstream);
  std::vector<void*> objects;
  for (int i = 0; i < 3; ++i) objects.push_back(resource.allocate(24));
  EXPECT_THROW(static_cast<void>(resource.allocate(24)), std::bad_alloc);
  EXPECT_EQ(upstream.allocations(), 0);  // no fallback upstream
  EXPECT_EQ(pool->Stats().limit_failures, 1u);

  // Through a container: the exception reaches the caller, the list is
  // left as it was.
  resource.deallocate(objects.back(), 24);
  objects.pop_back();
  {
    std::pmr::list<int> list(&resource);
    list.push_back(1);
    EXPECT_THROW(list.push_back(2), std::bad_alloc);
    EXPECT_EQ(list.size(), 1u);
  }
  for (void* p : objects) resource.deallocate(p, 24);
  EXPECT_EQ(pool->Stats().in_use, 0);
  EXPECT_TRUE(DestroyPool(pool).ok());
}

// Found in review: a shared pool may grow when another user merges into it;
// a block the resource took upstream before the growth must still go back
// upstream, not into the pool.
TEST(PoolMemoryResourceTest, RoutesByGeometryAtConstructionAfterMergeGrowth) {
  PoolOptions options;
  options.name = "pmr-grow-a";
  options.object_size = 32;
  options.flags = kPoolShared;
  Pool* pool = *CreatePool(options);
  CountingResource upstream;
  PoolMemoryResource resource(pool, &upstream);
  void* block = resource.allocate(40, 8);  // larger than 32: upstream
  EXPECT_EQ(upstream.allocations(), 1);
  options.name = "pmr-grow-b";
  options.object_size = 40;
  Pool* merged = *CreatePool(options);
  ASSERT_EQ(merged, pool);
  EXPECT_EQ(pool->object_size(), 48u);  // grew
  resource.deallocate(block, 40, 8);
  EXPECT_EQ(upstream.deallocations(), 1);
  EXPECT_EQ(upstream.bytes_outstanding(), 0u);
  EXPECT_TRUE(DestroyPool(pool).ok());
  EXPECT_TRUE(DestroyPool(pool).ok());
}

}  // namespace
}  // namespace poolkit
