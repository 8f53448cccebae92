/*
 * semaphore.pml -- spin model of csync::Semaphore's fifo protocol over a
 * queue strategy, with the lifetime-safe release:
 *
 *   word_ = permits << 3 | recheck_bit | serving_bit | queued_bit
 *
 *   release(n)  one CAS: nobody queued or serving -> add (done); somebody
 *               serving -> add | recheck (done: the server hands them out);
 *               queued, nobody serving -> add | serving, then serve().
 *   serve()     loop { clear recheck (fetch_and); ONE notify pass under the
 *               registry lock: grant the head its whole request from the
 *               word (load, then fetch_sub) while enough, detach it into the
 *               wake_list, stop otherwise, `drained` on the empty queue;
 *               unlock; final CAS: recheck set -> round again, else clear
 *               serving (and queued if drained) -- the LAST access } then
 *               deliver the detached waiters (their records only).
 *   registration (take_or_enqueue's predicate, inside the registry lock):
 *               take the permits if nobody is queued or serving and there
 *               are enough, else set queued (and recheck if serving).
 *   cancellation: cancel == true (unlinked) -> after_cancel() =
 *               request_serve(): queued && serving -> set recheck; queued &&
 *               !serving -> take serving and serve(); else nothing.
 *               cancel == false (a notify detached us) -> wait for the
 *               delivery in flight and keep its permits.
 *
 * Abstraction
 *   - Sequentially consistent memory. Every atomic RMW or load on word_ is
 *     one step; a CAS loop whose only effect is its successful CAS (release,
 *     try_take, the predicate, request_serve, serve's final CAS loop) is one
 *     step. The visitor's acquire load and its fetch_sub are two steps (only
 *     additions can come between them, which the model checks).
 *   - The strategy is the concept's contract as detail::locked_fifo
 *     implements it (intrusive_list, mutex_queue, iocp): a lock `sl`
 *     serializes enqueue_if (push + predicate), notify's visitor walk and
 *     cancel; notify only DETACHES into the caller's wake_list. A waiter's
 *     own registration and cancel are one step each (it is a user of the
 *     semaphore throughout, see below, so merging its lock hold is sound);
 *     the server's lock, walk and unlock are separate steps, because a
 *     server may be a releaser whose permits others can already own.
 *     strategies/models/atomic_waker.pml checks that atomic_waker provides
 *     the same serialization.
 *   - A thread's park / a coroutine's posted work item is delivered[id].
 *     Deadlines and stop requests may or may not happen (Timer / Stopper),
 *     so runs without them check the waiter as an untimed one.
 *   - owned[id] is ghost state: permits a party owns (an in-flight grant
 *     included). permits + sum(owned) == TOTAL always.
 *
 * Ghost lifetime ("the last owner destroys", as std::mutex allows)
 *   destroyed        the Semaphore has been destroyed. EVERY access to the
 *                    word or to the registry lock asserts !destroyed.
 *   ph[id]           BUSY (inside, or still to make, a call), RELEASED
 *                    (inside its final release(), after the CAS that put
 *                    its permits in the word), DONE (returned from its last
 *                    call).
 *   relmask          parties whose final release has made its CAS.
 *   cov[id]          relmask as seen by id's acquisition: the final
 *                    releases that happen-before it. A take (try_take, the
 *                    predicate) reads relmask in its acquire CAS; a granted
 *                    waiter gets its server's `syn` when it is delivered:
 *                    relmask at the server's last acquire operation on the
 *                    word (the CAS that made it server, the fetch_and of
 *                    recheck, the visitor's load). Every operation on word_
 *                    is an RMW or a load, so each release CAS heads a
 *                    release sequence that every later acquire reads.
 *   A party that holds permits may decide it is the last user and destroy
 *   (the "destroyer" branch of last_move_cas()): it waits until every other
 *   party is DONE, or is RELEASED and in cov[me] -- i.e. inside a release()
 *   whose permit-publishing CAS its own acquisition happens-after. That is the contract in the
 *   header's "Lifetime": a releaser may still be inside release() when
 *   whoever takes its permits destroys the object, and a waiter (thread or
 *   coroutine, timed out or not) is a user until it returns / resumes.
 *   In the words of a user refcount: `users` is decremented by a releaser
 *   AT the CAS that publishes its permits (not before the call: then the
 *   destroyer could run before the releaser's first access, which no
 *   implementation survives) and by a waiter when its call returns; the
 *   destroyer is a party whose acquisition came after every in-flight
 *   release's decrement, once the rest have returned. Merely reading
 *   users == 0 after acquiring earlier permits is NOT enough: nothing then
 *   orders a still-running release before the destruction (a user bug, as
 *   with std::mutex). If the destroyer waits for others that need its
 *   permits, the user program deadlocks; `timeout` lets it release instead.
 *   At destruction the ~Semaphore debug assertions must hold: nobody
 *   serving, nothing queued, the lock free.
 *
 * Scenarios (three parties each, ids 0..2):
 *   default (MAIN)        TOTAL 2. R releases 1 and 1; A is a coroutine
 *                         co_await async_acquire(2, stop_token) (a weighted
 *                         head) and the Stopper may request stop at any
 *                         moment (give_up on the Stopper's thread, or inside
 *                         watch() if stop came first); B is a thread,
 *                         try_acquire_for(deadline, 1).
 *   STUCK_HEAD            TOTAL 1. A (wants 2) can never be served and is
 *                         always stopped; B has no deadline: once R's only
 *                         release is over, only A's after_cancel can serve B.
 *   TWO_RELEASERS         TOTAL 2. R1 and R2 hold and release 1 each; W, a
 *                         thread, try_acquire_for(deadline, 2): the permits
 *                         of a release that finds a server at work reach W
 *                         only through the recheck.
 *   CANCEL_RACE           TOTAL 1. R releases 1; B try_acquire_for(deadline,
 *                         1) may time out while R serves it; C acquire(1)
 *                         comes in at any moment (a try_take newcomer).
 *   K_WAITERS             TOTAL 2. R release(2); W1 acquire(1) and W2
 *                         try_acquire_for(deadline, 1): release(k) with
 *                         exactly k waiters queued -- the case where the old
 *                         design (batches of 32, re-lock after a full one)
 *                         touched the lock after delivering the last owner.
 *   Every party that acquires then either releases everything (its final
 *   call) or is the destroyer.
 *
 * Properties
 *   no permit created:   a party that proceeds owns exactly what it asked
 *                        for; the visitor's fetch_sub never underflows.
 *   no permit destroyed: a party that gives up owns 0; at the end every
 *                        permit is in the word or with the destroyer, and
 *                        (if nobody destroyed) nothing is queued or serving.
 *   no lost wakeup:      no invalid end state.
 *   lifetime:            no access to the word or the lock after
 *                        `destroyed`; the destroyed object was idle.
 *   progress:            no non-progress cycle (-DNP, pan -l).
 *
 * Mutants (-DMUTANT_<NAME>; scripts/check-models.sh runs each in the
 * scenario named there):
 *   DELIVER_EARLY        serve() delivers the detached waiters right after
 *                        the notify pass, before its final CAS.
 *   RELOCK_BATCH         the old design's batches (BATCH = 2 here, 32 in the
 *                        old code): a pass stops after a full batch, serve()
 *                        delivers it and goes round again (fetch_and, lock).
 *   CLEAR_BEFORE_UNLOCK  the final CAS (clear serving / queued: permits
 *                        available to all) runs before the pass's unlock.
 *   FETCH_ADD_FIRST      release adds its permits with a fetch_add, and only
 *                        then takes serving (or sets recheck) in a second RMW.
 *   REGISTER_NO_RECHECK  a registration during serving sets queued but not
 *                        recheck.
 *   IGNORE_RECHECK       serve()'s final CAS ignores recheck_bit (clears it
 *                        with serving instead of going round again).
 *   COMBINE_NO_RECHECK   a release that finds a server adds its permits
 *                        without recheck_bit.
 *   CANCEL_NO_RECHECK    request_serve() finding a server does nothing.
 *   CHECK_THEN_REGISTER  the seed's order: the permit check happens before
 *                        registration (try_acquire), and the predicate only
 *                        registers -- no re-check inside the serialization.
 *   DROP_GRANT           a thread whose cancel lost to a notify gives up
 *                        instead of taking the grant in flight.
 *   NO_AFTER_CANCEL      a waiter removed by cancel does not request_serve().
 *   SKIP_SERVE           release serves only when the word had no permits
 *                        (the "first permit wakes" early-out).
 *   CLEAR_QUEUED_EARLY   a pass that granted a head counts as drained, so
 *                        the final CAS clears queued with waiters left.
 */

