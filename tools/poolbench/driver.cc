#include "tools/poolbench/driver.h"

#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "pool/registry.h"
#include "tools/poolbench/allocators.h"
#include "tools/poolbench/contenders.h"
#include "tools/poolbench/measure.h"
#include "tools/poolbench/spinlock_free_list.h"
#include "tools/poolbench/worker.h"

namespace poolkit::poolbench {
namespace {

// Rough costs for the time estimate (seconds); the estimate of what is left
// is rescaled by how the run has gone so far.
constexpr double kMeasurementOverheadSeconds = 0.008;
constexpr double kWorkerStartSeconds = 0.03;
// Allocating, touching every page of, and freeing one MiB.
constexpr double kSpikeSecondsPerMiB = 0.0006;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string FormatNs(double ns) {
  if (ns < 10) return absl::StrFormat("%.2f", ns);
  if (ns < 100) return absl::StrFormat("%.1f", ns);
  return absl::StrFormat("%.0f", ns);
}

std::string FormatDuration(double seconds) {
  if (seconds < 90) return absl::StrFormat("%.0f s", seconds);
  return absl::StrFormat("%.1f min", seconds / 60);
}

class Runner {
 public:
  Runner(const Options& options, std::FILE* progress)
      : options_(options),
        progress_(progress),
        tty_(isatty(fileno(progress)) != 0) {}

  Report Run() {
    start_ = std::chrono::steady_clock::now();
    report_.options = options_;
    report_.context = DescribeRun();
    if (report_.context.build_type != "release") {
      std::fprintf(progress_,
                   "poolbench: WARNING: not an optimised build: poolkit's "
                   "inline fast path is measured unoptimised against "
                   "optimised peers; use -c opt\n");
    }
    CheckContenders();
    if (!options_.check_contenders) {
      RunMatrix();
    }
    workers_.clear();
    report_.context.elapsed_seconds = SecondsSince(start_);
    return report_;
  }

 private:
  // --- Contenders ---

  void CheckContenders() {
    for (ContenderId id : options_.contenders) {
      ContenderReport contender;
      contender.id = id;
      if (IsPeer(id)) {
        CheckPeer(&contender);
      } else {
        // In this process: malloc must be the C library's.
        MallocIdentity identity = IdentifyMalloc(id, "");
        contender.version = identity.version;
        contender.malloc_from = identity.malloc_from;
        if (!identity.ok) {
          contender.status = ContenderStatus::kFailed;
          contender.problem = identity.problem;
        }
      }
      PrintContender(contender);
      report_.contenders.push_back(contender);
    }
  }

  void CheckPeer(ContenderReport* contender) {
    const ContenderId id = contender->id;
    std::string library;
    for (const auto& [peer, path] : options_.peer_libraries) {
      if (peer == id) library = path;
    }
    if (library.empty()) {
      library = FindPeerLibrary(id);
      if (library.empty()) {
        contender->status = ContenderStatus::kMissing;
        contender->problem = absl::StrFormat(
            "no %s in %s; %s", absl::StrJoin(Info(id).library_names, " or "),
            absl::StrJoin(LibrarySearchDirectories(), ", "),
            MissingPeerAdvice(id));
        return;
      }
    } else if (access(library.c_str(), R_OK) != 0) {
      contender->library = library;
      contender->status = ContenderStatus::kMissing;
      contender->problem =
          absl::StrFormat("%s: no such file (--peer-library); %s", library,
                          MissingPeerAdvice(id));
      return;
    }
    contender->library = library;
    absl::StatusOr<std::unique_ptr<WorkerProcess>> worker =
        WorkerProcess::Start(id, library);
    if (!worker.ok()) {
      contender->status = absl::IsNotFound(worker.status())
                              ? ContenderStatus::kMissing
                              : ContenderStatus::kFailed;
      // Advice to install only for a peer that is not there; a worker that
      // crashed says how it died.
      contender->problem = contender->status == ContenderStatus::kMissing
                               ? absl::StrCat(worker.status().message(), "; ",
                                              MissingPeerAdvice(id))
                               : std::string(worker.status().message());
      return;
    }
    contender->version = (*worker)->version();
    contender->malloc_from = (*worker)->malloc_from();
    workers_[id] = std::move(*worker);
  }

