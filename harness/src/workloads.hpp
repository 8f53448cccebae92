// harness/src/workloads.hpp
// -----------------------------------------------------------------------------
// The measured loops. Each workload runs one repetition of a cell and returns
// the raw measurements; catalog.cpp picks the types (a csync::Semaphore<S> or
// a peer semaphore; a csync or std mutex + condvar kit) and aggregates. Here:
// the semaphore workloads; workloads_condvar.hpp: condvar and broadcast;
// workloads_io.hpp: mixed_io.
//
//   semaphore  every worker loops: acquire(weight) -> critical section
//              (burn critical_section_ns; coroutines may also suspend, see
//              hold_mode) -> release(weight) -> think (burn think_ns).
//              Measures the wait inside acquire. Holders are counted: more
//              than `permits` at once is a violation and fails the cell.
//   pingpong   pairs of parties wake each other through two semaphores of 0
//              permits. The sender stamps the time before release(); the
//              receiver records now - stamp after its acquire: the one-way
//              wake latency.
//
// Each workload's worker is written once, as a coroutine over a waiting
// policy: `blocking` (thread waiters: every awaitable makes the blocking call
// in await_ready and never suspends, so the coroutine runs straight through
// on its thread) or `suspending` (coroutine waiters on loops: the async API).
// `run_workers` starts them as threads or as tasks on `loops` loops.
//
// Teardown does not count: in a timed run the controller raises `stop`;
// a worker that finds it raised after its acquire releases at once without
// counting the operation or the holder, so waiters woken only because
// others are leaving inflate nothing.
// Hangs: a worker still blocked long after the stop (a lost wake-up in the
// primitive under test -- libstdc++ 12's std::counting_semaphore does this,
// see docs/peers.md) would hang the harness. The controller waits a grace
// period, then calls the workload's `rescue` (extra releases, notify_all) until
// every worker is out, and reports how many were stuck; the cell then fails.
// Latency is sampled every `sample_every` operations so that two clock reads
// stay within the harness's overhead budget (runner.cpp chooses it).
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <exception>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <csync/csync.hpp>

#include "metrics.hpp"
#include "scenario.hpp"

namespace csync::bench {

/// How a repetition is run (the cell's parameters say what is run).
struct run_control {
  std::uint64_t duration_ns = 0;  ///< timed run; 0: `operations` per worker
  std::uint64_t operations = 0;
  std::uint32_t sample_every = 1;  ///< record latency on every n-th operation
  const std::atomic<bool>* interrupted = nullptr;  ///< SIGINT: end the run early
  std::vector<int> cpus;  ///< pin worker thread i to cpus[i % size]; empty: no pinning
};

/// Pins the calling thread to `cpu` (best effort: a refused pin leaves it free).
void pin_current_thread(int cpu) noexcept;

/// The raw measurements of one repetition.
struct repetition_data {
  double elapsed_s = 0;
  std::vector<std::uint64_t> ops_per_worker;
  latency_histogram acquire_latency;
  latency_histogram wake_latency;  ///< pingpong only
  thread_usage usage;              ///< summed over every worker thread
  std::uint64_t max_holders = 0;
  std::uint64_t violations = 0;    ///< holders > permits observed
  std::uint64_t stuck_workers = 0; ///< still blocked a grace period after the stop
  bool interrupted = false;

  std::uint64_t ops() const noexcept {
    std::uint64_t n = 0;
    for (std::uint64_t x : ops_per_worker) n += x;
    return n;
  }
};

namespace detail {

/// Per-worker results, padded so workers do not share cache lines.
struct alignas(128) worker_slot {
  std::uint64_t ops = 0;
  latency_histogram acquire_latency;
  latency_histogram wake_latency;
  thread_usage usage;
};

/// Shared state of a repetition: stop flag, holder accounting.
struct shared_state {
  explicit shared_state(std::uint64_t permits) : permits(permits) {}
  const std::uint64_t permits;
  alignas(64) std::atomic<bool> stop{false};
  std::atomic<std::size_t> finished{0};  ///< OS threads whose body returned
  /// Unblocks workers a lost wake-up left asleep after the stop.
  std::function<void()> rescue = [] {};
  alignas(64) std::atomic<std::uint64_t> holders{0};
  std::atomic<std::uint64_t> max_holders{0};
  std::atomic<std::uint64_t> violations{0};

