// No OS call in a steady state: for every strategy with a shared cache, each
// steady pattern (hot, batches past the thread budget, cross-thread
// hand-off, on 1, 2 and 8 threads) runs until the pool has settled (its OS
// counters still for 8 release intervals, within a bound) and then for 10
// intervals more, and the pool's os_allocs / os_releases must not move
// while the release rule runs interval after interval (the release clock is
// the test's own and advances with the work). On 8 threads over 2 CPUs no
// release either, and allocations only to a new peak, bounded (see below).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "pool/internal/release_clock.h"
#include "pool/pool.h"
#include "pool/registry.h"
#include "testing/stress_util.h"

namespace poolkit {
namespace {

constexpr std::int64_t kIntervalNs = 1000000000;
// Each thread's batch holds at most this much, and a small budget makes
// every size's batch overflow it.
constexpr std::size_t kBatchBytes = 2 << 20;
constexpr std::size_t kBudget = 32 * 1024;

std::atomic<std::int64_t> g_now{0};
std::int64_t FakeNow() { return g_now.load(std::memory_order_relaxed); }
// Every thread moves the clock on by 1/16th of an interval per round,
// divided by the thread count: an interval is 16 rounds of every thread, so
// that the rule samples the load over many batches (as a real second does:
// a round here takes microseconds), and runs about six times while the
// counters are watched.
void Tick(int threads) {
  g_now.fetch_add(kIntervalNs / (16 * threads), std::memory_order_relaxed);
}

enum class Pattern { kHot, kBatch, kCross };

struct Case {
  SharedCacheStrategy strategy;
  Pattern pattern;
  int threads;
  std::size_t size;
};

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  const char* pattern = c.pattern == Pattern::kHot     ? "hot"
                        : c.pattern == Pattern::kBatch ? "batch"
                                                       : "cross";
  return std::string(StrategyName(c.strategy)) + "_" + pattern + "_" +
         std::to_string(c.threads) + "t_" + std::to_string(c.size) + "B";
}

// A reusable meeting point: the last thread to arrive runs `at_meeting`
// before anyone leaves (so that everybody leaves with its decision).
class Barrier {
 public:
  explicit Barrier(int threads) : threads_(threads) {}
  template <typename F>
  void Arrive(F at_meeting) {
    // Acquire/release: what the last thread wrote in at_meeting is seen by
    // every thread that leaves this generation.
    const int generation = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == threads_) {
      at_meeting();
      arrived_.store(0, std::memory_order_relaxed);
      generation_.store(generation + 1, std::memory_order_release);
      return;
    }
    while (generation_.load(std::memory_order_acquire) == generation) {
      std::this_thread::yield();
    }
  }
  void Arrive() {
    Arrive([] {});
  }

 private:
  const int threads_;
  std::atomic<int> arrived_{0};
  std::atomic<int> generation_{0};
};

// A single-producer single-consumer ring for the cross pattern.
class Ring {
 public:
  void Push(void* object) {
    std::size_t tail = tail_.load(std::memory_order_relaxed);
    while (tail - head_.load(std::memory_order_acquire) == kSlots) {
      std::this_thread::yield();
    }
    slots_[tail % kSlots] = object;
    tail_.store(tail + 1, std::memory_order_release);
  }
  void* Pop() {
    std::size_t head = head_.load(std::memory_order_relaxed);
    while (tail_.load(std::memory_order_acquire) == head) {
      std::this_thread::yield();
    }
    void* object = slots_[head % kSlots];
    head_.store(head + 1, std::memory_order_release);
    return object;
  }

  // More than a batch: a producer fills its whole batch in before the
  // consumer starts (see the rounds below).
  static constexpr std::size_t kSlots = 1024;

 private:
  void* slots_[kSlots] = {};
  std::atomic<std::size_t> head_{0};
  std::atomic<std::size_t> tail_{0};
};

class SteadyStateTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    old_budget_ = ThreadCacheBudget();
    SetThreadCacheBudget(kBudget);
    internal::SetReleaseClockForTesting(FakeNow);
    SetSpareReleaseInterval(std::chrono::milliseconds(kIntervalNs / 1000000));
  }
  void TearDown() override {
    internal::SetReleaseClockForTesting(nullptr);
    SetThreadCacheBudget(old_budget_);
  }
  std::size_t old_budget_ = 0;
};

