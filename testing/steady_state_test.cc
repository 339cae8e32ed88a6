// No OS call in a steady state: for every strategy with a shared cache, each
// steady pattern (hot, batches past the thread budget, cross-thread
// hand-off, on 1, 2 and 8 threads) runs a warm-up and then a fixed number of
// operations, and the pool's os_allocs / os_releases must not move while
// the release rule runs interval after interval (the release clock is the
// test's own and advances with the work, so the rule runs many times in
// every measured phase).
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

// All threads meet here between warm-up and measurement; the last one in
// runs `at_meeting` before anyone leaves.
class Meeting {
 public:
  explicit Meeting(int threads) : threads_(threads) {}
  template <typename F>
  void Arrive(F at_meeting) {
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == threads_) {
      at_meeting();
      open_.store(true, std::memory_order_release);
    }
    while (!open_.load(std::memory_order_acquire)) std::this_thread::yield();
  }

 private:
  const int threads_;
  std::atomic<int> arrived_{0};
  std::atomic<bool> open_{false};
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

 private:
  // More than a batch: a producer fills its whole batch in before the
  // consumer starts (see the rounds below).
  static constexpr std::size_t kSlots = 1024;
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

  // Four intervals: enough for the rule to settle on what the load needs.
  const int warmup_rounds = 64;
  // Not scaled down under qemu: the cross bound below needs the objects.
  const int rounds = 100;
  const std::size_t batch = std::min<std::size_t>(1000, kBatchBytes / c.size);
  std::uint64_t allocs_before = 0;
  std::uint64_t releases_before = 0;
  Meeting meeting(c.threads);
  auto snapshot = [&] {
    PoolStats stats = pool->Stats();
    allocs_before = stats.os_allocs;
    releases_before = stats.os_releases;
  };
  std::atomic<bool> failed{false};
  std::vector<Ring> rings(static_cast<std::size_t>(c.threads / 2 + 1));

  std::vector<std::unique_ptr<Meeting>> meetings;
  for (int r = 0; r < warmup_rounds + rounds; ++r) {
    meetings.push_back(std::make_unique<Meeting>(c.threads));
  }
  auto rounds_met = [&meetings](int r) -> Meeting& { return *meetings[r]; };
  // The warm-up opens with the worst case, every thread at once: its batch
  // (across threads: the batch in flight and a full consumer cache) plus a
  // cluster left in its cache after a refill and one in the shared cache,
  // and a full stash. After that no round can need an object more; and the
  // rounds below move in step, so that their peak recurs and the rule's
  // need stays at it. (Left to the scheduler, 8 threads on 2 CPUs line
  // their peaks up only now and then, and how soon a pool reaches its
  // steady size is then a matter of luck: see README.)
  const std::size_t worst =
      batch + (c.pattern == Pattern::kCross ? kBudget / c.size : 0) +
      2 * pool->cluster_objects() + pool->stash_capacity();
  Meeting peak(c.threads);
  Meeting peak_done(c.threads);
  auto body = [&](int index) {
    std::vector<void*> objects;
    objects.reserve(std::max(batch, worst));
    // Across threads only producers allocate (consumers free what they get).
    const bool allocates = c.pattern != Pattern::kCross || index % 2 == 0;
    for (std::size_t i = 0; allocates && i < worst; ++i) {
      objects.push_back(pool->Alloc());
    }
    peak.Arrive([] {});
    for (void* object : objects) pool->Free(object);
    objects.clear();
    peak_done.Arrive([] {});
    for (int round = 0; round < warmup_rounds + rounds; ++round) {
      if (round == warmup_rounds) meeting.Arrive(snapshot);
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
          if (c.threads > 1) rounds_met(round).Arrive([] {});
          for (void* object : objects) pool->Free(object);
          objects.clear();
          break;
        case Pattern::kCross: {
          // Bursts: each producer hands its batch over, then its consumer
          // frees it, every pair in step, so the in-flight peak recurs in
          // every round.
          Ring& ring = rings[static_cast<std::size_t>(index / 2)];
          if (index % 2 == 0) {
            for (std::size_t i = 0; i < batch; ++i) {
              void* object = pool->Alloc();
              if (object == nullptr) failed = true;
              ring.Push(object);
            }
          }
          rounds_met(round).Arrive([] {});
          if (index % 2 == 1) {
            for (std::size_t i = 0; i < batch; ++i) pool->Free(ring.Pop());
          }
          break;
        }
      }
      Tick(c.threads);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < c.threads; ++t) threads.emplace_back(body, t);
  for (std::thread& thread : threads) thread.join();
  ASSERT_FALSE(failed.load());

  PoolStats after = pool->Stats();
  if (c.pattern != Pattern::kCross) {
    EXPECT_EQ(after.os_allocs, allocs_before)
        << "allocated " << after.allocated;
    EXPECT_EQ(after.os_releases, releases_before)
        << "allocated " << after.allocated;
  } else {
    // Across threads the target (none) is not met yet: which bucket a
    // consumer's evictions land in and which producer finds them is the
    // scheduler's choice, and now and then the rule releases a few clusters
    // that a later round needs again (seen in about 1 run in 3 with 4
    // pairs, mostly with 64 KiB objects, whose batches are 32; under qemu,
    // with a quarter of the rounds, up to 1 call per 100 objects). What
    // holds everywhere: at most one OS call per 25 objects handed over (no
    // shared cache at all would make two per object).
    const std::uint64_t calls = (after.os_allocs - allocs_before) +
                                (after.os_releases - releases_before);
    const std::uint64_t handed_over =
        static_cast<std::uint64_t>(rounds) * batch * (c.threads / 2);
    EXPECT_LE(calls * 25, handed_over)
        << calls << " OS calls for " << handed_over << " objects";
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
