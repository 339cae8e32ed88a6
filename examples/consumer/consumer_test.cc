// Uses poolkit's public API from another workspace.
#include <cstdint>

#include "arch/atomics.h"
#include "gtest/gtest.h"
#include "pool/pool.h"
#include "pool/registry.h"

namespace {

TEST(Consumer, DoubleWordCompareExchange) {
  poolkit::arch::WordPair pair = {1, 2};
  poolkit::arch::WordPair expected = {1, 2};
  EXPECT_TRUE(poolkit::arch::CompareExchangePair(
      &pair, &expected, {3, 4}, poolkit::arch::MemoryOrder::kAcqRel));
  EXPECT_EQ(pair.lo, 3u);
  EXPECT_EQ(pair.hi, 4u);
  expected = {1, 2};
  EXPECT_FALSE(poolkit::arch::CompareExchangePair(
      &pair, &expected, {5, 6}, poolkit::arch::MemoryOrder::kAcqRel));
  EXPECT_EQ(expected.lo, 3u);
  EXPECT_EQ(expected.hi, 4u);
  EXPECT_NE(std::string(poolkit::arch::kBackendName), "");
}

TEST(Consumer, PoolAllocFree) {
  poolkit::PoolOptions options;
  options.name = "consumer";
  options.object_size = 40;
  absl::StatusOr<poolkit::Pool*> pool = poolkit::CreatePool(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  void* object = (*pool)->Alloc();
  ASSERT_NE(object, nullptr);
  (*pool)->Free(object);
  EXPECT_TRUE(poolkit::DestroyPool(*pool).ok());
}

}  // namespace