TEST_P(SteadyStateTest, NoOsCallAfterWarmUp) {
  const Case c = GetParam();
  PoolOptions options;
  options.name = "steady-" + CaseName({c, 0});
  options.name.resize(std::min<std::size_t>(options.name.size(), 31));
  options.object_size = c.size;
  options.strategy = c.strategy;
  absl::StatusOr<Pool*> created = CreatePool(options);
  ASSERT_TRUE(created.ok()) << created.status();
  Pool* pool = *created;
  ASSERT_EQ(pool->thread_cacheable(), c.size * 8 <= kBudget);

  const std::size_t batch = std::min<std::size_t>(1000, kBatchBytes / c.size);
  // Settling: the load grows the pool to what it needs, and the release rule
  // may give back an early excess; the pool has settled once its OS counters
  // stood still for kQuietRounds rounds in a row (8 release intervals: more
  // than the rule's window and the decay after it). No artificial warm-up
  // size: an estimate of the peak either falls short (the pool then grows
  // during the measurement) or overshoots (the rule then rightly releases
  // the excess), and both were seen. A pattern that never settles (a rule
  // that releases what the next peak needs again) fails the bound.
  constexpr int kQuietRounds = 128;
  constexpr int kMaxSettlingRounds = 4000;
  // Then measured: 10 release intervals with the counters watched.
  constexpr int kMeasuredRounds = 160;
  struct Progress {
    int round = 0;
    int quiet = 0;
    bool measuring = false;
    bool settled_in_time = true;
    bool done = false;
    std::uint64_t last_calls = 0;
    int settling_rounds = 0;
  } progress;
  std::uint64_t allocs_before = 0;
  std::uint64_t releases_before = 0;
  auto end_of_round = [&] {
    PoolStats stats = pool->Stats();
    const std::uint64_t calls = stats.os_allocs + stats.os_releases;
    ++progress.round;
    if (progress.measuring) {
      progress.done = progress.round >= kMeasuredRounds;
      return;
    }
    progress.quiet = calls == progress.last_calls ? progress.quiet + 1 : 0;
    progress.last_calls = calls;
    if (progress.quiet >= kQuietRounds ||
        progress.round >= kMaxSettlingRounds) {
      progress.settled_in_time = progress.quiet >= kQuietRounds;
      progress.settling_rounds = progress.round;
      progress.measuring = true;
      progress.round = 0;
      allocs_before = stats.os_allocs;
      releases_before = stats.os_releases;
    }
  };
  std::atomic<bool> failed{false};
  std::vector<Ring> rings(static_cast<std::size_t>(c.threads / 2 + 1));
  Barrier mid_round(c.threads);
  Barrier round_end(c.threads);
  auto body = [&](int index) {
    std::vector<void*> objects;
    objects.reserve(batch);
    while (!progress.done) {
      switch (c.pattern) {
        case Pattern::kHot:
          for (int i = 0; i < 1000; ++i) {
            void* object = pool->Alloc();
            if (object == nullptr) failed = true;
            pool->Free(object);
          }
          break;
        case Pattern::kBatch:
          for (std::size_t i = 0; i < batch; ++i) {
            objects.push_back(pool->Alloc());
            if (objects.back() == nullptr) failed = true;
          }
          if (c.threads > 1) mid_round.Arrive();
          for (void* object : objects) pool->Free(object);
          objects.clear();
          break;
        case Pattern::kCross: {
          // Bursts: each producer hands its batch over, then its consumer
          // frees it while the producer goes on with the next, every pair in
          // step.
          Ring& ring = rings[static_cast<std::size_t>(index / 2)];
          if (index % 2 == 0) {
            for (std::size_t i = 0; i < batch; ++i) {
              void* object = pool->Alloc();
              if (object == nullptr) failed = true;
              ring.Push(object);
            }
          }
          mid_round.Arrive();
          if (index % 2 == 1) {
            for (std::size_t i = 0; i < batch; ++i) pool->Free(ring.Pop());
          }
          break;
        }
      }
      Tick(c.threads);
      round_end.Arrive(end_of_round);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < c.threads; ++t) threads.emplace_back(body, t);
  for (std::thread& thread : threads) thread.join();
  ASSERT_FALSE(failed.load());

  EXPECT_TRUE(progress.settled_in_time) << "the OS counters still moved after "
                                        << kMaxSettlingRounds << " rounds";
  PoolStats after = pool->Stats();
  // Never a release: the rule gives back nothing the load still uses.
  EXPECT_EQ(after.os_releases, releases_before)
      << "allocated " << after.allocated << " after "
      << progress.settling_rounds << " rounds of settling";
  const std::uint64_t grown = after.os_allocs - allocs_before;
  if (c.threads > 2) {
    // With 8 threads on 2 CPUs, what the load needs at its peak depends on
    // the scheduler: how far a producer gets ahead of a descheduled
    // consumer, and how many objects sit in the leftover of a thread's last
    // refill when all threads peak at once. A new record needs objects the
    // pool never held: growth to a new peak, not churn (which would show as
    // releases above). Seen after settling: 1-51 objects (batches of 64 B,
    // cross-thread 64 B and 2 KiB) in some runs. The bound: one cluster and
    // a stash per thread, which a leak (objects lost, so taken anew) goes past
    // sooner or later.
    const std::uint64_t bound =
        static_cast<std::uint64_t>(c.threads) *
        (pool->cluster_objects() + pool->stash_capacity());
    EXPECT_LE(grown, bound)
        << "objects allocated after settling, of " << after.allocated;
  } else {
    EXPECT_EQ(grown, 0u) << "allocated " << after.allocated << " after "
                         << progress.settling_rounds << " rounds of settling";
  }
  EXPECT_EQ(after.in_use, 0);
  pool->Flush();
  EXPECT_TRUE(DestroyPool(pool).ok());
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (SharedCacheStrategy strategy :
       {SharedCacheStrategy::kSpinlock, SharedCacheStrategy::kDwcas,
        SharedCacheStrategy::kXchg}) {
    // 64 B and 2 KiB are thread-cacheable with a 32 KiB budget; 64 KiB
    // objects are not (they go through the stash and the shared cache).
    for (std::size_t size : {64, 2048, 65536}) {
      cases.push_back({strategy, Pattern::kHot, 1, size});
      cases.push_back({strategy, Pattern::kBatch, 1, size});
      cases.push_back({strategy, Pattern::kCross, 2, size});
      cases.push_back({strategy, Pattern::kBatch, 2, size});
      cases.push_back({strategy, Pattern::kHot, 8, size});
      cases.push_back({strategy, Pattern::kBatch, 8, size});
      cases.push_back({strategy, Pattern::kCross, 8, size});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Patterns, SteadyStateTest,
                         ::testing::ValuesIn(AllCases()), CaseName);

}  // namespace
}  // namespace poolkit
