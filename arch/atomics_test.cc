// Single-threaded semantics of every atomics backend the target can run:
// success, failure, the value observed on failure, and the return value, for
// every memory order. Plus the selection header and its typed layer.

#include "arch/atomics.h"

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "arch/backends_for_test.h"
#include "arch/word_pair.h"
#include "gtest/gtest.h"

namespace poolkit::arch {
namespace {

using ::poolkit::arch::testing::AvailableBackends;
using ::poolkit::arch::testing::BackendName;
using ::poolkit::arch::testing::kAllOrders;
using ::poolkit::arch::testing::OrderName;

// Values that use every byte, so that a swapped, truncated or sign-extended
// half cannot pass for the right one.
constexpr std::uint64_t kA = 0x0123456789abcdefULL;
constexpr std::uint64_t kB = 0xfedcba9876543210ULL;
constexpr std::uint64_t kC = 0x8000000000000001ULL;
constexpr std::uint64_t kD = 0x7fffffffffffffffULL;

static_assert(alignof(WordPair) == 16);
static_assert(sizeof(WordPair) == 16);
static_assert(std::is_trivially_copyable_v<WordPair>);

// The same two words without the alignment: what a caller might write by
// hand. It must not be accepted where a WordPair is expected.
struct UnalignedPair {
  std::uint64_t lo;
  std::uint64_t hi;
};
static_assert(alignof(UnalignedPair) < 16);

static_assert(ToBuiltinOrder(MemoryOrder::kRelaxed) == __ATOMIC_RELAXED);
static_assert(ToBuiltinOrder(MemoryOrder::kAcquire) == __ATOMIC_ACQUIRE);
static_assert(ToBuiltinOrder(MemoryOrder::kRelease) == __ATOMIC_RELEASE);
static_assert(ToBuiltinOrder(MemoryOrder::kAcqRel) == __ATOMIC_ACQ_REL);
static_assert(ToBuiltinOrder(MemoryOrder::kSeqCst) == __ATOMIC_SEQ_CST);

// Orders that make no sense are strengthened, never passed on.
static_assert(LoadOrder(MemoryOrder::kRelease) == MemoryOrder::kSeqCst);
static_assert(LoadOrder(MemoryOrder::kAcqRel) == MemoryOrder::kSeqCst);
static_assert(LoadOrder(MemoryOrder::kAcquire) == MemoryOrder::kAcquire);
static_assert(StoreOrder(MemoryOrder::kAcquire) == MemoryOrder::kSeqCst);
static_assert(StoreOrder(MemoryOrder::kAcqRel) == MemoryOrder::kSeqCst);
static_assert(StoreOrder(MemoryOrder::kRelease) == MemoryOrder::kRelease);
static_assert(FailureOrder(MemoryOrder::kRelease) == MemoryOrder::kRelaxed);
static_assert(FailureOrder(MemoryOrder::kAcqRel) == MemoryOrder::kAcquire);
static_assert(FailureOrder(MemoryOrder::kSeqCst) == MemoryOrder::kSeqCst);

static_assert(WordPair{1, 2} == WordPair{1, 2});
static_assert(WordPair{1, 2} != WordPair{2, 1});

template <class Backend>
class AtomicsTest : public ::testing::Test {};

TYPED_TEST_SUITE(AtomicsTest, AvailableBackends, BackendName);

TYPED_TEST(AtomicsTest, DescribesItself) {
  using Backend = TypeParam;
  EXPECT_GT(std::strlen(Backend::kName), 0u);
  EXPECT_GT(std::strlen(Backend::kDwcasInstruction), 0u);
  // A compile-time promise of lock-freedom must hold at run time too.
  if (Backend::kDwcasLockFree) {
    EXPECT_TRUE(Backend::DwcasIsLockFree());
  }
  ::testing::Test::RecordProperty("dwcas_instruction",
                                  Backend::kDwcasInstruction);
  ::testing::Test::RecordProperty("dwcas_lock_free",
                                  Backend::DwcasIsLockFree() ? 1 : 0);
}

TYPED_TEST(AtomicsTest, PairCasRejectsUnalignedType) {
  using Fn = decltype(TypeParam::CompareExchangePair);
  static_assert(std::is_invocable_r_v<bool, Fn, WordPair*, WordPair*, WordPair,
                                      MemoryOrder>);
  static_assert(!std::is_invocable_v<Fn, UnalignedPair*, UnalignedPair*,
                                     UnalignedPair, MemoryOrder>);
  static_assert(!std::is_invocable_v<Fn, UnalignedPair*, WordPair*, WordPair,
                                     MemoryOrder>);
  using LoadFn = decltype(TypeParam::LoadPair);
  static_assert(
      !std::is_invocable_v<LoadFn, const UnalignedPair*, MemoryOrder>);
}

TYPED_TEST(AtomicsTest, CompareExchangePairSucceedsOnMatch) {
  for (MemoryOrder order : kAllOrders) {
    SCOPED_TRACE(OrderName(order));
    WordPair target{kA, kB};
    WordPair expected{kA, kB};
    EXPECT_TRUE(TypeParam::CompareExchangePair(&target, &expected,
                                               WordPair{kC, kD}, order));
    EXPECT_EQ(target.lo, kC);
    EXPECT_EQ(target.hi, kD);
    // On success *expected is left as it was.
    EXPECT_EQ(expected.lo, kA);
    EXPECT_EQ(expected.hi, kB);
  }
}

TYPED_TEST(AtomicsTest, CompareExchangePairFailsWhenLowWordDiffers) {
  for (MemoryOrder order : kAllOrders) {
    SCOPED_TRACE(OrderName(order));
    WordPair target{kA, kB};
    WordPair expected{kC, kB};
    EXPECT_FALSE(TypeParam::CompareExchangePair(&target, &expected,
                                                WordPair{kD, kD}, order));
    EXPECT_EQ(target.lo, kA);  // Unchanged.
    EXPECT_EQ(target.hi, kB);
    EXPECT_EQ(expected.lo, kA);  // The observed value.
    EXPECT_EQ(expected.hi, kB);
  }
}

TYPED_TEST(AtomicsTest, CompareExchangePairFailsWhenHighWordDiffers) {
  for (MemoryOrder order : kAllOrders) {
    SCOPED_TRACE(OrderName(order));
    WordPair target{kA, kB};
    WordPair expected{kA, kC};
    EXPECT_FALSE(TypeParam::CompareExchangePair(&target, &expected,
                                                WordPair{kD, kD}, order));
    EXPECT_EQ(target, (WordPair{kA, kB}));
    EXPECT_EQ(expected, (WordPair{kA, kB}));
  }
}

TYPED_TEST(AtomicsTest, CompareExchangePairFailsWhenWordsAreSwapped) {
  for (MemoryOrder order : kAllOrders) {
    SCOPED_TRACE(OrderName(order));
    WordPair target{kA, kB};
    WordPair expected{kB, kA};
    EXPECT_FALSE(TypeParam::CompareExchangePair(&target, &expected,
                                                WordPair{kC, kD}, order));
    EXPECT_EQ(target, (WordPair{kA, kB}));
    EXPECT_EQ(expected, (WordPair{kA, kB}));
  }
}

TYPED_TEST(AtomicsTest, CompareExchangePairRetriesWithObservedValue) {
  // The usual loop: a failure hands back what to expect next time.
  for (MemoryOrder order : kAllOrders) {
    SCOPED_TRACE(OrderName(order));
    WordPair target{kA, kB};
    WordPair expected{0, 0};
    EXPECT_FALSE(TypeParam::CompareExchangePair(&target, &expected,
                                                WordPair{kC, kD}, order));
    EXPECT_TRUE(TypeParam::CompareExchangePair(&target, &expected,
                                               WordPair{kC, kD}, order));
    EXPECT_EQ(target, (WordPair{kC, kD}));
  }
}

TYPED_TEST(AtomicsTest, CompareExchangePairToSameValue) {
  for (MemoryOrder order : kAllOrders) {
    SCOPED_TRACE(OrderName(order));
    WordPair target{0, 0};
    WordPair expected{0, 0};
    EXPECT_TRUE(TypeParam::CompareExchangePair(&target, &expected,
                                               WordPair{0, 0}, order));
    EXPECT_EQ(target, (WordPair{0, 0}));
    EXPECT_EQ(expected, (WordPair{0, 0}));
  }
}

TYPED_TEST(AtomicsTest, LoadPairReturnsValueAndLeavesIt) {
  for (MemoryOrder order : kAllOrders) {
    SCOPED_TRACE(OrderName(order));
    WordPair target{kA, kB};
    EXPECT_EQ(TypeParam::LoadPair(&target, order), (WordPair{kA, kB}));
    EXPECT_EQ(target, (WordPair{kA, kB}));
    // {0, 0} is the value the CAS-based loads compare against (and write
    // back on a match).
    WordPair zero{0, 0};
    EXPECT_EQ(TypeParam::LoadPair(&zero, order), (WordPair{0, 0}));
    EXPECT_EQ(zero, (WordPair{0, 0}));
    WordPair half{0, kC};
    EXPECT_EQ(TypeParam::LoadPair(&half, order), (WordPair{0, kC}));
    EXPECT_EQ(half, (WordPair{0, kC}));
  }
}

TYPED_TEST(AtomicsTest, ExchangeWordReturnsOldValue) {
  for (MemoryOrder order : kAllOrders) {
    SCOPED_TRACE(OrderName(order));
    std::uintptr_t word = static_cast<std::uintptr_t>(kA);
    EXPECT_EQ(
        TypeParam::ExchangeWord(&word, static_cast<std::uintptr_t>(kB), order),
        static_cast<std::uintptr_t>(kA));
    EXPECT_EQ(word, static_cast<std::uintptr_t>(kB));
    EXPECT_EQ(TypeParam::ExchangeWord(&word, 0, order),
              static_cast<std::uintptr_t>(kB));
    EXPECT_EQ(word, 0u);
  }
}

TYPED_TEST(AtomicsTest, CompareExchangeWordSucceedsOnMatch) {
  for (MemoryOrder order : kAllOrders) {
    SCOPED_TRACE(OrderName(order));
    std::uintptr_t word = static_cast<std::uintptr_t>(kA);
    std::uintptr_t expected = static_cast<std::uintptr_t>(kA);
    EXPECT_TRUE(TypeParam::CompareExchangeWord(
        &word, &expected, static_cast<std::uintptr_t>(kC), order));
    EXPECT_EQ(word, static_cast<std::uintptr_t>(kC));
    EXPECT_EQ(expected, static_cast<std::uintptr_t>(kA));
  }
}

TYPED_TEST(AtomicsTest, CompareExchangeWordFailsAndReportsObserved) {
  for (MemoryOrder order : kAllOrders) {
    SCOPED_TRACE(OrderName(order));
    std::uintptr_t word = static_cast<std::uintptr_t>(kA);
    std::uintptr_t expected = static_cast<std::uintptr_t>(kB);
    EXPECT_FALSE(TypeParam::CompareExchangeWord(
        &word, &expected, static_cast<std::uintptr_t>(kC), order));
    EXPECT_EQ(word, static_cast<std::uintptr_t>(kA));
    EXPECT_EQ(expected, static_cast<std::uintptr_t>(kA));
    // And the observed value makes the retry succeed.
    EXPECT_TRUE(TypeParam::CompareExchangeWord(
        &word, &expected, static_cast<std::uintptr_t>(kC), order));
    EXPECT_EQ(word, static_cast<std::uintptr_t>(kC));
  }
}

TYPED_TEST(AtomicsTest, LoadAndStoreWord) {
  for (MemoryOrder order : kAllOrders) {
    SCOPED_TRACE(OrderName(order));
    std::uintptr_t word = 0;
    // Every order is accepted; the nonsensical ones are strengthened.
    TypeParam::StoreWord(&word, static_cast<std::uintptr_t>(kD), order);
    EXPECT_EQ(word, static_cast<std::uintptr_t>(kD));
    EXPECT_EQ(TypeParam::LoadWord(&word, order),
              static_cast<std::uintptr_t>(kD));
  }
}

TYPED_TEST(AtomicsTest, BarriersAndRelaxReturn) {
  TypeParam::CpuRelax();
  TypeParam::FullBarrier();
  TypeParam::AcquireBarrier();
  TypeParam::ReleaseBarrier();
  SUCCEED();
}

// The selection header.

TEST(SelectedBackendTest, MatchesBuildConfiguration) {
#if defined(POOLKIT_ARCH_BACKEND_X86_64)
  EXPECT_STREQ(kBackendName, "x86_64");
#elif defined(POOLKIT_ARCH_BACKEND_AARCH64_LLSC)
  EXPECT_STREQ(kBackendName, "aarch64_llsc");
#elif defined(POOLKIT_ARCH_BACKEND_AARCH64_LSE)
  EXPECT_STREQ(kBackendName, "aarch64_lse");
#elif defined(POOLKIT_ARCH_BACKEND_PORTABLE)
  EXPECT_STREQ(kBackendName, "portable");
#elif defined(__x86_64__)
  EXPECT_STREQ(kBackendName, "x86_64");
#elif defined(__aarch64__) && defined(__ARM_FEATURE_ATOMICS)
  EXPECT_STREQ(kBackendName, "aarch64_lse");
#elif defined(__aarch64__)
  EXPECT_STREQ(kBackendName, "aarch64_llsc");
#else
  EXPECT_STREQ(kBackendName, "portable");
#endif
  EXPECT_STREQ(kBackendName, native::kName);
  EXPECT_STREQ(kDwcasInstruction, native::kDwcasInstruction);
  ::testing::Test::RecordProperty("backend", kBackendName);
}

TEST(SelectedBackendTest, ForwardsToNative) {
  alignas(16) WordPair pair{kA, kB};
  WordPair expected{kA, kB};
  EXPECT_TRUE(CompareExchangePair(&pair, &expected, WordPair{kC, kD},
                                  MemoryOrder::kAcqRel));
  EXPECT_EQ(LoadPair(&pair, MemoryOrder::kAcquire), (WordPair{kC, kD}));
  std::uintptr_t word = 1;
  EXPECT_EQ(ExchangeWord(&word, 2, MemoryOrder::kSeqCst), 1u);
  std::uintptr_t expected_word = 2;
  EXPECT_TRUE(
      CompareExchangeWord(&word, &expected_word, 3, MemoryOrder::kSeqCst));
  StoreWord(&word, 4, MemoryOrder::kRelease);
  EXPECT_EQ(LoadWord(&word, MemoryOrder::kAcquire), 4u);
  CpuRelax();
  FullBarrier();
  AcquireBarrier();
  ReleaseBarrier();
}

struct Item {
  int value;
};

TEST(TypedAtomicsTest, ExchangePointer) {
  Item a{1};
  Item b{2};
  Item* slot = &a;
  EXPECT_EQ(ExchangePointer(&slot, &b, MemoryOrder::kAcqRel), &a);
  EXPECT_EQ(slot, &b);
  EXPECT_EQ(ExchangePointer<Item>(&slot, nullptr, MemoryOrder::kRelaxed), &b);
  EXPECT_EQ(slot, nullptr);
}

TEST(TypedAtomicsTest, CompareExchangePointer) {
  Item a{1};
  Item b{2};
  Item* slot = &a;
  Item* expected = &b;
  EXPECT_FALSE(
      CompareExchangePointer(&slot, &expected, &b, MemoryOrder::kSeqCst));
  EXPECT_EQ(expected, &a);  // Observed.
  EXPECT_EQ(slot, &a);
  EXPECT_TRUE(
      CompareExchangePointer(&slot, &expected, &b, MemoryOrder::kSeqCst));
  EXPECT_EQ(slot, &b);
  EXPECT_EQ(slot->value, 2);
}

TEST(TypedAtomicsTest, LoadAndStorePointer) {
  Item a{1};
  Item* slot = nullptr;
  StorePointer(&slot, &a, MemoryOrder::kRelease);
  EXPECT_EQ(LoadPointer(&slot, MemoryOrder::kAcquire), &a);
  const Item* const_slot = &a;
  EXPECT_EQ(LoadPointer(&const_slot, MemoryOrder::kRelaxed), &a);
}

}  // namespace
}  // namespace poolkit::arch
