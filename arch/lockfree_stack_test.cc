// A generation-counted lock-free stack (a Treiber stack whose head is a
// {top, generation} pair) on each backend's pair compare-and-swap: the use
// that poolkit's DWCAS exists for, and the one where an ABA bug or a torn
// read loses or duplicates nodes.
//
// The nodes are type-stable: a fixed array, never freed, so a pop may read
// `next` of a node that another thread has popped meanwhile (the stale value
// is then rejected by the generation). Threads pop a few nodes, own them for
// a moment (writing a payload with ordinary stores, which TSan checks for
// happens-before), and push them back. At the end every node must be on the
// stack exactly once and the generation must equal the number of pops.
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
using ::poolkit::arch::testing::Rendezvous;
using ::poolkit::testing::Scaled;

constexpr int kThreads = 4;
constexpr int kNodes = 16;
// Each thread holds up to this many nodes at once, so 4 threads can empty
// the stack and the empty case is exercised too.
constexpr int kMaxHeld = 6;
constexpr int kRoundsPerThread = 20000;
// The threads meet at a Rendezvous this often, so that they overlap.
constexpr int kRoundsPerStep = 64;
// The test runs on (up to kMaxStretch times its length) until the threads
// have collided at least this often on the head.
constexpr std::uint64_t kWantedCollisions = 1000;
constexpr int kMaxStretch = 10;

struct Node {
  // Only touched through the backend's word operations: a popper may read it
  // while the node's current owner rewrites it.
  std::uintptr_t next = 0;
  // 1 while some thread holds the node, 0 while it is on the stack; an
  // exchange that finds 1 on pop means two threads popped the same node.
  std::uintptr_t held = 0;
  // Ordinary data, written and read only by the node's holder.
  std::uint64_t payload = 0;
};

template <class Backend>
class GenerationStack {
 public:
  // head_.lo is the top node's address (0 when empty), head_.hi the number
  // of pops so far. Bumping the generation on every pop makes a stale
  // {top, generation} snapshot fail even when the same node is back on top
  // (ABA). Pushes need no bump: the top can only return to an earlier node
  // through a pop, which bumps.
  // `collisions` counts the compare-and-swaps that lost a race.
  void Push(Node* node, std::uint64_t* collisions) {
    WordPair seen = Backend::LoadPair(&head_, MemoryOrder::kRelaxed);
    for (;; ++*collisions) {
      Backend::StoreWord(&node->next, seen.lo, MemoryOrder::kRelaxed);
      // Release: the node's `next` and payload are written before it is
      // published.
      if (Backend::CompareExchangePair(
              &head_, &seen,
              WordPair{reinterpret_cast<std::uintptr_t>(node), seen.hi},
              MemoryOrder::kRelease)) {
        return;
      }
    }
  }

  Node* Pop(std::uint64_t* collisions) {
    // Acquire (also on failure): `next` of the observed top is read after
    // the push that published it.
    WordPair seen = Backend::LoadPair(&head_, MemoryOrder::kAcquire);
    for (;; ++*collisions) {
      if (seen.lo == 0) return nullptr;
      Node* top = reinterpret_cast<Node*>(seen.lo);
      const std::uintptr_t next =
          Backend::LoadWord(&top->next, MemoryOrder::kRelaxed);
      if (Backend::CompareExchangePair(&head_, &seen,
                                       WordPair{next, seen.hi + 1},
                                       MemoryOrder::kAcquire)) {
        return top;
      }
    }
  }

  // Single-threaded, after all threads joined.
  WordPair head() const { return head_; }

 private:
  alignas(64) WordPair head_{0, 0};
};

template <class Backend>
class LockfreeStackTest : public ::testing::Test {};

TYPED_TEST_SUITE(LockfreeStackTest, AvailableBackends, BackendName);

struct Errors {
  std::uint64_t pops = 0;
  std::uint64_t collisions = 0;
  std::uint64_t double_pops = 0;
  std::uint64_t payload_clobbered = 0;
  std::uint64_t double_pushes = 0;
};

