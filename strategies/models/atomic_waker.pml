/*
 * atomic_waker.pml -- spin model of strategy::atomic_waker (empty / single /
 * multi slot protocol with a claim bit, an overflow FIFO under a mutex, and
 * cancellation), driven by its real client: csync::Semaphore's fifo
 * registration predicate and hand-off visitor (every waiter wants 1 permit).
 *
 * Abstraction
 *   - Sequentially consistent memory; one C++ atomic load / store / CAS /
 *     fetch_add = one Promela step. A compare_exchange loop whose only effect
 *     is its successful CAS (the Semaphore's predicate and visitor) is one step.
 *   - slot_ encodes like the C++ word: 0 empty, 4*id a waiter, |1 claimed,
 *     2 multi. Spinning on a claimed slot is modelled as blocking until the
 *     claim bit is clear (a load that sees the bit has no effect).
 *   - overflow_mutex_ is an explicit lock; intrusive_fifo / `linked` are only
 *     touched while holding it (or the claim), so their updates are merged
 *     with the neighbouring shared step.
 *   - Thread delivery (detail::deliver / park) is delivered[id]; a deadline
 *     is a Timer that may or may not fire, so runs where it never fires check
 *     the waiter as an untimed one.
 *   - owned[id] is ghost state: permits a party owns (granted in flight
 *     included); id 0 is the initial holder R. Every step that moves permits
 *     moves them between `permits` and owned[], so
 *       permits + sum(owned) == TOTAL   always.
 *
 * Processes: R releases the one permit; W1, W2, W3 each acquire(1) (try fast
 * path, then acquire_slow), hold, release(1); W3 uses a deadline.
 *
 * Properties
 *   no permit created:   a waiter that proceeds owns exactly 1 (assert).
 *   no permit destroyed: a waiter that gives up owns 0 (assert); at the end
 *                        all permits are back in the word, nothing queued.
 *   no lost wakeup:      no invalid end state -- a waiter that is never
 *                        delivered while the others all finished is a
 *                        deadlock that spin reports.
 *
 * Mutants (-DMUTANT_<NAME>):
 *   MODE_OVERWRITE  notify's drained multi queue stores `empty` after
 *                   unlocking: a blind store over a concurrent multi
 *                   registration (the seed's mode overwrite, seed-lessons 4a).
 *   SLOT_THEFT      cancel clears any single waiter, not only its own
 *                   pointer (seed-lessons 4b).
 *   SWALLOW         cancel reports "removed" although a notify detached the
 *                   waiter: the granted permit is dropped (seed-lessons 4d).
 *
 * Code mapping: every inline names the C++ it mirrors in a "mirrors:"
 *   comment giving the header path and an @model tag; the header carries
 *   the same tag as a "// @model" line of its own right above the mirrored
 *   code (scripts/check-models.sh resolves and prints file:line for each).
 */

#ifndef NW
#define NW 3
#endif
#define TOTAL 1

#define EMPTY   0
#define CLAIMED 1
#define MULTI   2
#define PTR(i)  ((i) * 4)
#define WID(s)  ((s) / 4)

byte slot = EMPTY;        /* basic_atomic_waker::slot_ */
byte mtx = 0;             /* overflow_mutex_: 0 free, else owner _pid + 1 */
byte q[NW];               /* overflow_ (FIFO of waiter ids) */
byte qlen = 0;
bool linked[NW + 1];      /* waiter::linked */
bool delivered[NW + 1];   /* waiter::state == notified */
byte permits = 0;         /* Semaphore::word_ >> 1 */
bool queued = 0;          /* Semaphore::word_ & queued_bit */
byte owned[NW + 1];       /* ghost: permits owned; [0] is R */
bool fired = 0;           /* W3's deadline passed */
byte done = 0;

inline lock() {
  atomic { mtx == 0 -> mtx = _pid + 1 }
}
inline unlock() {
  assert(mtx == _pid + 1);
  mtx = 0
}

inline q_push(id) {
  assert(!linked[id] && qlen < NW);
  q[qlen] = id;
  qlen++;
  linked[id] = 1
}

inline q_remove(id) {
  i = 0;
  do
  :: i < qlen && q[i] != id -> i++
  :: i < qlen && q[i] == id -> break
  :: i >= qlen -> assert(false)   /* intrusive_fifo::remove of an unlinked waiter */
  od;
  do
  :: i + 1 < qlen -> q[i] = q[i + 1]; i++
  :: else -> break
  od;
  qlen--;
  q[qlen] = 0;
  linked[id] = 0;
  i = 0
}

/* ---- the client: Semaphore (fifo), wanted == 1 ------------------------- */

