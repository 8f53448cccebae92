// harness/src/workloads_condvar.hpp
// -----------------------------------------------------------------------------
// Workloads over a mutex and condition variables (see workloads.hpp for the
// shared conventions: stop flag, teardown, sampling, holder accounting).
//
//   condvar    producers and consumers (half the workers each, at least one
//              of each) over a bounded queue of `queue_capacity` items, with
//              two condition variables (not_full, not_empty) and
//              notify_one. An operation is an item consumed; the latency is
//              a consumer's wait for an item: from its lock() call to its
//              return from wait holding the mutex with an item there (the
//              clock is read before the critical section and notify_one).
//              Wake latency: from the stamp of the latest notify_one (taken
//              just before the call) to a consumer that had to wait
//              returning from wait with an item -- a lower bound when several
//              producers notify at once.
//   broadcast  one notifier and N waiters (threads - 1 or tasks - 1): the
//              notifier waits until every waiter is parked, bumps a
//              generation, stamps the time (a timed round) and unlocks and
//              calls notify_all -- the thundering herd. An operation is one
//              waiter woken. Wake latency: stamp to the first waiter's
//              return from wait (it re-acquires an uncontended mutex); herd
//              latency: stamp to the last waiter's return (every waiter's
//              re-acquire in turn). Re-acquire latency: from one waiter's
//              release of the mutex (entering wait again) to the next
//              waiter's return from wait -- the hand-off, on its own.
//
// A `Kit` supplies the mutex and condition variable: csync_kit<S>
// (csync::Mutex<S>, csync::Condvar<S>: threads and coroutines) or std_kit
// (std::mutex, std::condition_variable: threads only, the peer).
// Shutdown: whoever leaves first (the stop flag, or the last producer in an
// operation-count run) sets `closed` under the mutex and notifies everybody;
// every wait predicate includes `closed`.
// -----------------------------------------------------------------------------
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#if CSYNC_BENCH_HAVE_ABSL
#include <absl/synchronization/mutex.h>

#include "peers.hpp"  // absl_as_in_production
#endif

#include <csync/csync.hpp>

#include "workloads.hpp"

namespace csync::bench {

// ---- kits -----------------------------------------------------------------------

template <class S>
class csync_kit {
 public:
  using mutex_type = csync::Mutex<S>;
  using condvar_type = csync::Condvar<S>;
  static constexpr bool has_coroutines = true;

  csync_kit(csync::fairness policy, typename S::options options)
      : policy_(policy), options_(options) {}

  mutex_type& make_mutex() { return *mutexes_.emplace_back(std::make_unique<mutex_type>(policy_, options_)); }
  condvar_type& make_condvar() { return *condvars_.emplace_back(std::make_unique<condvar_type>(options_)); }

  template <class Pred>
  static void wait(condvar_type& cv, mutex_type& m, Pred pred) {
    cv.wait(m, pred);
  }

  /// The statistics hooks of everything made, summed: {wakes, spurious, futile}.
  template <class Out>
  void add_stats(Out& out) const {
    auto add = [&out](const auto& snapshot) {
      out.wakes += snapshot.wakes;
      out.spurious += snapshot.spurious;
      out.futile += snapshot.futile;
    };
    for (const auto& m : mutexes_) add(m->strategy().stats().read());
    for (const auto& cv : condvars_) add(cv->strategy().stats().read());
  }

 private:
  csync::fairness policy_;
  typename S::options options_;
  std::vector<std::unique_ptr<mutex_type>> mutexes_;
  std::vector<std::unique_ptr<condvar_type>> condvars_;
};

/// What every default-constructible kit does: make and own its mutexes and
/// condition variables (stable addresses: the workloads keep references).
template <class Mutex, class Condvar>
class owning_kit {
 public:
  using mutex_type = Mutex;
  using condvar_type = Condvar;

  mutex_type& make_mutex() { return *mutexes_.emplace_back(std::make_unique<mutex_type>()); }
  condvar_type& make_condvar() { return *condvars_.emplace_back(std::make_unique<condvar_type>()); }

