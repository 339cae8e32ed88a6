#include "examples/http_server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "examples/http_server/connection.h"
#include "examples/http_server/http.h"
#include "examples/http_server/memory.h"
#include "pool/pool_dump.h"

namespace http_server {
namespace {

constexpr std::uint32_t kReadEvents = EPOLLIN | EPOLLRDHUP;
// Connections accepted per listener event before the loop serves the
// others: a burst of connections must not starve established ones.
constexpr int kAcceptsPerEvent = 64;

std::uint64_t MonotonicNanos() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1000000000u +
         static_cast<std::uint64_t>(now.tv_nsec);
}

absl::Status ErrnoStatus(const char* what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

enum class SendResult { kDone, kBlocked, kFailed };

// Sends data[*sent, length) on a non-blocking socket, advancing *sent:
// kDone once all is out, kBlocked when the socket is full (wait for
// EPOLLOUT), kFailed on an error.
SendResult SendAll(int fd, const char* data, std::size_t length,
                   std::size_t* sent) {
  while (*sent < length) {
    ssize_t n = send(fd, data + *sent, length - *sent, MSG_NOSIGNAL);
    if (n > 0) {
      *sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return SendResult::kBlocked;
    }
    return SendResult::kFailed;
  }
  return SendResult::kDone;
}

}  // namespace

class Worker {
 public:
  Worker(Server* server, int index, int listen_fd)
      : server_(server), index_(index), listen_fd_(listen_fd) {}
  ~Worker() {
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  absl::Status Init() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return ErrnoStatus("epoll_create1");
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) return ErrnoStatus("eventfd");
    if (!Add(listen_fd_, &listen_endpoint_, EPOLLIN) ||
        !Add(wake_fd_, &wake_endpoint_, EPOLLIN)) {
      return ErrnoStatus("epoll_ctl");
    }
    return absl::OkStatus();
  }

  void Run() {
    epoll_event events[128];
    // Acquire: pairs with RequestStop()'s release (nothing else is
    // published through the flag; the order only makes the intent plain).
    while (!stop_.load(std::memory_order_acquire)) {
      int n = epoll_wait(epoll_fd_, events, 128, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::perror("http_server: epoll_wait");
        break;
      }
      for (int i = 0; i < n; ++i) {
        auto* endpoint = static_cast<Endpoint*>(events[i].data.ptr);
        std::uint32_t what = events[i].events;
        if (endpoint == &listen_endpoint_) {
          Accept();
        } else if (endpoint == &wake_endpoint_) {
          std::uint64_t value;
          ssize_t ignored = read(wake_fd_, &value, sizeof(value));
          (void)ignored;
          DrainHandOvers();
        } else if (endpoint->upstream) {
          OnUpstreamEvent(endpoint->connection, what);
        } else {
          OnClientEvent(endpoint->connection, what);
        }
      }
    }
    while (connections_ != nullptr) Close(connections_);
  }

  void RequestStop() {
    stop_.store(true, std::memory_order_release);
    Wake();
  }

