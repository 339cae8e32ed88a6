/*
 * xchg.pml: XchgStack (pool/internal/xchg_stack.h, seed 003), a stack
 * whose head locks itself: a pop swaps the BUSY sentinel into the head with
 * one exchange, reads the taken cluster's `next` while the head reads BUSY,
 * and stores `next` into the head, which publishes it and unlocks.
 *
 * Mirrors, side by side:
 *   xchg_lock      XchgStack::Lock
 *   stack_pop      XchgStack::Pop
 *   xchg_lock_for_push  XchgStack::LockForPush (BUSY even over an empty list)
 *   stack_push     XchgStack::Push (under the lock, as a pop)
 *   stack_popall   XchgStack::PopAll
 *   release_to_os  Pool::ReleaseToOs (pool/pool.cc): free at once, no barrier
 *   flush, the threads, the invariant: workload.pml (Pool::Trim, ...)
 * Every spin loop of the C++ (Lock's and LockForPush's reloads while BUSY)
 * is a real loop here, not a blocking wait, so
 * that a thread can spin forever if the scheduler never lets the BUSY holder
 * run: the progress check below is about exactly that.
 *
 * Expect: safe, and with -DCHECK_PROGRESS (pan -a -f, weak fairness) the LTL
 * property all_threads_finish (<> done == NTHREADS) holds: no thread waits on
 * BUSY forever once the holder is scheduled. Without fairness (pan -a) that
 * property must FAIL (an unfair run starves the holder), which shows the
 * spin loops are really there and the check is not vacuous.
 *
 * Mutation (must produce a counterexample; check_models.sh runs it):
 *   BROKEN  Pop reads the head's `next` before taking BUSY (and uses it if
 *           the exchange returns the same head): that read can hit an object
 *           another thread popped and returned to the OS.
 */

#include "memory.pml"

#define FREES_TO_OS 1
#define BUSY (NNODES + 2)   /* kBusy */

byte head;        /* head_: NIL, an object, or BUSY */
byte locked_top;  /* ghost: the real first object while head reads BUSY */

#define STACK_IDLE (head != BUSY)
#define STRATEGY_LOCALS byte seen, early;
#define RESET_STRATEGY_LOCALS seen = 0; early = 0;

/* The list's real first node: locked_top while the head reads BUSY. */
inline load_top() {
  if
  :: head == BUSY -> p = locked_top
  :: else -> p = head
  fi
}

inline stack_init(first) {
  head = first
}

/* r = what the head held; non-NIL means the head is now BUSY, locked by us. */
inline xchg_lock(me, r) {
  do
  :: r = head;                        /* LoadWord */
     if
     :: r == NIL -> break             /* nothing to take: no need to lock */
     :: r == BUSY -> skip             /* CpuRelax, reload */
     :: else ->
        atomic {                      /* ExchangeWord(&head_, kBusy) */
          r = head;
          head = BUSY;
          if
          :: r != BUSY -> locked_top = r
          :: else
          fi
        };
        if
        :: r == NIL ->                /* emptied meanwhile: unlock, empty */
           head = NIL;
           break
        :: r == BUSY -> skip          /* someone else holds it: CpuRelax */
        :: else ->
           printf("@@ T%d Lock: swapped BUSY into the head, took n%d\n", me, r);
           break
        fi
     fi
  od
}

inline stack_pop(me, item) {
#ifdef BROKEN
  atomic {
    seen = head;
    printf("@@ T%d Pop (BROKEN): read head n%d, before taking BUSY\n", me, seen)
  };
  if
  :: VALID(seen) -> read_next(me, seen, early) /* before taking BUSY */
  :: else
  fi;
#endif
  xchg_lock(me, item);
  if
  :: item == NIL -> skip
  :: else ->
#ifdef BROKEN
     if
     :: item == seen -> nxt = early
     :: else -> read_next(me, item, nxt)
     fi;
#else
     read_next(me, item, nxt);        /* cluster->next, head still BUSY */
#endif
     atomic {                         /* StoreWord(&head_, next): unlock */
       head = nxt;
       take(me, item);
       printf("@@ T%d Pop: takes n%d, head now n%d\n", me, item, nxt);
       check_list()
     }
  fi
}

/* XchgStack::LockForPush: BUSY swapped into the head even over an empty
 * list; r = what the head held (NIL or an object), now locked by us. */
inline xchg_lock_for_push(me, r) {
  do
  :: r = head;                        /* LoadWord */
     if
     :: r == BUSY -> skip             /* CpuRelax, reload */
     :: else ->
        atomic {                      /* ExchangeWord(&head_, kBusy) */
          r = head;
          head = BUSY;
          if
          :: r != BUSY -> locked_top = r
          :: else
          fi
        };
        if
        :: r == BUSY -> skip          /* someone else holds it: CpuRelax */
        :: else ->
           printf("@@ T%d LockForPush: swapped BUSY into the head over n%d\n", me, r);
           break
        fi
     fi
  od
}

inline stack_push(me, c) {
  xchg_lock_for_push(me, seen);
  write_next(me, c, seen);            /* cluster->next = seen, head BUSY */
  atomic {                            /* StoreWord(&head_, cluster): unlock */
    head = c;
    put(me, c);
    printf("@@ T%d Push: n%d\n", me, c);
    check_list()
  }
}

inline stack_popall(me, all) {
  xchg_lock(me, all);
  if
  :: all != NIL ->
     atomic {                         /* StoreWord(&head_, 0) */
       head = NIL;
       take_chain(me, all);
       printf("@@ T%d PopAll: detaches the list from n%d\n", me, all);
       check_list()
     }
  :: else
  fi
}

inline release_to_os(me, x) {
  free_node(me, x)
}

#include "workload.pml"
