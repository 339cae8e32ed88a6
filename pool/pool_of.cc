#include "pool/pool_of.h"

#include <cstddef>
#include <cstdio>

#include "debug/report.h"
#include "pool/internal/page_map.h"

namespace poolkit {
namespace internal {

class ObjectLookup {
 public:
  static void Free(void* object) {
    Pool* pool = PageMap::PoolAt(object);
    if (pool == nullptr) {
      Report(nullptr, object, "free of memory no pool owns",
             "no span of any span-backed pool holds this address");
    }
    const void* start = nullptr;
    if (!pool->backing_->ObjectStart(object, &start) || start != object) {
      char detail[96];
      if (start != nullptr) {
        std::snprintf(
            detail, sizeof(detail), "%zu bytes past the start of an object",
            static_cast<std::size_t>(static_cast<char*>(object) -
                                     static_cast<const char*>(start)));
      } else {
        std::snprintf(detail, sizeof(detail),
                      "in a span's unused bytes (a row gap or the tail)");
      }
      Report(pool, object, "free of a pointer inside an object", detail);
    }
    pool->Free(object);
  }

 private:
  [[noreturn]] static void Report(const Pool* pool, const void* object,
                                  const char* fault, const char* detail) {
    debug::FaultReport report;
    report.fault = fault;
    report.pool = pool != nullptr ? pool->name().c_str() : nullptr;
    report.object = object;
    report.object_size = pool != nullptr ? pool->object_size() : 0;
    report.detail = detail;
    debug::ReportFaultAndAbort(report);
  }
};

}  // namespace internal

Pool* PoolOf(const void* address) { return internal::PageMap::PoolAt(address); }

void Free(void* object) {
  if (object == nullptr) return;
  internal::ObjectLookup::Free(object);
}

}  // namespace poolkit
