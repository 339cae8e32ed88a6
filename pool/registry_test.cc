#include "pool/registry.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pool/declare_pool.h"
#include "pool/object_allocator.h"
#include "pool/pool.h"
#include "pool/pool_options.h"
#include "pool/pool_stats.h"

namespace poolkit {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// Created during static initialisation, before main().
POOLKIT_DECLARE_POOL(declared_pool, "declared-test", 48);

// Every test uses its own names and its own object sizes (the registry is
// process-wide, and shared pools of equal or near size would merge across
// tests), and destroys what it creates.

PoolOptions Options(const std::string& name, std::size_t size,
                    std::uint32_t flags = 0) {
  PoolOptions options;
  options.name = name;
  options.object_size = size;
  options.flags = flags;
  return options;
}

// CreatePool() that reports a failure to the test and returns nullptr.
Pool* Create(const PoolOptions& options) {
  absl::StatusOr<Pool*> pool = CreatePool(options);
  EXPECT_TRUE(pool.ok()) << options.name << ": " << pool.status();
  return pool.ok() ? *pool : nullptr;
}

void Destroy(Pool* pool) {
  if (pool == nullptr) return;
  absl::Status status = DestroyPool(pool);
  EXPECT_TRUE(status.ok()) << status;
}

bool Listed(Pool* pool) {
  std::vector<Pool*> pools = ListPools();
  return std::find(pools.begin(), pools.end(), pool) != pools.end();
}

// The malloc allocator, counting the objects it has handed out and not yet
// got back, and failing on demand: it succeeds `successes` more times, then
// returns nullptr until allowed again.
class TestAllocator : public ObjectAllocator {
 public:
  static constexpr std::int64_t kUnlimited = INT64_MAX;

  explicit TestAllocator(std::int64_t successes = kUnlimited)
      : remaining_(successes) {}

  void* Allocate(std::size_t size, std::size_t alignment) override {
    std::int64_t remaining = remaining_.load(std::memory_order_relaxed);
    do {
      if (remaining <= 0) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
      }
    } while (!remaining_.compare_exchange_weak(remaining, remaining - 1,
                                               std::memory_order_relaxed));
    void* object = MallocAllocator().Allocate(size, alignment);
    if (object != nullptr) outstanding_.fetch_add(1, std::memory_order_relaxed);
    return object;
  }
  void Deallocate(void* object, std::size_t size,
                  std::size_t alignment) override {
    outstanding_.fetch_sub(1, std::memory_order_relaxed);
    MallocAllocator().Deallocate(object, size, alignment);
  }
  const char* Name() const override { return "test"; }

  void Allow(std::int64_t successes) {
    remaining_.store(successes, std::memory_order_relaxed);
  }
  std::int64_t outstanding() const {
    return outstanding_.load(std::memory_order_relaxed);
  }
  std::int64_t refused() const {
    return refused_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::int64_t> remaining_;
  std::atomic<std::int64_t> outstanding_{0};
  std::atomic<std::int64_t> refused_{0};
};

// ---------------------------------------------------------------------------
// Validation.

struct InvalidCase {
  const char* label;
  PoolOptions options;
  const char* field;
};

std::vector<InvalidCase> InvalidCases() {
  std::vector<InvalidCase> cases;
  auto add = [&](const char* label, const char* field, auto mutate) {
    PoolOptions options = Options("invalid-case", 64);
    mutate(options);
    cases.push_back({label, options, field});
  };
  add("empty name", "name", [](PoolOptions& o) { o.name = ""; });
  add("32-char name", "name",
      [](PoolOptions& o) { o.name = std::string(32, 'n'); });
  add("name with space", "name", [](PoolOptions& o) { o.name = "bad name"; });
  add("name with slash", "name", [](PoolOptions& o) { o.name = "bad/name"; });
  add("object_size 0", "object_size",
      [](PoolOptions& o) { o.object_size = 0; });
  add("object_size too large", "object_size",
      [](PoolOptions& o) { o.object_size = kMaxObjectSize + 1; });
  add("alignment 3", "alignment", [](PoolOptions& o) { o.alignment = 3; });
  add("alignment 8192", "alignment",
      [](PoolOptions& o) { o.alignment = 8192; });
  add("unknown flag", "flags", [](PoolOptions& o) { o.flags = 1u << 5; });
  add("unknown strategy", "strategy",
      [](PoolOptions& o) { o.strategy = static_cast<SharedCacheStrategy>(9); });
  add("minavail above limit", "minavail", [](PoolOptions& o) {
    o.limit = 10;
    o.minavail = 11;
  });
  return cases;
}

TEST(RegistryValidationTest, InvalidOptionsNameTheFieldAndCreateNothing) {
  for (const InvalidCase& c : InvalidCases()) {
    SCOPED_TRACE(c.label);
    const std::size_t pools_before = ListPools().size();
    absl::StatusOr<Pool*> pool = CreatePool(c.options);
    ASSERT_FALSE(pool.ok());
    EXPECT_EQ(pool.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(pool.status().message()),
                StartsWith(std::string(c.field) + ":"));
    EXPECT_EQ(FindPool(c.options.name), nullptr);
    EXPECT_EQ(ListPools().size(), pools_before);
  }
}

TEST(RegistryValidationTest, BoundaryValuesAreAccepted) {
  PoolOptions options = Options(std::string(31, 'v'), kMaxObjectSize);
  options.alignment = kMaxAlignment;
  options.flags = kAllPoolFlags;
  options.strategy = SharedCacheStrategy::kNone;
  options.minavail = 1000;  // no limit: any minavail
  Pool* pool = Create(options);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->object_size(), kMaxObjectSize);
  Destroy(pool);

