// The four shared-cache strategies against malloc/free, per object size and
// pattern:
//   hot    one thread allocates and frees one object, again and again;
//   batch  one thread allocates 64 objects, then frees them;
//   cross  thread 0 allocates, thread 1 frees (through a lock-free ring).
//
//   tools/bazelw run -c opt //pool:pool_benchmark
//
// Names read BM_<pattern>/<contender>/<size>. Ratios against malloc come
// from the same run (see README).
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "debug/guarded_objects.h"
#include "pool/pool.h"
#include "pool/pool_dump.h"
#include "pool/registry.h"

namespace poolkit {
namespace {

constexpr std::size_t kSizes[] = {64, 1024, 16 * 1024, 48 * 1024,
                                  2 * 1024 * 1024};
constexpr int kBatch = 64;

// Contender 0..3: a poolkit strategy; 4: malloc/free.
constexpr int kMalloc = kNumSharedCacheStrategies;

std::string ContenderName(int contender) {
  return contender == kMalloc
             ? "malloc"
             : std::string(
                   StrategyName(static_cast<SharedCacheStrategy>(contender)));
}

// One pool per (strategy, size), created on first use and kept: the
// benchmarks measure steady state, not creation.
Pool* PoolFor(int contender, std::size_t size) {
  // Both threads of a cross-thread benchmark get here at once.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  static Pool* pools[kNumSharedCacheStrategies][8] = {};
  int size_index = 0;
  while (kSizes[size_index] != size) ++size_index;
  Pool*& pool = pools[contender][size_index];
  if (pool == nullptr) {
    PoolOptions options;
    options.name =
        "bench-" + ContenderName(contender) + "-" + std::to_string(size);
    options.object_size = size;
    options.strategy = static_cast<SharedCacheStrategy>(contender);
    pool = *CreatePool(options);
  }
  return pool;
}

// Touch the first cache line, as a real user would: an untouched malloc'd
// 2 MiB block costs nothing, a touched one may page-fault.
inline void Use(void* object) {
  static_cast<volatile char*>(object)[0] = 1;
  benchmark::DoNotOptimize(object);
}

struct Allocator {
  Pool* pool;
  std::size_t size;
  void* Alloc() const { return pool ? pool->Alloc() : std::malloc(size); }
  void Free(void* object) const {
    if (pool) {
      pool->Free(object);
    } else {
      std::free(object);
    }
  }
};

// OS allocator calls (allocations + releases) made by a pool so far.
std::uint64_t OsCalls(const Allocator& allocator) {
  if (allocator.pool == nullptr) return 0;
  PoolStats stats = allocator.pool->Stats();
  return stats.os_allocs + stats.os_releases;
}

// Reports OS calls per pair for pools (malloc: not counted, left out), to
// show which patterns reach a steady state that never touches the OS.
void ReportOsCalls(benchmark::State& state, const Allocator& allocator,
                   std::uint64_t before, std::int64_t pairs) {
  if (allocator.pool == nullptr || pairs == 0) return;
  state.counters["os_calls_per_pair"] =
      static_cast<double>(OsCalls(allocator) - before) /
      static_cast<double>(pairs);
}

Allocator AllocatorFor(const benchmark::State& state) {
  int contender = static_cast<int>(state.range(0));
  std::size_t size = static_cast<std::size_t>(state.range(1));
  return {contender == kMalloc ? nullptr : PoolFor(contender, size), size};
}

void BM_Hot(benchmark::State& state) {
  Allocator allocator = AllocatorFor(state);
  std::uint64_t os_before = OsCalls(allocator);
  for (auto _ : state) {
    void* object = allocator.Alloc();
    Use(object);
    allocator.Free(object);
  }
  ReportOsCalls(state, allocator, os_before, state.iterations());
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(ContenderName(static_cast<int>(state.range(0))));
}

void BM_Batch(benchmark::State& state) {
  Allocator allocator = AllocatorFor(state);
  void* objects[kBatch];
  std::uint64_t os_before = OsCalls(allocator);
  for (auto _ : state) {
    for (void*& object : objects) {
      object = allocator.Alloc();
      Use(object);
    }
    for (void* object : objects) allocator.Free(object);
  }
  // One item = one alloc+free pair.
  ReportOsCalls(state, allocator, os_before, state.iterations() * kBatch);
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetLabel(ContenderName(static_cast<int>(state.range(0))));
}

// Single-producer single-consumer ring for the cross-thread hand-off.
class Ring {
 public:
  bool Push(void* object) {
    std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) == kCapacity) {
      return false;
    }
    slots_[tail % kCapacity] = object;
    // Release: the slot (and the object's contents) before the new tail.
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }
  void* Pop() {
    std::size_t head = head_.load(std::memory_order_relaxed);
    // Acquire: pairs with Push's release of the tail.
    if (head == tail_.load(std::memory_order_acquire)) return nullptr;
    void* object = slots_[head % kCapacity];
    head_.store(head + 1, std::memory_order_release);
    return object;
  }

