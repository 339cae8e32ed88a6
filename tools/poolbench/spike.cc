#include "tools/poolbench/spike.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/poolbench/allocators.h"
#include "tools/poolbench/measure.h"
#include "tools/poolbench/threads.h"

namespace poolkit::poolbench {
namespace {

// Writes "5" to /proc/self/clear_refs: the peak RSS (VmHWM) restarts from
// the current RSS, so that start-up does not count as the spike's peak.
void ResetPeakResident() {
  std::FILE* file = std::fopen("/proc/self/clear_refs", "w");
  if (file == nullptr) return;
  std::fputs("5", file);
  std::fclose(file);
}

double ToMiB(std::size_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

// One thread's share of the spike: allocate `count` objects touching every
// page, wait for the other threads, free them all. The objects are chained
// through their first word, so that no side table adds to the RSS.
template <typename Allocator>
void SpikeThread(Allocator allocator, std::size_t size, std::size_t count,
                 std::atomic<int>* allocated_threads, int threads,
                 ThreadCount* result) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::int64_t wall_start = NowNanos(CLOCK_MONOTONIC);
  std::int64_t cpu_start = NowNanos(CLOCK_THREAD_CPUTIME_ID);
  void* chain = nullptr;
  std::size_t allocated = 0;
  for (; allocated < count; ++allocated) {
    void* object = allocator.Alloc();
    if (object == nullptr) {
      result->failed = true;
      result->failure = "an allocation failed";
      break;
    }
    auto* bytes = static_cast<unsigned char*>(object);
    for (std::size_t offset = page; offset < size; offset += page) {
      bytes[offset] = 1;
    }
    Touch(object, size);
    std::memcpy(object, &chain, sizeof(chain));
    chain = object;
  }
  std::int64_t wall_allocated = NowNanos(CLOCK_MONOTONIC);
  std::int64_t cpu_allocated = NowNanos(CLOCK_THREAD_CPUTIME_ID);
  // Every thread holds its share at once: the spike's peak. Relaxed: the
  // counter only lines the threads up; no data passes through it.
  allocated_threads->fetch_add(1, std::memory_order_relaxed);
  Backoff backoff;
  while (allocated_threads->load(std::memory_order_relaxed) < threads) {
    backoff.Wait();
  }
  std::int64_t wall_free = NowNanos(CLOCK_MONOTONIC);
  std::int64_t cpu_free = NowNanos(CLOCK_THREAD_CPUTIME_ID);
  while (chain != nullptr) {
    void* next;
    std::memcpy(&next, chain, sizeof(next));
    allocator.Free(chain);
    chain = next;
  }
  result->wall_ns =
      (wall_allocated - wall_start) + (NowNanos(CLOCK_MONOTONIC) - wall_free);
  result->cpu_ns = (cpu_allocated - cpu_start) +
                   (NowNanos(CLOCK_THREAD_CPUTIME_ID) - cpu_free);
  result->operations = static_cast<std::int64_t>(allocated);
}

template <typename Allocator>
absl::StatusOr<SpikeResult> MeasureSpikeWith(
    const Scenario& scenario, std::size_t spike_bytes, int cycles,
    Allocator allocator, const std::function<void()>& release) {
  const std::size_t size = scenario.object_size;
  if (size < sizeof(void*)) {
    return absl::InvalidArgumentError("objects must hold a pointer");
  }
  const int threads = scenario.threads;
  const std::size_t per_thread =
      std::max<std::size_t>(1, spike_bytes / size / threads);
  SpikeResult result;
  result.rss_baseline_mib = ToMiB(ResidentBytes());
  ResetPeakResident();
  for (int cycle = 0; cycle < cycles; ++cycle) {
    std::vector<ThreadCount> counts(threads);
    std::atomic<int> allocated_threads{0};
    std::vector<std::thread> workers;
    for (int i = 0; i < threads; ++i) {
      workers.emplace_back([&, i] {
        PinToCpu(i);
        ThreadHeapAnchor anchor;
        SpikeThread(allocator, size, per_thread, &allocated_threads, threads,
                    &counts[i]);
      });
    }
    for (std::thread& worker : workers) worker.join();
    // After the threads exited: their caches went back where they go when a
    // thread ends, and the release sees everything that is free.
    std::int64_t release_start = NowNanos(CLOCK_MONOTONIC);
    release();
    result.release_ms =
        static_cast<double>(NowNanos(CLOCK_MONOTONIC) - release_start) / 1e6;
    absl::StatusOr<TimedResult> timing =
        SummarizeThreads(counts, counts, 0, false);
    if (!timing.ok()) return timing.status();
    result.cycles.push_back(*timing);
  }
  result.rss_final_mib = ToMiB(ResidentBytes());
  result.rss_peak_mib = ToMiB(PeakResidentBytes());
  return result;
}

}  // namespace

absl::StatusOr<SpikeResult> MeasureSpike(const Scenario& scenario,
                                         std::size_t spike_bytes, int cycles,
                                         PoolUnderTest allocator,
                                         const std::function<void()>& release) {
  return MeasureSpikeWith(scenario, spike_bytes, cycles, allocator, release);
}

absl::StatusOr<SpikeResult> MeasureSpike(const Scenario& scenario,
                                         std::size_t spike_bytes, int cycles,
                                         SimpleUnderTest allocator,
                                         const std::function<void()>& release) {
  return MeasureSpikeWith(scenario, spike_bytes, cycles, allocator, release);
}

absl::StatusOr<SpikeResult> MeasureSpike(const Scenario& scenario,
                                         std::size_t spike_bytes, int cycles,
                                         MallocUnderTest allocator,
                                         const std::function<void()>& release) {
  return MeasureSpikeWith(scenario, spike_bytes, cycles, allocator, release);
}

std::size_t ResidentBytes() {
  std::FILE* file = std::fopen("/proc/self/statm", "r");
  if (file == nullptr) return 0;
  unsigned long size_pages = 0;
  unsigned long resident_pages = 0;
  int fields = std::fscanf(file, "%lu %lu", &size_pages, &resident_pages);
  std::fclose(file);
  if (fields != 2) return 0;
  return static_cast<std::size_t>(resident_pages) *
         static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

std::size_t PeakResidentBytes() {
  std::FILE* file = std::fopen("/proc/self/status", "r");
  if (file == nullptr) return 0;
  char line[256];
  std::size_t peak_kib = 0;
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    unsigned long kib = 0;
    if (std::sscanf(line, "VmHWM: %lu kB", &kib) == 1) {
      peak_kib = kib;
      break;
    }
  }
  std::fclose(file);
  return peak_kib * 1024;
}

}  // namespace poolkit::poolbench
