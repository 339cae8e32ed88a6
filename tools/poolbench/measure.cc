#include "tools/poolbench/measure.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/poolbench/allocators.h"
#include "tools/poolbench/scenarios.h"
#include "tools/poolbench/threads.h"

namespace poolkit::poolbench {
namespace {

// The coordinator's signals to the measuring threads.
enum Phase : int {
  kWaiting = 0,  // threads created, not started
  kWarmup,       // run, but do not count
  kMeasuring,    // the window is open: count
  kStopped,      // the window closed: stop (cross consumers: drain)
};

// Pairs per check of the phase in the hot loop: rare enough that the check
// costs nothing next to a 2 ns pair, often enough that a thread notices a
// phase change within a microsecond or so.
constexpr int kHotChunk = 16;
// Objects per check in the cross-thread loops.
constexpr std::int64_t kCrossCheckMask = 15;

// --- The measurement window ---

// The phase signal, and how many threads have counted in the window.
// Relaxed everywhere: they only tell threads when to count and the
// coordinator when it may stop; the counts themselves reach the coordinator
// through thread join, which orders everything the threads wrote.
class PhaseSignal {
 public:
  void Set(Phase phase) { phase_.store(phase, std::memory_order_relaxed); }
  int Get() const { return phase_.load(std::memory_order_relaxed); }
  void WaitForStart() const {
    Backoff backoff;
    while (Get() == kWaiting) backoff.Wait();
  }
  void AddWarmed() { warmed_.fetch_add(1, std::memory_order_relaxed); }
  int Warmed() const { return warmed_.load(std::memory_order_relaxed); }
  void AddCounted() { counted_.fetch_add(1, std::memory_order_relaxed); }
  int Counted() const { return counted_.load(std::memory_order_relaxed); }

 private:
  alignas(64) std::atomic<int> phase_{kWaiting};
  // Threads that have done work before the window opened, or have ended.
  alignas(64) std::atomic<int> warmed_{0};
  // Threads that have done work inside the window, or have ended.
  alignas(64) std::atomic<int> counted_{0};
};

// One thread's view of the window: it notices the coordinator's phase
// changes between chunks of work and counts its own time and operations in
// between, so that neither thread start-up nor the coordinator's wake-up
// latency is charged to the allocator. It tells the coordinator when it has
// done some warm-up work and when it has counted something (or when it
// ends), so that the window opens only once every thread is warm and stays
// open until every thread has a number: on a loaded machine a thread may
// not run at all during a short warm-up or window.
class ThreadWindow {
 public:
  explicit ThreadWindow(PhaseSignal* phase) : phase_(phase) {}
  ThreadWindow(const ThreadWindow&) = delete;
  ThreadWindow& operator=(const ThreadWindow&) = delete;
  ~ThreadWindow() {
    AnnounceWarm();
    Announce();
  }

  // Returns true once the window has closed.
  bool Observe(std::int64_t operations) {
    if (closed_) return true;
    AnnounceWarm();
    int phase = phase_->Get();
    if (!open_ && phase >= kMeasuring) {
      Open(operations);
    } else if (open_ && operations > operations_start_) {
      Announce();
    }
    if (phase == kStopped) {
      Close(operations);
      return true;
    }
    return false;
  }
  // Closes the window now if the thread ends before noticing kStopped.
  void Finish(std::int64_t operations) {
    if (!open_) Open(operations);
    if (!closed_) Close(operations);
  }
  ThreadCount count() const { return count_; }

 private:
  void AnnounceWarm() {
    if (warm_) return;
    warm_ = true;
    phase_->AddWarmed();
  }
  void Announce() {
    if (announced_) return;
    announced_ = true;
    phase_->AddCounted();
  }
  void Open(std::int64_t operations) {
    open_ = true;
    wall_start_ = NowNanos(CLOCK_MONOTONIC);
    cpu_start_ = NowNanos(CLOCK_THREAD_CPUTIME_ID);
    operations_start_ = operations;
  }
  void Close(std::int64_t operations) {
    closed_ = true;
    count_.wall_ns = NowNanos(CLOCK_MONOTONIC) - wall_start_;
    count_.cpu_ns = NowNanos(CLOCK_THREAD_CPUTIME_ID) - cpu_start_;
    count_.operations = operations - operations_start_;
  }