  PoolOptions limited = Options("valid_name.0-9", 1);
  limited.limit = 10;
  limited.minavail = 10;  // minavail == limit is fine
  pool = Create(limited);
  ASSERT_NE(pool, nullptr);
  Destroy(pool);
}

// ---------------------------------------------------------------------------
// Size rounding.

TEST(RegistrySizeTest, RoundsUpTo16UnlessExact) {
  Pool* rounded = Create(Options("size-rounded", 100));
  Pool* exact = Create(Options("size-exact", 100, kPoolExact));
  Pool* tiny = Create(Options("size-tiny", 1));
  Pool* tiny_exact = Create(Options("size-tiny-exact", 1, kPoolExact));
  ASSERT_NE(rounded, nullptr);
  ASSERT_NE(exact, nullptr);
  ASSERT_NE(tiny, nullptr);
  ASSERT_NE(tiny_exact, nullptr);
  EXPECT_EQ(rounded->object_size(), 112u);
  EXPECT_EQ(exact->object_size(), 100u);
  EXPECT_GE(tiny->object_size(), 16u);
  EXPECT_GE(tiny_exact->object_size(), 16u);  // room for the free-list links
  EXPECT_EQ(rounded->alignment(), alignof(std::max_align_t));
  Destroy(rounded);
  Destroy(exact);
  Destroy(tiny);
  Destroy(tiny_exact);
}

// ---------------------------------------------------------------------------
// Merging.

TEST(RegistryMergeTest, SharedPoolsOfTheSameSizeMerge) {
  Pool* first = Create(Options("merge-first", 208, kPoolShared));
  Pool* second = Create(Options("merge-second", 208, kPoolShared));
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(second, first);
  EXPECT_EQ(FindPool("merge-first"), first);
  EXPECT_EQ(FindPool("merge-second"), first);
  PoolStats stats = first->Stats();
  EXPECT_EQ(stats.name, "merge-first");
  EXPECT_EQ(stats.users, 2);
  EXPECT_THAT(stats.aliases, ElementsAre("merge-second"));
  // One pool, listed once.
  std::vector<Pool*> pools = ListPools();
  EXPECT_EQ(std::count(pools.begin(), pools.end(), first), 1);
  Destroy(first);
  Destroy(first);
}

TEST(RegistryMergeTest, SameNameSharedMergesWithoutAlias) {
  Pool* first = Create(Options("merge-samename", 210, kPoolShared));
  Pool* again = Create(Options("merge-samename", 210, kPoolShared));
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(again, first);
  PoolStats stats = first->Stats();
  EXPECT_EQ(stats.users, 2);
  EXPECT_THAT(stats.aliases, IsEmpty());
  Destroy(first);
  Destroy(first);
}

TEST(RegistryMergeTest, NonSharedPoolsNeverMerge) {
  Pool* a = Create(Options("nomerge-a", 224));
  Pool* b = Create(Options("nomerge-b", 224));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(a->Stats().users, 1);
  EXPECT_EQ(b->Stats().users, 1);
  Destroy(a);
  Destroy(b);
}

TEST(RegistryMergeTest, SharedAndNonSharedDoNotMerge) {
  Pool* shared = Create(Options("mixmerge-shared", 240, kPoolShared));
  Pool* plain = Create(Options("mixmerge-plain", 240));
  // And the other way round: a shared request ignores a non-shared pool.
  Pool* plain2 = Create(Options("mixmerge-plain2", 2440));
  Pool* shared2 = Create(Options("mixmerge-shared2", 2440, kPoolShared));
  ASSERT_NE(shared, nullptr);
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(plain2, nullptr);
  ASSERT_NE(shared2, nullptr);
  EXPECT_NE(shared, plain);
  EXPECT_NE(plain2, shared2);
  EXPECT_EQ(shared->Stats().users, 1);
  EXPECT_EQ(plain2->Stats().users, 1);
  Destroy(shared);
  Destroy(plain);
  Destroy(plain2);
  Destroy(shared2);
}

TEST(RegistryMergeTest, DifferentStrategyDoesNotMerge) {
  PoolOptions xchg = Options("strategymerge-x", 256, kPoolShared);
  PoolOptions spin = Options("strategymerge-s", 256, kPoolShared);
  spin.strategy = SharedCacheStrategy::kSpinlock;
  Pool* a = Create(xchg);
  Pool* b = Create(spin);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(b->strategy(), SharedCacheStrategy::kSpinlock);
  Destroy(a);
  Destroy(b);
}

