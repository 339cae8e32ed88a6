#include "tools/poolbench/report_table.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/poolbench/contenders.h"
#include "tools/poolbench/scenarios.h"

namespace poolkit::poolbench {
namespace {

// Characters on screen: UTF-8 continuation bytes (10xxxxxx) take no column.
std::size_t DisplayWidth(const std::string& text) {
  std::size_t width = 0;
  for (char c : text) width += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return width;
}

// Columns padded to their widest cell; the first `left` columns are
// left-aligned (labels), the rest right-aligned (numbers).
class TextTable {
 public:
  explicit TextTable(int left) : left_(left) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  std::string Render() const {
    std::vector<std::size_t> widths;
    for (const auto& row : rows_) {
      if (widths.size() < row.size()) widths.resize(row.size(), 0);
      for (std::size_t i = 0; i < row.size(); ++i) {
        widths[i] = std::max(widths[i], DisplayWidth(row[i]));
      }
    }
    std::string out;
    for (const auto& row : rows_) {
      std::string line;
      for (std::size_t i = 0; i < row.size(); ++i) {
        std::string padding(widths[i] - DisplayWidth(row[i]), ' ');
        if (i > 0) line += "  ";
        line +=
            static_cast<int>(i) < left_ ? row[i] + padding : padding + row[i];
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    return out;
  }

 private:
  int left_;
  std::vector<std::vector<std::string>> rows_;
};

std::string Ns(double ns) {
  if (ns < 10) return absl::StrFormat("%.2f", ns);
  if (ns < 100) return absl::StrFormat("%.1f", ns);
  return absl::StrFormat("%.0f", ns);
}

std::string Ratio(double ratio) {
  if (ratio < 10) return absl::StrFormat("%.2fx", ratio);
  if (ratio < 100) return absl::StrFormat("%.1fx", ratio);
  return absl::StrFormat("%.0fx", ratio);
}

std::string MiB(double mib) {
  return mib < 10 ? absl::StrFormat("%.1f", mib) : absl::StrFormat("%.0f", mib);
}

// What to print for a contender without a number in this scenario.
std::string Absent(const Report& report, const ScenarioResult& scenario,
                   ContenderId id) {
  const ContenderReport* contender = report.FindContender(id);
  if (contender == nullptr) return "-";
  if (contender->status == ContenderStatus::kMissing) return "MISSING";
  if (contender->status == ContenderStatus::kFailed) return "FAILED";
  const Cell* cell = scenario.Find(id);
  return cell != nullptr && !cell->error.empty() ? "ERROR" : "-";
}

std::string TimeCell(const Report& report, const ScenarioResult& scenario,
                     ContenderId id) {
  const Cell* cell = scenario.Find(id);
  if (cell == nullptr || !cell->ok()) return Absent(report, scenario, id);
  CellSummary summary = Summarize(*cell);
  // Past 999% the figure says nothing more than "unstable".
  double spread = std::round(RelativeSpread(summary) * 100);
  std::string text =
      spread > 999
          ? absl::StrFormat("%s ±>999%%", Ns(summary.median_ns))
          : absl::StrFormat("%s ±%.0f%%", Ns(summary.median_ns), spread);
  double best = scenario.BestPoolkitNs();
  if (best > 0) text += " " + Ratio(summary.median_ns / best);
  return text;
}

std::vector<std::string> HeaderRow(const Report& report,
                                   std::vector<std::string> first) {
  for (ContenderId id : report.options.contenders) {
    first.push_back(std::string(ContenderName(id)));
  }
  return first;
}

std::string ContenderSection(const Report& report) {
  std::string out = "Contenders\n";
  TextTable table(3);
  for (const ContenderReport& contender : report.contenders) {
    std::string where =
        IsPeer(contender.id)
            ? absl::StrCat("child process, LD_PRELOAD=", contender.library)
            : "in poolbench's process";
    switch (contender.status) {
      case ContenderStatus::kOk:
        table.AddRow({"  " + std::string(ContenderName(contender.id)),
                      contender.version, where});
        break;
      case ContenderStatus::kMissing:
        table.AddRow({"  " + std::string(ContenderName(contender.id)),
                      "MISSING", contender.problem});
        break;
      case ContenderStatus::kFailed:
        table.AddRow({"  " + std::string(ContenderName(contender.id)), "FAILED",
                      contender.problem});
        break;
    }
  }
  return out + table.Render();
}

std::string TimeSection(const Report& report, const PatternVariant& variant) {
  const Pattern pattern = variant.pattern;
  std::string out = absl::StrFormat("\n%s: %s\n", VariantLabel(variant),
                                    VariantDescription(variant));
  TextTable table(2);
  table.AddRow(HeaderRow(report, {"threads", "size"}));
  bool any = false;
  for (const ScenarioResult& scenario : report.scenarios) {
    if (VariantOf(scenario.scenario) != variant) continue;
    any = true;
    std::vector<std::string> row = {absl::StrCat(scenario.scenario.threads),
                                    SizeLabel(scenario.scenario.object_size)};
    for (ContenderId id : report.options.contenders) {
      row.push_back(TimeCell(report, scenario, id));
    }
    table.AddRow(row);
  }
  if (!any) return "";
  out += table.Render();
  if (pattern == Pattern::kCross) {
    for (int threads : report.options.threads) {
      if (threads % 2 == 1) {
        out +=
            absl::StrFormat("(cross runs pairs of threads: %d thread%s %s)\n",
                            threads, threads == 1 ? "" : "s",
                            threads == 1 ? "not run" : "run as one fewer");
      }
    }
  }
  return out;
}

std::string SpikeMemorySection(const Report& report) {
  std::string out = absl::StrFormat(
      "\nspike memory: resident MiB in a fresh process before / at the peak "
      "/ after the release (%s allocated and freed)\n",
      SizeLabel(report.options.spike_bytes));
  TextTable table(2);
  table.AddRow(HeaderRow(report, {"threads", "size"}));
  bool any = false;
  for (const ScenarioResult& scenario : report.scenarios) {
    if (scenario.scenario.pattern != Pattern::kSpike) continue;
    any = true;
    std::vector<std::string> row = {absl::StrCat(scenario.scenario.threads),
                                    SizeLabel(scenario.scenario.object_size)};
    for (ContenderId id : report.options.contenders) {
      const Cell* cell = scenario.Find(id);
      if (cell == nullptr || !cell->ok() || !cell->has_memory) {
        row.push_back(Absent(report, scenario, id));
      } else {
        row.push_back(absl::StrCat(MiB(cell->rss_baseline_mib), " / ",
                                   MiB(cell->rss_peak_mib), " / ",
                                   MiB(cell->rss_final_mib)));
      }
    }
    table.AddRow(row);
  }
  return any ? out + table.Render() : "";
}

std::string OsCallSection(const Report& report) {
  std::vector<ContenderId> counted;
  for (ContenderId id : report.options.contenders) {
    if (CountsOsCalls(id)) counted.push_back(id);
  }
  if (counted.empty()) return "";
  TextTable table(3);
  std::vector<std::string> header = {"pattern", "threads", "size"};
  for (ContenderId id : counted) {
    header.push_back(std::string(ContenderName(id)));
  }
  table.AddRow(header);
  bool any = false;
  for (const ScenarioResult& scenario : report.scenarios) {
    if (scenario.scenario.pattern == Pattern::kSpike) continue;
    any = true;
    std::vector<std::string> row = {VariantLabel(VariantOf(scenario.scenario)),
                                    absl::StrCat(scenario.scenario.threads),
                                    SizeLabel(scenario.scenario.object_size)};
    for (ContenderId id : counted) {
      const Cell* cell = scenario.Find(id);
      double calls =
          cell != nullptr && cell->ok() ? Summarize(*cell).median_os_calls : -1;
      // A pool that had not settled (an OS call in every one of its
      // settling windows) is marked: its repeats still saw it grow.
      const bool unsettled = cell != nullptr && cell->ok() &&
                             cell->settling_windows > 0 && !cell->settled;
      row.push_back(
          calls < 0 ? Absent(report, scenario, id)
                    : absl::StrFormat("%.3g%s", calls, unsettled ? " *" : ""));
    }
    table.AddRow(row);
  }
  if (!any) return "";
  return "\nOS allocator calls per operation, median (poolkit: "
         "Stats().os_allocs + os_releases;\nsimple: mallocs when its "
         "prefilled list ran empty); 0 = the steady state never reaches "
         "malloc.\npoolkit's pools (but none's) first ran each scenario "
         "untimed until one window had no OS call\n(at most " +
         absl::StrCat(kMaxSettlingWindows) +
         "); * = not settled within them\n" + table.Render();
}

}  // namespace

std::string FormatTables(const Report& report) {
  const Options& options = report.options;
  if (options.check_contenders) {
    return absl::StrFormat(
               "poolbench: contender check; %d CPUs; %s build; %s\n\n",
               report.context.num_cpus, report.context.build_type,
               report.context.date) +
           ContenderSection(report);
  }
  std::string out = absl::StrFormat(
      "poolbench: %s matrix, %d repeat%s of %g s each, spikes %d x %s; %d "
      "CPUs%s; %s build; %s\n\n",
      options.quick ? "quick" : "full", options.repeats,
      options.repeats == 1 ? "" : "s", options.min_time_seconds,
      options.spike_cycles, SizeLabel(options.spike_bytes),
      report.context.num_cpus,
      report.context.mhz_per_cpu > 0
          ? absl::StrFormat(" at %.0f MHz", report.context.mhz_per_cpu)
          : "",
      report.context.build_type, report.context.date);
  out += ContenderSection(report);
  if (!report.scenarios.empty()) {
    out +=
        "\nCells: median ns per operation ±half the min..max range over the "
        "repeats,\nthen the ratio to the best poolkit strategy of the row "
        "(above 1: slower than poolkit's best).\n";
  }
  for (const PatternVariant& variant :
       AllVariants(AllPatterns(), options.batches)) {
    out += TimeSection(report, variant);
  }
  out += SpikeMemorySection(report);
  out += OsCallSection(report);
  return out;
}

}  // namespace poolkit::poolbench
