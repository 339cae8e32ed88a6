// The vocabulary shared by every atomics backend: the double-word pair that a
// DWCAS operates on, and the memory orders the operations accept.
//
// This header knows nothing of any CPU; the backends (x86_64.h,
// aarch64_llsc.h, aarch64_lse.h, portable.h) and the selection header
// (atomics.h) build on it.

#ifndef POOLKIT_ARCH_WORD_PAIR_H_
#define POOLKIT_ARCH_WORD_PAIR_H_

#include <cstdint>

#include "arch/cxx17_required.h"

// The atomic operations of every backend are declared POOLKIT_ARCH_INLINE.
// The MemoryOrder argument is a constant at nearly every call site; once the
// operation is inlined, the branches on it fold and a single instruction
// variant remains. Plain `inline` is not enough: gcc estimates an asm
// statement's cost from its line count, and keeps the four-variant LL/SC and
// LSE functions out of line, turning the order into a run-time branch (seen
// with gcc 12 at -O2). For the `__atomic` builtins it matters too: gcc
// treats an order that is not a compile-time constant as seq_cst.
#define POOLKIT_ARCH_INLINE inline __attribute__((always_inline))

namespace poolkit::arch {

// The orders of the C++ memory model, spelled as an enum so that a backend can
// branch on them (the branches fold away when the order is a constant, which
// it is at nearly every call site).
enum class MemoryOrder { kRelaxed, kAcquire, kRelease, kAcqRel, kSeqCst };

// Two machine words updated together by a double-word compare-and-swap
// (DWCAS). Typical use: {pointer, generation counter}.
//
// alignas(16) is part of the type because the hardware demands it:
// - x86-64 `cmpxchg16b` raises #GP (SIGSEGV on Linux) on an operand that is
//   not 16-byte aligned;
// - aarch64 `ldxp`/`ldaxp`/`stxp`/`stlxp` and `casp` are single-copy atomic
//   for 128 bits only on a 16-byte-aligned address (`casp` faults with an
//   alignment fault otherwise), so a misaligned pair could be torn.
// Carrying it in the type means a caller cannot forget it, and a plain
// two-word struct without it does not convert to WordPair*.
struct alignas(16) WordPair {
  std::uint64_t lo;
  std::uint64_t hi;
};

static_assert(sizeof(WordPair) == 16, "WordPair must be exactly 16 bytes");
static_assert(alignof(WordPair) == 16, "WordPair must be 16-byte aligned");

constexpr bool operator==(const WordPair& a, const WordPair& b) {
  return a.lo == b.lo && a.hi == b.hi;
}

constexpr bool operator!=(const WordPair& a, const WordPair& b) {
  return !(a == b);
}

// The `__ATOMIC_*` constant for `order`, for the `__atomic` builtins.
constexpr int ToBuiltinOrder(MemoryOrder order) {
  switch (order) {
    case MemoryOrder::kRelaxed:
      return __ATOMIC_RELAXED;
    case MemoryOrder::kAcquire:
      return __ATOMIC_ACQUIRE;
    case MemoryOrder::kRelease:
      return __ATOMIC_RELEASE;
    case MemoryOrder::kAcqRel:
      return __ATOMIC_ACQ_REL;
    case MemoryOrder::kSeqCst:
      return __ATOMIC_SEQ_CST;
  }
  return __ATOMIC_SEQ_CST;  // Unreachable for a valid enumerator.
}

// Orders that make no sense for a pure load or a pure store are strengthened,
// never passed on (the builtins' behaviour for them is undefined).

// A load cannot release: nothing is written that could publish earlier
// accesses. kRelease and kAcqRel on a load become kSeqCst, the strongest load
// order there is; it keeps the acquire half of kAcqRel and orders the load in
// the single total order, the closest the model offers to "nothing earlier
// moves past this".
constexpr MemoryOrder LoadOrder(MemoryOrder order) {
  switch (order) {
    case MemoryOrder::kRelaxed:
    case MemoryOrder::kAcquire:
    case MemoryOrder::kSeqCst:
      return order;
    case MemoryOrder::kRelease:
    case MemoryOrder::kAcqRel:
      return MemoryOrder::kSeqCst;
  }
  return MemoryOrder::kSeqCst;
}

// A store cannot acquire: nothing is read that later accesses could depend
// on. kAcquire and kAcqRel on a store become kSeqCst for the same reason as
// in LoadOrder.
constexpr MemoryOrder StoreOrder(MemoryOrder order) {
  switch (order) {
    case MemoryOrder::kRelaxed:
    case MemoryOrder::kRelease:
    case MemoryOrder::kSeqCst:
      return order;
    case MemoryOrder::kAcquire:
    case MemoryOrder::kAcqRel:
      return MemoryOrder::kSeqCst;
  }
  return MemoryOrder::kSeqCst;
}

// A failed compare-exchange writes nothing: it is a load. Its order is derived
// from the single order given, as C++17 does for compare_exchange with one
// order argument: the release half is dropped, the rest is kept.
constexpr MemoryOrder FailureOrder(MemoryOrder order) {
  switch (order) {
    case MemoryOrder::kRelaxed:
    case MemoryOrder::kRelease:
      return MemoryOrder::kRelaxed;
    case MemoryOrder::kAcquire:
    case MemoryOrder::kAcqRel:
      return MemoryOrder::kAcquire;
    case MemoryOrder::kSeqCst:
      return MemoryOrder::kSeqCst;
  }
  return MemoryOrder::kSeqCst;
}

// Whether an operation with this order must keep later accesses after it.
constexpr bool IsAcquiring(MemoryOrder order) {
  return order == MemoryOrder::kAcquire || order == MemoryOrder::kAcqRel ||
         order == MemoryOrder::kSeqCst;
}

// Whether an operation with this order must keep earlier accesses before it.
constexpr bool IsReleasing(MemoryOrder order) {
  return order == MemoryOrder::kRelease || order == MemoryOrder::kAcqRel ||
         order == MemoryOrder::kSeqCst;
}

namespace internal {

// A word that may alias any object, like `char`. The typed layer in atomics.h
// hands a `T**` to the word operations as a `std::uintptr_t*`; the backends
// that reach memory through `__atomic` builtins go through this type so that
// type-based alias analysis cannot separate the access from the `T*` object.
// (The asm backends' "memory" clobber already tells the compiler that any
// object may be read or written.)
using AliasingWord [[gnu::may_alias]] = std::uintptr_t;

inline AliasingWord* AsAliasing(std::uintptr_t* p) {
  return reinterpret_cast<AliasingWord*>(p);
}

inline const AliasingWord* AsAliasing(const std::uintptr_t* p) {
  return reinterpret_cast<const AliasingWord*>(p);
}

}  // namespace internal

}  // namespace poolkit::arch

#endif  // POOLKIT_ARCH_WORD_PAIR_H_
