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
//              hold_mode) -> release(weight) -> think (burn think_ns; in an
//              open loop, instead, wait for the next intended start).
//              Measures the wait inside acquire.
//   pingpong   pairs of parties wake each other through two semaphores of 0
//              permits. A sampled sender stamps the time just before
//              release(); the receiver reads the clock as soon as its acquire
//              returns: the one-way wake latency (both directions). Round
//              trips are counted, not timed (1 / throughput).
//
// Every cell runs the same code in three kinds of run (run_mode), whatever
// the strategy or peer:
//   throughput  no clock read per operation, no checker: what an operation
//               costs. Throughput, fairness, CPU and switches come from here.
//   latency     the same loop, timing the operations an op_sampler chooses
//               (one mean rate per parameter point, the cell's
//               latency_sample_every): the end of a wait is read as soon as
//               it ends, and the histogram bump (one per OS thread) waits
//               until the permit is released again.
//   diagnostic  the exclusion checker (holders counted in shared_state) and,
//               for csync strategies, the statistics hook (catalog.cpp).
//
// Each workload's worker is written once, as a coroutine over a waiting
// policy: `blocking` (thread waiters: every awaitable makes the blocking call
// in await_ready and never suspends, so the coroutine runs straight through
// on its thread) or `suspending` (coroutine waiters on loops: the async API).
// `run_workers` starts them as threads or as tasks on `loops` loops.
//
// The measured window runs from the start line to the stop signal. A wait
// that ends after the stop is censored: it is neither an operation nor a
// histogram sample, only counted (and, if it was timed, its age kept), so
// waiters woken because others are leaving inflate nothing. CPU and context
// switches are read by the controller at the window's two edges.
// Hangs: a worker still blocked long after the stop (a lost wake-up in the
// primitive under test -- libstdc++ 12's std::counting_semaphore does this,
// see docs/peers.md) would hang the harness. The controller waits a grace
// period, then calls the workload's `rescue` (extra releases, notify_all) until
// every worker is out, and reports how many were stuck; the cell then fails.
// -----------------------------------------------------------------------------
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
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
#include "platform.hpp"
#include "scenario.hpp"

namespace csync::bench {

/// What a run measures (see the file comment).
enum class run_mode { throughput, latency, diagnostic };

/// How a repetition is run (the cell's parameters say what is run).
struct run_control {
  run_mode mode = run_mode::throughput;
  std::uint64_t duration_ns = 0;  ///< timed run; 0: `operations` per worker
  std::uint64_t operations = 0;
  std::uint32_t sample_every = 64;  ///< latency runs: mean operations between timed ones
  std::uint64_t seed = 0;           ///< of the samplers and the arrival schedules
  const std::atomic<bool>* interrupted = nullptr;  ///< SIGINT: end the run early
  std::vector<int> cpus;  ///< pin worker thread i to cpus[i % size]; empty: no pinning
  /// Coroutine cells of a fiber peer (peers_fiber.hpp): each loop's thread
  /// makes its tasks' bodies fibers with this, before the start line (they
  /// run only once it calls the join it gets back), instead of a csync Loop.
  std::function<std::function<void()>(std::vector<std::function<void()>>)> launch_fibers;

  bool times_operations() const noexcept { return mode == run_mode::latency; }
  bool checks_exclusion() const noexcept { return mode == run_mode::diagnostic; }
  bool timed() const noexcept { return duration_ns != 0; }
};

/// Pins the calling thread to `cpu` (best effort: a refused pin leaves it free).
void pin_current_thread(int cpu) noexcept;

/// The raw measurements of one repetition.
struct repetition_data {
  double elapsed_s = 0;
  std::vector<std::uint64_t> ops_per_worker;
  /// Latency runs: each worker's longest timed wait, censored timed ones
  /// included, in ns (only the waits the sampler chose).
  std::vector<std::uint64_t> max_wait_ns_per_worker;
  /// Timed runs: each worker's longest time without completing an operation,
  /// in ns, as the controller saw it (polling every worker's count every
  /// ~1 ms, so at ~1 ms resolution), the stretch still open at the stop
  /// included: a worker starved for the whole window shows the window.
  std::vector<std::uint64_t> longest_stall_ns_per_worker;
  latency_histogram acquire_latency;
  latency_histogram wake_latency;  ///< pingpong; broadcast: the first waiter of a round
  latency_histogram herd_latency;  ///< broadcast: the last waiter of a round
  latency_histogram reacquire_latency;  ///< broadcast: one waiter's release to the next's return
  std::uint64_t censored_waits = 0;  ///< waits that ended after the stop; open loops: and
                                     ///< arrivals due before it that never started
  std::uint64_t censored_timed = 0;  ///< of those, timed ones (latency runs)
  /// The oldest censored wait's age at the stop (every run: from the stall
  /// monitor; open loops: the oldest unstarted arrival's lateness).
  std::uint64_t censored_max_age_ns = 0;
  window_usage usage;                      ///< summed over every worker thread
  std::uint64_t burnt_ns = 0;  ///< busy work the workload asked for (cs, think, arrival waits)
  std::uint64_t max_holders = 0;   ///< diagnostic runs
  std::uint64_t violations = 0;    ///< diagnostic runs: holders > permits observed
  std::uint64_t stuck_workers = 0; ///< still blocked a grace period after the stop
  bool interrupted = false;

