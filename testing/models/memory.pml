/*
 * memory.pml: the memory every stack model shares (included first by
 * spinlock.pml, dwcas.pml and xchg.pml; not a model on its own).
 *
 * Memory is a fixed array of NNODES objects, 1..NNODES (0 is the null
 * pointer). Each object has
 *   next[x]   its first word, FreeItem::next (pool/internal/free_item.h);
 *   where[x]  a ghost: IN_STACK (reachable from the stack's head), OWNED
 *             (popped, allocated from the OS, or detached by a flush: held
 *             by thread owner[x]), or FREED (returned to the OS, or not yet
 *             allocated from it: unmapped memory).
 *
 * A cluster is modelled by its first object only, one node per cluster:
 * the stacks read and write nothing of a cluster but its first object's
 * stack link (`next_cluster` in the C++ code, `next` here: Push writes it,
 * Pop reads it from the head, PopAll detaches the chain of first objects).
 * The other objects of a cluster, and its count, are touched only by the
 * cluster's owner after the stack has handed it over (Pool::TakeObject,
 * Pool::ReleaseClustersToOs, Pool::Trim). ReleaseClustersToOs takes the
 * strategy's barrier once for a batch of clusters that have all left the
 * stacks, then releases their objects: no pop that starts after the barrier
 * can reach any of them, so the batch is a run of the model's one-object
 * releases, each after a barrier that the first one already provides. A
 * node therefore stands for a one-object cluster and for the head of a
 * larger one alike, and pushing "a cluster" is pushing its node.
 *
 * Every read of `next` goes through read_next(), which asserts the pointer
 * is a real object (not null, not the BUSY sentinel, not garbage) and that
 * the object is not FREED: reading an unmapped object's `next` is the crash
 * of seed 003. Every write goes through write_next(), which asserts the
 * writer owns the object.
 *
 * Sequential consistency: every shared access is one Promela step, in the
 * order the C++ performs them. The C++ memory orders (acquire/release) are
 * not modelled; the stress and TSan tests cover those.
 */

#ifndef NTHREADS
#define NTHREADS 3 /* threads, 2 or 3 (only Thread(0) may flush) */
#endif
#ifndef OPS
#define OPS 2 /* operations per thread */
#endif
#define NNODES 3 /* objects; node n3 starts in the OS, n1 -> n2 in the stack */

#define NIL 0
#define JUNK (NNODES + 1) /* what a user's write leaves in `next` */
#define VALID(x) ((x) >= 1 && (x) <= NNODES)

mtype = { FREED, IN_STACK, OWNED };

mtype where[NNODES + 1];
byte owner[NNODES + 1];
byte next[NNODES + 1];
byte done;                /* threads that have finished their operations */
byte mid_pop[NTHREADS];   /* ghost: the head a pop has read and not yet
                             dereferenced (NIL when none) */

#define OWNS(me, x) (where[x] == OWNED && owner[x] == (me))
#define HAS_FREED (where[1] == FREED || where[2] == FREED || where[3] == FREED)
/* Each thread also keeps the set of objects it owns in a local bit mask,
 * `mine` (a local, so choosing among them is no step other threads see). */
#define MINE(x) ((mine >> (x)) & 1)
#define MID_POP_ON(x) (mid_pop[0] == (x) || mid_pop[1] == (x) || \
                       mid_pop[NTHREADS - 1] == (x))

/* v = x->next. The dereference a crash would happen at. */
inline read_next(me, x, v) {
  atomic {
    if
    :: VALID(x) && where[x] == FREED ->
       printf("@@ T%d reads n%d->next, but n%d was returned to the OS: USE AFTER FREE\n", me, x, x)
    :: else
    fi;
    assert(VALID(x));
    assert(where[x] != FREED);
    v = next[x]
  }
}

/* x->next = v, by x's owner. */
inline write_next(me, x, v) {
  atomic {
    assert(OWNS(me, x));
    next[x] = v
  }
}

/* Ghost: x leaves the stack for thread me (a successful pop). */
inline take(me, x) {
  assert(VALID(x));
  assert(where[x] == IN_STACK); /* in the stack: not handed out twice */
  where[x] = OWNED;
  owner[x] = me;
  mine = mine | (1 << x)
}

/* Ghost: x enters the stack (a successful push). */
inline put(me, x) {
  assert(OWNS(me, x) && MINE(x));
  where[x] = IN_STACK;
  owner[x] = 0;
  mine = mine & ~(1 << x)
}

/* Ghost: the whole list from `first` leaves the stack for thread me (a
 * successful PopAll). Uses the caller's local t. */
inline take_chain(me, first) {
  t = first;
  do
  :: t == NIL -> break
  :: else -> take(me, t); t = next[t] /* a cycle revisits an OWNED node */
  od
}

/* The object goes back to the OS (allocator_->Deallocate): its memory may
 * be unmapped from now on. */
inline free_node(me, x) {
  atomic {
    assert(OWNS(me, x) && MINE(x));
    printf("@@ T%d returns n%d to the OS\n", me, x);
    where[x] = FREED;
    owner[x] = 0;
    next[x] = NIL;
    mine = mine & ~(1 << x)
  }
}

/* Pool::AllocFromOs: a fresh object (maybe an address freed earlier). One
 * step: the guard and the pick cannot be separated by another thread. */
inline alloc_from_os(me, x) {
  atomic {
    HAS_FREED; /* the guard: executable only while some object is in the OS */
    if
    :: where[1] == FREED -> x = 1
    :: where[2] == FREED -> x = 2
    :: where[3] == FREED -> x = 3
    fi;
    where[x] = OWNED;
    owner[x] = me;
    next[x] = JUNK;
    mine = mine | (1 << x);
    printf("@@ T%d AllocFromOs: gets n%d\n", me, x)
  }
}

/* Pick an object thread me owns (guarded by mine != 0): local only. */
inline pick_owned(x) {
  if
  :: MINE(1) -> x = 1
  :: MINE(2) -> x = 2
  :: MINE(3) -> x = 3
  fi
}

/* The caller of Pool::Alloc uses a popped object: its first word may be
 * overwritten by anything (or left as it was). */
inline use_object(me, x) {
  if
  :: write_next(me, x, JUNK)
  :: skip
  fi
}

/* The stack is well formed: the list from the logical head is acyclic, made
 * of real objects, all IN_STACK, and every IN_STACK object is on it (none
 * lost). Checked right after every write to the head (the only steps that
 * change what is reachable: `next` is written only by an object's owner,
 * and an owned object is not on the list unless a head write put it there,
 * which this check catches at that write) and once more at the end. The
 * model's inline load_top() sets p to the list's real first node. Uses the
 * caller's locals p, cnt, i. */
inline check_list() {
  load_top();
  cnt = 0;
  do
  :: p == NIL -> break
  :: else ->
     assert(VALID(p));
     assert(where[p] == IN_STACK);
     cnt++;
     assert(cnt <= NNODES); /* acyclic */
     p = next[p]
  od;
  i = 1;
  do
  :: i <= NNODES ->
     if
     :: where[i] == IN_STACK -> cnt--
     :: else
     fi;
     i++
  :: else -> break
  od;
  assert(cnt == 0); /* every IN_STACK object is reachable */
  p = 0;
  i = 0
}
