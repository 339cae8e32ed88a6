#include "examples/http_server/memory.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "examples/http_server/connection.h"
#include "pool/declare_pool.h"
#include "pool/pool.h"
#include "pool/pool_options.h"
#include "pool/registry.h"
#include "pool/typed_pool.h"

namespace http_server {
namespace {

// Read at static initialisation (declared pools are made then) and again by
// CreateServerMemory(); an invalid name stops start-up with a message.
poolkit::SharedCacheStrategy StrategyFromEnvironment() {
  const char* text = std::getenv("HTTP_SERVER_STRATEGY");
  poolkit::SharedCacheStrategy strategy = poolkit::SharedCacheStrategy::kXchg;
  if (text != nullptr && *text != '\0' &&
      !poolkit::ParseStrategy(text, &strategy)) {
    std::fprintf(stderr,
                 "http_server: HTTP_SERVER_STRATEGY='%s' names no strategy "
                 "(spinlock, dwcas, xchg, none)\n",
                 text);
    std::exit(2);
  }
  return strategy;
}

template <typename T>
poolkit::PoolOptions DeclaredOptions(const char* name) {
  poolkit::PoolOptions options = poolkit::SharedPoolOptions(name, sizeof(T));
  options.alignment = alignof(T);
  options.strategy = StrategyFromEnvironment();
  return options;
}

}  // namespace
}  // namespace http_server

// HAProxy's pool_head_connection and pool_head_session.
POOLKIT_DECLARE_POOL_WITH_OPTIONS(
    pool_head_connection,
    http_server::DeclaredOptions<http_server::Connection>("connection"));
POOLKIT_DECLARE_POOL_WITH_OPTIONS(
    pool_head_session,
    http_server::DeclaredOptions<http_server::Session>("session"));

namespace http_server {
namespace {

class PoolkitMemory final : public ServerMemory {
 public:
  PoolkitMemory(poolkit::Pool* buffers, std::size_t buffer_size)
      : ServerMemory(buffer_size),
        connections_(pool_head_connection.get()),
        sessions_(pool_head_session.get()),
        buffers_(buffers) {}

  Connection* NewConnection() override { return connections_.New(); }
  void DeleteConnection(Connection* connection) override {
    connections_.Delete(connection);
  }
  Session* NewSession() override { return sessions_.New(); }
  void DeleteSession(Session* session) override { sessions_.Delete(session); }
  char* AllocBuffer() override { return static_cast<char*>(buffers_->Alloc()); }
  void FreeBuffer(char* buffer) override { buffers_->Free(buffer); }

  absl::Status Close() override {
    // The calling thread's cached objects go back first, so that what the
    // check below sees in use is what the server still holds.
    poolkit::ReleaseThreadCache();
    for (poolkit::Pool* pool :
         {connections_.pool(), sessions_.pool(), buffers_}) {
      poolkit::PoolStats stats = pool->Stats();
      if (stats.in_use != 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("pool '", pool->name(), "' still has ", stats.in_use,
                         " objects in use at shutdown"));
      }
    }
    // Declared pools live as long as the program (they are static); the
    // buffer pool was made at start-up and goes now.
    absl::Status status = poolkit::DestroyPool(buffers_);
    buffers_ = nullptr;
    return status;
  }

 private:
  poolkit::TypedPool<Connection> connections_;
  poolkit::TypedPool<Session> sessions_;
  poolkit::Pool* buffers_;
};

class MallocMemory final : public ServerMemory {
 public:
  explicit MallocMemory(std::size_t buffer_size) : ServerMemory(buffer_size) {}

  Connection* NewConnection() override {
    return new (std::nothrow) Connection();
  }
  void DeleteConnection(Connection* connection) override { delete connection; }
  Session* NewSession() override { return new (std::nothrow) Session(); }
  void DeleteSession(Session* session) override { delete session; }
  char* AllocBuffer() override {
    return static_cast<char*>(std::malloc(buffer_size()));
  }
  void FreeBuffer(char* buffer) override { std::free(buffer); }
  absl::Status Close() override { return absl::OkStatus(); }
};

}  // namespace

std::string PoolStrategyName() {
  return std::string(poolkit::StrategyName(StrategyFromEnvironment()));
}

absl::StatusOr<std::unique_ptr<ServerMemory>> CreateServerMemory(
    MemoryMode mode, std::size_t buffer_size) {
  if (mode == MemoryMode::kMalloc) {
    return std::unique_ptr<ServerMemory>(new MallocMemory(buffer_size));
  }
  poolkit::PoolOptions options;
  options.name = "buffer";
  options.object_size = buffer_size;
  options.flags = poolkit::kPoolShared;
  options.strategy = StrategyFromEnvironment();
  absl::StatusOr<poolkit::Pool*> buffers = poolkit::CreatePool(options);
  if (!buffers.ok()) return buffers.status();
  return std::unique_ptr<ServerMemory>(
      new PoolkitMemory(*buffers, buffer_size));
}

}  // namespace http_server
