#include "tools/poolbench/options.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "pool/pool_options.h"

namespace poolkit::poolbench {
namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr int kMaxThreads = 1024;
// Objects per batch: a typo guard (the 32 MiB cap bounds what runs).
constexpr std::size_t kMaxBatch = std::size_t{1} << 20;
constexpr int kMaxRepeats = 1000;
constexpr double kMaxMinTimeSeconds = 60;
constexpr std::size_t kMaxSpikeMiB = 1 << 20;  // 1 TiB: a typo guard

absl::Status Error(absl::string_view option, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(option, ": ", problem));
}

// Splits "a,b,c"; an empty list or an empty item is an error.
absl::StatusOr<std::vector<std::string>> SplitList(absl::string_view option,
                                                   absl::string_view value) {
  std::vector<std::string> items = absl::StrSplit(value, ',');
  for (const std::string& item : items) {
    if (item.empty()) {
      return Error(option, absl::StrCat("empty item in '", value, "'"));
    }
  }
  return items;
}

std::string Absolute(const std::string& path, const std::string& directory) {
  if (!path.empty() && path[0] == '/') return path;
  return absl::StrCat(directory, "/", path);
}

absl::Status ParseSizes(absl::string_view value, Options* options) {
  absl::StatusOr<std::vector<std::string>> items = SplitList("--sizes", value);
  if (!items.ok()) return items.status();
  options->sizes.clear();
  for (const std::string& item : *items) {
    std::size_t bytes = 0;
    if (!ParseSize(item, &bytes)) {
      return Error("--sizes",
                   absl::StrFormat("'%s' is not a size (bytes, with an "
                                   "optional K, M or G suffix)",
                                   item));
    }
    // Objects hold a pointer: the spike chains them through their first
    // word, and the touch marks their first and last ones.
    if (bytes < sizeof(void*) || bytes > kMaxObjectSize) {
      return Error("--sizes", absl::StrFormat("'%s' is out of range (%d bytes "
                                              "to 1G)",
                                              item, sizeof(void*)));
    }
    options->sizes.push_back(bytes);
  }
  return absl::OkStatus();
}

absl::Status ParseThreads(absl::string_view value, int num_cpus,
                          Options* options) {
  absl::StatusOr<std::vector<std::string>> items =
      SplitList("--threads", value);
  if (!items.ok()) return items.status();
  options->threads.clear();
  for (const std::string& item : *items) {
    int count = 0;
    if (item == "cores") {
      count = num_cpus;
    } else if (absl::EndsWithIgnoreCase(item, "n")) {
      // "N", or "4N": a multiple of the number of CPUs.
      absl::string_view factor(item.data(), item.size() - 1);
      int multiple = 1;
      if (factor.empty() || (absl::SimpleAtoi(factor, &multiple) &&
                             multiple >= 1 && multiple <= kMaxThreads)) {
        count = multiple * num_cpus;
      }
    } else if (!absl::SimpleAtoi(item, &count)) {
      count = 0;
    }
    if (count < 1 || count > kMaxThreads) {
      return Error("--threads",
                   absl::StrFormat("'%s' is not a thread count (1 to %d, or "
                                   "N for the number of CPUs, 4N for four "
                                   "times that)",
                                   item, kMaxThreads));
    }
    options->threads.push_back(count);
  }
  return absl::OkStatus();
}

absl::Status ParseBatches(absl::string_view value, Options* options) {
  absl::StatusOr<std::vector<std::string>> items = SplitList("--batch", value);
  if (!items.ok()) return items.status();
  options->batches.clear();
  for (const std::string& item : *items) {
    std::size_t objects = 0;
    if (!absl::SimpleAtoi(item, &objects) || objects < 1 ||
        objects > kMaxBatch) {
      return Error("--batch",
                   absl::StrFormat("'%s' is not a batch size (1 to %d "
                                   "objects)",
                                   item, kMaxBatch));
    }
    options->batches.push_back(objects);
  }
  return absl::OkStatus();
}

absl::Status ParsePatterns(absl::string_view value, Options* options) {
  absl::StatusOr<std::vector<std::string>> items =
      SplitList("--patterns", value);
  if (!items.ok()) return items.status();
  std::vector<bool> wanted(kNumPatterns, false);
  for (const std::string& item : *items) {
    Pattern pattern;
    if (!ParsePattern(item, &pattern)) {
      return Error("--patterns",
                   absl::StrFormat("unknown pattern '%s' (hot, batch, cross, "
                                   "spike)",
                                   item));
    }
    wanted[static_cast<int>(pattern)] = true;
  }
  options->patterns.clear();
  for (Pattern pattern : AllPatterns()) {
    if (wanted[static_cast<int>(pattern)]) options->patterns.push_back(pattern);
  }
  return absl::OkStatus();
}

