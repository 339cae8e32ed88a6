// Atomics backend for x86-64, in inline asm.
//
// Ordering on x86-64 (x86-TSO): loads are not reordered with other loads,
// stores are not reordered with other stores, and a store is not reordered
// with an earlier load. The one reordering the hardware does is a later load
// passing an earlier store (through the store buffer). Every `lock`-prefixed
// instruction, and `xchg` with a memory operand (implicitly locked), drains
// the store buffer and is a full barrier: no load or store moves across it in
// either direction. So every MemoryOrder, from kRelaxed to kSeqCst, maps to
// the same instruction; the order still matters to the compiler, which the
// "memory" clobber on every asm block stops from moving memory accesses
// across the operation.
//
// `cmpxchg16b` exists on every x86-64 CPU except the very first ones (early
// AMD K8 and Intel Nocona, 2003-2005); it is part of the x86-64-v2 baseline.
// The asm does not need -mcx16: that flag only lets the compiler emit the
// instruction by itself.

#ifndef POOLKIT_ARCH_X86_64_H_
#define POOLKIT_ARCH_X86_64_H_

#if !defined(__x86_64__)
#error "arch/x86_64.h needs an x86-64 target; include arch/atomics.h instead"
#endif

#include <cstdint>

#include "arch/codegen_mutants.h"
#include "arch/tsan_annotations.h"
#include "arch/word_pair.h"

