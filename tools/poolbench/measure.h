// The timed patterns (hot, batch, cross): one scenario, one allocator, one
// measurement window.
//
// The same code runs in poolbench's process (poolkit, glibc) and in worker
// processes (the peers).
#ifndef POOLKIT_TOOLS_POOLBENCH_MEASURE_H_
#define POOLKIT_TOOLS_POOLBENCH_MEASURE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/poolbench/allocators.h"
#include "tools/poolbench/scenarios.h"

namespace poolkit::poolbench {

struct TimingParams {
  // Run before the window opens: fills caches, reaches steady state.
  double warmup_seconds = 0.01;
  // How long the window stays open.
  double min_time_seconds = 0.02;
};

// The warm-up poolbench uses for a measured time: half of it, within 1 ms
// and 100 ms.
double WarmupFor(double min_time_seconds);

struct TimedResult {
  // Summed thread time in the window / summed operations (alloc+free
  // pairs; cross: objects handed over, timed by the consumers).
  double ns_per_op = 0;
  // The same with the threads' CPU time (cross: producers' and consumers').
  double cpu_ns_per_op = 0;
  std::int64_t operations = 0;
  // poolkit and simple only: OS allocator calls in the window per
  // operation; negative when not counted.
  double os_calls_per_op = -1;
};

// hot, batch or cross. Errors: an allocation failed, an object came back
// changed, or no operation completed in the window.
absl::StatusOr<TimedResult> MeasureTimed(const Scenario& scenario,
                                         const TimingParams& params,
                                         PoolUnderTest allocator);
absl::StatusOr<TimedResult> MeasureTimed(const Scenario& scenario,
                                         const TimingParams& params,
                                         SimpleUnderTest allocator);
absl::StatusOr<TimedResult> MeasureTimed(const Scenario& scenario,
                                         const TimingParams& params,
                                         MallocUnderTest allocator);

// What one thread counted: its time and CPU time in the window, and the
// operations it completed there.
struct ThreadCount {
  std::int64_t wall_ns = 0;
  std::int64_t cpu_ns = 0;
  std::int64_t operations = 0;
  bool failed = false;
  const char* failure = "";
};

// ns/op = the `timed` threads' summed time over their summed operations;
// CPU time from `all` threads. Errors: a thread failed, or no operation was
// counted. `os_calls` over the operations when `counts_os_calls`.
absl::StatusOr<TimedResult> SummarizeThreads(
    const std::vector<ThreadCount>& timed, const std::vector<ThreadCount>& all,
    std::uint64_t os_calls, bool counts_os_calls);

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_MEASURE_H_
