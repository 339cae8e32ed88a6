// The clock and the interval of the release rule (pool.cc): spare objects
// that the load did not need over an interval go back to the OS.
#ifndef POOLKIT_POOL_INTERNAL_RELEASE_CLOCK_H_
#define POOLKIT_POOL_INTERNAL_RELEASE_CLOCK_H_

#include <cstdint>

namespace poolkit::internal {

// Nanoseconds on a monotonic clock (CLOCK_MONOTONIC_COARSE: a few ns to
// read, a few ms of resolution, plenty for intervals of a second), or the
// test clock if one is set.
std::int64_t ReleaseClockNanos();
// Tests: a clock to use instead (nullptr restores the real one).
void SetReleaseClockForTesting(std::int64_t (*clock)());

std::int64_t SpareReleaseIntervalNanos();
void SetSpareReleaseIntervalNanos(std::int64_t nanos);

}  // namespace poolkit::internal

#endif  // POOLKIT_POOL_INTERNAL_RELEASE_CLOCK_H_
