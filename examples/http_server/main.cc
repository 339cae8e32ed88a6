// poolkit's example HTTP server (see server.h for what it serves).
//
//   http_server --port=8080 --threads=2 --buffer_size=16384
//   HTTP_SERVER_STRATEGY=spinlock http_server ...     another pool strategy
//   http_server --memory=malloc                       the malloc baseline
//   LD_PRELOAD=libmimalloc.so.2 http_server --memory=malloc
//   http_server --processes=4                         master and 4 workers
//
// Prints one line "http_server: listening on ADDRESS:PORT ..." once it
// accepts connections; SIGTERM or SIGINT stops it cleanly (every connection
// closed, every object back in its pool, the buffer pool destroyed). The
// exit status is 0 only if that all went well (in master/worker mode, in
// every worker process too).
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "examples/http_server/memory.h"
#include "examples/http_server/server.h"
#include "pool/registry.h"

ABSL_FLAG(std::string, address, "127.0.0.1", "IPv4 address to listen on");
ABSL_FLAG(int, port, 8080, "port to listen on (0: any free port)");
ABSL_FLAG(int, threads, 2, "worker threads (event loops) per process");
ABSL_FLAG(int, processes, 0,
          "0: one process; N: a master that forks N worker processes, "
          "restarts any that dies, and stops them on SIGTERM");
ABSL_FLAG(std::string, memory, "poolkit",
          "poolkit (pools; strategy from HTTP_SERVER_STRATEGY) or malloc");
ABSL_FLAG(std::size_t, buffer_size, 16384,
          "bytes per I/O buffer (HAProxy's bufsize; 2097152 for seed 003)");
ABSL_FLAG(std::size_t, body_bytes, 128, "size of GET /'s fixed body");
ABSL_FLAG(bool, handoff, false,
          "answer each request on the next worker thread (its buffers are "
          "then freed by another thread than the one that allocated them)");
ABSL_FLAG(std::string, upstream, "",
          "IPV4:PORT of an HTTP server to proxy requests to (all but "
          "/pools and /stats)");
ABSL_FLAG(bool, maintenance, true,
          "run poolkit's maintenance thread, so that idle pools give their "
          "spare memory back");

namespace http_server {
namespace {

sigset_t StopSignals(bool with_child) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (with_child) sigaddset(&set, SIGCHLD);
  return set;
}

// Many connections (the 1000-connection burst): as many fds as allowed.
void RaiseFileLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// One process's server: runs until SIGTERM/SIGINT, then stops and checks
// that every object went back. The stop signals are blocked in every thread
// (the workers inherit the mask) and taken here with sigwait().
int ServeUntilSignalled(const ServerOptions& options,
                        const Listeners& listeners, ServerMemory* memory,
                        bool announce) {
  if (absl::GetFlag(FLAGS_maintenance)) poolkit::StartMaintenanceThread();
  absl::StatusOr<std::unique_ptr<Server>> server =
      Server::Start(options, listeners, memory);
  if (!server.ok()) {
    std::fprintf(stderr, "http_server: %s\n",
                 server.status().ToString().c_str());
    return 1;
  }
  if (announce) {
    std::printf("http_server: listening on %s:%d (%s, %d threads)\n",
                absl::GetFlag(FLAGS_address).c_str(), listeners.port(),
                options.memory_name.c_str(), options.threads);
    std::fflush(stdout);
  }
  sigset_t set = StopSignals(false);
  int signal_number = 0;
  sigwait(&set, &signal_number);
  (*server)->Stop();
  (*server)->Wait();
  server->reset();
  if (absl::GetFlag(FLAGS_maintenance)) poolkit::StopMaintenanceThread();
  absl::Status closed = memory->Close();
  if (!closed.ok()) {
    std::fprintf(stderr, "http_server[%d]: %s\n", static_cast<int>(getpid()),
                 closed.ToString().c_str());
    return 1;
  }
  return 0;
}

// Master/worker: the master is single-threaded (it only forks, waits and
// signals), so that fork() copies a process with no other thread; the
// pools and listening sockets it made before are the workers' too. A worker
// that dies is replaced, unless workers die faster than one a second.
int RunMaster(const ServerOptions& options, const Listeners& listeners,
              ServerMemory* memory, int processes) {
  std::map<pid_t, int> workers;  // pid -> slot
  bool failed = false;
  auto spawn = [&](int slot) -> bool {
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("http_server: fork");
      return false;
    }
    if (pid == 0) {
      std::exit(ServeUntilSignalled(options, listeners, memory, false));
    }
    workers[pid] = slot;
    return true;
  };
  for (int slot = 0; slot < processes; ++slot) {
    if (!spawn(slot)) return 1;
  }
  std::printf(
      "http_server: listening on %s:%d (%s, %d threads, %d processes, "
      "master %d)\n",
      absl::GetFlag(FLAGS_address).c_str(), listeners.port(),
      options.memory_name.c_str(), options.threads, processes,
      static_cast<int>(getpid()));
  std::fflush(stdout);

