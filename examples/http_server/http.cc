#include "examples/http_server/http.h"

#include <cstddef>
#include <string_view>

namespace http_server {
namespace {

constexpr std::string_view kEndOfHead = "\r\n\r\n";
// A Content-Length above this is refused: nothing this server handles is
// that large, and it keeps the sum below from overflowing.
constexpr std::size_t kMaxBody = std::size_t{1} << 40;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool ParseLength(std::string_view text, std::size_t* length) {
  if (text.empty()) return false;
  std::size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::size_t>(c - '0');
    if (value > kMaxBody) return false;
  }
  *length = value;
  return true;
}

// What the header lines (after the start line) say about framing and
// keep-alive. False if they are malformed or ask for chunked framing.
bool ParseHeaders(std::string_view lines, bool* keep_alive,
                  std::size_t* body_bytes) {
  bool has_length = false;
  while (!lines.empty()) {
    std::size_t end = lines.find("\r\n");
    std::string_view line = lines.substr(0, end);
    lines.remove_prefix(end == std::string_view::npos ? lines.size() : end + 2);
    if (line.empty()) continue;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view name = line.substr(0, colon);
    std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-length")) {
      std::size_t length = 0;
      if (!ParseLength(value, &length)) return false;
      if (has_length && length != *body_bytes) return false;
      has_length = true;
      *body_bytes = length;
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      return false;
    } else if (EqualsIgnoreCase(name, "connection")) {
      if (EqualsIgnoreCase(value, "close")) *keep_alive = false;
      if (EqualsIgnoreCase(value, "keep-alive")) *keep_alive = true;
    }
  }
  return true;
}

// Splits off the start line; `rest` gets the header lines.
bool SplitHead(std::string_view data, std::size_t* head_bytes,
               std::string_view* start_line, std::string_view* rest) {
  std::size_t end = data.find(kEndOfHead);
  if (end == std::string_view::npos) return false;
  *head_bytes = end + kEndOfHead.size();
  std::string_view head = data.substr(0, end + 2);
  std::size_t line_end = head.find("\r\n");
  *start_line = head.substr(0, line_end);
  *rest = head.substr(line_end + 2);
  return true;
}

}  // namespace

ParseResult ParseRequest(std::string_view data, Request* request) {
  std::string_view start_line, headers;
  std::size_t head_bytes = 0;
  if (!SplitHead(data, &head_bytes, &start_line, &headers)) {
    return ParseResult::kIncomplete;
  }
  // METHOD SP PATH SP HTTP/1.x
  std::size_t first = start_line.find(' ');
  std::size_t last = start_line.rfind(' ');
  if (first == std::string_view::npos || first == 0 || last == first) {
    return ParseResult::kBad;
  }
  std::string_view version = start_line.substr(last + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return ParseResult::kBad;
  Request parsed;
  parsed.method = start_line.substr(0, first);
  parsed.path = start_line.substr(first + 1, last - first - 1);
  if (parsed.path.empty()) return ParseResult::kBad;
  // HTTP/1.0 closes unless it asks otherwise; 1.1 keeps the connection.
  parsed.keep_alive = version == "HTTP/1.1";
  if (!ParseHeaders(headers, &parsed.keep_alive, &parsed.body_bytes)) {
    return ParseResult::kBad;
  }
  parsed.head_bytes = head_bytes;
  *request = parsed;
  if (data.size() - head_bytes < parsed.body_bytes) {
    return ParseResult::kIncomplete;
  }
  return ParseResult::kComplete;
}

ParseResult ParseResponseHead(std::string_view data, ResponseHead* head) {
  std::string_view start_line, headers;
  std::size_t head_bytes = 0;
  if (!SplitHead(data, &head_bytes, &start_line, &headers)) {
    return ParseResult::kIncomplete;
  }
  // HTTP/1.x SP 3DIGIT SP reason
  if (start_line.size() < 12 || start_line.substr(0, 7) != "HTTP/1." ||
      start_line[8] != ' ') {
    return ParseResult::kBad;
  }
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    char c = start_line[i];
    if (c < '0' || c > '9') return ParseResult::kBad;
    status = status * 10 + (c - '0');
  }
  ResponseHead parsed;
  parsed.status = status;
  parsed.keep_alive = start_line[7] == '1';
  parsed.body_bytes = std::string_view::npos;
  if (!ParseHeaders(headers, &parsed.keep_alive, &parsed.body_bytes)) {
    return ParseResult::kBad;
  }
  // Without a length the body would run to the end of the connection:
  // refused, so that every response is framed.
  if (parsed.body_bytes == std::string_view::npos) return ParseResult::kBad;
  parsed.head_bytes = head_bytes;
  *head = parsed;
  return ParseResult::kComplete;
}

}  // namespace http_server
