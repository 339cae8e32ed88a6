// The report as text tables, for stdout.
#ifndef POOLKIT_TOOLS_POOLBENCH_REPORT_TABLE_H_
#define POOLKIT_TOOLS_POOLBENCH_REPORT_TABLE_H_

#include <string>

#include "tools/poolbench/results.h"

namespace poolkit::poolbench {

// The contenders with their versions (or why they are missing), then per
// pattern (batch: per batch size) one table (rows: thread count and object
// size; columns: contenders; cells: median ns/op, +-spread, ratio to the
// row's best poolkit strategy), spike memory, and the OS allocator calls of
// poolkit and simple.
std::string FormatTables(const Report& report);

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_REPORT_TABLE_H_
