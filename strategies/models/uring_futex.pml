/*
 * uring_futex.pml -- spin model of strategy::uring_futex (an eventcount whose
 * waiters sleep in the kernel through their loop's io_uring FUTEX_WAIT on the
 * epoch word) under its real client: csync::Semaphore with fairness::barging
 * (coroutine awaiter: register, arm, step() on every completion).
 *
 * Abstraction
 *   - Sequentially consistent memory; one C++ atomic op = one Promela step
 *     (a CAS loop whose only effect is its successful CAS is one step).
 *   - The kernel: a FUTEX_WAIT SQE is prepared by arm() and issued when the
 *     loop submits (before it sleeps, or with an ASYNC_CANCEL); issuing
 *     compares the epoch with the ticket atomically: different -> CQE -EAGAIN,
 *     equal -> the waiter is queued on the word (in_hash). FUTEX_WAKE
 *     (INT32_MAX, from notify() on the releaser's thread) completes every
 *     queued wait with res 0; ASYNC_CANCEL completes a queued wait with
 *     -ECANCELED and finds nothing once it was woken (futex_unqueue
 *     arbitrates); a LINK_TIMEOUT does the same once the deadline passed.
 *   - Each waiter's loop thread is its process: it submits, then runs posted
 *     items in order from loopq (CQEs and the cancel_item). The coroutine
 *     body (await_ready / await_suspend / step / await_resume) runs there.
 *   - owned[id] is ghost state: permits owned; id 0 is the initial holder R.
 *     permits + sum(owned) == TOTAL always. The 32-bit epoch is a byte (a
 *     run makes a handful of notifies; no wrap).
 *
 * Processes (TOTAL = 1 permit, held by R):
 *   R    releases it (fetch_add; notify if queued);
 *   W1   co_await async_acquire_until(deadline) on loop 1 (LINK_TIMEOUT: the
 *        kernel cancels the wait once the Clock says the deadline passed --
 *        or never);
 *   W2   co_await async_acquire(1, stop_token) on loop 2; the Stopper
 *        requests stop at any moment (or never); its callback calls cancel()
 *        on the Stopper's thread, or inside watch() if stop came first.
 *   Both release the permit if they got it.
 *
 * Properties (safety run: assertions + invalid end states; liveness run:
 * -DNP, pan -l, no cycle at all -- every loop needs a fresh notify)
 *   no permit created / destroyed: a waiter that resumes holding owns 1, one
 *     that gives up owns 0, all permits are back at the end.
 *   no lost wakeup: no invalid end state (a loop blocked forever with its
 *     waiter suspended while everyone else finished); at the end no wait is
 *     left in the kernel and no item is left queued for a finished frame.
 *
 * Mutants (-DMUTANT_<NAME>):
 *   LATE_EPOCH         the ticket is read after the condition check (the
 *                      seed's order): a notify in between is missed.
 *   SWALLOW_WAKE       a wake (res 0) that completes a wait being cancelled
 *                      is neither forwarded nor used: the waiter gives up
 *                      without re-checking (seed-lessons 4d). Run with
 *                      -DWAKE_ONE: with the code's broadcast wake every
 *                      other sleeper got the same wake, so nothing is lost.
 *   EAGAIN_NO_RECHECK  -EAGAIN handled by waiting again on a fresh epoch
 *                      without re-checking the condition.
 *   EAGAIN_SPIN        -EAGAIN handled by re-submitting the same wait with
 *                      the same stale ticket (the seed ignored the result):
 *                      a busy loop through the ring, caught by the
 *                      non-progress run (-DNP, pan -l).
 *   EARLY_RESUME       on_cqe resumes the primitive although a cancel_item
 *                      is still queued (no completed_early hand-off): the
 *                      item then runs on a finished frame.
 * Variant (not a mutant; the clean model must verify with it too):
 *   -DWAKE_ONE  FUTEX_WAKE with nr = 1 instead of INT32_MAX.
 * Redundancy check (expected to VERIFY, reported by check-models.sh):
 *   -DMUTANT_NO_FORWARD [-DWAKE_ONE]  drop forward() only. It loses nothing,
 *   because cancel() always answers "delivery in flight" for a ring wait, so
 *   the client owns every completion and Semaphore's step() re-checks before
 *   it honours due(): the woken canceller takes the permit itself. The
 *   forward is belt and braces, not load-bearing, as the code stands.
 */

