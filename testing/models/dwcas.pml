/*
 * dwcas.pml: DwcasStack (pool/internal/dwcas_stack.h), a lock-free stack
 * on a {head, generation} pair updated with a double-word CAS, and its
 * flush lock (SharedSpinLock, pool/internal/spin_lock.h).
 *
 * Mirrors, side by side:
 *   stack_pop      DwcasStack::Pop
 *   stack_push     DwcasStack::Push
 *   stack_popall   DwcasStack::PopAll
 *   release_to_os  Pool::ReleaseToOs (pool/pool.cc): when BARRIER,
 *                  DwcasStack::ReleaseBarrier (lock_excl(); unlock_excl()),
 *                  then the free
 *   lock_shared / unlock_shared / lock_excl / unlock_excl
 *                  SharedSpinLock::LockShared / UnlockShared / Lock / Unlock
 *   flush, the threads, the invariant: workload.pml (Pool::Trim, ...)
 * One bucket: Pool::ReleaseToOs runs the barrier of every bucket, so also
 * that of any bucket a pop is in flight on; buckets share nothing else.
 *
 * Exactly one variant must be chosen (spin -DVARIANT_x -a dwcas.pml):
 *   VARIANT_A  the C++ as it is: pops hold the flush lock shared from before
 *              reading the head until after the DWCAS; PopAll holds it
 *              exclusively; ReleaseToOs runs the release barrier (an empty
 *              exclusive section) before every free. Ordinary frees and
 *              flush both return objects to the OS.             Expect: safe.
 *   VARIANT_B  seed 000: the flush lock only around PopAll (pops hold it
 *              shared), no release barrier, and only flush returns objects
 *              to the OS (ordinary frees always push back).     Expect: safe.
 *   VARIANT_C  VARIANT_A with the barrier switched off
 *              (the C++ test switch
 *              internal::PoolTestPeer::SetDwcasFlushLock(pool, false) removes the barrier
 *              and the pops' shared side too: mutation NO_SHARED_IN_POP): ordinary frees return
 *              objects to the OS while a pop may be about to read their
 *              `next`: the seed-003 crash.           Expect: a counterexample.
 *
 * Mutations (each must produce a counterexample; check_models.sh runs them):
 *   NO_SHARED_IN_POP  seed 001: pops do not take the flush lock.
 *   HEAD_FIRST        Pop reads the head before the generation (the order
 *                     dwcas_stack.h warns against).
 *   NO_GEN            the DWCAS ignores the generation (plain CAS: ABA).
 *   WITNESS           not a bug: asserts that no object is ever released while
 *                     a pop is between reading it as the head and reading its
 *                     `next`. In VARIANT_A this must FAIL: the situation the
 *                     barrier guards against is reachable, so the barrier
 *                     (not a lack of interleavings) is what keeps A safe.
 *
 * Generation counter: kept mod GEN_MOD (8). Every removal (a successful pop
 * or PopAll, at most one per operation) bumps it. While a pop waits between
 * reading the generation and its DWCAS, only the other operations of the run
 * can remove: at most NTHREADS * OPS - 1 of them (5 with the default bounds,
 * 7 with 2 threads x 4 operations, the largest configuration check_models.sh
 * runs), fewer than GEN_MOD. So the counter never comes back to the value a
 * waiting pop has read, the bound creates no spurious ABA, and it behaves
 * like the C++'s 64-bit counter. The #if below keeps that true if the
 * bounds are raised. (Mutation GEN_MOD=2 shows what a too-small counter
 * does: check_models.sh expects a counterexample from it.)
 */

#include "memory.pml"

#if defined(VARIANT_A) + defined(VARIANT_B) + defined(VARIANT_C) != 1
#error define exactly one of VARIANT_A, VARIANT_B, VARIANT_C
#endif

#ifdef VARIANT_A
#define BARRIER 1
#define FREES_TO_OS 1
#endif
#ifdef VARIANT_B
#define BARRIER 0
#define FREES_TO_OS 0
#endif
#ifdef VARIANT_C
#define BARRIER 0
#define FREES_TO_OS 1
#endif

#ifndef GEN_MOD
#define GEN_MOD 8
#if NTHREADS * OPS > GEN_MOD
#error GEN_MOD too small for these bounds: the generation could wrap
#endif
#endif

byte top_lo;  /* top_.lo: the head */
byte top_hi;  /* top_.hi: the generation */

/* SharedSpinLock flush_lock_: the writer bit and the reader count. */
bit writer;
byte readers;

#define STACK_IDLE (writer == 0 && readers == 0)
#define STRATEGY_LOCALS byte seen_lo, seen_hi;
#define RESET_STRATEGY_LOCALS seen_lo = 0; seen_hi = 0;

