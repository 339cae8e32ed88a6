// Runs N hot alloc+free pairs through a pool and through malloc, each in its
// own non-inlined function, so that callgrind can count the instructions of
// one pair:
//
//   tools/measure_hot_path.sh
//
// (runs this under `valgrind --tool=callgrind --toggle-collect=...` and
// divides by N). Instruction counts, unlike times, repeat exactly.
#include <cstdio>
#include <cstdlib>

#include "pool/pool.h"
#include "pool/registry.h"

namespace {

constexpr int kPairs = 1000000;

__attribute__((noinline)) void PoolPairs(poolkit::Pool* pool) {
  for (int i = 0; i < kPairs; ++i) {
    void* object = pool->Alloc();
    // Keep the compiler from folding the pair away.
    asm volatile("" : : "r"(object) : "memory");
    pool->Free(object);
  }
}

__attribute__((noinline)) void MallocPairs(std::size_t size) {
  for (int i = 0; i < kPairs; ++i) {
    void* object = std::malloc(size);
    asm volatile("" : : "r"(object) : "memory");
    std::free(object);
  }
}

// The loop alone, to subtract.
__attribute__((noinline)) void EmptyPairs() {
  for (int i = 0; i < kPairs; ++i) {
    void* object = &object;
    asm volatile("" : : "r"(object) : "memory");
  }
}

}  // namespace

int main() {
  poolkit::PoolOptions options;
  options.name = "hot-pair";
  options.object_size = 64;
  poolkit::Pool* pool = *poolkit::CreatePool(options);
  // Warm up: the first pair takes the slow paths.
  pool->Free(pool->Alloc());
  std::free(std::malloc(64));
  PoolPairs(pool);
  MallocPairs(64);
  EmptyPairs();
  std::printf("pairs=%d\n", kPairs);
  return 0;
}
