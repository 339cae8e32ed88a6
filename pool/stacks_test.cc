// Each shared-cache stack alone (pool/internal/*_stack.h): LIFO order of
// clusters, clusters kept whole, PopAll, the empty cases, the counts, the xchg
// head's BUSY state, the dwcas flush lock's reader/writer exclusion, and
// clusters handed out at most once at a time (by address) under real
// concurrency.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "pool/internal/dwcas_stack.h"
#include "pool/internal/free_item.h"
#include "pool/internal/spinlock_stack.h"
#include "pool/internal/stack_counts.h"
#include "pool/internal/xchg_stack.h"

namespace poolkit::internal {
namespace {

// A cluster of `count` objects linked through `next`, with its count in the
// second object, as the thread caches cut them.
class Clusters {
 public:
  Clusters(int clusters, int count) : items_(clusters * count) {
    for (int c = 0; c < clusters; ++c) {
      FreeItem* first = &items_[c * count];
      for (int i = 0; i < count; ++i) {
        first[i].next = i + 1 < count ? &first[i + 1] : nullptr;
        first[i].next_cluster = nullptr;
      }
      if (count > 1) SetClusterCount(first, count);
      heads_.push_back(first);
    }
  }
  FreeItem* operator[](int c) const { return heads_[c]; }
  int size() const { return static_cast<int>(heads_.size()); }
  int IndexOf(const FreeItem* head) const {
    for (int c = 0; c < size(); ++c) {
      if (heads_[c] == head) return c;
    }
    return -1;
  }

