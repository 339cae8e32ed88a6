// Thread helpers for the measurements: clocks, sleeping, a spin-then-yield
// wait, and pinning threads to CPUs.
#ifndef POOLKIT_TOOLS_POOLBENCH_THREADS_H_
#define POOLKIT_TOOLS_POOLBENCH_THREADS_H_

#include <sched.h>
#include <time.h>

#include <cstdint>

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

}  // namespace poolkit::poolbench

#endif  // POOLKIT_TOOLS_POOLBENCH_THREADS_H_
