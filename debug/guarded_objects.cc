#include "debug/guarded_objects.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "debug/report.h"

namespace poolkit::debug {
namespace {

constexpr unsigned char kCanary = 0xCB;
constexpr std::size_t kOwnerNameSize = 32;

enum RecordState : int { kFree = 0, kLive = 1, kReleased = 2 };

struct Record {
  // The whole mapping, guards included; read by the fault handler.
  std::atomic<std::uintptr_t> map_begin{0};
  std::atomic<std::uintptr_t> map_end{0};
  // Release-stored after every other field, acquire-loaded by readers.
  std::atomic<int> state{kFree};
  std::uintptr_t object = 0;
  std::size_t size = 0;
  const void* owner = nullptr;
  char owner_name[kOwnerNameSize] = {};
  ObjectTag tag = {};
  Record* next_free = nullptr;
};

// Records are carved from chunks that are never freed, so the fault handler
// may walk them at any time without a lock.
constexpr std::size_t kChunkRecords = 4096;
constexpr std::size_t kMaxChunks = 4096;  // 16M objects

std::atomic<Record*> g_chunks[kMaxChunks];
std::atomic<std::size_t> g_chunk_count{0};

std::atomic<bool> g_touch_inside_lock{false};

struct Tables {
  std::mutex mu;
  Record* free_records = nullptr;
  // Object address -> record, for live and quarantined objects.
  std::unordered_map<std::uintptr_t, Record*> by_object;
  std::deque<Record*> quarantine;
  GuardedCounters counters;
};

Tables& GetTables() {
  static Tables* const tables = new Tables();
  return *tables;
}

std::size_t PageSize() {
  static const std::size_t page =
      static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

Record* NewRecordLocked(Tables& tables) {
  if (tables.free_records == nullptr) {
    std::size_t index = g_chunk_count.load(std::memory_order_relaxed);
    if (index == kMaxChunks) return nullptr;
    void* memory =
        mmap(nullptr, sizeof(Record) * kChunkRecords, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return nullptr;
    Record* chunk = static_cast<Record*>(memory);
    for (std::size_t i = 0; i < kChunkRecords; ++i) {
      new (&chunk[i]) Record();
      chunk[i].next_free = i + 1 < kChunkRecords ? &chunk[i + 1] : nullptr;
    }
    tables.free_records = chunk;
    g_chunks[index].store(chunk, std::memory_order_release);
    // Release: the handler that sees the new count sees the chunk pointer
    // (and its constructed records).
    g_chunk_count.store(index + 1, std::memory_order_release);
  }
  Record* record = tables.free_records;
  tables.free_records = record->next_free;
  return record;
}

void FreeRecordLocked(Tables& tables, Record* record) {
  record->state.store(kFree, std::memory_order_release);
  record->map_begin.store(0, std::memory_order_relaxed);
  record->map_end.store(0, std::memory_order_relaxed);
  record->next_free = tables.free_records;
  tables.free_records = record;
}

// The first byte of the data pages and of the trailing guard page.
std::uintptr_t DataBegin(const Record& r) {
  return r.map_begin.load(std::memory_order_relaxed) + PageSize();
}
std::uintptr_t DataEnd(const Record& r) {
  return r.map_end.load(std::memory_order_relaxed) - PageSize();
}

// Fills the slack before and the gap after the object, and writes the
// object's first word: together this touches the first data page (and the
// object's), so the kernel supplies the pages here, not later under a lock.
void TouchAndFillCanaries(std::uintptr_t data_begin, std::uintptr_t data_end,
                          std::uintptr_t object, std::size_t size) {
  std::memset(reinterpret_cast<void*>(data_begin), kCanary,
              object - data_begin);
  std::memset(reinterpret_cast<void*>(object + size), kCanary,
              data_end - object - size);
  std::memset(reinterpret_cast<void*>(object), 0, sizeof(void*));
}

// The first canary byte that was overwritten, as an offset from the object
// (negative: before it); false if all are intact.
bool FindCanaryBreach(const Record& r, std::ptrdiff_t* offset) {
  const unsigned char* begin =
      reinterpret_cast<const unsigned char*>(DataBegin(r));
  const unsigned char* object =
      reinterpret_cast<const unsigned char*>(r.object);
  const unsigned char* end = reinterpret_cast<const unsigned char*>(DataEnd(r));
  // Nearest the object first: that is where an off-by-one lands.
  for (const unsigned char* p = object; p-- > begin;) {
    if (*p != kCanary) {
      *offset = p - object;
      return true;
    }
  }
  for (const unsigned char* p = object + r.size; p < end; ++p) {
    if (*p != kCanary) {
      *offset = p - object;
      return true;
    }
  }
  return false;
}

struct sigaction g_previous_segv;
struct sigaction g_previous_bus;

void ChainToPrevious(int signal, siginfo_t* info, void* context) {
  const struct sigaction& previous =
      signal == SIGBUS ? g_previous_bus : g_previous_segv;
  if ((previous.sa_flags & SA_SIGINFO) != 0 &&
      previous.sa_sigaction != nullptr) {
    previous.sa_sigaction(signal, info, context);
    return;
  }
  if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN &&
      previous.sa_handler != nullptr) {
    previous.sa_handler(signal);
    return;
  }
  // Default action: restore it and return; the faulting instruction runs
  // again and the kernel kills the process as it would have.
  struct sigaction default_action = {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  sigaction(signal, &default_action, nullptr);
}

void HandleFault(int signal, siginfo_t* info, void* context) {
  const std::uintptr_t address =
      reinterpret_cast<std::uintptr_t>(info->si_addr);
  const std::size_t chunks = g_chunk_count.load(std::memory_order_acquire);
  for (std::size_t c = 0; c < chunks; ++c) {
    Record* chunk = g_chunks[c].load(std::memory_order_acquire);
    for (std::size_t i = 0; i < kChunkRecords; ++i) {
      Record& r = chunk[i];
      int state = r.state.load(std::memory_order_acquire);
      if (state == kFree) continue;
      std::uintptr_t begin = r.map_begin.load(std::memory_order_relaxed);
      std::uintptr_t end = r.map_end.load(std::memory_order_relaxed);
      if (address < begin || address >= end) continue;
      char detail[256];
      FaultReport report;
      report.pool = r.owner_name;
      report.object = reinterpret_cast<const void*>(r.object);
      report.object_size = r.size;
      report.tag = &r.tag;
      report.detail = detail;
      if (address < DataBegin(r)) {
        report.fault = "underflow (guard page before the object)";
        std::snprintf(
            detail, sizeof(detail), "access at %p, %zu bytes before the object",
            info->si_addr, static_cast<std::size_t>(r.object - address));
      } else if (address >= DataEnd(r)) {
        report.fault = "overflow (guard page after the object)";
        std::snprintf(detail, sizeof(detail),
                      "access at %p, %zu bytes past its end", info->si_addr,
                      static_cast<std::size_t>(address - (r.object + r.size)));
      } else if (state == kReleased) {
        report.fault = "use after free (released object)";
        std::snprintf(detail, sizeof(detail), "access at %p, offset %td",
                      info->si_addr,
                      static_cast<std::ptrdiff_t>(address - r.object));
      } else {
        continue;  // a live object's own pages do not fault
      }
      ReportFaultAndAbort(report);
    }
  }
  ChainToPrevious(signal, info, context);
}

}  // namespace

void InstallGuardFaultHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action = {};
    action.sa_sigaction = HandleFault;
    // SA_NODEFER: a fault inside the report (it should not happen) kills
    // the process instead of hanging it.
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &g_previous_segv);
    sigaction(SIGBUS, &action, &g_previous_bus);
  });
}