TEST(RegistryMergeTest, DifferentLimitDoesNotMerge) {
  PoolOptions limited = Options("limitmerge-10", 272, kPoolShared);
  limited.limit = 10;
  PoolOptions unlimited = Options("limitmerge-0", 272, kPoolShared);
  PoolOptions limited20 = Options("limitmerge-20", 272, kPoolShared);
  limited20.limit = 20;
  Pool* a = Create(limited);
  Pool* b = Create(unlimited);
  Pool* c = Create(limited20);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(b, c);
  Destroy(a);
  Destroy(b);
  Destroy(c);
}

TEST(RegistryMergeTest, DifferentAllocatorDoesNotMerge) {
  static TestAllocator* const allocator = new TestAllocator();
  PoolOptions custom = Options("allocmerge-custom", 276, kPoolShared);
  custom.allocator = allocator;
  Pool* a = Create(Options("allocmerge-malloc", 276, kPoolShared));
  Pool* b = Create(custom);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  Destroy(a);
  Destroy(b);
}

TEST(RegistryMergeTest, LargerAlignmentAcceptsSmallerRequest) {
  PoolOptions aligned64 = Options("alignmerge-64", 288, kPoolShared);
  aligned64.alignment = 64;
  PoolOptions aligned16 = Options("alignmerge-16", 288, kPoolShared);
  aligned16.alignment = 16;
  Pool* a = Create(aligned64);
  Pool* b = Create(aligned16);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(b, a);
  EXPECT_EQ(a->alignment(), 64u);
  EXPECT_EQ(a->Stats().users, 2);
  Destroy(a);
  Destroy(a);
}

TEST(RegistryMergeTest, SmallerAlignmentRejectsLargerRequest) {
  PoolOptions aligned16 = Options("alignreject-16", 304, kPoolShared);
  aligned16.alignment = 16;
  PoolOptions aligned64 = Options("alignreject-64", 304, kPoolShared);
  aligned64.alignment = 64;
  Pool* a = Create(aligned16);
  Pool* b = Create(aligned64);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(a->alignment(), 16u);
  EXPECT_EQ(b->alignment(), 64u);
  Destroy(a);
  Destroy(b);
}

TEST(RegistryMergeTest, NearSizeMergesAndGrowsWhenItMust) {
  Pool* a = Create(Options("near-grow-a", 1000, kPoolShared));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->object_size(), 1008u);
  // 1010 is within 16 bytes of the average 1000, and rounds to 1024 > 1008.
  Pool* b = Create(Options("near-grow-b", 1010, kPoolShared));
  EXPECT_EQ(b, a);
  EXPECT_EQ(a->object_size(), 1024u);
  PoolStats stats = a->Stats();
  EXPECT_EQ(stats.users, 2);
  EXPECT_EQ(stats.object_size, 1024u);
  EXPECT_THAT(stats.aliases, ElementsAre("near-grow-b"));
  // Objects have the grown size.
  void* object = a->Alloc();
  ASSERT_NE(object, nullptr);
  std::memset(object, 0x5a, 1010);
  a->Free(object);
  Destroy(a);
  Destroy(a);
}

TEST(RegistryMergeTest, NearSizeMergesWithoutGrowingWhenItNeedNot) {
  Pool* a = Create(Options("near-keep-a", 3010, kPoolShared));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->object_size(), 3024u);
  // 2995 rounds to 3008 <= 3024, within 1% of 3010.
  Pool* b = Create(Options("near-keep-b", 2995, kPoolShared));
  EXPECT_EQ(b, a);
  EXPECT_EQ(a->object_size(), 3024u);
  EXPECT_EQ(a->Stats().users, 2);
  Destroy(a);
  Destroy(a);
}

TEST(RegistryMergeTest, NearSizeBeyondToleranceDoesNotMerge) {
  Pool* a = Create(Options("near-far-a", 1100, kPoolShared));
  // 1100 / 100 = 11 < 16: tolerance 16; 1117 is 17 away.
  Pool* b = Create(Options("near-far-b", 1117, kPoolShared));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(a->object_size(), 1104u);
  Destroy(a);
  Destroy(b);
}

TEST(RegistryMergeTest, NearSizeWithExactOnEitherSideDoesNotMerge) {
  // Existing pool exact.
  Pool* exact = Create(Options("near-exact-a", 5000, kPoolShared | kPoolExact));
  Pool* plain = Create(Options("near-exact-b", 5010, kPoolShared));
  ASSERT_NE(exact, nullptr);
  ASSERT_NE(plain, nullptr);
  EXPECT_NE(exact, plain);
  EXPECT_EQ(exact->object_size(), 5000u);
  EXPECT_EQ(plain->object_size(), 5024u);
  Destroy(exact);
  Destroy(plain);

  // Request exact.
  Pool* existing = Create(Options("near-exact-c", 5200, kPoolShared));
  Pool* request =
      Create(Options("near-exact-d", 5210, kPoolShared | kPoolExact));
  ASSERT_NE(existing, nullptr);
  ASSERT_NE(request, nullptr);
  EXPECT_NE(existing, request);
  EXPECT_EQ(existing->object_size(), 5200u);
  EXPECT_EQ(request->object_size(), 5210u);
  Destroy(existing);
  Destroy(request);
}

