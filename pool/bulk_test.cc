// AllocBulk / FreeBulk / Reserve: objects handed out once, all or nothing at
// the limit, nothing lost, the wrong-pool check past the budget, and a
// reservation that the next allocations and the release rule leave alone.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "pool/internal/release_clock.h"
#include "pool/pool.h"
#include "pool/registry.h"

namespace poolkit {
namespace {

Pool* MakePool(const std::string& name, std::size_t size,
               SharedCacheStrategy strategy, PoolBacking backing,
               std::size_t limit = 0) {
  PoolOptions options;
  options.name = name;
  options.object_size = size;
  options.strategy = strategy;
  options.backing = backing;
  options.limit = limit;
  absl::StatusOr<Pool*> pool = CreatePool(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *pool : nullptr;
}

// Every object back, then the pool gives everything to the OS and can go.
void ExpectDrainedAndDestroy(Pool* pool) {
  pool->Flush();
  const PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.allocated, 0) << stats.name;
  EXPECT_EQ(stats.os_allocs, stats.os_releases) << stats.name;
  EXPECT_TRUE(DestroyPool(pool).ok());
}

using BulkParam = std::tuple<SharedCacheStrategy, PoolBacking, std::size_t>;

class BulkTest : public ::testing::TestWithParam<BulkParam> {
 protected:
  Pool* Make(const std::string& what, std::size_t limit = 0) {
    const auto [strategy, backing, size] = GetParam();
    return MakePool(what + "." + std::string(StrategyName(strategy)) + "." +
                        std::string(BackingName(backing)) + "." +
                        std::to_string(size),
                    size, strategy, backing, limit);
  }
  std::size_t size() const { return std::get<2>(GetParam()); }
};

// More objects than a thread caches (512 KiB), so that both calls go past
// the thread's list into the shared cache and the backing.
std::size_t ManyObjects(std::size_t size) {
  return std::max<std::size_t>(64, (2u << 20) / size);
}

TEST_P(BulkTest, HandsOutDistinctObjectsAndTakesThemAllBack) {
  Pool* pool = Make("b.d");
  ASSERT_NE(pool, nullptr);
  const std::size_t n = ManyObjects(size());
  std::vector<void*> objects(n);
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(pool->AllocBulk(n, objects.data()));
    std::set<void*> distinct(objects.begin(), objects.end());
    EXPECT_EQ(distinct.size(), n);
    EXPECT_EQ(distinct.count(nullptr), 0u);
    for (void* p : objects) {
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % pool->alignment(), 0u);
      // Each object's bytes are the caller's: write all of them.
      std::memset(p, round, pool->object_size());
    }
    EXPECT_EQ(pool->Stats().in_use, static_cast<std::int64_t>(n));
    pool->FreeBulk(n, objects.data());
    EXPECT_EQ(pool->Stats().in_use, 0);
  }
  ExpectDrainedAndDestroy(pool);
}

TEST_P(BulkTest, IsAllOrNothingAtTheLimit) {
  constexpr std::size_t kLimit = 100;
  Pool* pool = Make("b.l", kLimit);
  ASSERT_NE(pool, nullptr);
  std::vector<void*> first(60), second(60), rest(40);
  ASSERT_TRUE(pool->AllocBulk(60, first.data()));
  EXPECT_FALSE(pool->AllocBulk(60, second.data()));
  const PoolStats failed = pool->Stats();
  EXPECT_EQ(failed.failed, 1u);
  EXPECT_EQ(failed.limit_failures, 1u);
  EXPECT_EQ(failed.in_use, 60);  // the 40 the failed call got came back
  // ... so the last 40 are all there.
  ASSERT_TRUE(pool->AllocBulk(40, rest.data()));
  std::set<void*> distinct(first.begin(), first.end());
  distinct.insert(rest.begin(), rest.end());
  EXPECT_EQ(distinct.size(), kLimit);
  EXPECT_EQ(pool->Stats().allocated, static_cast<std::int64_t>(kLimit));
  pool->FreeBulk(60, first.data());
  pool->FreeBulk(40, rest.data());
  ExpectDrainedAndDestroy(pool);
}

TEST_P(BulkTest, FreeBulkSkipsNullEntries) {
  Pool* pool = Make("b.n");
  ASSERT_NE(pool, nullptr);
  std::vector<void*> objects(10);
  ASSERT_TRUE(pool->AllocBulk(10, objects.data()));
  std::vector<void*> with_nulls;
  for (void* p : objects) {
    with_nulls.push_back(nullptr);
    with_nulls.push_back(p);
  }
  pool->FreeBulk(with_nulls.size(), with_nulls.data());
  EXPECT_EQ(pool->Stats().in_use, 0);
  pool->FreeBulk(0, nullptr);
  EXPECT_TRUE(pool->AllocBulk(0, nullptr));
  ExpectDrainedAndDestroy(pool);
}