  std::uint64_t ops() const noexcept {
    std::uint64_t n = 0;
    for (std::uint64_t x : ops_per_worker) n += x;
    return n;
  }
  std::uint64_t starved() const noexcept {
    return static_cast<std::uint64_t>(std::count(ops_per_worker.begin(), ops_per_worker.end(), 0u));
  }
};

namespace detail {

/// Histograms of one OS thread (a worker thread, or a loop's thread shared by
/// its tasks): recording never touches another thread's cache lines.
struct alignas(128) thread_slot {
  latency_histogram acquire_latency;
  latency_histogram wake_latency;
  latency_histogram herd_latency;
  latency_histogram reacquire_latency;
};

/// Per-worker results, padded so workers do not share cache lines.
struct alignas(128) worker_slot {
  /// Written by the worker only; read by the controller's stall monitor
  /// (relaxed both ways: a progress indicator, ordered by nothing else).
  std::atomic<std::uint64_t> ops{0};
  std::uint64_t burnt_ns = 0;
  std::uint64_t max_wait_ns = 0;
  std::uint64_t censored = 0;
  std::uint64_t censored_timed = 0;
  std::uint64_t censored_max_age_ns = 0;
  std::uint64_t longest_stall_ns = 0;   ///< the controller's (timed runs)
  std::uint64_t stall_at_stop_ns = 0;   ///< the controller's (timed runs)
  op_sampler sampler;               ///< never chooses outside latency runs
  thread_slot* thread = nullptr;    ///< the histograms of the OS thread it runs on

