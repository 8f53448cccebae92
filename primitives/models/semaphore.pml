/*
 * semaphore.pml -- spin model of csync::Semaphore's fifo protocol over a
 * queue strategy: register-then-recheck (the predicate runs inside the
 * strategy's serialization and either takes permits or sets `queued` by
 * CAS), release = fetch_add + notify only if `queued` was set, FIFO
 * hand-off (the head is granted its whole request; nobody overtakes it),
 * `queued` cleared only when the visitor sees the empty registry, and
 * cancellation (cancel true = removed -> after_cancel re-runs notify;
 * false = a grant is in flight -> the waiter takes and uses it).
 *
 * Abstraction
 *   - Sequentially consistent memory; each atomic RMW on word_ is one step
 *     (a CAS loop whose only effect is its successful CAS is one step).
 *   - The strategy is the concept's contract as strategy::mutex_queue
 *     implements it: a lock `sl` serializes enqueue_if (predicate + push),
 *     notify's visitor loop and cancel; delivery happens after unlocking.
 *     strategies/models/atomic_waker.pml checks that atomic_waker provides
 *     the same serialization.
 *   - A thread waiter's park / a coroutine's posted work item is
 *     delivered[id]. Deadlines and stop requests may or may not happen
 *     (Timer / Stopper choose), so runs without them check the waiter as an
 *     untimed one.
 *   - owned[id] is ghost state: permits owned (an in-flight grant included);
 *     id 0 is the initial holder R. permits + sum(owned) == TOTAL always.
 *
 * Processes (TOTAL permits, all held by R at the start):
 *   R   releases them one at a time (a head wanting 2 waits for both);
 *   A   a coroutine: co_await async_acquire(2, stop_token), releases 2 if it
 *       got them; the Stopper requests stop at any moment (or never), and
 *       the stop callback (give_up) runs on the Stopper's thread or, if stop
 *       came first, inside watch() on A's loop;
 *   B   a thread: try_acquire_for(deadline, 1), releases 1 if it got it.
 * Scenarios:
 *   default               TOTAL = 2: A can be served; every hand-off path.
 *   -DSCENARIO_STUCK_HEAD TOTAL = 1: A (wanting 2) can never be served and
 *                         always gives up (the Stopper always stops it); B
 *                         has no deadline. Once R's only release is over, B
 *                         behind A can be woken only by the forward of A's
 *                         cancellation (after_cancel).
 *
 * Properties
 *   no permit created:   a party that proceeds owns exactly what it asked for.
 *   no permit destroyed: a party that gives up owns 0; at the end all
 *                        permits are in the word and nothing is queued.
 *   no lost wakeup:      no invalid end state (a waiter left undelivered
 *                        while everyone else finished).
 *
 * Mutants (-DMUTANT_<NAME>):
 *   CHECK_THEN_REGISTER  the seed's order: the permit check happens before
 *                        registration (try_acquire), and the predicate only
 *                        registers -- no re-check inside the serialization.
 *   DROP_GRANT           a thread whose cancel lost to a notify gives up
 *                        instead of taking the grant in flight.
 *   NO_AFTER_CANCEL      a waiter removed by cancel does not re-run notify,
 *                        so a servable waiter behind it is not considered.
 *   SKIP_NOTIFY          release notifies only when the word had no permits
 *                        ("first permit wakes"), not whenever queued is set.
 *   CLEAR_QUEUED_EARLY   the visitor clears queued whenever it grants a head,
 *                        although waiters may remain queued.
 */

#ifdef SCENARIO_STUCK_HEAD
#define TOTAL 1
#else
#define TOTAL 2
#endif
#define NA 2          /* A wants 2 */
#define NB 1          /* B wants 1 */
#define A 1
#define B 2

#define ACQUIRED 1
#define ENQUEUED 2
#define STOPPED  3

byte permits = 0;     /* word_ >> 1 */
bool queued = 0;      /* word_ & queued_bit */
byte owned[3];        /* ghost; [0] is R */
byte wanted[3];

