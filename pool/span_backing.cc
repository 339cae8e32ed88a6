// The span backing: objects carved from mmap'd spans with no per-object
// header, a fully free span returned to the OS.
//
// Per pool: one lock over the spans' lists (held for list work only, never
// across mmap/munmap), the spans with room in a list (carving takes from
// the first, so spans that regain room late fill last and get a chance to
// empty), and at most one empty span kept mapped, so that a pool whose
// objects all go back at once (strategy "none", a drained burst) does not
// map and unmap a span per cycle; Trim() releases it.
//
// Safety of unmapping: a span is unmapped only when every object of it has
// come back through Deallocate(), which the pool calls after its shared
// cache's ReleaseBarrier(): no thread can still be reading a link inside
// one of them (the same argument as for free() on the malloc backing; see
// DwcasStack).
#include <linux/mempolicy.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "pool/internal/backing.h"
#include "pool/internal/page_map.h"
#include "pool/internal/span_geometry.h"
#include "pool/internal/spin_lock.h"

namespace poolkit::internal {

// A span's bookkeeping, outside the span (a 2 MiB object fills its span).
struct Span {
  char* start = nullptr;
  std::uint32_t carved = 0;  // objects ever carved (a bump pointer)
  std::uint32_t live = 0;    // carved and not given back
  FreeItem* free = nullptr;  // given back, to carve again first
  bool listed = false;       // in the list of spans with room
  Span* prev = nullptr;      // that list
  Span* next = nullptr;
  Span* all_prev = nullptr;  // every span of the backing
  Span* all_next = nullptr;
};

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kMaxExtraGranules = 64;

class SpanBacking final : public Backing {
 public:
  SpanBacking(Pool* pool, bool huge_pages, int numa_node)
      : pool_(pool), huge_pages_(huge_pages), numa_node_(numa_node) {}

  ~SpanBacking() override {
    // The pool is being freed: every object came back (the registry frees
    // only drained pools), so every span is empty.
    for (Span* span = all_; span != nullptr;) {
      Span* next = span->all_next;
      Unmap(span);
      span = next;
    }
  }

  std::uint32_t Allocate(std::size_t size, std::size_t alignment,
                         std::uint32_t count, FreeItem** out) override {
    FreeItem* first = nullptr;
    FreeItem* last = nullptr;
    std::uint32_t got = 0;
    lock_.Lock();
    if (geometry_.stride == 0) geometry_ = ChooseSpanGeometry(size, alignment);
    while (got < count) {
      Span* span = room_first_;
      if (span == nullptr && spare_ != nullptr) {
        span = spare_;
        spare_ = nullptr;
        Link(span);
      }
      if (span == nullptr) {
        // Map outside the lock: other threads of the pool go on carving.
        lock_.Unlock();
        span = Map();
        lock_.Lock();
        if (span == nullptr) break;
        AddToAll(span);
        Link(span);
      }
      got += Carve(span, count - got, &first, &last);
    }
    lock_.Unlock();
    if (last != nullptr) last->next = nullptr;
    *out = first;
    return got;
  }

  std::uint32_t Deallocate(std::size_t, std::size_t, FreeItem* run) override {
    Span* release = nullptr;
    std::uint32_t n = 0;
    lock_.Lock();
    while (run != nullptr) {
      FreeItem* item = run;
      run = run->next;
      ++n;
      Span* span = PageMap::SpanAt(item);
      item->next = span->free;
      span->free = item;
      if (!span->listed) Link(span);
      if (--span->live != 0) continue;
      Unlink(span);
      span->free = nullptr;
      span->carved = 0;
      if (spare_ == nullptr) {
        spare_ = span;
      } else {
        RemoveFromAll(span);
        span->next = release;
        release = span;
      }
    }
    lock_.Unlock();
    while (release != nullptr) {
      Span* next = release->next;
      Unmap(release);
      release = next;
    }
    return n;
  }

  void ReleaseUnused() override {
    lock_.Lock();
    Span* span = spare_;
    spare_ = nullptr;
    if (span != nullptr) RemoveFromAll(span);
    lock_.Unlock();
    if (span != nullptr) Unmap(span);
  }

  bool InPageMap() const override { return true; }