#if defined(SCENARIO_STUCK_HEAD)
#define TOTAL 1
#elif defined(SCENARIO_TWO_RELEASERS)
#define TOTAL 2
#elif defined(SCENARIO_CANCEL_RACE)
#define TOTAL 1
#elif defined(SCENARIO_K_WAITERS)
#define TOTAL 2
#else
#define SCENARIO_MAIN
#define TOTAL 2
#endif

#define NPARTY 3
#define BATCH 2       /* MUTANT_RELOCK_BATCH: the old kBatch (32), scaled */

#define ACQUIRED 1
#define ENQUEUED 2
#define STOPPED  3

#define BUSY     0
#define RELEASED 1
#define DONE     2

byte permits = 0;     /* word_ >> 3 */
bool queued = 0;      /* word_ & queued_bit */
bool serving = 0;     /* word_ & serving_bit */
bool recheck = 0;     /* word_ & recheck_bit */
byte owned[NPARTY];   /* ghost */
byte wanted[NPARTY];

byte sl = 0;          /* the registry lock (locked_fifo::mutex_), _pid + 1 */
byte q[2];            /* the registry FIFO */
byte qlen = 0;
bool linked[NPARTY];
bool delivered[NPARTY];

bool destroyed = 0;   /* ghost: ~Semaphore has run */
bool busy_at_destroy = 0;
byte ph[NPARTY];      /* ghost: BUSY / RELEASED / DONE */
byte relmask = 0;     /* ghost: parties whose final release has made its CAS */
byte cov[NPARTY];     /* ghost: relmask as seen by the party's acquisition */