  // Called by another worker: `connection` (its sockets in no epoll set) is
  // this worker's from now on.
  void HandOver(Connection* connection) {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      queue_.push_back(connection);
    }
    Wake();
  }

  // After the thread has ended: connections handed over too late.
  void FreeLeftovers() {
    std::vector<Connection*> left;
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      left.swap(queue_);
    }
    for (Connection* connection : left) {
      Link(connection);
      Close(connection);
    }
  }

  WorkerCounters counters;

 private:
  ServerMemory* memory() { return server_->memory(); }

  void Wake() {
    std::uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof(one));
    (void)ignored;
  }

  bool Add(int fd, Endpoint* endpoint, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.ptr = endpoint;
    return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) == 0;
  }

  // epoll_ctl only when the interest changes: in the common keep-alive
  // cycle (read, answer at once, read) the client's interest never does.
  void SetClientEvents(Connection* c, std::uint32_t events) {
    if (c->client_events == events) return;
    epoll_event event{};
    event.events = events;
    event.data.ptr = &c->client_endpoint;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &event);
    c->client_events = events;
  }
  void SetUpstreamEvents(Connection* c, std::uint32_t events) {
    if (c->upstream_events == events) return;
    epoll_event event{};
    event.events = events;
    event.data.ptr = &c->upstream_endpoint;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->upstream_fd, &event);
    c->upstream_events = events;
  }

  void Link(Connection* c) {
    c->owner = index_;
    c->prev = nullptr;
    c->next = connections_;
    if (connections_ != nullptr) connections_->prev = c;
    connections_ = c;
  }
  void Unlink(Connection* c) {
    if (c->prev != nullptr) c->prev->next = c->next;
    if (c->next != nullptr) c->next->prev = c->prev;
    if (connections_ == c) connections_ = c->next;
    c->prev = c->next = nullptr;
  }

  void Accept() {
    for (int i = 0; i < kAcceptsPerEvent; ++i) {
      sockaddr_in address{};
      socklen_t length = sizeof(address);
      int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address),
                       &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        // EAGAIN: drained (or another process took it); EMFILE and the
        // like: the connection waits in the backlog until fds free up.
        return;
      }
      counters.accepted.fetch_add(1, std::memory_order_relaxed);
      Connection* c = memory()->NewConnection();
      Session* session = c != nullptr ? memory()->NewSession() : nullptr;
      if (session == nullptr) {
        if (c != nullptr) memory()->DeleteConnection(c);
        counters.alloc_failures.fetch_add(1, std::memory_order_relaxed);
        counters.closed.fetch_add(1, std::memory_order_relaxed);
        close(fd);
        continue;
      }
      SetNoDelay(fd);
      session->client = address;
      session->accepted_ns = MonotonicNanos();
      c->session = session;
      c->fd = fd;
      c->client_endpoint = {c, false};
      c->upstream_endpoint = {c, true};
      c->client_events = kReadEvents;
      Link(c);
      if (!Add(fd, &c->client_endpoint, kReadEvents)) Close(c);
    }
  }

  void DrainHandOvers() {
    std::vector<Connection*> arrived;
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      arrived.swap(queue_);
    }
    for (Connection* c : arrived) {
      Link(c);
      counters.handoffs_in.fetch_add(1, std::memory_order_relaxed);
      c->client_events = 0;
      bool ok = Add(c->fd, &c->client_endpoint, 0);
      if (ok && c->upstream_fd >= 0) {
        ok = Add(c->upstream_fd, &c->upstream_endpoint, c->upstream_events);
      }
      if (!ok) {
        Close(c);
        continue;
      }
      Answer(c);
    }
  }

  void OnClientEvent(Connection* c, std::uint32_t events) {
    if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
      Close(c);
      return;
    }
    if (c->state == ConnectionState::kWriting && (events & EPOLLOUT) != 0) {
      SendResponse(c);
    } else if (c->state == ConnectionState::kReading &&
               (events & (EPOLLIN | EPOLLRDHUP)) != 0) {
      OnReadable(c);
    }
  }

  void OnReadable(Connection* c) {
    const std::size_t size = memory()->buffer_size();
    if (c->in == nullptr) {
      c->in = memory()->AllocBuffer();
      if (c->in == nullptr) {
        counters.alloc_failures.fetch_add(1, std::memory_order_relaxed);
        Refuse(c, 503);
        return;
      }
    }
    while (c->in_length < size) {
      std::size_t space = size - c->in_length;
      ssize_t n = recv(c->fd, c->in + c->in_length, space, 0);
      if (n > 0) {
        c->in_length += static_cast<std::size_t>(n);
        // A short read means the socket is drained: no second recv() just
        // to be told EAGAIN.
        if (static_cast<std::size_t>(n) < space) break;
        continue;
      }
      if (n == 0) {
        Close(c);
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Close(c);
      return;
    }
    ProcessInput(c);
  }

  // Looks at what `in` holds: waits for more, refuses it, or answers it.
  void ProcessInput(Connection* c) {
    if (c->in_length == 0) {
      // An idle keep-alive connection holds no buffer (as HAProxy's).
      memory()->FreeBuffer(c->in);
      c->in = nullptr;
      return;
    }
    Request request;
    switch (ParseRequest(std::string_view(c->in, c->in_length), &request)) {
      case ParseResult::kIncomplete:
        if (c->in_length == memory()->buffer_size()) Refuse(c, 431);
        return;
      case ParseResult::kBad:
        counters.bad_requests.fetch_add(1, std::memory_order_relaxed);
        Refuse(c, 400);
        return;
      case ParseResult::kComplete:
        break;
    }
    c->request_bytes = request.head_bytes + request.body_bytes;
    c->keep_alive = request.keep_alive;
    c->route = RouteOf(request);
    c->session->requests++;
    counters.requests.fetch_add(1, std::memory_order_relaxed);
    if (server_->options().handoff && server_->worker_count() > 1) {
      // The sockets leave this epoll set before the next worker adds them
      // to its own: from the hand-over on, only that worker touches `c`
      // (the queue's mutex orders this thread's writes before its reads).
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
      if (c->upstream_fd >= 0) {
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->upstream_fd, nullptr);
      }
      Unlink(c);
      server_->worker((index_ + 1) % server_->worker_count())->HandOver(c);
      return;
    }
    Answer(c);
  }

  Route RouteOf(const Request& request) const {
    if (request.method != "GET") return Route::kBadMethod;
    if (request.path == "/pools") return Route::kPools;
    if (request.path == "/stats") return Route::kStats;
    if (!server_->options().upstream.empty()) return Route::kProxy;
    if (request.path == "/") return Route::kBody;
    return Route::kNotFound;
  }

  void Answer(Connection* c) {
    switch (c->route) {
      case Route::kBody:
        Respond(c, 200, "text/plain", server_->body());
        return;
      case Route::kPools:
        Respond(c, 200, "application/json", poolkit::DumpPoolsJson());
        return;
      case Route::kStats:
        Respond(c, 200, "application/json", server_->StatsJson());
        return;
      case Route::kProxy:
        StartUpstream(c);
        return;
      case Route::kNotFound:
        Respond(c, 404, "text/plain", "not found\n");
        return;
      case Route::kBadMethod:
        Respond(c, 405, "text/plain", "only GET\n");
        return;
    }
  }

  // Answers with `status` and closes: the request cannot be served.
  void Refuse(Connection* c, int status) {
    c->keep_alive = false;
    c->request_bytes = c->in_length;
    Respond(c, status, "text/plain", absl::StrCat(Reason(status), "\n"));
  }

  void Respond(Connection* c, int status, std::string_view type,
               std::string_view body) {
    std::string head = absl::StrFormat(
        "HTTP/1.1 %d %s\r\nServer: poolkit-example\r\nContent-Type: "
        "%s\r\nContent-Length: %d\r\n%s\r\n",
        status, Reason(status), type, body.size(),
        c->keep_alive ? "" : "Connection: close\r\n");
    const std::size_t size = memory()->buffer_size();
    if (head.size() + body.size() <= size && status != 503) {
      c->out = memory()->AllocBuffer();
    }
    if (c->out != nullptr) {
      std::memcpy(c->out, head.data(), head.size());
      std::memcpy(c->out + head.size(), body.data(), body.size());
      c->out_length = head.size() + body.size();
    } else {
      // Larger than a buffer (a big /pools), or no buffer to be had (503):
      // the response goes out of a string.
      c->large_response = head;
      c->large_response.append(body.data(), body.size());
      c->out_length = c->large_response.size();
    }
    c->out_sent = 0;
    c->state = ConnectionState::kWriting;
    SendResponse(c);
  }

  void SendResponse(Connection* c) {
    const char* data = c->out != nullptr ? c->out : c->large_response.data();
    switch (SendAll(c->fd, data, c->out_length, &c->out_sent)) {
      case SendResult::kDone:
        FinishResponse(c);
        return;
      case SendResult::kBlocked:
        SetClientEvents(c, EPOLLOUT);
        return;
      case SendResult::kFailed:
        Close(c);
        return;
    }
  }

  // The response is out: its buffer goes back, the request leaves `in`, and
  // the connection waits for (or already holds) the next request.
  void FinishResponse(Connection* c) {
    if (c->out != nullptr) memory()->FreeBuffer(c->out);
    c->out = nullptr;
    c->out_length = c->out_sent = 0;
    c->large_response.clear();
    if (!c->keep_alive) {
      Close(c);
      return;
    }
    std::size_t left = c->in_length - c->request_bytes;
    if (left > 0) std::memmove(c->in, c->in + c->request_bytes, left);
    c->in_length = left;
    c->request_bytes = 0;
    c->state = ConnectionState::kReading;
    SetClientEvents(c, kReadEvents);
    // A pipelined request may already be there; otherwise the buffer goes.
    ProcessInput(c);
  }

  // Proxying: the request in `in` goes to the upstream as it is, and its
  // response comes back into `out`; both buffers are held until the
  // response has been sent to the client.
  void StartUpstream(Connection* c) {
    c->state = ConnectionState::kUpstream;
    SetClientEvents(c, 0);
    c->out = memory()->AllocBuffer();
    if (c->out == nullptr) {
      counters.alloc_failures.fetch_add(1, std::memory_order_relaxed);
      Refuse(c, 503);
      return;
    }
    c->out_length = 0;
    c->forwarded = 0;
    if (c->upstream_fd < 0) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        UpstreamFailed(c);
        return;
      }
      SetNoDelay(fd);
      const sockaddr_in& address = server_->upstream_address();
      int rc = connect(fd, reinterpret_cast<const sockaddr*>(&address),
                       sizeof(address));
      if (rc < 0 && errno != EINPROGRESS) {
        close(fd);
        UpstreamFailed(c);
        return;
      }
      c->upstream_fd = fd;
      c->upstream_connecting = rc < 0;
      c->upstream_events = EPOLLOUT;
      if (!Add(fd, &c->upstream_endpoint, EPOLLOUT)) {
        UpstreamFailed(c);
        return;
      }
      if (c->upstream_connecting) return;
    }
    ForwardToUpstream(c);
  }

  void ForwardToUpstream(Connection* c) {
    if (c->upstream_connecting) {
      int error = 0;
      socklen_t length = sizeof(error);
      getsockopt(c->upstream_fd, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error != 0) {
        UpstreamFailed(c);
        return;
      }
      c->upstream_connecting = false;
    }
    switch (SendAll(c->upstream_fd, c->in, c->request_bytes, &c->forwarded)) {
      case SendResult::kDone:
        SetUpstreamEvents(c, EPOLLIN);
        return;
      case SendResult::kBlocked:
        SetUpstreamEvents(c, EPOLLOUT);
        return;
      case SendResult::kFailed:
        UpstreamFailed(c);
        return;
    }
  }

  void OnUpstreamEvent(Connection* c, std::uint32_t events) {
    if (c->state != ConnectionState::kUpstream) {
      // An idle upstream connection spoke: it closed (or misbehaved).
      CloseUpstream(c);
      return;
    }
    if (c->upstream_connecting || c->forwarded < c->request_bytes) {
      if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
        ForwardToUpstream(c);
      }
      return;
    }
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) ReadUpstream(c);
  }

  void ReadUpstream(Connection* c) {
    const std::size_t size = memory()->buffer_size();
    for (;;) {
      if (c->out_length == size) {
        UpstreamFailed(c);  // the response does not fit a buffer
        return;
      }
      ssize_t n =
          recv(c->upstream_fd, c->out + c->out_length, size - c->out_length, 0);
      if (n > 0) {
        c->out_length += static_cast<std::size_t>(n);
        ResponseHead head;
        ParseResult result =
            ParseResponseHead(std::string_view(c->out, c->out_length), &head);
        if (result == ParseResult::kBad) {
          UpstreamFailed(c);
          return;
        }
        if (result == ParseResult::kIncomplete) continue;
        std::size_t total = head.head_bytes + head.body_bytes;
        if (total > size) {
          UpstreamFailed(c);
          return;
        }
        if (c->out_length < total) continue;
        c->out_length = total;
        if (!head.keep_alive) CloseUpstream(c);
        c->state = ConnectionState::kWriting;
        c->out_sent = 0;
        if (c->upstream_fd >= 0) SetUpstreamEvents(c, EPOLLIN);
        SendResponse(c);
        return;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      UpstreamFailed(c);  // closed before a whole response, or an error
      return;
    }
  }

  void UpstreamFailed(Connection* c) {
    counters.upstream_errors.fetch_add(1, std::memory_order_relaxed);
    CloseUpstream(c);
    if (c->out != nullptr) memory()->FreeBuffer(c->out);
    c->out = nullptr;
    c->keep_alive = false;
    Respond(c, 502, "text/plain", "upstream failed\n");
  }

  void CloseUpstream(Connection* c) {
    if (c->upstream_fd < 0) return;
    close(c->upstream_fd);  // also leaves the epoll set
    c->upstream_fd = -1;
    c->upstream_connecting = false;
    c->upstream_events = 0;
  }

  void Close(Connection* c) {
    Unlink(c);
    CloseUpstream(c);
    close(c->fd);
    if (c->in != nullptr) memory()->FreeBuffer(c->in);
    if (c->out != nullptr) memory()->FreeBuffer(c->out);
    memory()->DeleteSession(c->session);
    memory()->DeleteConnection(c);
    counters.closed.fetch_add(1, std::memory_order_relaxed);
  }

  Server* const server_;
  const int index_;
  const int listen_fd_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  Endpoint listen_endpoint_;
  Endpoint wake_endpoint_;
  std::atomic<bool> stop_{false};
  std::mutex queue_mu_;
  std::vector<Connection*> queue_;
  // This worker's connections (a list through Connection::prev/next).
  Connection* connections_ = nullptr;
};