byte sl = 0;          /* the strategy's lock (mutex_queue::mutex_) */
byte q[2];            /* the strategy's FIFO */
byte qlen = 0;
bool linked[3];
bool delivered[3];

bool stop = 0;        /* A's stop_source.request_stop() happened */
bool watching = 0;    /* A's stop_callback is registered */
bool cb_running = 0;  /* the stop callback is running on the Stopper's thread */
bool cancelled = 0;   /* A's acquire_awaiter::cancelled_ (written by give_up) */
bool fired = 0;       /* B's deadline passed */
byte done = 0;

inline slock()   { atomic { sl == 0 -> sl = _pid + 1 } }
inline sunlock() { assert(sl == _pid + 1); sl = 0 }

inline q_push(id) {
  assert(!linked[id] && qlen < 2);
  q[qlen] = id; qlen++; linked[id] = 1
}
inline q_remove(id) {
  if
  :: q[0] == id -> q[0] = q[1]
  :: else -> assert(q[1] == id)
  fi;
  qlen--; q[qlen] = 0; linked[id] = 0
}

/* Semaphore::try_acquire(n): fifo, respects queued */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.try_take) */
inline try_take(me, n, got) {
  atomic {
    if
    :: !queued && permits >= n -> permits = permits - n; owned[me] = owned[me] + n; got = 1
    :: else -> got = 0
    fi
  }
}

/* take_or_enqueue(w, stop): strategy_.enqueue_if(w, pred) with the predicate
 * inside the serialization (one step: lock held, CAS, push, unlock). */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.take_or_enqueue.pred) */
inline take_or_enqueue(me, n, use_stop, res) {
  atomic {
    sl == 0 ->
    if
    :: use_stop && stop -> res = STOPPED
    :: else ->
#ifdef MUTANT_CHECK_THEN_REGISTER
       queued = 1; q_push(me); res = ENQUEUED  /* checked before, by try_acquire */
#else
       if
       :: !queued && permits >= n -> permits = permits - n; owned[me] = owned[me] + n; res = ACQUIRED
       :: else -> queued = 1; q_push(me); res = ENQUEUED
       fi
#endif
    fi
  }
}

/* notify_waiters(), fifo: the visitor under the strategy's lock, delivery after. */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.notify_waiters) */
inline notify_waiters() {
  slock();
  do
  :: qlen == 0 ->
     /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.visitor.clear_queued) */
     queued = 0; break
  :: qlen > 0 ->
     head = q[0];
     /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.visitor.grant) */
     atomic {
       if
       :: permits >= wanted[head] ->
          permits = permits - wanted[head]; owned[head] = owned[head] + wanted[head]; wake = 1
       :: else -> wake = 0
       fi
     };
     if
     :: !wake -> break
     :: wake ->
        atomic {
          q_remove(head); bt[nb] = head; nb++;
#ifdef MUTANT_CLEAR_QUEUED_EARLY
          queued = 0
#else
          skip
#endif
        }
     fi
  od;
  sunlock();
  do
  :: nb > 0 -> nb--; delivered[bt[nb]] = 1; bt[nb] = 0
  :: else -> break
  od;
  head = 0; wake = 0
}

/* Semaphore::release(n) */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.release.fetch_add) */
inline release(me, n) {
#ifdef MUTANT_SKIP_NOTIFY
  atomic { oq = queued && permits == 0; permits = permits + n; owned[me] = owned[me] - n };
#else
  atomic { oq = queued; permits = permits + n; owned[me] = owned[me] - n };
#endif
  /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.release.notify_if_queued) */
  if
  :: oq -> oq = 0; notify_waiters()
  :: else -> skip
  fi
}

/* strategy cancel: removed (true) or a notify detached it (false) */
inline cancel(me, removed) {
  atomic {
    sl == 0 ->
    if
    :: linked[me] -> q_remove(me); removed = 1
    :: else -> removed = 0
    fi
  }
}

/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.after_cancel) */
inline after_cancel() {
#ifdef MUTANT_NO_AFTER_CANCEL
  skip
#else
  if
  :: queued -> notify_waiters()
  :: else -> skip
  fi
#endif
}