TYPED_TEST(LockfreeStackTest, NoNodeLostOrDuplicated) {
  using Backend = TypeParam;
  const int min_steps =
      static_cast<int>(Scaled(kRoundsPerThread)) / kRoundsPerStep;
  const int max_steps = min_steps * kMaxStretch;
  std::vector<Node> nodes(kNodes);
  GenerationStack<Backend> stack;
  std::uint64_t setup_collisions = 0;
  for (Node& node : nodes) stack.Push(&node, &setup_collisions);

  std::vector<Errors> errors(kThreads);
  std::atomic<std::uint64_t> collisions{0};
  Rendezvous rendezvous(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Errors& mine = errors[t];
      Node* held[kMaxHeld];
      for (int step = 0;; ++step) {
        const bool more = rendezvous.Wait([&] {
          return step < min_steps ||
                 (step < max_steps &&
                  collisions.load(std::memory_order_relaxed) <
                      kWantedCollisions);
        });
        if (!more) break;
        const std::uint64_t collisions_before = mine.collisions;
        for (int round = 0; round < kRoundsPerStep; ++round) {
          const int want = 1 + (round + t) % kMaxHeld;
          const std::uint64_t stamp = (static_cast<std::uint64_t>(t) << 32) |
                                      static_cast<unsigned>(step);
          int count = 0;
          while (count < want) {
            Node* node = stack.Pop(&mine.collisions);
            if (node == nullptr) break;
            ++mine.pops;
            if (Backend::ExchangeWord(&node->held, 1, MemoryOrder::kRelaxed) !=
                0) {
              ++mine.double_pops;
            }
            node->payload = stamp;
            held[count++] = node;
          }
          for (int i = count - 1; i >= 0; --i) {
            Node* node = held[i];
            // Nobody else may have written the payload while we held it.
            if (node->payload != stamp) ++mine.payload_clobbered;
            if (Backend::ExchangeWord(&node->held, 0, MemoryOrder::kRelaxed) !=
                1) {
              ++mine.double_pushes;
            }
            stack.Push(node, &mine.collisions);
          }
        }
        collisions.fetch_add(mine.collisions - collisions_before,
                             std::memory_order_relaxed);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  Errors total;
  for (const Errors& e : errors) {
    total.pops += e.pops;
    total.double_pops += e.double_pops;
    total.payload_clobbered += e.payload_clobbered;
    total.double_pushes += e.double_pushes;
    total.collisions += e.collisions;
  }
  EXPECT_EQ(total.double_pops, 0u);
  EXPECT_EQ(total.payload_clobbered, 0u);
  EXPECT_EQ(total.double_pushes, 0u);

  // Walk the stack: every node exactly once, and nothing else.
  const WordPair head = stack.head();
  EXPECT_EQ(head.hi, total.pops) << "generation must count every pop";
  std::vector<int> visits(kNodes, 0);
  int length = 0;
  for (std::uintptr_t p = head.lo; p != 0 && length <= kNodes; ++length) {
    const Node* node = reinterpret_cast<const Node*>(p);
    const std::ptrdiff_t index = node - nodes.data();
    ASSERT_TRUE(index >= 0 && index < kNodes) << "foreign node " << node;
    ++visits[index];
    p = node->next;
  }
  EXPECT_EQ(length, kNodes);
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_EQ(visits[i], 1) << "node " << i;
    EXPECT_EQ(nodes[i].held, 0u) << "node " << i;
  }
  std::printf(
      "%s: %" PRIu64 " pops, %" PRIu64 " lost races on the head%s\n",
      Backend::kName, total.pops, total.collisions,
      total.collisions < kWantedCollisions ? " (little contention)" : "");
  ::testing::Test::RecordProperty("pops", static_cast<int>(total.pops));
  ::testing::Test::RecordProperty("failures",
                                  static_cast<int>(total.collisions));
}

}  // namespace
}  // namespace poolkit::arch
