// Cross-thread stress of every shared-cache strategy: producers allocate and
// stamp objects, consumers (other threads) verify and free them, threads
// come and go throughout, and a maintenance thread flushes and trims the
// pool all along. At the end every object was handed out and freed exactly
// once, and the counters add up.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
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

using ::poolkit::testing::BoundedQueue;
using ::poolkit::testing::LiveObjects;
using ::poolkit::testing::Scaled;

struct Message {
  void* object;
  std::uint64_t serial;
};

// Words 0 and 1 of a free object hold cache links; the stamp lives past
// them so that a stale link cannot pass for a stamp.
void Stamp(void* object, std::uint64_t serial) {
  auto* words = static_cast<std::uint64_t*>(object);
  words[2] = serial;
  words[3] = ~serial;
}

bool StampMatches(const void* object, std::uint64_t serial) {
  const auto* words = static_cast<const std::uint64_t*>(object);
  return words[2] == serial && words[3] == ~serial;
}

class PoolStressTest : public ::testing::TestWithParam<
                           std::tuple<SharedCacheStrategy, std::size_t>> {};

TEST_P(PoolStressTest, CrossThreadWithChurnFlushAndGc) {
  const SharedCacheStrategy strategy = std::get<0>(GetParam());
  const std::size_t size = std::get<1>(GetParam());
  PoolOptions options;
  options.name = "stress-" + std::string(StrategyName(strategy)) + "-" +
                 std::to_string(size);
  options.object_size = size;
  options.strategy = strategy;
  options.minavail = 16;
  absl::StatusOr<Pool*> created = CreatePool(options);
  ASSERT_TRUE(created.ok()) << created.status();
  Pool* pool = *created;

  // Large objects are expensive to fault in: fewer of them.
  const std::uint64_t total = Scaled(size > 4096 ? 4000 : 60000);
  const int kProducers = 2, kConsumers = 2;
  const std::uint64_t per_generation = total / 16 + 1;
  BoundedQueue<Message> queue(256);
  std::vector<std::atomic<std::uint8_t>> seen(total);
  std::atomic<std::uint64_t> next_serial{0};
  std::atomic<std::uint64_t> bad_stamps{0};
  std::atomic<std::uint64_t> local_frees{0};
  std::atomic<bool> stop_maintenance{false};
  LiveObjects live;
  std::atomic<std::uint64_t> double_hand_outs{0};
  std::atomic<std::uint64_t> unknown_frees{0};
  auto free_object = [&](void* object) {
    if (!live.Erase(object)) unknown_frees.fetch_add(1);
    pool->Free(object);
  };

  // A producer generation allocates up to per_generation objects in random
  // batches, frees a few itself at once (same-thread path), sends the rest
  // to the consumers, and exits: the next generation is a new thread.
  auto producer = [&](unsigned seed) {
    std::mt19937 rng(seed);
    std::uint64_t made = 0;
    std::vector<void*> batch;
    while (made < per_generation) {
      std::size_t n = 1 + rng() % 64;
      batch.clear();
      for (std::size_t i = 0; i < n; ++i) {
        void* object = pool->Alloc();
        ASSERT_NE(object, nullptr);
        if (!live.Insert(object)) double_hand_outs.fetch_add(1);
        batch.push_back(object);
      }
      for (void* object : batch) {
        if (rng() % 8 == 0) {
          free_object(object);
          local_frees.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        std::uint64_t serial = next_serial.fetch_add(1);
        if (serial >= total) {
          free_object(object);
          local_frees.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        Stamp(object, serial);
        queue.Push({object, serial});
      }
      made += n;
      if (next_serial.load() >= total) return;
    }
  };
  auto consumer = [&](std::uint64_t quota) {
    for (std::uint64_t i = 0; i < quota; ++i) {
      std::optional<Message> message = queue.Pop();
      if (!message) return;
      if (!StampMatches(message->object, message->serial)) {
        bad_stamps.fetch_add(1);
      }
      seen[message->serial].fetch_add(1, std::memory_order_relaxed);
      // Scribble over the stamp: a second hand-out of this object would
      // then fail its check.
      std::memset(message->object, 0x5a, size);
      free_object(message->object);
    }
  };

  std::thread maintenance([&] {
    int round = 0;
    while (!stop_maintenance.load()) {
      switch (round++ % 3) {
        case 0:
          pool->Flush();
          break;
        case 1:
          Gc();
          break;
        default:
          pool->Trim(4);
      }
      std::this_thread::yield();
    }
  });

  // Producers: generations of fresh threads until every serial is issued.
  std::vector<std::thread> producer_lines;
  for (int p = 0; p < kProducers; ++p) {
    producer_lines.emplace_back([&, p] {
      unsigned seed = 1000u * static_cast<unsigned>(p);
      while (next_serial.load() < total) {
        std::thread generation(producer, seed++);
        generation.join();
      }
    });
  }
  // Consumers: generations of fresh threads, each taking a quota.
  std::atomic<bool> producers_done{false};
  std::vector<std::thread> consumer_lines;
  for (int c = 0; c < kConsumers; ++c) {
    consumer_lines.emplace_back([&] {
      while (!producers_done.load()) {
        std::thread generation(consumer, per_generation / 2 + 1);
        generation.join();
      }
      std::thread last(consumer, ~std::uint64_t{0});
      last.join();
    });
  }
  for (std::thread& t : producer_lines) t.join();
  producers_done.store(true);
  queue.Close();
  for (std::thread& t : consumer_lines) t.join();
  stop_maintenance.store(true);
  maintenance.join();

  EXPECT_EQ(bad_stamps.load(), 0u);
  EXPECT_EQ(double_hand_outs.load(), 0u);
  EXPECT_EQ(unknown_frees.load(), 0u);
  std::uint64_t missing = 0, duplicated = 0;
  for (std::uint64_t i = 0; i < total; ++i) {
    std::uint8_t count = seen[i].load();
    if (count == 0) ++missing;
    if (count > 1) ++duplicated;
  }
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(duplicated, 0u);

  // Every worker thread has exited and handed its cache back. Count the
  // shared cache by walking it, independently of the counters.
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.thread_cached, 0);
  EXPECT_EQ(static_cast<std::size_t>(stats.allocated),
            internal::PoolTestPeer::CountShared(*pool));
  if (strategy == SharedCacheStrategy::kNone) {
    EXPECT_EQ(stats.allocated, 0);
  }
  EXPECT_GT(local_frees.load(), 0u);
  EXPECT_TRUE(DestroyPool(pool).ok());
}

INSTANTIATE_TEST_SUITE_P(
    AllStrategies, PoolStressTest,
    ::testing::Combine(::testing::Values(SharedCacheStrategy::kSpinlock,
                                         SharedCacheStrategy::kDwcas,
                                         SharedCacheStrategy::kXchg,
                                         SharedCacheStrategy::kNone),
                       ::testing::Values(std::size_t{64},
                                         std::size_t{80 * 1024})),
    [](const ::testing::TestParamInfo<PoolStressTest::ParamType>& info) {
      return std::string(StrategyName(std::get<0>(info.param))) + "_" +
             std::to_string(std::get<1>(info.param));
    });

}  // namespace
}  // namespace poolkit
