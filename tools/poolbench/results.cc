#include "tools/poolbench/results.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace poolkit::poolbench {

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  std::size_t middle = values.size() / 2;
  if (values.size() % 2 == 1) return values[middle];
  return (values[middle - 1] + values[middle]) / 2;
}

CellSummary Summarize(const Cell& cell) {
  CellSummary summary;
  if (cell.samples.empty()) return summary;
  std::vector<double> ns;
  std::vector<double> cpu;
  std::vector<double> os_calls;
  std::vector<double> operations;
  for (const TimedResult& sample : cell.samples) {
    ns.push_back(sample.ns_per_op);
    cpu.push_back(sample.cpu_ns_per_op);
    operations.push_back(static_cast<double>(sample.operations));
    if (sample.os_calls_per_op >= 0) os_calls.push_back(sample.os_calls_per_op);
  }
  summary.median_ns = Median(ns);
  summary.min_ns = *std::min_element(ns.begin(), ns.end());
  summary.max_ns = *std::max_element(ns.begin(), ns.end());
  summary.median_cpu_ns = Median(cpu);
  summary.median_operations = static_cast<std::int64_t>(Median(operations));
  if (!os_calls.empty()) summary.median_os_calls = Median(os_calls);
  return summary;
}

double RelativeSpread(const CellSummary& summary) {
  if (summary.median_ns <= 0) return 0;
  return (summary.max_ns - summary.min_ns) / 2 / summary.median_ns;
}

const Cell* ScenarioResult::Find(ContenderId id) const {
  for (const Cell& cell : cells) {
    if (cell.contender == id) return &cell;
  }
  return nullptr;
}

double ScenarioResult::BestPoolkitNs() const {
  double best = 0;
  for (const Cell& cell : cells) {
    if (!IsPoolkit(cell.contender) || !cell.ok()) continue;
    double median = Summarize(cell).median_ns;
    if (best == 0 || median < best) best = median;
  }
  return best;
}

const ContenderReport* Report::FindContender(ContenderId id) const {
  for (const ContenderReport& contender : contenders) {
    if (contender.id == id) return &contender;
  }
  return nullptr;
}

bool Report::Complete() const {
  for (const ContenderReport& contender : contenders) {
    if (contender.status != ContenderStatus::kOk) return false;
  }
  for (const ScenarioResult& scenario : scenarios) {
    for (const Cell& cell : scenario.cells) {
      if (!cell.ok()) return false;
    }
  }
  return true;
}

}  // namespace poolkit::poolbench
