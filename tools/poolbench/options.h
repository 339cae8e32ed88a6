// poolbench's command line: the options, their defaults, and the usage
// text (which is also the tool's documentation: see Usage()).
//
// Why not Abseil's flags, as poolstress uses: ParseOptions() is a pure
// function of the arguments and an environment (the CPU count, the working
// directory) that returns a Status naming the option at fault, so
// options_test.cc checks every default, rule and message in one process.
// absl::ParseCommandLine() keeps flags in globals and exits the process on
// an error, and the defaults here depend on other options (--quick changes
// repeats, times, spikes and thread counts unless they are given), which
// flags with fixed defaults cannot express without this same logic after
// parsing. What is hand-written is only the loop over the arguments; the
// value parsers (sizes with K/M/G, thread counts with N and 4N, contender
// and pattern names) would be needed as AbslParseFlag() overloads anyway.
#ifndef POOLKIT_TOOLS_POOLBENCH_OPTIONS_H_
#define POOLKIT_TOOLS_POOLBENCH_OPTIONS_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/poolbench/contenders.h"
#include "tools/poolbench/scenarios.h"

namespace poolkit::poolbench {

// The default (full) matrix and --quick differ in how long each
// measurement runs, how often it is repeated, the size and number of
// spikes, and the thread counts: the full matrix adds 4N (oversubscribed:
// four threads per CPU) to 1, 2, N.
inline constexpr int kFullRepeats = 5;
inline constexpr double kFullMinTimeSeconds = 0.1;
inline constexpr std::size_t kFullSpikeMiB = 256;
inline constexpr int kFullSpikeCycles = 3;
inline constexpr int kQuickRepeats = 3;
inline constexpr double kQuickMinTimeSeconds = 0.04;
inline constexpr std::size_t kQuickSpikeMiB = 64;
inline constexpr int kQuickSpikeCycles = 1;

struct Options {
  bool help = false;
  bool quick = false;
  // --check-contenders: identify the contenders, print their versions, exit.
  bool check_contenders = false;
  std::vector<std::size_t> sizes;  // ascending, no duplicates
  std::vector<int> threads;        // ascending, no duplicates
  // Objects per batch for the batch pattern (each capped so that one
  // thread's batch holds at most 32 MiB); ascending, no duplicates.
  std::vector<std::size_t> batches;
  std::vector<Pattern> patterns;        // in AllPatterns() order
  std::vector<ContenderId> contenders;  // in AllContenders() order
  int repeats = 0;
  double min_time_seconds = 0;
  std::size_t spike_bytes = 0;
  // Spike cycles per fresh process (each allocates and frees spike_bytes).
  int spike_cycles = 0;
  // Absolute paths.
  std::string json_path;
  std::string svg_path;
  // --peer-library=NAME=PATH, in command-line order (a later one wins).
  std::vector<std::pair<ContenderId, std::string>> peer_libraries;

  // Internal: set in the worker processes poolbench starts for itself.
  bool worker = false;
  ContenderId worker_contender = ContenderId::kGlibc;
  std::string worker_library;
};

// What the defaults depend on, passed in so that tests can fix it.
struct ParseEnvironment {
  // CPUs this process may run on: the "N" of --threads and of the default
  // thread counts.
  int num_cpus = 1;
  // Where default output files go and relative paths start: the directory
  // `bazel run` was started from ($BUILD_WORKING_DIRECTORY), else the
  // current directory.
  std::string working_directory = ".";
};

ParseEnvironment CurrentEnvironment();

// `args` excludes the program name. Errors are InvalidArgument with a
// message that names the option (or argument) at fault; the caller prints
// it with Usage() and exits 2.
absl::StatusOr<Options> ParseOptions(const std::vector<std::string>& args,
                                     const ParseEnvironment& environment);

// The --help text.
std::string Usage();

// "64,1K,16K" style parsing, exposed for tests. Sizes: a number of bytes
// with an optional K, M or G suffix (powers of 1024; "KiB", "MiB", "GiB"
// and a trailing "B" are accepted too).
bool ParseSize(const std::string& text, std::size_t* bytes);

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_OPTIONS_H_