TEST_P(BulkTest, ReserveCoversTheNextAllocationsWithoutTheOs) {
  Pool* pool = Make("b.r");
  ASSERT_NE(pool, nullptr);
  const std::size_t n = ManyObjects(size());
  if (std::get<0>(GetParam()) == SharedCacheStrategy::kNone) {
    // No shared cache to keep a reservation in (ReserveTest below).
    EXPECT_FALSE(pool->Reserve(n));
    ExpectDrainedAndDestroy(pool);
    return;
  }
  ASSERT_TRUE(pool->Reserve(n));
  const PoolStats reserved = pool->Stats();
  EXPECT_GE(reserved.shared_cached, static_cast<std::int64_t>(n));
  EXPECT_EQ(reserved.reserved, n);
  std::vector<void*> objects;
  for (std::size_t i = 0; i < n; ++i) {
    objects.push_back(pool->Alloc());
    ASSERT_NE(objects.back(), nullptr);
  }
  EXPECT_EQ(pool->Stats().os_allocs, reserved.os_allocs);
  for (void* p : objects) pool->Free(p);
  // A second Reserve finds what it needs in the cache.
  pool->Flush();  // Trim(0): the reservation's objects go as told
  ASSERT_TRUE(pool->Reserve(n));
  const PoolStats again = pool->Stats();
  ASSERT_TRUE(pool->Reserve(n));
  EXPECT_EQ(pool->Stats().os_allocs, again.os_allocs);
  pool->Reserve(0);
  ExpectDrainedAndDestroy(pool);
}

INSTANTIATE_TEST_SUITE_P(
    StrategiesBackingsSizes, BulkTest,
    ::testing::Combine(::testing::Values(SharedCacheStrategy::kXchg,
                                         SharedCacheStrategy::kSpinlock,
                                         SharedCacheStrategy::kDwcas,
                                         SharedCacheStrategy::kNone),
                       ::testing::Values(PoolBacking::kSpans,
                                         PoolBacking::kMalloc),
                       // Cacheable, cacheable in few-object clusters, and
                       // past the byte budget (the stash's paths).
                       ::testing::Values(64, 16384, 256 * 1024)),
    [](const ::testing::TestParamInfo<BulkParam>& info) {
      return std::string(StrategyName(std::get<0>(info.param))) + "_" +
             std::string(BackingName(std::get<1>(info.param))) + "_" +
             std::to_string(std::get<2>(info.param));
    });

// Strategy none keeps no spare object: nothing to reserve.
TEST(ReserveTest, RefusedWherePoolsKeepNoSpares) {
  Pool* pool = MakePool("reserve.none", 64, SharedCacheStrategy::kNone,
                        PoolBacking::kSpans);
  ASSERT_NE(pool, nullptr);
  EXPECT_FALSE(pool->Reserve(100));
  EXPECT_EQ(pool->Stats().allocated, 0);
  EXPECT_EQ(pool->reserved(), 0u);
  EXPECT_TRUE(pool->Reserve(0));
  ExpectDrainedAndDestroy(pool);
}

TEST(ReserveTest, StopsAtTheLimitWithExactAccounting) {
  for (PoolBacking backing : {PoolBacking::kSpans, PoolBacking::kMalloc}) {
    Pool* pool =
        MakePool("reserve.limit." + std::string(BackingName(backing)), 64,
                 SharedCacheStrategy::kXchg, backing, /*limit=*/100);
    ASSERT_NE(pool, nullptr);
    EXPECT_FALSE(pool->Reserve(250));
    const PoolStats stats = pool->Stats();
    EXPECT_EQ(stats.allocated, 100);
    EXPECT_EQ(stats.shared_cached, 100);
    EXPECT_EQ(stats.limit_failures, 1u);
    EXPECT_EQ(stats.os_allocs, 100u);
    pool->Reserve(0);
    ExpectDrainedAndDestroy(pool);
  }
}