  void PrintContender(const ContenderReport& contender) {
    const char* name = Info(contender.id).name;
    switch (contender.status) {
      case ContenderStatus::kOk:
        std::fprintf(
            progress_, "poolbench: %-8s %s%s\n", name,
            contender.version.c_str(),
            contender.library.empty()
                ? " (in this process)"
                : absl::StrCat(" (child, LD_PRELOAD=", contender.library, ")")
                      .c_str());
        break;
      case ContenderStatus::kMissing:
        std::fprintf(progress_, "poolbench: %-8s MISSING: %s\n", name,
                     contender.problem.c_str());
        break;
      case ContenderStatus::kFailed:
        std::fprintf(progress_, "poolbench: %-8s FAILED: %s\n", name,
                     contender.problem.c_str());
        break;
    }
    std::fflush(progress_);
  }

  std::vector<ContenderId> ReadyContenders() const {
    std::vector<ContenderId> ready;
    for (const ContenderReport& contender : report_.contenders) {
      if (contender.status == ContenderStatus::kOk) {
        ready.push_back(contender.id);
      }
    }
    return ready;
  }

  // The peer's long-lived worker, started again if it died.
  absl::StatusOr<WorkerProcess*> PeerWorker(ContenderId id) {
    std::unique_ptr<WorkerProcess>& worker = workers_[id];
    if (worker == nullptr || !worker->alive()) {
      worker.reset();
      absl::StatusOr<std::unique_ptr<WorkerProcess>> started =
          WorkerProcess::Start(id, report_.FindContender(id)->library);
      if (!started.ok()) return started.status();
      worker = std::move(*started);
    }
    return worker.get();
  }

  // --- The matrix ---

  double EstimateSeconds(const Scenario& scenario, int contenders) const {
    if (scenario.pattern == Pattern::kSpike) {
      double mib = static_cast<double>(options_.spike_bytes) / (1 << 20);
      return contenders * (kWorkerStartSeconds +
                           options_.spike_cycles * mib * kSpikeSecondsPerMiB);
    }
    return contenders * options_.repeats *
           (WarmupFor(options_.min_time_seconds) + options_.min_time_seconds +
            kMeasurementOverheadSeconds);
  }

  void RunMatrix() {
    std::vector<Scenario> scenarios = BuildScenarios(
        options_.patterns, options_.sizes, options_.threads, options_.batches);
    std::vector<ContenderId> ready = ReadyContenders();
    double total_estimate = 0;
    for (const Scenario& scenario : scenarios) {
      total_estimate +=
          EstimateSeconds(scenario, static_cast<int>(ready.size()));
    }
    std::fprintf(progress_,
                 "poolbench: %zu scenarios x %zu contenders, %d repeats of "
                 "%g s; estimated %s\n",
                 scenarios.size(), ready.size(), options_.repeats,
                 options_.min_time_seconds,
                 FormatDuration(total_estimate).c_str());
    for (int count : options_.threads) {
      bool wanted = false;
      for (Pattern pattern : options_.patterns) {
        wanted = wanted || pattern == Pattern::kCross;
      }
      if (wanted && count % 2 == 1) {
        std::fprintf(progress_,
                     "poolbench: cross-thread runs pairs of threads: %d "
                     "thread%s %s\n",
                     count, count == 1 ? "" : "s",
                     count == 1 ? "not run" : "rounded down");
      }
    }
    std::fflush(progress_);

    double estimate_done = 0;
    double measuring_start = SecondsSince(start_);
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
      const Scenario& scenario = scenarios[i];
      ScenarioResult result;
      result.scenario = scenario;
      std::string step = absl::StrFormat(
          "[%zu/%zu] %s", i + 1, scenarios.size(), ScenarioLabel(scenario));
      if (scenario.pattern == Pattern::kSpike) {
        RunSpike(step, ready, &result);
      } else {
        RunTimed(step, ready, &result);
      }
      estimate_done +=
          EstimateSeconds(scenario, static_cast<int>(ready.size()));
      double spent = SecondsSince(start_) - measuring_start;
      double left =
          total_estimate > estimate_done && estimate_done > 0
              ? (total_estimate - estimate_done) * spent / estimate_done
              : 0;
      PrintScenario(step, result, left);
      report_.scenarios.push_back(std::move(result));
    }
  }

  void ShowStatus(const std::string& step, const std::string& what) {
    if (!tty_) return;
    // One transient line, overwritten; the scenario's summary replaces it.
    std::fprintf(progress_, "\r%s: %s\033[K", step.c_str(), what.c_str());
    std::fflush(progress_);
  }

