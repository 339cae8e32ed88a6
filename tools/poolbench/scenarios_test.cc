// The matrix: batch sizes and their cap, the cross ring's capacity, the
// scenarios a run builds and how they are named.
#include "tools/poolbench/scenarios.h"

#include <cstddef>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/poolbench/allocators.h"

namespace poolkit::poolbench {
namespace {

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = 1024 * kKiB;

TEST(ScenariosTest, BatchObjectsCapOneThreadsBatchAt32MiB) {
  EXPECT_EQ(BatchObjects(64, 64), 64u);
  EXPECT_EQ(BatchObjects(64, 1000), 1000u);
  EXPECT_EQ(BatchObjects(16 * kKiB, 1000), 1000u);
  EXPECT_EQ(BatchObjects(48 * kKiB, 1000), 682u);  // 32 MiB / 48 KiB
  EXPECT_EQ(BatchObjects(2 * kMiB, 64), 16u);
  EXPECT_EQ(BatchObjects(2 * kMiB, 1000), 16u);
  EXPECT_EQ(BatchObjects(2 * kMiB, 3), 3u);
  EXPECT_EQ(BatchObjects(std::size_t{1} << 30, 64), 1u);  // at least one
}

TEST(ScenariosTest, CrossRingCapacityIsAPowerOfTwoWithinBounds) {
  EXPECT_EQ(CrossRingCapacity(64), 256u);
  EXPECT_EQ(CrossRingCapacity(128 * kKiB), 256u);
  EXPECT_EQ(CrossRingCapacity(200 * kKiB), 128u);  // 163 rounded down
  EXPECT_EQ(CrossRingCapacity(2 * kMiB), 16u);
  EXPECT_EQ(CrossRingCapacity(3 * kMiB), 8u);  // 10 rounded down
  EXPECT_EQ(CrossRingCapacity(std::size_t{1} << 30), 4u);
  for (std::size_t size = 8; size <= (std::size_t{1} << 30);
       size = size * 3 / 2 + 1) {
    std::size_t capacity = CrossRingCapacity(size);
    EXPECT_EQ(capacity & (capacity - 1), 0u) << size;
    EXPECT_GE(capacity, 4u) << size;
    EXPECT_LE(capacity, 256u) << size;
    if (capacity > 4) {
      EXPECT_LE(capacity * size, 32 * kMiB) << size;
    }
  }
}

TEST(ScenariosTest, BatchScenariosArePerBatchSize) {
  std::vector<Scenario> scenarios =
      BuildScenarios({Pattern::kHot, Pattern::kBatch, Pattern::kCross},
                     {64, 2 * kMiB}, {1, 2}, {64, 1000});
  // hot: 2 threads x 2 sizes; batch: 2 batch sizes x 2 x 2; cross: 2
  // threads only, 2 sizes.
  ASSERT_EQ(scenarios.size(), 4u + 8u + 2u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(scenarios[i].pattern, Pattern::kHot);
    EXPECT_EQ(scenarios[i].batch, 0u);
  }
  for (std::size_t i = 4; i < 12; ++i) {
    EXPECT_EQ(scenarios[i].pattern, Pattern::kBatch);
    EXPECT_EQ(scenarios[i].batch, i < 8 ? 64u : 1000u);
  }
  EXPECT_EQ(scenarios[4].threads, 1);
  EXPECT_EQ(scenarios[4].object_size, 64u);
  EXPECT_EQ(scenarios[5].object_size, 2 * kMiB);
  EXPECT_EQ(scenarios[6].threads, 2);
  for (std::size_t i = 12; i < 14; ++i) {
    EXPECT_EQ(scenarios[i].pattern, Pattern::kCross);
    EXPECT_EQ(scenarios[i].threads, 2);
    EXPECT_EQ(scenarios[i].batch, 0u);
  }
}

TEST(ScenariosTest, VariantsAndLabels) {
  std::vector<PatternVariant> variants = AllVariants(
      {Pattern::kHot, Pattern::kBatch, Pattern::kSpike}, {64, 1000});
  ASSERT_EQ(variants.size(), 4u);
  EXPECT_EQ(VariantLabel(variants[0]), "hot");
  EXPECT_EQ(VariantLabel(variants[1]), "batch x64");
  EXPECT_EQ(VariantLabel(variants[2]), "batch x1000");
  EXPECT_EQ(VariantLabel(variants[3]), "spike");
  EXPECT_THAT(VariantDescription(variants[2]),
              testing::HasSubstr("alloc 1000 objects (fewer past 32 MiB a "
                                 "batch: 16 of 2 MiB)"));
  EXPECT_EQ(ScenarioLabel({Pattern::kBatch, 64, 2, 1000}),
            "batch x1000 of 64 B, 2 threads");
  EXPECT_EQ(ScenarioLabel({Pattern::kHot, 2 * kMiB, 1, 0}),
            "hot 2 MiB, 1 thread");
  // A batch size on another pattern is no variant of it.
  EXPECT_EQ(VariantOf({Pattern::kHot, 64, 1, 64}),
            (PatternVariant{Pattern::kHot, 0}));
}

TEST(ScenariosTest, ObjectsInFlightAndSimplePrefill) {
  EXPECT_EQ(MaxObjectsInFlight({Pattern::kHot, 64, 3, 0}), 3u);
  EXPECT_EQ(MaxObjectsInFlight({Pattern::kBatch, 64, 3, 1000}), 3000u);
  EXPECT_EQ(MaxObjectsInFlight({Pattern::kBatch, 2 * kMiB, 2, 1000}), 32u);
  // Two pairs, each a full ring of 16 and one object in each thread's hands.
  EXPECT_EQ(MaxObjectsInFlight({Pattern::kCross, 2 * kMiB, 4, 0}), 36u);
  EXPECT_EQ(MaxObjectsInFlight({Pattern::kSpike, 64, 2, 0}), 0u);
  // Four more a thread; none for the spike.
  EXPECT_EQ(SimplePrefillObjects({Pattern::kHot, 64, 3, 0}), 15u);
  EXPECT_EQ(SimplePrefillObjects({Pattern::kBatch, 64, 2, 64}), 136u);
  EXPECT_EQ(SimplePrefillObjects({Pattern::kCross, 2 * kMiB, 4, 0}), 52u);
  EXPECT_EQ(SimplePrefillObjects({Pattern::kSpike, 64, 2, 0}), 0u);
}

}  // namespace
}  // namespace poolkit::poolbench