// Listeners.

absl::StatusOr<Listeners> Listeners::Open(const std::string& address, int port,
                                          int count) {
  sockaddr_in bind_address{};
  bind_address.sin_family = AF_INET;
  if (inet_pton(AF_INET, address.c_str(), &bind_address.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an IPv4 address: '", address, "'"));
  }
  Listeners listeners;
  listeners.port_ = port;
  for (int i = 0; i < count; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return ErrnoStatus("socket");
    listeners.fds_.push_back(fd);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      return ErrnoStatus("SO_REUSEPORT");
    }
    // The first socket learns the port (the kernel's pick for port 0); the
    // others bind to it.
    bind_address.sin_port = htons(static_cast<std::uint16_t>(listeners.port_));
    if (bind(fd, reinterpret_cast<sockaddr*>(&bind_address),
             sizeof(bind_address)) != 0) {
      return ErrnoStatus(
          absl::StrCat("bind ", address, ":", listeners.port_).c_str());
    }
    if (listen(fd, 4096) != 0) return ErrnoStatus("listen");
    sockaddr_in bound{};
    socklen_t length = sizeof(bound);
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
    listeners.port_ = ntohs(bound.sin_port);
  }
  return listeners;
}

Listeners::Listeners(Listeners&& other) noexcept
    : fds_(std::move(other.fds_)), port_(other.port_) {
  other.fds_.clear();
}

