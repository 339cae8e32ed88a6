// Where the server's objects come from: poolkit's pools (the connection and
// session pools declared with POOLKIT_DECLARE_POOL, the buffer pool made once
// the buffer size is known, as HAProxy makes pool_head_buffer after reading
// its configuration), or plain malloc/free, the baseline that LD_PRELOAD
// turns into jemalloc, tcmalloc or mimalloc.
//
// The declared pools are made during static initialisation, before main()
// reads flags, so their strategy comes from the environment:
// HTTP_SERVER_STRATEGY=spinlock|dwcas|xchg|none (default xchg). The buffer
// pool uses the same one.
#ifndef POOLKIT_EXAMPLES_HTTP_SERVER_MEMORY_H_
#define POOLKIT_EXAMPLES_HTTP_SERVER_MEMORY_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "examples/http_server/connection.h"

namespace http_server {

enum class MemoryMode { kPoolkit, kMalloc };

class ServerMemory {
 public:
  virtual ~ServerMemory() = default;

  // nullptr when memory runs out (the server answers 503 or drops the
  // connection, and counts it).
  virtual Connection* NewConnection() = 0;
  virtual void DeleteConnection(Connection* connection) = 0;
  virtual Session* NewSession() = 0;
  virtual void DeleteSession(Session* session) = 0;
  virtual char* AllocBuffer() = 0;
  virtual void FreeBuffer(char* buffer) = 0;

  // Gives the pools' memory back: OK, or an error naming a pool that still
  // has objects in use (a leak in the server).
  virtual absl::Status Close() = 0;

  std::size_t buffer_size() const { return buffer_size_; }

 protected:
  explicit ServerMemory(std::size_t buffer_size) : buffer_size_(buffer_size) {}

 private:
  std::size_t buffer_size_;
};

absl::StatusOr<std::unique_ptr<ServerMemory>> CreateServerMemory(
    MemoryMode mode, std::size_t buffer_size);

// The strategy HTTP_SERVER_STRATEGY names, as text ("xchg" if unset).
std::string PoolStrategyName();

}  // namespace http_server

#endif  // POOLKIT_EXAMPLES_HTTP_SERVER_MEMORY_H_