  sigset_t set = StopSignals(true);
  bool stopping = false;
  time_t last_restart = 0;
  while (!workers.empty()) {
    int signal_number = 0;
    sigwait(&set, &signal_number);
    if (signal_number == SIGTERM || signal_number == SIGINT) {
      if (!stopping) {
        stopping = true;
        for (const auto& [pid, slot] : workers) kill(pid, SIGTERM);
      }
      continue;
    }
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      auto it = workers.find(pid);
      if (it == workers.end()) continue;
      int slot = it->second;
      workers.erase(it);
      bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!clean) {
        // A worker that fails its clean shutdown fails the master's; one
        // that dies while serving is reported and replaced.
        if (stopping) failed = true;
        std::fprintf(
            stderr, "http_server: worker %d (pid %d) %s %d\n", slot,
            static_cast<int>(pid),
            WIFSIGNALED(status) ? "killed by signal" : "exited with",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
      }
      if (stopping) continue;
      time_t now = time(nullptr);
      if (now - last_restart < 1) {
        std::fprintf(stderr, "http_server: workers die too fast; stopping\n");
        stopping = true;
        for (const auto& [other, other_slot] : workers) kill(other, SIGTERM);
        continue;
      }
      last_restart = now;
      if (!spawn(slot)) failed = true;
    }
  }
  absl::Status closed = memory->Close();
  if (!closed.ok()) {
    std::fprintf(stderr, "http_server: master: %s\n",
                 closed.ToString().c_str());
    failed = true;
  }
  return failed ? 1 : 0;
}

int Main() {
  signal(SIGPIPE, SIG_IGN);
  RaiseFileLimit();
  const int processes = absl::GetFlag(FLAGS_processes);
  ServerOptions options;
  options.threads = absl::GetFlag(FLAGS_threads);
  options.body_bytes = absl::GetFlag(FLAGS_body_bytes);
  options.handoff = absl::GetFlag(FLAGS_handoff);
  options.upstream = absl::GetFlag(FLAGS_upstream);
  const std::string memory_flag = absl::GetFlag(FLAGS_memory);
  MemoryMode mode;
  if (memory_flag == "poolkit") {
    mode = MemoryMode::kPoolkit;
    options.memory_name = "poolkit/" + PoolStrategyName();
  } else if (memory_flag == "malloc") {
    mode = MemoryMode::kMalloc;
    options.memory_name = "malloc";
  } else {
    std::fprintf(stderr, "http_server: --memory wants poolkit or malloc\n");
    return 2;
  }
  if (options.threads < 1 || options.threads > 1024 || processes < 0 ||
      processes > 256) {
    std::fprintf(stderr, "http_server: --threads 1-1024, --processes 0-256\n");
    return 2;
  }
  const std::size_t buffer_size = absl::GetFlag(FLAGS_buffer_size);
  if (buffer_size < 1024) {
    std::fprintf(stderr, "http_server: --buffer_size is at least 1024\n");
    return 2;
  }
  // Blocked before any thread exists, so that only sigwait() sees them.
  sigset_t set = StopSignals(processes > 0);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  absl::StatusOr<Listeners> listeners = Listeners::Open(
      absl::GetFlag(FLAGS_address), absl::GetFlag(FLAGS_port), options.threads);
  if (!listeners.ok()) {
    std::fprintf(stderr, "http_server: %s\n",
                 listeners.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<ServerMemory>> memory =
      CreateServerMemory(mode, buffer_size);
  if (!memory.ok()) {
    std::fprintf(stderr, "http_server: %s\n",
                 memory.status().ToString().c_str());
    return 1;
  }
  if (processes > 0) {
    return RunMaster(options, *listeners, memory->get(), processes);
  }
  return ServeUntilSignalled(options, *listeners, memory->get(), true);
}

}  // namespace
}  // namespace http_server

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "poolkit's example HTTP server; see examples/http_server/main.cc");
  absl::ParseCommandLine(argc, argv);
  return http_server::Main();
}