inline load_top() {
  p = top_lo
}

inline stack_init(first) {
  top_lo = first;
  top_hi = 0
}

/* LockShared: in only while no writer holds or claims the lock. (The C++
 * spins; for safety, blocking is the same.) */
inline lock_shared() {
  atomic { writer == 0 -> readers++ }
}
inline unlock_shared() {
  readers--
}
/* Lock: claim the writer bit (no new reader gets in), then wait for the
 * readers already inside to leave. */
inline lock_excl() {
  atomic { writer == 0 -> writer = 1 };
  readers == 0
}
inline unlock_excl() {
  writer = 0
}

inline stack_pop(me, item) {
  if
  :: top_lo == NIL -> item = NIL      /* unlocked peek: empty, no lock */
  :: else ->
#ifndef NO_SHARED_IN_POP
     lock_shared();
#endif
#ifdef HEAD_FIRST
     atomic { seen_lo = top_lo; mid_pop[me] = seen_lo };
     seen_hi = top_hi;
     printf("@@ T%d Pop (HEAD_FIRST): read head n%d, then generation %d\n", me, seen_lo, seen_hi);
#else
     seen_hi = top_hi;                /* generation first, */
     atomic {                         /* then the head */
       seen_lo = top_lo;
       mid_pop[me] = seen_lo;
       printf("@@ T%d Pop: read generation %d, then head n%d\n", me, seen_hi, seen_lo)
     };
#endif
     do
     :: seen_lo == NIL -> item = NIL; break
     :: else ->
        /* Other threads may run here, between the step that read the head
         * (or the failed DWCAS that returned it) and the read of its next:
         * the window pop_hook_ widens in the C++ tests. */
        atomic {
          item = seen_lo;
          read_next(me, item, nxt);   /* ReadNextMayRace(item) */
          mid_pop[me] = NIL;
          printf("@@ T%d Pop: read n%d->next = n%d\n", me, item, nxt)
        };
        atomic {
          if
#ifdef NO_GEN
          :: top_lo == seen_lo ->
#else
          :: top_lo == seen_lo && top_hi == seen_hi ->
#endif
             top_lo = nxt;
             top_hi = (seen_hi + 1) % GEN_MOD;
             take(me, item);
             printf("@@ T%d Pop: DWCAS {n%d,%d} -> {n%d,%d} succeeds: T%d owns n%d\n",
                    me, item, seen_hi, nxt, top_hi, me, item);
             check_list();
             break
          :: else ->                  /* the failed DWCAS returns the pair */
             printf("@@ T%d Pop: DWCAS expecting {n%d,%d} fails (now {n%d,%d}), retry\n",
                    me, seen_lo, seen_hi, top_lo, top_hi);
             seen_lo = top_lo;
             seen_hi = top_hi;
             mid_pop[me] = seen_lo
          fi
        }
     od;
#ifndef NO_SHARED_IN_POP
     unlock_shared()
#else
     skip
#endif
  fi
}

inline stack_push(me, c) {
  seen_lo = top_lo;
  seen_hi = top_hi;
  do
  :: write_next(me, c, seen_lo);      /* cluster->next = seen.lo */
     atomic {
       if
       :: top_lo == seen_lo && top_hi == seen_hi ->
          top_lo = c;                 /* no generation bump on push */
          put(me, c);
          printf("@@ T%d Push: n%d (next n%d), generation stays %d\n", me, c, seen_lo, top_hi);
          check_list();
          break
       :: else ->
          seen_lo = top_lo;
          seen_hi = top_hi
       fi
     }
  od
}

inline stack_popall(me, all) {
  lock_excl();
  seen_lo = top_lo;
  seen_hi = top_hi;
  do
  :: atomic {
       if
       :: top_lo == seen_lo && top_hi == seen_hi ->
          top_lo = NIL;
          top_hi = (seen_hi + 1) % GEN_MOD;
          take_chain(me, seen_lo);
          printf("@@ T%d PopAll: detaches the list from n%d\n", me, seen_lo);
          check_list();
          break
       :: else ->
          seen_lo = top_lo;
          seen_hi = top_hi
       fi
     }
  od;
  unlock_excl();
  all = seen_lo
}

inline release_to_os(me, x) {
#ifdef WITNESS
  assert(!MID_POP_ON(x));
#endif
#if BARRIER
  printf("@@ T%d ReleaseBarrier before freeing n%d\n", me, x);
  lock_excl();                        /* DwcasStack::ReleaseBarrier */
  unlock_excl();
#endif
  free_node(me, x)
}

#include "workload.pml"