 private:
  static constexpr std::size_t kCapacity = 256;
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
  alignas(64) void* slots_[kCapacity] = {};
};

// The CPUs this process may use, as found before any pinning.
const cpu_set_t& AllowedCpus() {
  static const cpu_set_t allowed = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) CPU_ZERO(&set);
    return set;
  }();
  return allowed;
}

// Runs the calling thread on one CPU, the `nth` allowed one (modulo their
// number). Left to the scheduler, the two threads of a cross-thread
// benchmark sometimes shared one CPU of this 2-vCPU machine for a whole run,
// and the hand-off then cost 3-4x more for every allocator (a bimodal
// benchmark).
void PinToCpu(int nth) {
  const cpu_set_t& allowed = AllowedCpus();
  int count = CPU_COUNT(&allowed);
  if (count < 2) return;
  int wanted = nth % count;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (!CPU_ISSET(i, &allowed) || wanted-- != 0) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(i, &one);
    pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
    return;
  }
}

// Undoes PinToCpu (Google Benchmark runs thread 0 on the main thread, whose
// affinity later threads inherit).
void Unpin() {
  const cpu_set_t& allowed = AllowedCpus();
  if (CPU_COUNT(&allowed) > 0) {
    pthread_setaffinity_np(pthread_self(), sizeof(allowed), &allowed);
  }
}

void BM_Cross(benchmark::State& state) {
  static Ring ring;
  PinToCpu(state.thread_index());
  Allocator allocator = AllocatorFor(state);
  if (state.thread_index() == 0) {
    std::uint64_t os_before = OsCalls(allocator);
    for (auto _ : state) {
      void* object = allocator.Alloc();
      Use(object);
      while (!ring.Push(object)) {
      }
    }
    ReportOsCalls(state, allocator, os_before, state.iterations());
  } else {
    for (auto _ : state) {
      void* object;
      while ((object = ring.Pop()) == nullptr) {
      }
      allocator.Free(object);
    }
  }
  Unpin();
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(ContenderName(static_cast<int>(state.range(0))));
}

void Contenders(benchmark::internal::Benchmark* benchmark) {
  benchmark->ArgNames({"contender", "size"});
  for (int contender = 0; contender <= kMalloc; ++contender) {
    for (std::size_t size : kSizes) {
      benchmark->Args({contender, static_cast<std::int64_t>(size)});
    }
  }
}

// Seed 004: one object per mmap (a `uaf` debug pool: every free unmaps), 1 MiB
// objects, several threads, the first page touched before (outside) or
// while holding (inside) the guarded-object table's lock. HAProxy measured
// 8x for outside in its debug mode.
void BM_Seed004(benchmark::State& state) {
  const bool inside = state.range(0) != 0;
  debug::SetTouchInsideLockForBenchmark(inside);
  static Pool* pool = [] {
    PoolOptions options;
    options.name = "bench-seed004";
    options.object_size = 1 << 20;
    options.debug.uaf = true;
    options.debug.quarantine = 0;  // unmap at once, as HAProxy's DEBUG_UAF
    return *CreatePool(options);
  }();
  for (auto _ : state) {
    void* object = pool->Alloc();
    Use(object);
    pool->Free(object);
  }
  state.SetLabel(inside ? "touch-inside-lock" : "touch-outside-lock");
}

