// The needed-average rule: after a spike, once the load is small again,
// the pool gives memory back to the OS allocator by itself.
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pool/pool.h"
#include "pool/registry.h"
#include "testing/stress_util.h"

namespace poolkit {
namespace {

class ReleaseToOsTest : public ::testing::TestWithParam<SharedCacheStrategy> {};

TEST_P(ReleaseToOsTest, AllocatedFallsBackAfterSpike) {
  // A small thread cache, so that a modest working set already moves
  // through the shared cache (and the rule) all the time.
  const std::size_t old_budget = ThreadCacheBudget();
  SetThreadCacheBudget(16 * 1024);
  PoolOptions options;
  options.name = "spike-" + std::string(StrategyName(GetParam()));
  options.object_size = 64;
  options.strategy = GetParam();
  options.minavail = 32;
  Pool* pool = *CreatePool(options);

  const std::size_t spike = 20000;
  std::vector<void*> objects;
  for (std::size_t i = 0; i < spike; ++i) objects.push_back(pool->Alloc());
  EXPECT_EQ(pool->Stats().allocated, static_cast<std::int64_t>(spike));
  for (void* object : objects) pool->Free(object);
  objects.clear();

  // The quiet period: a working set of 600 objects, alloc'd and freed in
  // batches (more than the 16 KiB thread cache holds, so every batch goes
  // through the slow paths, which sample the load).
  const std::size_t working_set = 600;
  const std::size_t rounds = testing::Scaled(400);
  for (std::size_t r = 0; r < rounds; ++r) {
    for (std::size_t i = 0; i < working_set; ++i) {
      objects.push_back(pool->Alloc());
    }
    for (void* object : objects) pool->Free(object);
    objects.clear();
  }

  PoolStats stats = pool->Stats();
  // The average followed the load down...
  EXPECT_LT(stats.needed_avg, static_cast<std::int64_t>(2 * working_set));
  // ...and the pool kept no more than the rule allows: either under 1.25x
  // the need, or at most minavail spare (one cluster of slack either way:
  // the rule is applied before a cluster moves).
  const std::int64_t cluster = 8;
  EXPECT_TRUE(stats.allocated <= stats.needed_avg * 5 / 4 + cluster ||
              stats.shared_cached <=
                  static_cast<std::int64_t>(options.minavail) + cluster)
      << "allocated=" << stats.allocated << " needed=" << stats.needed_avg
      << " shared=" << stats.shared_cached;
  EXPECT_LT(stats.allocated, static_cast<std::int64_t>(spike / 4));

  // Gc() trims the shared cache down to minavail.
  Gc();
  stats = pool->Stats();
  EXPECT_LE(stats.shared_cached, static_cast<std::int64_t>(options.minavail));
  EXPECT_EQ(stats.in_use, 0);

  pool->Flush();
  EXPECT_TRUE(DestroyPool(pool).ok());
  SetThreadCacheBudget(old_budget);
}

INSTANTIATE_TEST_SUITE_P(
    SharedStrategies, ReleaseToOsTest,
    ::testing::Values(SharedCacheStrategy::kSpinlock,
                      SharedCacheStrategy::kDwcas, SharedCacheStrategy::kXchg),
    [](const ::testing::TestParamInfo<SharedCacheStrategy>& info) {
      return std::string(StrategyName(info.param));
    });

}  // namespace
}  // namespace poolkit
