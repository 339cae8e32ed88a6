// PoolOptions::init: run exactly once per object each time it comes from
// the backing, before anyone gets it, and what it wrote past the free-list
// links lasts from one use to the next.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "pool/pool.h"
#include "pool/registry.h"

namespace poolkit {
namespace {

constexpr std::uint64_t kMagic = 0x1417c0ffee5eed5ull;

// The object's third word: past the two link words the pool writes.
struct Counted {
  std::atomic<std::uint64_t> calls{0};
};

void Init(void* object, void* arg) {
  static_cast<std::uint64_t*>(object)[2] = kMagic;
  static_cast<Counted*>(arg)->calls.fetch_add(1, std::memory_order_relaxed);
}

Pool* MakePool(const std::string& name, std::size_t size, PoolBacking backing,
               Counted* counted) {
  PoolOptions options;
  options.name = name;
  options.object_size = size;
  options.backing = backing;
  options.init = Init;
  options.init_arg = counted;
  absl::StatusOr<Pool*> pool = CreatePool(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *pool : nullptr;
}

TEST(ObjectInitTest, RunsOncePerObjectFromTheBackingOnEitherBacking) {
  for (PoolBacking backing : {PoolBacking::kSpans, PoolBacking::kMalloc}) {
    for (std::size_t size : {64, 16384, 256 * 1024}) {
      Counted counted;
      Pool* pool = MakePool("init." + std::string(BackingName(backing)) + "." +
                                std::to_string(size),
                            size, backing, &counted);
      ASSERT_NE(pool, nullptr);
      for (int round = 0; round < 3; ++round) {
        std::vector<void*> objects(200);
        ASSERT_TRUE(pool->AllocBulk(objects.size(), objects.data()));
        for (void* p : objects) {
          // Set before the first allocation, and kept across reuse.
          EXPECT_EQ(static_cast<std::uint64_t*>(p)[2], kMagic);
        }
        pool->FreeBulk(objects.size(), objects.data());
        EXPECT_EQ(counted.calls.load(), pool->Stats().os_allocs) << round;
      }
      // Back to the OS and again from it: run again, once each.
      pool->Flush();
      const std::uint64_t before = counted.calls.load();
      void* p = pool->Alloc();
      ASSERT_NE(p, nullptr);
      EXPECT_GT(counted.calls.load(), before);
      EXPECT_EQ(counted.calls.load(), pool->Stats().os_allocs);
      pool->Free(p);
      pool->Flush();
      EXPECT_TRUE(DestroyPool(pool).ok());
    }
  }
}

TEST(ObjectInitTest, PoolsWithDifferentInitialisersDoNotMerge) {
  Counted a, b;
  PoolOptions options;
  options.name = "init.merge";
  options.object_size = 64;
  options.flags = kPoolShared;
  options.init = Init;
  options.init_arg = &a;
  Pool* first = *CreatePool(options);
  options.init_arg = &b;
  absl::StatusOr<Pool*> second = CreatePool(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  options.init_arg = &a;
  absl::StatusOr<Pool*> same = CreatePool(options);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, first);
  EXPECT_TRUE(DestroyPool(first).ok());
  EXPECT_TRUE(DestroyPool(first).ok());
}

}  // namespace
}  // namespace poolkit
