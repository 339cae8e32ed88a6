/*
 * spinlock.pml: SpinlockStack (pool/internal/spinlock_stack.h, seed 002), a
 * stack whose every access takes one SpinLock (pool/internal/spin_lock.h).
 *
 * Mirrors, side by side:
 *   stack_pop      SpinlockStack::Pop (the unlocked empty peek, then the lock)
 *   stack_push     SpinlockStack::Push
 *   stack_popall   SpinlockStack::PopAll
 *   lock / unlock  SpinLock::Lock / Unlock (blocking here; for safety that is
 *                  the same as spinning)
 *   release_to_os  Pool::ReleaseToOs (pool/pool.cc): free at once, no barrier
 *   flush, the threads, the invariant: workload.pml (Pool::Trim, ...)
 *
 * Expect: safe. Objects are returned to the OS at any time, with no barrier:
 * a pop reads head->next under the lock, where nobody can remove the head.
 *
 * Mutation (must produce a counterexample; check_models.sh runs it):
 *   BROKEN  Pop reads the head and head->next before taking the lock and,
 *           under the lock, installs that `next` if the head is unchanged
 *           (a "lock-protected CAS"): the read can hit a freed object.
 */

#include "memory.pml"

#define FREES_TO_OS 1

bit lk;      /* lock_ */
byte head;   /* head_ */

#define STACK_IDLE (lk == 0)
#define STRATEGY_LOCALS byte peek, early;
#define RESET_STRATEGY_LOCALS peek = 0; early = 0;

inline load_top() {
  p = head
}

inline stack_init(first) {
  head = first
}

inline lock() {
  atomic { lk == 0 -> lk = 1 }
}
inline unlock() {
  lk = 0
}

inline stack_push(me, c) {
  lock();
  write_next(me, c, head);            /* cluster->next = Head() */
  atomic {                            /* SetHead(cluster) */
    head = c;
    put(me, c);
    printf("@@ T%d Push: n%d\n", me, c);
    check_list()
  };
  unlock()
}

inline stack_pop(me, item) {
  if
  :: head == NIL -> item = NIL        /* unlocked peek: empty, no lock */
  :: else ->
#ifndef BROKEN
     lock();
     atomic {
       item = head;
       printf("@@ T%d Pop: read head n%d (under the lock)\n", me, item)
     };
     if
     :: item != NIL ->
        read_next(me, item, nxt);
        atomic {                      /* SetHead(item->next) */
          head = nxt;
          take(me, item);
          printf("@@ T%d Pop: takes n%d\n", me, item);
          check_list()
        }
     :: else
     fi;
     unlock()
#else
     atomic {
       peek = head;
       printf("@@ T%d Pop (BROKEN): read head n%d before locking\n", me, peek)
     };
     if
     :: peek == NIL -> item = NIL
     :: else ->
        read_next(me, peek, early);   /* outside the lock */
        lock();
        atomic {
          if
          :: head == peek ->
             item = peek;
             head = early;
             take(me, item);
             printf("@@ T%d Pop (BROKEN): takes n%d\n", me, item);
             check_list()
          :: else -> item = NIL
          fi
        };
        unlock()
     fi
#endif
  fi
}

inline stack_popall(me, all) {
  lock();
  all = head;
  atomic {                            /* SetHead(0) */
    head = NIL;
    take_chain(me, all);
    printf("@@ T%d PopAll: detaches the list from n%d\n", me, all);
    check_list()
  };
  unlock()
}

inline release_to_os(me, x) {
  free_node(me, x)
}

#include "workload.pml"
