// The little of HTTP/1.1 the example server needs: finding a complete
// request or response head in a buffer, and the fields that decide what
// happens next (method, path, keep-alive, body length). No chunked bodies:
// a request or response that uses Transfer-Encoding is refused.
#ifndef POOLKIT_EXAMPLES_HTTP_SERVER_HTTP_H_
#define POOLKIT_EXAMPLES_HTTP_SERVER_HTTP_H_

#include <cstddef>
#include <string_view>

namespace http_server {

enum class ParseResult {
  kComplete,    // head and body are all in the buffer
  kIncomplete,  // more bytes are needed
  kBad,         // malformed, or a feature this server does not implement
};

struct Request {
  std::string_view method;
  std::string_view path;
  bool keep_alive = true;
  // Bytes of the head (up to and including the blank line) and of the body
  // that follows it: the request is the first head_bytes + body_bytes bytes.
  std::size_t head_bytes = 0;
  std::size_t body_bytes = 0;
};

struct ResponseHead {
  int status = 0;
  bool keep_alive = true;
  std::size_t head_bytes = 0;
  std::size_t body_bytes = 0;
};

// Parses the request at the start of `data`. kComplete only when its body is
// in `data` too. The views in `request` point into `data`.
ParseResult ParseRequest(std::string_view data, Request* request);

// The same for a response with a Content-Length (what an upstream sends).
ParseResult ParseResponseHead(std::string_view data, ResponseHead* head);

}  // namespace http_server

#endif  // POOLKIT_EXAMPLES_HTTP_SERVER_HTTP_H_
