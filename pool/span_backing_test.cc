// The span backing: geometry, carving, the page map (PoolOf, Free), spans
// returned to the OS, and the release-mode wrong-pool check.
#include <linux/mempolicy.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "pool/internal/span_geometry.h"
#include "pool/pool.h"
#include "pool/pool_dump.h"
#include "pool/pool_of.h"
#include "pool/registry.h"

namespace poolkit {
namespace {

using internal::ChooseSpanGeometry;
using internal::SpanGeometry;

Pool* MakeSpanPool(const std::string& name, std::size_t size,
                   SharedCacheStrategy strategy = SharedCacheStrategy::kXchg) {
  PoolOptions options;
  options.name = name;
  options.object_size = size;
  options.strategy = strategy;
  options.backing = PoolBacking::kSpans;
  absl::StatusOr<Pool*> pool = CreatePool(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *pool : nullptr;
}

TEST(SpanGeometryTest, SmallSizesFillOneGranuleExactly) {
  for (std::size_t size : {16, 64, 256, 768}) {
    SpanGeometry g = ChooseSpanGeometry(size, 16);
    EXPECT_EQ(g.span_bytes, 65536u) << size;
    EXPECT_EQ(g.objects, 65536u / size) << size;
    EXPECT_EQ(g.stride, size);
    EXPECT_EQ(g.alignment, 65536u);
    EXPECT_EQ(g.row_objects, g.objects) << size;  // no gaps
  }
}

// The line slot (of a page's 64) where each object of a span starts.
std::set<std::size_t> LineSlotsOfFirst(const SpanGeometry& g, std::size_t n) {
  std::set<std::size_t> slots;
  for (std::size_t i = 0; i < n && i < g.objects; ++i) {
    slots.insert(g.OffsetOf(i) % 4096 / 64);
  }
  return slots;
}

// Strides that are multiples of 512 below 8 KiB start in at most 8 of a
// page's line slots (4 KiB: one); rows of 16 KiB or more with a cache line
// after each spread any 64 consecutive objects over 16 slots or more.
TEST(SpanGeometryTest, MultiplesOf512GoInRowsThatSpreadTheirFirstLines) {
  for (std::size_t size : {512, 1024, 1536, 2048, 3072, 4096, 6144}) {
    SpanGeometry g = ChooseSpanGeometry(size, 16);
    EXPECT_EQ(g.stride, size) << size;
    EXPECT_GE(g.row_objects * size, 16384u) << size;
    EXPECT_EQ(g.row_bytes, g.row_objects * size + 64) << size;
    EXPECT_LE((g.span_bytes - g.objects * size) * 128, g.span_bytes) << size;
    EXPECT_GE(LineSlotsOfFirst(g, 64).size(), 16u) << size;
  }
  // Aligned to 512 or more, objects cannot be spread by a line: no rows,
  // and no waste for them.
  for (std::size_t alignment : {512, 1024, 4096}) {
    SpanGeometry g = ChooseSpanGeometry(4096, alignment);
    EXPECT_EQ(g.row_objects, g.objects) << alignment;
    EXPECT_EQ(g.objects * 4096, g.span_bytes) << alignment;
  }
  EXPECT_EQ(ChooseSpanGeometry(1024, 16).span_bytes, 131072u);
  EXPECT_EQ(ChooseSpanGeometry(1024, 16).objects, 127u);
  EXPECT_EQ(ChooseSpanGeometry(4096, 16).objects, 127u);
}

// OffsetOf and IndexAt agree for every object (its slot: the object and
// its own pad, if any), and every byte of a row gap or the tail belongs to
// none.
TEST(SpanGeometryTest, EveryByteMapsToItsObjectOrToNone) {
  for (std::size_t size : {64, 1024, 4096, 16384, 3000}) {
    SpanGeometry g = ChooseSpanGeometry(size, 16);
    std::size_t expected = 0;
    std::size_t in_objects = 0;
    for (std::size_t offset = 0; offset < g.span_bytes; offset += 16) {
      const std::size_t index = g.IndexAt(offset);
      if (index == g.objects) continue;
      ASSERT_LT(index, g.objects);
      const std::size_t start = g.OffsetOf(index);
      ASSERT_LE(start, offset) << size;
      ASSERT_LT(offset, start + g.stride) << size;
      if (offset == start) {
        ASSERT_EQ(index, expected) << size;
        ++expected;
      }
      ++in_objects;
    }
    EXPECT_EQ(expected, g.objects) << size;
    EXPECT_EQ(in_objects * 16, g.objects * g.stride) << size;
    EXPECT_LE(g.OffsetOf(g.objects - 1) + size, g.span_bytes) << size;
  }
}

// Page-multiple strides get one cache line more per object (their first
// lines would otherwise share cache sets), within the same 1/128 budget.
TEST(SpanGeometryTest, PageMultiplesArePaddedByACacheLineWithin1In128) {
  for (std::size_t size : {8192, 12288, 16384, 32768, 49152}) {
    SpanGeometry g = ChooseSpanGeometry(size, 16);
    EXPECT_EQ(g.stride, size + 64) << size;
    EXPECT_LE((g.span_bytes - g.objects * size) * 128, g.span_bytes) << size;
    EXPECT_EQ(g.span_bytes % 65536, 0u);
  }
  EXPECT_EQ(ChooseSpanGeometry(16384, 16).span_bytes, std::size_t{2} << 20);
  EXPECT_EQ(ChooseSpanGeometry(16384, 16).objects, 127u);
  // Alignment above a cache line: the pad is the alignment.
  EXPECT_EQ(ChooseSpanGeometry(32768, 256).stride, 32768u + 256);
  // 64 KiB and more: no pad (it and the tail would pass 1/128).
  EXPECT_EQ(ChooseSpanGeometry(65536, 16).stride, 65536u);
}

TEST(SpanGeometryTest, AwkwardSizesWasteAtMostOneIn128) {
  for (std::size_t size : {48, 3000, 40000, 100000, 1000000}) {
    SpanGeometry g = ChooseSpanGeometry(size, 16);
    ASSERT_GE(g.objects, 1u);
    EXPECT_LE((g.span_bytes - g.objects * g.stride) * 128, g.span_bytes)
        << size;
    EXPECT_EQ(g.span_bytes % 65536, 0u);
  }
}

TEST(SpanGeometryTest, TwoMebibyteObjectsGetAlignedSpansOfTheirOwn) {
  SpanGeometry g = ChooseSpanGeometry(2 << 20, 16);
  EXPECT_EQ(g.span_bytes, std::size_t{2} << 20);
  EXPECT_EQ(g.objects, 1u);
  EXPECT_EQ(g.alignment, std::size_t{2} << 20);
}

TEST(SpanGeometryTest, StrideKeepsTheAlignment) {
  SpanGeometry g = ChooseSpanGeometry(100, 64);
  EXPECT_EQ(g.stride, 128u);
}

TEST(SpanBackingTest, PoolOfKnowsEveryObjectAndNothingElse) {
  Pool* pool = MakeSpanPool("span.poolof", 64);
  ASSERT_NE(pool, nullptr);
  std::vector<void*> objects;
  for (int i = 0; i < 5000; ++i) objects.push_back(pool->Alloc());
  std::set<void*> distinct(objects.begin(), objects.end());
  EXPECT_EQ(distinct.size(), objects.size());
  for (void* p : objects) {
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(PoolOf(p), pool);
    // Interior bytes belong to the pool too.
    EXPECT_EQ(PoolOf(static_cast<char*>(p) + 63), pool);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u);
  }
  int local = 0;
  void* heap = std::malloc(64);
  EXPECT_EQ(PoolOf(&local), nullptr);
  EXPECT_EQ(PoolOf(heap), nullptr);
  EXPECT_EQ(PoolOf(nullptr), nullptr);
  EXPECT_EQ(PoolOf(reinterpret_cast<void*>(~std::uintptr_t{0})), nullptr);
  std::free(heap);

  PoolStats stats = pool->Stats();
  EXPECT_STREQ(stats.allocator, "spans");
  EXPECT_EQ(stats.span_bytes, 65536);
  EXPECT_EQ(stats.objects_per_span, 1024);
  // 5000 objects and at most one cluster carved ahead: no per-object
  // header, so the spans hold no more than that rounds up to.
  EXPECT_LE(stats.mapped_bytes, (5000 / 1024 + 2) * 65536);

  for (void* p : objects) poolkit::Free(p);
  EXPECT_EQ(pool->Stats().in_use, 0);
  void* freed = objects.front();
  ReleaseThreadCache();
  pool->Flush();
  stats = pool->Stats();
  // Every span came back whole and went to the OS; the page map forgot it.
  EXPECT_EQ(stats.allocated, 0);
  EXPECT_EQ(stats.spans, 0);
  EXPECT_EQ(stats.span_maps, stats.span_unmaps);
  EXPECT_EQ(PoolOf(freed), nullptr);
  ASSERT_TRUE(DestroyPool(pool).ok());
}

TEST(SpanBackingTest, MallocBackedObjectsAreForeign) {
  PoolOptions options;
  options.name = "span.mallocfor";
  options.object_size = 64;
  options.backing = PoolBacking::kMalloc;
  absl::StatusOr<Pool*> pool = CreatePool(options);
  ASSERT_TRUE(pool.ok());
  void* p = (*pool)->Alloc();
  EXPECT_EQ(PoolOf(p), nullptr);
  EXPECT_STREQ((*pool)->Stats().allocator, "malloc");
  (*pool)->Free(p);
  ASSERT_TRUE(DestroyPool(*pool).ok());
}

TEST(SpanBackingTest, AllocatorAndMallocBackingAreExclusive) {
  PoolOptions options;
  options.name = "span.exclusive";
  options.object_size = 64;
  options.backing = PoolBacking::kSpans;
  options.allocator = &MallocAllocator();
  EXPECT_FALSE(ValidatePoolOptions(options).ok());
}

TEST(SpanBackingTest, ASpanStaysWhileOneObjectLives) {
  Pool* pool = MakeSpanPool("span.pinned", 1024);
  ASSERT_NE(pool, nullptr);
  std::vector<void*> objects;
  for (int i = 0; i < 256; ++i) objects.push_back(pool->Alloc());
  void* survivor = objects[10];
  for (void* p : objects) {
    if (p != survivor) pool->Free(p);
  }
  ReleaseThreadCache();
  pool->Flush();
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.spans, 1);
  EXPECT_EQ(PoolOf(survivor), pool);
  pool->Free(survivor);
  ReleaseThreadCache();
  pool->Flush();
  EXPECT_EQ(pool->Stats().spans, 0);
  ASSERT_TRUE(DestroyPool(pool).ok());
}

TEST(SpanBackingTest, SpansComeAndGoWhileThreadsAllocateUnderEveryStrategy) {
  for (SharedCacheStrategy strategy :
       {SharedCacheStrategy::kSpinlock, SharedCacheStrategy::kDwcas,
        SharedCacheStrategy::kXchg, SharedCacheStrategy::kNone}) {
    Pool* pool = MakeSpanPool(
        "span.race." + std::string(StrategyName(strategy)), 2048, strategy);
    ASSERT_NE(pool, nullptr);
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([pool] {
        std::vector<void*> held;
        for (int round = 0; round < 40; ++round) {
          for (int i = 0; i < 300; ++i) {
            void* p = pool->Alloc();
            ASSERT_NE(p, nullptr);
            ASSERT_EQ(PoolOf(p), pool);
            static_cast<char*>(p)[2047] = 1;
            held.push_back(p);
          }
          for (void* p : held) pool->Free(p);
          held.clear();
        }
        ReleaseThreadCache();
      });
    }
    // Spans go back to the OS while the threads carve and free.
    for (int i = 0; i < 200; ++i) pool->Trim(0);
    for (std::thread& thread : threads) thread.join();
    pool->Flush();
    PoolStats stats = pool->Stats();
    EXPECT_EQ(stats.allocated, 0) << StrategyName(strategy);
    EXPECT_EQ(stats.spans, 0) << StrategyName(strategy);
    EXPECT_EQ(stats.os_allocs, stats.os_releases);
    ASSERT_TRUE(DestroyPool(pool).ok());
  }
}

