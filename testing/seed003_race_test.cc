// Seed 003's crash, made deterministic. A test hook stops thread A inside a
// shared-cache pop, between taking the head X and reading X->next; thread B
// then pops X and frees it, and the pool returns it to the OS (a guarded
// pool: the pages become inaccessible). Then A goes on.
//
//  - dwcas without its flush lock (seed 001's pop): A reads the next of an
//    unmapped object and the process dies with a use-after-free report;
//  - dwcas with its flush lock: B's release waits for A to leave its pop;
//  - xchg: B cannot even pop X while A holds the head (it is BUSY).
//
// The free to the OS is an ordinary Free() (the pool keeps no spares), not a
// flush or gc.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "pool/internal/pool_test_peer.h"
#include "pool/pool.h"
#include "pool/registry.h"

namespace poolkit {
namespace {

using Clock = std::chrono::steady_clock;

struct Interleaving {
  std::atomic<std::thread::id> stopped_thread{};
  std::atomic<bool> a_at_hook{false};
  std::atomic<bool> b_started{false};
  std::atomic<bool> b_done{false};
  std::atomic<internal::FreeItem*> head_seen{nullptr};
  // How long A waits for B once B has started. With the unsafe strategy B
  // finishes at once; with the safe ones B cannot finish while A waits, so
  // A gives up after this and goes on (no outcome depends on the timing).
  std::chrono::milliseconds patience{200};
};

// Stops thread A the first time it reaches the hook, until B is done (or
// has had its chance).
void StopThreadA(void* arg, internal::FreeItem* head) {
  auto* race = static_cast<Interleaving*>(arg);
  // Only A passes the first test, so a load and a later store suffice; the
  // head is stored before A announces itself (the test reads it as soon as
  // it sees a_at_hook: in the other order, qemu once showed it null).
  if (std::this_thread::get_id() != race->stopped_thread.load() ||
      race->a_at_hook.load()) {
    return;
  }
  race->head_seen.store(head);
  race->a_at_hook.store(true);
  while (!race->b_started.load()) std::this_thread::yield();
  const Clock::time_point deadline = Clock::now() + race->patience;
  while (!race->b_done.load() && Clock::now() < deadline) {
    std::this_thread::yield();
  }
}

struct Outcome {
  void* a_got = nullptr;
  void* b_got = nullptr;
  void* x = nullptr;
  void* y = nullptr;
  std::uint64_t released = 0;
};

// Runs the interleaving on a guarded pool of the given strategy.
Outcome RunSeed003(SharedCacheStrategy strategy, bool flush_lock,
                   const std::string& name) {
  PoolOptions options;
  options.name = name;
  options.object_size = 64;
  options.strategy = strategy;
  options.debug.guarded = true;  // released objects become inaccessible
  options.minavail = 2;          // X and Y stay in the shared cache
  Pool* pool = *CreatePool(options);
  internal::PoolTestPeer::SetDwcasFlushLock(*pool, flush_lock);

  // The shared cache holds X on top of Y.
  Outcome out;
  out.y = pool->Alloc();
  out.x = pool->Alloc();
  pool->Free(out.y);
  pool->Free(out.x);
  EXPECT_EQ(internal::PoolTestPeer::CountShared(*pool), 2u);
  // From now on every Free() returns the object to the OS.
  internal::PoolTestPeer::SetKeepSpares(*pool, false);

  Interleaving race;
  internal::PoolTestPeer::SetPopHook(*pool, StopThreadA, &race);
  std::thread a([&] {
    race.stopped_thread.store(std::this_thread::get_id());
    out.a_got = pool->Alloc();
  });
  while (!race.a_at_hook.load()) std::this_thread::yield();
  EXPECT_EQ(race.head_seen.load(), out.x);
  std::thread b([&] {
    race.b_started.store(true);
    out.b_got = pool->Alloc();
    pool->Free(out.b_got);  // to the OS: unmapped for good
    race.b_done.store(true);
  });
  a.join();
  b.join();
  out.released = pool->Stats().os_releases;
  internal::PoolTestPeer::SetPopHook(*pool, nullptr, nullptr);
  pool->Free(out.a_got);
  pool->Flush();
  EXPECT_TRUE(DestroyPool(pool).ok());
  return out;
}

TEST(Seed003RaceTest, DwcasWithItsFlushLockWaitsForThePop) {
  Outcome out = RunSeed003(SharedCacheStrategy::kDwcas, true, "s003_dwcas");
  // B took X; A's CAS saw the generation move, and A took Y instead. X was
  // released only after A left its pop (B waited in the release barrier).
  EXPECT_EQ(out.b_got, out.x);
  EXPECT_EQ(out.a_got, out.y);
  EXPECT_EQ(out.released, 1u);
}

TEST(Seed003RaceTest, XchgNeverLetsAnotherThreadTakeTheHead) {
  Outcome out = RunSeed003(SharedCacheStrategy::kXchg, true, "s003_xchg");
  // A holds the head (BUSY) while stopped: B waits, then gets Y.
  EXPECT_EQ(out.a_got, out.x);
  EXPECT_EQ(out.b_got, out.y);
  EXPECT_EQ(out.released, 1u);
}

using Seed003RaceDeathTest = testing::Test;

// Offset 8: the read is of the stack link, next_cluster, the second word.
TEST(Seed003RaceDeathTest, DwcasWithoutItsFlushLockReadsFreedMemory) {
  EXPECT_DEATH(RunSeed003(SharedCacheStrategy::kDwcas, false, "s003_nolock"),
               "use after free \\(released object\\) in pool 's003_nolock'"
               "(.|\n)*offset 8");
}

}  // namespace
}  // namespace poolkit