 private:
  std::vector<std::unique_ptr<mutex_type>> mutexes_;
  std::vector<std::unique_ptr<condvar_type>> condvars_;
};

/// A kit of a blocking mutex and a condition variable that waits on a
/// std::unique_lock of it: std_kit, and Boost.Fiber's (peers_fiber.hpp).
template <class Mutex, class Condvar>
class unique_lock_kit : public owning_kit<Mutex, Condvar> {
 public:
  static constexpr bool has_coroutines = false;

  template <class Pred>
  static void wait(Condvar& cv, Mutex& m, Pred pred) {
    std::unique_lock<Mutex> lock(m, std::adopt_lock);  // the caller holds m
    cv.wait(lock, pred);
    lock.release();  // and still holds it afterwards
  }

  template <class Out>
  void add_stats(Out&) const {}
};

using std_kit = unique_lock_kit<std::mutex, std::condition_variable>;

#if CSYNC_BENCH_HAVE_ABSL
/// absl::Mutex and absl::CondVar under the names the workloads call
/// (absl 20220623 has no lower-case lock()/unlock()).
struct absl_mutex_lockable {
  absl_mutex_lockable() { peers::absl_as_in_production(); }
  absl::Mutex mutex;
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mutex.Lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { mutex.Unlock(); }
};
struct absl_condvar {
  absl::CondVar condvar;
  void notify_one() { condvar.Signal(); }
  void notify_all() { condvar.SignalAll(); }
};

class absl_kit : public owning_kit<absl_mutex_lockable, absl_condvar> {
 public:
  static constexpr bool has_coroutines = false;

  template <class Pred>
  static void wait(condvar_type& cv, mutex_type& m, Pred pred) {
    while (!pred()) cv.condvar.Wait(&m.mutex);  // the caller holds m, and still does after
  }

  template <class Out>
  void add_stats(Out&) const {}
};
#endif

// ---- condvar: bounded queue ---------------------------------------------------------

template <class Kit>
struct bounded_queue {
  explicit bounded_queue(Kit& kit)
      : mutex(kit.make_mutex()), not_full(kit.make_condvar()), not_empty(kit.make_condvar()) {}

  typename Kit::mutex_type& mutex;
  typename Kit::condvar_type& not_full;
  typename Kit::condvar_type& not_empty;
  std::deque<std::uint64_t> items;   // guarded by mutex
  std::atomic<std::uint64_t> notified_at{0};  ///< the latest notify_one's stamp (0: untimed)
  bool closed = false;               // guarded by mutex
  std::uint32_t producers_left = 0;  // guarded by mutex
  detail::shared_state shared{1};    // holders of `mutex`: at most one

