#include "pool/pool.h"

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pool/internal/pool_test_peer.h"
#include "pool/registry.h"

namespace poolkit {
namespace {

class PoolPerStrategyTest
    : public ::testing::TestWithParam<SharedCacheStrategy> {
 protected:
  Pool* MakePool(const std::string& base, std::size_t size) {
    PoolOptions options;
    options.name = base + "-" + std::string(StrategyName(GetParam()));
    options.object_size = size;
    options.strategy = GetParam();
    absl::StatusOr<Pool*> pool = CreatePool(options);
    EXPECT_TRUE(pool.ok()) << pool.status();
    return *pool;
  }
};

TEST_P(PoolPerStrategyTest, AllocFreeRoundTrip) {
  Pool* pool = MakePool("roundtrip", 100);
  EXPECT_EQ(pool->object_size(), 112u);  // rounded up to 16
  std::vector<void*> objects;
  std::set<void*> distinct;
  for (int i = 0; i < 1000; ++i) {
    void* p = pool->Alloc();
    ASSERT_NE(p, nullptr);
    std::memset(p, 0xab, pool->object_size());
    objects.push_back(p);
    distinct.insert(p);
  }
  EXPECT_EQ(distinct.size(), objects.size());
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.allocated, 1000);
  EXPECT_EQ(stats.in_use, 1000);
  for (void* p : objects) pool->Free(p);
  stats = pool->Stats();
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.allocated, stats.thread_cached + stats.shared_cached);
  EXPECT_EQ(static_cast<std::size_t>(stats.shared_cached),
            internal::PoolTestPeer::CountShared(*pool));
  pool->Free(nullptr);
  pool->Flush();
  stats = pool->Stats();
  EXPECT_EQ(stats.allocated, 0);
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST_P(PoolPerStrategyTest, AllocZeroedClears) {
  Pool* pool = MakePool("zeroed", 64);
  void* p = pool->Alloc();
  std::memset(p, 0xff, 64);
  pool->Free(p);
  auto* q = static_cast<unsigned char*>(pool->AllocZeroed());
  for (int i = 0; i < 64; ++i) EXPECT_EQ(q[i], 0) << i;
  pool->Free(q);
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST_P(PoolPerStrategyTest, LargeObjectsBypassThreadCache) {
  Pool* pool = MakePool("large", 2 << 20);
  EXPECT_FALSE(pool->thread_cacheable());
  // Past the byte budget: a stash of 2 (one object of budget, one more).
  ASSERT_EQ(pool->stash_capacity(), 2u);
  void* objects[3];
  for (void*& p : objects) {
    p = pool->Alloc();
    ASSERT_NE(p, nullptr);
  }
  for (void* p : objects) pool->Free(p);
  // The third free found the stash full: the stash left as one cluster,
  // the third object stayed.
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.thread_cached, 1);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.shared_cached,
            GetParam() == SharedCacheStrategy::kNone ? 0 : 2);
  pool->Flush();
  EXPECT_TRUE(DestroyPool(pool).ok());
}

INSTANTIATE_TEST_SUITE_P(
    AllStrategies, PoolPerStrategyTest,
    ::testing::Values(SharedCacheStrategy::kSpinlock,
                      SharedCacheStrategy::kDwcas, SharedCacheStrategy::kXchg,
                      SharedCacheStrategy::kNone),
    [](const ::testing::TestParamInfo<SharedCacheStrategy>& info) {
      return std::string(StrategyName(info.param));
    });

}  // namespace
}  // namespace poolkit