  void RunTimed(const std::string& step, const std::vector<ContenderId>& ready,
                ScenarioResult* result) {
    const Scenario& scenario = result->scenario;
    TimingParams params;
    params.min_time_seconds = options_.min_time_seconds;
    params.warmup_seconds = WarmupFor(options_.min_time_seconds);
    // One pool per strategy for the scenario's repeats: the repeats measure
    // a warm pool, as the peers' workers measure a warm heap. The same for
    // simple's list, prefilled here (before the measurements) and freed
    // with everything it holds when the scenario is done.
    std::map<ContenderId, Pool*> pools;
    std::unique_ptr<SpinlockFreeList> simple;
    for (ContenderId id : ready) {
      Cell cell;
      cell.contender = id;
      if (IsPoolkit(id)) {
        absl::StatusOr<Pool*> pool = CreateBenchPool(id, scenario.object_size);
        if (pool.ok()) {
          pools[id] = *pool;
        } else {
          cell.error = std::string(pool.status().message());
        }
      } else if (id == ContenderId::kSimple) {
        absl::StatusOr<std::unique_ptr<SpinlockFreeList>> list =
            CreateSimpleList(scenario);
        if (list.ok()) {
          simple = std::move(*list);
        } else {
          cell.error = std::string(list.status().message());
        }
      }
      result->cells.push_back(cell);
    }
    Settle(step, scenario, params, pools, result);
    // Repeat 1 of every contender, then repeat 2...: a drift in the
    // machine's speed then spreads over all contenders alike.
    for (int repeat = 0; repeat < options_.repeats; ++repeat) {
      for (Cell& cell : result->cells) {
        if (!cell.error.empty()) continue;
        ShowStatus(step, absl::StrFormat("repeat %d/%d, %s", repeat + 1,
                                         options_.repeats,
                                         ContenderName(cell.contender)));
        absl::StatusOr<TimedResult> sample =
            MeasureOnce(cell.contender, scenario, params, pools, simple.get());
        if (sample.ok()) {
          cell.samples.push_back(*sample);
        } else {
          cell.error = std::string(sample.status().message());
          cell.samples.clear();
        }
      }
    }
    for (const auto& [id, pool] : pools) {
      absl::Status destroyed = DestroyPool(pool);
      if (!destroyed.ok()) {
        std::fprintf(progress_, "\npoolbench: %s pool not destroyed: %s\n",
                     ContenderName(id).data(),
                     std::string(destroyed.message()).c_str());
      }
    }
  }

  // A fresh pool grows to what the scenario needs at its peak, and with
  // more threads than CPUs that peak keeps rising for a while (how far a
  // producer gets ahead of a descheduled consumer is the scheduler's
  // choice): measured on 8 threads handing 48 KiB objects over, a pool grew
  // from 324 to 1075 objects over the five repeats, allocations only, never
  // a release. The OS-call column is meant to show the steady state, so
  // each poolkit strategy that keeps spares first runs the scenario untimed
  // until a whole window passes without an OS call (at most
  // kMaxSettlingWindows); the repeats then measure the settled pool. simple
  // needs none (prefilled), `none` keeps nothing, the peers count no calls.
  void Settle(const std::string& step, const Scenario& scenario,
              const TimingParams& params,
              const std::map<ContenderId, Pool*>& pools,
              ScenarioResult* result) {
    for (Cell& cell : result->cells) {
      if (!IsPoolkit(cell.contender) || cell.contender == ContenderId::kNone ||
          !cell.error.empty()) {
        continue;
      }
      while (cell.settling_windows < kMaxSettlingWindows && !cell.settled) {
        ShowStatus(step, absl::StrFormat("settling %s, window %d",
                                         ContenderName(cell.contender),
                                         cell.settling_windows + 1));
        absl::StatusOr<TimedResult> sample =
            MeasureOnce(cell.contender, scenario, params, pools, nullptr);
        if (!sample.ok()) {
          cell.error = std::string(sample.status().message());
          break;
        }
        ++cell.settling_windows;
        cell.settled = sample->os_calls_per_op == 0;
      }
    }
  }

  absl::StatusOr<TimedResult> MeasureOnce(
      ContenderId id, const Scenario& scenario, const TimingParams& params,
      const std::map<ContenderId, Pool*>& pools, SpinlockFreeList* simple) {
    if (IsPoolkit(id)) {
      return MeasureTimed(scenario, params, PoolUnderTest(pools.at(id)));
    }
    if (id == ContenderId::kSimple) {
      return MeasureTimed(scenario, params, SimpleUnderTest(simple));
    }
    if (!IsPeer(id)) {
      return MeasureTimed(scenario, params,
                          MallocUnderTest(scenario.object_size));
    }
    absl::StatusOr<WorkerProcess*> worker = PeerWorker(id);
    if (!worker.ok()) return worker.status();
    return (*worker)->Measure(scenario, params);
  }

