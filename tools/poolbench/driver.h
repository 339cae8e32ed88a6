// Runs a poolbench matrix: checks the contenders, measures every scenario
// for every contender (repeats interleaved), reports progress.
#ifndef POOLKIT_TOOLS_POOLBENCH_DRIVER_H_
#define POOLKIT_TOOLS_POOLBENCH_DRIVER_H_

#include <cstdio>

#include "tools/poolbench/options.h"
#include "tools/poolbench/results.h"

namespace poolkit::poolbench {

// Everything `options` asks for (only the contender check with
// --check-contenders). Progress and problems go to `progress` as they
// happen; a missing contender is reported there and in the Report, and the
// rest still runs.
Report RunPoolbench(const Options& options, std::FILE* progress);

// The machine and build, for the report's context.
RunContext DescribeRun();

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_DRIVER_H_
