// The guarded debug pools (one object per mapping): the traps that are
// guard-page faults, seen through the pool API.
#include <unistd.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "pool/pool.h"
#include "pool/registry.h"

namespace poolkit {
namespace {

Pool* MakeGuardedPool(const std::string& name, std::size_t size, bool uaf) {
  PoolOptions options;
  options.name = name;
  options.object_size = size;
  options.debug.guarded = !uaf;
  options.debug.uaf = uaf;
  options.debug.caller = true;
  absl::StatusOr<Pool*> pool = CreatePool(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *pool : nullptr;
}

TEST(PoolGuardedTest, UafReleasesEveryFreeAndCachesNothing) {
  Pool* pool = MakeGuardedPool("grd_stats", 1000, true);
  for (int i = 0; i < 10; ++i) {
    char* p = static_cast<char*>(pool->Alloc());
    ASSERT_NE(p, nullptr);
    std::memset(p, i, pool->object_size());
    pool->Free(p);
  }
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.os_allocs, 10u);
  EXPECT_EQ(stats.os_releases, 10u);
  EXPECT_EQ(stats.allocated, 0);
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST(PoolGuardedTest, GuardedObjectsAreCachedAndReused) {
  Pool* pool = MakeGuardedPool("grd_cache", 64, false);
  void* p = pool->Alloc();
  pool->Free(p);
  EXPECT_EQ(pool->Alloc(), p);
  pool->Free(p);
  pool->Flush();
  EXPECT_EQ(pool->Stats().allocated, 0);
  EXPECT_TRUE(DestroyPool(pool).ok());
}

using PoolGuardedDeathTest = testing::Test;

TEST(PoolGuardedDeathTest, OverflowFaultsAtOnce) {
  Pool* pool = MakeGuardedPool("grd_overflow", 64, true);
  char* p = static_cast<char*>(pool->Alloc());
  EXPECT_DEATH(p[64] = 1,
               "overflow \\(guard page after the object\\) in pool "
               "'grd_overflow': object 0x[0-9a-f]+ \\(64 bytes\\)");
  pool->Free(p);
}

TEST(PoolGuardedDeathTest, UnderflowFaultsAtOnce) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  Pool* pool = MakeGuardedPool("grd_underflow", page, true);
  char* p = static_cast<char*>(pool->Alloc());
  EXPECT_DEATH(p[-8] = 1,
               "underflow \\(guard page before the object\\) in pool "
               "'grd_underflow'(.|\n)*8 bytes before the object");
  pool->Free(p);
}

TEST(PoolGuardedDeathTest, UseAfterFreeFaultsAtTheAccess) {
  Pool* pool = MakeGuardedPool("grd_uaf", 256, true);
  char* p = static_cast<char*>(pool->Alloc());
  pool->Free(p);
  EXPECT_DEATH(p[17] = 1,
               "use after free \\(released object\\) in pool 'grd_uaf'"
               "(.|\n)*offset 17(.|\n)*last alloc by (.|\n)*last free by");
}

TEST(PoolGuardedDeathTest, DoubleFreeOfAReleasedObject) {
  Pool* pool = MakeGuardedPool("grd_double", 64, true);
  void* p = pool->Alloc();
  pool->Free(p);
  EXPECT_DEATH(pool->Free(p),
               "double free in pool 'grd_double'(.|\n)*already freed and "
               "released");
}

TEST(PoolGuardedDeathTest, WrongPoolIsNamed) {
  Pool* a = MakeGuardedPool("grd_owner", 64, true);
  Pool* b = MakeGuardedPool("grd_other", 64, false);
  void* p = a->Alloc();
  EXPECT_DEATH(b->Free(p),
               "free into the wrong pool in pool 'grd_other'(.|\n)*belongs to "
               "pool 'grd_owner'");
  a->Free(p);
}

TEST(PoolGuardedDeathTest, ForeignPointerIsRefused) {
  Pool* pool = MakeGuardedPool("grd_foreign", 64, true);
  static char not_pooled[64];
  EXPECT_DEATH(pool->Free(not_pooled),
               "free of an unknown pointer in pool 'grd_foreign'");
}

}  // namespace
}  // namespace poolkit
