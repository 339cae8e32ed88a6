// Thread helpers for the measurements: clocks, sleeping, a spin-then-yield
// wait, pinning threads to CPUs, and keeping a thread's malloc heap alive.
#ifndef POOLKIT_TOOLS_POOLBENCH_THREADS_H_
#define POOLKIT_TOOLS_POOLBENCH_THREADS_H_

#include <sched.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace poolkit::poolbench {

// clock_gettime(clock) in nanoseconds (CLOCK_MONOTONIC,
// CLOCK_THREAD_CPUTIME_ID).
std::int64_t NowNanos(clockid_t clock);

void SleepSeconds(double seconds);

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// Spins briefly, then yields: with more threads than CPUs (or a busy
// machine) a waiter must let the thread it waits for run.
class Backoff {
 public:
  void Wait() {
    if (++spins_ < 256) {
      CpuRelax();
    } else {
      sched_yield();
    }
  }

 private:
  int spins_ = 0;
};

// Records the CPUs the process may use; call once at start-up, before any
// thread is pinned (threads inherit their creator's affinity).
void RecordAllowedCpus();

// Runs the calling thread on the `nth` allowed CPU (modulo their number),
// as pool/pool_benchmark.cc does. Left to the scheduler, the two threads of
// a cross-thread pair on a 2-CPU machine sometimes share one CPU for a whole
// measurement, and every allocator gets 3-4x slower. Does nothing before
// RecordAllowedCpus().
void PinToCpu(int nth);

// One small object from plain malloc, held for as long as a measuring
// thread lives: make one first thing in every measuring thread (all
// patterns, all contenders).
//
// Every measurement runs on fresh threads. A thread whose only live
// allocation is the object under test leaves an allocator with per-thread
// heaps (mimalloc) nothing to keep when that object is freed: from 256 KiB
// up mimalloc then frees the object's segment on every free() and builds it
// again on the next malloc(), 3-4x slower (2 MiB, one thread: about 1000
// ns against 250) than in a thread of a real program, which holds other
// memory; even 64-byte objects paid about 1.5x. This object keeps the
// thread's heap in use, as a real thread's other allocations do. glibc,
// jemalloc and tcmalloc measured the same with it and without. It is freed
// when the thread ends, so what a heap does at thread exit is unchanged.
class ThreadHeapAnchor {
 public:
  ThreadHeapAnchor() : object_(std::malloc(kBytes)) {
    // The object escapes: the compiler may not drop the malloc/free pair.
    asm volatile("" : : "r"(object_) : "memory");
  }
  ThreadHeapAnchor(const ThreadHeapAnchor&) = delete;
  ThreadHeapAnchor& operator=(const ThreadHeapAnchor&) = delete;
  ~ThreadHeapAnchor() { std::free(object_); }

 private:
  static constexpr std::size_t kBytes = 64;
  void* object_;
};

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_THREADS_H_