#define TOTAL 1
#define NWT 2

/* kernel_wait states (uring_futex.hpp detail_uring_futex) */
#define IDLE             0
#define ARMED            1
#define CANCELLING       2
#define CANCEL_SUBMITTED 3
#define COMPLETED_EARLY  4
#define CANCEL_REQUESTED 5

/* loop items */
#define CQE_OK       1
#define CQE_EAGAIN   2
#define CQE_CANCELED 3
#define CANCEL_ITEM  4

/* take_or_enqueue results */
#define ACQUIRED 1
#define ENQUEUED 2
#define STOPPED  3

byte permits = 0;          /* Semaphore::word_ >> 1 */
bool queued = 0;           /* word_ & queued_bit (never cleared: no queue) */
byte owned[NWT + 1];       /* ghost; [0] is R */

byte epoch = 0;            /* basic_futex::epoch_ */
byte sleepers = 0;         /* basic_futex::sleepers_ */
byte ticket[NWT + 1];      /* waiter::ticket */
byte kw[NWT + 1];          /* waiter::kernel_wait */
bool sqe[NWT + 1];         /* a FUTEX_WAIT SQE prepared, not yet issued */
bool in_hash[NWT + 1];     /* the wait is queued on the futex word */
chan loopq[NWT + 1] = [2] of { byte };   /* items posted to each waiter's loop */

bool stop = 0;             /* W2's stop requested */
bool watching = 0;         /* W2's stop_callback registered */
bool cb_running = 0;       /* ... and running on the Stopper's thread */
bool deadline_passed = 0;  /* W1's deadline */
byte done = 0;

/* ---- kernel ---------------------------------------------------------------- */

/* The kernel issues a pending FUTEX_WAIT: compare, then queue or -EAGAIN. */
inline k_issue(i) {
  if
  :: sqe[i] ->
     sqe[i] = 0;
     if
     :: epoch != ticket[i] -> loopq[i] ! CQE_EAGAIN
     :: else -> in_hash[i] = 1
     fi
  :: else -> skip
  fi
}

/* FUTEX_WAKE_PRIVATE on the epoch word */
inline k_wake() {
  atomic {
#ifdef WAKE_ONE
    if
    :: in_hash[1] -> in_hash[1] = 0; loopq[1] ! CQE_OK
    :: in_hash[2] -> in_hash[2] = 0; loopq[2] ! CQE_OK
    :: else -> skip
    fi
#else
    if
    :: in_hash[1] -> in_hash[1] = 0; loopq[1] ! CQE_OK
    :: else -> skip
    fi;
    if
    :: in_hash[2] -> in_hash[2] = 0; loopq[2] ! CQE_OK
    :: else -> skip
    fi
#endif
  }
}

/* submit_cancel: the pending wait (if any) and the ASYNC_CANCEL, in order */
/* mirrors: strategies/include/csync/strategies/uring_futex.hpp @model(uf.submit_cancel) */
inline k_submit_cancel(i) {
  atomic {
    k_issue(i);
    if
    :: in_hash[i] -> in_hash[i] = 0; loopq[i] ! CQE_CANCELED
    :: else -> skip                 /* already completed: its CQE is on the way */
    fi
  }
}

/* ---- strategy + primitive ---------------------------------------------------- */

/* basic_futex::notify(): bump, then wake unless nobody sleeps */
/* mirrors: strategies/include/csync/strategies/futex.hpp @model(futex.notify) */
inline uf_notify() {
  epoch = epoch + 1;
  if
  :: sleepers != 0 -> k_wake()
  :: else -> skip
  fi
}

/* Semaphore::release(1), abstracted as add-then-notify: the real release
   keeps its permit reserved until the serve pass's final CAS
   (semaphore.pml); making it visible first is a superset of what the
   strategy can see. */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.release.serve) */
inline release(me) {
  atomic { oq = queued; permits++; owned[me]-- };
  if
  :: oq -> oq = 0; uf_notify()
  :: else -> skip
  fi
}

/* Barging predicate inside enqueue_kernel_sleeper (take_or_enqueue) */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.take_or_enqueue.pred) */
inline pred(me, res) {
  atomic {
    if
    :: me == 2 && stop -> res = STOPPED
    :: else ->
       if
       :: permits >= 1 -> permits--; owned[me]++; res = ACQUIRED
       :: else -> queued = 1; res = ENQUEUED
       fi
    fi
  }
}