TEST(SpanBackingTest, PoolOfIsSafeWhilePoolsComeAndGo) {
  Pool* stable = MakeSpanPool("span.stable", 256);
  ASSERT_NE(stable, nullptr);
  void* kept = stable->Alloc();
  std::atomic<bool> done{false};
  std::thread churn([&] {
    for (int i = 0; i < 200; ++i) {
      Pool* pool = MakeSpanPool("span.churn", 4096);
      void* p = pool->Alloc();
      pool->Free(p);
      ReleaseThreadCache();
      pool->Flush();
      ASSERT_TRUE(DestroyPool(pool).ok());
    }
    done.store(true);
  });
  int checks = 0;
  while (!done.load()) {
    ASSERT_EQ(PoolOf(kept), stable);
    ++checks;
  }
  churn.join();
  EXPECT_GT(checks, 0);
  stable->Free(kept);
  ASSERT_TRUE(DestroyPool(stable).ok());
}

TEST(SpanBackingTest, ASpikeOfSmallObjectsGoesBackToTheOs) {
  // Issue 11's spike: 64 B objects, a few live throughout, a spike of
  // 200000 (12.8 MiB) freed again. On malloc, glibc kept most of such a
  // spike (poolbench's spike cell); spans that empty go back whole.
  Pool* pool = MakeSpanPool("span.spike", 64);
  ASSERT_NE(pool, nullptr);
  std::vector<void*> baseline;
  for (int i = 0; i < 2000; ++i) baseline.push_back(pool->Alloc());
  ReleaseThreadCache();
  const std::int64_t before = pool->Stats().mapped_bytes;
  std::vector<void*> spike;
  for (int i = 0; i < 200000; ++i) spike.push_back(pool->Alloc());
  EXPECT_GE(pool->Stats().mapped_bytes, 200000 * 64);
  for (void* p : spike) pool->Free(p);
  ReleaseThreadCache();
  pool->Flush();
  PoolStats stats = pool->Stats();
  EXPECT_LE(stats.mapped_bytes, before);
  EXPECT_EQ(stats.allocated, 2000);
  for (void* p : baseline) pool->Free(p);
  ReleaseThreadCache();
  pool->Flush();
  EXPECT_EQ(pool->Stats().spans, 0);
  ASSERT_TRUE(DestroyPool(pool).ok());
}

