// Property-based stress with real concurrency, beside the fuzzer (whose
// workers run one at a time): threads that run at once perform random
// sequences of the pool API (alloc, free, hand an object to another thread,
// flush, trim, gc, release the thread cache) on pools of every strategy, one
// of them with a limit. The oracle needs no interleaving model:
//   - every object is handed out at most once at a time, by address;
//   - its contents (a stamp over its whole length) survive until it is freed;
//   - a failed Alloc() happens only at the limit, and each one is counted;
//   - when the threads have joined, the counters add up and the shared
//     cache, walked, holds exactly what the pool says it allocated.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "pool/internal/pool_test_peer.h"
#include "pool/pool.h"
#include "pool/registry.h"
#include "testing/stress_util.h"

namespace poolkit {
namespace {

using ::poolkit::testing::LiveObjects;
using ::poolkit::testing::Scaled;

constexpr int kThreads = 4;

struct Object {
  void* address;
  std::uint64_t stamp;
  int pool;
};

// Words 0 and 1 hold cache links while the object is free; the stamp fills
// the rest, so that any write by a second owner, or a link written while we
// own it, is seen.
void Stamp(void* object, std::size_t size, std::uint64_t stamp) {
  auto* words = static_cast<std::uint64_t*>(object);
  for (std::size_t i = 0; i < size / 8; ++i) words[i] = stamp + i;
}

bool StampIntact(const void* object, std::size_t size, std::uint64_t stamp) {
  const auto* words = static_cast<const std::uint64_t*>(object);
  for (std::size_t i = 0; i < size / 8; ++i) {
    if (words[i] != stamp + i) return false;
  }
  return true;
}

struct Mailbox {
  std::mutex mutex;
  std::vector<Object> objects;
};

class ConcurrentPropertyTest
    : public ::testing::TestWithParam<std::tuple<SharedCacheStrategy, int>> {};

TEST_P(ConcurrentPropertyTest, RandomOperationsKeepEveryInvariant) {
  const SharedCacheStrategy strategy = std::get<0>(GetParam());
  const int seed = std::get<1>(GetParam());
  // Thread-cached, thread-cached at the budget's edge, stashed (too big
  // for the budget), and a small one with a limit.
  const std::size_t sizes[] = {48, 24 * 1024, 128 * 1024, 64};
  const std::size_t limit_of[] = {0, 0, 0, 40};
  constexpr int kPools = 4;
  Pool* pools[kPools];
  for (int p = 0; p < kPools; ++p) {
    PoolOptions options;
    options.name = "prop-" + std::to_string(seed) + "-" +
                   std::string(StrategyName(strategy)) + "-" +
                   std::to_string(p);
    options.object_size = sizes[p];
    options.strategy = strategy;
    options.limit = limit_of[p];
    options.flags = kPoolExact;
    absl::StatusOr<Pool*> pool = CreatePool(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pools[p] = *pool;
  }

  LiveObjects live;
  Mailbox mailboxes[kThreads];
  std::atomic<std::uint64_t> double_hand_outs{0};
  std::atomic<std::uint64_t> corrupted{0};
  std::atomic<std::uint64_t> unknown_frees{0};
  std::atomic<std::uint64_t> failures_below_limit{0};
  std::atomic<std::uint64_t> failed_allocs[kPools] = {};
  std::atomic<std::int64_t> out[kPools] = {};  // allocated, not yet freed
  std::atomic<std::uint64_t> next_stamp{1};
  const int operations = static_cast<int>(Scaled(20000));

  auto release = [&](const Object& object) {
    const std::size_t size = sizes[object.pool];
    if (!StampIntact(object.address, size, object.stamp)) corrupted++;
    if (!live.Erase(object.address)) unknown_frees++;
    // Scribble: a second owner's stamp check would then fail.
    std::memset(object.address, 0xa5, size);
    out[object.pool].fetch_sub(1);
    pools[object.pool]->Free(object.address);
  };

  auto worker = [&](int self) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(seed) * 7919 + self);
    std::vector<Object> held;
    for (int op = 0; op < operations; ++op) {
      const unsigned choice = rng() % 100;
      if (choice < 45) {  // alloc
        const int p = static_cast<int>(rng() % kPools);
        // Counted before the call, so that "out" never undercounts what the
        // limit sees.
        out[p].fetch_add(1);
        void* address = pools[p]->Alloc();
        if (address == nullptr) {
          out[p].fetch_sub(1);
          failed_allocs[p]++;
          if (limit_of[p] == 0) failures_below_limit++;
          continue;
        }
        if (!live.Insert(address)) double_hand_outs++;
        const Object object{address, next_stamp.fetch_add(1 << 20), p};
        Stamp(address, sizes[p], object.stamp);
        held.push_back(object);
      } else if (choice < 75) {  // free one of ours
        if (held.empty()) continue;
        const std::size_t i = rng() % held.size();
        release(held[i]);
        held[i] = held.back();
        held.pop_back();
      } else if (choice < 88) {  // hand one to another thread
        if (held.empty()) continue;
        const int to = static_cast<int>(rng() % kThreads);
        std::lock_guard<std::mutex> lock(mailboxes[to].mutex);
        mailboxes[to].objects.push_back(held.back());
        held.pop_back();
      } else if (choice < 95) {  // free what others handed us
        std::vector<Object> received;
        {
          std::lock_guard<std::mutex> lock(mailboxes[self].mutex);
          received.swap(mailboxes[self].objects);
        }
        for (const Object& object : received) release(object);
      } else {  // maintenance
        switch (rng() % 4) {
          case 0:
            pools[rng() % kPools]->Flush();
            break;
          case 1:
            pools[rng() % kPools]->Trim(rng() % 8);
            break;
          case 2:
            Gc();
            break;
          default:
            ReleaseThreadCache();
        }
      }
    }
    for (const Object& object : held) release(object);
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (std::thread& thread : threads) thread.join();
  for (Mailbox& mailbox : mailboxes) {
    for (const Object& object : mailbox.objects) release(object);
  }

  EXPECT_EQ(double_hand_outs.load(), 0u);
  EXPECT_EQ(corrupted.load(), 0u);
  EXPECT_EQ(unknown_frees.load(), 0u);
  EXPECT_EQ(failures_below_limit.load(), 0u);
  for (int p = 0; p < kPools; ++p) {
    SCOPED_TRACE(sizes[p]);
    EXPECT_EQ(out[p].load(), 0);
    const PoolStats stats = pools[p]->Stats();
    // Every worker has exited (and handed its cache back); the objects
    // the mailboxes held were freed by this thread, which still caches
    // some.
    EXPECT_EQ(stats.in_use, 0);
    EXPECT_EQ(stats.allocated,
              stats.in_use + stats.thread_cached + stats.shared_cached);
    // `failed` counts every nullptr; here all of them were the limit's.
    EXPECT_EQ(stats.failed, failed_allocs[p].load());
    EXPECT_EQ(stats.limit_failures, stats.failed);
    if (limit_of[p] != 0) {
      EXPECT_GT(stats.failed, 0u) << "the limit was never reached";
      EXPECT_LE(stats.allocated, static_cast<std::int64_t>(limit_of[p]));
    }
  }
  ReleaseThreadCache();
  for (int p = 0; p < kPools; ++p) {
    const PoolStats stats = pools[p]->Stats();
    EXPECT_EQ(stats.thread_cached, 0);
    EXPECT_EQ(static_cast<std::size_t>(stats.allocated),
              internal::PoolTestPeer::CountShared(*pools[p]));
    EXPECT_TRUE(DestroyPool(pools[p]).ok());
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllStrategies, ConcurrentPropertyTest,
    ::testing::Combine(::testing::Values(SharedCacheStrategy::kSpinlock,
                                         SharedCacheStrategy::kDwcas,
                                         SharedCacheStrategy::kXchg,
                                         SharedCacheStrategy::kNone),
                       ::testing::Values(1, 2, 3)),
    [](const auto& info) {
      return std::string(StrategyName(std::get<0>(info.param))) + "_seed" +
             std::to_string(std::get<1>(info.param));
    });

}  // namespace
}  // namespace poolkit