/* basic_futex::enqueue_kernel_sleeper(w, pred) */
/* mirrors: strategies/include/csync/strategies/futex.hpp @model(futex.enqueue_kernel_sleeper) */
inline enqueue_kernel_sleeper(me, res) {
  sleepers++;
#ifdef MUTANT_LATE_EPOCH
  pred(me, res);
  ticket[me] = epoch;
#else
  /* mirrors: strategies/include/csync/strategies/futex.hpp @model(futex.enqueue.ticket) */
  ticket[me] = epoch;              /* the epoch BEFORE the re-check */
  pred(me, res);
#endif
  if
  :: res != ENQUEUED -> sleepers--
  :: else -> skip
  fi
}

/* basic_uring_futex::arm(w) */
/* mirrors: strategies/include/csync/strategies/uring_futex.hpp @model(uf.arm) */
inline arm(me) {
  atomic { prev = kw[me]; kw[me] = ARMED; sqe[me] = 1 };
  if
  :: prev == CANCEL_REQUESTED ->
     /* mirrors: strategies/include/csync/strategies/uring_futex.hpp @model(uf.arm.cancel_requested) */
     kw[me] = CANCEL_SUBMITTED;
     k_submit_cancel(me)
  :: else -> skip
  fi;
  prev = 0
}

/* basic_uring_futex::forward() */
/* mirrors: strategies/include/csync/strategies/uring_futex.hpp @model(uf.forward) */
inline forward() {
#ifndef MUTANT_NO_FORWARD
  uf_notify()
#else
  skip
#endif
}

/* basic_uring_futex::cancel(w), for W2, from its stop callback */
/* mirrors: strategies/include/csync/strategies/uring_futex.hpp @model(uf.cancel) */
inline uf_cancel() {
  do
  :: atomic {
       if
       :: kw[2] == ARMED -> kw[2] = CANCELLING; cas = 1
       :: kw[2] == IDLE -> kw[2] = CANCEL_REQUESTED; cas = 2
       :: else -> cas = 3
       fi
     };
     if
     :: cas == 1 -> loopq[2] ! CANCEL_ITEM; break   /* post cancel_item to W2's loop */
     :: else -> break                                /* returns false in every case */
     fi
  od;
  cas = 0
}

proctype Waiter(byte me) {
  byte res, item, prev, cas;
  bool oq, acquired, here, swallowed;

  /* await_ready: try_acquire (barging ignores queued) */
  /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.try_take) */
  atomic {
    if
    :: permits >= 1 -> permits--; owned[me]++; acquired = 1
    :: else -> skip
    fi
  };
  if
  :: acquired -> goto resumed
  :: else -> skip
  fi;
  /* await_suspend: give_up_.due() */
  if
  :: (me == 1 && deadline_passed) || (me == 2 && stop) -> goto resumed
  :: else -> skip
  fi;

register:
  /* register_or_finish() */
  /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.awaiter.register) */
  enqueue_kernel_sleeper(me, res);
  if
  :: res == ACQUIRED -> acquired = 1; res = 0; goto resumed
  :: res == STOPPED -> res = 0; goto resumed
  :: res == ENQUEUED -> res = 0
  fi;
  arm(me);
  if
  :: me == 2 ->
     /* give_up_.watch(): the first registration constructs the stop_callback,
        which runs right here if stop was already requested */
     atomic {
       if
       :: !watching -> watching = 1; here = stop
       :: else -> skip
       fi
     };
     if
     :: here -> uf_cancel(); here = 0
     :: else -> skip
     fi
  :: else -> skip
  fi;

  /* the loop: submit before sleeping, run posted items */
  do
  :: atomic { sqe[me] -> k_issue(me) }
  :: loopq[me] ? item ->
     if
     :: item == CANCEL_ITEM ->
        /* on_cancel_item */
        /* mirrors: strategies/include/csync/strategies/uring_futex.hpp @model(uf.on_cancel_item) */
        atomic {
          if
          :: kw[me] == CANCELLING -> kw[me] = CANCEL_SUBMITTED; cas = 1
          :: else -> cas = 0
          fi
        };
        if
        :: cas -> cas = 0; item = 0; k_submit_cancel(me)
        :: else -> kw[me] = IDLE; item = 0; goto step     /* the CQE left the continuation to us */
        fi
     :: else ->
        /* on_cqe(res) */
        /* mirrors: strategies/include/csync/strategies/uring_futex.hpp @model(uf.on_cqe) */
        sleepers--;