bool stop = 0;        /* A's stop_source.request_stop() happened */
bool watching = 0;    /* A's stop_callback is registered */
bool cb_running = 0;  /* the stop callback is running on the Stopper's thread */
bool cancelled = 0;   /* A's acquire_awaiter::cancelled_ (written by give_up) */
bool fired[NPARTY];   /* the party's deadline passed */
byte done = 0;

/* every other party has returned, or is in a final release() whose CAS
 * happens-before our acquisition */
#define OK(me, p) ((p) == (me) || ph[p] == DONE || ((cov[me] >> (p)) & 1))
#define LAST(me)  (!destroyed && OK(me, 0) && OK(me, 1) && OK(me, 2))

/* ---- the registry lock (every acquisition and release is an access) ---- */
inline slock()   { atomic { sl == 0 -> assert(!destroyed); sl = _pid + 1 } }
inline sunlock() { atomic { assert(!destroyed); assert(sl == _pid + 1); sl = 0 } }

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

/* Semaphore::try_acquire(n): fifo, serving and queued block */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.try_take) */
inline try_take(me, n, got) {
  atomic {
    assert(!destroyed);
    if
    :: !queued && !serving && permits >= n ->
       permits = permits - n; owned[me] = owned[me] + n; cov[me] = relmask; got = 1
    :: else -> got = 0
    fi
  }
}

/* take_or_enqueue(w, stop): strategy_.enqueue_if(w, pred), the predicate
 * inside the registry lock (one step: lock, push, stop check, CAS, keep or
 * remove, unlock). */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.take_or_enqueue.pred) */
inline take_or_enqueue(me, n, use_stop, res) {
  atomic {
    sl == 0 -> assert(!destroyed);
    if
    :: use_stop && stop -> res = STOPPED
    :: else ->
#ifdef MUTANT_CHECK_THEN_REGISTER
       queued = 1; if :: serving -> recheck = 1 :: else -> skip fi;
       q_push(me); res = ENQUEUED  /* checked before, by try_acquire */
#else
       if
       :: !queued && !serving && permits >= n ->
          permits = permits - n; owned[me] = owned[me] + n; cov[me] = relmask; res = ACQUIRED
       :: else ->
          queued = 1;
#ifndef MUTANT_REGISTER_NO_RECHECK
          if :: serving -> recheck = 1 :: else -> skip fi;
#endif
          q_push(me); res = ENQUEUED
       fi
#endif
    fi
  }
}

/* serve()'s final CAS loop: recheck set -> look again; else clear serving
 * (and queued when the pass saw the queue empty). */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.serve.finish) */