  void enter(std::uint64_t weight) noexcept {
    // relaxed: a checker of the primitive, not part of its synchronization.
    const std::uint64_t h = holders.fetch_add(weight, std::memory_order_relaxed) + weight;
    if (h > permits) violations.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t seen = max_holders.load(std::memory_order_relaxed);
    while (h > seen && !max_holders.compare_exchange_weak(seen, h, std::memory_order_relaxed)) {
    }
  }
  void leave(std::uint64_t weight) noexcept {
    holders.fetch_sub(weight, std::memory_order_relaxed);
  }
  bool stopping() const noexcept { return stop.load(std::memory_order_relaxed); }
};

/// After the stop: waits for the `n` threads to finish. Those still blocked
/// after `grace` are counted in `stuck` and rescued (shared.rescue(), every
/// 10 ms) until they leave; if even that fails for 10 s the process exits
/// (the report on disk keeps every finished cell).
inline void await_finish(std::size_t n, shared_state& shared, bench_clock::duration grace,
                         std::uint64_t& stuck) {
  const auto stopped = bench_clock::now();
  // acquire: pairs with the workers' release increments; their results are ours.
  while (shared.finished.load(std::memory_order_acquire) < n) {
    const auto waited = bench_clock::now() - stopped;
    if (waited > grace) {
      if (stuck == 0) stuck = n - shared.finished.load(std::memory_order_acquire);
      if (waited > grace + std::chrono::seconds(10)) {
        std::fprintf(stderr,
                     "csync-bench: %zu workers still blocked 10 s after rescue attempts; "
                     "giving up (the report keeps the finished cells)\n",
                     n - shared.finished.load());
        std::_Exit(1);
      }
      shared.rescue();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(waited > grace ? 10 : 1));
  }
}

/// Frees waiters a lost wake-up left asleep: release() alone may not notify
/// (libstdc++ 12's counting_semaphore notifies only on a release from 0), so
/// drain the count first and give it all back plus `weight`.
template <class Sem>
void rescue_semaphore(Sem& sem, std::uint64_t weight) {
  std::uint64_t drained = 0;
  while (sem.try_acquire(1)) ++drained;
  sem.release(drained + weight);
}

/// `parties` threads meet once, like one phase of std::barrier. Not
/// std::barrier: libstdc++ 12 builds it on std::atomic::wait, whose notify
/// does not take the waiter pool's lock where there is no futex to wait on
/// (mingw-w64), so a wake-up can be lost -- observed under Wine, with
/// workers that never started. A mutex and a condition variable cannot lose it.
class start_gate {
 public:
  explicit start_gate(std::size_t parties) : left_(parties) {}
  void arrive_and_wait() {
    std::unique_lock lock(mutex_);
    if (--left_ == 0) {
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [this] { return left_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t left_;  ///< guarded by mutex_
};

/// Runs `body(i)` on `n` threads started together; times the run: for a timed
/// run the controller sleeps `duration_ns` (or until interrupted) and raises
/// stop; otherwise the run ends when every thread finished.
template <class Body>
double run_threads(std::size_t n, shared_state& shared, const run_control& ctl,
                   repetition_data& out, Body body) {
  start_gate start(n + 1);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      if (!ctl.cpus.empty()) pin_current_thread(ctl.cpus[i % ctl.cpus.size()]);
      start.arrive_and_wait();
      body(i);
      shared.finished.fetch_add(1, std::memory_order_release);  // see await_finish
    });
  }
  start.arrive_and_wait();
  const auto t0 = bench_clock::now();
  if (ctl.duration_ns != 0) {
    const auto until = t0 + std::chrono::nanoseconds(ctl.duration_ns);
    while (bench_clock::now() < until) {
      if (ctl.interrupted && ctl.interrupted->load(std::memory_order_relaxed)) {
        out.interrupted = true;
        break;
      }
      std::this_thread::sleep_for(
          std::min<bench_clock::duration>(until - bench_clock::now(), std::chrono::milliseconds(5)));
    }
    shared.stop.store(true, std::memory_order_relaxed);
  }
  const auto stopped = bench_clock::now();
  if (ctl.duration_ns != 0) {
    // Teardown takes at most a few operations; allow far more.
    const auto grace = std::max<bench_clock::duration>(std::chrono::seconds(2),
                                                       4 * std::chrono::nanoseconds(ctl.duration_ns));
    await_finish(n, shared, grace, out.stuck_workers);
  }
  for (std::thread& t : threads) t.join();
  const auto end = ctl.duration_ns != 0 ? stopped : bench_clock::now();
  return std::chrono::duration<double>(end - t0).count();
}

inline void collect(repetition_data& out, std::vector<worker_slot>& slots) {
  for (worker_slot& s : slots) {
    out.ops_per_worker.push_back(s.ops);
    out.acquire_latency.merge(s.acquire_latency);
    out.wake_latency.merge(s.wake_latency);
  }
}

/// What a coroutine holder does inside its critical section (hold_mode).
inline csync::Task<void> coroutine_hold(hold_mode mode) {
  switch (mode) {
    case hold_mode::none: break;
    case hold_mode::yield: co_await csync::runtime::yield(); break;
    case hold_mode::timer: co_await csync::runtime::sleep_for(std::chrono::nanoseconds(0)); break;
  }
}

}  // namespace detail

// ---- waiting policies ------------------------------------------------------------

namespace waiting {

/// Makes a blocking call in await_ready() and never suspends.
template <class F>
struct blocking_call {
  F call;
  bool await_ready() {
    call();
    return true;
  }
  void await_suspend(std::coroutine_handle<>) const noexcept {}  // never called
  void await_resume() const noexcept {}
};
template <class F>
blocking_call(F) -> blocking_call<F>;

/// Thread waiters.
struct blocking {
  template <class Sem>
  static auto acquire(Sem& s, std::uint64_t n) {
    return blocking_call{[&s, n] { s.acquire(n); }};
  }
  template <class M>
  static auto lock(M& m) {
    return blocking_call{[&m] { m.lock(); }};
  }
  template <class Kit, class Pred>
  static auto wait(typename Kit::condvar_type& cv, typename Kit::mutex_type& m, Pred pred) {
    return blocking_call{[&cv, &m, pred] { Kit::wait(cv, m, pred); }};
  }
  /// A thread holder only burns its critical section.
  static std::suspend_never hold(hold_mode) noexcept { return {}; }
};

/// Coroutine waiters on csync loops.
struct suspending {
  template <class Sem>
  static auto acquire(Sem& s, std::uint64_t n) {
    return s.async_acquire(n);
  }
  template <class M>
  static auto lock(M& m) {
    return m.async_lock();
  }
  template <class Kit, class Pred>
  static auto wait(typename Kit::condvar_type& cv, typename Kit::mutex_type& m, Pred pred) {
    return cv.async_wait(m, pred);
  }
  static csync::Task<void> hold(hold_mode mode) { return detail::coroutine_hold(mode); }
};

}  // namespace waiting

// ---- running workers ---------------------------------------------------------------

namespace detail {

/// Runs a Task to completion on the calling thread (it never really
/// suspends under the blocking policy).
struct eager_driver {
  struct promise_type {
    eager_driver get_return_object() const noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
};

inline eager_driver drive(csync::Task<void> task) { co_await std::move(task); }

}  // namespace detail

/// Starts `workers` workers, `make_task(i)` each: as threads (p.waiters ==
/// threads, each driving its task) or as tasks on p.loops loops (task i on
/// loop i % loops, one thread per loop). Times the run (run_threads).
template <class MakeTask>
repetition_data run_workers(std::size_t workers, const cell_params& p, const run_control& ctl,
                            detail::shared_state& shared, std::vector<detail::worker_slot>& slots,
                            MakeTask make_task) {
  repetition_data out;
  const bool threads = p.waiters == waiter_kind::threads;
  std::vector<std::unique_ptr<csync::runtime::Loop>> loops;
  if (!threads) {
    for (std::uint32_t l = 0; l < p.loops; ++l) loops.push_back(std::make_unique<csync::runtime::Loop>());
    for (std::size_t t = 0; t < workers; ++t) loops[t % p.loops]->spawn(make_task(t));
  }
  const std::size_t os_threads = threads ? workers : loops.size();
  std::vector<thread_usage> usage(os_threads);
  out.elapsed_s = detail::run_threads(os_threads, shared, ctl, out, [&](std::size_t i) {
    const thread_usage before = thread_usage::now();
    if (threads) {
      detail::drive(make_task(i));
    } else {
      loops[i]->run();
    }
    usage[i] = thread_usage::now() - before;
  });
  detail::collect(out, slots);
  for (const auto& u : usage) out.usage += u;
  out.max_holders = shared.max_holders.load();
  out.violations = shared.violations.load();
  return out;
}

// ---- semaphore contention -------------------------------------------------------

template <class W, class Sem>
csync::Task<void> semaphore_worker(Sem& sem, const cell_params& p, const run_control& ctl,
                                   detail::shared_state& shared, detail::worker_slot& me) {
  const bool timed = ctl.duration_ns != 0;
  for (std::uint64_t i = 0; timed ? !shared.stopping() : i < ctl.operations; ++i) {
    const bool sample = i % ctl.sample_every == 0;
    const std::uint64_t t0 = sample ? now_ns() : 0;
    co_await W::acquire(sem, p.weight);
    if (sample) me.acquire_latency.record(now_ns() - t0);
    if (timed && shared.stopping()) {  // teardown: not counted
      sem.release(p.weight);
      break;
    }
    shared.enter(p.weight);
    burn_for(p.critical_section_ns);
    co_await W::hold(p.hold);
    shared.leave(p.weight);
    sem.release(p.weight);
    ++me.ops;
    burn_for(p.think_ns);
  }
}

template <class W, class Sem>
repetition_data semaphore_workload(Sem& sem, const cell_params& p, const run_control& ctl) {
  detail::shared_state shared(p.permits);
  shared.rescue = [&sem, &p] { detail::rescue_semaphore(sem, p.weight); };
  const std::size_t workers = p.waiters == waiter_kind::threads ? p.threads : p.tasks;
  std::vector<detail::worker_slot> slots(workers);
  return run_workers(workers, p, ctl, shared, slots, [&](std::size_t w) {
    return semaphore_worker<W>(sem, p, ctl, shared, slots[w]);
  });
}

// ---- ping-pong --------------------------------------------------------------------

/// One direction of a ping-pong pair: a 0-permit semaphore plus the time its
/// last release was stamped (written before release(), read after acquire:
/// the semaphore orders the two).
template <class Sem>
struct channel {
  Sem* sem = nullptr;  ///< 0 permits; owned by the caller of make_sem
  std::atomic<std::uint64_t> sent_at{0};
  std::atomic<bool> closing{false};

