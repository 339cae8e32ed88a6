// The atomic primitives of poolkit, for the CPU this build targets.
//
// Exactly one backend is selected at build time. The build passes one of
//   POOLKIT_ARCH_BACKEND_X86_64        (arch/x86_64.h, `lock cmpxchg16b`)
//   POOLKIT_ARCH_BACKEND_AARCH64_LLSC  (arch/aarch64_llsc.h, `ldaxp`/`stlxp`)
//   POOLKIT_ARCH_BACKEND_AARCH64_LSE   (arch/aarch64_lse.h, `casp`)
//   POOLKIT_ARCH_BACKEND_PORTABLE      (arch/portable.h, `__atomic` builtins)
// If none is defined, the compiler's predefined macros decide: x86-64 gets
// X86_64, aarch64 with __ARM_FEATURE_ATOMICS (-march=armv8.1-a or later) gets
// AARCH64_LSE, other aarch64 gets AARCH64_LLSC, anything else PORTABLE. A
// define that the target cannot honour is an error, not a silent fallback.
//
// The chosen backend is the namespace poolkit::arch::native, and its
// functions are available directly in poolkit::arch:
//
//   poolkit::arch::WordPair head = poolkit::arch::LoadPair(
//       &list_head, poolkit::arch::MemoryOrder::kAcquire);
//
// Every backend offers the same interface (see any backend header):
//   kName, kDwcasInstruction, kDwcasLockFree, DwcasIsLockFree(),
//   CompareExchangePair, LoadPair, ExchangeWord, CompareExchangeWord,
//   LoadWord, StoreWord, CpuRelax, FullBarrier, AcquireBarrier,
//   ReleaseBarrier.

#ifndef POOLKIT_ARCH_ATOMICS_H_
#define POOLKIT_ARCH_ATOMICS_H_

#include <cstdint>

#include "arch/cxx17_required.h"
#include "arch/word_pair.h"

#if defined(POOLKIT_ARCH_BACKEND_X86_64) +           \
        defined(POOLKIT_ARCH_BACKEND_AARCH64_LLSC) + \
        defined(POOLKIT_ARCH_BACKEND_AARCH64_LSE) +  \
        defined(POOLKIT_ARCH_BACKEND_PORTABLE) >     \
    1
#error "poolkit: define at most one POOLKIT_ARCH_BACKEND_* macro"
#endif

#if defined(POOLKIT_ARCH_BACKEND_X86_64)
#if !defined(__x86_64__)
#error \
    "poolkit: POOLKIT_ARCH_BACKEND_X86_64 was requested but the compiler does not target x86-64 (__x86_64__ is not defined)"
#endif
#define POOLKIT_ARCH_SELECTED_X86_64_ 1
#elif defined(POOLKIT_ARCH_BACKEND_AARCH64_LLSC)
#if !defined(__aarch64__)
#error \
    "poolkit: POOLKIT_ARCH_BACKEND_AARCH64_LLSC was requested but the compiler does not target aarch64 (__aarch64__ is not defined)"
#endif
#define POOLKIT_ARCH_SELECTED_AARCH64_LLSC_ 1
#elif defined(POOLKIT_ARCH_BACKEND_AARCH64_LSE)
#if !defined(__aarch64__)
#error \
    "poolkit: POOLKIT_ARCH_BACKEND_AARCH64_LSE was requested but the compiler does not target aarch64 (__aarch64__ is not defined)"
#endif
#if !defined(__ARM_FEATURE_ATOMICS)
#error \
    "poolkit: POOLKIT_ARCH_BACKEND_AARCH64_LSE was requested but LSE atomics are not enabled (__ARM_FEATURE_ATOMICS is not defined): build with -march=armv8.1-a or later, or select POOLKIT_ARCH_BACKEND_AARCH64_LLSC"
#endif
#define POOLKIT_ARCH_SELECTED_AARCH64_LSE_ 1
#elif defined(POOLKIT_ARCH_BACKEND_PORTABLE)
#define POOLKIT_ARCH_SELECTED_PORTABLE_ 1
// No define: fall back on what the compiler says about the target.
#elif defined(__x86_64__)
#define POOLKIT_ARCH_SELECTED_X86_64_ 1
#elif defined(__aarch64__) && defined(__ARM_FEATURE_ATOMICS)
#define POOLKIT_ARCH_SELECTED_AARCH64_LSE_ 1
#elif defined(__aarch64__)
#define POOLKIT_ARCH_SELECTED_AARCH64_LLSC_ 1
#else
#define POOLKIT_ARCH_SELECTED_PORTABLE_ 1
#endif