inline finish_cas() {
  atomic {
    assert(!destroyed);
#ifdef MUTANT_IGNORE_RECHECK
    serving = 0; recheck = 0; if :: drained -> queued = 0 :: else -> skip fi; fin = 1
#else
    if
    :: recheck -> fin = 0
    :: else -> serving = 0; if :: drained -> queued = 0 :: else -> skip fi; fin = 1
    fi
#endif
  }
}

/* visit_queue(), fifo: one notify pass under the registry lock; the visitor
 * grants the head its whole request while the word has enough. */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.visit_queue) */
inline visit_queue() {
  slock();
  do
  :: atomic { qlen == 0 -> drained = 1 }; break     /* head == nullptr */
  :: /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.visitor.grant) */
     atomic {                            /* front() (under the lock), acquire load */
       qlen > 0 -> assert(!destroyed); head = q[0]; seen = permits; syn = relmask
     };
     if
     :: atomic { seen < wanted[head] -> head = 0; seen = 0 }; break  /* nobody overtakes */
     :: seen >= wanted[head] ->
        atomic {
          assert(!destroyed);
          assert(permits >= wanted[head]);   /* only the server takes while serving */
          permits = permits - wanted[head]; owned[head] = owned[head] + wanted[head];
          q_remove(head); bt[nb] = head; nb++;            /* detach into the wake_list */
#ifdef MUTANT_CLEAR_QUEUED_EARLY
          drained = 1;
#endif
          head = 0; seen = 0
        }
#ifdef MUTANT_RELOCK_BATCH
        ;
        if
        :: nb == BATCH -> batched = 1; break
        :: else -> skip
        fi
#endif
     fi
  od;
#ifdef MUTANT_CLEAR_BEFORE_UNLOCK
  finish_cas();
#endif
  sunlock()
}

/* S::deliver(woken): the waiters' own records only, no access to *this */
inline deliver() {
  do
  :: di < nb -> atomic { cov[bt[di]] = syn; delivered[bt[di]] = 1; bt[di] = 0; di++ }
  :: else -> atomic { nb = 0; di = 0 }; break
  od
}

/* Semaphore::serve(), holding serving_bit */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.serve) */
inline serve() {
  do
  :: /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.serve.clear_recheck) */
     atomic { assert(!destroyed); recheck = 0; syn = relmask };
     visit_queue();
#ifdef MUTANT_DELIVER_EARLY
     deliver();
#endif
#if defined(MUTANT_RELOCK_BATCH)
     if
     :: batched -> batched = 0; deliver(); fin = 0         /* deliver the batch, re-lock */
     :: else -> finish_cas()
     fi;
#elif !defined(MUTANT_CLEAR_BEFORE_UNLOCK)
     finish_cas();
#endif
     if
     :: fin -> fin = 0; drained = 0; break
     :: else -> drained = 0
     fi
  od;
  deliver();
  syn = 0
}

/* Semaphore::release(n) up to serve(): the CAS loop; go = become the server.
 * `last`: the party's final call (ghost). */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.release.fast) */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.release.combine) */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.release.serve) */
inline release_cas(me, n, last) {
#ifdef MUTANT_FETCH_ADD_FIRST
  atomic {
    assert(!destroyed);
    permits = permits + n; owned[me] = owned[me] - n;
    if :: last -> ph[me] = RELEASED; relmask = relmask | (1 << me) :: else -> skip fi
  };
  atomic {
    assert(!destroyed);
    if
    :: queued && !serving -> serving = 1; syn = relmask; go = 1
    :: serving -> recheck = 1
    :: else -> skip
    fi;
    if :: last && !go -> ph[me] = DONE :: else -> skip fi
  }
#else
  atomic {
    assert(!destroyed);
    owned[me] = owned[me] - n;
    if :: last -> ph[me] = RELEASED; relmask = relmask | (1 << me) :: else -> skip fi;
    if
    :: !queued && !serving -> permits = permits + n                    /* fast */
#ifdef MUTANT_SKIP_SERVE
    :: queued && !serving && permits > 0 -> permits = permits + n
    :: queued && !serving && permits == 0 ->
#else
    :: queued && !serving ->
#endif
       permits = permits + n; serving = 1; syn = relmask; go = 1      /* serve */
    :: serving -> permits = permits + n                                /* combine */
#ifndef MUTANT_COMBINE_NO_RECHECK
       ; recheck = 1
#endif
    fi;
    if :: last && !go -> ph[me] = DONE :: else -> skip fi               /* returns */
  }
#endif
}