  PhaseSignal* phase_;
  bool open_ = false;
  bool closed_ = false;
  bool warm_ = false;
  bool announced_ = false;
  std::int64_t wall_start_ = 0;
  std::int64_t cpu_start_ = 0;
  std::int64_t operations_start_ = 0;
  ThreadCount count_;
};

template <typename Allocator>
void HotThread(Allocator allocator, std::size_t size, PhaseSignal* phase,
               ThreadCount* result) {
  phase->WaitForStart();
  ThreadWindow window(phase);
  std::int64_t operations = 0;
  for (;;) {
    for (int i = 0; i < kHotChunk; ++i) {
      void* object = allocator.Alloc();
      if (object == nullptr) {
        result->failed = true;
        result->failure = "an allocation failed";
        return;
      }
      Touch(object, size);
      allocator.Free(object);
    }
    operations += kHotChunk;
    if (window.Observe(operations)) break;
  }
  *result = window.count();
}

template <typename Allocator>
void BatchThread(Allocator allocator, std::size_t size, std::size_t batch,
                 PhaseSignal* phase, ThreadCount* result) {
  // Allocated before the window (and before warm-up) by the allocator under
  // test; not charged.
  std::vector<void*> objects(BatchObjects(size, batch));
  phase->WaitForStart();
  ThreadWindow window(phase);
  std::int64_t operations = 0;
  for (;;) {
    for (std::size_t i = 0; i < objects.size(); ++i) {
      objects[i] = allocator.Alloc();
      if (objects[i] == nullptr) {
        for (std::size_t j = 0; j < i; ++j) allocator.Free(objects[j]);
        result->failed = true;
        result->failure = "an allocation failed";
        return;
      }
      Touch(objects[i], size);
    }
    for (void* object : objects) allocator.Free(object);
    operations += static_cast<std::int64_t>(objects.size());
    if (window.Observe(operations)) break;
  }
  *result = window.count();
}

// A bounded single-producer single-consumer ring: the hand-off between a
// producer and a consumer thread. Each side caches the other's index and
// rereads it only when the ring looks full or empty, so that in steady
// state the two threads share little more than the slots themselves.
class HandOffRing {
 public:
  // `capacity` is a power of two (CrossRingCapacity()): indexes wrap with a
  // mask, not a division.
  explicit HandOffRing(std::size_t capacity)
      : mask_(capacity - 1), slots_(capacity) {
    assert(capacity > 0 && (capacity & mask_) == 0);
  }

  // Producer only.
  void Push(void* object) {
    // Relaxed: only the producer writes tail_.
    std::size_t tail = tail_.load(std::memory_order_relaxed);
    Backoff backoff;
    while (tail - producer_cached_head_ == mask_ + 1) {
      // Acquire: pairs with Pop's release of head_, so the consumer has read
      // the slot before the producer overwrites it.
      producer_cached_head_ = head_.load(std::memory_order_acquire);
      if (tail - producer_cached_head_ == mask_ + 1) backoff.Wait();
    }
    slots_[tail & mask_] = object;
    // Release: the slot, and the object's contents, before the new tail.
    tail_.store(tail + 1, std::memory_order_release);
  }

  // Consumer only.
  void* Pop() {
    // Relaxed: only the consumer writes head_.
    std::size_t head = head_.load(std::memory_order_relaxed);
    Backoff backoff;
    while (head == consumer_cached_tail_) {
      // Acquire: pairs with Push's release of tail_ (the slot and the
      // object's contents are visible).
      consumer_cached_tail_ = tail_.load(std::memory_order_acquire);
      if (head == consumer_cached_tail_) backoff.Wait();
    }
    void* object = slots_[head & mask_];
    // Release: the slot has been read before the producer may reuse it.
    head_.store(head + 1, std::memory_order_release);
    return object;
  }

