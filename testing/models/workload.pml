/*
 * workload.pml: the threads, the setup and the final check every stack model
 * shares (included last by spinlock.pml, dwcas.pml and xchg.pml, after
 * they define the stack; not a model on its own).
 *
 * The including model provides:
 *   stack_pop(me, item)    the strategy's Pop(): item = a cluster or NIL
 *   stack_push(me, c)      the strategy's Push(c)
 *   stack_popall(me, all)  the strategy's PopAll()
 *   release_to_os(me, x)   Pool::ReleaseToOs(x) for this strategy
 *   stack_init(first)      the head starts as `first`
 *   load_top()             p = the list's real first node (for the invariant)
 *   STACK_IDLE             no lock held / no BUSY left (checked at the end)
 *   FREES_TO_OS            1 when ordinary frees may return objects to the
 *                          OS (Pool::EvictFront releasing), 0 when
 *                          only flush does
 *   STRATEGY_LOCALS        the locals its inlines use (and
 *   RESET_STRATEGY_LOCALS  zeroes them after each operation)
 * and calls check_list() (memory.pml) in every step that writes the head.
 *
 * Start: n1 -> n2 in the stack, n3 in the OS. Each of NTHREADS threads then
 * performs OPS operations, each chosen freely among:
 *   pop           Pool::PopShared -> <Strategy>::Pop, then the caller may
 *                 overwrite the object's first word (use_object)
 *   push          Pool::PushShared -> <Strategy>::Push of an object it owns
 *                 (EvictFront keeping a cluster, AllocSlow pushing the rest
 *                 of a cluster back, Trim keeping spares)
 *   free to OS    Pool::ReleaseToOs of an object it owns (EvictFront's
 *                 ReleaseClustersToOs; only when FREES_TO_OS)
 *   alloc         Pool::AllocFromOs: any object now in the OS
 *   flush         Pool::Flush -> Pool::Trim(0): PopAll, then release every
 *                 cluster to the OS (thread 0 only, at most once)
 * so every interleaving of every such program is explored (3 threads x 2
 * operations by default; check_models.sh also runs 2 threads x 4).
 * Thread(me) mirrors a thread calling into Pool: Pool::AllocSlow (pop),
 * Pool::EvictFront (push or free), Pool::Flush (flush).
 */

#if NTHREADS < 2 || NTHREADS > 3
#error NTHREADS must be 2 or 3
#endif

/* Pool::Trim(0) (reached from Pool::Flush): detach every cluster, then walk
 * the detached list (reading each `next` before the cluster is released, as
 * Trim does) and release each cluster to the OS. */
inline flush(me) {
  printf("@@ T%d Flush: PopAll\n", me);
  stack_popall(me, all);
  c = all;
  do
  :: c == NIL -> break
  :: else ->
     read_next(me, c, nc);
     release_to_os(me, c);
     c = nc
  od
}

proctype Thread(byte me) {
  byte op, x, item, nxt, all, c, nc, t, p, cnt, i;
  byte mine; /* bit x set: this thread owns object x */
  bit flushed;
  STRATEGY_LOCALS
  do
  :: op < OPS ->
     if
     :: stack_pop(me, item);
        if
        :: item != NIL -> use_object(me, item)
        :: else
        fi
     :: mine != 0 -> pick_owned(x); stack_push(me, x)
#if FREES_TO_OS
     :: mine != 0 -> pick_owned(x); release_to_os(me, x)
#endif
     :: alloc_from_os(me, x)
     :: me == 0 && !flushed -> flushed = 1; flush(me)
     fi;
     atomic {
       op++;
       x = 0; item = 0; nxt = 0; all = 0; c = 0; nc = 0; t = 0;
       RESET_STRATEGY_LOCALS
     }
  :: else -> break
  od;
  done++
}

init {
  byte p, cnt, i;
  atomic {
    where[0] = FREED;
    where[1] = IN_STACK;
    where[2] = IN_STACK;
    where[3] = FREED;
    next[1] = 2;
    next[2] = NIL;
    stack_init(1);
    run Thread(0);
    run Thread(1);
#if NTHREADS > 2
    run Thread(2);
#endif
  }
  done == NTHREADS;
  /* Final check: every object is in exactly one place (the stack, a thread,
   * or the OS: where[] says which, and the list agrees with it), and the
   * stack is idle. */
  d_step {
    check_list();
    assert(STACK_IDLE)
  }
}

#ifdef CHECK_PROGRESS
/* Under weak fairness (pan -a -f): every thread finishes its operations, so
 * none spins forever on BUSY (or on a failed CAS). */
ltl all_threads_finish { <> (done == NTHREADS) }
#endif