absl::Status ParseContenders(absl::string_view value, Options* options) {
  absl::StatusOr<std::vector<std::string>> items =
      SplitList("--contenders", value);
  if (!items.ok()) return items.status();
  std::vector<bool> wanted(kNumContenders, false);
  for (const std::string& item : *items) {
    ContenderId id;
    if (item == "all" || item == "poolkit" || item == "peers") {
      for (ContenderId candidate : AllContenders()) {
        if (item == "all" || (item == "poolkit" && IsPoolkit(candidate)) ||
            (item == "peers" && IsPeer(candidate))) {
          wanted[static_cast<int>(candidate)] = true;
        }
      }
    } else if (ParseContender(item, &id)) {
      wanted[static_cast<int>(id)] = true;
    } else {
      return Error("--contenders",
                   absl::StrFormat("unknown contender '%s' (spinlock, dwcas, "
                                   "xchg, none, simple, glibc, jemalloc, "
                                   "tcmalloc, mimalloc; poolkit, peers, all)",
                                   item));
    }
  }
  options->contenders.clear();
  for (ContenderId id : AllContenders()) {
    if (wanted[static_cast<int>(id)]) options->contenders.push_back(id);
  }
  return absl::OkStatus();
}

absl::Status ParsePeerLibrary(absl::string_view value,
                              const std::string& directory, Options* options) {
  std::size_t equals = value.find('=');
  ContenderId id;
  if (equals == absl::string_view::npos || equals + 1 == value.size() ||
      !ParseContender(value.substr(0, equals), &id) || !IsPeer(id)) {
    return Error("--peer-library",
                 absl::StrFormat("'%s' is not NAME=PATH with NAME one of "
                                 "jemalloc, tcmalloc, mimalloc",
                                 value));
  }
  options->peer_libraries.emplace_back(
      id, Absolute(std::string(value.substr(equals + 1)), directory));
  return absl::OkStatus();
}

template <typename T>
void SortUnique(std::vector<T>* values) {
  std::sort(values->begin(), values->end());
  values->erase(std::unique(values->begin(), values->end()), values->end());
}

}  // namespace

bool ParseSize(const std::string& text, std::size_t* bytes) {
  std::size_t digits = 0;
  while (digits < text.size() &&
         std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  std::uint64_t number = 0;
  if (digits == 0 || digits > 12 ||
      !absl::SimpleAtoi(text.substr(0, digits), &number)) {
    return false;
  }
  std::string suffix = absl::AsciiStrToLower(text.substr(digits));
  int shift = 0;
  if (suffix == "" || suffix == "b") {
    shift = 0;
  } else if (suffix == "k" || suffix == "kib") {
    shift = 10;
  } else if (suffix == "m" || suffix == "mib") {
    shift = 20;
  } else if (suffix == "g" || suffix == "gib") {
    shift = 30;
  } else {
    return false;
  }
  if (number > (std::numeric_limits<std::size_t>::max() >> shift)) {
    return false;
  }
  *bytes = static_cast<std::size_t>(number) << shift;
  return true;
}

ParseEnvironment CurrentEnvironment() {
  ParseEnvironment environment;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
    environment.num_cpus = std::max(1, CPU_COUNT(&allowed));
  } else {
    environment.num_cpus =
        std::max(1L, static_cast<long>(sysconf(_SC_NPROCESSORS_ONLN)));
  }
  const char* bazel_directory = std::getenv("BUILD_WORKING_DIRECTORY");
  if (bazel_directory != nullptr && bazel_directory[0] == '/') {
    environment.working_directory = bazel_directory;
  } else {
    char* current = getcwd(nullptr, 0);
    if (current != nullptr) {
      environment.working_directory = current;
      std::free(current);
    }
  }
  return environment;
}

