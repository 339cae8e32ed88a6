// Mutants of the atomics backends, for the codegen test's self-test only.
//
// arch:codegen_probe_mutant_<name> builds the codegen probe with
// POOLKIT_ARCH_CODEGEN_MUTANT set to one of the ids below; each backend asks
// POOLKIT_ARCH_MUTANT(NAME) at the one place that mutant changes (one
// instruction or one memory order), and codegen_check.py must reject the
// result (arch:codegen_mutant_<name>_test). The library never sets a mutant:
// outside the probe (POOLKIT_ARCH_CODEGEN_PROBE) a mutant is an error, and
// without one every POOLKIT_ARCH_MUTANT() is false.
#ifndef POOLKIT_ARCH_CODEGEN_MUTANTS_H_
#define POOLKIT_ARCH_CODEGEN_MUTANTS_H_

// x86-64: `lock` dropped from the word and the pair compare-exchange; a
// seq_cst store emitted as a release store (plain `mov`, no `xchg`).
#define POOLKIT_ARCH_MUTANT_X86_CAS_WORD_NO_LOCK 1
#define POOLKIT_ARCH_MUTANT_X86_CAS_PAIR_NO_LOCK 2
#define POOLKIT_ARCH_MUTANT_X86_SEQ_CST_STORE_PLAIN 3
// aarch64 LL/SC: the release pair compare-exchange as ldxp/stxp with its
// torn-read write-back replaced by clrex; the acquire exchange's ldaxr
// weakened to ldxr.
#define POOLKIT_ARCH_MUTANT_LLSC_RELEASE_CAS_PAIR_CLREX 10
#define POOLKIT_ARCH_MUTANT_LLSC_ACQUIRE_EXCHANGE_LDXR 11
// aarch64 LSE: the acquire pair compare-exchange as casp (not caspa); the
// release exchange as swp (not swpl); the seq_cst (and acq_rel, the same
// branch) word compare-exchange as casa (not casal).
#define POOLKIT_ARCH_MUTANT_LSE_ACQUIRE_CAS_PAIR_CASP 20
#define POOLKIT_ARCH_MUTANT_LSE_RELEASE_EXCHANGE_SWP 21
#define POOLKIT_ARCH_MUTANT_LSE_SEQ_CST_CAS_WORD_CASA 22

#if defined(POOLKIT_ARCH_CODEGEN_MUTANT)
#if !defined(POOLKIT_ARCH_CODEGEN_PROBE)
#error "POOLKIT_ARCH_CODEGEN_MUTANT is for arch:codegen_probe_mutant_* only"
#endif
#define POOLKIT_ARCH_MUTANT(name) \
  (POOLKIT_ARCH_CODEGEN_MUTANT == POOLKIT_ARCH_MUTANT_##name)
#else
#define POOLKIT_ARCH_MUTANT(name) 0
#endif

#endif  // POOLKIT_ARCH_CODEGEN_MUTANTS_H_