void* AllocateGuarded(std::size_t size, std::size_t alignment,
                      const void* owner, const char* owner_name) {
  InstallGuardFaultHandler();
  const std::size_t page = PageSize();
  if (alignment == 0) alignment = alignof(std::max_align_t);
  if (alignment > page || size == 0) return nullptr;
  const std::size_t data = (size + page - 1) & ~(page - 1);
  const std::size_t total = data + 2 * page;
  void* memory = mmap(nullptr, total, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) return nullptr;
  const std::uintptr_t begin = reinterpret_cast<std::uintptr_t>(memory);
  const std::uintptr_t data_begin = begin + page;
  const std::uintptr_t data_end = data_begin + data;
  if (mprotect(reinterpret_cast<void*>(data_begin), data,
               PROT_READ | PROT_WRITE) != 0) {
    munmap(memory, total);
    return nullptr;
  }
  // data_end is page-aligned, hence aligned to `alignment`; rounding down
  // stays within the data pages because data >= size.
  const std::uintptr_t object = (data_end - size) & ~(alignment - 1);

  const bool inside = g_touch_inside_lock.load(std::memory_order_relaxed);
  // Seed 004: the first touch of a fresh page is a page fault that costs
  // far more than the mmap; done here, no other thread waits for it.
  if (!inside) TouchAndFillCanaries(data_begin, data_end, object, size);

  Tables& tables = GetTables();
  std::unique_lock<std::mutex> lock(tables.mu);
  if (inside) TouchAndFillCanaries(data_begin, data_end, object, size);
  Record* record = NewRecordLocked(tables);
  if (record == nullptr) {
    lock.unlock();
    munmap(memory, total);
    return nullptr;
  }
  record->object = object;
  record->size = size;
  record->owner = owner;
  std::snprintf(record->owner_name, kOwnerNameSize, "%s",
                owner_name != nullptr ? owner_name : "?");
  record->tag = {};
  record->map_begin.store(begin, std::memory_order_relaxed);
  record->map_end.store(begin + total, std::memory_order_relaxed);
  // Release: the handler that sees the state sees the fields above.
  record->state.store(kLive, std::memory_order_release);
  tables.by_object[object] = record;
  ++tables.counters.live;
  ++tables.counters.mapped_total;
  return reinterpret_cast<void*>(object);
}