// Debug pools put the reserved objects through their free path: the tag
// and integrity checks on reuse find nothing wrong with them.
TEST(ReserveTest, DebugPoolsReserveCheckedObjects) {
  PoolOptions options;
  options.name = "reserve.debug";
  options.object_size = 96;
  options.debug.tag = true;
  options.debug.integrity = true;
  Pool* pool = *CreatePool(options);
  ASSERT_TRUE(pool->Reserve(50));
  const PoolStats reserved = pool->Stats();
  EXPECT_GE(reserved.shared_cached, 50);
  std::vector<void*> objects(50);
  ASSERT_TRUE(pool->AllocBulk(50, objects.data()));
  EXPECT_EQ(pool->Stats().os_allocs, reserved.os_allocs);
  pool->FreeBulk(50, objects.data());
  pool->Reserve(0);
  ExpectDrainedAndDestroy(pool);
}

std::atomic<std::int64_t> g_now{0};
std::int64_t FakeNow() { return g_now.load(std::memory_order_relaxed); }

// The release rule gives back idle spares beyond the need; reserved ones
// stay through any number of idle intervals and through Gc(), until
// Reserve(0).
TEST(ReserveTest, TheReleaseRuleAndGcKeepTheReservation) {
  internal::SetReleaseClockForTesting(FakeNow);
  const std::int64_t interval = internal::SpareReleaseIntervalNanos();
  Pool* pool = MakePool("reserve.rule", 256, SharedCacheStrategy::kXchg,
                        PoolBacking::kSpans);
  ASSERT_NE(pool, nullptr);
  constexpr std::size_t kReserve = 4000;
  ASSERT_TRUE(pool->Reserve(kReserve));
  const PoolStats before = pool->Stats();
  for (int i = 0; i < 30; ++i) {
    g_now.fetch_add(interval, std::memory_order_relaxed);
    RunMaintenance();
  }
  Gc();
  const PoolStats after = pool->Stats();
  EXPECT_EQ(after.os_releases, before.os_releases);
  EXPECT_GE(after.shared_cached, static_cast<std::int64_t>(kReserve));
  // Without the floor, the same idle intervals give the spares back.
  pool->Reserve(0);
  for (int i = 0; i < 30; ++i) {
    g_now.fetch_add(interval, std::memory_order_relaxed);
    RunMaintenance();
  }
  EXPECT_LT(pool->Stats().shared_cached, static_cast<std::int64_t>(kReserve));
  internal::SetReleaseClockForTesting(nullptr);
  ExpectDrainedAndDestroy(pool);
}

// Two threads trade batches: each writes its mark into every object it
// holds and checks the marks before freeing, so an object handed to both
// at once would show the other's mark.
TEST(BulkConcurrencyTest, TwoThreadsBatchingNeverShareAnObject) {
  for (PoolBacking backing : {PoolBacking::kSpans, PoolBacking::kMalloc}) {
    Pool* pool = MakePool("bulk.threads." + std::string(BackingName(backing)),
                          128, SharedCacheStrategy::kDwcas, backing);
    ASSERT_NE(pool, nullptr);
    std::atomic<int> faults{0};
    auto worker = [&](std::uintptr_t mark) {
      std::vector<void*> objects(300);
      for (int round = 0; round < 400; ++round) {
        const std::size_t n = 1 + (round * 37) % objects.size();
        if (!pool->AllocBulk(n, objects.data())) {
          faults.fetch_add(1);
          return;
        }
        for (std::size_t i = 0; i < n; ++i) {
          static_cast<std::uintptr_t*>(objects[i])[3] = mark;
        }
        std::this_thread::yield();
        for (std::size_t i = 0; i < n; ++i) {
          if (static_cast<std::uintptr_t*>(objects[i])[3] != mark) {
            faults.fetch_add(1);
          }
        }
        pool->FreeBulk(n, objects.data());
      }
      ReleaseThreadCache();
    };
    std::thread a(worker, 0xa11ce), b(worker, 0xb0b);
    a.join();
    b.join();
    EXPECT_EQ(faults.load(), 0);
    ExpectDrainedAndDestroy(pool);
  }
}

// Past the thread's budget FreeBulk checks each object like a slow-path
// Free(): objects of another span-backed pool stop the process.
TEST(BulkDeathTest, FreeBulkOfAnotherPoolsObjectsAborts) {
  EXPECT_DEATH(
      {
        Pool* a = MakePool("bulk.owner.a", 16384, SharedCacheStrategy::kXchg,
                           PoolBacking::kSpans);
        Pool* b = MakePool("bulk.owner.b", 16384, SharedCacheStrategy::kXchg,
                           PoolBacking::kSpans);
        std::vector<void*> objects(200);  // 3.2 MiB, past the budget
        if (!a->AllocBulk(objects.size(), objects.data())) std::abort();
        b->FreeBulk(objects.size(), objects.data());
      },
      "free to the wrong pool.*bulk.owner.b.*bulk.owner.a");
}

}  // namespace
}  // namespace poolkit
