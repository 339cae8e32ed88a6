// Multi-threaded torture of every atomics backend the target can run.
//
// The pair invariant is hi == ~lo. Threads race to advance it with the pair
// compare-and-swap; every pair that any thread ever sees, from LoadPair or
// from a failed compare-and-swap, must satisfy the invariant (a torn read
// would mix the halves of two different writes), and at the end lo must equal
// the number of successful swaps. The word operations get the same treatment:
// a compare-and-swap counter and an exchange hand-off that must neither lose
// nor duplicate a token.
//
// Sized by POOLKIT_STRESS_SCALE (see backends_for_test.h).

#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "arch/backends_for_test.h"
#include "arch/word_pair.h"
#include "gtest/gtest.h"
#include "testing/stress_util.h"

namespace poolkit::arch {
namespace {

using ::poolkit::arch::testing::AvailableBackends;
using ::poolkit::arch::testing::BackendName;
using ::poolkit::arch::testing::kAllOrders;
using ::poolkit::arch::testing::Rendezvous;
using ::poolkit::testing::Scaled;

constexpr int kThreads = 4;
constexpr int kPairIterationsPerThread = 100000;
constexpr int kWordIterationsPerThread = 50000;
// The threads meet at a Rendezvous this often, so that they overlap.
constexpr int kIterationsPerStep = 1024;
// The pair test runs on (up to kMaxStretch times its length) until the
// threads have collided at least this often, so that the failure path, where
// a torn observed value would show, is exercised even on a loaded machine.
constexpr std::uint64_t kWantedCollisions = 1000;
constexpr int kMaxStretch = 10;

template <class Backend>
class DwcasTortureTest : public ::testing::Test {};

TYPED_TEST_SUITE(DwcasTortureTest, AvailableBackends, BackendName);

struct PairCounts {
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  std::uint64_t torn = 0;
  std::uint64_t went_backwards = 0;
};

constexpr bool Intact(const WordPair& pair) { return pair.hi == ~pair.lo; }

TYPED_TEST(DwcasTortureTest, PairNeverTornAndCountsAddUp) {
  using Backend = TypeParam;
  const int min_steps =
      static_cast<int>(Scaled(kPairIterationsPerThread)) / kIterationsPerStep;
  const int max_steps = min_steps * kMaxStretch;
  alignas(64) WordPair shared{0, ~std::uint64_t{0}};
  std::vector<PairCounts> counts(kThreads);
  std::atomic<std::uint64_t> collisions{0};
  Rendezvous rendezvous(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PairCounts& mine = counts[t];
      WordPair seen = Backend::LoadPair(&shared, MemoryOrder::kAcquire);
      std::uint64_t last_lo = seen.lo;
      for (int step = 0;; ++step) {
        const bool more = rendezvous.Wait([&] {
          return step < min_steps ||
                 (step < max_steps &&
                  collisions.load(std::memory_order_relaxed) <
                      kWantedCollisions);
        });
        if (!more) break;
        const std::uint64_t failures_before = mine.failures;
        for (int i = 0; i < kIterationsPerStep; ++i) {
          // Every order, so every asm variant runs under contention.
          const MemoryOrder order = kAllOrders[(i + t) % 5];
          if (i % 8 == 0) seen = Backend::LoadPair(&shared, order);
          if (!Intact(seen)) ++mine.torn;
          // The counter only grows, so no thread may ever see it go back.
          if (seen.lo < last_lo) ++mine.went_backwards;
          last_lo = seen.lo;
          const WordPair next{seen.lo + 1, ~(seen.lo + 1)};
          if (Backend::CompareExchangePair(&shared, &seen, next, order)) {
            ++mine.successes;
            seen = next;
          } else {
            // `seen` now holds the observed value, checked on the next turn.
            ++mine.failures;
          }
        }
        collisions.fetch_add(mine.failures - failures_before,
                             std::memory_order_relaxed);
      }
      if (!Intact(seen)) ++mine.torn;
    });
  }
  for (std::thread& thread : threads) thread.join();

  PairCounts total;
  for (const PairCounts& c : counts) {
    total.successes += c.successes;
    total.failures += c.failures;
    total.torn += c.torn;
    total.went_backwards += c.went_backwards;
  }
  EXPECT_EQ(total.torn, 0u);
  EXPECT_EQ(total.went_backwards, 0u);
  EXPECT_EQ(shared.lo, total.successes);
  EXPECT_EQ(shared.hi, ~total.successes);
  // Every thread ran the same number of steps.
  EXPECT_EQ((total.successes + total.failures) %
                (static_cast<std::uint64_t>(kThreads) * kIterationsPerStep),
            0u);
  EXPECT_GE(
      total.successes + total.failures,
      static_cast<std::uint64_t>(kThreads) * min_steps * kIterationsPerStep);
  // How much the threads really raced. A run with few failures has hardly
  // exercised the failure path (possible on a single free CPU); the log
  // says so rather than failing, since it is the machine, not the code.
  std::printf("%s: %" PRIu64 " swaps, %" PRIu64 " failed under contention%s\n",
              Backend::kName, total.successes, total.failures,
              total.failures < kWantedCollisions ? " (little contention)" : "");
  ::testing::Test::RecordProperty("successes",
                                  static_cast<int>(total.successes));
  ::testing::Test::RecordProperty("failures", static_cast<int>(total.failures));
}

TYPED_TEST(DwcasTortureTest, WordCompareExchangeCounter) {
  using Backend = TypeParam;
  const int iterations = static_cast<int>(Scaled(kWordIterationsPerThread));
  alignas(64) std::uintptr_t counter = 0;
  Rendezvous rendezvous(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::uintptr_t seen = Backend::LoadWord(&counter, MemoryOrder::kRelaxed);
      for (int i = 0; i < iterations; ++i) {
        if (i % kIterationsPerStep == 0) rendezvous.Wait();
        const MemoryOrder order = kAllOrders[(i + t) % 5];
        while (
            !Backend::CompareExchangeWord(&counter, &seen, seen + 1, order)) {
        }
        ++seen;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter, static_cast<std::uintptr_t>(kThreads) * iterations);
}

TYPED_TEST(DwcasTortureTest, ExchangeWordLosesAndDuplicatesNothing) {
  using Backend = TypeParam;
  const int iterations = static_cast<int>(Scaled(kWordIterationsPerThread));
  // Thread t puts in tokens t * iterations + 1 ... (t + 1) * iterations and
  // keeps what comes out. Every token must end up exactly once either in
  // some thread's haul or in the slot.
  alignas(64) std::uintptr_t slot = 0;
  std::vector<std::vector<std::uintptr_t>> hauls(kThreads);
  Rendezvous rendezvous(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::uintptr_t>& haul = hauls[t];
      haul.reserve(iterations);
      for (int i = 0; i < iterations; ++i) {
        if (i % kIterationsPerStep == 0) rendezvous.Wait();
        const std::uintptr_t token =
            static_cast<std::uintptr_t>(t) * iterations + i + 1;
        haul.push_back(
            Backend::ExchangeWord(&slot, token, kAllOrders[(i + t) % 5]));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  const std::size_t tokens = static_cast<std::size_t>(kThreads) * iterations;
  std::vector<int> seen(tokens + 1, 0);  // seen[0] counts the initial 0.
  for (const auto& haul : hauls) {
    for (std::uintptr_t token : haul) {
      ASSERT_LE(token, tokens);
      ++seen[token];
    }
  }
  ++seen[slot];
  for (std::size_t token = 0; token <= tokens; ++token) {
    ASSERT_EQ(seen[token], 1) << "token " << token;
  }
}

}  // namespace
}  // namespace poolkit::arch