/* the serve() a CAS above made ours (one copy per proctype: pan's size) */
inline serve_if_go() {
  if
  :: go -> go = 0; serve()
  :: else -> skip
  fi
}

inline release(me, n, last) {
  release_cas(me, n, last);
  serve_if_go();
  if :: last -> ph[me] = DONE :: else -> skip fi
}

/* strategy cancel: removed (true) or a notify detached it (false) */
inline cancel(me, removed) {
  atomic {
    sl == 0 -> assert(!destroyed);
    if
    :: linked[me] -> q_remove(me); removed = 1
    :: else -> removed = 0
    fi
  }
}

/* request_serve() up to serve(); go = become the server */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.request_serve) */
inline request_serve_cas() {
  atomic {
    assert(!destroyed);
    if
    :: !queued -> skip                                  /* nobody queued */
    :: queued && serving ->
#ifdef MUTANT_CANCEL_NO_RECHECK
       skip
#else
       recheck = 1
#endif
    :: queued && !serving -> serving = 1; syn = relmask; go = 1
    fi
  }
}

/* after_cancel() up to serve() */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.after_cancel) */
inline after_cancel_cas() {
#ifdef MUTANT_NO_AFTER_CANCEL
  skip
#else
  request_serve_cas()
#endif
}

/* A party holding n permits makes its last move: release them all, or --
 * the user knows it is the last one -- wait for the others and destroy.
 * Up to the release's serve() (the caller runs serve_if_go()). */
inline last_move_cas(me, n) {
  if
  :: skip;                                       /* "I am the last user" */
     if
     :: atomic {
          LAST(me) -> destroyed = 1;
          /* ~Semaphore's assertions: nobody serving (nor in the lock) ... */
          busy_at_destroy = serving || recheck || sl != 0;
          assert(!busy_at_destroy);
          /* ... and nothing queued */
          assert(!queued && qlen == 0);
          ph[me] = DONE
        }
     :: timeout -> release_cas(me, n, 1)         /* the others need our permits */
     fi
  :: release_cas(me, n, 1)
  fi
}

/* ---- coroutine A: co_await sem.async_acquire(NA, stop_token) ----------- */

/* Semaphore::acquire_awaiter::give_up(): the stop callback */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.awaiter.give_up) */
inline give_up(me) {
  cancel(me, rm);
  if
  :: rm -> cancelled = 1; after_cancel_cas(); serve_if_go();
           delivered[me] = 1                                  /* post our item */
  :: else -> skip                                             /* the delivery re-checks */
  fi;
  rm = 0
}

#if defined(SCENARIO_MAIN) || defined(SCENARIO_STUCK_HEAD)
#define NA 2
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.awaiter.register) */
proctype CoroA(byte me) {
  byte head, seen, nb, di, bt[2], res, syn;
  bool drained, fin, batched, go, got, acquired, rm, here;

  try_take(me, NA, got);                         /* await_ready */
  if
  :: got -> acquired = 1; goto resumed
  :: else -> skip
  fi;
  if
  :: stop -> goto resumed                        /* await_suspend: give_up_.due() */
  :: else -> skip
  fi;
  take_or_enqueue(me, NA, 1, res);               /* register_or_finish */
  if
  :: res == ACQUIRED -> acquired = 1; goto resumed
  :: res == STOPPED -> goto resumed
  :: res == ENQUEUED -> skip
  fi;
  /* give_up_.watch(): constructing the stop_callback runs it here if stop came first */
  atomic { watching = 1; here = stop };
  if
  :: here -> give_up(me); here = 0
  :: else -> skip
  fi;
  delivered[me];                                 /* suspended until our item runs */
  /* step() */
  /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.awaiter.step) */
  if
  :: !cancelled -> acquired = 1                  /* fifo: delivery_grants() */
  :: else -> skip
  fi;
resumed:
  atomic { !cb_running -> watching = 0 };        /* await_resume: unwatch() */
  if
  :: acquired -> assert(owned[me] == NA); last_move_cas(me, NA); serve_if_go()
  :: else -> assert(owned[me] == 0)
  fi;
  atomic { ph[me] = DONE; done++ }
}

