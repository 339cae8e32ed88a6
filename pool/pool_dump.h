// Reports of every pool: a text table for people, JSON for programs.
#ifndef POOLKIT_POOL_POOL_DUMP_H_
#define POOLKIT_POOL_POOL_DUMP_H_

#include <string>
#include <vector>

#include "arch/cxx17_required.h"
#include "pool/pool_stats.h"

namespace poolkit {

struct DumpOptions {
  enum class SortBy { kName, kSize, kUsage };
  // kUsage: by allocated bytes, largest first; kSize: by object size,
  // largest first.
  SortBy sort_by = SortBy::kName;
  // Only pools whose name starts with this.
  std::string prefix;
};

// Statistics of every live pool, filtered and sorted as asked.
std::vector<PoolStats> CollectPoolStats(const DumpOptions& options = {});

// One line per pool, then a total. Thread-cache counts carry a "~": they
// are read without stopping the threads.
std::string DumpPoolsText(const DumpOptions& options = {});
// {"pools": [{...}, ...], "total": {...}}
std::string DumpPoolsJson(const DumpOptions& options = {});

// The same for given statistics (for tools that collect them themselves).
std::string FormatPoolsText(const std::vector<PoolStats>& pools);
std::string FormatPoolsJson(const std::vector<PoolStats>& pools);

}  // namespace poolkit

#endif  // POOLKIT_POOL_POOL_DUMP_H_
