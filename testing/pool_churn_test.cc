// Pool churn: each cycle creates a pool, has a new thread use it and then
// sit idle (alive), and destroys the pool. A destroyed pool is freed, and
// its slot reused, once every object is back; an idle thread that caches
// one of its objects keeps it alive for ever, unless that thread calls
// ReleaseThreadCache() before it goes idle.
#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "pool/internal/pool_test_peer.h"
#include "pool/internal/release_clock.h"
#include "pool/pool.h"
#include "pool/registry.h"

namespace poolkit {
namespace {

struct Idlers {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
};

struct Job {
  Pool* pool;
  bool release;
  Idlers* idlers;
  std::atomic<bool> used{false};
};

void* UseThenIdle(void* arg) {
  Job* job = static_cast<Job*>(arg);
  // One object, freed into this thread's cache.
  job->pool->Free(job->pool->Alloc());
  if (job->release) ReleaseThreadCache();
  job->used.store(true, std::memory_order_release);
  std::unique_lock<std::mutex> lock(job->idlers->mu);
  job->idlers->cv.wait(lock, [job] { return job->idlers->stop; });
  return nullptr;
}

// Runs up to `cycles` cycles; returns the first error, or OK.
absl::Status Cycles(bool release, int cycles) {
  Idlers idlers;
  std::vector<std::unique_ptr<Job>> jobs;
  std::vector<pthread_t> threads;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  // Hundreds of idle threads: small stacks.
  pthread_attr_setstacksize(&attr, 256 * 1024);
  absl::Status result = absl::OkStatus();
  for (int i = 0; i < cycles && result.ok(); ++i) {
    PoolOptions options;
    options.name = "churn-" + std::to_string(i);
    options.object_size = 64;
    absl::StatusOr<Pool*> pool = CreatePool(options);
    if (!pool.ok()) {
      result = pool.status();
      break;
    }
    jobs.push_back(std::make_unique<Job>());
    Job* job = jobs.back().get();
    job->pool = *pool;
    job->release = release;
    job->idlers = &idlers;
    pthread_t thread;
    if (pthread_create(&thread, &attr, UseThenIdle, job) != 0) {
      result = absl::InternalError("pthread_create failed");
      break;
    }
    threads.push_back(thread);
    while (!job->used.load(std::memory_order_acquire)) sched_yield();
    result = DestroyPool(*pool);
  }
  {
    std::lock_guard<std::mutex> lock(idlers.mu);
    idlers.stop = true;
  }
  idlers.cv.notify_all();
  for (pthread_t thread : threads) pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  return result;
}

TEST(PoolChurnTest, IdleThreadsThatReleaseTheirCachesPinNothing) {
  absl::Status status = Cycles(/*release=*/true, 600);
  EXPECT_TRUE(status.ok()) << status;
}

// The documented limit, as a program that forgets ReleaseThreadCache()
// meets it: each idle thread's cached object keeps a destroyed pool and its
// slot, and CreatePool() says so once the 512 slots are gone.
TEST(PoolChurnTest, IdleThreadsThatKeepTheirCachesRunOutOfSlots) {
  absl::Status status = Cycles(/*release=*/false, 600);
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  EXPECT_NE(status.message().find("at most 512"), std::string::npos) << status;
}

std::atomic<std::int64_t> g_now{0};
std::int64_t FakeNow() { return g_now.load(std::memory_order_relaxed); }

// The race of a thread that evicts into a pool while another destroys it:
// the eviction saw the pool alive, Destroy's last trim ran before the
// objects arrived, and they sit in the dead pool's shared cache. Before,
// only an unrelated CreatePool() or Gc() freed that pool; now the release
// rule's interval check on any live pool does.
TEST(PoolChurnTest, PoolEvictedIntoAfterItsDestructionIsFreed) {
  internal::SetReleaseClockForTesting(FakeNow);
  PoolOptions options;
  options.name = "late-evict";
  options.object_size = 64;
  Pool* dying = *CreatePool(options);
  // Read now: `dying` is freed by the end.
  const std::uint32_t dying_slot = internal::PoolTestPeer::SlotOf(*dying);
  PoolOptions other_options;
  other_options.name = "late-evict-other";
  other_options.object_size = 64;
  Pool* other = *CreatePool(other_options);
  std::mutex mu;
  std::condition_variable cv;
  int step = 0;
  std::thread evicter([&] {
    dying->Free(dying->Alloc());  // one object in this thread's cache
    std::unique_lock<std::mutex> lock(mu);
    step = 1;
    cv.notify_all();
    cv.wait(lock, [&] { return step == 2; });
    // Destroyed meanwhile; this eviction had already decided to keep.
    internal::PoolTestPeer::EvictCacheIgnoringDeath(*dying);
    step = 3;
    cv.notify_all();
    cv.wait(lock, [&] { return step == 4; });
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return step == 1; });
  }
  ASSERT_TRUE(DestroyPool(dying).ok());  // deferred: a thread caches one
  ASSERT_EQ(internal::PoolTestPeer::AtSlot(dying_slot), dying);
  {
    std::unique_lock<std::mutex> lock(mu);
    step = 2;
    cv.notify_all();
    cv.wait(lock, [&] { return step == 3; });
  }
  // The object is now in the dead pool's shared cache and no thread holds
  // any. Activity on another pool (made before: CreatePool() reaps too), an
  // interval later:
  g_now.fetch_add(2000000000, std::memory_order_relaxed);
  std::vector<void*> objects;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 10000; ++i) objects.push_back(other->Alloc());
    for (void* object : objects) other->Free(object);
    objects.clear();
  }
  EXPECT_NE(internal::PoolTestPeer::AtSlot(dying_slot), dying)
      << "the destroyed pool is still held";
  {
    std::lock_guard<std::mutex> lock(mu);
    step = 4;
  }
  cv.notify_all();
  evicter.join();
  other->Flush();
  EXPECT_TRUE(DestroyPool(other).ok());
  internal::SetReleaseClockForTesting(nullptr);
}

}  // namespace
}  // namespace poolkit