  bool ObjectStart(const void* address, const void** start) const override {
    const Span* span = PageMap::SpanAt(address);
    if (span == nullptr || PageMap::PoolAt(address) != pool_) return false;
    const std::size_t offset = static_cast<std::size_t>(
        static_cast<const char*>(address) - span->start);
    // Unlocked read of geometry_: it is written once, under lock_, before
    // the first span is mapped, and the span was found through the page map
    // (SpanAt's acquire pairs with Insert()'s release, which follows that
    // write), so the read is ordered after it.
    const std::size_t index = geometry_.IndexAt(offset);
    if (index == geometry_.objects) {
      *start = nullptr;  // a row gap or the span's unused tail
      return true;
    }
    *start = span->start + geometry_.OffsetOf(index);
    return true;
  }

  void LockForFork() override { lock_.Lock(); }
  void UnlockAfterFork() override { lock_.Unlock(); }

  const char* Name() const override { return "spans"; }

  BackingStats Stats() const override {
    BackingStats stats;
    stats.spans = spans_.load(std::memory_order_relaxed);
    stats.span_bytes =
        static_cast<std::int64_t>(span_bytes_.load(std::memory_order_relaxed));
    stats.objects_per_span = static_cast<std::int64_t>(
        objects_per_span_.load(std::memory_order_relaxed));
    stats.mapped_bytes = stats.spans * stats.span_bytes;
    stats.maps = maps_.load(std::memory_order_relaxed);
    stats.unmaps = unmaps_.load(std::memory_order_relaxed);
    stats.numa_failures = numa_failures_.load(std::memory_order_relaxed);
    return stats;
  }

 private:
  // Up to `want` objects of `span` appended to first..last; unlinks the
  // span once it is full.
  std::uint32_t Carve(Span* span, std::uint32_t want, FreeItem** first,
                      FreeItem** last) {
    const std::uint32_t capacity =
        static_cast<std::uint32_t>(geometry_.objects);
    std::uint32_t got = 0;
    while (got < want) {
      FreeItem* item = span->free;
      if (item != nullptr) {
        span->free = item->next;
      } else if (span->carved < capacity) {
        item = reinterpret_cast<FreeItem*>(span->start +
                                           geometry_.OffsetOf(span->carved));
        ++span->carved;
      } else {
        break;
      }
      if (*last != nullptr) {
        (*last)->next = item;
      } else {
        *first = item;
      }
      *last = item;
      ++got;
    }
    span->live += got;
    if (span->free == nullptr && span->carved == capacity) Unlink(span);
    return got;
  }

