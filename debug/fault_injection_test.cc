#include "debug/fault_injection.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace poolkit::debug {
namespace {

int CountFailures(FaultInjector& injector, int draws) {
  int failures = 0;
  for (int i = 0; i < draws; ++i) failures += injector.ShouldFail() ? 1 : 0;
  return failures;
}

TEST(FaultInjectorTest, ZeroAndHundred) {
  FaultInjector never(0, 1, "pool");
  EXPECT_FALSE(never.enabled());
  EXPECT_EQ(CountFailures(never, 10000), 0);
  FaultInjector always(100, 1, "pool");
  EXPECT_EQ(CountFailures(always, 10000), 10000);
}

TEST(FaultInjectorTest, RateIsRoughlyRight) {
  for (double percent : {1.0, 5.0, 25.0, 50.0}) {
    FaultInjector injector(percent, 42, "pool");
    const int draws = 200000;
    double observed = 100.0 * CountFailures(injector, draws) / draws;
    // Binomial: 200k draws keep 5 standard deviations well under 0.6 points.
    EXPECT_NEAR(observed, percent, 0.6) << percent;
  }
}

TEST(FaultInjectorTest, SameSeedReplaysDifferentSeedDiffers) {
  FaultInjector a(10, 7, "pool");
  FaultInjector b(10, 7, "pool");
  FaultInjector c(10, 8, "pool");
  FaultInjector d(10, 7, "other");
  int same = 0, differs_seed = 0, differs_stream = 0;
  for (std::uint64_t k = 0; k < 5000; ++k) {
    bool fa = a.ShouldFail();
    same += fa == b.ShouldFail();
    differs_seed += fa != c.ShouldFail();
    differs_stream += fa != d.ShouldFail();
  }
  EXPECT_EQ(same, 5000);
  EXPECT_GT(differs_seed, 100);
  EXPECT_GT(differs_stream, 100);
  for (std::uint64_t k = 0; k < 100; ++k) EXPECT_EQ(a.Decide(k), b.Decide(k));
}

}  // namespace
}  // namespace poolkit::debug
