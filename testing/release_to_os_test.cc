// The release rule: after a spike, once the load is small again, the pool
// gives memory back to the OS allocator by itself, within about
// log(spike / need) / log(4/3) release intervals of slow paths or maintenance;
// and a steady load makes no OS call even while interval after interval passes.
// The release clock is the test's own (no sleeps).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pool/internal/pool_test_peer.h"
#include "pool/internal/release_clock.h"
#include "pool/pool.h"
#include "pool/registry.h"
#include "testing/stress_util.h"

namespace poolkit {
namespace {

constexpr std::int64_t kIntervalNs = 1000000000;  // the default, 1 s
std::atomic<std::int64_t> g_now{0};
std::int64_t FakeNow() { return g_now.load(std::memory_order_relaxed); }

class ReleaseToOsTest : public ::testing::TestWithParam<SharedCacheStrategy> {
 protected:
  void SetUp() override {
    old_budget_ = ThreadCacheBudget();
    // A small thread cache, so that a modest working set already moves
    // through the shared cache all the time.
    SetThreadCacheBudget(16 * 1024);
    internal::SetReleaseClockForTesting(FakeNow);
    SetSpareReleaseInterval(std::chrono::milliseconds(kIntervalNs / 1000000));
  }
  void TearDown() override {
    internal::SetReleaseClockForTesting(nullptr);
    SetThreadCacheBudget(old_budget_);
  }

  // Rounds of a working set alloc'd and freed in a batch (more than the
  // 16 KiB thread cache holds), the clock advancing by `step` per round.
  static void Load(Pool* pool, std::size_t working_set, std::size_t rounds,
                   std::int64_t step) {
    std::vector<void*> objects;
    for (std::size_t r = 0; r < rounds; ++r) {
      for (std::size_t i = 0; i < working_set; ++i) {
        void* object = pool->Alloc();
        ASSERT_NE(object, nullptr);
        objects.push_back(object);
      }
      for (void* object : objects) pool->Free(object);
      objects.clear();
      g_now.fetch_add(step, std::memory_order_relaxed);
    }
  }