/* Semaphore::acquire_awaiter::give_up(): the stop callback */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.awaiter.give_up) */
inline give_up() {
  cancel(A, rm);
  if
  :: rm -> cancelled = 1; after_cancel(); delivered[A] = 1   /* post our item */
  :: else -> skip                                            /* the delivery re-checks */
  fi;
  rm = 0
}

/* A: co_await sem.async_acquire(2, stop_token) on its loop */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.awaiter.register) */
proctype CoroA() {
  byte head, nb, bt[2], res;
  bool wake, oq, got, acquired, rm, here;

  try_take(A, NA, got);                          /* await_ready */
  if
  :: got -> acquired = 1; goto resumed
  :: else -> skip
  fi;
  if
  :: stop -> goto resumed                        /* await_suspend: give_up_.due() */
  :: else -> skip
  fi;
  take_or_enqueue(A, NA, 1, res);                /* register_or_finish */
  if
  :: res == ACQUIRED -> acquired = 1; goto resumed
  :: res == STOPPED -> goto resumed
  :: res == ENQUEUED -> skip
  fi;
  /* give_up_.watch(): constructing the stop_callback runs it here if stop came first */
  atomic { watching = 1; here = stop };
  if
  :: here -> give_up(); here = 0
  :: else -> skip
  fi;
  delivered[A];                                  /* suspended until our item runs */
  /* step() */
  /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.awaiter.step) */
  if
  :: !cancelled -> acquired = 1                  /* fifo: delivery_grants() */
  :: else -> skip
  fi;
resumed:
  atomic { !cb_running -> watching = 0 };        /* await_resume: unwatch() */
  if
  :: acquired -> assert(owned[A] == NA); release(A, NA)
  :: else -> assert(owned[A] == 0)
  fi;
  done++
}

proctype Stopper() {
  byte head, nb, bt[2];
  bool wake, rm;
  if
  :: atomic { stop = 1; cb_running = watching };
     if
     :: cb_running -> give_up(); cb_running = 0
     :: else -> skip
     fi
#ifndef SCENARIO_STUCK_HEAD
  :: skip                                        /* no stop request */
#endif
  fi
}

/* B: sem.try_acquire_for(d, 1) -> acquire_slow(1, deadline) */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.acquire_slow) */
proctype ThreadB() {
  byte head, nb, bt[2], res;
  bool wake, oq, got, gaveup, rm;

  try_take(B, NB, got);
  if
  :: got -> goto hold
  :: else -> skip
  fi;
  take_or_enqueue(B, NB, 0, res);
  if
  :: res == ACQUIRED -> goto hold
  :: else -> skip
  fi;
  if
  :: delivered[B] -> skip                        /* wait(w, deadline) == true */
  :: atomic { fired && !delivered[B] } ->        /* deadline passed */
     /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.acquire_slow.cancel) */
     cancel(B, rm);
     if
     :: rm -> after_cancel(); gaveup = 1
     :: else ->
#ifdef MUTANT_DROP_GRANT
        gaveup = 1
#else
        /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.acquire_slow.in_flight) */
        delivered[B]                             /* wait(w, nullopt): take the grant */
#endif
     fi
  fi;
hold:
  if
  :: gaveup -> assert(owned[B] == 0)
  :: else -> assert(owned[B] == NB); release(B, NB)
  fi;
  done++
}

proctype Releaser() {
  byte head, nb, bt[2];
  bool wake, oq;
  release(0, 1);
#if TOTAL > 1
  release(0, 1);
#endif
  done++
}

proctype Timer() {
  if
#ifndef SCENARIO_STUCK_HEAD
  :: fired = 1
#endif
  :: skip
  fi
}

init {
  atomic {
    owned[0] = TOTAL;
    wanted[A] = NA;
    wanted[B] = NB;
    run Releaser();
    run CoroA();
    run ThreadB();
    run Stopper();
    run Timer()
  };
  done == 3;
  assert(permits == TOTAL);
  assert(!queued && qlen == 0)
}