 private:
  // The consumer's line.
  alignas(64) std::atomic<std::size_t> head_{0};
  std::size_t consumer_cached_tail_ = 0;
  // The producer's line.
  alignas(64) std::atomic<std::size_t> tail_{0};
  std::size_t producer_cached_head_ = 0;
  // Both sides' line, read only after construction: the mask and where the
  // slots are.
  alignas(64) const std::size_t mask_;
  std::vector<void*> slots_;
};

template <typename Allocator>
void ProducerThread(Allocator allocator, std::size_t size, PhaseSignal* phase,
                    HandOffRing* ring, ThreadCount* result) {
  phase->WaitForStart();
  ThreadWindow window(phase);
  std::int64_t operations = 0;
  for (;;) {
    void* object = allocator.Alloc();
    if (object == nullptr) {
      result->failed = true;
      result->failure = "an allocation failed";
      break;
    }
    Touch(object, size);
    ring->Push(object);
    ++operations;
    if ((operations & kCrossCheckMask) == 0 && window.Observe(operations)) {
      break;
    }
  }
  // nullptr: the end of the stream; the consumer stops at it.
  ring->Push(nullptr);
  if (!result->failed) *result = window.count();
}

template <typename Allocator>
void ConsumerThread(Allocator allocator, PhaseSignal* phase, HandOffRing* ring,
                    ThreadCount* result) {
  phase->WaitForStart();
  ThreadWindow window(phase);
  std::int64_t operations = 0;
  bool changed = false;
  for (;;) {
    void* object = ring->Pop();
    if (object == nullptr) break;
    // Read what the producer wrote, as a real consumer would (and check
    // that it arrived intact).
    changed = changed || !CarriesMark(object);
    allocator.Free(object);
    ++operations;
    // After the window closes the consumer keeps draining, uncounted.
    if ((operations & kCrossCheckMask) == 0) {
      window.Observe(operations);
    }
  }
  window.Finish(operations);
  *result = window.count();
  if (changed) {
    result->failed = true;
    result->failure = "an object handed over had been overwritten";
  }
}

// Waits until `count()` reaches `threads`. A thread the OS did not run
// extends the warm-up or the window; up to a limit, so that a stuck
// allocator cannot hang the run (its measurement then fails or is short).
template <typename Count>
void WaitForThreads(int threads, Count count) {
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (count() < threads && std::chrono::steady_clock::now() < give_up) {
    SleepSeconds(0.0005);
  }
}

// Runs `threads` threads, each `body(thread_index)`, through warm-up and
// one window; returns when all have finished. `os_calls` is sampled when
// the window opens and closes.
template <typename Body, typename OsCalls>
std::uint64_t RunWindow(int threads, const TimingParams& params,
                        PhaseSignal* phase, OsCalls os_calls, Body body) {
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([i, &body] {
      PinToCpu(i);
      ThreadHeapAnchor anchor;
      body(i);
    });
  }
  phase->Set(kWarmup);
  SleepSeconds(params.warmup_seconds);
  WaitForThreads(threads, [phase] { return phase->Warmed(); });
  std::uint64_t os_before = os_calls();
  phase->Set(kMeasuring);
  SleepSeconds(params.min_time_seconds);
  WaitForThreads(threads, [phase] { return phase->Counted(); });
  phase->Set(kStopped);
  std::uint64_t os_after = os_calls();
  for (std::thread& worker : workers) worker.join();
  return os_after - os_before;
}

template <typename Allocator>
absl::StatusOr<TimedResult> MeasureTimedWith(const Scenario& scenario,
                                             const TimingParams& params,
                                             Allocator allocator) {
  const std::size_t size = scenario.object_size;
  if (size < sizeof(std::uintptr_t)) {
    return absl::InvalidArgumentError("objects must hold a pointer");
  }
  PhaseSignal phase;
  auto os_calls = [&allocator] { return allocator.OsCalls(); };
  switch (scenario.pattern) {
    case Pattern::kHot:
    case Pattern::kBatch: {
      std::vector<ThreadCount> counts(scenario.threads);
      bool hot = scenario.pattern == Pattern::kHot;
      std::uint64_t calls =
          RunWindow(scenario.threads, params, &phase, os_calls, [&](int i) {
            if (hot) {
              HotThread(allocator, size, &phase, &counts[i]);
            } else {
              BatchThread(allocator, size, scenario.batch, &phase, &counts[i]);
            }
          });
      return SummarizeThreads(counts, counts, calls, Allocator::kCountsOsCalls);
    }
    case Pattern::kCross: {
      int pairs = scenario.threads / 2;
      if (pairs < 1) {
        return absl::InvalidArgumentError("cross needs at least 2 threads");
      }
      std::vector<std::unique_ptr<HandOffRing>> rings;
      for (int pair = 0; pair < pairs; ++pair) {
        rings.push_back(std::make_unique<HandOffRing>(CrossRingCapacity(size)));
      }
      // Thread 2k produces for pair k, thread 2k+1 consumes: on two CPUs,
      // producer and consumer run on different ones.
      std::vector<ThreadCount> counts(2 * pairs);
      std::uint64_t calls =
          RunWindow(2 * pairs, params, &phase, os_calls, [&](int i) {
            HandOffRing* ring = rings[i / 2].get();
            if (i % 2 == 0) {
              ProducerThread(allocator, size, &phase, ring, &counts[i]);
            } else {
              ConsumerThread(allocator, &phase, ring, &counts[i]);
            }
          });
      std::vector<ThreadCount> consumers;
      for (int pair = 0; pair < pairs; ++pair) {
        consumers.push_back(counts[2 * pair + 1]);
      }
      return SummarizeThreads(consumers, counts, calls,
                              Allocator::kCountsOsCalls);
    }
    case Pattern::kSpike:
      break;
  }
  return absl::InvalidArgumentError("not a timed pattern");
}

}  // namespace