namespace poolkit::arch::x86_64 {

inline constexpr const char kName[] = "x86_64";
inline constexpr const char kDwcasInstruction[] = "lock cmpxchg16b";
inline constexpr bool kDwcasLockFree = true;

// Always true: `lock cmpxchg16b` is lock-free by construction.
POOLKIT_ARCH_INLINE bool DwcasIsLockFree() { return true; }

// Atomically: if *target == *expected, *target = desired and return true;
// otherwise *expected = the value observed in *target and return false.
//
// `cmpxchg16b m128` compares RDX:RAX with m128; if equal it sets ZF and
// stores RCX:RBX, otherwise it clears ZF and loads m128 into RDX:RAX. The
// observed value therefore comes from the same locked read, never torn. Every
// order uses the same locked instruction (a full barrier, see the top of this
// file).
POOLKIT_ARCH_INLINE bool CompareExchangePair(WordPair* target,
                                             WordPair* expected,
                                             WordPair desired,
                                             MemoryOrder order) {
  internal::TsanBefore(target, order);
  std::uint64_t lo = expected->lo;
  std::uint64_t hi = expected->hi;
  bool swapped;
#if POOLKIT_ARCH_MUTANT(X86_CAS_PAIR_NO_LOCK)
  __asm__ __volatile__("cmpxchg16b %[mem]"
#else
  __asm__ __volatile__("lock cmpxchg16b %[mem]"
#endif
                       : "=@ccz"(swapped), [mem] "+m"(*target), "+a"(lo),
                         "+d"(hi)
                       : "b"(desired.lo), "c"(desired.hi)
                       : "memory", "cc");
  if (swapped) {
    internal::TsanAfter(target, order);
  } else {
    expected->lo = lo;
    expected->hi = hi;
    internal::TsanAfter(target, FailureOrder(order));
  }
  return swapped;
}

// An atomic 16-byte read. x86-64 has no 16-byte load that is architecturally
// guaranteed to be atomic on every CPU, so this is `lock cmpxchg16b` with
// expected == desired == {0, 0}: if the pair is {0, 0} the instruction writes
// {0, 0} back (no change), otherwise it fails and returns the value. Either
// way RDX:RAX holds the current pair. The instruction always needs write
// access, so `src` must be in writable memory, and it takes the cache line
// exclusive like any locked operation. A load cannot release; kRelease and
// kAcqRel are strengthened as LoadOrder() says (the instruction is the same).
POOLKIT_ARCH_INLINE WordPair LoadPair(const WordPair* src, MemoryOrder order) {
  // The instruction writes only the value already there; see above.
  WordPair* target = const_cast<WordPair*>(src);
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  __asm__ __volatile__("lock cmpxchg16b %[mem]"
                       : [mem] "+m"(*target), "+a"(lo), "+d"(hi)
                       : "b"(std::uint64_t{0}), "c"(std::uint64_t{0})
                       : "memory", "cc");
  internal::TsanAfter(src, LoadOrder(order));
  return WordPair{lo, hi};
}

// Atomically stores `value` and returns the previous value. `xchg` with a
// memory operand is locked whether or not it carries the prefix, so it is a
// full barrier for every order.
POOLKIT_ARCH_INLINE std::uintptr_t ExchangeWord(std::uintptr_t* target,
                                                std::uintptr_t value,
                                                MemoryOrder order) {
  internal::TsanBefore(target, order);
  __asm__ __volatile__("xchg %[value], %[mem]"
                       : [value] "+r"(value), [mem] "+m"(*target)
                       :
                       : "memory");
  internal::TsanAfter(target, order);
  return value;
}

// Word compare-and-swap with `lock cmpxchg`: compares RAX with the word; if
// equal it sets ZF and stores `desired`, otherwise it clears ZF and loads the
// word into RAX. Full barrier for every order.
// *expected may be a T* slot seen as a word (atomics.h's typed layer), hence
// the accesses through AsAliasing.
POOLKIT_ARCH_INLINE bool CompareExchangeWord(std::uintptr_t* target,
                                             std::uintptr_t* expected,
                                             std::uintptr_t desired,
                                             MemoryOrder order) {
  internal::TsanBefore(target, order);
  std::uintptr_t observed = *internal::AsAliasing(expected);
  bool swapped;
#if POOLKIT_ARCH_MUTANT(X86_CAS_WORD_NO_LOCK)
  __asm__ __volatile__("cmpxchg %[desired], %[mem]"
#else
  __asm__ __volatile__("lock cmpxchg %[desired], %[mem]"
#endif
                       : "=@ccz"(swapped), [mem] "+m"(*target), "+a"(observed)
                       : [desired] "r"(desired)
                       : "memory", "cc");
  if (swapped) {
    internal::TsanAfter(target, order);
  } else {
    *internal::AsAliasing(expected) = observed;
    internal::TsanAfter(target, FailureOrder(order));
  }
  return swapped;
}

// Aligned word loads and stores are atomic on x86-64; the builtins emit a
// plain `mov` (a seq_cst store becomes `xchg` or `mov` + `mfence`) and tell
// the compiler and TSan the order. Nonsensical orders are strengthened as
// LoadOrder() / StoreOrder() say.
POOLKIT_ARCH_INLINE std::uintptr_t LoadWord(const std::uintptr_t* src,
                                            MemoryOrder order) {
  return __atomic_load_n(internal::AsAliasing(src),
                         ToBuiltinOrder(LoadOrder(order)));
}

POOLKIT_ARCH_INLINE void StoreWord(std::uintptr_t* dst, std::uintptr_t value,
                                   MemoryOrder order) {
#if POOLKIT_ARCH_MUTANT(X86_SEQ_CST_STORE_PLAIN)
  if (order == MemoryOrder::kSeqCst) order = MemoryOrder::kRelease;
#endif
  __atomic_store_n(internal::AsAliasing(dst), value,
                   ToBuiltinOrder(StoreOrder(order)));
}

// Spin-wait hint: `pause` lets the sibling hyperthread run and avoids the
// memory-order mis-speculation penalty when the spin loop exits. The "memory"
// clobber makes it a compiler barrier too, so a spin loop re-reads memory.
POOLKIT_ARCH_INLINE void CpuRelax() {
  __asm__ __volatile__("pause" ::: "memory");
}

// `mfence` orders every earlier load and store before every later one,
// including non-temporal stores, which a locked instruction on the stack is
// not documented to order.
POOLKIT_ARCH_INLINE void FullBarrier() {
  __asm__ __volatile__("mfence" ::: "memory");
}

// x86-TSO already keeps earlier loads before later loads and stores (acquire)
// and earlier loads and stores before later stores (release); only the
// compiler has to be stopped, which the "memory" clobber does.
POOLKIT_ARCH_INLINE void AcquireBarrier() {
  __asm__ __volatile__("" ::: "memory");
}
POOLKIT_ARCH_INLINE void ReleaseBarrier() {
  __asm__ __volatile__("" ::: "memory");
}

}  // namespace poolkit::arch::x86_64

#endif  // POOLKIT_ARCH_X86_64_H_
