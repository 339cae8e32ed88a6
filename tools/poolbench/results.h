// What a poolbench run found: the contenders (present or not, with their
// versions) and, per scenario, each contender's measurements. The table,
// JSON and SVG writers read this and nothing else.
#ifndef POOLKIT_TOOLS_POOLBENCH_RESULTS_H_
#define POOLKIT_TOOLS_POOLBENCH_RESULTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "tools/poolbench/contenders.h"
#include "tools/poolbench/measure.h"
#include "tools/poolbench/options.h"
#include "tools/poolbench/scenarios.h"

namespace poolkit::poolbench {

enum class ContenderStatus {
  kOk,
  // Not installed, or its worker could not prove that it serves malloc.
  kMissing,
  // Present, but something else went wrong (a worker crashed, malloc in
  // poolbench's own process is not glibc's).
  kFailed,
};

struct ContenderReport {
  ContenderId id = ContenderId::kGlibc;
  ContenderStatus status = ContenderStatus::kOk;
  std::string version;      // as the allocator itself reports it
  std::string library;      // peers: the LD_PRELOADed file
  std::string malloc_from;  // the file that defines malloc where it ran
  // Why it is missing or failed, and what to do about it.
  std::string problem;
};

// Untimed windows a poolkit pool may take to settle before its repeats
// (driver.cc, Settle()).
inline constexpr int kMaxSettlingWindows = 10;

// One contender in one scenario.
struct Cell {
  ContenderId contender = ContenderId::kGlibc;
  // One per repeat (spike: per cycle).
  std::vector<TimedResult> samples;
  // poolkit strategies that keep spares: untimed windows run before the
  // repeats until one had no OS call (at most kMaxSettlingWindows), and
  // whether the last one had none. See driver.cc.
  int settling_windows = 0;
  bool settled = false;
  // Spike only.
  bool has_memory = false;
  double rss_baseline_mib = 0;
  double rss_peak_mib = 0;
  double rss_final_mib = 0;
  double release_ms = 0;
  // Non-empty: the measurement failed, and why.
  std::string error;

  bool ok() const { return error.empty() && !samples.empty(); }
};

// The median of each field over a cell's samples, and the range of ns/op.
struct CellSummary {
  double median_ns = 0;
  double min_ns = 0;
  double max_ns = 0;
  double median_cpu_ns = 0;
  double median_os_calls = -1;  // negative: not counted
  std::int64_t median_operations = 0;
};
CellSummary Summarize(const Cell& cell);

// Half the min..max range as a fraction of the median (0.03 = +-3%).
double RelativeSpread(const CellSummary& summary);

struct ScenarioResult {
  Scenario scenario;
  // One per contender that was measured, in contender order.
  std::vector<Cell> cells;

  const Cell* Find(ContenderId id) const;
  // The lowest median ns/op among the poolkit strategies measured without
  // error; 0 if there is none.
  double BestPoolkitNs() const;
};

struct RunContext {
  std::string date;  // ISO 8601, local time with offset
  std::string host_name;
  std::string executable;
  int num_cpus = 0;
  double mhz_per_cpu = 0;
  std::string build_type;  // "release" (NDEBUG) or "debug"
  double elapsed_seconds = 0;
};

struct Report {
  Options options;
  RunContext context;
  std::vector<ContenderReport> contenders;
  std::vector<ScenarioResult> scenarios;

  const ContenderReport* FindContender(ContenderId id) const;
  // Every requested contender ran, and every measurement succeeded.
  bool Complete() const;
};

// The median of `values` (the mean of the middle two for an even count); 0
// for none.
double Median(std::vector<double> values);

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_RESULTS_H_