Listeners& Listeners::operator=(Listeners&& other) noexcept {
  if (this != &other) {
    for (int fd : fds_) close(fd);
    fds_ = std::move(other.fds_);
    other.fds_.clear();
    port_ = other.port_;
  }
  return *this;
}

Listeners::~Listeners() {
  for (int fd : fds_) close(fd);
}

// Server.

Server::Server(const ServerOptions& options, ServerMemory* memory)
    : options_(options), memory_(memory) {
  static constexpr std::string_view kLine = "poolkit example server\n";
  while (body_.size() < options_.body_bytes) body_.append(kLine);
  body_.resize(options_.body_bytes);
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerOptions& options, const Listeners& listeners,
    ServerMemory* memory) {
  if (options.threads < 1 ||
      static_cast<std::size_t>(options.threads) != listeners.fds().size()) {
    return absl::InvalidArgumentError(
        "one listening socket per worker thread is needed");
  }
  std::unique_ptr<Server> server(new Server(options, memory));
  if (!options.upstream.empty()) {
    std::size_t colon = options.upstream.rfind(':');
    int port = 0;
    sockaddr_in& address = server->upstream_address_;
    address.sin_family = AF_INET;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(options.upstream.substr(colon + 1), &port) ||
        port <= 0 || port > 65535 ||
        inet_pton(AF_INET, options.upstream.substr(0, colon).c_str(),
                  &address.sin_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--upstream wants IPV4:PORT, got '", options.upstream, "'"));
    }
    address.sin_port = htons(static_cast<std::uint16_t>(port));
  }
  for (int i = 0; i < options.threads; ++i) {
    server->workers_.push_back(
        std::make_unique<Worker>(server.get(), i, listeners.fds()[i]));
    absl::Status status = server->workers_.back()->Init();
    if (!status.ok()) return status;
  }
  for (auto& worker : server->workers_) {
    server->threads_.emplace_back([w = worker.get()] { w->Run(); });
  }
  return server;
}

