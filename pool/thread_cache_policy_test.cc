// README's thread-cache claims ("How it works"), as tests that fail when the
// policy changes: which sizes the default budget caches per thread, the
// eviction of the newer half of the pool that went over, down to 7/8 of the
// budget, and the least recently used pools halved next. Each test runs in
// a fresh thread (a fresh thread cache at the full budget) on pools whose
// shared caches another thread primed, so that its allocations are refills.
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "pool/pool.h"
#include "pool/registry.h"

namespace poolkit {
namespace {

constexpr std::int64_t kBudget = 512 * 1024;  // README: 512 KiB by default
constexpr std::size_t kObject = 1024;         // charges exactly its size

Pool* MakePool(const char* name, std::size_t size) {
  PoolOptions options;
  options.name = name;
  options.object_size = size;
  // Not merged with another test's pool of the same size.
  options.flags = kPoolExact;
  absl::StatusOr<Pool*> pool = CreatePool(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return *pool;
}

// Fills the pool's shared cache with `count` objects from another thread
// (its cache goes back to the shared cache when it exits).
void Prime(Pool* pool, int count) {
  std::thread([&] {
    std::vector<void*> objects;
    for (int i = 0; i < count; ++i) objects.push_back(pool->Alloc());
    for (void* object : objects) pool->Free(object);
  }).join();
}

std::int64_t Cached(Pool* pool) { return pool->Stats().thread_cached; }

TEST(ThreadCachePolicyTest, DefaultBudgetCachesUpTo64KiBPerThread) {
  ASSERT_EQ(static_cast<std::int64_t>(ThreadCacheBudget()), kBudget);
  // Thread-cacheable while 8 objects fit the budget: up to 64 KiB.
  const std::size_t cacheable[] = {16,        64,        1024,
                                   16 * 1024, 48 * 1024, 64 * 1024};
  const std::size_t stashed[] = {64 * 1024 + 64, 128 * 1024, 2 << 20};
  for (std::size_t size : cacheable) {
    Pool* pool = MakePool("cacheable", size);
    EXPECT_TRUE(pool->thread_cacheable()) << size;
    EXPECT_TRUE(DestroyPool(pool).ok());
  }
  for (std::size_t size : stashed) {
    Pool* pool = MakePool("stashed", size);
    EXPECT_FALSE(pool->thread_cacheable()) << size;
    EXPECT_TRUE(DestroyPool(pool).ok());
  }
}

TEST(ThreadCachePolicyTest, OverBudgetTheNewerHalfOfThePoolLeaves) {
  Pool* pool = MakePool("newer-half", kObject);
  constexpr int kObjects = 600;  // more than the budget holds (512)
  Prime(pool, kObjects);
  std::thread([&] {
    std::vector<void*> objects;
    for (int i = 0; i < kObjects; ++i) objects.push_back(pool->Alloc());
    const std::int64_t leftover = Cached(pool);  // the last refill's rest
    ASSERT_LT(leftover, pool->cluster_objects());
    // Free one at a time until the cache shrinks: the first eviction.
    std::int64_t before = leftover;
    int evicted_at = -1;
    for (int i = 0; i < kObjects; ++i) {
      pool->Free(objects[i]);
      const std::int64_t now = Cached(pool);
      if (now < before + 1) {
        evicted_at = i;
        // The whole cache (this pool) was over budget, and it holds far
        // more than a quarter of it: its newer half left, the older stays.
        const std::int64_t count = before + 1;
        EXPECT_GT(count * static_cast<std::int64_t>(kObject), kBudget);
        EXPECT_EQ(now, count / 2);
        EXPECT_LE(now * static_cast<std::int64_t>(kObject), kBudget * 7 / 8);
        // LIFO: the next allocation is the newest object that stayed, the
        // (count/2 - leftover)-th freed, not the one just freed.
        void* next = pool->Alloc();
        ASSERT_GT(now, leftover);
        EXPECT_EQ(next, objects[now - leftover - 1]);
        pool->Free(next);
        break;
      }
      before = now;
    }
    ASSERT_GE(evicted_at, 0) << "no eviction after " << kObjects << " frees";
    for (int i = evicted_at + 1; i < kObjects; ++i) pool->Free(objects[i]);
  }).join();
  EXPECT_TRUE(DestroyPool(pool).ok());
}

TEST(ThreadCachePolicyTest, ThenTheLeastRecentlyUsedPoolsAreHalved) {
  Pool* a = MakePool("lru-a", kObject);
  Pool* b = MakePool("lru-b", kObject);
  Pool* c = MakePool("lru-c", kObject);
  for (Pool* pool : {a, b, c}) Prime(pool, 300);
  std::thread([&] {
    // Slow paths (refills) of a, then b, then c: a is the least recently
    // used. Each ends with its objects in this thread's cache.
    auto take = [](Pool* pool, int count) {
      std::vector<void*> objects;
      for (int i = 0; i < count; ++i) objects.push_back(pool->Alloc());
      return objects;
    };
    std::vector<void*> of_a = take(a, 200);
    std::vector<void*> of_b = take(b, 200);
    std::vector<void*> of_c = take(c, 130);
    for (void* object : of_a) a->Free(object);
    for (void* object : of_b) b->Free(object);
    const std::int64_t a_before = Cached(a);
    const std::int64_t b_before = Cached(b);
    std::int64_t c_count = Cached(c);
    // c's frees take the cache over budget, while c holds less than a
    // quarter of it (128 objects): c keeps its objects, a gives half.
    std::size_t i = 0;
    for (; i < of_c.size(); ++i) {
      c->Free(of_c[i]);
      ++c_count;
      if (Cached(a) != a_before) break;
    }
    ASSERT_LT(i, of_c.size()) << "no eviction";
    ASSERT_LT(c_count * static_cast<std::int64_t>(kObject), kBudget / 4);
    EXPECT_EQ(Cached(c), c_count);
    EXPECT_EQ(Cached(a), a_before / 2);
    // b, more recent, is halved only if a's half was not enough to get the
    // cache down to 7/8 of the budget.
    const std::int64_t floor_objects = kBudget * 7 / 8 / kObject;
    if (a_before / 2 + b_before + c_count <= floor_objects) {
      EXPECT_EQ(Cached(b), b_before);
    } else {
      EXPECT_EQ(Cached(b), b_before / 2);
    }
    EXPECT_LE(Cached(a) + Cached(b) + Cached(c), floor_objects);
    for (++i; i < of_c.size(); ++i) c->Free(of_c[i]);
  }).join();
  for (Pool* pool : {a, b, c}) EXPECT_TRUE(DestroyPool(pool).ok());
}

}  // namespace
}  // namespace poolkit