absl::StatusOr<Options> ParseOptions(const std::vector<std::string>& args,
                                     const ParseEnvironment& environment) {
  Options options;
  bool full = false;
  int repeats = 0;
  double min_time = 0;
  std::size_t spike_mib = 0;
  int spike_cycles = 0;
  bool sizes_set = false;
  bool threads_set = false;
  bool batches_set = false;
  bool patterns_set = false;
  bool contenders_set = false;
  bool svg_set = false;

  for (const std::string& arg : args) {
    if (!absl::StartsWith(arg, "-")) {
      return absl::InvalidArgumentError(
          absl::StrFormat("unexpected argument '%s' (options only)", arg));
    }
    std::size_t equals = arg.find('=');
    std::string name = arg.substr(0, equals);
    bool has_value = equals != std::string::npos;
    std::string value = has_value ? arg.substr(equals + 1) : "";

    // Flags take no value; every other option needs one, written with '='.
    bool is_flag = name == "--help" || name == "-h" || name == "--quick" ||
                   name == "--full" || name == "--check-contenders";
    if (is_flag && has_value) return Error(name, "takes no value");

    absl::Status status = absl::OkStatus();
    if (name == "--help" || name == "-h") {
      options.help = true;
    } else if (name == "--quick") {
      options.quick = true;
    } else if (name == "--full") {
      full = true;
    } else if (name == "--check-contenders") {
      options.check_contenders = true;
    } else if (name == "--sizes" || name == "--threads" || name == "--batch" ||
               name == "--patterns" || name == "--contenders" ||
               name == "--repeats" || name == "--min-time" ||
               name == "--spike-mib" || name == "--spike-cycles" ||
               name == "--json" || name == "--svg" ||
               name == "--peer-library" || name == "--worker" ||
               name == "--worker-library") {
      if (!has_value) {
        return Error(name, absl::StrFormat("needs a value (%s=...)", name));
      }
      if (name == "--sizes") {
        status = ParseSizes(value, &options);
        sizes_set = true;
      } else if (name == "--threads") {
        status = ParseThreads(value, environment.num_cpus, &options);
        threads_set = true;
      } else if (name == "--batch") {
        status = ParseBatches(value, &options);
        batches_set = true;
      } else if (name == "--patterns") {
        status = ParsePatterns(value, &options);
        patterns_set = true;
      } else if (name == "--contenders") {
        status = ParseContenders(value, &options);
        contenders_set = true;
      } else if (name == "--repeats") {
        if (!absl::SimpleAtoi(value, &repeats) || repeats < 1 ||
            repeats > kMaxRepeats) {
          status = Error(name, absl::StrFormat("'%s' is not a count (1 to %d)",
                                               value, kMaxRepeats));
        }
      } else if (name == "--min-time") {
        if (!absl::SimpleAtod(value, &min_time) || !(min_time > 0) ||
            min_time > kMaxMinTimeSeconds) {
          status = Error(name, absl::StrFormat("'%s' is not a time in seconds "
                                               "(above 0, at most %g)",
                                               value, kMaxMinTimeSeconds));
        }
      } else if (name == "--spike-mib") {
        if (!absl::SimpleAtoi(value, &spike_mib) || spike_mib < 1 ||
            spike_mib > kMaxSpikeMiB) {
          status = Error(name,
                         absl::StrFormat("'%s' is not a number of MiB", value));
        }
      } else if (name == "--spike-cycles") {
        if (!absl::SimpleAtoi(value, &spike_cycles) || spike_cycles < 1 ||
            spike_cycles > kMaxRepeats) {
          status = Error(name, absl::StrFormat("'%s' is not a count (1 to %d)",
                                               value, kMaxRepeats));
        }
      } else if (name == "--json" || name == "--svg") {
        if (value.empty()) {
          status = Error(name, "needs a path");
        } else if (name == "--json") {
          options.json_path = Absolute(value, environment.working_directory);
        } else {
          options.svg_path = Absolute(value, environment.working_directory);
          svg_set = true;
        }
      } else if (name == "--peer-library") {
        status =
            ParsePeerLibrary(value, environment.working_directory, &options);
      } else if (name == "--worker") {
        options.worker = true;
        if (!ParseContender(value, &options.worker_contender)) {
          status =
              Error(name, absl::StrFormat("unknown contender '%s'", value));
        }
      } else {
        options.worker_library = value;
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown option '%s'", arg));
    }
    if (!status.ok()) return status;
  }

  if (options.quick && full) {
    return absl::InvalidArgumentError("--quick and --full exclude each other");
  }
  if (!sizes_set) options.sizes = {64, 1024, 16 * 1024, 48 * 1024, 2 * kMiB};
  if (!threads_set) {
    const int n = environment.num_cpus;
    options.threads = {1, 2, n};
    // Oversubscribed, four threads per CPU: what a server with more
    // threads than cores does to a shared path (a lock holder preempted).
    // Left out of --quick, which stays at about a minute.
    if (!options.quick) options.threads.push_back(std::min(4 * n, kMaxThreads));
  }
  if (!batches_set) options.batches = {64, 1000};
  if (!patterns_set) options.patterns = AllPatterns();
  if (!contenders_set) options.contenders = AllContenders();
  SortUnique(&options.sizes);
  SortUnique(&options.threads);
  SortUnique(&options.batches);
  options.repeats =
      repeats > 0 ? repeats : (options.quick ? kQuickRepeats : kFullRepeats);
  options.min_time_seconds =
      min_time > 0
          ? min_time
          : (options.quick ? kQuickMinTimeSeconds : kFullMinTimeSeconds);
  options.spike_bytes =
      (spike_mib > 0 ? spike_mib
                     : (options.quick ? kQuickSpikeMiB : kFullSpikeMiB)) *
      kMiB;
  options.spike_cycles =
      spike_cycles > 0 ? spike_cycles
                       : (options.quick ? kQuickSpikeCycles : kFullSpikeCycles);
  if (options.json_path.empty()) {
    options.json_path =
        Absolute("poolbench.json", environment.working_directory);
  }
  if (!svg_set) {
    std::string stem = options.json_path;
    if (absl::EndsWith(stem, ".json")) stem.resize(stem.size() - 5);
    options.svg_path = stem + ".svg";
  }
  return options;
}

std::string Usage() {
  return absl::StrFormat(
      R"(Usage: poolbench [OPTION]...
       tools/bazelw run -c opt //tools:poolbench -- [OPTION]...

Compares poolkit's shared-cache strategies (spinlock, dwcas, xchg, none; all
on the malloc backing) and xchg on the span backing (xchg-spans) with the floor of a shared path (simple: a prefilled free list behind one spinlock)
and with the allocators a user would pick instead: glibc's malloc, jemalloc,
tcmalloc and mimalloc (Debian's packages). One run measures, for every object
size, thread count and allocation pattern, the nanoseconds per alloc+free pair
of every contender, and the resident memory each keeps after a load spike.

Matrix
  --quick              %d repeats of %g s, %d spike of %d MiB, threads 1,2,N:
                       about a minute on 2 cores
  --full               %d repeats of %g s, %d spikes of %d MiB, threads
                       1,2,N,4N (the default)
  --sizes=LIST         object sizes in bytes (8 to 1G); suffixes K, M, G
                       (powers of 1024). Default 64,1K,16K,48K,2M
  --threads=LIST       thread counts; N = the CPUs poolbench may run on, 4N
                       four times that (oversubscribed). Default 1,2,N,4N
                       (--quick: 1,2,N)
  --batch=LIST         objects per batch in the batch pattern, each capped
                       so that one thread's batch holds at most 32 MiB
                       (2 MiB objects: 16). Default 64,1000
  --patterns=LIST      hot,batch,cross,spike (default: all)
  --contenders=LIST    spinlock,dwcas,xchg,xchg-spans,none,simple,glibc,
                       jemalloc,tcmalloc,mimalloc, or the groups poolkit,
                       peers, all
                       (default)
  --repeats=N          measurements per scenario and contender; the median
                       is reported, with the spread
  --min-time=SECONDS   measured time of one measurement (after a warm-up of
                       half as long, 1 ms to 100 ms)
  --spike-mib=N        memory the spike pattern allocates
  --spike-cycles=N     spikes per fresh process (the median time is
                       reported; memory after the last one)

Output
  --json=PATH          Google Benchmark JSON (default: poolbench.json in the
                       directory `bazel run` was started from, else in the
                       current one; relative paths start there too)
  --svg=PATH           chart (default: the JSON path ending in .svg)

Contenders
  --peer-library=NAME=PATH
                       the library to LD_PRELOAD for NAME (jemalloc, tcmalloc
                       or mimalloc). Default: libjemalloc.so.2,
                       libtcmalloc_minimal.so.4 (or libtcmalloc.so.4),
                       libmimalloc.so.2, in the directory of the running C
                       library, /usr/lib/<multiarch>, /usr/lib64, /usr/lib,
                       /usr/local/lib
  --check-contenders   only check that each contender is there and really
                       serves malloc; print the versions and exit
  --help               this text

Patterns (one operation = one alloc+free pair)
  hot     each thread: alloc, touch, free, again and again
  batch   each thread: alloc --batch objects (fewer past 32 MiB a batch:
          16 of 2 MiB), touching each, then free them in allocation order;
          one table section and one chart column per batch size ("batch
          x64", "batch x1000")
  cross   threads/2 producer+consumer pairs (1 thread: not run; odd counts
          round down); producers alloc and touch, and hand objects through
          a bounded ring (256 slots, or the power of two that keeps it within
          32 MiB, at least 4) to consumers, which read and free them. Time
          is per object per pair
  spike   in a fresh process per contender: the threads allocate the spike
          volume between them, touching every page, free it all, and ask
          the allocator to give memory back; resident memory (RSS) is read
          before, at the peak (VmHWM) and after. --spike-cycles redo the
          cycle in the same process; RSS "after" is the last cycle's

How it measures
  "Touch" writes an object's first and last words (spike: every page), so
  that lazy allocators pay their page faults as a user would. Threads are
  pinned to CPUs (thread i on the i-th allowed CPU, modulo their number).
  A measurement warms up, then each thread counts its operations and its
  time between two signals --min-time apart (a thread the OS did not run
  extends the warm-up and the window until it has a count); ns/op is the
  threads' summed time over their summed operations (= wall time x threads
  / pairs).
  Every measuring thread is fresh, and holds one 64-byte object from plain
  malloc while it lives: without another live allocation a per-thread heap
  (mimalloc's) frees and rebuilds its segment on every free of a large
  object, which no thread of a real program does.
  Measurements are interleaved: repeat 1 of every contender, then repeat 2.
  poolkit contenders get one pool per strategy and size (default options,
  kept for the scenario's repeats); their OS allocator calls per op come
  from Pool::Stats(). simple gets one list per scenario, prefilled from
  malloc before the measurements with what the scenario's threads hold at
  once plus 4 objects per thread (hot: 5 a thread; batch: a batch and 4 a
  thread; cross: a ring, 2 and 8 per pair; spike: none), and freed with
  everything on it at the end of the scenario; an alloc that finds the list
  empty mallocs and counts as an OS call. Releasing memory after a spike:
  poolkit::Gc({.trim_os = true}), malloc_trim(0) (glibc; simple, whose list
  keeps all it holds), jemalloc "arena.<all>.purge", tcmalloc
  MallocExtension_ReleaseFreeMemory(), mimalloc mi_collect(true).

  poolkit, simple and glibc run in this process. jemalloc, tcmalloc and
  mimalloc each replace malloc, so each runs in a child (poolbench
  --worker=NAME) with LD_PRELOAD=<its library>; the child checks that malloc
  really comes from that library and reads the allocator's version (mallctl
  "version", tc_version(), mi_version()). A contender that is not installed, or whose
  child cannot prove it, is reported MISSING with the package to install;
  nothing is skipped silently. Spikes always run in fresh children. Workers
  get poolbench's environment (MALLOC_CONF, TCMALLOC_*, MIMALLOC_* tune the
  peers) with LD_PRELOAD replaced.

Reading the results
  Progress on stderr. On stdout: the contenders and their versions, then per
  pattern a table of ns/op (median, +-half the min..max range as a percent
  of it) with each contender's ratio to the best poolkit strategy of that
  row (above 1: slower than poolkit's best), spike memory, the OS calls of
  poolkit and simple (simple's: above 0, its prefill was too small). JSON:
  Google Benchmark's format (context, benchmarks); one "iteration" entry per
  repeat and one "median" aggregate per scenario and contender, named
  PATTERN/CONTENDER/size:BYTES/threads:T, batch
  batch/CONTENDER/size:BYTES/batch:OBJECTS/threads:T (so that compare.py
  filters FILE hot/xchg hot/jemalloc works); extra fields spread_min,
  spread_max, ratio_to_best_poolkit, os_calls_per_op, batch_size and
  objects_per_batch (batch), rss_baseline_mib, rss_peak_mib, rss_final_mib.
  SVG: ns/op against object size (both log scales), one panel per pattern
  (batch: per batch size) and thread count, one line per contender, plus RSS
  after release for the spike.

Exit status: 0 when every contender ran every scenario; 1 when one is
missing or a measurement failed (the rest still runs and is reported);
2 for a bad command line or an output file that cannot be written (checked
before the run).
)",
      kQuickRepeats, kQuickMinTimeSeconds, kQuickSpikeCycles, kQuickSpikeMiB,
      kFullRepeats, kFullMinTimeSeconds, kFullSpikeCycles, kFullSpikeMiB);
}

}  // namespace poolkit::poolbench
