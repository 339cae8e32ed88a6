// The report as JSON, in Google Benchmark's format, so that tools written
// for it (compare.py, tools/bench_report.py-style scripts) read it.
//
//   {"context": {date, host_name, executable, num_cpus, mhz_per_cpu,
//                cpu_scaling_enabled, caches, load_avg, library_build_type,
//                poolbench: {mode, sizes, threads, batch, patterns,
//                            repeats, min_time_s, spike_mib, spike_cycles,
//                            elapsed_s, complete},
//                contenders: [{name, kind (poolkit, baseline, libc, peer),
//                              status, version, library, malloc_from,
//                              problem}]},
//    "benchmarks": [
//      one "iteration" entry per repeat, then one "median" aggregate,
//      per scenario and contender; names PATTERN/CONTENDER/size:N/threads:T,
//      batch/CONTENDER/size:N/batch:B/threads:T (aggregate: + "_median");
//      times in ns per operation; extra fields pattern, contender,
//      object_size, batch_size and objects_per_batch (batch), spread_min,
//      spread_max, ratio_to_best_poolkit, os_calls_per_op (poolkit, simple),
//      settling_windows and settled (poolkit strategies with spares, on the
//      aggregate: untimed windows before the repeats, see driver.cc),
//      rss_baseline_mib, rss_peak_mib, rss_final_mib, release_ms,
//      items_per_second]}
//
// A contender that is missing has no entries; its context entry says why.
#ifndef POOLKIT_TOOLS_POOLBENCH_REPORT_JSON_H_
#define POOLKIT_TOOLS_POOLBENCH_REPORT_JSON_H_

#include <string>

#include "tools/poolbench/results.h"

namespace poolkit::poolbench {

std::string FormatJson(const Report& report);

// "hot/xchg/size:64/threads:1", "batch/xchg/size:64/batch:1000/threads:1"
std::string BenchmarkName(const Scenario& scenario, ContenderId contender);

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_REPORT_JSON_H_
