#include "tools/poolbench/report_json.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "pool/json_string.h"
#include "tools/poolbench/contenders.h"
#include "tools/poolbench/scenarios.h"

namespace poolkit::poolbench {
namespace {

// Debian's Abseil has its own string_view class (not std::string_view),
// which does not convert implicitly.
std::string Quote(absl::string_view text) {
  return JsonString(std::string_view(text.data(), text.size()));
}

// JSON has no NaN or infinity: those become null.
std::string Number(double value) {
  if (!std::isfinite(value)) return "null";
  return absl::StrFormat("%.10g", value);
}

// Writes one object's members, one per line, with the commas in between.
class ObjectWriter {
 public:
  ObjectWriter(std::string* out, int indent) : out_(out), indent_(indent) {
    *out_ += "{";
  }
  void Raw(absl::string_view key, absl::string_view json) {
    *out_ += first_ ? "\n" : ",\n";
    first_ = false;
    *out_ += std::string(indent_ + 2, ' ');
    absl::StrAppend(out_, Quote(key), ": ", json);
  }
  void String(absl::string_view key, absl::string_view value) {
    Raw(key, Quote(value));
  }
  void Double(absl::string_view key, double value) { Raw(key, Number(value)); }
  void Int(absl::string_view key, std::int64_t value) {
    Raw(key, absl::StrCat(value));
  }
  void Bool(absl::string_view key, bool value) {
    Raw(key, value ? "true" : "false");
  }
  void Close() { *out_ += "\n" + std::string(indent_, ' ') + "}"; }

 private:
  std::string* out_;
  int indent_;
  bool first_ = true;
};

template <typename T, typename Format>
std::string Array(const std::vector<T>& values, Format format) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += format(values[i]);
  }
  return out + "]";
}

const char* KindName(ContenderKind kind) {
  switch (kind) {
    case ContenderKind::kPoolkit:
      return "poolkit";
    case ContenderKind::kBaseline:
      return "baseline";
    case ContenderKind::kGlibc:
      return "libc";
    case ContenderKind::kPeer:
      return "peer";
  }
  return "";
}

const char* StatusName(ContenderStatus status) {
  switch (status) {
    case ContenderStatus::kOk:
      return "ok";
    case ContenderStatus::kMissing:
      return "missing";
    case ContenderStatus::kFailed:
      return "failed";
  }
  return "";
}

std::string LoadAverage() {
  double loads[3] = {0, 0, 0};
  std::FILE* file = std::fopen("/proc/loadavg", "r");
  if (file != nullptr) {
    if (std::fscanf(file, "%lf %lf %lf", &loads[0], &loads[1], &loads[2]) !=
        3) {
      loads[0] = loads[1] = loads[2] = 0;
    }
    std::fclose(file);
  }
  return absl::StrFormat("[%s, %s, %s]", Number(loads[0]), Number(loads[1]),
                         Number(loads[2]));
}

std::string Context(const Report& report) {
  const Options& options = report.options;
  const RunContext& context = report.context;
  std::string out;
  ObjectWriter writer(&out, 2);
  writer.String("date", context.date);
  writer.String("host_name", context.host_name);
  writer.String("executable", context.executable);
  writer.Int("num_cpus", context.num_cpus);
  writer.Double("mhz_per_cpu", std::round(context.mhz_per_cpu));
  writer.Bool("cpu_scaling_enabled", false);
  writer.Raw("caches", "[]");
  writer.Raw("load_avg", LoadAverage());
  writer.String("library_build_type", context.build_type);

  std::string poolbench;
  ObjectWriter run(&poolbench, 4);
  run.String("mode", options.quick ? "quick" : "full");
  run.Raw("sizes", Array(options.sizes,
                         [](std::size_t size) { return absl::StrCat(size); }));
  run.Raw("threads", Array(options.threads,
                           [](int count) { return absl::StrCat(count); }));
  run.Raw("batch", Array(options.batches, [](std::size_t batch) {
            return absl::StrCat(batch);
          }));
  run.Raw("patterns", Array(options.patterns, [](Pattern pattern) {
            return Quote(PatternName(pattern));
          }));
  run.Int("repeats", options.repeats);
  run.Double("min_time_s", options.min_time_seconds);
  run.Double("spike_mib",
             static_cast<double>(options.spike_bytes) / (1024.0 * 1024.0));
  run.Int("spike_cycles", options.spike_cycles);
  run.Double("elapsed_s", context.elapsed_seconds);
  run.Bool("complete", report.Complete());
  run.Close();
  writer.Raw("poolbench", poolbench);

  std::string contenders = "[";
  for (std::size_t i = 0; i < report.contenders.size(); ++i) {
    const ContenderReport& contender = report.contenders[i];
    contenders += i == 0 ? "\n      " : ",\n      ";
    ObjectWriter entry(&contenders, 6);
    entry.String("name", ContenderName(contender.id));
    entry.String("kind", KindName(Info(contender.id).kind));
    entry.String("status", StatusName(contender.status));
    entry.String("version", contender.version);
    entry.String("library", contender.library);
    entry.String("malloc_from", contender.malloc_from);
    entry.String("problem", contender.problem);
    entry.Close();
  }
  contenders += report.contenders.empty() ? "]" : "\n    ]";
  writer.Raw("contenders", contenders);
  writer.Close();
  return out;
}

// The fields every entry of one scenario and contender shares.
void CommonFields(ObjectWriter* entry, const Scenario& scenario,
                  ContenderId contender, int family, int instance,
                  int repetitions) {
  entry->String("run_name", BenchmarkName(scenario, contender));
  entry->Int("family_index", family);
  entry->Int("per_family_instance_index", instance);
  entry->Int("repetitions", repetitions);
  entry->Int("threads", scenario.threads);
}