  /// After setting `closed` (under the mutex): nobody may stay asleep.
  void wake_everybody() {
    not_full.notify_all();
    not_empty.notify_all();
  }
};

template <class W, class Kit>
csync::Task<void> producer(bounded_queue<Kit>& q, const cell_params& p, const run_control& ctl,
                           detail::worker_slot& me) {
  for (std::uint64_t i = 0; ctl.timed() ? !q.shared.stopping() : i < ctl.operations; ++i) {
    co_await W::lock(q.mutex);
    co_await W::template wait<Kit>(q.not_full, q.mutex,
                                   [&q, &p] { return q.items.size() < p.queue_capacity || q.closed; });
    if (q.closed) {
      q.mutex.unlock();
      co_return;
    }
    if (ctl.checks_exclusion()) q.shared.enter(1);
    me.burn(p.critical_section_ns);
    q.items.push_back(i);
    if (ctl.checks_exclusion()) q.shared.leave(1);
    q.mutex.unlock();
    // Every notify leaves its stamp (0: untimed), so a consumer never reads
    // an older notify's. relaxed: a consumer that was woken by this notify
    // reads it after its wait returned; the condvar orders nothing here, and
    // a later producer's stamp only shortens that consumer's span.
    q.notified_at.store(me.sampler.next() ? now_ns() : 0, std::memory_order_relaxed);
    q.not_empty.notify_one();
    me.count_op();  // an item made: for the stall monitor (the cell counts consumed ones)
    me.burn(p.think_ns);
  }
  co_await W::lock(q.mutex);
  // Timed: the first to see the stop flag closes. Counted: the last producer.
  if (ctl.timed() || --q.producers_left == 0) q.closed = true;
  const bool closed = q.closed;
  q.mutex.unlock();
  if (closed) q.wake_everybody();
}

template <class W, class Kit>
csync::Task<void> consumer(bounded_queue<Kit>& q, const cell_params& p, const run_control& ctl,
                           detail::worker_slot& me) {
  for (;;) {
    const bool timed_op = me.sampler.next();
    const std::uint64_t start = timed_op ? now_ns() : 0;
    co_await W::lock(q.mutex);
    bool waited = false;  // the predicate was false at least once: this consumer was woken
    co_await W::template wait<Kit>(q.not_empty, q.mutex, [&q, &waited] {
      const bool ready = !q.items.empty() || q.closed;
      waited = waited || !ready;
      return ready;
    });
    const std::uint64_t stamp = waited ? q.notified_at.load(std::memory_order_relaxed) : 0;
    const std::uint64_t end = timed_op || stamp ? now_ns() : 0;
    const bool stopping = ctl.timed() && q.shared.stopping();
    if (q.items.empty() || stopping) {  // closed and drained, or after the window
      if (stopping) {
        q.closed = true;
        me.censor(timed_op, end - start);
      }
      q.mutex.unlock();
      if (stopping) q.wake_everybody();
      co_return;
    }
    if (ctl.checks_exclusion()) q.shared.enter(1);
    q.items.pop_front();
    me.burn(p.critical_section_ns);
    if (ctl.checks_exclusion()) q.shared.leave(1);
    q.mutex.unlock();
    q.not_full.notify_one();
    if (timed_op) me.record_wait(end - start);
    if (stamp) me.thread->wake_latency.record(end - stamp);
    me.count_op();
    me.burn(p.think_ns);
  }
}

/// Workers: threads or tasks, at least 2; the first half (at least one)
/// produce, the rest consume.
template <class W, class Kit>
repetition_data condvar_workload(Kit& kit, const cell_params& p, const run_control& ctl) {
  bounded_queue<Kit> q(kit);
  q.shared.rescue = [&q] { q.wake_everybody(); };
  const std::uint32_t workers =
      std::max<std::uint32_t>(2, p.waiters == waiter_kind::threads ? p.threads : p.tasks);
  const std::uint32_t producers = workers / 2;
  q.producers_left = producers;
  run_slots slots(workers, p, ctl);
  repetition_data out = run_workers(p, ctl, q.shared, slots.workers, slots.threads, [&](std::size_t w) {
    return w < producers ? producer<W>(q, p, ctl, slots.workers[w])
                         : consumer<W>(q, p, ctl, slots.workers[w]);
  });
  // Items are counted by consumers: fairness is over consumers.
  out.ops_per_worker.erase(out.ops_per_worker.begin(), out.ops_per_worker.begin() + producers);
  if (ctl.times_operations()) {
    out.max_wait_ns_per_worker.erase(out.max_wait_ns_per_worker.begin(),
                                     out.max_wait_ns_per_worker.begin() + producers);
  }
  if (ctl.timed()) {
    out.longest_stall_ns_per_worker.erase(out.longest_stall_ns_per_worker.begin(),
                                          out.longest_stall_ns_per_worker.begin() + producers);
  }
  return out;
}

// ---- broadcast: notify_all ------------------------------------------------------------

template <class Kit>
struct herd {
  explicit herd(Kit& kit)
      : mutex(kit.make_mutex()), wake_up(kit.make_condvar()), all_parked(kit.make_condvar()) {}

