// The debugging aids seen through the pool API: every trap that does not
// need guard pages (those are in pool_guarded_test.cc), poisoning, the
// switches, fault injection and its accounting.
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "absl/debugging/symbolize.h"
#include "gtest/gtest.h"
#include "pool/internal/pool_test_peer.h"
#include "pool/pool.h"
#include "pool/pool_dump.h"
#include "pool/registry.h"

namespace poolkit {
namespace {

Pool* MakePool(const std::string& name, const DebugOptions& debug,
               std::size_t size = 64,
               SharedCacheStrategy strategy = SharedCacheStrategy::kXchg) {
  PoolOptions options;
  options.name = name;
  options.object_size = size;
  options.strategy = strategy;
  options.debug = debug;
  absl::StatusOr<Pool*> pool = CreatePool(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *pool : nullptr;
}

DebugOptions Tagged() {
  DebugOptions debug;
  debug.tag = true;
  debug.caller = true;
  return debug;
}

// Allocates from `pool`: a named caller for the report to show.
__attribute__((noinline)) void* AllocateInNamedCaller(Pool* pool) {
  void* p = pool->Alloc();
  asm volatile("" ::: "memory");  // keeps the call from being a tail call
  return p;
}

TEST(PoolDebugTest, DebugPoolsBypassThreadCachesAndSayWhy) {
  Pool* pool = MakePool("dbg_stats", Tagged());
  EXPECT_FALSE(pool->thread_cacheable());
  void* p = pool->Alloc();
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.debug, "tag,caller");
  EXPECT_EQ(stats.in_use, 1);
  EXPECT_EQ(stats.thread_cached, 0);
  EXPECT_NE(DumpPoolsText().find("(debug: tag,caller;"), std::string::npos);
  EXPECT_NE(DumpPoolsJson().find("\"debug\": \"tag,caller\""),
            std::string::npos);
  pool->Free(p);
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST(PoolDebugTest, InvalidDebugOptionsAreRejected) {
  PoolOptions options;
  options.name = "dbg_invalid";
  options.object_size = 64;
  options.debug.fail_percent = 101;
  absl::StatusOr<Pool*> pool = CreatePool(options);
  ASSERT_FALSE(pool.ok());
  EXPECT_NE(pool.status().message().find("debug.fail_percent"),
            std::string::npos);
  options.debug.fail_percent = 0;
  options.debug.quarantine = kMaxQuarantine + 1;
  EXPECT_FALSE(CreatePool(options).ok());
}

TEST(PoolDebugTest, PoisonFillsAndZeroedStillZeroes) {
  DebugOptions debug;
  debug.poison = true;
  debug.poison_byte = 0xAB;
  Pool* pool = MakePool("dbg_poison", debug, 100);
  for (int round = 0; round < 2; ++round) {  // fresh, then reused
    unsigned char* p = static_cast<unsigned char*>(pool->Alloc());
    for (std::size_t i = 0; i < pool->object_size(); ++i) {
      ASSERT_EQ(p[i], 0xAB) << i;
    }
    pool->Free(p);
  }
  unsigned char* z = static_cast<unsigned char*>(pool->AllocZeroed());
  for (std::size_t i = 0; i < pool->object_size(); ++i) ASSERT_EQ(z[i], 0);
  pool->Free(z);
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST(PoolDebugTest, ColdFirstReusesTheOldestFreeObject) {
  DebugOptions debug;
  debug.cold_first = true;
  PoolOptions options;
  options.name = "dbg_cold";
  options.object_size = 64;
  options.minavail = 8;  // all three stay cached
  options.debug = debug;
  Pool* pool = *CreatePool(options);
  void* a = pool->Alloc();
  void* b = pool->Alloc();
  void* c = pool->Alloc();
  pool->Free(a);
  pool->Free(b);
  pool->Free(c);
  EXPECT_EQ(internal::PoolTestPeer::CountShared(*pool), 3u);
  EXPECT_EQ(pool->Alloc(), a);
  EXPECT_EQ(pool->Alloc(), b);
  EXPECT_EQ(pool->Alloc(), c);
  pool->Free(c);
  pool->Free(b);
  pool->Free(a);
  pool->Flush();
  EXPECT_EQ(pool->Stats().allocated, 0);
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST(PoolDebugTest, NoCacheKeepsObjectsOutOfThreadCaches) {
  DebugOptions debug;
  debug.no_cache = true;
  Pool* pool = MakePool("dbg_nocache", debug);
  void* p = pool->Alloc();
  pool->Free(p);
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.thread_cached, 0);
  EXPECT_EQ(stats.shared_cached, 1);
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST(PoolDebugTest, NoMergeKeepsSharedPoolsApart) {
  PoolOptions options;
  options.name = "dbg_nomerge";
  options.object_size = 64;
  options.flags = kPoolShared;
  options.debug.no_merge = true;
  absl::StatusOr<Pool*> a = CreatePool(options);
  absl::StatusOr<Pool*> b = CreatePool(options);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  // Without it they merge; and pools with different aids never do.
  options.name = "dbg_merge";
  options.debug.no_merge = false;
  absl::StatusOr<Pool*> c = CreatePool(options);
  absl::StatusOr<Pool*> d = CreatePool(options);
  ASSERT_TRUE(c.ok() && d.ok());
  EXPECT_EQ(*c, *d);
  options.name = "dbg_merge_tagged";
  options.debug.tag = true;
  absl::StatusOr<Pool*> e = CreatePool(options);
  ASSERT_TRUE(e.ok());
  EXPECT_NE(*e, *c);
  for (Pool* pool : {*a, *b, *c, *d, *e}) EXPECT_TRUE(DestroyPool(pool).ok());
}

// Fault injection: every nullptr is an injected failure and counted as a
// failure; every object handed out comes back; nothing is lost.
TEST(PoolDebugTest, FaultInjectionAccountsForEveryFailure) {
  for (double percent : {0.0, 1.0, 10.0, 50.0, 100.0}) {
    DebugOptions debug;
    debug.fail_percent = percent;
    debug.fail_seed = 1234;
    Pool* pool = MakePool("dbg_fail", debug);
    std::vector<void*> held;
    int failures = 0;
    const int attempts = 4000;
    for (int i = 0; i < attempts; ++i) {
      void* p = pool->Alloc();
      if (p == nullptr) {
        ++failures;
        continue;
      }
      std::memset(p, 0x5A, pool->object_size());
      held.push_back(p);
      // Free some as we go, so that objects are reused through the cache.
      if (i % 3 == 0) {
        pool->Free(held.back());
        held.pop_back();
      }
    }
    PoolStats stats = pool->Stats();
    EXPECT_EQ(stats.injected_failures, static_cast<std::uint64_t>(failures))
        << percent;
    EXPECT_EQ(stats.failed, static_cast<std::uint64_t>(failures)) << percent;
    EXPECT_EQ(stats.in_use, static_cast<std::int64_t>(held.size()));
    EXPECT_EQ(std::set<void*>(held.begin(), held.end()).size(), held.size());
    if (percent == 0) {
      EXPECT_EQ(failures, 0);
    }
    if (percent == 100) {
      EXPECT_EQ(failures, attempts);
    }
    if (percent == 10) {
      EXPECT_GT(failures, attempts * 6 / 100);
      EXPECT_LT(failures, attempts * 14 / 100);
    }
    for (void* p : held) pool->Free(p);
    stats = pool->Stats();
    EXPECT_EQ(stats.in_use, 0);
    // (At 0% the pool has no aid and caches per thread.)
    EXPECT_EQ(stats.allocated, stats.shared_cached + stats.thread_cached);
    ASSERT_TRUE(DestroyPool(pool).ok()) << percent;
  }
}

TEST(PoolDebugTest, FaultInjectionReplaysWithTheSameSeed) {
  auto pattern = [](std::uint64_t seed) {
    DebugOptions debug;
    debug.fail_percent = 30;
    debug.fail_seed = seed;
    Pool* pool = MakePool("dbg_replay", debug);
    std::string outcome;
    for (int i = 0; i < 200; ++i) {
      void* p = pool->Alloc();
      outcome += p != nullptr ? '.' : 'x';
      pool->Free(p);
    }
    EXPECT_TRUE(DestroyPool(pool).ok());
    return outcome;
  };
  std::string first = pattern(7);
  EXPECT_EQ(first, pattern(7));
  EXPECT_NE(first, pattern(8));
  EXPECT_NE(first.find('x'), std::string::npos);
}

using PoolDebugDeathTest = testing::Test;

TEST(PoolDebugDeathTest, DoubleFreeIsCaught) {
  Pool* pool = MakePool("dbg_double", Tagged());
  void* p = AllocateInNamedCaller(pool);
  pool->Free(p);
  // Symbolized where the symbolizer works (not under qemu-user, whose
  // /proc/self/maps describes the emulator): then the caller is named.
  char name[256];
  const bool symbolized =
      absl::Symbolize(reinterpret_cast<const void*>(&AllocateInNamedCaller),
                      name, sizeof(name));
  EXPECT_DEATH(pool->Free(p),
               std::string("double free in pool 'dbg_double': object "
                           "0x[0-9a-f]+ \\(64 bytes\\)\n  the object is "
                           "already free\n  last alloc by ") +
                   (symbolized ? ".*AllocateInNamedCaller" : "0x[0-9a-f]+"));
}

TEST(PoolDebugDeathTest, FreeIntoTheWrongPoolNamesBoth) {
  Pool* a = MakePool("dbg_owner", Tagged());
  Pool* b = MakePool("dbg_other", Tagged());
  void* p = a->Alloc();
  EXPECT_DEATH(b->Free(p),
               "free into the wrong pool in pool 'dbg_other'.*\n  the object "
               "belongs to pool 'dbg_owner'");
  a->Free(p);
}

TEST(PoolDebugDeathTest, OverflowIntoTheTagIsCaughtAtFree) {
  Pool* pool = MakePool("dbg_clobber", Tagged());
  char* p = static_cast<char*>(pool->Alloc());
  EXPECT_DEATH(
      {
        std::memset(p, 0, pool->object_size() + 8);  // 8 bytes too many
        pool->Free(p);
      },
      "corrupted tag in pool 'dbg_clobber'.*\n  tag 0x0 names no pool");
  pool->Free(p);
}

TEST(PoolDebugDeathTest, IntegrityBreachNamesTheOffset) {
  DebugOptions debug = Tagged();
  debug.integrity = true;
  Pool* pool = MakePool("dbg_integrity", debug, 128);
  char* p = static_cast<char*>(pool->Alloc());
  pool->Free(p);  // to the shared cache, filled with the pattern
  EXPECT_DEATH(
      {
        p[40] = 0;  // a write after free
        void* again = pool->Alloc();
        (void)again;
      },
      "integrity breach in pool 'dbg_integrity'.*\n  first corrupted byte at "
      "offset 40: expected 0x[0-9a-f]+, found 0x00 \\(written after free\\)"
      "(.|\n)*last free by");
  // Untouched, the object comes back clean.
  EXPECT_EQ(pool->Alloc(), p);
  pool->Free(p);
}

}  // namespace
}  // namespace poolkit