/* Registration predicate: take the permit or set queued (one acq_rel CAS). */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.take_or_enqueue.pred) */
inline sem_pred(me, reg) {
  atomic {
    if
    :: !queued && permits >= 1 -> permits--; owned[me]++; reg = 0
    :: else -> queued = 1; reg = 1
    fi
  }
}

/* Visitor on a non-null head: grant it its permit or stop. */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.visitor.grant) */
inline sem_visit(head, wake) {
  atomic {
    if
    :: permits >= 1 -> permits--; owned[head]++; wake = 1
    :: else -> wake = 0
    fi
  }
}

/* Visitor on nullptr: the registry is empty. An abstraction of the
   primitive: the real one notes "drained" here and clears queued in the
   serve pass's final CAS (semaphore.pml checks that protocol); clearing it
   at once only lets more interleavings reach the strategy. */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.serve.finish) */
inline sem_clear_queued() {
  queued = 0
}

/* ---- the strategy --------------------------------------------------------- */

/* mirrors: strategies/include/csync/strategies/atomic_waker.hpp @model(aw.enqueue_if) */
inline aw_enqueue_if(me, reg) {
  do
  :: atomic { (slot & CLAIMED) == 0 -> s = slot }
     if
     :: s == MULTI ->
        /* mirrors: strategies/include/csync/strategies/atomic_waker.hpp @model(aw.enqueue_if.multi) */
        lock();
        if
        :: slot != MULTI -> unlock()           /* !still_multi(): retry */
        :: else ->
           sem_pred(me, reg);
           if
           :: reg -> q_push(me)
           :: else -> skip
           fi;
           unlock();
           break
        fi
     :: else ->
        /* mirrors: strategies/include/csync/strategies/atomic_waker.hpp @model(aw.enqueue_if.claim) */
        atomic {
          if
          :: slot == s -> slot = s | CLAIMED; ok = 1
          :: else -> ok = 0
          fi
        }
        if
        :: !ok -> skip
        :: ok ->
           sem_pred(me, reg);
           if
           :: !reg -> slot = s                  /* release(s) */
           :: reg && s == EMPTY ->
              /* mirrors: strategies/include/csync/strategies/atomic_waker.hpp @model(aw.enqueue_if.publish) */
              atomic { linked[me] = 1; slot = PTR(me) }
           :: reg && s != EMPTY ->
              /* mirrors: strategies/include/csync/strategies/atomic_waker.hpp @model(aw.enqueue_if.promote) */
              lock();
              atomic {
                first = WID(s);
                linked[first] = 0;
                q_push(first);
                q_push(me);
                slot = MULTI                    /* release(multi), under the mutex */
              }
              unlock()
           fi;
           break
        fi
     fi
  od;
  s = 0; ok = 0; first = 0
}

/* mirrors: strategies/include/csync/strategies/atomic_waker.hpp @model(aw.notify) */
inline aw_notify() {
  do
  :: atomic { (slot & CLAIMED) == 0 -> s = slot }
     if
     :: s == MULTI ->
        /* mirrors: strategies/include/csync/strategies/atomic_waker.hpp @model(aw.notify.multi) */
        lock();
        if
        :: slot != MULTI -> unlock()           /* again */
        :: else ->
           do
           :: qlen == 0 ->
              sem_clear_queued();
#ifdef MUTANT_MODE_OVERWRITE
              drained = 1;
#else
              /* mirrors: strategies/include/csync/strategies/atomic_waker.hpp @model(aw.notify.drain) */
              slot = EMPTY;                     /* drained: back to the slot, under the mutex */
#endif
              break
           :: qlen > 0 ->
              head = q[0];
              sem_visit(head, wake);
              if
              :: !wake -> break
              :: wake -> atomic { q_remove(head); bt[nb] = head; nb++ }
              fi
           od;
           unlock();
#ifdef MUTANT_MODE_OVERWRITE
           if
           :: drained -> slot = EMPTY; drained = 0   /* blind store, outside the mutex */
           :: else -> skip
           fi;
#endif
           /* batch.deliver_all(), after unlocking */
           do
           :: nb > 0 -> nb--; delivered[bt[nb]] = 1; bt[nb] = 0
           :: else -> break
           od;
           break
        fi
     :: else ->
        atomic {
          if
          :: slot == s -> slot = s | CLAIMED; ok = 1
          :: else -> ok = 0
          fi
        }
        if
        :: !ok -> skip
        :: ok ->
           /* mirrors: strategies/include/csync/strategies/atomic_waker.hpp @model(aw.notify.single) */
           if
           :: s == EMPTY ->
              sem_clear_queued();               /* visitor(nullptr) */
              slot = s
           :: else ->
              head = WID(s);
              sem_visit(head, wake);
              if
              :: wake ->
                 linked[head] = 0;
                 sem_clear_queued();            /* visitor(nullptr): registry now empty */
                 slot = EMPTY;                  /* release(empty_slot) */
                 delivered[head] = 1            /* deliver, after releasing the claim */
              :: else -> slot = s
              fi
           fi;
           break
        fi
     fi
  od;
  s = 0; ok = 0; head = 0; wake = 0
}

