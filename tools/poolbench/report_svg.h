// The report as an SVG chart, hand-written (no plotting library): one panel
// per pattern (columns; batch: one per batch size) and thread count (rows),
// ns/op against object size on log-log axes, one line per contender
// (poolkit's strategies solid, simple dotted, the others dashed), a legend,
// and for the spike a panel of resident memory after the release (open
// circles: the peak). Opens in any browser.
#ifndef POOLKIT_TOOLS_POOLBENCH_REPORT_SVG_H_
#define POOLKIT_TOOLS_POOLBENCH_REPORT_SVG_H_

#include <string>

#include "tools/poolbench/results.h"

namespace poolkit::poolbench {

std::string FormatSvg(const Report& report);

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_REPORT_SVG_H_