TEST(RegistryMergeTest, NearSizeDoesNotMergeWithPoolHoldingObjects) {
  Pool* a = Create(Options("near-busy-a", 6000, kPoolShared));
  ASSERT_NE(a, nullptr);
  void* object = a->Alloc();
  ASSERT_NE(object, nullptr);
  Pool* b = Create(Options("near-busy-b", 6010, kPoolShared));
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(a->object_size(), 6000u);
  a->Free(object);
  Destroy(a);
  Destroy(b);
}

TEST(RegistryMergeTest, SameSizeMergesWithPoolHoldingObjects) {
  Pool* a = Create(Options("same-busy-a", 6200, kPoolShared));
  ASSERT_NE(a, nullptr);
  void* object = a->Alloc();
  ASSERT_NE(object, nullptr);
  // 6190 rounds to 6192, 6200 to 6208: a near size, no merge while busy.
  Pool* b = Create(Options("same-busy-b", 6190, kPoolShared));
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  Pool* c = Create(Options("same-busy-c", 6208, kPoolShared));
  EXPECT_EQ(c, a);  // exact size match: allocated objects do not matter
  a->Free(object);
  Destroy(a);
  Destroy(a);
  Destroy(b);
}

TEST(RegistryMergeTest, ExactSizeCandidateBeatsNearOne) {
  // Created first, need not grow for the request: still loses. It holds an
  // object while the second is created, so that the two do not merge.
  Pool* near = Create(Options("prefer-exact-near", 7030, kPoolShared));
  ASSERT_NE(near, nullptr);
  void* object = near->Alloc();
  ASSERT_NE(object, nullptr);
  Pool* same = Create(Options("prefer-exact-same", 7020, kPoolShared));
  ASSERT_NE(same, nullptr);
  ASSERT_NE(near, same);
  near->Free(object);
  near->Flush();
  ASSERT_EQ(near->Stats().allocated, 0);  // a near candidate again
  EXPECT_EQ(near->object_size(), 7040u);
  EXPECT_EQ(same->object_size(), 7024u);
  // 7010 rounds to 7024 and is within 1% of both averages.
  Pool* request = Create(Options("prefer-exact-req", 7010, kPoolShared));
  EXPECT_EQ(request, same);
  EXPECT_EQ(same->Stats().users, 2);
  EXPECT_EQ(near->Stats().users, 1);
  EXPECT_EQ(near->object_size(), 7040u);
  Destroy(near);
  Destroy(same);
  Destroy(same);
}

TEST(RegistryMergeTest, NearCandidateThatNeedNotGrowBeatsOneThatMust) {
  // The one that must grow is created first and is nearer in size.
  Pool* grow = Create(Options("prefer-nogrow-g", 3975, kPoolShared));
  Pool* fits = Create(Options("prefer-nogrow-f", 4030, kPoolShared));
  ASSERT_NE(grow, nullptr);
  ASSERT_NE(fits, nullptr);
  ASSERT_NE(grow, fits);
  EXPECT_EQ(grow->object_size(), 3984u);
  EXPECT_EQ(fits->object_size(), 4032u);
  // 4000: 16 bytes above 3984, 32 below 4032; within 1% of both averages.
  Pool* request = Create(Options("prefer-nogrow-r", 4000, kPoolShared));
  EXPECT_EQ(request, fits);
  EXPECT_EQ(fits->object_size(), 4032u);
  EXPECT_EQ(grow->object_size(), 3984u);
  EXPECT_EQ(grow->Stats().users, 1);
  Destroy(grow);
  Destroy(fits);
  Destroy(fits);
}

// After one of two users of a merged pool goes, the average size "its users
// asked for" is the remaining user's size again, so a near size still
// merges.
TEST(RegistryMergeTest, NearSizeAverageFollowsRemainingUsers) {
  Pool* a = Create(Options("avg-users-a", 8000, kPoolShared));
  Pool* b = Create(Options("avg-users-b", 8000, kPoolShared));
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(b, a);
  Destroy(a);  // users 2 -> 1; the remaining user asked for 8000
  ASSERT_EQ(a->Stats().users, 1);
  Pool* c = Create(Options("avg-users-c", 8010, kPoolShared));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c, a) << "8010 is within 1% of the remaining user's 8000";
  if (c != a) Destroy(c);
  const int users = a->Stats().users;
  for (int i = 0; i < users; ++i) Destroy(a);
}

// ---------------------------------------------------------------------------
// Names.