  typename Kit::mutex_type& mutex;
  typename Kit::condvar_type& wake_up;     // the herd waits here
  typename Kit::condvar_type& all_parked;  // the notifier waits here
  std::uint64_t generation = 0;            // guarded by mutex
  std::uint64_t notified_at = 0;           // guarded by mutex; 0: an untimed round
  std::uint32_t parked = 0;                // guarded by mutex
  std::uint32_t woken = 0;                 // guarded by mutex: waiters back this round
  std::uint64_t released_at = 0;           // guarded by mutex: when the last waiter back
                                           // gave the mutex up again (a timed round)
  std::uint32_t waiters = 0;
  bool closed = false;                     // guarded by mutex
  detail::shared_state shared{1};
};

template <class W, class Kit>
csync::Task<void> herd_waiter(herd<Kit>& h, const run_control& ctl, detail::worker_slot& me) {
  std::uint64_t seen = 0;
  co_await W::lock(h.mutex);
  for (;;) {
    if (++h.parked == h.waiters) h.all_parked.notify_one();
    if (h.notified_at) h.released_at = now_ns();  // wait() gives the mutex up next
    co_await W::template wait<Kit>(h.wake_up, h.mutex,
                                   [&] { return h.generation != seen || h.closed; });
    const std::uint64_t end = h.notified_at ? now_ns() : 0;
    if (h.closed) break;
    if (ctl.checks_exclusion()) h.shared.enter(1);
    seen = h.generation;
    const std::uint32_t place = ++h.woken;
    if (ctl.checks_exclusion()) h.shared.leave(1);
    if (ctl.timed() && h.shared.stopping()) {
      me.censor(false, 0);
      continue;
    }
    // Under the mutex (the waiter holds it until its next wait): a few ns.
    if (end && place == 1) me.thread->wake_latency.record(end - h.notified_at);
    if (end && place == h.waiters) me.thread->herd_latency.record(end - h.notified_at);
    // From the previous waiter's release (entering wait) to this return: the
    // mutex hand-off within the herd -- the re-acquire, on its own.
    if (end && place > 1) me.thread->reacquire_latency.record(end - h.released_at);
    me.count_op();
  }
  h.mutex.unlock();
}

template <class W, class Kit>
csync::Task<void> herd_notifier(herd<Kit>& h, const run_control& ctl, detail::worker_slot& me) {
  for (std::uint64_t i = 0; ctl.timed() ? !h.shared.stopping() : i < ctl.operations; ++i) {
    const bool timed_round = me.sampler.next();
    co_await W::lock(h.mutex);
    co_await W::template wait<Kit>(h.all_parked, h.mutex, [&h] { return h.parked == h.waiters; });
    h.parked = 0;
    h.woken = 0;
    ++h.generation;
    h.notified_at = timed_round ? now_ns() : 0;
    h.mutex.unlock();
    h.wake_up.notify_all();
    me.count_op();  // a round: for the stall monitor (the cell counts woken waiters)
  }
  // Close only once every waiter is back from the last round: one woken by
  // it that re-acquired the mutex after `closed` would leave without it.
  co_await W::lock(h.mutex);
  co_await W::template wait<Kit>(h.all_parked, h.mutex, [&h] { return h.parked == h.waiters; });
  h.closed = true;
  h.mutex.unlock();
  h.wake_up.notify_all();
}

/// Worker 0 notifies; the others (threads - 1 or tasks - 1, at least one)
/// are the herd. In a counted run `operations` is the number of rounds.
template <class W, class Kit>
repetition_data broadcast_workload(Kit& kit, const cell_params& p, const run_control& ctl) {
  herd<Kit> h(kit);
  h.shared.rescue = [&h] {
    h.wake_up.notify_all();
    h.all_parked.notify_all();
  };
  const std::uint32_t workers =
      std::max<std::uint32_t>(2, p.waiters == waiter_kind::threads ? p.threads : p.tasks);
  h.waiters = workers - 1;
  run_slots slots(workers, p, ctl);
  repetition_data out = run_workers(p, ctl, h.shared, slots.workers, slots.threads, [&](std::size_t w) {
    return w == 0 ? herd_notifier<W>(h, ctl, slots.workers[w]) : herd_waiter<W>(h, ctl, slots.workers[w]);
  });
  out.ops_per_worker.erase(out.ops_per_worker.begin());
  if (ctl.times_operations()) out.max_wait_ns_per_worker.clear();  // no per-waiter wait is timed
  if (ctl.timed()) out.longest_stall_ns_per_worker.erase(out.longest_stall_ns_per_worker.begin());
  return out;
}

}  // namespace csync::bench
