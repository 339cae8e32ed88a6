// fork() while other threads hammer pools of every strategy: each child
// must be able to allocate, free, flush, dump and destroy every pool, and
// exit 0; a child that hangs (a lock inherited from a thread it does not
// have) is killed by its watchdog and fails the test.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "pool/pool.h"
#include "pool/pool_dump.h"
#include "pool/registry.h"
#include "testing/stress_util.h"

namespace poolkit {
namespace {

struct Hammered {
  Pool* pool;
};

// The child's checks; returns the exit status (0: all well).
int ChildUses(std::vector<Hammered>* pools, Pool* idle) {
  // The watchdog: SIGALRM's default action ends the child.
  alarm(20);
  for (Hammered& h : *pools) {
    std::vector<void*> objects;
    for (int i = 0; i < 300; ++i) {
      void* object = h.pool->Alloc();
      if (object == nullptr) return 10;
      objects.push_back(object);
    }
    for (void* object : objects) h.pool->Free(object);
    h.pool->Flush();
    Gc();
    // Only this thread's cache counts: the hammer threads are not here.
    PoolStats stats = h.pool->Stats();
    if (stats.thread_cached != 0) return 11;
  }
  if (DumpPoolsText().empty() || DumpPoolsJson().empty()) return 12;
  PoolOptions options;
  options.name = "born-in-child";
  options.object_size = 128;
  absl::StatusOr<Pool*> fresh = CreatePool(options);
  if (!fresh.ok()) return 13;
  (*fresh)->Free((*fresh)->Alloc());
  if (!DestroyPool(*fresh).ok()) return 14;
  // Every hammer thread caches objects of `idle` and touches it no more:
  // in the child those caches belong to threads that do not exist, and must
  // not keep the pool from being destroyed.
  if (idle->Stats().thread_cached != 0) return 15;
  if (!DestroyPool(idle).ok()) return 16;
  // The hammered pools: a vanished thread may have held objects, or been
  // moving a cluster between its cache and the shared cache, at the instant
  // of the fork; those objects are lost to the child, and the destruction
  // may be refused for them, but it must answer.
  for (Hammered& h : *pools) {
    absl::Status destroyed = DestroyPool(h.pool);
    if (!destroyed.ok() && !absl::IsFailedPrecondition(destroyed)) return 17;
  }
  return 0;
}

TEST(ForkTest, ChildrenUseEveryPoolWhileParentThreadsHammer) {
  std::vector<Hammered> pools(5);
  const SharedCacheStrategy strategies[] = {
      SharedCacheStrategy::kSpinlock, SharedCacheStrategy::kDwcas,
      SharedCacheStrategy::kXchg, SharedCacheStrategy::kNone,
      SharedCacheStrategy::kXchg};
  for (int i = 0; i < 5; ++i) {
    PoolOptions options;
    options.name = "fork-" + std::to_string(i);
    // Small, medium, and one pool of objects too big for thread caches.
    options.object_size = i == 4 ? 256 * 1024 : 64 << i;
    options.strategy = strategies[i];
    absl::StatusOr<Pool*> pool = CreatePool(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pools[static_cast<std::size_t>(i)].pool = *pool;
  }
  PoolOptions idle_options;
  idle_options.name = "fork-idle";
  idle_options.object_size = 96;
  Pool* idle = *CreatePool(idle_options);
  std::atomic<bool> stop{false};
  std::atomic<int> ready{0};
  std::vector<std::thread> hammers;
  for (int t = 0; t < 4; ++t) {
    hammers.emplace_back([&, t] {
      std::uint32_t seed = 12345u + static_cast<std::uint32_t>(t);
      std::vector<void*> batch;
      for (int i = 0; i < 50; ++i) batch.push_back(idle->Alloc());
      for (void* object : batch) idle->Free(object);
      batch.clear();
      ready.fetch_add(1);
      while (!stop.load(std::memory_order_relaxed)) {
        seed = seed * 1664525u + 1013904223u;
        Hammered& h = pools[(seed >> 8) % pools.size()];
        const int n = 1 + static_cast<int>((seed >> 16) % 200);
        for (int i = 0; i < n; ++i) batch.push_back(h.pool->Alloc());
        for (void* object : batch) h.pool->Free(object);
        batch.clear();
        if ((seed & 0xff) == 0) h.pool->Trim(0);
        if ((seed & 0x3ff) == 1) Gc();
      }
    });
  }
  while (ready.load() < 4) std::this_thread::yield();
  const int forks = static_cast<int>(testing::Scaled(200));
  int failures = 0;
  for (int i = 0; i < forks; ++i) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) _exit(ChildUses(&pools, idle));
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++failures;
      std::fprintf(stderr, "fork %d: child %s %d\n", i,
                   WIFEXITED(status) ? "exited with" : "killed by signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
  }
  stop = true;
  for (std::thread& thread : hammers) thread.join();
  EXPECT_EQ(failures, 0) << "of " << forks << " children";
  for (Hammered& h : pools) {
    h.pool->Flush();
    EXPECT_TRUE(DestroyPool(h.pool).ok());
  }
  EXPECT_TRUE(DestroyPool(idle).ok());
}

}  // namespace
}  // namespace poolkit