TEST(RegistryNameTest, DuplicateNameThatCannotMergeIsAlreadyExists) {
  Pool* plain = Create(Options("dup-plain", 320));
  ASSERT_NE(plain, nullptr);
  absl::StatusOr<Pool*> again = CreatePool(Options("dup-plain", 320));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("dup-plain"));

  Pool* shared = Create(Options("dup-shared", 322, kPoolShared));
  ASSERT_NE(shared, nullptr);
  absl::StatusOr<Pool*> other_size =
      CreatePool(Options("dup-shared", 4800, kPoolShared));
  EXPECT_EQ(other_size.status().code(), absl::StatusCode::kAlreadyExists);

  // A merged alias is taken too.
  Pool* merged = Create(Options("dup-alias", 322, kPoolShared));
  ASSERT_EQ(merged, shared);
  absl::StatusOr<Pool*> alias_again = CreatePool(Options("dup-alias", 330));
  EXPECT_EQ(alias_again.status().code(), absl::StatusCode::kAlreadyExists);

  EXPECT_EQ(FindPool("dup-plain"), plain);
  EXPECT_EQ(FindPool("dup-shared"), shared);
  EXPECT_EQ(FindPool("dup-alias"), shared);
  Destroy(plain);
  Destroy(shared);
  Destroy(shared);
}

// A shared request whose name belongs to another pool it cannot merge with
// must not merge into a third pool under that name (which would make the
// name ambiguous and FindPool() return the wrong pool).
TEST(RegistryNameTest, MergeDoesNotStealAnotherPoolsName) {
  Pool* host = Create(Options("steal-host", 9000, kPoolShared));
  Pool* owner = Create(Options("steal-owner", 9500));
  ASSERT_NE(host, nullptr);
  ASSERT_NE(owner, nullptr);
  absl::StatusOr<Pool*> thief =
      CreatePool(Options("steal-owner", 9000, kPoolShared));
  EXPECT_EQ(thief.status().code(), absl::StatusCode::kAlreadyExists)
      << "merged into " << (thief.ok() ? (*thief)->name() : "-");
  EXPECT_EQ(FindPool("steal-owner"), owner);
  EXPECT_EQ(host->Stats().users, 1);
  EXPECT_THAT(host->Stats().aliases, IsEmpty());
  const int users = host->Stats().users;
  for (int i = 0; i < users; ++i) Destroy(host);
  Destroy(owner);
}

TEST(RegistryNameTest, ListPoolsInCreationOrderAndFindPoolByName) {
  Pool* c = Create(Options("order-c", 416));
  Pool* a = Create(Options("order-a", 432));
  Pool* b = Create(Options("order-b", 448));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  std::vector<Pool*> mine;
  for (Pool* pool : ListPools()) {
    if (pool == a || pool == b || pool == c) mine.push_back(pool);
  }
  EXPECT_THAT(mine, ElementsAre(c, a, b));
  EXPECT_EQ(FindPool("order-a"), a);
  EXPECT_EQ(FindPool("order-b"), b);
  EXPECT_EQ(FindPool("order-c"), c);
  EXPECT_EQ(FindPool("order-d"), nullptr);
  EXPECT_EQ(FindPool("order"), nullptr);
  EXPECT_EQ(FindPool(""), nullptr);
  Destroy(b);
  // Removing one keeps the others' order.
  mine.clear();
  for (Pool* pool : ListPools()) {
    if (pool == a || pool == c) mine.push_back(pool);
  }
  EXPECT_THAT(mine, ElementsAre(c, a));
  EXPECT_EQ(FindPool("order-b"), nullptr);
  Destroy(a);
  Destroy(c);
}

// ---------------------------------------------------------------------------
// Destruction.

TEST(RegistryDestroyTest, NullptrIsInvalidArgument) {
  EXPECT_EQ(DestroyPool(nullptr).code(), absl::StatusCode::kInvalidArgument);
}

TEST(RegistryDestroyTest, InUseIsFailedPreconditionAndPoolStaysUsable) {
  Pool* pool = Create(Options("destroy-inuse", 336));
  ASSERT_NE(pool, nullptr);
  void* held = pool->Alloc();
  ASSERT_NE(held, nullptr);
  std::memset(held, 0x11, pool->object_size());
  // Some free objects in the thread cache too: they are not "in use".
  void* spare = pool->Alloc();
  pool->Free(spare);

  absl::Status status = DestroyPool(pool);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("destroy-inuse"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("in use"));

  EXPECT_EQ(FindPool("destroy-inuse"), pool);
  EXPECT_TRUE(Listed(pool));
  EXPECT_EQ(pool->Stats().in_use, 1);
  EXPECT_EQ(pool->Stats().users, 1);
  void* another = pool->Alloc();
  ASSERT_NE(another, nullptr);
  EXPECT_NE(another, held);
  pool->Free(another);
  for (std::size_t i = 0; i < pool->object_size(); ++i) {
    ASSERT_EQ(static_cast<unsigned char*>(held)[i], 0x11) << i;
  }
  pool->Free(held);

  EXPECT_TRUE(DestroyPool(pool).ok());
  EXPECT_EQ(FindPool("destroy-inuse"), nullptr);
  EXPECT_FALSE(Listed(pool));
}

TEST(RegistryDestroyTest, MergedPoolNeedsOneDestroyPerUser) {
  Pool* a = Create(Options("destroy-merged-a", 340, kPoolShared));
  Pool* b = Create(Options("destroy-merged-b", 340, kPoolShared));
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(b, a);
  EXPECT_TRUE(DestroyPool(a).ok());
  EXPECT_TRUE(Listed(a));
  EXPECT_EQ(FindPool("destroy-merged-a"), a);
  EXPECT_EQ(a->Stats().users, 1);
  void* object = a->Alloc();  // still usable
  ASSERT_NE(object, nullptr);
  a->Free(object);
  EXPECT_TRUE(DestroyPool(b).ok());
  EXPECT_FALSE(Listed(a));
  EXPECT_EQ(FindPool("destroy-merged-a"), nullptr);
  EXPECT_EQ(FindPool("destroy-merged-b"), nullptr);
}

