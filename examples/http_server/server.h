// The server: one epoll event loop per worker thread, each with its own
// listening socket on the same port (SO_REUSEPORT, so the kernel spreads
// connections), keep-alive HTTP/1.1, and optionally
//  - hand-off: a request read by one worker is answered by the next, with
//    its connection moved there (its buffer is then freed by another thread
//    than the one that allocated it, the case seed 003's crash needed);
//  - proxy: requests other than /pools and /stats go to an upstream HTTP
//    server, and the connection holds its buffers while it waits.
//
// Routes: GET /pools answers poolkit::DumpPoolsJson(); GET /stats the
// server's own counters as JSON; anything else the fixed body.
#ifndef POOLKIT_EXAMPLES_HTTP_SERVER_SERVER_H_
#define POOLKIT_EXAMPLES_HTTP_SERVER_SERVER_H_

#include <netinet/in.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "examples/http_server/memory.h"

namespace http_server {

struct ServerOptions {
  int threads = 2;
  std::size_t body_bytes = 128;
  bool handoff = false;
  // host:port of the upstream, or empty (no proxying). IPv4 only.
  std::string upstream;
  // Name shown in /stats ("poolkit/xchg", "malloc", ...).
  std::string memory_name;
};

// The listening sockets, one per worker, bound to one port. Made before the
// workers (and, in master/worker mode, before fork(), so that every worker
// process shares them).
class Listeners {
 public:
  // port 0: the kernel picks one; port() tells which.
  static absl::StatusOr<Listeners> Open(const std::string& address, int port,
                                        int count);
  Listeners(Listeners&& other) noexcept;
  Listeners& operator=(Listeners&& other) noexcept;
  Listeners(const Listeners&) = delete;
  Listeners& operator=(const Listeners&) = delete;
  ~Listeners();

  int port() const { return port_; }
  const std::vector<int>& fds() const { return fds_; }

 private:
  Listeners() = default;
  std::vector<int> fds_;
  int port_ = 0;
};

// Counters of one worker, written by it alone (relaxed: they are statistics,
// read by /stats while workers run).
struct alignas(64) WorkerCounters {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> closed{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> handoffs_in{0};
  std::atomic<std::uint64_t> alloc_failures{0};
  std::atomic<std::uint64_t> bad_requests{0};
  std::atomic<std::uint64_t> upstream_errors{0};
};

class Worker;

class Server {
 public:
  // Starts the workers on `listeners` (which must outlive the server).
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerOptions& options, const Listeners& listeners,
      ServerMemory* memory);
  ~Server();

  // Asks every worker to close its connections and stop; Wait() joins them
  // and frees whatever is left (connections in flight between workers).
  // Stop() may be called from any thread, more than once.
  void Stop();
  void Wait();

  std::string StatsJson() const;
  const ServerOptions& options() const { return options_; }
  ServerMemory* memory() const { return memory_; }
  const std::string& body() const { return body_; }
  int worker_count() const { return static_cast<int>(workers_.size()); }
  Worker* worker(int index) const { return workers_[index].get(); }
  const sockaddr_in& upstream_address() const { return upstream_address_; }

 private:
  Server(const ServerOptions& options, ServerMemory* memory);

  ServerOptions options_;
  ServerMemory* memory_;
  std::string body_;
  sockaddr_in upstream_address_{};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  bool waited_ = false;
};

}  // namespace http_server

#endif  // POOLKIT_EXAMPLES_HTTP_SERVER_SERVER_H_