void ReleaseGuarded(void* object, std::size_t quarantine) {
  Tables& tables = GetTables();
  std::vector<std::pair<void*, std::size_t>> to_unmap;
  std::uintptr_t data_begin = 0;
  std::size_t data = 0;
  Record* released = nullptr;
  {
    std::lock_guard<std::mutex> lock(tables.mu);
    auto it = tables.by_object.find(reinterpret_cast<std::uintptr_t>(object));
    Record* record = it != tables.by_object.end() ? it->second : nullptr;
    if (record == nullptr ||
        record->state.load(std::memory_order_relaxed) != kLive) {
      FaultReport report;
      report.fault = record == nullptr
                         ? "release of a pointer that is not a guarded object"
                         : "double release of a guarded object";
      report.pool = record != nullptr ? record->owner_name : nullptr;
      report.object = object;
      report.object_size = record != nullptr ? record->size : 0;
      report.tag = record != nullptr ? &record->tag : nullptr;
      ReportFaultAndAbort(report);
    }
    std::ptrdiff_t offset = 0;
    if (FindCanaryBreach(*record, &offset)) {
      char detail[128];
      std::snprintf(detail, sizeof(detail),
                    "byte at offset %td was overwritten (found at release)",
                    offset);
      FaultReport report;
      report.fault = offset < 0 ? "underflow (canary before the object)"
                                : "overflow (canary after the object)";
      report.pool = record->owner_name;
      report.object = object;
      report.object_size = record->size;
      report.detail = detail;
      report.tag = &record->tag;
      ReportFaultAndAbort(report);
    }
    // Marked released before the pages go: an access racing with this
    // release either still succeeds or faults and is reported as a use
    // after free (never as an unknown fault).
    record->state.store(kReleased, std::memory_order_release);
    released = record;
    data_begin = DataBegin(*record);
    data = DataEnd(*record) - data_begin;
    --tables.counters.live;
  }
  // Fresh inaccessible pages over the data give its memory back and keep
  // the range reserved, in one call. Done before the record enters the
  // quarantine: until then nobody can evict and unmap the range, so this
  // never maps over a range that another mapping reuses.
  mmap(reinterpret_cast<void*>(data_begin), data, PROT_NONE,
       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  {
    std::lock_guard<std::mutex> lock(tables.mu);
    ++tables.counters.quarantined;
    tables.quarantine.push_back(released);
    while (tables.quarantine.size() > quarantine) {
      Record* oldest = tables.quarantine.front();
      tables.quarantine.pop_front();
      std::uintptr_t begin = oldest->map_begin.load(std::memory_order_relaxed);
      std::uintptr_t end = oldest->map_end.load(std::memory_order_relaxed);
      to_unmap.emplace_back(reinterpret_cast<void*>(begin), end - begin);
      tables.by_object.erase(oldest->object);
      FreeRecordLocked(tables, oldest);
      --tables.counters.quarantined;
      ++tables.counters.unmapped_total;
    }
  }
  for (const auto& range : to_unmap) munmap(range.first, range.second);
}

GuardedState LookupGuarded(const void* object, ObjectTag** tag,
                           const char** owner_name) {
  Tables& tables = GetTables();
  std::lock_guard<std::mutex> lock(tables.mu);
  auto it = tables.by_object.find(reinterpret_cast<std::uintptr_t>(object));
  if (it == tables.by_object.end()) return GuardedState::kUnknown;
  Record* record = it->second;
  if (tag != nullptr) *tag = &record->tag;
  if (owner_name != nullptr) *owner_name = record->owner_name;
  return record->state.load(std::memory_order_relaxed) == kLive
             ? GuardedState::kLive
             : GuardedState::kReleased;
}

GuardedCounters GetGuardedCounters() {
  Tables& tables = GetTables();
  std::lock_guard<std::mutex> lock(tables.mu);
  return tables.counters;
}

void LockGuardedTablesForFork() { GetTables().mu.lock(); }
void UnlockGuardedTablesAfterFork() { GetTables().mu.unlock(); }

void SetTouchInsideLockForBenchmark(bool inside) {
  g_touch_inside_lock.store(inside, std::memory_order_relaxed);
}

}  // namespace poolkit::debug
