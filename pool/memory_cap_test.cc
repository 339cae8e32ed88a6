// Byte limits per pool and the process memory cap: exact accounting, the
// failure counted where it happened, and other pools' spares given back
// before an allocation is refused.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pool/pool.h"
#include "pool/registry.h"

namespace poolkit {
namespace {

Pool* MakePool(const std::string& name, std::size_t size, PoolBacking backing,
               std::size_t limit_bytes = 0) {
  PoolOptions options;
  options.name = name;
  options.object_size = size;
  options.backing = backing;
  options.limit_bytes = limit_bytes;
  absl::StatusOr<Pool*> pool = CreatePool(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *pool : nullptr;
}

void FreeAll(Pool* pool, std::vector<void*>& objects) {
  for (void* p : objects) pool->Free(p);
  objects.clear();
}

class MemoryCapTest : public ::testing::Test {
 protected:
  void TearDown() override { SetMemoryCap(0); }
};

TEST_F(MemoryCapTest, ByteLimitAllowsWhatFitsAndCountsTheRest) {
  for (PoolBacking backing : {PoolBacking::kSpans, PoolBacking::kMalloc}) {
    // Ten 1 KiB objects and a few bytes: the eleventh does not fit.
    Pool* pool = MakePool("cap.bytes." + std::string(BackingName(backing)),
                          1024, backing, 10 * 1024 + 100);
    ASSERT_NE(pool, nullptr);
    std::vector<void*> objects;
    for (int i = 0; i < 10; ++i) {
      objects.push_back(pool->Alloc());
      ASSERT_NE(objects.back(), nullptr) << i;
    }
    EXPECT_EQ(pool->Alloc(), nullptr);
    PoolStats stats = pool->Stats();
    EXPECT_EQ(stats.allocated, 10);
    EXPECT_EQ(stats.limit_failures, 1u);
    EXPECT_EQ(stats.limit_bytes, 10u * 1024 + 100);
    FreeAll(pool, objects);
    pool->Flush();
    EXPECT_TRUE(DestroyPool(pool).ok());
  }
}

TEST_F(MemoryCapTest, ByteLimitsAreValidated) {
  PoolOptions options;
  options.name = "cap.invalid";
  options.object_size = 1024;
  options.limit_bytes = 1000;  // less than one object
  EXPECT_EQ(CreatePool(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.limit_bytes = 4096;
  options.minavail = 5;  // 5 KiB spare cannot fit 4 KiB
  EXPECT_EQ(CreatePool(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(MemoryCapTest, PoolMemoryBytesIsEveryPoolsObjectsTimesTheirSize) {
  const std::size_t before = PoolMemoryBytes();
  Pool* spans = MakePool("cap.count.spans", 64, PoolBacking::kSpans);
  Pool* mallocs = MakePool("cap.count.malloc", 1000, PoolBacking::kMalloc);
  ASSERT_NE(spans, nullptr);
  ASSERT_NE(mallocs, nullptr);
  std::vector<void*> a, b;
  for (int i = 0; i < 3000; ++i) a.push_back(spans->Alloc());
  for (int i = 0; i < 300; ++i) b.push_back(mallocs->Alloc());
  const auto held = [&] {
    return static_cast<std::size_t>(spans->Stats().allocated) *
               spans->object_size() +
           static_cast<std::size_t>(mallocs->Stats().allocated) *
               mallocs->object_size();
  };
  EXPECT_EQ(PoolMemoryBytes() - before, held());
  FreeAll(spans, a);
  FreeAll(mallocs, b);
  spans->Flush();
  mallocs->Flush();
  EXPECT_EQ(PoolMemoryBytes(), before);
  EXPECT_TRUE(DestroyPool(spans).ok());
  EXPECT_TRUE(DestroyPool(mallocs).ok());
}

TEST_F(MemoryCapTest, AllocationsPastTheCapFailAndAreCounted) {
  Pool* pool = MakePool("cap.refuse", 1024, PoolBacking::kSpans);
  ASSERT_NE(pool, nullptr);
  SetMemoryCap(PoolMemoryBytes() + 100 * 1024);
  EXPECT_EQ(MemoryCap(), PoolMemoryBytes() + 100 * 1024);
  std::vector<void*> objects;
  for (int i = 0; i < 1000; ++i) {
    void* p = pool->Alloc();
    if (p == nullptr) break;
    objects.push_back(p);
  }
  // Exactly what the cap leaves room for, carved in clusters cut to fit.
  EXPECT_EQ(objects.size(), 100u);
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.allocated, 100);
  EXPECT_EQ(stats.cap_failures, 1u);
  EXPECT_EQ(stats.failed, 1u);
  EXPECT_EQ(stats.limit_failures, 0u);
  EXPECT_LE(PoolMemoryBytes(), MemoryCap());
  // Bulk calls and Reserve meet the same cap.
  std::vector<void*> more(10);
  EXPECT_FALSE(pool->AllocBulk(more.size(), more.data()));
  EXPECT_FALSE(pool->Reserve(200));
  EXPECT_EQ(pool->Stats().cap_failures, 3u);
  pool->Reserve(0);
  FreeAll(pool, objects);
  SetMemoryCap(0);
  pool->Flush();
  EXPECT_TRUE(DestroyPool(pool).ok());
}

// HAProxy's -m: before refusing, every pool gives its spares back.
TEST_F(MemoryCapTest, OtherPoolsSparesGoBackBeforeARefusal) {
  Pool* idle = MakePool("cap.idle", 1024, PoolBacking::kMalloc);
  Pool* busy = MakePool("cap.busy", 1024, PoolBacking::kSpans);
  ASSERT_NE(idle, nullptr);
  ASSERT_NE(busy, nullptr);
  std::vector<void*> objects;
  for (int i = 0; i < 200; ++i) objects.push_back(idle->Alloc());
  FreeAll(idle, objects);
  ReleaseThreadCache();  // the 200 now sit in idle's shared cache
  ASSERT_EQ(idle->Stats().shared_cached, 200);
  SetMemoryCap(PoolMemoryBytes() + 50 * 1024);
  for (int i = 0; i < 200; ++i) {
    void* p = busy->Alloc();
    ASSERT_NE(p, nullptr) << i;
    objects.push_back(p);
  }
  EXPECT_EQ(idle->Stats().allocated, 0);
  PoolStats stats = busy->Stats();
  EXPECT_GE(stats.oom_gc_recovered, 1u);
  EXPECT_EQ(stats.cap_failures, 0u);
  FreeAll(busy, objects);
  SetMemoryCap(0);
  busy->Flush();
  EXPECT_TRUE(DestroyPool(idle).ok());
  EXPECT_TRUE(DestroyPool(busy).ok());
}

}  // namespace
}  // namespace poolkit