/* mirrors: strategies/include/csync/strategies/atomic_waker.hpp @model(aw.cancel) */
inline aw_cancel(me, removed) {
  do
  :: atomic { (slot & CLAIMED) == 0 -> s = slot }
     if
     :: s == MULTI ->
        /* mirrors: strategies/include/csync/strategies/atomic_waker.hpp @model(aw.cancel.multi) */
        lock();
        if
        :: slot != MULTI -> unlock()
        :: else ->
           if
#ifdef MUTANT_SWALLOW
           :: !linked[me] -> removed = 1
#else
           :: !linked[me] -> removed = 0
#endif
           :: else ->
              atomic {
                q_remove(me);
                if
                :: qlen == 0 -> slot = EMPTY
                :: else -> skip
                fi
              };
              removed = 1
           fi;
           unlock();
           break
        fi
#if defined(MUTANT_SLOT_THEFT)
     :: s == EMPTY -> removed = 0; break
     :: s != MULTI && s != EMPTY ->           /* "a single waiter is there: it must be me" */
#elif defined(MUTANT_SWALLOW)
     :: s != PTR(me) -> removed = 1; break
     :: s == PTR(me) ->
#else
     /* mirrors: strategies/include/csync/strategies/atomic_waker.hpp @model(aw.cancel.single) */
     :: s != PTR(me) -> removed = 0; break    /* a notify detached w */
     :: s == PTR(me) ->
#endif
        atomic {
          if
          :: slot == s -> slot = EMPTY; linked[me] = 0; ok = 1
          :: else -> ok = 0
          fi
        }
        if
        :: ok -> removed = 1; break
        :: else -> skip
        fi
     fi
  od;
  s = 0; ok = 0
}

/* Semaphore::release(1), abstracted as add-then-notify: the real release
   keeps its permit reserved until the serve pass's final CAS
   (semaphore.pml); making it visible first is a superset of what the
   strategy can see. */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.release.serve) */
inline sem_release(me) {
  atomic { oq = queued; permits++; owned[me]-- };
  if
  :: oq -> oq = 0; aw_notify()
  :: else -> skip
  fi
}

/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.after_cancel) */
inline sem_after_cancel() {
  if
  :: queued -> aw_notify()
  :: else -> skip
  fi
}

proctype Waiter(byte me; bool timed) {
  byte s, first, head, i, nb, bt[NW];
  bool ok, reg, rm, wake, oq, got, gaveup, drained;

  /* try_acquire(1), fifo: respects queued */
  /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.try_take) */
  atomic {
    if
    :: !queued && permits >= 1 -> permits--; owned[me]++; got = 1
    :: else -> skip
    fi
  };
  if
  :: got -> skip
  :: else ->
     /* acquire_slow */
     /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.acquire_slow) */
     aw_enqueue_if(me, reg);
     if
     :: !reg -> skip                            /* took it inside enqueue_if */
     :: reg ->
        if
        :: delivered[me] -> skip                /* wait(w, deadline) == true */
        :: atomic { timed && fired && !delivered[me] } ->
           aw_cancel(me, rm);
           if
           :: rm -> sem_after_cancel(); gaveup = 1
           :: else -> delivered[me]             /* in flight: wait(w, nullopt) */
           fi;
           rm = 0
        fi
     fi
  fi;
  if
  :: gaveup -> assert(owned[me] == 0)         /* no permit destroyed */
  :: else ->
     assert(owned[me] == 1);                    /* no permit created */
     sem_release(me)
  fi;
  done++
}

proctype Releaser() {
  byte s, first, head, i, nb, bt[NW];
  bool ok, wake, oq, drained;
  sem_release(0);
  done++
}

proctype Timer() {
  if
  :: fired = 1
  :: skip                                       /* the deadline never comes */
  fi
}

init {
  atomic {
    owned[0] = TOTAL;
    run Releaser();
    run Waiter(1, 0);
    run Waiter(2, 0);
    run Waiter(3, 1);
    run Timer()
  };
  done == NW + 1;
  assert(permits == TOTAL);                     /* every permit is back */
  assert(!queued);                              /* ~Semaphore's check */
  assert(slot == EMPTY && qlen == 0)            /* ~basic_atomic_waker's check */
}