proctype Stopper(byte a) {
  byte head, seen, nb, di, bt[2], syn;
  bool drained, fin, batched, go, rm;
  if
  :: atomic { stop = 1; cb_running = watching };
     if
     :: cb_running -> give_up(a); cb_running = 0
     :: else -> skip
     fi
#ifndef SCENARIO_STUCK_HEAD
  :: skip                                        /* no stop request */
#endif
  fi
}
#endif

/* ---- a thread: [try_acquire_for(deadline, n) | acquire(n)] ------------- */
/* mirrors: primitives/include/csync/semaphore.hpp @model(sem.acquire_slow) */
proctype Thread(byte me; byte n; bool timed) {
  byte head, seen, nb, di, bt[2], res, syn;
  bool drained, fin, batched, go, got, gaveup, rm;

  try_take(me, n, got);                          /* try_acquire */
  if
  :: got -> goto hold
  :: else -> skip
  fi;
  take_or_enqueue(me, n, 0, res);
  if
  :: res == ACQUIRED -> goto hold
  :: else -> skip
  fi;
  if
  :: delivered[me] -> skip                       /* wait(w, deadline) == true */
  :: atomic { timed && fired[me] && !delivered[me] } ->   /* deadline passed */
     /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.acquire_slow.cancel) */
     cancel(me, rm);
     if
     :: rm -> after_cancel_cas(); gaveup = 1      /* its serve() below */
     :: else ->
#ifdef MUTANT_DROP_GRANT
        gaveup = 1
#else
        /* mirrors: primitives/include/csync/semaphore.hpp @model(sem.acquire_slow.in_flight) */
        delivered[me]                            /* wait(w, nullopt): take the grant */
#endif
     fi
  fi;
hold:
  if
  :: gaveup -> assert(owned[me] == 0)
  :: else -> assert(owned[me] == n); last_move_cas(me, n)
  fi;
  serve_if_go();                                 /* after_cancel's or release's */
  atomic { ph[me] = DONE; done++ }
}

/* holds n1 + n2 permits; releases n1, then n2 (if any) */
proctype Releaser(byte me; byte n1; byte n2) {
  byte head, seen, nb, di, bt[2], syn;
  bool drained, fin, batched, go;
  byte n = n1;
  bool last = (n2 == 0);
  do
  :: release(me, n, last);
     if
     :: last -> break
     :: else -> n = n2; last = 1
     fi
  od;
  done++
}

proctype Timer(byte me) {
  if
  :: fired[me] = 1
  :: skip
  fi
}

init {
  atomic {
#if defined(SCENARIO_MAIN)
    owned[0] = 2; wanted[1] = 2; wanted[2] = 1;
    run Releaser(0, 1, 1);
    run CoroA(1);
    run Stopper(1);
    run Thread(2, 1, 1);
    run Timer(2)
#elif defined(SCENARIO_STUCK_HEAD)
    owned[0] = 1; wanted[1] = 2; wanted[2] = 1;
    run Releaser(0, 1, 0);
    run CoroA(1);
    run Stopper(1);
    run Thread(2, 1, 0)
#elif defined(SCENARIO_TWO_RELEASERS)
    owned[0] = 1; owned[1] = 1; wanted[2] = 2;
    run Releaser(0, 1, 0);
    run Releaser(1, 1, 0);
    run Thread(2, 2, 1);
    run Timer(2)
#elif defined(SCENARIO_CANCEL_RACE)
    owned[0] = 1; wanted[1] = 1; wanted[2] = 1;
    run Releaser(0, 1, 0);
    run Thread(1, 1, 1);
    run Timer(1);
    run Thread(2, 1, 0)
#elif defined(SCENARIO_K_WAITERS)
    owned[0] = 2; wanted[1] = 1; wanted[2] = 1;
    run Releaser(0, 2, 0);
    run Thread(1, 1, 0);
    run Thread(2, 1, 1);
    run Timer(2)
#endif
  };
  done == NPARTY;
  assert(permits + owned[0] + owned[1] + owned[2] == TOTAL);
  if
  :: destroyed -> skip                           /* idle: checked at destruction */
  :: else ->
     assert(permits == TOTAL);
     assert(!queued && qlen == 0);
     assert(!serving && !recheck && sl == 0)
  fi
}
