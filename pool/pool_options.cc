#include "pool/pool_options.h"

#include <unistd.h>

#include <cstddef>
#include <string>

#include "absl/strings/str_format.h"

namespace poolkit {

std::string_view StrategyName(SharedCacheStrategy strategy) {
  switch (strategy) {
    case SharedCacheStrategy::kSpinlock:
      return "spinlock";
    case SharedCacheStrategy::kDwcas:
      return "dwcas";
    case SharedCacheStrategy::kXchg:
      return "xchg";
    case SharedCacheStrategy::kNone:
      return "none";
  }
  return "invalid";
}

bool ParseStrategy(std::string_view name, SharedCacheStrategy* strategy) {
  for (int i = 0; i < kNumSharedCacheStrategies; ++i) {
    auto candidate = static_cast<SharedCacheStrategy>(i);
    if (StrategyName(candidate) == name) {
      *strategy = candidate;
      return true;
    }
  }
  return false;
}

std::string_view BackingName(PoolBacking backing) {
  switch (backing) {
    case PoolBacking::kSpans:
      return "spans";
    case PoolBacking::kMalloc:
      return "malloc";
  }
  return "invalid";
}

bool ParseBacking(std::string_view name, PoolBacking* backing) {
  for (PoolBacking candidate : {PoolBacking::kSpans, PoolBacking::kMalloc}) {
    if (BackingName(candidate) == name) {
      *backing = candidate;
      return true;
    }
  }
  return false;
}

absl::Status ValidatePoolOptions(const PoolOptions& options) {
  if (options.name.empty() || options.name.size() > kMaxPoolNameLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("name: must be 1 to %d characters, got %d",
                        kMaxPoolNameLength, options.name.size()));
  }
  for (char c : options.name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "name: '%s' has a character outside [A-Za-z0-9_.-]", options.name));
    }
  }
  if (options.object_size == 0 || options.object_size > kMaxObjectSize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("object_size: must be 1 to %d bytes, got %d",
                        kMaxObjectSize, options.object_size));
  }
  if (options.alignment != 0 &&
      ((options.alignment & (options.alignment - 1)) != 0 ||
       options.alignment > kMaxAlignment)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "alignment: must be 0 or a power of two up to %d, got %d",
        kMaxAlignment, options.alignment));
  }
  if ((options.flags & ~kAllPoolFlags) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "flags: unknown bits 0x%x", options.flags & ~kAllPoolFlags));
  }
  if (StrategyName(options.strategy) == "invalid") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "strategy: unknown value %d", static_cast<int>(options.strategy)));
  }
  if (BackingName(options.backing) == "invalid") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "backing: unknown value %d", static_cast<int>(options.backing)));
  }
  if (options.allocator != nullptr && options.backing != PoolBacking::kMalloc) {
    return absl::InvalidArgumentError(
        "backing: must be left at its default when allocator is set (the "
        "allocator is the backing)");
  }
  if (options.numa_node < -1 || options.numa_node > kMaxNumaNode) {
    return absl::InvalidArgumentError(
        absl::StrFormat("numa_node: must be -1 (none) or 0 to %d, got %d",
                        kMaxNumaNode, options.numa_node));
  }
  if (options.numa_node >= 0) {
    if (options.backing != PoolBacking::kSpans ||
        options.allocator != nullptr) {
      return absl::InvalidArgumentError(
          "numa_node: needs backing = kSpans (poolkit maps only spans)");
    }
    const std::string node =
        absl::StrFormat("/sys/devices/system/node/node%d", options.numa_node);
    if (access(node.c_str(), F_OK) != 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("numa_node: node %d is not online here (no %s)",
                          options.numa_node, node));
    }
  }
  if (options.limit > kMaxLimit) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "limit: must be at most %d, got %d", kMaxLimit, options.limit));
  }
  if (!(options.debug.fail_percent >= 0 && options.debug.fail_percent <= 100)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("debug.fail_percent: must be 0 to 100, got %g",
                        options.debug.fail_percent));
  }
  if (options.debug.quarantine > kMaxQuarantine) {
    return absl::InvalidArgumentError(
        absl::StrFormat("debug.quarantine: must be at most %d, got %d",
                        kMaxQuarantine, options.debug.quarantine));
  }
  if (options.limit_bytes != 0 && options.limit_bytes < options.object_size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("limit_bytes: %d is less than one object of %d bytes",
                        options.limit_bytes, options.object_size));
  }
  if (options.limit_bytes != 0 &&
      options.minavail > options.limit_bytes / options.object_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "minavail: %d objects of %d bytes exceed limit_bytes %d",
        options.minavail, options.object_size, options.limit_bytes));
  }
  if (options.limit != 0 && options.minavail > options.limit) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "minavail: %d exceeds limit %d", options.minavail, options.limit));
  }
  return absl::OkStatus();
}

}  // namespace poolkit