  /// One more operation done (a role that counts none of the cell's
  /// operations -- a producer, a pingpong responder, the notifier -- counts
  /// its own, for the stall monitor; the workload leaves them out of the
  /// cell's counts).
  void count_op() noexcept {
    ops.store(ops.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  void burn(std::uint64_t ns) noexcept {
    burn_for(ns);
    burnt_ns += ns;
  }
  /// Pingpong: a timed one-way wake of `ns` that ended inside the window.
  void record_wake(std::uint64_t ns) noexcept {
    thread->wake_latency.record(ns);
    max_wait_ns = std::max(max_wait_ns, ns);
  }
  /// A timed wait of `ns` that ended inside the window.
  void record_wait(std::uint64_t ns) noexcept {
    thread->acquire_latency.record(ns);
    max_wait_ns = std::max(max_wait_ns, ns);
  }
  /// A wait that ended after the stop: `age` is its length if it was timed.
  void censor(bool timed, std::uint64_t age) noexcept {
    ++censored;
    if (!timed) return;
    ++censored_timed;
    max_wait_ns = std::max(max_wait_ns, age);
  }
  /// Open loops: an arrival due `late` ns before the worker left that never
  /// started (the backlog of a worker behind its schedule).
  void censor_unstarted(std::uint64_t late) noexcept {
    ++censored;
    censored_max_age_ns = std::max(censored_max_age_ns, late);
  }
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

  // The exclusion checker: called only in diagnostic runs (its shared-line
  // RMWs inside the critical section would distort a measurement).
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

/// The start line: `workers` threads wait at it until the controller, once
/// it knows every one of them is waiting, has run something (read their CPU
/// meters) and opens it. Not std::barrier: libstdc++ 12 builds it on
/// std::atomic::wait, whose notify does not take the waiter pool's lock where
/// there is no futex to wait on (mingw-w64), so a wake-up can be lost --
/// observed under Wine, with workers that never started. A mutex and a
/// condition variable cannot lose it.
class start_gate {
 public:
  explicit start_gate(std::size_t workers) : workers_(workers) {}
  /// A worker: waits until the gate opens.
  void wait_for_opening() {
    std::unique_lock lock(mutex_);
    if (++waiting_ == workers_) all_waiting_.notify_one();
    opened_cv_.wait(lock, [this] { return opened_; });
  }
  /// The controller: waits until every worker waits, runs `before_opening`,
  /// then opens the gate.
  template <class F>
  void open_when_all_wait(F before_opening) {
    std::unique_lock lock(mutex_);
    all_waiting_.wait(lock, [this] { return waiting_ == workers_; });
    before_opening();
    opened_ = true;
    opened_cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable all_waiting_;
  std::condition_variable opened_cv_;
  const std::size_t workers_;
  std::size_t waiting_ = 0;  ///< guarded by mutex_
  bool opened_ = false;      ///< guarded by mutex_
};

/// A window's edge: every worker thread's CPU clock, read in one quick sweep,
/// and (separately, after it) their context-switch counts.
struct window_edge {
  std::vector<std::uint64_t> cpu_ns;
  std::vector<platform::thread_times> switches;
};

inline window_usage usage_between(const window_edge& start, const window_edge& end) {
  window_usage u;
  for (std::size_t i = 0; i < start.cpu_ns.size(); ++i) {
    u.cpu_ns += end.cpu_ns[i] - start.cpu_ns[i];
    const platform::thread_times& a = start.switches[i];
    const platform::thread_times& b = end.switches[i];
    const bool known = a.voluntary_switches && b.voluntary_switches && a.involuntary_switches &&
                       b.involuntary_switches;
    u.switches_known = u.switches_known && known;
    if (known) {
      u.voluntary_switches += *b.voluntary_switches - *a.voluntary_switches;
      u.involuntary_switches += *b.involuntary_switches - *a.involuntary_switches;
    }
  }
  if (!u.switches_known) u.voluntary_switches = u.involuntary_switches = 0;
  return u;
}

/// The controller's view of the workers' progress: every ~1 ms it reads each
/// worker's operation count and keeps, per worker, the longest stretch
/// without a new operation (the stretch open at the stop included).
class stall_monitor {
 public:
  explicit stall_monitor(std::vector<worker_slot>& slots)
      : slots_(slots), seen_(slots.size(), 0), since_(slots.size(), 0) {}
  void start(std::uint64_t now) { std::fill(since_.begin(), since_.end(), now); }
  void poll(std::uint64_t now) {
    for (std::size_t w = 0; w < slots_.size(); ++w) {
      const std::uint64_t ops = slots_[w].ops.load(std::memory_order_relaxed);
      if (ops != seen_[w]) {
        seen_[w] = ops;
        since_[w] = now;
      } else {
        slots_[w].longest_stall_ns = std::max(slots_[w].longest_stall_ns, now - since_[w]);
      }
    }
  }
  void stop(std::uint64_t now) {
    poll(now);
    for (std::size_t w = 0; w < slots_.size(); ++w) slots_[w].stall_at_stop_ns = now - since_[w];
  }

 private:
  std::vector<worker_slot>& slots_;
  std::vector<std::uint64_t> seen_, since_;
};

/// Runs `body(i)` on `n` threads started together (each first runs
/// `before_start(i)`, if given, outside the window); times the run: for a timed
/// run the controller polls the workers' progress (stall_monitor) for
/// `duration_ns` (or until interrupted) and raises stop; otherwise the run
/// ends when every thread finished. The workers' CPU and switches are read at
/// the window's edges: by the controller while they wait at the start line
/// and just before the stop (timed runs; the CPU clocks in one quick sweep
/// first, the switch counts after the stop), by each worker as its body
/// returns (counted runs).
template <class Body>
double run_threads(std::size_t n, shared_state& shared, const run_control& ctl,
                   repetition_data& out, std::vector<worker_slot>& slots, Body body,
                   const std::function<void(std::size_t)>& before_start = {}) {
  start_gate start(n);
  std::vector<platform::thread_meter> meters(n);
  window_edge at_start{std::vector<std::uint64_t>(n), std::vector<platform::thread_times>(n)};
  window_edge at_end = at_start;
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      if (!ctl.cpus.empty()) pin_current_thread(ctl.cpus[i % ctl.cpus.size()]);
      meters[i] = platform::thread_meter::of_current_thread();  // published by the gate's mutex
      if (before_start) before_start(i);  // outside the window
      start.wait_for_opening();
      body(i);
      if (!ctl.timed()) {
        at_end.cpu_ns[i] = meters[i].read_cpu_ns();
        at_end.switches[i] = meters[i].read_switches();
      }
      shared.finished.fetch_add(1, std::memory_order_release);  // see await_finish
    });
  }
  bench_clock::time_point t0;
  start.open_when_all_wait([&] {
    for (std::size_t i = 0; i < n; ++i) at_start.switches[i] = meters[i].read_switches();
    for (std::size_t i = 0; i < n; ++i) at_start.cpu_ns[i] = meters[i].read_cpu_ns();
    // The window starts before any worker can: taken after the gate opens, a
    // descheduled controller would start it late (seen under Wine: a counted
    // run "took" a third of its schedule).
    t0 = bench_clock::now();
  });
  auto stopped = t0;
  if (ctl.timed()) {
    stall_monitor progress(slots);
    progress.start(static_cast<std::uint64_t>(  // the window's start, in now_ns()'s terms
        std::chrono::duration_cast<std::chrono::nanoseconds>(t0.time_since_epoch()).count()));
    const auto until = t0 + std::chrono::nanoseconds(ctl.duration_ns);
    while (bench_clock::now() < until) {
      if (ctl.interrupted && ctl.interrupted->load(std::memory_order_relaxed)) {
        out.interrupted = true;
        break;
      }
      std::this_thread::sleep_for(
          std::min<bench_clock::duration>(until - bench_clock::now(), std::chrono::milliseconds(1)));
      progress.poll(now_ns());
    }
    for (std::size_t i = 0; i < n; ++i) at_end.cpu_ns[i] = meters[i].read_cpu_ns();
    stopped = bench_clock::now();
    shared.stop.store(true, std::memory_order_relaxed);
    progress.stop(now_ns());
    for (std::size_t i = 0; i < n; ++i) at_end.switches[i] = meters[i].read_switches();
    // Teardown takes at most a few operations; allow far more.
    const auto grace = std::max<bench_clock::duration>(std::chrono::seconds(2),
                                                       4 * std::chrono::nanoseconds(ctl.duration_ns));
    await_finish(n, shared, grace, out.stuck_workers);
  }
  for (std::thread& t : threads) t.join();
  if (!ctl.timed()) stopped = bench_clock::now();
  out.usage = usage_between(at_start, at_end);
  return std::chrono::duration<double>(stopped - t0).count();
}

/// The worker slots of a run: samplers seeded per worker (latency runs
/// only), each pointing at the histograms of the OS thread it runs on.
inline std::vector<worker_slot> make_slots(std::size_t workers, std::vector<thread_slot>& threads,
                                           const run_control& ctl) {
  std::vector<worker_slot> slots(workers);
  for (std::size_t w = 0; w < workers; ++w) {
    slots[w].thread = &threads[w % threads.size()];
    if (ctl.times_operations()) {
      slots[w].sampler = op_sampler(ctl.sample_every, ctl.seed * 0x100000001b3u + w);
    }
  }
  return slots;
}

inline void collect(repetition_data& out, const std::vector<worker_slot>& slots,
                    const std::vector<thread_slot>& threads, const run_control& ctl) {
  for (const worker_slot& s : slots) {
    out.ops_per_worker.push_back(s.ops.load(std::memory_order_relaxed));
    if (ctl.times_operations()) out.max_wait_ns_per_worker.push_back(s.max_wait_ns);
    if (ctl.timed()) out.longest_stall_ns_per_worker.push_back(s.longest_stall_ns);
    out.burnt_ns += s.burnt_ns;
    out.censored_waits += s.censored;
    out.censored_timed += s.censored_timed;
    out.censored_max_age_ns = std::max(out.censored_max_age_ns, s.censored_max_age_ns);
    // A censored wait began no later than the worker's last operation ended.
    if (s.censored != 0) out.censored_max_age_ns = std::max(out.censored_max_age_ns, s.stall_at_stop_ns);
  }
  for (const thread_slot& t : threads) {
    out.acquire_latency.merge(t.acquire_latency);
    out.wake_latency.merge(t.wake_latency);
    out.herd_latency.merge(t.herd_latency);
    out.reacquire_latency.merge(t.reacquire_latency);
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

/// Open loops: how long before an intended start a waiting worker stops
/// sleeping and spins (sleep and timer wake-ups are late by tens of µs).
inline constexpr std::uint64_t spin_window_ns = 50'000;

/// A blocking open-loop wait for the intended start `deadline_ns`, or until
/// `stop`: `sleep(d)` (at most 1 ms at a time) until the last
/// `spin_window_ns`, then `spin()` between clock reads.
template <class Sleep, class Spin>
void idle_until(std::uint64_t deadline_ns, const std::atomic<bool>& stop, Sleep sleep, Spin spin) {
  for (std::uint64_t now = now_ns(); now < deadline_ns; now = now_ns()) {
    if (stop.load(std::memory_order_relaxed)) return;
    const std::uint64_t left = deadline_ns - now;
    if (left > spin_window_ns) {
      sleep(std::chrono::nanoseconds(std::min<std::uint64_t>(left - spin_window_ns, 1'000'000)));
    } else {
      spin();
    }
  }
}

/// Open loop: a worker's intended start times, `rate` per second on average
/// (Poisson: exponential gaps; fixed: equal gaps, each worker at its own
/// random phase so that workers do not arrive in bursts), from its first
/// operation.
class arrival_schedule {
 public:
  arrival_schedule(const cell_params& p, std::uint64_t seed) noexcept
      : kind_(p.arrival), rng_(seed),
        mean_gap_ns_(p.arrival == arrival_kind::closed ? 0.0 : 1e9 / static_cast<double>(p.arrival_rate_per_s)) {}
  bool open() const noexcept { return kind_ != arrival_kind::closed; }
  /// The intended start of the next operation (open loops only).
  std::uint64_t next() noexcept {
    if (next_ns_ == 0) {
      next_ns_ = static_cast<double>(now_ns());
      if (kind_ == arrival_kind::fixed) next_ns_ -= uniform_open0(rng_) * mean_gap_ns_;  // phase
    }
    const double gap = kind_ == arrival_kind::poisson ? -std::log(uniform_open0(rng_)) * mean_gap_ns_
                                                      : mean_gap_ns_;
    next_ns_ += gap;
    return static_cast<std::uint64_t>(next_ns_);
  }
  /// At the worker's exit (`now`): every intended start before it that the
  /// worker never began -- its backlog -- goes to `me` as censored.
  template <class Slot>
  void censor_backlog(std::uint64_t now, Slot& me) noexcept {
    if (!open() || next_ns_ == 0) return;
    for (std::uint64_t due = next(); due < now; due = next()) me.censor_unstarted(now - due);
  }

 private:
  arrival_kind kind_;
  std::uint64_t rng_;
  double mean_gap_ns_;
  double next_ns_ = 0;
};

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
  /// Open loop: wait for the intended start -- asleep until the last
  /// `spin_window_ns`, spinning after -- or until `stop` is raised.
  static auto idle_until(std::uint64_t deadline_ns, const std::atomic<bool>& stop) {
    return blocking_call{[deadline_ns, &stop] {
      detail::idle_until(
          deadline_ns, stop, [](std::chrono::nanoseconds d) { std::this_thread::sleep_for(d); },
          [] {});  // a thread spins the last stretch
    }};
  }
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
  /// Open loop: wait for the intended start -- on a loop timer until the
  /// last `spin_window_ns`, then yielding to the loop's other tasks -- or
  /// until `stop` is raised.
  static csync::Task<void> idle_until(std::uint64_t deadline_ns, const std::atomic<bool>& stop) {
    for (std::uint64_t now = now_ns(); now < deadline_ns; now = now_ns()) {
      if (stop.load(std::memory_order_relaxed)) co_return;
      const std::uint64_t left = deadline_ns - now;
      if (left > detail::spin_window_ns) {
        co_await csync::runtime::sleep_for(std::chrono::nanoseconds(
            std::min<std::uint64_t>(left - detail::spin_window_ns, 1'000'000)));
      } else {
        co_await csync::runtime::yield();
      }
    }
  }
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

/// OS threads that run `workers` workers: one per worker, or one per loop.
inline std::size_t os_threads_for(std::size_t workers, const cell_params& p) {
  return p.waiters == waiter_kind::threads ? workers : std::min<std::size_t>(p.loops, workers);
}

}  // namespace detail

/// Starts `slots.size()` workers, `make_task(i)` each: as threads (p.waiters
/// == threads, each driving its task) or as tasks on p.loops loops (task i
/// on loop i % loops, one thread per loop; `threads` holds one slot per OS
/// thread) -- or, for a fiber peer (ctl.run_as_fibers), as fibers on those
/// threads, driven as thread waiters drive theirs. Times the run
/// (run_threads).
template <class MakeTask>
repetition_data run_workers(const cell_params& p, const run_control& ctl,
                            detail::shared_state& shared, std::vector<detail::worker_slot>& slots,
                            std::vector<detail::thread_slot>& threads, MakeTask make_task) {
  repetition_data out;
  const std::size_t workers = slots.size();
  const bool thread_waiters = p.waiters == waiter_kind::threads;
  const bool fibers = !thread_waiters && ctl.launch_fibers;
  std::vector<std::function<void()>> join_fibers(fibers ? threads.size() : 0);
  std::vector<std::unique_ptr<csync::runtime::Loop>> loops;
  if (!thread_waiters && !fibers) {
    for (std::size_t l = 0; l < threads.size(); ++l) {
      loops.push_back(std::make_unique<csync::runtime::Loop>());
    }
    for (std::size_t t = 0; t < workers; ++t) loops[t % loops.size()]->spawn(make_task(t));
  }
  // Fibers are made on their own thread before the start line (their
  // stacks allocated, not yet running), as a Loop's tasks are spawned
  // before it: task t on thread t % threads, as a loop would hold it.
  const auto make_fibers = [&](std::size_t i) {
    std::vector<std::function<void()>> bodies;
    for (std::size_t t = i; t < workers; t += threads.size()) {
      bodies.emplace_back([&make_task, t] { detail::drive(make_task(t)); });
    }
    join_fibers[i] = ctl.launch_fibers(std::move(bodies));
  };
  out.elapsed_s = detail::run_threads(
      threads.size(), shared, ctl, out, slots,
      [&](std::size_t i) {
        if (thread_waiters) {
          detail::drive(make_task(i));
        } else if (fibers) {
          join_fibers[i]();
        } else {
          loops[i]->run();
        }
      },
      fibers ? std::function<void(std::size_t)>(make_fibers) : std::function<void(std::size_t)>());
  detail::collect(out, slots, threads, ctl);
  out.max_holders = shared.max_holders.load();
  out.violations = shared.violations.load();
  return out;
}

/// The slots of a run of `workers` workers (see run_workers).
struct run_slots {
  run_slots(std::size_t workers, const cell_params& p, const run_control& ctl)
      : threads(detail::os_threads_for(workers, p)), workers(detail::make_slots(workers, threads, ctl)) {}
  std::vector<detail::thread_slot> threads;
  std::vector<detail::worker_slot> workers;
};

// ---- semaphore contention -------------------------------------------------------

template <class W, class Sem>
csync::Task<void> semaphore_worker(Sem& sem, const cell_params& p, const run_control& ctl,
                                   detail::shared_state& shared, detail::worker_slot& me,
                                   std::uint64_t arrival_seed) {
  detail::arrival_schedule arrivals(p, arrival_seed);
  for (std::uint64_t i = 0; ctl.timed() ? !shared.stopping() : i < ctl.operations; ++i) {
    const bool timed_op = me.sampler.next();
    std::uint64_t start = 0;
    if (arrivals.open()) {  // latency from the intended start, however late we are
      start = arrivals.next();
      co_await W::idle_until(start, shared.stop);
      if (ctl.timed() && shared.stopping()) {
        if (const std::uint64_t now = now_ns(); start < now) me.censor_unstarted(now - start);
        break;
      }
    } else if (timed_op) {
      start = now_ns();
    }
    co_await W::acquire(sem, p.weight);
    const std::uint64_t end = timed_op ? now_ns() : 0;
    if (ctl.timed() && shared.stopping()) {  // ended after the window: censored
      me.censor(timed_op, end - start);
      sem.release(p.weight);
      break;
    }
    if (ctl.checks_exclusion()) shared.enter(p.weight);
    me.burn(p.critical_section_ns);
    co_await W::hold(p.hold);
    if (ctl.checks_exclusion()) shared.leave(p.weight);
    sem.release(p.weight);
    if (timed_op) me.record_wait(end - start);  // off the serialized path
    me.count_op();
    me.burn(p.think_ns);
  }
  if (ctl.timed()) arrivals.censor_backlog(now_ns(), me);
}

template <class W, class Sem>
repetition_data semaphore_workload(Sem& sem, const cell_params& p, const run_control& ctl) {
  detail::shared_state shared(p.permits);
  shared.rescue = [&sem, &p] { detail::rescue_semaphore(sem, p.weight); };
  run_slots slots(p.waiters == waiter_kind::threads ? p.threads : p.tasks, p, ctl);
  return run_workers(p, ctl, shared, slots.workers, slots.threads, [&](std::size_t w) {
    return semaphore_worker<W>(sem, p, ctl, shared, slots.workers[w], ctl.seed ^ (0xa5a5u + w));
  });
}

// ---- ping-pong --------------------------------------------------------------------

/// One direction of a ping-pong pair: a 0-permit semaphore plus the stamp of
/// its last message (0: not timed), written before release() and read after
/// acquire: the semaphore orders the two.
template <class Sem>
struct channel {
  Sem* sem = nullptr;  ///< 0 permits; owned by the caller of make_sem
  std::atomic<std::uint64_t> sent_at{0};
  std::atomic<bool> closing{false};

  /// `stamp`: now_ns() read just before, or 0 for an untimed message.
  void send(std::uint64_t stamp) {
    // relaxed: the release() below publishes it to the acquirer.
    sent_at.store(stamp, std::memory_order_relaxed);
    sem->release(1);
  }
  std::uint64_t stamp() const noexcept { return sent_at.load(std::memory_order_relaxed); }
};

template <class Sem>
struct pingpong_pair {
  channel<Sem> ping, pong;
};

/// Only one-way wakes are timed: a party reads the clock as soon as its
/// acquire returns and records before it stamps and sends the next message,
/// so no span holds either party's recording. (A timed round trip would hold
/// the partner's; the round trip is 1 / throughput.)
template <class W, class Sem>
csync::Task<void> pingpong_worker(pingpong_pair<Sem>& pair, bool initiator, const run_control& ctl,
                                  detail::shared_state& shared, detail::worker_slot& me) {
  if (initiator) {  // counts round trips
    for (std::uint64_t i = 0; ctl.timed() ? !shared.stopping() : i < ctl.operations; ++i) {
      pair.ping.send(me.sampler.next() ? now_ns() : 0);
      co_await W::acquire(*pair.pong.sem, 1);
      const std::uint64_t stamp = pair.pong.stamp();
      const std::uint64_t end = stamp ? now_ns() : 0;
      if (ctl.timed() && shared.stopping()) {
        me.censor(stamp != 0, end - stamp);
        break;
      }
      if (stamp) me.record_wake(end - stamp);
      me.count_op();
    }
    pair.ping.closing.store(true, std::memory_order_relaxed);  // published by release()
    pair.ping.sem->release(1);
  } else {
    for (;;) {
      co_await W::acquire(*pair.ping.sem, 1);
      if (pair.ping.closing.load(std::memory_order_relaxed)) break;
      const std::uint64_t stamp = pair.ping.stamp();
      const std::uint64_t end = stamp ? now_ns() : 0;
      if (ctl.timed() && shared.stopping()) {
        me.censor(stamp != 0, end - stamp);
      } else if (stamp) {
        me.record_wake(end - stamp);
      }
      me.count_op();  // a reply: for the stall monitor (the pair's count is the initiator's)
      pair.pong.send(me.sampler.next() ? now_ns() : 0);
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
  run_slots slots(pairs * 2, p, ctl);
  repetition_data out = run_workers(p, ctl, shared, slots.workers, slots.threads, [&](std::size_t w) {
    return pingpong_worker<W>(*pair_state[w / 2], w % 2 == 0, ctl, shared, slots.workers[w]);
  });
  // Round trips are counted by initiators (even slots): fairness is over pairs.
  out.ops_per_worker.clear();
  out.max_wait_ns_per_worker.clear();
  out.longest_stall_ns_per_worker.clear();
  for (std::size_t i = 0; i < slots.workers.size(); i += 2) {
    out.ops_per_worker.push_back(slots.workers[i].ops.load(std::memory_order_relaxed));
    if (ctl.times_operations()) out.max_wait_ns_per_worker.push_back(slots.workers[i].max_wait_ns);
    if (ctl.timed()) out.longest_stall_ns_per_worker.push_back(slots.workers[i].longest_stall_ns);
  }
  return out;
}

}  // namespace csync::bench
