// The simple contender's list: prefill, the malloc fallback and its count,
// and no object lost or handed out twice under contention.
#include "tools/poolbench/spinlock_free_list.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace poolkit::poolbench {
namespace {

TEST(SpinlockFreeListTest, ServesThePrefillThenFallsBackToMalloc) {
  SpinlockFreeList list(64);
  ASSERT_TRUE(list.Prefill(3));
  EXPECT_EQ(list.CountFree(), 3u);
  std::set<void*> objects;
  for (int i = 0; i < 3; ++i) objects.insert(list.Alloc());
  EXPECT_EQ(objects.size(), 3u);
  EXPECT_EQ(objects.count(nullptr), 0u);
  EXPECT_EQ(list.FallbackAllocs(), 0u);
  EXPECT_EQ(list.CountFree(), 0u);
  // Empty: malloc, counted.
  void* extra = list.Alloc();
  ASSERT_NE(extra, nullptr);
  EXPECT_EQ(objects.count(extra), 0u);
  EXPECT_EQ(list.FallbackAllocs(), 1u);
  // What is freed is handed out again, last in first out.
  list.Free(extra);
  for (void* object : objects) list.Free(object);
  EXPECT_EQ(list.CountFree(), 4u);
  EXPECT_EQ(list.Alloc(), *objects.rbegin());
  list.Free(*objects.rbegin());
  EXPECT_EQ(list.FallbackAllocs(), 1u);
  // The destructor frees all four (leak checkers would see otherwise).
}

TEST(SpinlockFreeListTest, ObjectsAreNeitherLostNorSharedUnderContention) {
  constexpr int kThreads = 4;
  constexpr int kHeld = 8;
  constexpr int kRounds = 2000;
  SpinlockFreeList list(32);
  ASSERT_TRUE(list.Prefill(kThreads * kHeld));
  std::vector<int> corrupted(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&list, &corrupted, t] {
      void* held[kHeld];
      for (int round = 0; round < kRounds; ++round) {
        for (int i = 0; i < kHeld; ++i) {
          held[i] = list.Alloc();
          // The second word: the first is the list's link while free.
          std::uint64_t mark = (std::uint64_t{1} << 32) * t + round * kHeld + i;
          std::memcpy(static_cast<char*>(held[i]) + 8, &mark, sizeof(mark));
        }
        for (int i = 0; i < kHeld; ++i) {
          std::uint64_t mark;
          std::memcpy(&mark, static_cast<char*>(held[i]) + 8, sizeof(mark));
          if (mark != (std::uint64_t{1} << 32) * t + round * kHeld + i) {
            ++corrupted[t];
          }
          list.Free(held[i]);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(corrupted[t], 0) << t;
  // Every object came back: the prefill was enough, so none was added.
  EXPECT_EQ(list.FallbackAllocs(), 0u);
  EXPECT_EQ(list.CountFree(), static_cast<std::size_t>(kThreads * kHeld));
}

}  // namespace
}  // namespace poolkit::poolbench