TEST(RegistryDestroyTest, AfterUsingThreadHasExited) {
  Pool* pool = Create(Options("destroy-exited", 344));
  ASSERT_NE(pool, nullptr);
  std::atomic<int> failures{0};
  std::thread user([&] {
    std::vector<void*> objects;
    for (int i = 0; i < 100; ++i) {
      void* p = pool->Alloc();
      if (p == nullptr) {
        failures.fetch_add(1);
        continue;
      }
      objects.push_back(p);
    }
    for (void* p : objects) pool->Free(p);
  });
  user.join();
  EXPECT_EQ(failures.load(), 0);
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.thread_cached, 0);  // handed back at thread exit
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.allocated, stats.shared_cached);
  EXPECT_TRUE(DestroyPool(pool).ok());
  EXPECT_EQ(FindPool("destroy-exited"), nullptr);
  EXPECT_FALSE(Listed(pool));
}

// A thread that caches objects of a pool destroyed meanwhile hands them back
// to the OS allocator at its next slow path.
TEST(RegistryDestroyTest, WhileAnotherLiveThreadCachesObjects) {
  static TestAllocator* const allocator = new TestAllocator();
  PoolOptions options = Options("destroy-live", 352);
  options.allocator = allocator;
  Pool* dying = Create(options);
  Pool* other = Create(Options("destroy-live-other", 64));
  ASSERT_NE(dying, nullptr);
  ASSERT_NE(other, nullptr);
  const std::int64_t outstanding_before = allocator->outstanding();

  std::mutex mu;
  std::condition_variable cv;
  int phase = 0;
  std::atomic<int> failures{0};
  auto advance = [&](int to) {
    std::lock_guard<std::mutex> lock(mu);
    phase = to;
    cv.notify_all();
  };
  auto await = [&](int at) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return phase >= at; });
  };

  std::thread b([&] {
    std::vector<void*> objects;
    for (int i = 0; i < 100; ++i) {
      void* p = dying->Alloc();
      if (p == nullptr) failures.fetch_add(1);
      objects.push_back(p);
    }
    for (void* p : objects) dying->Free(p);
    advance(1);
    await(2);
    // `dying` is destroyed now: only `other` may be touched.
    objects.clear();
    for (int i = 0; i < 1000; ++i) {
      void* p = other->Alloc();
      if (p == nullptr) failures.fetch_add(1);
      objects.push_back(p);
    }
    for (void* p : objects) other->Free(p);
    advance(3);
    await(4);
  });

  await(1);
  PoolStats stats = dying->Stats();
  EXPECT_EQ(stats.thread_cached, 100);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(allocator->outstanding() - outstanding_before, 100);
  EXPECT_TRUE(DestroyPool(dying).ok());
  EXPECT_FALSE(Listed(dying));
  EXPECT_EQ(FindPool("destroy-live"), nullptr);

  advance(2);
  await(3);
  // B's slow path on `other` handed the dead pool's objects back.
  EXPECT_EQ(allocator->outstanding() - outstanding_before, 0);
  advance(4);
  b.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_FALSE(Listed(dying));
  EXPECT_EQ(FindPool("destroy-live"), nullptr);
  Destroy(other);
}

// The same, but the caching thread exits without another slow path.
TEST(RegistryDestroyTest, DeadPoolObjectsReturnWhenCachingThreadExits) {
  static TestAllocator* const allocator = new TestAllocator();
  PoolOptions options = Options("destroy-exit-later", 356);
  options.allocator = allocator;
  Pool* dying = Create(options);
  ASSERT_NE(dying, nullptr);

  std::mutex mu;
  std::condition_variable cv;
  int phase = 0;
  auto advance = [&](int to) {
    std::lock_guard<std::mutex> lock(mu);
    phase = to;
    cv.notify_all();
  };
  auto await = [&](int at) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return phase >= at; });
  };
  std::thread b([&] {
    std::vector<void*> objects;
    for (int i = 0; i < 50; ++i) objects.push_back(dying->Alloc());
    for (void* p : objects) dying->Free(p);
    advance(1);
    await(2);
  });
  await(1);
  EXPECT_EQ(allocator->outstanding(), 50);
  EXPECT_TRUE(DestroyPool(dying).ok());
  EXPECT_FALSE(Listed(dying));
  advance(2);
  b.join();
  EXPECT_EQ(allocator->outstanding(), 0);

  // The name is free again.
  Pool* reborn = Create(Options("destroy-exit-later", 356));
  ASSERT_NE(reborn, nullptr);
  Destroy(reborn);
}

// ---------------------------------------------------------------------------
// Gc.