// AllocBulk/FreeBulk of 32 objects against 32 Alloc()/Free() calls, on an
// xchg pool of either backing (issue 11's bulk target: less per object).
// touch:1 writes every object between the allocations and the frees, in a
// pass of its own in both cases (what a bulk caller can do); touch:2, for
// single calls only, writes each object as it comes (what only single calls
// allow). One item = one alloc+free pair.
constexpr int kBulk = 32;

Pool* BulkPool(std::size_t size, bool spans) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  static Pool* pools[2][8] = {};
  int size_index = 0;
  while (kSizes[size_index] != size) ++size_index;
  Pool*& pool = pools[spans][size_index];
  if (pool == nullptr) {
    PoolOptions options;
    options.name = std::string("bench-bulk-") + (spans ? "spans-" : "malloc-") +
                   std::to_string(size);
    options.object_size = size;
    options.backing = spans ? PoolBacking::kSpans : PoolBacking::kMalloc;
    pool = *CreatePool(options);
  }
  return pool;
}

void BM_Bulk32(benchmark::State& state) {
  const bool bulk = state.range(0) != 0;
  const std::size_t size = static_cast<std::size_t>(state.range(1));
  const bool spans = state.range(2) != 0;
  const std::int64_t touch = state.range(3);
  Pool* pool = BulkPool(size, spans);
  void* objects[kBulk];
  for (auto _ : state) {
    if (bulk) {
      if (!pool->AllocBulk(kBulk, objects)) state.SkipWithError("AllocBulk");
    } else {
      for (void*& object : objects) {
        object = pool->Alloc();
        if (touch == 2) Use(object);
      }
    }
    if (touch == 1) {
      for (void* object : objects) Use(object);
    }
    benchmark::DoNotOptimize(objects);
    if (bulk) {
      pool->FreeBulk(kBulk, objects);
    } else {
      for (void* object : objects) pool->Free(object);
    }
  }
  state.SetItemsProcessed(state.iterations() * kBulk);
  state.SetLabel(std::string(bulk ? "bulk" : "singles") +
                 (spans ? "/spans" : "/malloc"));
}

void BulkArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"bulk", "size", "spans", "touch"});
  for (int spans : {0, 1}) {
    for (std::int64_t size : {64, 1024, 16 * 1024}) {
      for (int touch : {0, 1, 2}) {
        for (int bulk : {0, 1}) {
          if (bulk == 0 || touch != 2) b->Args({bulk, size, spans, touch});
        }
      }
    }
  }
}

BENCHMARK(BM_Hot)->Apply(Contenders);
BENCHMARK(BM_Batch)->Apply(Contenders);
BENCHMARK(BM_Cross)->Apply(Contenders)->Threads(2)->UseRealTime();
BENCHMARK(BM_Bulk32)->Apply(BulkArgs);
BENCHMARK(BM_Seed004)
    ->ArgNames({"inside"})
    ->Arg(0)
    ->Arg(1)
    ->Threads(2)
    ->Threads(4)
    ->UseRealTime();

}  // namespace
}  // namespace poolkit

int main(int argc, char** argv) {
  poolkit::AllowedCpus();  // before any thread is pinned
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // POOLKIT_BENCH_DUMP=1: the pools' statistics after the run (how many
  // objects each pool ended up holding, and how often it called the OS).
  if (std::getenv("POOLKIT_BENCH_DUMP") != nullptr) {
    std::fputs(poolkit::DumpPoolsText().c_str(), stderr);
  }
  return 0;
}