#if defined(MUTANT_EAGAIN_NO_RECHECK) || defined(MUTANT_EAGAIN_SPIN)
        if
        :: item == CQE_EAGAIN && kw[me] == ARMED ->
           sleepers++;
#ifdef MUTANT_EAGAIN_NO_RECHECK
           atomic { ticket[me] = epoch; sqe[me] = 1 };      /* wait again, no re-check */
#else
           sqe[me] = 1;                                    /* same stale ticket: -EAGAIN forever */
#endif
           item = 0
        :: else ->
#endif
        atomic { prev = kw[me]; kw[me] = IDLE };
        if
#ifndef MUTANT_EARLY_RESUME
        :: prev == CANCELLING ->
           /* mirrors: strategies/include/csync/strategies/uring_futex.hpp @model(uf.on_cqe.completed_early) */
           kw[me] = COMPLETED_EARLY;
           if
#ifdef MUTANT_SWALLOW_WAKE
           :: item == CQE_OK -> swallowed = 1
#else
           :: item == CQE_OK -> forward()
#endif
           :: else -> skip
           fi;
           prev = 0; item = 0
#endif
        :: else ->
           /* mirrors: strategies/include/csync/strategies/uring_futex.hpp @model(uf.on_cqe.forward) */
           if
#ifdef MUTANT_SWALLOW_WAKE
           :: prev == CANCEL_SUBMITTED && item == CQE_OK -> swallowed = 1
#else
           :: prev == CANCEL_SUBMITTED && item == CQE_OK -> forward()
#endif
#ifdef MUTANT_EARLY_RESUME
           :: prev == CANCELLING && item == CQE_OK -> forward()
#endif
           :: else -> skip
           fi;
           prev = 0; item = 0;
           goto step                                       /* resume_primitive */
        fi
#if defined(MUTANT_EAGAIN_NO_RECHECK) || defined(MUTANT_EAGAIN_SPIN)
        fi
#endif
     fi
  od;

step:
  /* acquire_awaiter::step(): retry_after_wake, then give up or register again */
  /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.awaiter.step) */
#ifdef MUTANT_SWALLOW_WAKE
  if
  :: swallowed -> goto resumed                    /* gives up, wake dropped */
  :: else -> skip
  fi;
#endif
  atomic {
    if
    :: permits >= 1 -> permits--; owned[me]++; acquired = 1
    :: else -> skip
    fi
  };
  if
  :: acquired -> goto resumed
  :: (me == 1 && deadline_passed) || (me == 2 && stop) -> goto resumed
  :: else -> goto register                                 /* rearm; register_or_finish */
  fi;

resumed:
  if
  :: me == 2 -> atomic { !cb_running -> watching = 0 }     /* unwatch() */
  :: else -> skip
  fi;
  if
  :: acquired -> assert(owned[me] == 1); release(me)
  :: else -> assert(owned[me] == 0)
  fi;
  /* the frame may go now: nothing of this wait may be left behind */
  assert(!in_hash[me] && !sqe[me]);
  done++;
  /* the loop keeps running: a stale item would run on a dead frame */
end_loop:
  loopq[me] ? item;
  assert(item == 0)                              /* an item ran on a finished frame */
}

proctype Releaser() {
  bool oq;
  release(0);
  done++
}

proctype Stopper() {
  byte cas;
  if
  :: atomic { stop = 1; cb_running = watching };
     if
     :: cb_running -> uf_cancel(); cb_running = 0          /* give_up(): cancel() is false */
     :: else -> skip
     fi
  :: skip
  fi
}

proctype Clock() {
  if
  :: deadline_passed = 1
  :: skip
  fi
}

/* IORING_OP_LINK_TIMEOUT linked behind W1's waits */
proctype LinkTimeout() {
end:
  do
  :: atomic { deadline_passed && in_hash[1] -> in_hash[1] = 0; loopq[1] ! CQE_CANCELED }
  od
}

init {
  atomic {
    owned[0] = TOTAL;
    run Releaser();
    run Waiter(1);
    run Waiter(2);
    run Stopper();
    run Clock();
    run LinkTimeout()
  };
  done == NWT + 1;
  assert(permits == TOTAL)
}