  void RunSpike(const std::string& step, const std::vector<ContenderId>& ready,
                ScenarioResult* result) {
    for (ContenderId id : ready) {
      ShowStatus(step, std::string(ContenderName(id)));
      Cell cell;
      cell.contender = id;
      // A fresh process each: what earlier scenarios left in a heap must
      // not count as this spike's memory.
      const ContenderReport* contender = report_.FindContender(id);
      absl::StatusOr<std::unique_ptr<WorkerProcess>> worker =
          WorkerProcess::Start(id, contender->library);
      absl::StatusOr<SpikeResult> spike =
          worker.ok() ? (*worker)->Spike(result->scenario, options_.spike_bytes,
                                         options_.spike_cycles)
                      : absl::StatusOr<SpikeResult>(worker.status());
      if (spike.ok()) {
        cell.samples = spike->cycles;
        cell.has_memory = true;
        cell.rss_baseline_mib = spike->rss_baseline_mib;
        cell.rss_peak_mib = spike->rss_peak_mib;
        cell.rss_final_mib = spike->rss_final_mib;
        cell.release_ms = spike->release_ms;
      } else {
        cell.error = std::string(spike.status().message());
      }
      result->cells.push_back(cell);
    }
  }

  void PrintScenario(const std::string& step, const ScenarioResult& result,
                     double seconds_left) {
    std::vector<std::string> parts;
    for (const Cell& cell : result.cells) {
      std::string value;
      if (!cell.ok()) {
        value = "ERROR";
      } else {
        value = FormatNs(Summarize(cell).median_ns);
        if (cell.has_memory) {
          value += absl::StrFormat(" (%.1f MiB)", cell.rss_final_mib);
        }
      }
      parts.push_back(absl::StrCat(ContenderName(cell.contender), " ", value));
    }
    std::fprintf(progress_, "%s%s: %s ns/op%s; %s elapsed, about %s left%s\n",
                 tty_ ? "\r" : "", step.c_str(),
                 absl::StrJoin(parts, ", ").c_str(),
                 result.scenario.pattern == Pattern::kSpike
                     ? " (MiB resident after release)"
                     : "",
                 FormatDuration(SecondsSince(start_)).c_str(),
                 FormatDuration(seconds_left).c_str(), tty_ ? "\033[K" : "");
    for (const Cell& cell : result.cells) {
      if (!cell.error.empty()) {
        std::fprintf(progress_, "poolbench: %s, %s: %s\n",
                     ScenarioLabel(result.scenario).c_str(),
                     ContenderName(cell.contender).data(), cell.error.c_str());
      }
    }
    std::fflush(progress_);
  }

  const Options& options_;
  std::FILE* progress_;
  const bool tty_;
  std::chrono::steady_clock::time_point start_;
  Report report_;
  // The peers' long-lived workers, for the timed patterns.
  std::map<ContenderId, std::unique_ptr<WorkerProcess>> workers_;
};

std::string IsoDate() {
  time_t now = time(nullptr);
  tm local;
  localtime_r(&now, &local);
  char text[64];
  std::size_t length =
      strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S%z", &local);
  std::string date(text, length);
  // +0100 -> +01:00, as Google Benchmark writes it.
  if (date.size() >= 5) date.insert(date.size() - 2, ":");
  return date;
}

double CpuMhz() {
  std::FILE* file = std::fopen("/proc/cpuinfo", "r");
  if (file == nullptr) return 0;
  char line[512];
  double mhz = 0;
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    if (std::sscanf(line, "cpu MHz : %lf", &mhz) == 1) break;
  }
  std::fclose(file);
  return mhz;
}

}  // namespace

RunContext DescribeRun() {
  RunContext context;
  context.date = IsoDate();
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) context.host_name = host;
  char executable[4096];
  ssize_t length =
      readlink("/proc/self/exe", executable, sizeof(executable) - 1);
  if (length > 0) context.executable.assign(executable, length);
  context.num_cpus = CurrentEnvironment().num_cpus;
  context.mhz_per_cpu = CpuMhz();
  // What matters is whether poolkit's inline fast path was optimised (the
  // peers always are): -c opt defines both.
#if defined(__OPTIMIZE__) && defined(NDEBUG)
  context.build_type = "release";
#else
  context.build_type = "debug";
#endif
  return context;
}

Report RunPoolbench(const Options& options, std::FILE* progress) {
  Runner runner(options, progress);
  return runner.Run();
}

}  // namespace poolkit::poolbench