  Span* Map() {
    const std::size_t bytes = geometry_.span_bytes;
    const std::size_t align = geometry_.alignment;
    // Over-map by the alignment less a page, then cut both ends.
    const std::size_t page = 4096;
    const std::size_t length = bytes + align - page;
    void* raw = mmap(nullptr, length, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    const std::uintptr_t base = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t start = (base + align - 1) & ~(align - 1);
    if (start > base) munmap(raw, start - base);
    const std::uintptr_t end = base + length;
    if (end > start + bytes) {
      munmap(reinterpret_cast<void*>(start + bytes), end - (start + bytes));
    }
    char* memory = reinterpret_cast<char*>(start);
    if (huge_pages_ && bytes >= kHugePage) {
      // Advice only: a kernel without THP keeps small pages.
      madvise(memory, bytes, MADV_HUGEPAGE);
    }
    if (numa_node_ >= 0 && !PreferNode(memory, bytes)) {
      numa_failures_.fetch_add(1, std::memory_order_relaxed);
    }
    auto* span = new Span;
    span->start = memory;
    if (!PageMap::Insert(memory, bytes, pool_, span)) {
      munmap(memory, bytes);
      delete span;
      return nullptr;
    }
    span_bytes_.store(bytes, std::memory_order_relaxed);
    objects_per_span_.store(geometry_.objects, std::memory_order_relaxed);
    spans_.fetch_add(1, std::memory_order_relaxed);
    maps_.fetch_add(1, std::memory_order_relaxed);
    return span;
  }

  // Before the span's first touch, so that its pages are faulted in on the
  // node. The raw system call: libnuma is not a dependency, and only mbind
  // is needed. MPOL_PREFERRED, not MPOL_BIND: a full node then lends pages
  // from another instead of the OOM killer stepping in.
  bool PreferNode(void* memory, std::size_t bytes) const {
    unsigned long mask[(kMaxNumaNode + 1) / (8 * sizeof(unsigned long))] = {};
    const std::size_t bits = 8 * sizeof(unsigned long);
    mask[static_cast<std::size_t>(numa_node_) / bits] |=
        1ul << (static_cast<std::size_t>(numa_node_) % bits);
    return syscall(SYS_mbind, memory, bytes, MPOL_PREFERRED, mask,
                   kMaxNumaNode + 1, 0) == 0;
  }

  void Unmap(Span* span) {
    PageMap::Erase(span->start, geometry_.span_bytes);
    munmap(span->start, geometry_.span_bytes);
    delete span;
    spans_.fetch_sub(1, std::memory_order_relaxed);
    unmaps_.fetch_add(1, std::memory_order_relaxed);
  }

  // The list of spans with room: appended at the tail.
  void Link(Span* span) {
    span->listed = true;
    span->next = nullptr;
    span->prev = room_last_;
    if (room_last_ != nullptr) {
      room_last_->next = span;
    } else {
      room_first_ = span;
    }
    room_last_ = span;
  }
  void Unlink(Span* span) {
    if (!span->listed) return;
    span->listed = false;
    (span->prev != nullptr ? span->prev->next : room_first_) = span->next;
    (span->next != nullptr ? span->next->prev : room_last_) = span->prev;
    span->prev = span->next = nullptr;
  }
  void AddToAll(Span* span) {
    span->all_prev = nullptr;
    span->all_next = all_;
    if (all_ != nullptr) all_->all_prev = span;
    all_ = span;
  }
  void RemoveFromAll(Span* span) {
    (span->all_prev != nullptr ? span->all_prev->all_next : all_) =
        span->all_next;
    if (span->all_next != nullptr) span->all_next->all_prev = span->all_prev;
  }

  Pool* const pool_;
  const bool huge_pages_;
  const int numa_node_;
  SpinLock lock_;
  // Under lock_ (geometry_ is written once, on the first Allocate()).
  SpanGeometry geometry_;
  Span* room_first_ = nullptr;
  Span* room_last_ = nullptr;
  Span* spare_ = nullptr;
  Span* all_ = nullptr;
  // Statistics (relaxed).
  std::atomic<std::size_t> span_bytes_{0};
  std::atomic<std::size_t> objects_per_span_{0};
  std::atomic<std::int64_t> spans_{0};
  std::atomic<std::uint64_t> maps_{0};
  std::atomic<std::uint64_t> unmaps_{0};
  std::atomic<std::uint64_t> numa_failures_{0};
};

class AllocatorBacking final : public Backing {
 public:
  explicit AllocatorBacking(ObjectAllocator* allocator)
      : allocator_(allocator) {}

  std::uint32_t Allocate(std::size_t size, std::size_t alignment,
                         std::uint32_t count, FreeItem** out) override {
    FreeItem* first = nullptr;
    std::uint32_t got = 0;
    for (; got < count; ++got) {
      auto* item =
          static_cast<FreeItem*>(allocator_->Allocate(size, alignment));
      if (item == nullptr) break;
      item->next = first;
      first = item;
    }
    *out = first;
    return got;
  }

  std::uint32_t Deallocate(std::size_t size, std::size_t alignment,
                           FreeItem* run) override {
    std::uint32_t n = 0;
    while (run != nullptr) {
      FreeItem* next = run->next;
      allocator_->Deallocate(run, size, alignment);
      run = next;
      ++n;
    }
    return n;
  }

  const char* Name() const override { return allocator_->Name(); }