using SpanBackingDeathTest = ::testing::Test;

TEST(SpanBackingDeathTest, FreeOfAPointerInsideAnObjectAborts) {
  Pool* pool = MakeSpanPool("span.interior", 64);
  ASSERT_NE(pool, nullptr);
  char* p = static_cast<char*>(pool->Alloc());
  EXPECT_DEATH(poolkit::Free(p + 8),
               "free of a pointer inside an object.*span.interior.*8 bytes");
  pool->Free(p);
}

TEST(SpanBackingDeathTest, FreeOfForeignMemoryAborts) {
  int local = 0;
  EXPECT_DEATH(poolkit::Free(&local), "free of memory no pool owns");
}

TEST(SpanBackingDeathTest, FreeToTheWrongPoolAbortsInReleaseMode) {
  // 1 MiB objects never sit in thread caches: every Free() takes the slow
  // path, where the owner is checked.
  Pool* a = MakeSpanPool("span.owner-a", 1 << 20);
  Pool* b = MakeSpanPool("span.owner-b", 1 << 20);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  void* p = a->Alloc();
  EXPECT_DEATH(b->Free(p),
               "free to the wrong pool.*span.owner-b.*belongs to pool "
               "'span.owner-a'");
  // Big enough for a free-list link (gcc -O2 checks the fast path's store).
  alignas(64) static char foreign[64];
  EXPECT_DEATH(b->Free(foreign), "free to the wrong pool.*no span");
  a->Free(p);
}

