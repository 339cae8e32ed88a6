// The per-client objects, in the shape of HAProxy's: a connection (the
// socket, its buffers and where it is in a request) and a session (what
// belongs to the client across its requests). Both come from pools (or
// from malloc in the baseline mode; see memory.h).
#ifndef POOLKIT_EXAMPLES_HTTP_SERVER_CONNECTION_H_
#define POOLKIT_EXAMPLES_HTTP_SERVER_CONNECTION_H_

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace http_server {

struct Connection;

// What an epoll event points at: one of a connection's two sockets.
struct Endpoint {
  Connection* connection = nullptr;
  bool upstream = false;
};

enum class ConnectionState : std::uint8_t {
  kReading,   // waiting for (the rest of) a request
  kUpstream,  // request being sent to the upstream / its answer awaited
  kWriting,   // response being sent to the client
};

// What a complete request asks for, decided where it is parsed (so that a
// worker it is handed to need not parse it again).
enum class Route : std::uint8_t {
  kBody,       // GET /: the fixed body
  kPools,      // GET /pools: poolkit::DumpPoolsJson()
  kStats,      // GET /stats: the server's counters
  kProxy,      // anything else, when an upstream is set
  kNotFound,   // any other path
  kBadMethod,  // not a GET
};

struct Session {
  sockaddr_in client{};
  std::uint64_t accepted_ns = 0;
  std::uint64_t requests = 0;
};

struct Connection {
  int fd = -1;
  int upstream_fd = -1;
  bool upstream_connecting = false;
  bool keep_alive = true;
  ConnectionState state = ConnectionState::kReading;
  Route route = Route::kBody;
  // The epoll interest last set for each socket (to skip needless
  // epoll_ctl calls).
  std::uint32_t client_events = 0;
  std::uint32_t upstream_events = 0;
  // The worker whose epoll set holds the sockets.
  int owner = -1;
  Endpoint client_endpoint;
  Endpoint upstream_endpoint;
  Session* session = nullptr;

  // The request buffer: allocated when a request starts arriving, freed
  // once the request has been answered and no further bytes wait in it.
  char* in = nullptr;
  std::size_t in_length = 0;
  // Bytes of `in` the request being handled occupies.
  std::size_t request_bytes = 0;
  // Of those, bytes already forwarded to the upstream.
  std::size_t forwarded = 0;

  // The response: in a buffer from the buffer pool, or (for the few
  // responses larger than a buffer, such as /pools) in `large_response`.
  char* out = nullptr;
  std::size_t out_length = 0;
  std::size_t out_sent = 0;
  std::string large_response;

  // The worker's list of its connections (to close them all on shutdown).
  Connection* prev = nullptr;
  Connection* next = nullptr;
};

}  // namespace http_server

#endif  // POOLKIT_EXAMPLES_HTTP_SERVER_CONNECTION_H_