  std::size_t old_budget_ = 0;
};

TEST_P(ReleaseToOsTest, AllocatedFallsBackAfterSpike) {
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
  // Freeing sends nothing to the OS: spares stay until the rule runs.
  EXPECT_EQ(pool->Stats().os_releases, 0u);

  // Within one interval the spike is still what the pool needed lately.
  const std::size_t working_set = 600;
  Load(pool, working_set, 40, kIntervalNs / 100);
  EXPECT_EQ(pool->Stats().os_releases, 0u);

  // Twenty more intervals of the small load: the spike is forgotten (the
  // need loses a quarter per interval).
  Load(pool, working_set, 2000, kIntervalNs / 100);
  PoolStats stats = pool->Stats();
  EXPECT_GT(stats.os_releases, 0u);
  EXPECT_LT(stats.allocated, static_cast<std::int64_t>(2 * working_set))
      << "needed=" << stats.needed_avg << " shared=" << stats.shared_cached;
  EXPECT_GE(stats.allocated, static_cast<std::int64_t>(working_set));

  // Steady from here: intervals pass, no OS call either way.
  Load(pool, working_set, 100, kIntervalNs / 100);
  const PoolStats steady = pool->Stats();
  Load(pool, working_set, testing::Scaled(500), kIntervalNs / 100);
  stats = pool->Stats();
  EXPECT_EQ(stats.os_allocs, steady.os_allocs);
  EXPECT_EQ(stats.os_releases, steady.os_releases);

  // Gc() trims the shared cache down to minavail at once.
  Gc();
  stats = pool->Stats();
  EXPECT_LE(stats.shared_cached, static_cast<std::int64_t>(options.minavail));
  EXPECT_EQ(stats.in_use, 0);

  pool->Flush();
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST_P(ReleaseToOsTest, RuleKeepsWhatTheLoadNeeds) {
  PoolOptions options;
  options.name = "rule-" + std::string(StrategyName(GetParam()));
  options.object_size = 64;
  options.strategy = GetParam();
  Pool* pool = *CreatePool(options);
  std::vector<void*> objects;
  for (int i = 0; i < 4096; ++i) objects.push_back(pool->Alloc());
  // 1024 stay in use; the rest become spare.
  for (std::size_t i = 1024; i < objects.size(); ++i) pool->Free(objects[i]);
  objects.resize(1024);
  // Intervals with nothing out beyond the 1024 (and the thread cache): the
  // first sees the whole pool as needed (no low-water mark yet), and the
  // need then loses a quarter per interval down to what is out.
  for (int interval = 0; interval < 10; ++interval) {
    internal::PoolTestPeer::RunReleaseRule(*pool);
  }
  PoolStats stats = pool->Stats();
  const std::int64_t need = stats.needed_avg;
  EXPECT_GE(need, 1024);
  EXPECT_LE(need, 1024 + stats.thread_cached);
  // The rule released (4096 were allocated) and keeps between the need and
  // the point where it starts releasing (1.5x, at least two clusters more;
  // one cluster of rounding either way).
  const std::int64_t cluster = pool->cluster_objects();
  const std::int64_t release_point =
      need + std::max<std::int64_t>(need / 2, 2 * cluster);
  EXPECT_LT(stats.allocated, 4096);
  EXPECT_LE(stats.allocated, release_point + cluster);
  EXPECT_GE(stats.allocated, need);
  EXPECT_GT(stats.os_releases, 0u);
  for (void* object : objects) pool->Free(object);
  pool->Flush();
  EXPECT_TRUE(DestroyPool(pool).ok());
}

// A burst that recurs every third interval (a job that runs now and then)
// keeps its memory: the need is the highest of the last four intervals, so
// after the first burst no interval releases and no burst allocates. With
// the need only decaying (a quarter per interval, the rule before the
// window; kNeedWindow = 1 here), two quiet intervals brought it to 56% of
// the burst, the rule released down to 1.25x that, and every burst took
// the difference from the OS again.
TEST_P(ReleaseToOsTest, ABurstEveryThirdIntervalKeepsItsMemory) {
  PoolOptions options;
  options.name = "burst-" + std::string(StrategyName(GetParam()));
  options.object_size = 256;
  options.strategy = GetParam();
  Pool* pool = *CreatePool(options);
  constexpr int kBurst = 4000;
  Load(pool, kBurst, 1, 0);  // one burst: alloc them all, free them all
  const PoolStats grown = pool->Stats();
  EXPECT_EQ(grown.os_allocs, static_cast<std::uint64_t>(kBurst));
  for (int interval = 1; interval <= 24; ++interval) {
    g_now.fetch_add(kIntervalNs, std::memory_order_relaxed);
    RunMaintenance();
    if (interval % 3 == 0) Load(pool, kBurst, 1, 0);
  }
  const PoolStats after = pool->Stats();
  EXPECT_EQ(after.os_allocs, grown.os_allocs);
  EXPECT_EQ(after.os_releases, grown.os_releases);
  pool->Flush();
  EXPECT_TRUE(DestroyPool(pool).ok());
}

// A pool that took a spike and then went quiet: no slow path runs at all,
// and maintenance alone (RunMaintenance(), what the maintenance thread
// calls once per interval) gives its spares back. The need is the highest
// of the last four intervals and then loses a quarter per interval, so a
// spike N times the steady need is forgotten in about
// 4 + log(N) / log(4/3) intervals: 8000 objects against a need of at most
// the thread's 64 cached ones, ~17 (~21 for the 200 below).
TEST_P(ReleaseToOsTest, IdlePoolGivesSparesBackThroughMaintenance) {
  PoolOptions options;
  options.name = "idle-" + std::string(StrategyName(GetParam()));
  options.object_size = 256;
  options.strategy = GetParam();
  Pool* pool = *CreatePool(options);
  std::vector<void*> objects;
  for (int i = 0; i < 8000; ++i) objects.push_back(pool->Alloc());
  for (void* object : objects) pool->Free(object);
  ASSERT_EQ(pool->Stats().allocated, 8000);
  // Within one interval nothing goes back, and the first releases start
  // once the need has fallen below 2/3 of what the pool holds.
  RunMaintenance();
  EXPECT_EQ(pool->Stats().os_releases, 0u);
  for (int i = 0; i < 20; ++i) {
    g_now.fetch_add(kIntervalNs, std::memory_order_relaxed);
    RunMaintenance();
  }
  PoolStats stats = pool->Stats();
  EXPECT_GT(stats.os_releases, 0u);
  // From 8000 down to the need (what this thread caches, still decaying
  // towards it) and the rule's slack.
  const std::int64_t cluster = pool->cluster_objects();
  EXPECT_LT(stats.allocated, 200);
  EXPECT_LE(stats.allocated,
            stats.needed_avg +
                std::max<std::int64_t>(stats.needed_avg / 2, 2 * cluster) +
                cluster)
      << "need " << stats.needed_avg;
  pool->Flush();
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST(MaintenanceThreadTest, StartsAndStops) {
  StartMaintenanceThread();
  StartMaintenanceThread();  // idempotent
  StopMaintenanceThread();
  StopMaintenanceThread();  // nothing left to stop
  StartMaintenanceThread();
  StopMaintenanceThread();
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
