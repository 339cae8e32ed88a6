// Worker processes: poolbench started again as `poolbench --worker=NAME`,
// to measure an allocator that must own the whole process (a peer
// LD_PRELOADed in place of malloc) or that needs a fresh one (the spike).
//
// The protocol is one tab-separated line each way. The worker first checks
// what serves malloc in its process and greets:
//   ready <TAB> VERSION <TAB> MALLOC_FROM          it is the allocator asked
//   for missing <TAB> PROBLEM                           it is not (exits 3)
// then answers commands read from stdin until end of file:
//   measure PATTERN SIZE THREADS BATCH WARMUP_S MIN_TIME_S
//       (BATCH: objects per batch; 0 for the other patterns)
//       -> ok ns=.. cpu=.. ops=.. os=..
//   spike SIZE THREADS BYTES CYCLES
//       -> ok cycles=NS:CPU:OPS,... baseline=.. peak=.. final=.. release_ms=..
//   (either) -> error <TAB> MESSAGE
#ifndef POOLKIT_TOOLS_POOLBENCH_WORKER_H_
#define POOLKIT_TOOLS_POOLBENCH_WORKER_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/poolbench/contenders.h"
#include "tools/poolbench/measure.h"
#include "tools/poolbench/options.h"
#include "tools/poolbench/scenarios.h"
#include "tools/poolbench/spike.h"

namespace poolkit::poolbench {

// The worker's side: identifies malloc, greets, serves commands. Returns
// the process's exit status.
int RunWorker(const Options& options);

// The parent's side: one worker process.
class WorkerProcess {
 public:
  // Starts a worker for `id`. For a peer, `library` is LD_PRELOADed and the
  // worker checks that malloc comes from it; for the others LD_PRELOAD is
  // removed from the worker's environment. NotFound: the worker answered
  // `missing` (its message says why); other errors: it could not start or
  // died.
  static absl::StatusOr<std::unique_ptr<WorkerProcess>> Start(
      ContenderId id, const std::string& library);

  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;
  // Closes the worker's stdin (it exits) and waits for it.
  ~WorkerProcess();

  const std::string& version() const { return version_; }
  const std::string& malloc_from() const { return malloc_from_; }
  // False once the worker has died; it must then be started again.
  bool alive() const { return alive_; }

  absl::StatusOr<TimedResult> Measure(const Scenario& scenario,
                                      const TimingParams& params);
  absl::StatusOr<SpikeResult> Spike(const Scenario& scenario,
                                    std::size_t spike_bytes, int cycles);

 private:
  WorkerProcess() = default;
  // Sends one command line and reads the answer's line.
  absl::StatusOr<std::string> Exchange(const std::string& command);
  absl::StatusOr<std::string> ReadLine();
  // Why the worker stopped answering (its exit status), and marks it dead.
  absl::Status Died(const std::string& what);

  ContenderId id_ = ContenderId::kGlibc;
  pid_t pid_ = -1;
  int command_fd_ = -1;           // the worker's stdin
  std::FILE* answers_ = nullptr;  // the worker's stdout
  bool alive_ = false;
  std::string version_;
  std::string malloc_from_;
};

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_WORKER_H_
