#include "tools/poolbench/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "pool/registry.h"
#include "tools/poolbench/allocators.h"
#include "tools/poolbench/measure.h"
#include "tools/poolbench/spike.h"
#include "tools/poolbench/spinlock_free_list.h"

extern char** environ;

namespace poolkit::poolbench {
namespace {

// Exit status of a worker that is not the allocator it was asked to be.
constexpr int kWorkerMissingExit = 3;

// Doubles travel as text with every digit, so the parent sees what the
// worker measured.
std::string Number(double value) { return absl::StrFormat("%.17g", value); }

std::string TimedFields(const TimedResult& result) {
  return absl::StrFormat("ns=%s\tcpu=%s\tops=%d\tos=%s",
                         Number(result.ns_per_op), Number(result.cpu_ns_per_op),
                         result.operations, Number(result.os_calls_per_op));
}

// "key=value" fields after the first; false on a malformed field.
bool ParseFields(const std::vector<absl::string_view>& parts,
                 std::vector<std::pair<std::string, std::string>>* fields) {
  for (std::size_t i = 1; i < parts.size(); ++i) {
    std::size_t equals = parts[i].find('=');
    if (equals == absl::string_view::npos) return false;
    fields->emplace_back(std::string(parts[i].substr(0, equals)),
                         std::string(parts[i].substr(equals + 1)));
  }
  return true;
}

bool FieldDouble(const std::vector<std::pair<std::string, std::string>>& fields,
                 absl::string_view key, double* value) {
  for (const auto& [name, text] : fields) {
    if (name == key) return absl::SimpleAtod(text, value);
  }
  return false;
}

bool ParseTimed(const std::vector<std::pair<std::string, std::string>>& fields,
                TimedResult* result) {
  double operations = 0;
  if (!FieldDouble(fields, "ns", &result->ns_per_op) ||
      !FieldDouble(fields, "cpu", &result->cpu_ns_per_op) ||
      !FieldDouble(fields, "ops", &operations) ||
      !FieldDouble(fields, "os", &result->os_calls_per_op)) {
    return false;
  }
  result->operations = static_cast<std::int64_t>(operations);
  return true;
}

// --- Worker side ---

void Answer(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::string ErrorAnswer(const absl::Status& status) {
  std::string message(status.message());
  for (char& c : message) {
    if (c == '\t' || c == '\n') c = ' ';
  }
  return absl::StrCat("error\t", message);
}

bool ParseScenario(absl::string_view pattern, absl::string_view size,
                   absl::string_view threads, Scenario* scenario) {
  return ParsePattern(pattern, &scenario->pattern) &&
         absl::SimpleAtoi(size, &scenario->object_size) &&
         absl::SimpleAtoi(threads, &scenario->threads) &&
         scenario->object_size > 0 && scenario->threads > 0;
}

std::string ServeMeasure(ContenderId id,
                         const std::vector<absl::string_view>& parts) {
  Scenario scenario;
  TimingParams params;
  if (parts.size() != 7 ||
      !ParseScenario(parts[1], parts[2], parts[3], &scenario) ||
      !absl::SimpleAtoi(parts[4], &scenario.batch) ||
      !absl::SimpleAtod(parts[5], &params.warmup_seconds) ||
      !absl::SimpleAtod(parts[6], &params.min_time_seconds)) {
    return "error\tmalformed measure command";
  }
  absl::StatusOr<TimedResult> result;
  if (IsPoolkit(id)) {
    absl::StatusOr<Pool*> pool = CreateBenchPool(id, scenario.object_size);
    if (!pool.ok()) return ErrorAnswer(pool.status());
    result = MeasureTimed(scenario, params, PoolUnderTest(*pool));
    DestroyPool(*pool).IgnoreError();  // a leftover pool harms nothing
  } else if (id == ContenderId::kSimple) {
    absl::StatusOr<std::unique_ptr<SpinlockFreeList>> list =
        CreateSimpleList(scenario);
    if (!list.ok()) return ErrorAnswer(list.status());
    result = MeasureTimed(scenario, params, SimpleUnderTest(list->get()));
  } else {
    result =
        MeasureTimed(scenario, params, MallocUnderTest(scenario.object_size));
  }
  if (!result.ok()) return ErrorAnswer(result.status());
  return absl::StrCat("ok\t", TimedFields(*result));
}

std::string ServeSpike(ContenderId id,
                       const std::vector<absl::string_view>& parts) {
  Scenario scenario;
  scenario.pattern = Pattern::kSpike;
  std::size_t bytes = 0;
  int cycles = 0;
  if (parts.size() != 5 ||
      !ParseScenario("spike", parts[1], parts[2], &scenario) ||
      !absl::SimpleAtoi(parts[3], &bytes) ||
      !absl::SimpleAtoi(parts[4], &cycles) || cycles < 1) {
    return "error\tmalformed spike command";
  }
  auto release = [id] { ReleaseFreeMemory(id); };
  absl::StatusOr<SpikeResult> result;
  if (IsPoolkit(id)) {
    // The pool stays: a server keeps its pools after a spike.
    absl::StatusOr<Pool*> pool = CreateBenchPool(id, scenario.object_size);
    if (!pool.ok()) return ErrorAnswer(pool.status());
    result =
        MeasureSpike(scenario, bytes, cycles, PoolUnderTest(*pool), release);
  } else if (id == ContenderId::kSimple) {
    // The list stays, holding what the spike freed, until RSS has been
    // read: a plain free list gives nothing back.
    absl::StatusOr<std::unique_ptr<SpinlockFreeList>> list =
        CreateSimpleList(scenario);
    if (!list.ok()) return ErrorAnswer(list.status());
    result = MeasureSpike(scenario, bytes, cycles, SimpleUnderTest(list->get()),
                          release);
  } else {
    result = MeasureSpike(scenario, bytes, cycles,
                          MallocUnderTest(scenario.object_size), release);
  }
  if (!result.ok()) return ErrorAnswer(result.status());
  std::vector<std::string> cycle_fields;
  for (const TimedResult& cycle : result->cycles) {
    cycle_fields.push_back(absl::StrFormat("%s:%s:%d", Number(cycle.ns_per_op),
                                           Number(cycle.cpu_ns_per_op),
                                           cycle.operations));
  }
  return absl::StrFormat(
      "ok\tcycles=%s\tbaseline=%s\tpeak=%s\tfinal=%s\trelease_ms=%s",
      absl::StrJoin(cycle_fields, ","), Number(result->rss_baseline_mib),
      Number(result->rss_peak_mib), Number(result->rss_final_mib),
      Number(result->release_ms));
}

// --- Parent side ---

// The environment for a worker: ours without LD_PRELOAD, plus the peer's.
std::vector<std::string> WorkerEnvironment(const std::string& preload) {
  std::vector<std::string> variables;
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (!absl::StartsWith(*variable, "LD_PRELOAD=")) {
      variables.push_back(*variable);
    }
  }
  if (!preload.empty()) variables.push_back("LD_PRELOAD=" + preload);
  return variables;
}

std::vector<char*> PointersTo(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

std::string SelfExecutable() {
  char path[4096];
  ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0) return "/proc/self/exe";
  path[length] = '\0';
  return path;
}

}  // namespace

int RunWorker(const Options& options) {
  const ContenderId id = options.worker_contender;
  MallocIdentity identity = IdentifyMalloc(id, options.worker_library);
  if (!identity.ok) {
    Answer(absl::StrCat("missing\t", identity.problem));
    return kWorkerMissingExit;
  }
  Answer(absl::StrCat("ready\t", identity.version, "\t", identity.malloc_from));
  char line[1024];
  while (std::fgets(line, sizeof(line), stdin) != nullptr) {
    absl::string_view command(line);
    if (absl::EndsWith(command, "\n")) command.remove_suffix(1);
    std::vector<absl::string_view> parts = absl::StrSplit(command, '\t');
    if (parts[0] == "measure") {
      Answer(ServeMeasure(id, parts));
    } else if (parts[0] == "spike") {
      Answer(ServeSpike(id, parts));
    } else {
      Answer(absl::StrCat("error\tunknown command '", parts[0], "'"));
    }
  }
  return 0;
}

absl::StatusOr<std::unique_ptr<WorkerProcess>> WorkerProcess::Start(
    ContenderId id, const std::string& library) {
  // The parent must survive a worker that dies with a command in flight.
  signal(SIGPIPE, SIG_IGN);
  int command_pipe[2];
  int answer_pipe[2];
  // Close-on-exec, so that no worker inherits another worker's pipes (a
  // worker would then never see end of file on its stdin).
  if (pipe2(command_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  if (pipe2(answer_pipe, O_CLOEXEC) != 0) {
    close(command_pipe[0]);
    close(command_pipe[1]);
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the new descriptors 0 and 1.
  posix_spawn_file_actions_adddup2(&actions, command_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, answer_pipe[1], 1);

  std::string executable = SelfExecutable();
  std::vector<std::string> args = {
      executable, absl::StrCat("--worker=", ContenderName(id))};
  if (IsPeer(id)) args.push_back(absl::StrCat("--worker-library=", library));
  std::vector<std::string> environment =
      WorkerEnvironment(IsPeer(id) ? library : "");
  std::vector<char*> argv = PointersTo(args);
  std::vector<char*> envp = PointersTo(environment);
  pid_t pid = -1;
  int spawn_error = posix_spawn(&pid, executable.c_str(), &actions, nullptr,
                                argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(command_pipe[0]);
  close(answer_pipe[1]);
  if (spawn_error != 0) {
    close(command_pipe[1]);
    close(answer_pipe[0]);
    return absl::InternalError(absl::StrFormat(
        "cannot start %s: %s", executable, std::strerror(spawn_error)));
  }

  std::unique_ptr<WorkerProcess> worker(new WorkerProcess());
  worker->id_ = id;
  worker->pid_ = pid;
  worker->command_fd_ = command_pipe[1];
  worker->answers_ = fdopen(answer_pipe[0], "r");
  worker->alive_ = true;
  if (worker->answers_ == nullptr) {
    close(answer_pipe[0]);
    return worker->Died("fdopen");
  }
  absl::StatusOr<std::string> greeting = worker->ReadLine();
  if (!greeting.ok()) return greeting.status();
  std::vector<std::string> parts = absl::StrSplit(*greeting, '\t');
  if (parts[0] == "missing" && parts.size() >= 2) {
    return absl::NotFoundError(parts[1]);
  }
  if (parts[0] != "ready" || parts.size() != 3) {
    return worker->Died(absl::StrCat("unexpected greeting '", *greeting, "'"));
  }
  worker->version_ = parts[1];
  worker->malloc_from_ = parts[2];
  return worker;
}

WorkerProcess::~WorkerProcess() {
  if (command_fd_ >= 0) close(command_fd_);
  if (answers_ != nullptr) std::fclose(answers_);
  if (pid_ > 0) {
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

absl::Status WorkerProcess::Died(const std::string& what) {
  alive_ = false;
  if (command_fd_ >= 0) {
    close(command_fd_);
    command_fd_ = -1;
  }
  std::string how = "it is still running";
  int status = 0;
  pid_t waited;
  while ((waited = waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
  }
  if (waited == pid_) {
    pid_ = -1;
    if (WIFEXITED(status)) {
      how = absl::StrFormat("it exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
      how = absl::StrFormat("it was killed by signal %d (%s)", WTERMSIG(status),
                            strsignal(WTERMSIG(status)));
    }
  }
  return absl::InternalError(
      absl::StrFormat("%s worker: %s; %s", ContenderName(id_), what, how));
}

absl::StatusOr<std::string> WorkerProcess::ReadLine() {
  char* line = nullptr;
  std::size_t capacity = 0;
  ssize_t length = getline(&line, &capacity, answers_);
  if (length < 0) {
    std::free(line);
    return Died("no answer");
  }
  std::string answer(line, static_cast<std::size_t>(length));
  std::free(line);
  if (absl::EndsWith(answer, "\n")) answer.pop_back();
  return answer;
}

absl::StatusOr<std::string> WorkerProcess::Exchange(
    const std::string& command) {
  if (!alive_) return absl::FailedPreconditionError("worker is not running");
  std::string line = command + "\n";
  std::size_t written = 0;
  while (written < line.size()) {
    ssize_t n =
        write(command_fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Died(absl::StrCat("write: ", std::strerror(errno)));
    written += static_cast<std::size_t>(n);
  }
  absl::StatusOr<std::string> answer = ReadLine();
  if (!answer.ok()) return answer.status();
  if (absl::StartsWith(*answer, "error\t")) {
    return absl::InternalError(answer->substr(6));
  }
  if (!absl::StartsWith(*answer, "ok\t")) {
    return Died(absl::StrCat("unexpected answer '", *answer, "'"));
  }
  return answer;
}

absl::StatusOr<TimedResult> WorkerProcess::Measure(const Scenario& scenario,
                                                   const TimingParams& params) {
  absl::StatusOr<std::string> answer = Exchange(absl::StrFormat(
      "measure\t%s\t%d\t%d\t%d\t%s\t%s", PatternName(scenario.pattern),
      scenario.object_size, scenario.threads, scenario.batch,
      Number(params.warmup_seconds), Number(params.min_time_seconds)));
  if (!answer.ok()) return answer.status();
  std::vector<absl::string_view> parts = absl::StrSplit(*answer, '\t');
  std::vector<std::pair<std::string, std::string>> fields;
  TimedResult result;
  if (!ParseFields(parts, &fields) || !ParseTimed(fields, &result)) {
    return absl::InternalError(
        absl::StrCat("malformed answer '", *answer, "'"));
  }
  return result;
}

absl::StatusOr<SpikeResult> WorkerProcess::Spike(const Scenario& scenario,
                                                 std::size_t spike_bytes,
                                                 int cycles) {
  absl::StatusOr<std::string> answer =
      Exchange(absl::StrFormat("spike\t%d\t%d\t%d\t%d", scenario.object_size,
                               scenario.threads, spike_bytes, cycles));
  if (!answer.ok()) return answer.status();
  std::vector<absl::string_view> parts = absl::StrSplit(*answer, '\t');
  std::vector<std::pair<std::string, std::string>> fields;
  SpikeResult result;
  bool parsed = ParseFields(parts, &fields) &&
                FieldDouble(fields, "baseline", &result.rss_baseline_mib) &&
                FieldDouble(fields, "peak", &result.rss_peak_mib) &&
                FieldDouble(fields, "final", &result.rss_final_mib) &&
                FieldDouble(fields, "release_ms", &result.release_ms);
  for (const auto& [name, text] : fields) {
    if (name != "cycles") continue;
    for (absl::string_view cycle : absl::StrSplit(text, ',')) {
      std::vector<absl::string_view> values = absl::StrSplit(cycle, ':');
      TimedResult timing;
      double operations = 0;
      parsed = parsed && values.size() == 3 &&
               absl::SimpleAtod(values[0], &timing.ns_per_op) &&
               absl::SimpleAtod(values[1], &timing.cpu_ns_per_op) &&
               absl::SimpleAtod(values[2], &operations);
      timing.operations = static_cast<std::int64_t>(operations);
      result.cycles.push_back(timing);
    }
  }
  if (!parsed || result.cycles.empty()) {
    return absl::InternalError(
        absl::StrCat("malformed answer '", *answer, "'"));
  }
  return result;
}

}  // namespace poolkit::poolbench