  void send() {
    // relaxed: the release() below publishes it to the acquirer.
    sent_at.store(now_ns(), std::memory_order_relaxed);
    sem->release(1);
  }
  /// After an acquire on this channel: the one-way latency of that wake.
  void record_wake(detail::worker_slot& me, bool sample) const {
    if (sample) me.wake_latency.record(now_ns() - sent_at.load(std::memory_order_relaxed));
  }
};

template <class Sem>
struct pingpong_pair {
  channel<Sem> ping, pong;
};

template <class W, class Sem>
csync::Task<void> pingpong_worker(pingpong_pair<Sem>& pair, bool initiator, const run_control& ctl,
                                  detail::shared_state& shared, detail::worker_slot& me) {
  const bool timed = ctl.duration_ns != 0;
  if (initiator) {  // counts round trips
    for (std::uint64_t i = 0; timed ? !shared.stopping() : i < ctl.operations; ++i) {
      const bool sample = i % ctl.sample_every == 0;
      pair.ping.send();
      const std::uint64_t t0 = sample ? now_ns() : 0;
      co_await W::acquire(*pair.pong.sem, 1);
      if (sample) me.acquire_latency.record(now_ns() - t0);
      pair.pong.record_wake(me, sample);
      ++me.ops;
    }
    pair.ping.closing.store(true, std::memory_order_relaxed);  // published by release()
    pair.ping.sem->release(1);
  } else {
    for (std::uint64_t i = 0;; ++i) {
      co_await W::acquire(*pair.ping.sem, 1);
      if (pair.ping.closing.load(std::memory_order_relaxed)) break;
      pair.ping.record_wake(me, i % ctl.sample_every == 0);
      pair.pong.send();
    }
  }
}

/// Pairs of workers (threads / 2 or tasks / 2, at least one pair); workers
/// 2k and 2k+1 form pair k (on loops 2k % loops and (2k+1) % loops).
template <class W, class Sem, class MakeSem>
repetition_data pingpong_workload(MakeSem& make_sem, const cell_params& p, const run_control& ctl) {
  const std::uint32_t parties = p.waiters == waiter_kind::threads ? p.threads : p.tasks;
  const std::size_t pairs = std::max<std::uint32_t>(1, parties / 2);
  std::vector<std::unique_ptr<pingpong_pair<Sem>>> pair_state;
  for (std::size_t i = 0; i < pairs; ++i) {
    auto pair = std::make_unique<pingpong_pair<Sem>>();
    pair->ping.sem = make_sem(0);
    pair->pong.sem = make_sem(0);
    pair_state.push_back(std::move(pair));
  }
  detail::shared_state shared(1);
  shared.rescue = [&pair_state] {
    for (auto& pair : pair_state) {
      detail::rescue_semaphore(*pair->ping.sem, 1);
      detail::rescue_semaphore(*pair->pong.sem, 1);
    }
  };
  std::vector<detail::worker_slot> slots(pairs * 2);
  repetition_data out = run_workers(pairs * 2, p, ctl, shared, slots, [&](std::size_t w) {
    return pingpong_worker<W>(*pair_state[w / 2], w % 2 == 0, ctl, shared, slots[w]);
  });
  // Round trips are counted by initiators (even slots): fairness is over pairs.
  out.ops_per_worker.clear();
  for (std::size_t i = 0; i < slots.size(); i += 2) out.ops_per_worker.push_back(slots[i].ops);
  return out;
}

}  // namespace csync::bench
