// A declared pool used by another translation unit's static initialiser,
// which runs before the declaring unit's (this file is linked first, see
// BUILD.bazel): the pool must already work there.
#include "gtest/gtest.h"
#include "pool/declare_pool.h"

// Declared in declare_pool_order_pool.cc.
extern poolkit::DeclaredPool order_test_pool;

namespace {

// Runs during this unit's dynamic initialisation.
void* const early_object = order_test_pool->Alloc();

TEST(DeclarePoolOrderTest, UsableFromAnEarlierStaticInitializer) {
  ASSERT_NE(early_object, nullptr);
  EXPECT_EQ(order_test_pool->name(), "order-test");
  EXPECT_EQ(order_test_pool->object_size(), 80u);
  order_test_pool->Free(early_object);
}

}  // namespace