Server::~Server() {
  Stop();
  Wait();
}

void Server::Stop() {
  for (auto& worker : workers_) worker->RequestStop();
}

void Server::Wait() {
  if (waited_) return;
  for (std::thread& thread : threads_) thread.join();
  for (auto& worker : workers_) worker->FreeLeftovers();
  waited_ = true;
}

std::string Server::StatsJson() const {
  std::uint64_t accepted = 0, closed = 0, requests = 0, handoffs = 0,
                alloc_failures = 0, bad = 0, upstream_errors = 0;
  for (const auto& worker : workers_) {
    const WorkerCounters& c = worker->counters;
    accepted += c.accepted.load(std::memory_order_relaxed);
    closed += c.closed.load(std::memory_order_relaxed);
    requests += c.requests.load(std::memory_order_relaxed);
    handoffs += c.handoffs_in.load(std::memory_order_relaxed);
    alloc_failures += c.alloc_failures.load(std::memory_order_relaxed);
    bad += c.bad_requests.load(std::memory_order_relaxed);
    upstream_errors += c.upstream_errors.load(std::memory_order_relaxed);
  }
  return absl::StrFormat(
      "{\"memory\": \"%s\", \"threads\": %d, \"handoff\": %s, "
      "\"pid\": %d, \"accepted\": %d, \"closed\": %d, \"requests\": %d, "
      "\"handoffs\": %d, \"alloc_failures\": %d, \"bad_requests\": %d, "
      "\"upstream_errors\": %d}\n",
      options_.memory_name, options_.threads,
      options_.handoff ? "true" : "false", static_cast<int>(getpid()), accepted,
      closed, requests, handoffs, alloc_failures, bad, upstream_errors);
}

}  // namespace http_server
