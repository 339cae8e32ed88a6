// The spike pattern: in a fresh process, allocate a lot, touching every
// page, free it all, ask the allocator to give memory back, and read how
// much the process still holds.
#ifndef POOLKIT_TOOLS_POOLBENCH_SPIKE_H_
#define POOLKIT_TOOLS_POOLBENCH_SPIKE_H_

#include <cstddef>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/poolbench/allocators.h"
#include "tools/poolbench/measure.h"
#include "tools/poolbench/scenarios.h"

namespace poolkit::poolbench {

struct SpikeResult {
  // One per cycle.
  std::vector<TimedResult> cycles;
  // Resident memory before the first cycle, at the peak, and after the
  // last cycle's release.
  double rss_baseline_mib = 0;
  double rss_peak_mib = 0;
  double rss_final_mib = 0;
  // Time the last release took.
  double release_ms = 0;
};

// The spike pattern, `cycles` times, in the calling process (which should
// be a fresh one). `release` gives free memory back to the OS.
absl::StatusOr<SpikeResult> MeasureSpike(const Scenario& scenario,
                                         std::size_t spike_bytes, int cycles,
                                         PoolUnderTest allocator,
                                         const std::function<void()>& release);
absl::StatusOr<SpikeResult> MeasureSpike(const Scenario& scenario,
                                         std::size_t spike_bytes, int cycles,
                                         SimpleUnderTest allocator,
                                         const std::function<void()>& release);
absl::StatusOr<SpikeResult> MeasureSpike(const Scenario& scenario,
                                         std::size_t spike_bytes, int cycles,
                                         MallocUnderTest allocator,
                                         const std::function<void()>& release);

// Resident set size now (/proc/self/statm) and its peak (VmHWM in
// /proc/self/status), in bytes; 0 if unreadable.
std::size_t ResidentBytes();
std::size_t PeakResidentBytes();

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_SPIKE_H_