// NUMA: each span prefers the pool's node. The kernel is asked what policy
// covers an object's page (get_mempolicy with MPOL_F_ADDR).
TEST(SpanBackingTest, SpansPreferThePoolsNumaNode) {
  PoolOptions options;
  options.name = "span.numa";
  options.object_size = 256;
  options.backing = PoolBacking::kSpans;
  options.numa_node = 0;  // every Linux machine has node 0
  absl::StatusOr<Pool*> created = CreatePool(options);
  ASSERT_TRUE(created.ok()) << created.status();
  Pool* pool = *created;
  void* p = pool->Alloc();
  ASSERT_NE(p, nullptr);
  const PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.numa_node, 0);
  int mode = -1;
  unsigned long mask[16] = {};
  const long rc = syscall(SYS_get_mempolicy, &mode, mask, 1024, p, MPOL_F_ADDR);
  if (rc != 0 && errno == ENOSYS) {
    // No NUMA in this kernel (or emulator): the span was still used.
    EXPECT_LE(stats.numa_failures, stats.span_maps);
  } else {
    ASSERT_EQ(rc, 0) << std::strerror(errno);
    EXPECT_EQ(stats.numa_failures, 0u);
    EXPECT_EQ(mode, MPOL_PREFERRED);
    EXPECT_EQ(mask[0] & 1ul, 1ul);
  }
  EXPECT_NE(DumpPoolsText().find("numa: node 0 preferred"), std::string::npos);
  pool->Free(p);
  pool->Flush();
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST(SpanBackingTest, NumaNodesAreValidated) {
  PoolOptions options;
  options.name = "span.numa.bad";
  options.object_size = 256;
  options.backing = PoolBacking::kSpans;
  options.numa_node = kMaxNumaNode;  // not online on any test machine
  EXPECT_EQ(CreatePool(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.numa_node = -2;
  EXPECT_EQ(CreatePool(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.numa_node = 0;
  options.backing = PoolBacking::kMalloc;  // malloc's memory is not ours
  EXPECT_EQ(CreatePool(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace poolkit
