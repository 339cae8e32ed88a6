// The debugging aids of a pool (PoolOptions::debug, POOLKIT_DEBUG): the
// slow-path halves of Alloc() and Free() for pools that have any. Such pools
// never cache objects per thread, so every call comes through here.
#include "pool/internal/pool_debug.h"

#include <cstdio>
#include <cstring>

#include "debug/guarded_objects.h"
#include "debug/integrity.h"
#include "debug/report.h"
#include "pool/internal/registry.h"
#include "pool/internal/thread_state.h"
#include "pool/pool.h"

namespace poolkit {
namespace {

using internal::FreeItem;

// Where the tag sits after an ordinary object: the next 8-byte boundary.
std::size_t TagOffset(std::size_t size) {
  return (size + alignof(debug::ObjectTag) - 1) &
         ~(alignof(debug::ObjectTag) - 1);
}

bool TagsInObjects(const DebugOptions& options) {
  return (options.tag || options.caller) && !options.Guarded();
}

}  // namespace

std::size_t Pool::AllocationSize() const {
  if (TagsInObjects(debug_options_)) {
    return TagOffset(object_size()) + sizeof(debug::ObjectTag);
  }
  return object_size();
}

debug::ObjectTag* Pool::TagOf(void* object) const {
  if (debug_options_.Guarded()) {
    debug::ObjectTag* tag = nullptr;
    debug::LookupGuarded(object, &tag, nullptr);
    return tag;
  }
  if (!TagsInObjects(debug_options_)) return nullptr;
  return reinterpret_cast<debug::ObjectTag*>(static_cast<char*>(object) +
                                             TagOffset(object_size()));
}

void Pool::ReportMisuse(const char* fault, const void* object,
                        const char* detail, const debug::ObjectTag* tag) const {
  debug::FaultReport report;
  report.fault = fault;
  report.pool = name_.c_str();
  report.object = object;
  report.object_size = object_size();
  report.detail = detail;
  report.tag = debug_options_.caller ? tag : nullptr;
  debug::ReportFaultAndAbort(report);
}

void* Pool::AllocDebug(const void* caller) {
  internal::PoolDebugState& state = *debug_state_;
  const DebugOptions& options = debug_options_;
  if (state.injector.enabled() && state.injector.ShouldFail()) {
    state.injected_failures.fetch_add(1, std::memory_order_relaxed);
    failed_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  bool reused = false;
  FreeItem* object = TakeObject(internal::ThreadState::Current(), &reused);
  if (object == nullptr) return nullptr;

  debug::ObjectTag* tag = TagOf(object);
  if (reused && tag != nullptr && tag->owner_word != debug::FreeTagWord(this)) {
    // A free object of ours whose tag changed: the object before it (or a
    // stray pointer) wrote past its end while it was free.
    char detail[96];
    std::snprintf(detail, sizeof(detail),
                  "tag of a free object overwritten (0x%zx)",
                  static_cast<std::size_t>(tag->owner_word));
    ReportMisuse("corrupted free object", object, detail, tag);
  }
  if (reused && options.integrity) {
    debug::PatternBreach breach;
    if (debug::FindIntegrityBreach(object, object_size(), sizeof(FreeItem),
                                   &breach)) {
      char detail[128];
      std::snprintf(detail, sizeof(detail),
                    "first corrupted byte at offset %zu: expected 0x%02x, "
                    "found 0x%02x (written after free)",
                    breach.offset, breach.expected, breach.found);
      ReportMisuse("integrity breach", object, detail, tag);
    }
  }
  if (tag != nullptr) {
    tag->owner_word = debug::LiveTagWord(this);
    if (options.caller) tag->alloc_caller = caller;
  }
  if (options.poison) std::memset(object, options.poison_byte, object_size());
  return object;
}

void Pool::FreeDebug(void* object, const void* caller) {
  const DebugOptions& options = debug_options_;
  debug::ObjectTag* tag = nullptr;
  char detail[160];
  if (options.Guarded()) {
    const char* owner_name = nullptr;
    switch (debug::LookupGuarded(object, &tag, &owner_name)) {
      case debug::GuardedState::kUnknown:
        std::snprintf(detail, sizeof(detail),
                      "not an object of any guarded pool (foreign pointer, "
                      "or freed long ago)");
        ReportMisuse("free of an unknown pointer", object, detail, nullptr);
      case debug::GuardedState::kReleased:
        std::snprintf(detail, sizeof(detail),
                      "the object was already freed and released (pool '%s')",
                      owner_name);
        ReportMisuse("double free", object, detail, tag);
      case debug::GuardedState::kLive:
        break;
    }
    if (tag->owner_word != debug::LiveTagWord(this) &&
        tag->owner_word != debug::FreeTagWord(this)) {
      std::snprintf(detail, sizeof(detail), "the object belongs to pool '%s'",
                    owner_name);
      ReportMisuse("free into the wrong pool", object, detail, tag);
    }
  } else {
    tag = TagOf(object);
  }
  if (tag != nullptr) {
    if (tag->owner_word == debug::FreeTagWord(this)) {
      std::snprintf(detail, sizeof(detail), "the object is already free");
      ReportMisuse("double free", object, detail, tag);
    }
    if (tag->owner_word != debug::LiveTagWord(this)) {
      std::string owner = internal::Registry::Global().NameOfPoolForReport(
          reinterpret_cast<const void*>(tag->owner_word & ~debug::kTagFreeBit));
      if (!owner.empty()) {
        std::snprintf(detail, sizeof(detail), "the object belongs to pool '%s'",
                      owner.c_str());
        ReportMisuse("free into the wrong pool", object, detail, tag);
      }
      std::snprintf(detail, sizeof(detail),
                    "tag 0x%zx names no pool: an overflow from the object, "
                    "or a pointer that no pool handed out",
                    static_cast<std::size_t>(tag->owner_word));
      ReportMisuse("corrupted tag", object, detail, tag);
    }
    tag->owner_word = debug::FreeTagWord(this);
    if (options.caller) tag->free_caller = caller;
  }
  if (options.integrity) {
    debug::FillIntegrityPattern(object, object_size(), sizeof(FreeItem));
  }
  FreeItem* item = static_cast<FreeItem*>(object);
  item->next = nullptr;
  EvictFront(item, UINT32_MAX, internal::ThreadState::Current());
}

}  // namespace poolkit