absl::StatusOr<TimedResult> SummarizeThreads(
    const std::vector<ThreadCount>& timed, const std::vector<ThreadCount>& all,
    std::uint64_t os_calls, bool counts_os_calls) {
  TimedResult result;
  double wall = 0;
  double cpu = 0;
  for (const ThreadCount& count : all) {
    if (count.failed) return absl::InternalError(count.failure);
    cpu += static_cast<double>(count.cpu_ns);
  }
  for (const ThreadCount& count : timed) {
    wall += static_cast<double>(count.wall_ns);
    result.operations += count.operations;
  }
  if (result.operations == 0) {
    return absl::InternalError(
        "no operation completed in the measurement window (raise "
        "--min-time)");
  }
  double operations = static_cast<double>(result.operations);
  result.ns_per_op = wall / operations;
  result.cpu_ns_per_op = cpu / operations;
  if (counts_os_calls) {
    result.os_calls_per_op = static_cast<double>(os_calls) / operations;
  }
  return result;
}

double WarmupFor(double min_time_seconds) {
  return std::clamp(min_time_seconds / 2, 0.001, 0.1);
}

absl::StatusOr<TimedResult> MeasureTimed(const Scenario& scenario,
                                         const TimingParams& params,
                                         PoolUnderTest allocator) {
  return MeasureTimedWith(scenario, params, allocator);
}

absl::StatusOr<TimedResult> MeasureTimed(const Scenario& scenario,
                                         const TimingParams& params,
                                         SimpleUnderTest allocator) {
  return MeasureTimedWith(scenario, params, allocator);
}

absl::StatusOr<TimedResult> MeasureTimed(const Scenario& scenario,
                                         const TimingParams& params,
                                         MallocUnderTest allocator) {
  return MeasureTimedWith(scenario, params, allocator);
}

}  // namespace poolkit::poolbench