 private:
  ObjectAllocator* const allocator_;
};

}  // namespace

SpanGeometry ChooseSpanGeometry(std::size_t size, std::size_t alignment) {
  SpanGeometry best;
  const std::size_t rounded = (size + alignment - 1) & ~(alignment - 1);
  std::size_t stride = rounded;
  // Objects a whole number of pages apart start at the same place in every
  // page, so their first lines (the free-list link, and what a user touches
  // first) all fall in the same cache sets (caches index by the address
  // within the page). One cache line more per object spreads them over
  // every set, where that costs at most 1/128. Measured with poolbench
  // (--quick --patterns=batch --batch=1000 --threads=1, this 2-vCPU VM):
  // 16 KiB objects 29.6 ns a pair unpadded against the malloc backing's
  // 12.1 (glibc's 16-byte header spreads them), 17.8 padded; 48 KiB 27.2,
  // then 17.1, against 12.4. The pad counts as waste below, so the spans of
  // padded sizes grow until pad and tail together stay within 1/128 (16 KiB:
  // 2 MiB spans of 127). From 64 KiB on the pad and the tail cannot both fit
  // that, and such objects keep their page-aligned starts.
  const std::size_t pad = std::max<std::size_t>(64, alignment);
  if (stride % 4096 == 0 && stride < 65536 && pad * 128 <= stride) {
    stride += pad;
  }
  // Smaller strides that are multiples of 512 put their objects' first
  // lines in 8 or fewer of a page's 64 line slots (1 KiB: 4; 4 KiB: 1), so
  // a batch of them shares a few cache sets; a pad per object would cost
  // more than 1/128 (1 KiB + 64 B is 6%). Instead the objects go in rows of
  // at least 16 KiB with a line after each row: each row starts one line
  // further on than the row length alone would put it (1 KiB, 4 KiB: one
  // line further into the page), so 64 consecutive objects cover 16 sets or
  // more, for a pad of at most 1/256 (only where the pad is one line:
  // objects aligned to 512 or more cannot be spread by it, and a bigger
  // pad would cost more). Measured with poolbench --quick
  // --patterns=batch --sizes=1K,4K --threads=1,2 --contenders=xchg,
  // xchg-spans,glibc --repeats=5 (the 2-vCPU dev VM, two runs each,
  // spans/malloc backing, batches of 64 and 1000 on 1 and 2 threads):
  // 1 KiB 1.11-2.58x before, 1.00-1.06x or ahead after; 4 KiB 1.58-7.9x
  // before, 1.26-1.52x or ahead after (the rest not found).
  std::size_t row_objects = 0;
  std::size_t row_bytes = 0;
  if (stride % 512 == 0 && stride < 8192 && pad == 64) {
    row_objects = (16384 + stride - 1) / stride;
    row_bytes = row_objects * stride + pad;
    // Tried and not kept: carving 4 KiB rows down their columns, so that
    // neighbours in a batch differ in their address bits below 4 KiB
    // (store-to-load alias checks). Three alternating runs of poolbench
    // --quick --patterns=batch --sizes=4K --threads=1,2 --repeats=7,
    // spans/malloc: batches of 64 on one thread 1.04-1.11x against
    // 1.20-1.21x along the rows, on two threads 1.28-2.07x against
    // 1.24-1.35x; batches of 1000 the same. No net gain.
  }
  const std::size_t granule = PageMap::kGranule;
  const std::size_t first = (stride + granule - 1) / granule;
  double best_waste = 2.0;
  for (std::size_t g = first; g <= first + kMaxExtraGranules; ++g) {
    const std::size_t bytes = g * granule;
    std::size_t objects = bytes / stride;
    if (row_objects != 0) {
      const std::size_t rest = bytes % row_bytes;
      objects = bytes / row_bytes * row_objects +
                std::min(row_objects, rest / stride);
    }
    const double waste = static_cast<double>(bytes - objects * rounded) /
                         static_cast<double>(bytes);
    if (waste < best_waste) {
      best_waste = waste;
      best.span_bytes = bytes;
      best.objects = objects;
    }
    if (waste <= 1.0 / 128) break;
  }
  best.stride = stride;
  best.row_objects = row_objects != 0 ? row_objects : best.objects;
  // No gaps: one row, the whole span.
  best.row_bytes = row_objects != 0 ? row_bytes : best.span_bytes;
  best.alignment = best.span_bytes >= kHugePage ? kHugePage : granule;
  return best;
}

std::unique_ptr<Backing> MakeAllocatorBacking(ObjectAllocator* allocator) {
  return std::make_unique<AllocatorBacking>(allocator);
}

std::unique_ptr<Backing> MakeSpanBacking(Pool* pool, bool huge_pages,
                                         int numa_node) {
  return std::make_unique<SpanBacking>(pool, huge_pages, numa_node);
}

}  // namespace poolkit::internal