#if defined(POOLKIT_ARCH_SELECTED_X86_64_)
#include "arch/x86_64.h"
namespace poolkit::arch {
namespace native = ::poolkit::arch::x86_64;
}  // namespace poolkit::arch
#elif defined(POOLKIT_ARCH_SELECTED_AARCH64_LLSC_)
#include "arch/aarch64_llsc.h"
namespace poolkit::arch {
namespace native = ::poolkit::arch::aarch64_llsc;
}  // namespace poolkit::arch
#elif defined(POOLKIT_ARCH_SELECTED_AARCH64_LSE_)
#include "arch/aarch64_lse.h"
namespace poolkit::arch {
namespace native = ::poolkit::arch::aarch64_lse;
}  // namespace poolkit::arch
#else
#include "arch/portable.h"
namespace poolkit::arch {
namespace native = ::poolkit::arch::portable;
}  // namespace poolkit::arch
#endif

#undef POOLKIT_ARCH_SELECTED_X86_64_
#undef POOLKIT_ARCH_SELECTED_AARCH64_LLSC_
#undef POOLKIT_ARCH_SELECTED_AARCH64_LSE_
#undef POOLKIT_ARCH_SELECTED_PORTABLE_

namespace poolkit::arch {

// "x86_64", "aarch64_llsc", "aarch64_lse" or "portable".
inline constexpr const char* kBackendName = native::kName;

using native::kDwcasInstruction;
using native::kDwcasLockFree;

using native::CompareExchangePair;
using native::CompareExchangeWord;
using native::DwcasIsLockFree;
using native::ExchangeWord;
using native::LoadPair;
using native::LoadWord;
using native::StoreWord;

using native::AcquireBarrier;
using native::CpuRelax;
using native::FullBarrier;
using native::ReleaseBarrier;

// Pointer-typed wrappers over the word operations, for a `T*` slot shared
// between threads (a list head, a hand-off slot).
//
// The slot is accessed as a std::uintptr_t. That is sound here although the
// object is a T*: the asm backends reach memory only inside asm with a
// "memory" clobber, which the compiler must assume reads and writes any
// object whatever its type, and the `__atomic` builtins go through
// internal::AliasingWord (may_alias), which type-based alias analysis treats
// like `char`. The static_asserts check that a T* round-trips through the
// word.

template <class T>
T* ExchangePointer(T** target, T* value, MemoryOrder order) {
  static_assert(sizeof(T*) == sizeof(std::uintptr_t),
                "a pointer must fit exactly in a word");
  return reinterpret_cast<T*>(
      ExchangeWord(reinterpret_cast<std::uintptr_t*>(target),
                   reinterpret_cast<std::uintptr_t>(value), order));
}

// If *target == *expected, *target = desired and return true; otherwise
// *expected = the pointer observed in *target and return false.
template <class T>
bool CompareExchangePointer(T** target, T** expected, T* desired,
                            MemoryOrder order) {
  static_assert(sizeof(T*) == sizeof(std::uintptr_t),
                "a pointer must fit exactly in a word");
  return CompareExchangeWord(reinterpret_cast<std::uintptr_t*>(target),
                             reinterpret_cast<std::uintptr_t*>(expected),
                             reinterpret_cast<std::uintptr_t>(desired), order);
}

template <class T>
T* LoadPointer(T* const* src, MemoryOrder order) {
  static_assert(sizeof(T*) == sizeof(std::uintptr_t),
                "a pointer must fit exactly in a word");
  return reinterpret_cast<T*>(
      LoadWord(reinterpret_cast<const std::uintptr_t*>(src), order));
}

template <class T>
void StorePointer(T** dst, T* value, MemoryOrder order) {
  static_assert(sizeof(T*) == sizeof(std::uintptr_t),
                "a pointer must fit exactly in a word");
  StoreWord(reinterpret_cast<std::uintptr_t*>(dst),
            reinterpret_cast<std::uintptr_t>(value), order);
}

}  // namespace poolkit::arch

#endif  // POOLKIT_ARCH_ATOMICS_H_