TEST(RegistryGcTest, TrimsSharedCacheToMinavailAfterThreadExit) {
  PoolOptions options = Options("gc-thread", 368);
  options.minavail = 5;
  Pool* pool = Create(options);
  ASSERT_NE(pool, nullptr);
  std::atomic<int> failures{0};
  std::thread user([&] {
    std::vector<void*> objects;
    for (int i = 0; i < 200; ++i) {
      void* p = pool->Alloc();
      if (p == nullptr) failures.fetch_add(1);
      objects.push_back(p);
    }
    for (void* p : objects) pool->Free(p);
  });
  user.join();
  EXPECT_EQ(failures.load(), 0);
  Gc();
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.thread_cached, 0);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_LE(stats.shared_cached, 5);
  EXPECT_EQ(stats.allocated, stats.shared_cached);
  Destroy(pool);
}

// Objects too large for thread caches: the thread keeps a stash of
// budget / size of them and one more (100000-byte objects, 512 KiB: 6), the
// rest go to
// the shared cache, which keeps them (nothing goes to the OS between release
// intervals); Gc() trims it, and the stash stays the thread's.
TEST(RegistryGcTest, TrimsLargeSharedCacheToMinavail) {
  PoolOptions options = Options("gc-large", 100000);
  options.minavail = 5;
  Pool* pool = Create(options);
  ASSERT_NE(pool, nullptr);
  ASSERT_FALSE(pool->thread_cacheable());
  std::vector<void*> objects;
  for (int i = 0; i < 200; ++i) {
    void* p = pool->Alloc();
    ASSERT_NE(p, nullptr);
    objects.push_back(p);
  }
  // Keep the load at ~200 objects for a while.
  for (int round = 0; round < 4000; ++round) {
    std::size_t i = static_cast<std::size_t>(round) % objects.size();
    pool->Free(objects[i]);
    objects[i] = pool->Alloc();
    ASSERT_NE(objects[i], nullptr);
  }
  for (void* p : objects) pool->Free(p);
  ASSERT_EQ(pool->stash_capacity(), 6u);
  PoolStats before = pool->Stats();
  EXPECT_EQ(before.in_use, 0);
  // A full stash leaves as one cluster, the freed object stays: 1 to 6.
  EXPECT_LE(before.thread_cached, 6);
  EXPECT_EQ(before.allocated, before.shared_cached + before.thread_cached);
  EXPECT_EQ(before.os_releases, 0u);
  ASSERT_GT(before.shared_cached, 5) << "nothing for Gc() to trim";
  Gc();
  PoolStats after = pool->Stats();
  EXPECT_LE(after.shared_cached, 5);
  EXPECT_EQ(after.allocated, after.shared_cached + before.thread_cached);
  EXPECT_EQ(after.in_use, 0);
  // Flush() takes the stash too.
  pool->Flush();
  EXPECT_EQ(pool->Stats().allocated, 0);
  Destroy(pool);
}

// ---------------------------------------------------------------------------
// Allocation failures.

TEST(RegistryLimitTest, AllocPastLimitFailsAndCounts) {
  PoolOptions options = Options("limit-10", 384);
  options.limit = 10;
  Pool* pool = Create(options);
  ASSERT_NE(pool, nullptr);
  std::vector<void*> objects;
  for (int i = 0; i < 10; ++i) {
    void* p = pool->Alloc();
    ASSERT_NE(p, nullptr) << i;
    objects.push_back(p);
  }
  EXPECT_EQ(pool->Alloc(), nullptr);
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.failed, 1u);
  EXPECT_EQ(stats.limit_failures, 1u);
  EXPECT_EQ(stats.allocated, 10);
  EXPECT_EQ(stats.in_use, 10);

  pool->Free(objects.back());
  objects.back() = pool->Alloc();
  EXPECT_NE(objects.back(), nullptr);
  EXPECT_EQ(pool->Stats().failed, 1u);
  for (void* p : objects) pool->Free(p);
  Destroy(pool);
}