 private:
  std::vector<FreeItem> items_;
  std::vector<FreeItem*> heads_;
};

// The objects of a cluster, by walking `next`.
std::vector<FreeItem*> Walk(FreeItem* head) {
  std::vector<FreeItem*> objects;
  for (FreeItem* item = head; item != nullptr; item = item->next) {
    objects.push_back(item);
  }
  return objects;
}

template <typename Stack>
class StackTest : public ::testing::Test {};

using Stacks = ::testing::Types<SpinlockStack, DwcasStack, XchgStack>;
class StackNames {
 public:
  template <typename Stack>
  static std::string GetName(int) {
    return Stack::kName;
  }
};
TYPED_TEST_SUITE(StackTest, Stacks, StackNames);

TYPED_TEST(StackTest, EmptyStackPopsNothing) {
  TypeParam stack;
  EXPECT_TRUE(stack.LooksEmpty());
  EXPECT_EQ(stack.Pop(), nullptr);
  EXPECT_EQ(stack.PopAll(), nullptr);
  EXPECT_EQ(stack.Pop(), nullptr);
  EXPECT_TRUE(stack.LooksEmpty());
}

TYPED_TEST(StackTest, PopsClustersLastInFirstOutAndWhole) {
  TypeParam stack;
  Clusters clusters(4, 5);
  for (int c = 0; c < clusters.size(); ++c)
    stack.Push(clusters[c], ClusterCount(clusters[c]));
  EXPECT_FALSE(stack.LooksEmpty());
  EXPECT_EQ(stack.PeekForTesting(), clusters[3]);
  for (int c = clusters.size() - 1; c >= 0; --c) {
    FreeItem* popped = stack.Pop();
    ASSERT_EQ(popped, clusters[c]) << "cluster " << c;
    // The stack links clusters through next_cluster only: the objects and
    // the count are as they were pushed.
    std::vector<FreeItem*> objects = Walk(popped);
    ASSERT_EQ(objects.size(), 5u);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(objects[i], clusters[c] + i);
    EXPECT_EQ(ClusterCount(popped), 5u);
  }
  EXPECT_EQ(stack.Pop(), nullptr);
  EXPECT_TRUE(stack.LooksEmpty());
}

// The stack's count follows every push and pop, and its low-water mark is
// the fewest objects it held since the mark was last taken.
TYPED_TEST(StackTest, CountsObjectsAndTheirLowWater) {
  TypeParam stack;
  Clusters clusters(4, 5);
  EXPECT_EQ(stack.Objects(), 0);
  for (int c = 0; c < clusters.size(); ++c) {
    stack.Push(clusters[c], ClusterCount(clusters[c]));
    EXPECT_EQ(stack.Objects(), 5 * (c + 1));
  }
  EXPECT_EQ(stack.TakeLowWater(), 0);  // it was empty a moment ago
  FreeItem* a = stack.Pop();
  FreeItem* b = stack.Pop();
  EXPECT_EQ(stack.Objects(), 10);
  stack.Push(b, ClusterCount(b));
  stack.Push(a, ClusterCount(a));
  EXPECT_EQ(stack.Objects(), 20);
  EXPECT_EQ(stack.TakeLowWater(), 10);
  // A new interval starts at what the stack holds.
  EXPECT_EQ(stack.TakeLowWater(), 20);
  stack.Pop();
  FreeItem* all = stack.PopAll();
  EXPECT_EQ(stack.Objects(), 0);
  EXPECT_EQ(stack.TakeLowWater(), 0);
  EXPECT_EQ(CountClusters(all), 15);
}

TYPED_TEST(StackTest, SingleObjectClustersToo) {
  TypeParam stack;
  Clusters clusters(3, 1);
  for (int c = 0; c < clusters.size(); ++c)
    stack.Push(clusters[c], ClusterCount(clusters[c]));
  for (int c = clusters.size() - 1; c >= 0; --c) {
    FreeItem* popped = stack.Pop();
    ASSERT_EQ(popped, clusters[c]);
    EXPECT_EQ(popped->next, nullptr);
  }
  EXPECT_EQ(stack.Pop(), nullptr);
}

TYPED_TEST(StackTest, PopAllTakesEveryClusterInOrderAndEmptiesTheStack) {
  TypeParam stack;
  Clusters clusters(6, 3);
  for (int c = 0; c < clusters.size(); ++c)
    stack.Push(clusters[c], ClusterCount(clusters[c]));
  FreeItem* all = stack.PopAll();
  EXPECT_TRUE(stack.LooksEmpty());
  EXPECT_EQ(stack.Pop(), nullptr);
  int expected = clusters.size() - 1;
  for (FreeItem* cluster = all; cluster != nullptr;
       cluster = cluster->next_cluster) {
    ASSERT_GE(expected, 0) << "more clusters than were pushed";
    EXPECT_EQ(cluster, clusters[expected]);
    EXPECT_EQ(Walk(cluster).size(), 3u);
    --expected;
  }
  EXPECT_EQ(expected, -1) << "clusters missing from PopAll";
  // The stack works again after it.
  stack.Push(clusters[2], ClusterCount(clusters[2]));
  EXPECT_EQ(stack.Pop(), clusters[2]);
  EXPECT_EQ(stack.Pop(), nullptr);
}

// Threads pop and push the same clusters at once. Each popped cluster is
// claimed by address (an exchange on its slot): a cluster handed to two
// threads at the same time, or lost, fails the test. Objects are never
// freed, so even a broken stack only misbehaves here, it does not crash.
TYPED_TEST(StackTest, ConcurrentPopsHandOutEachClusterOnceAtATime) {
  constexpr int kClusters = 64;
  constexpr int kThreads = 4;
  constexpr int kRoundsPerThread = 20000;
  TypeParam stack;
  Clusters clusters(kClusters, 4);
  std::vector<std::atomic<int>> owner(kClusters);
  for (int c = 0; c < kClusters; ++c) {
    owner[c].store(-1);
    stack.Push(clusters[c], ClusterCount(clusters[c]));
  }
  std::atomic<int> double_hand_outs{0};
  std::atomic<int> torn_clusters{0};
  std::atomic<int> unknown{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<FreeItem*> held;
      for (int round = 0; round < kRoundsPerThread; ++round) {
        // Hold up to three clusters, then give them back.
        if (held.size() < 3 && (round % 4) != 3) {
          FreeItem* popped = stack.Pop();
          if (popped == nullptr) continue;
          const int c = clusters.IndexOf(popped);
          if (c < 0) {
            unknown.fetch_add(1);
            continue;
          }
          if (owner[c].exchange(t) != -1) double_hand_outs.fetch_add(1);
          if (Walk(popped).size() != 4) torn_clusters.fetch_add(1);
          held.push_back(popped);
        } else {
          while (!held.empty()) {
            owner[clusters.IndexOf(held.back())].store(-1);
            stack.Push(held.back(), ClusterCount(held.back()));
            held.pop_back();
          }
        }
      }
      for (FreeItem* cluster : held) {
        owner[clusters.IndexOf(cluster)].store(-1);
        stack.Push(cluster, ClusterCount(cluster));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(double_hand_outs.load(), 0);
  EXPECT_EQ(torn_clusters.load(), 0);
  EXPECT_EQ(unknown.load(), 0);
  // No count update was lost among the racing pushes and pops (a push
  // counting outside xchg's lock, or a plain add in dwcas, fails here).
  EXPECT_EQ(stack.Objects(), kClusters * 4);
  // Every cluster is back, exactly once.
  std::vector<int> seen(kClusters, 0);
  for (FreeItem* cluster = stack.PopAll(); cluster != nullptr;
       cluster = cluster->next_cluster) {
    const int c = clusters.IndexOf(cluster);
    ASSERT_GE(c, 0);
    ++seen[c];
  }
  for (int c = 0; c < kClusters; ++c) EXPECT_EQ(seen[c], 1) << "cluster " << c;
}

// Waits (bounded) for `flag` and reports whether it became true: used to
// show that another thread did NOT get through while a hook holds a lock,
// which cannot fail when the lock works (the thread is blocked) and catches
// a broken lock unless the thread happens not to run within the bound.
bool BecomesTrueWithin(const std::atomic<bool>& flag,
                       std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline) {
    if (flag.load()) return true;
    std::this_thread::yield();
  }
  return flag.load();
}

// XchgStack: between taking the head and reading its link, the head reads
// BUSY, and a push waits for the pop to finish.
TEST(XchgStackTest, APopHoldsTheHeadBusyAndPushesWait) {
  XchgStack stack;
  Clusters clusters(3, 2);
  stack.Push(clusters[0], ClusterCount(clusters[0]));
  stack.Push(clusters[1], ClusterCount(clusters[1]));
  struct State {
    XchgStack* stack;
    FreeItem* to_push;
    std::thread pusher = {};
    std::atomic<bool> pushed{false};
    bool pushed_while_busy = false;
    FreeItem* head_seen = nullptr;
  } state{&stack, clusters[2]};
  stack.SetPopHookForTesting(
      [](void* arg, FreeItem*) {
        auto* s = static_cast<State*>(arg);
        s->stack->SetPopHookForTesting(nullptr, nullptr);  // once
        s->head_seen = s->stack->PeekForTesting();
        s->pusher = std::thread([s] {
          s->stack->Push(s->to_push, ClusterCount(s->to_push));
          s->pushed.store(true);
        });
        s->pushed_while_busy =
            BecomesTrueWithin(s->pushed, std::chrono::milliseconds(200));
      },
      &state);
  EXPECT_EQ(stack.Pop(), clusters[1]);
  state.pusher.join();
  EXPECT_EQ(state.head_seen, reinterpret_cast<FreeItem*>(XchgStack::kBusy));
  EXPECT_FALSE(state.pushed_while_busy);
  EXPECT_TRUE(state.pushed.load());
  EXPECT_EQ(stack.Pop(), clusters[2]);
  EXPECT_EQ(stack.Pop(), clusters[0]);
  EXPECT_EQ(stack.Pop(), nullptr);
}

// DwcasStack: a pop between reading the head and reading its link holds
// the flush lock shared; ReleaseBarrier() (taken before memory goes to the
// OS) waits for it, and with the flush lock switched off (seed 001) it
// does not.
void CheckReleaseBarrierAgainstAPop(bool flush_lock, bool barrier_should_wait) {
  DwcasStack stack;
  stack.SetFlushLockForTesting(flush_lock);
  Clusters clusters(2, 2);
  stack.Push(clusters[0], ClusterCount(clusters[0]));
  stack.Push(clusters[1], ClusterCount(clusters[1]));
  struct State {
    DwcasStack* stack;
    bool expect_wait;
    std::thread releaser = {};
    std::atomic<bool> released{false};
    bool released_during_pop = false;
  } state{&stack, barrier_should_wait};
  stack.SetPopHookForTesting(
      [](void* arg, FreeItem*) {
        auto* s = static_cast<State*>(arg);
        s->stack->SetPopHookForTesting(nullptr, nullptr);
        s->releaser = std::thread([s] {
          s->stack->ReleaseBarrier();
          s->released.store(true);
        });
        // Expecting it to get through: wait long enough for any machine;
        // expecting it to wait: 200 ms without getting through.
        s->released_during_pop = BecomesTrueWithin(
            s->released,
            std::chrono::milliseconds(s->expect_wait ? 200 : 10000));
      },
      &state);
  EXPECT_EQ(stack.Pop(), clusters[1]);
  state.releaser.join();
  EXPECT_EQ(state.released_during_pop, !barrier_should_wait);
  EXPECT_TRUE(state.released.load());
  EXPECT_EQ(stack.Pop(), clusters[0]);
}

TEST(DwcasStackTest, ReleaseBarrierWaitsForAPopInProgress) {
  CheckReleaseBarrierAgainstAPop(/*flush_lock=*/true,
                                 /*barrier_should_wait=*/true);
}

TEST(DwcasStackTest, WithoutTheFlushLockReleaseBarrierDoesNotWait) {
  CheckReleaseBarrierAgainstAPop(/*flush_lock=*/false,
                                 /*barrier_should_wait=*/false);
}

// DwcasStack's generation counter: a pop that read head A and its link B,
// then lost A to another pop that also took B and pushed A back (ABA), must
// retry instead of installing B, which the other holder owns. Made
// deterministic with a hook between the link read and the DWCAS.
TEST(DwcasStackTest, AnAbaBetweenTheLinkReadAndTheCasMakesThePopRetry) {
  DwcasStack stack;
  Clusters clusters(3, 2);  // pushed c, b, a: a on top
  FreeItem* a = clusters[2];
  FreeItem* b = clusters[1];
  FreeItem* c = clusters[0];
  stack.Push(c, ClusterCount(c));
  stack.Push(b, ClusterCount(b));
  stack.Push(a, ClusterCount(a));
  struct State {
    DwcasStack* stack;
    FreeItem* held = nullptr;  // what the interfering pops kept
    int hook_calls = 0;
  } state{&stack};
  stack.SetPopAfterReadHookForTesting(
      [](void* arg, FreeItem*) {
        auto* s = static_cast<State*>(arg);
        if (s->hook_calls++ != 0) return;            // interfere once
        FreeItem* first = s->stack->Pop();           // a
        FreeItem* second = s->stack->Pop();          // b
        s->stack->Push(first, ClusterCount(first));  // a again, over c
        s->held = second;
      },
      &state);
  FreeItem* popped = stack.Pop();
  stack.SetPopAfterReadHookForTesting(nullptr, nullptr);
  EXPECT_EQ(state.held, b);
  EXPECT_EQ(popped, a);
  EXPECT_GE(state.hook_calls, 2) << "the first DWCAS did not fail";
  // What is left is c alone: b, held elsewhere, must not be there.
  EXPECT_EQ(stack.Pop(), c);
  EXPECT_EQ(stack.Pop(), nullptr);
}

}  // namespace
}  // namespace poolkit::internal
