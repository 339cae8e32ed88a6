#include "pool/pool_dump.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "pool/internal/registry.h"
#include "pool/json_string.h"

namespace poolkit {
namespace {

std::string FlagNames(std::uint32_t flags) {
  std::string names;
  if (flags & kPoolShared) names += "shared";
  if (flags & kPoolExact) names += names.empty() ? "exact" : ",exact";
  if (flags & kPoolHugePages) names += names.empty() ? "huge" : ",huge";
  return names.empty() ? "-" : names;
}

}  // namespace

std::vector<PoolStats> CollectPoolStats(const DumpOptions& options) {
  std::vector<PoolStats> pools;
  for (PoolStats& stats : internal::Registry::Global().AllStats()) {
    if (stats.name.compare(0, options.prefix.size(), options.prefix) == 0) {
      pools.push_back(std::move(stats));
    }
  }
  std::stable_sort(pools.begin(), pools.end(),
                   [&](const PoolStats& a, const PoolStats& b) {
                     switch (options.sort_by) {
                       case DumpOptions::SortBy::kSize:
                         return a.object_size > b.object_size;
                       case DumpOptions::SortBy::kUsage:
                         return a.allocated_bytes > b.allocated_bytes;
                       case DumpOptions::SortBy::kName:
                         break;
                     }
                     return a.name < b.name;
                   });
  return pools;
}

std::string FormatPoolsText(const std::vector<PoolStats>& pools) {
  std::string out = absl::StrFormat(
      "%-24s %9s %5s %-8s %-12s %10s %12s %10s %10s %10s %10s %8s %5s\n",
      "pool", "size", "align", "strategy", "flags", "allocated", "bytes",
      "in_use", "~thr_cache", "shared", "needed", "failed", "users");
  std::int64_t bytes = 0, in_use_bytes = 0;
  for (const PoolStats& s : pools) {
    out += absl::StrFormat(
        "%-24s %9d %5d %-8s %-12s %10d %12d %10d %10d %10d %10d %8d %5d\n",
        s.name, s.object_size, s.alignment, StrategyName(s.strategy),
        FlagNames(s.flags), s.allocated, s.allocated_bytes, s.in_use,
        s.thread_cached, s.shared_cached, s.needed_avg, s.failed, s.users);
    for (const std::string& alias : s.aliases) {
      out += absl::StrFormat("  (merged: %s)\n", alias);
    }
    if (s.spans != 0) {
      out += absl::StrFormat(
          "  (spans: %d of %d bytes, %d objects each, %d bytes mapped)\n",
          s.spans, s.span_bytes, s.objects_per_span, s.mapped_bytes);
    }
    if (s.numa_node >= 0) {
      out += absl::StrFormat("  (numa: node %d preferred, %d mbind failures)\n",
                             s.numa_node, s.numa_failures);
    }
    if (!s.debug.empty()) {
      out += absl::StrFormat("  (debug: %s; %d injected failures)\n", s.debug,
                             s.injected_failures);
    }
    bytes += s.allocated_bytes;
    in_use_bytes += s.in_use * static_cast<std::int64_t>(s.object_size);
  }
  out += absl::StrFormat("Total: %d pools, %d bytes allocated, %d in use.\n",
                         pools.size(), bytes, in_use_bytes);
  return out;
}

std::string FormatPoolsJson(const std::vector<PoolStats>& pools) {
  std::string out = "{\"pools\": [";
  std::int64_t bytes = 0, in_use_bytes = 0;
  for (std::size_t i = 0; i < pools.size(); ++i) {
    const PoolStats& s = pools[i];
    std::string aliases;
    for (std::size_t j = 0; j < s.aliases.size(); ++j) {
      aliases += (j ? ", " : "") + JsonString(s.aliases[j]);
    }
    out += absl::StrFormat(
        "%s\n  {\"name\": %s, \"aliases\": [%s], \"object_size\": %d, "
        "\"alignment\": %d, \"strategy\": \"%s\", \"flags\": \"%s\", "
        "\"minavail\": %d, \"reserved\": %d, \"limit\": %d, "
        "\"limit_bytes\": %d, \"users\": %d, "
        "\"thread_cacheable\": %s, \"allocator\": %s, \"allocated\": %d, "
        "\"allocated_bytes\": %d, \"used\": %d, \"in_use\": %d, "
        "\"thread_cached\": %d, \"thread_cached_approximate\": true, "
        "\"shared_cached\": %d, \"needed_avg\": %d, \"failed\": %d, "
        "\"limit_failures\": %d, \"cap_failures\": %d, "
        "\"oom_gc_retries\": %d, "
        "\"oom_gc_recovered\": %d, \"os_allocs\": %d, \"os_releases\": %d, "
        "\"spans\": %d, \"span_bytes\": %d, \"objects_per_span\": %d, "
        "\"mapped_bytes\": %d, \"span_maps\": %d, \"span_unmaps\": %d, "
        "\"numa_node\": %d, \"numa_failures\": %d, "
        "\"debug\": %s, \"injected_failures\": %d}",
        i ? "," : "", JsonString(s.name), aliases, s.object_size, s.alignment,
        StrategyName(s.strategy), FlagNames(s.flags), s.minavail, s.reserved,
        s.limit, s.limit_bytes, s.users, s.thread_cacheable ? "true" : "false",
        JsonString(s.allocator), s.allocated, s.allocated_bytes, s.used,
        s.in_use, s.thread_cached, s.shared_cached, s.needed_avg, s.failed,
        s.limit_failures, s.cap_failures, s.oom_gc_retries, s.oom_gc_recovered,
        s.os_allocs, s.os_releases, s.spans, s.span_bytes, s.objects_per_span,
        s.mapped_bytes, s.span_maps, s.span_unmaps, s.numa_node,
        s.numa_failures, JsonString(s.debug), s.injected_failures);
    bytes += s.allocated_bytes;
    in_use_bytes += s.in_use * static_cast<std::int64_t>(s.object_size);
  }
  out += absl::StrFormat(
      "\n], \"total\": {\"pools\": %d, \"allocated_bytes\": %d, "
      "\"in_use_bytes\": %d}}\n",
      pools.size(), bytes, in_use_bytes);
  return out;
}

std::string DumpPoolsText(const DumpOptions& options) {
  return FormatPoolsText(CollectPoolStats(options));
}

std::string DumpPoolsJson(const DumpOptions& options) {
  return FormatPoolsJson(CollectPoolStats(options));
}

}  // namespace poolkit