// An allocator with a budget of objects shared by every pool on it (a
// process memory limit in miniature): memory given back is budget again.
class BudgetAllocator : public ObjectAllocator {
 public:
  explicit BudgetAllocator(std::int64_t budget) : left_(budget) {}
  void* Allocate(std::size_t size, std::size_t alignment) override {
    if (left_.fetch_sub(1, std::memory_order_relaxed) <= 0) {
      left_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    return MallocAllocator().Allocate(size, alignment);
  }
  void Deallocate(void* object, std::size_t size,
                  std::size_t alignment) override {
    left_.fetch_add(1, std::memory_order_relaxed);
    MallocAllocator().Deallocate(object, size, alignment);
  }
  const char* Name() const override { return "budget"; }

 private:
  std::atomic<std::int64_t> left_;
};

// Seed 002: an OS failure first makes every pool give its spare objects
// back, then the allocation is tried again; both outcomes are counted.
TEST(RegistryLimitTest, OsFailureReturnsOtherPoolsSparesAndRetries) {
  static BudgetAllocator* const allocator = new BudgetAllocator(20);
  PoolOptions big = Options("oom-spares", 100000);
  big.allocator = allocator;
  Pool* spares = Create(big);
  ASSERT_NE(spares, nullptr);
  ASSERT_EQ(spares->stash_capacity(), 6u);
  std::vector<void*> objects;
  for (int i = 0; i < 20; ++i) objects.push_back(spares->Alloc());
  for (void* p : objects) ASSERT_NE(p, nullptr);
  for (void* p : objects) spares->Free(p);
  objects.clear();
  // The budget is spent: the stash holds 1-6, the shared cache the rest.
  PoolStats before = spares->Stats();
  ASSERT_EQ(before.allocated, 20);
  ASSERT_GT(before.shared_cached, 0);

  PoolOptions small = Options("oom-needy", 300);
  small.allocator = allocator;
  Pool* needy = Create(small);
  ASSERT_NE(needy, nullptr);
  void* p = needy->Alloc();
  ASSERT_NE(p, nullptr) << "the other pool's spares were not given back";
  PoolStats stats = needy->Stats();
  EXPECT_EQ(stats.oom_gc_retries, 1u);
  EXPECT_EQ(stats.oom_gc_recovered, 1u);
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_EQ(spares->Stats().shared_cached, 0);

  // Once only objects in use (and a thread's stash) remain, the retry
  // fails too: counted as a retry without recovery, and as a failure.
  for (;;) {
    void* q = needy->Alloc();
    if (q == nullptr) break;
    objects.push_back(q);
  }
  stats = needy->Stats();
  EXPECT_EQ(stats.oom_gc_retries, stats.oom_gc_recovered + 1);
  EXPECT_EQ(stats.failed, 1u);
  needy->Free(p);
  for (void* q : objects) needy->Free(q);
  needy->Flush();
  spares->Flush();
  Destroy(needy);
  Destroy(spares);
}

TEST(RegistryLimitTest, OsAllocatorFailureIsCountedButNotAsLimit) {
  static TestAllocator* const allocator = new TestAllocator();
  allocator->Allow(5);
  PoolOptions options = Options("os-failure", 400);
  options.allocator = allocator;
  Pool* pool = Create(options);
  ASSERT_NE(pool, nullptr);
  EXPECT_STREQ(pool->Stats().allocator, "test");

  std::vector<void*> objects;
  for (int i = 0; i < 5; ++i) {
    void* p = pool->Alloc();
    ASSERT_NE(p, nullptr) << i;
    std::memset(p, 0x40 + i, pool->object_size());
    objects.push_back(p);
  }
  EXPECT_EQ(pool->Alloc(), nullptr);
  EXPECT_EQ(pool->Alloc(), nullptr);
  PoolStats stats = pool->Stats();
  EXPECT_EQ(stats.failed, 2u);
  EXPECT_EQ(stats.limit_failures, 0u);
  EXPECT_EQ(stats.allocated, 5);  // failures leave no trace in the counts
  EXPECT_EQ(stats.in_use, 5);
  EXPECT_EQ(stats.os_allocs, 5u);  // nor in the OS-call count

  allocator->Allow(TestAllocator::kUnlimited);
  for (int i = 0; i < 3; ++i) {
    void* p = pool->Alloc();
    ASSERT_NE(p, nullptr);
    std::memset(p, 0xee, pool->object_size());
    pool->Free(p);
  }
  stats = pool->Stats();
  EXPECT_EQ(stats.failed, 2u);
  EXPECT_EQ(stats.limit_failures, 0u);
  for (int i = 0; i < 5; ++i) {
    const auto* bytes = static_cast<const unsigned char*>(objects[i]);
    for (std::size_t j = 0; j < pool->object_size(); ++j) {
      ASSERT_EQ(bytes[j], 0x40 + i) << "object " << i << " byte " << j;
    }
  }
  for (void* p : objects) pool->Free(p);
  Destroy(pool);
  EXPECT_EQ(allocator->outstanding(), 0);
}

// ---------------------------------------------------------------------------
// Declared pools.

TEST(RegistryDeclareTest, DeclaredPoolExistsBeforeMainAndIsShared) {
  Pool* pool = declared_pool.get();
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(FindPool("declared-test"), pool);
  EXPECT_EQ(declared_pool->name(), "declared-test");
  EXPECT_EQ(&*declared_pool, pool);
  EXPECT_NE(pool->flags() & kPoolShared, 0u);
  EXPECT_EQ(pool->object_size(), 48u);
  EXPECT_EQ(pool->Stats().users, 1);
  void* object = declared_pool->Alloc();
  ASSERT_NE(object, nullptr);
  declared_pool->Free(object);
}

TEST(RegistryDeclareTest, CompatibleDeclarationMergesWithDeclaredPool) {
  DeclaredPool again(Options("declared-test-2", 48));
  EXPECT_EQ(again.get(), declared_pool.get());
  EXPECT_EQ(declared_pool->Stats().users, 2);
  EXPECT_THAT(declared_pool->Stats().aliases, Contains("declared-test-2"));
  Destroy(again.get());
  EXPECT_EQ(declared_pool->Stats().users, 1);
  EXPECT_THAT(ListPools(), Contains(declared_pool.get()));
}

}  // namespace
}  // namespace poolkit
