// poolbench: how much faster and leaner than what a user has now is
// poolkit, for their object sizes, thread counts and allocation patterns,
// on their machine? One command, one run:
//
//   tools/bazelw run -c opt //tools:poolbench -- --quick
//
// measures poolkit's four shared-cache strategies (and xchg on the span
// backing), simple (a free list
// behind one spinlock: the floor of a shared path), glibc's malloc and
// (LD_PRELOADed into child processes) jemalloc, tcmalloc and mimalloc,
// prints tables (stdout), and writes Google Benchmark JSON and an SVG chart.
// `poolbench --help` documents the options, the patterns and how each
// number is measured (tools/poolbench/options.cc, Usage()).
//
// Files: options (command line), scenarios (the matrix), contenders (the
// allocators: finding, identifying, releasing memory), allocators (the
// allocator-under-test types the loops are templated on), spinlock_free_list
// (the simple contender), threads (clocks, pinning, the per-thread heap
// anchor), measure (the timed patterns), spike (the spike pattern and
// resident memory), worker (child processes and their protocol), driver
// (the run and its progress), results (the model the writers read),
// report_table / report_json / report_svg (the outputs).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/poolbench/contenders.h"
#include "tools/poolbench/driver.h"
#include "tools/poolbench/options.h"
#include "tools/poolbench/report_json.h"
#include "tools/poolbench/report_svg.h"
#include "tools/poolbench/report_table.h"
#include "tools/poolbench/results.h"
#include "tools/poolbench/threads.h"
#include "tools/poolbench/worker.h"

namespace poolkit::poolbench {
namespace {

bool WriteFile(const std::string& path, const std::string& contents) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    std::fprintf(stderr, "poolbench: cannot write %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return false;
  }
  bool ok =
      std::fwrite(contents.data(), 1, contents.size(), file) == contents.size();
  ok = std::fclose(file) == 0 && ok;
  if (!ok) {
    std::fprintf(stderr, "poolbench: error writing %s: %s\n", path.c_str(),
                 std::strerror(errno));
  }
  return ok;
}

// Whether `path` can be written: checked before a run of minutes, not after.
bool CanWrite(const std::string& path) {
  std::string directory = path.substr(0, path.rfind('/'));
  if (directory.empty()) directory = "/";
  if (access(directory.c_str(), W_OK) == 0) return true;
  std::fprintf(stderr, "poolbench: cannot write %s: %s: %s\n", path.c_str(),
               directory.c_str(), std::strerror(errno));
  return false;
}

int Main(int argc, char** argv) {
  // Before any thread exists: threads are pinned within this set.
  RecordAllowedCpus();
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<Options> options = ParseOptions(args, CurrentEnvironment());
  if (!options.ok()) {
    std::fprintf(stderr, "poolbench: %s\n\n%s",
                 std::string(options.status().message()).c_str(),
                 Usage().c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(Usage().c_str(), stdout);
    return 0;
  }
  if (options->worker) return RunWorker(*options);
  if (!options->check_contenders &&
      !(CanWrite(options->json_path) && CanWrite(options->svg_path))) {
    return 2;
  }

  Report report = RunPoolbench(*options, stderr);
  std::fputs(FormatTables(report).c_str(), stdout);
  std::fflush(stdout);
  bool written = true;
  if (!options->check_contenders) {
    written = WriteFile(options->json_path, FormatJson(report)) && written;
    written = WriteFile(options->svg_path, FormatSvg(report)) && written;
    if (written) {
      std::fprintf(stderr, "poolbench: wrote %s and %s (%.0f s)\n",
                   options->json_path.c_str(), options->svg_path.c_str(),
                   report.context.elapsed_seconds);
    }
  }
  bool complete = report.Complete();
  for (const ContenderReport& contender : report.contenders) {
    if (contender.status == ContenderStatus::kOk) continue;
    std::fprintf(
        stderr, "poolbench: %s %s: %s\n", ContenderName(contender.id).data(),
        contender.status == ContenderStatus::kMissing ? "MISSING" : "FAILED",
        contender.problem.c_str());
  }
  if (!complete) {
    std::fprintf(stderr,
                 "poolbench: incomplete: not every contender ran every "
                 "scenario (see above); exit status 1\n");
  }
  return complete && written ? 0 : 1;
}

}  // namespace
}  // namespace poolkit::poolbench

int main(int argc, char** argv) { return poolkit::poolbench::Main(argc, argv); }