void ExtraFields(ObjectWriter* entry, const Scenario& scenario,
                 ContenderId contender) {
  entry->String("pattern", PatternName(scenario.pattern));
  entry->String("contender", ContenderName(contender));
  entry->Int("object_size", static_cast<std::int64_t>(scenario.object_size));
  if (scenario.pattern == Pattern::kBatch) {
    entry->Int("batch_size", static_cast<std::int64_t>(scenario.batch));
    entry->Int("objects_per_batch", static_cast<std::int64_t>(BatchObjects(
                                        scenario.object_size, scenario.batch)));
  }
}

void MemoryFields(ObjectWriter* entry, const Cell& cell) {
  if (!cell.has_memory) return;
  entry->Double("rss_baseline_mib", cell.rss_baseline_mib);
  entry->Double("rss_peak_mib", cell.rss_peak_mib);
  entry->Double("rss_final_mib", cell.rss_final_mib);
  entry->Double("release_ms", cell.release_ms);
}

}  // namespace

std::string BenchmarkName(const Scenario& scenario, ContenderId contender) {
  return absl::StrFormat("%s/%s/size:%d%s/threads:%d",
                         PatternName(scenario.pattern),
                         ContenderName(contender), scenario.object_size,
                         scenario.pattern == Pattern::kBatch
                             ? absl::StrFormat("/batch:%d", scenario.batch)
                             : "",
                         scenario.threads);
}

std::string FormatJson(const Report& report) {
  std::vector<std::string> entries;
  const std::vector<PatternVariant> variants =
      AllVariants(AllPatterns(), report.options.batches);
  for (const ScenarioResult& scenario : report.scenarios) {
    double best = scenario.BestPoolkitNs();
    // Google Benchmark's families are benchmark functions and instances
    // their arguments: here, pattern (batch: with its batch size) x
    // contender, and size x threads.
    const PatternVariant variant = VariantOf(scenario.scenario);
    int instance = 0;
    for (const ScenarioResult& other : report.scenarios) {
      if (&other == &scenario) break;
      if (VariantOf(other.scenario) == variant) ++instance;
    }
    const int variant_index =
        static_cast<int>(std::find(variants.begin(), variants.end(), variant) -
                         variants.begin());
    for (const Cell& cell : scenario.cells) {
      int family =
          variant_index * kNumContenders + static_cast<int>(cell.contender);
      int repetitions = static_cast<int>(cell.samples.size());
      std::string name = BenchmarkName(scenario.scenario, cell.contender);
      if (!cell.ok()) {
        // Google Benchmark's way of saying that a benchmark did not run.
        std::string out;
        ObjectWriter entry(&out, 4);
        entry.String("name", name);
        CommonFields(&entry, scenario.scenario, cell.contender, family,
                     instance, 0);
        entry.String("run_type", "iteration");
        entry.Bool("error_occurred", true);
        entry.String("error_message",
                     cell.error.empty() ? "no measurement" : cell.error);
        ExtraFields(&entry, scenario.scenario, cell.contender);
        entry.Close();
        entries.push_back(out);
        continue;
      }
      for (int i = 0; i < repetitions; ++i) {
        const TimedResult& sample = cell.samples[i];
        std::string out;
        ObjectWriter entry(&out, 4);
        entry.String("name", name);
        CommonFields(&entry, scenario.scenario, cell.contender, family,
                     instance, repetitions);
        entry.String("run_type", "iteration");
        entry.Int("repetition_index", i);
        entry.Int("iterations", sample.operations);
        entry.Double("real_time", sample.ns_per_op);
        entry.Double("cpu_time", sample.cpu_ns_per_op);
        entry.String("time_unit", "ns");
        entry.Double("items_per_second", 1e9 / sample.ns_per_op);
        ExtraFields(&entry, scenario.scenario, cell.contender);
        if (sample.os_calls_per_op >= 0) {
          entry.Double("os_calls_per_op", sample.os_calls_per_op);
        }
        entry.Close();
        entries.push_back(out);
      }
      CellSummary summary = Summarize(cell);
      std::string out;
      ObjectWriter entry(&out, 4);
      entry.String("name", name + "_median");
      CommonFields(&entry, scenario.scenario, cell.contender, family, instance,
                   repetitions);
      entry.String("run_type", "aggregate");
      entry.String("aggregate_name", "median");
      entry.String("aggregate_unit", "time");
      entry.Int("iterations", repetitions);
      entry.Double("real_time", summary.median_ns);
      entry.Double("cpu_time", summary.median_cpu_ns);
      entry.String("time_unit", "ns");
      entry.Double("items_per_second", 1e9 / summary.median_ns);
      ExtraFields(&entry, scenario.scenario, cell.contender);
      entry.Double("spread_min", summary.min_ns);
      entry.Double("spread_max", summary.max_ns);
      if (best > 0) {
        entry.Double("ratio_to_best_poolkit", summary.median_ns / best);
      }
      if (summary.median_os_calls >= 0) {
        entry.Double("os_calls_per_op", summary.median_os_calls);
      }
      if (cell.settling_windows > 0) {
        entry.Int("settling_windows", cell.settling_windows);
        entry.Bool("settled", cell.settled);
      }
      MemoryFields(&entry, cell);
      entry.Close();
      entries.push_back(out);
    }
  }
  std::string out =
      "{\n  \"context\": " + Context(report) + ",\n  \"benchmarks\": [";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    out += i == 0 ? "\n    " : ",\n    ";
    out += entries[i];
  }
  out += entries.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

}  // namespace poolkit::poolbench
