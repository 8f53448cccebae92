// tests/support/waiter_kinds.hpp -- test harness, never installed.
// -----------------------------------------------------------------------------
// The waiter kinds the conformance and stress suites are typed over, and the
// machinery around them, so that every test body is written once.
//
// A worker is a csync::Task<void> that waits through its kind K:
//
//   co_await K::acquire(sem, n);          co_await K::lock(m);
//   co_await K::wait(cv, m, pred);        co_await K::pause();
//   bool b = co_await K::try_acquire_for(sem, n, d);   // also try_lock_for, wait_for
//   bool b = co_await K::acquire_cancellable(sem, n, slot);  // lock_/wait_cancellable
//
// and N workers run to completion with K::run(N, make_task) (or K::start(...)
// returning a `group` to join later, while the test thread acts as controller).
//
//   threads            each worker is an OS thread driving its task
//                      synchronously: the awaitables make the *blocking* call
//                      (sem.acquire, m.lock, cv.wait(m, pred) on the csync::Mutex
//                      itself, try_acquire_for, ...) in await_ready() and never
//                      suspend; pause() is std::this_thread::yield().
//   coroutines_1loop   every worker is a task on one Loop (one thread); the
//                      awaitables are the async API (async_acquire, async_lock,
//                      async_wait); pause() is runtime::yield().
//   coroutines_Nloops  the same, workers round-robin over 3 Loops on 3 threads.
//
// Timed waits for coroutines are the library's async_acquire_for,
// async_try_lock_for and async_wait_for (a loop timer, or the strategy's own
// deadline: uring_futex's LINK_TIMEOUT).
// `*_cancellable(..., cancel_slot&)`: coroutines wait with a token from the
// slot, which any thread may `fire()`; threads (which have no stop_token API)
// use the slot's short timeout instead.
//
// Hangs: every group runs under a watchdog. If the workers have not finished
// by the deadline (`watchdog_budget()`), it prints the test's name and what it
// was waiting for, then std::abort()s -- a hang is a lost wakeup (or a
// deadlock), and CI must say so instead of running into the CTest timeout.
// `spin_until(pred, what)` is the controller's bounded poll, same message.
// All worker threads of a group wait at a start line and start together.
//
// Instrumentation: `probe<S>` wraps a strategy and counts registrations (the
// deterministic way to know that a waiter is queued before starting the
// next); hooks run at each registration, on entry to notify, and after each
// notify-visitor decision (to place another party's step exactly between a
// wake decision and the woken waiter's retry). `hold_until_queued` keeps the
// first holder in its critical section until somebody registered, so a
// contention test reaches the slow path whatever the schedule.
// `chaos_canceller` fires random cancel slots from a foreign thread.
// `hook_jitter()` is a random short pause for those hooks (perturbation at
// the points that matter, in every build); `sched::` shapes the schedule
// where no hook can reach (every party on one CPU, the caller at
// SCHED_IDLE, so each wake it issues runs the woken thread at once). Counters
// that tests bump inside critical sections are relaxed on purpose: a seq_cst
// RMW there would create the happens-before edge the primitive is supposed to
// provide and hide a missing one from ThreadSanitizer.
//
// The matrix: `family<basic_<name>>` names a strategy template (public alias
// with no_stats, counting variant); `combo<family, kind>` is one typed-test
// parameter (S, CS, PS = probe<CS>, K, and `rounds(n)` to size loops);
// `kinds_for<family>` lists the three kinds for one strategy, so each suite
// instantiates once per strategy under #if defined(CSYNC_HAVE_<NAME>).
// -----------------------------------------------------------------------------
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <csync/csync.hpp>
#include <csync/detail/cpu_relax.hpp>
// Kernel strategies, when the tree has them (each defines CSYNC_HAVE_<NAME>
// only where its mechanism exists; the suites instantiate under #if).
#if __has_include(<csync/strategies/futex.hpp>)
#include <csync/strategies/futex.hpp>
#endif
#if __has_include(<csync/strategies/uring_futex.hpp>)
#include <csync/strategies/uring_futex.hpp>
#endif
#if __has_include(<csync/strategies/iocp.hpp>)
#include <csync/strategies/iocp.hpp>
#endif
#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#endif

// --- build flavour -------------------------------------------------------------
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CSYNC_TEST_TSAN 1
#endif
#if __has_feature(address_sanitizer)
#define CSYNC_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define CSYNC_TEST_TSAN 1
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CSYNC_TEST_ASAN 1
#endif

namespace csync_test {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

#if defined(CSYNC_TEST_TSAN)
inline constexpr bool under_tsan = true;
#else
inline constexpr bool under_tsan = false;
#endif
#if defined(CSYNC_TEST_ASAN)
inline constexpr bool under_asan = true;
#else
inline constexpr bool under_asan = false;
#endif
inline constexpr bool sanitized = under_tsan || under_asan;
#if defined(CSYNC_SCHEDULE_PERTURBATION) && CSYNC_SCHEDULE_PERTURBATION
inline constexpr bool perturbed = true;
#else
inline constexpr bool perturbed = false;
#endif

/// The group start line. Not std::latch on Windows: libstdc++ 12's latch
/// waits with std::atomic::wait, whose notify skips the waiter pool's lock
/// where there is no futex (mingw-w64), so the release can be lost --
/// observed under Wine as workers that never start. A mutex and a
/// condition variable cannot lose it.
#if defined(_WIN32)
class start_latch {
 public:
  explicit start_latch(std::ptrdiff_t count) : count_(count) {}
  void count_down() {
    std::lock_guard lock(mutex_);
    if (--count_ == 0) cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return count_ <= 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::ptrdiff_t count_;  ///< guarded by mutex_
};
#else
using start_latch = std::latch;
#endif

/// Iteration counts are sized for the Release build; sanitizers divide them
/// (TSan runs these mostly-blocking workloads 3-10x slower on 2 cores).
constexpr std::size_t scaled(std::size_t n, std::size_t tsan_divisor = 4,
                             std::size_t asan_divisor = 2) {
  const std::size_t d = under_tsan ? tsan_divisor : under_asan ? asan_divisor : 1;
  return std::max<std::size_t>(1, n / d);
}

/// How long a group of workers may run before the watchdog calls it a hang;
/// env CSYNC_TEST_WATCHDOG_SECONDS overrides (scripts/perturbation-mutants.sh
/// shortens it to count hangs quickly).
inline std::chrono::nanoseconds watchdog_budget() {
  if (const char* text = std::getenv("CSYNC_TEST_WATCHDOG_SECONDS"); text && *text) {
    if (const long seconds = std::strtol(text, nullptr, 10); seconds > 0) {
      return std::chrono::seconds(seconds);
    }
  }
  return sanitized || perturbed ? 120s : 30s;
}

inline std::string current_test_name() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (!info) return "(no test)";
  return std::string(info->test_suite_name()) + "." + info->name();
}

[[noreturn]] inline void report_hang(const std::string& what, std::chrono::nanoseconds budget) {
  std::fprintf(stderr,
               "\n*** csync test watchdog: %s did not finish within %.1f s -- a lost wakeup "
               "or a deadlock. Aborting.\n",
               what.c_str(), std::chrono::duration<double>(budget).count());
  std::fflush(stderr);
  std::abort();
}

/// Aborts the process with a message if not disarmed (destroyed) in time.
class watchdog {
 public:
  explicit watchdog(std::string what, std::chrono::nanoseconds budget = watchdog_budget())
      : what_(current_test_name() + " [" + std::move(what) + "]"), budget_(budget) {
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!cv_.wait_for(lock, budget_, [this] { return done_; })) report_hang(what_, budget_);
    });
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;
  ~watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  std::string what_;
  std::chrono::nanoseconds budget_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

/// Polls `done` (with short sleeps) until it holds; aborts like the watchdog
/// if it does not within the budget. For the controlling test thread.
template <class Pred>
void spin_until(Pred done, const char* what, std::chrono::nanoseconds budget = watchdog_budget()) {
  const auto deadline = steady::now() + budget;
  auto nap = std::chrono::microseconds(20);
  while (!done()) {
    if (steady::now() > deadline) report_hang(current_test_name() + " [" + what + "]", budget);
    std::this_thread::sleep_for(nap);
    nap = std::min<std::chrono::microseconds>(nap * 2, 1ms);
  }
}

// --- schedule shaping ------------------------------------------------------------------

/// For the one kind of interleaving no probe hook can place: "every party
/// that this call wakes runs to completion before the caller takes its next
/// step" (the step after the hook points, e.g. a re-lock after a delivery).
/// The parties pin themselves to one CPU with `pin_to_shared_cpu()` and the
/// caller, on a thread of its own, also pins itself and calls
/// `yield_to_everyone()` (SCHED_IDLE): the kernel preempts an idle-policy
/// thread for any normal thread that wakes on its CPU, so each wake it issues
/// switches to the woken thread at once. Shaping only: no pass/fail logic
/// depends on it, and where it is unavailable (not Linux, or refused) both
/// calls do nothing and the test runs on the natural schedule.
namespace sched {

/// The first CPU the process may run on (the main thread's mask: never pinned here).
inline int shared_cpu() noexcept {
#if defined(__linux__)
  static const int cpu = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(getpid(), sizeof set, &set) != 0) return -1;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) return c;
    }
    return -1;
  }();
  return cpu;
#else
  return -1;
#endif
}

/// Pins the calling thread to shared_cpu(); true if it is now pinned.
inline bool pin_to_shared_cpu() noexcept {
#if defined(__linux__)
  const int cpu = shared_cpu();
  if (cpu < 0) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;  // 0: the calling thread
#else
  return false;
#endif
}

/// Gives the calling thread the idle scheduling policy, for good (only on a
/// thread made for the purpose). true if it took effect.
inline bool yield_to_everyone() noexcept {
#if defined(__linux__) && defined(SCHED_IDLE)
  sched_param param{};
  param.sched_priority = 0;
  return pthread_setschedparam(pthread_self(), SCHED_IDLE, &param) == 0;
#else
  return false;
#endif
}

}  // namespace sched

/// Raises `peak` to at least `v` (relaxed: statistics only).
inline void raise_to(std::atomic<std::size_t>& peak, std::size_t v) {
  std::size_t cur = peak.load(std::memory_order_relaxed);
  while (cur < v && !peak.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

inline const char* to_string(csync::fairness f) {
  return f == csync::fairness::fifo ? "fifo" : "barging";
}

/// The fairness policies strategy S supports: barging always, fifo with a queue.
template <class S>
std::vector<csync::fairness> policies() {
  if constexpr (S::has_queue) {
    return {csync::fairness::fifo, csync::fairness::barging};
  } else {
    return {csync::fairness::barging};
  }
}

// --- probe: a strategy wrapper that counts registrations -------------------------

/// Forwards every expression to `Inner`; counts successful `enqueue_if`s and
/// `cancel`s and calls an optional hook (set before any concurrent use) for
/// each registration, right after `Inner` linked the waiter.
template <csync::wakeup_strategy Inner>
class probe {
 public:
  static constexpr std::string_view name = Inner::name;
  static constexpr bool has_queue = Inner::has_queue;
  using options = typename Inner::options;
  using hook_type = std::function<void(const csync::detail::waiter&)>;

  probe() = default;
  explicit probe(const options& o) : inner_(o) {}
  probe(const probe&) = delete;
  probe& operator=(const probe&) = delete;

  static csync::availability availability() noexcept { return Inner::availability(); }

  template <class Pred>
  bool enqueue_if(csync::detail::waiter& w, Pred&& pred) {
    const bool registered = inner_.enqueue_if(w, std::forward<Pred>(pred));
    if (registered) {
      if (hook_) hook_(w);  // w's owner is this thread: w is alive
      // release: a controller that sees the count may rely on the link.
      registrations_.fetch_add(1, std::memory_order_release);
    }
    return registered;
  }

  template <class Visitor>
  std::size_t notify(Visitor&& visitor, csync::detail::wake_list& woken) {
    if (notify_hook_) notify_hook_();
    std::size_t detached = 0;
    if (!visit_hook_) {
      detached = inner_.notify(std::forward<Visitor>(visitor), woken);
    } else {
      detached = inner_.notify(
          [&](csync::detail::waiter* head) {
            const csync::visit decision = visitor(head);
            visit_hook_(head, decision);
            return decision;
          },
          woken);
    }
    // Static, as deliver_hook: a waiter woken by an eventcount's epoch bump
    // may destroy the primitive, and this probe with it, while the hook runs.
    if (after_notify_hook()) after_notify_hook()();
    return detached;
  }
  /// Called when Inner's notify returned, still inside the primitive's
  /// notify (static: see notify). Set before the primitive is shared and
  /// cleared before the test ends.
  static std::function<void()>& after_notify_hook() noexcept {
    static std::function<void()> hook;
    return hook;
  }
  /// Runs the deliver hook (if set), then Inner's delivery: the hook sees the
  /// moment after the notifier's last access to the primitive and before any
  /// woken waiter can run.
  static void deliver(csync::detail::wake_list& woken) noexcept {
    if (deliver_hook()) deliver_hook()();
    Inner::deliver(woken);
  }
  /// The hook deliver() calls; static because deliver is (it may not touch
  /// the strategy). Set it before the primitive is shared and clear it
  /// before the test ends (probe_deliver_hook_scope does both).
  static std::function<void()>& deliver_hook() noexcept {
    static std::function<void()> hook;
    return hook;
  }

  bool cancel(csync::detail::waiter& w) {
    const bool removed = inner_.cancel(w);
    if (removed) cancellations_.fetch_add(1, std::memory_order_relaxed);
    return removed;
  }

  bool wait(csync::detail::waiter& w, csync::detail::deadline_t deadline) {
    return inner_.wait(w, deadline);
  }
  void arm(csync::detail::waiter& w) { inner_.arm(w); }
  /// Drop = cancel (concept.hpp). Instantiated only where a primitive calls
  /// it, so the probe also wraps strategies that predate the expression.
  void reclaim(csync::detail::waiter& w) noexcept { inner_.reclaim(w); }
  auto& stats() noexcept { return inner_.stats(); }

  /// Waiters registered so far (monotonic).
  std::size_t registrations() const noexcept {
    return registrations_.load(std::memory_order_acquire);
  }
  std::size_t cancellations() const noexcept {
    return cancellations_.load(std::memory_order_relaxed);
  }
  /// Set before the primitive is shared; called on the registering thread.
  void on_register(hook_type hook) { hook_ = std::move(hook); }
  /// Called inside the strategy's serialization after the primitive's
  /// notify visitor decided about `head` (queue strategies only): a way to
  /// place another party's lock-free step (a barging try_acquire, say)
  /// exactly between a wake decision and the woken waiter's retry. Set before
  /// the primitive is shared.
  void on_visit(std::function<void(csync::detail::waiter*, csync::visit)> hook) {
    visit_hook_ = std::move(hook);
  }
  /// Called on entry to notify(), before the strategy is touched: the
  /// primitive (a releasing unlock(), say) is accessing its strategy now.
  /// Set before the primitive is shared.
  void on_notify(std::function<void()> hook) { notify_hook_ = std::move(hook); }

 private:
  Inner inner_;
  hook_type hook_;
  std::function<void()> notify_hook_;
  std::function<void(csync::detail::waiter*, csync::visit)> visit_hook_;
  std::atomic<std::size_t> registrations_{0};
  std::atomic<std::size_t> cancellations_{0};
};

/// The registry a waiter of kind K registers in on Condvar `cv`: its
/// strategy for threads, its coroutine_queue() for coroutines -- the same
/// object unless the strategy has no queue (condvar.hpp, "Coroutine waiters").
template <class K, class CV>
auto& condvar_registry(CV& cv) noexcept {
  if constexpr (K::is_threads) {
    return cv.strategy();
  } else {
    return cv.coroutine_queue();
  }
}

/// Sets `Probe::deliver_hook()` for its scope and clears it at the end (the
/// hook is static: set it before the primitive is shared, and let the scope
/// end only after every party joined).
template <class Probe>
class probe_deliver_hook_scope {
 public:
  explicit probe_deliver_hook_scope(std::function<void()> hook) {
    Probe::deliver_hook() = std::move(hook);
  }
  probe_deliver_hook_scope(const probe_deliver_hook_scope&) = delete;
  probe_deliver_hook_scope& operator=(const probe_deliver_hook_scope&) = delete;
  ~probe_deliver_hook_scope() { Probe::deliver_hook() = nullptr; }
};

/// A short random pause for a probe hook (perturbation where the hooks sit:
/// the entry of notify, a visitor decision, the moment before delivery):
/// about 1 in 4 calls yields, 1 in 16 sleeps ~20 us, 1 in 8 spins briefly.
/// Widens the windows in which another party could own the primitive and
/// destroy it, in every build, not only the perturbed one. Per-thread
/// generator: hooks run on many threads at once.
inline void hook_jitter() {
  thread_local std::minstd_rand rng(
      static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id()) | 1));
  const unsigned r = static_cast<unsigned>(rng() % 16);
  if (r < 4) {
    std::this_thread::yield();
  } else if (r == 4) {
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  } else if (r < 7) {
    for (int i = 0; i < 200; ++i) csync::detail::cpu_relax();
  }
}

/// Makes contention certain whatever the schedule: a worker that has just
/// taken the resource keeps it, pausing, until the probe has seen somebody
/// register behind it. Use in the first round only, with more demand than
/// supply (otherwise nobody ever queues and this never returns).
template <class K, class Probe>
csync::Task<> hold_until_queued(Probe& p) {
  while (p.registrations() == 0) co_await K::pause();
}

// --- cancellation plumbing ----------------------------------------------------------

/// One worker's cancellation handle. Coroutines: `arm()` makes a fresh stop
/// source for the next wait and returns its token; `fire()` (any thread)
/// requests stop on the current one. Threads cannot be stopped, so their
/// cancellable waits are timed waits of `thread_timeout()` instead.
class cancel_slot {
 public:
  explicit cancel_slot(std::chrono::nanoseconds thread_timeout = 200us)
      : thread_timeout_(thread_timeout) {}
  cancel_slot(const cancel_slot&) = delete;
  cancel_slot& operator=(const cancel_slot&) = delete;

  std::stop_token arm() {
    std::lock_guard<std::mutex> lock(mutex_);
    source_ = std::stop_source();
    return source_.get_token();
  }
  /// Request stop on the armed source (outside the slot's lock: the stop
  /// callbacks run inline here). True if this call made the request.
  bool fire() {
    std::stop_source s(std::nostopstate);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      s = source_;
    }
    return s.request_stop();
  }
  std::chrono::nanoseconds thread_timeout() const noexcept { return thread_timeout_; }
  void set_thread_timeout(std::chrono::nanoseconds t) noexcept { thread_timeout_ = t; }

 private:
  std::chrono::nanoseconds thread_timeout_;
  std::mutex mutex_;
  std::stop_source source_{std::nostopstate};
};

/// Fires random slots from a foreign thread until stopped: coroutine waits
/// are cancelled by stop requests racing releases and notifies on other
/// threads. For the threads kind it does nothing (their slots time out).
class chaos_canceller {
 public:
  template <class K>
  static chaos_canceller start(std::vector<cancel_slot>& slots, unsigned seed = 12345) {
    chaos_canceller c;
    if constexpr (!K::is_threads) {
      c.thread_ = std::thread([&slots, seed, stop = c.stop_] {
        std::minstd_rand rng(seed);
        while (!stop->load(std::memory_order_relaxed)) {
          slots[rng() % slots.size()].fire();
          std::this_thread::sleep_for(std::chrono::microseconds(20 + rng() % 100));
        }
      });
    }
    return c;
  }
  chaos_canceller(chaos_canceller&&) = default;
  chaos_canceller& operator=(chaos_canceller&&) = delete;
  ~chaos_canceller() { stop(); }
  void stop() {
    if (stop_) stop_->store(true, std::memory_order_relaxed);
    if (thread_.joinable()) thread_.join();
  }

 private:
  chaos_canceller() = default;
  std::shared_ptr<std::atomic<bool>> stop_ = std::make_shared<std::atomic<bool>>(false);
  std::thread thread_;
};

// --- running workers --------------------------------------------------------------

namespace detail {

/// An eager, self-destroying coroutine that drives a Task on the calling
/// thread (threads kind: the task never really suspends).
struct eager {
  struct promise_type {
    eager get_return_object() const noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
};

inline std::string describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "(non-standard exception)";
  }
}

inline eager drive(csync::Task<> task, bool& done) {
  try {
    co_await std::move(task);
  } catch (...) {
    ADD_FAILURE() << "worker threw: " << describe(std::current_exception());
  }
  done = true;
}

inline void drive_on_this_thread(csync::Task<> task) {
  bool done = false;
  drive(std::move(task), done);
  if (!done) {
    // The frame is leaked on purpose: nothing may resume it on this thread.
    ADD_FAILURE() << "a threads-kind worker suspended: a coroutine awaitable leaked into it";
  }
}

/// Does the blocking call in await_ready() and never suspends.
template <class F>
class blocking_call {
  using result_type = std::invoke_result_t<F&>;
  using stored_type = std::conditional_t<std::is_void_v<result_type>, char, result_type>;

 public:
  explicit blocking_call(F f) : f_(std::move(f)) {}
  bool await_ready() {
    if constexpr (std::is_void_v<result_type>) {
      f_();
    } else {
      result_.emplace(f_());
    }
    return true;
  }
  void await_suspend(std::coroutine_handle<>) const noexcept {}  // never called
  result_type await_resume() {
    if constexpr (!std::is_void_v<result_type>) return std::move(*result_);
  }

 private:
  F f_;
  std::optional<stored_type> result_;
};

}  // namespace detail

/// Workers that are running; join() waits for all of them (under the
/// watchdog armed at start) and reports exceptions as test failures.
class group {
 public:
  explicit group(std::string what) : dog_(std::make_unique<watchdog>(std::move(what))) {}
  group(group&&) noexcept = default;
  group& operator=(group&&) = delete;
  ~group() {
    if (dog_) join();
  }

  void join() {
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    loops_.clear();
    dog_.reset();
  }

  std::vector<std::thread>& threads() { return threads_; }
  std::vector<std::unique_ptr<csync::runtime::Loop>>& loops() { return loops_; }
  /// Every worker thread waits here before it starts, so that all of them
  /// start together (released by open()).
  const std::shared_ptr<start_latch>& start_line() const { return start_line_; }
  void open() { start_line_->count_down(); }

 private:
  std::shared_ptr<start_latch> start_line_ = std::make_shared<start_latch>(1);
  std::unique_ptr<watchdog> dog_;
  std::vector<std::unique_ptr<csync::runtime::Loop>> loops_;
  std::vector<std::thread> threads_;
};

// --- the waiter kinds ---------------------------------------------------------------

struct threads {
  static constexpr std::string_view name = "threads";
  static constexpr bool is_threads = true;

  template <class Sem>
  static auto acquire(Sem& s, std::size_t n = 1) {
    return detail::blocking_call([&s, n] { s.acquire(n); });
  }
  template <class M>
  static auto lock(M& m) {
    return detail::blocking_call([&m] { m.lock(); });
  }
  /// cv.wait on the csync::Mutex itself (a BasicLockable).
  template <class CV, class M, class Pred>
  static auto wait(CV& cv, M& m, Pred pred) {
    return detail::blocking_call([&cv, &m, pred]() mutable { cv.wait(m, pred); });
  }
  static auto pause() {
    return detail::blocking_call([] { std::this_thread::yield(); });
  }
  static auto sleep_for(std::chrono::nanoseconds d) {
    return detail::blocking_call([d] { std::this_thread::sleep_for(d); });
  }

  template <class Sem>
  static auto try_acquire_for(Sem& s, std::size_t n, std::chrono::nanoseconds d) {
    return detail::blocking_call([&s, n, d] { return s.try_acquire_for(d, n); });
  }
  template <class M>
  static auto try_lock_for(M& m, std::chrono::nanoseconds d) {
    return detail::blocking_call([&m, d] { return m.try_lock_for(d); });
  }
  /// Yields pred()'s value, holding m.
  template <class CV, class M, class Pred>
  static auto wait_for(CV& cv, M& m, std::chrono::nanoseconds d, Pred pred) {
    return detail::blocking_call([&cv, &m, d, pred]() mutable { return cv.wait_for(m, d, pred); });
  }

  template <class Sem>
  static auto acquire_cancellable(Sem& s, std::size_t n, cancel_slot& slot) {
    return try_acquire_for(s, n, slot.thread_timeout());
  }
  template <class M>
  static auto lock_cancellable(M& m, cancel_slot& slot) {
    return try_lock_for(m, slot.thread_timeout());
  }
  template <class CV, class M, class Pred>
  static auto wait_cancellable(CV& cv, M& m, Pred pred, cancel_slot& slot) {
    return wait_for(cv, m, slot.thread_timeout(), std::move(pred));
  }

  /// Starts n workers, each an OS thread driving make_task(i). `make_task`
  /// must outlive the group (the tasks may refer to its captures).
  template <class MakeTask>
  static group start(std::size_t n, MakeTask& make_task, std::string what = "threads workers") {
    group g(std::move(what));
    for (std::size_t i = 0; i < n; ++i) {
      g.threads().emplace_back([task = make_task(i), go = g.start_line()]() mutable {
        go->wait();
        detail::drive_on_this_thread(std::move(task));
      });
    }
    g.open();
    return g;
  }

  template <class MakeTask>
  static void run(std::size_t n, MakeTask make_task) {
    start(n, make_task).join();
  }
};

template <std::size_t Loops>
struct coroutines {
  static_assert(Loops >= 1);
  static constexpr std::string_view name =
      Loops == 1 ? std::string_view("coroutines_1loop") : std::string_view("coroutines_Nloops");
  static constexpr bool is_threads = false;
  static constexpr std::size_t loops = Loops;

  template <class Sem>
  static auto acquire(Sem& s, std::size_t n = 1) {
    return s.async_acquire(n);
  }
  template <class M>
  static auto lock(M& m) {
    return m.async_lock();
  }
  template <class CV, class M, class Pred>
  static auto wait(CV& cv, M& m, Pred pred) {
    return cv.async_wait(m, std::move(pred));
  }
  static auto pause() { return csync::runtime::yield(); }
  static auto sleep_for(std::chrono::nanoseconds d) { return csync::runtime::sleep_for(d); }

  template <class Sem>
  static auto try_acquire_for(Sem& s, std::size_t n, std::chrono::nanoseconds d) {
    return s.async_acquire_for(d, n);
  }
  template <class M>
  static auto try_lock_for(M& m, std::chrono::nanoseconds d) {
    return m.async_try_lock_for(d);
  }
  template <class CV, class M, class Pred>
  static auto wait_for(CV& cv, M& m, std::chrono::nanoseconds d, Pred pred) {
    return cv.async_wait_for(m, d, std::move(pred));
  }

  template <class Sem>
  static auto acquire_cancellable(Sem& s, std::size_t n, cancel_slot& slot) {
    return s.async_acquire(n, slot.arm());
  }
  template <class M>
  static auto lock_cancellable(M& m, cancel_slot& slot) {
    return m.async_lock(slot.arm());
  }
  template <class CV, class M, class Pred>
  static auto wait_cancellable(CV& cv, M& m, Pred pred, cancel_slot& slot) {
    return cv.async_wait(m, std::move(pred), slot.arm());
  }

  /// Spawns make_task(i) on loop i % Loops and runs each loop on its own
  /// thread. `make_task` must outlive the group.
  template <class MakeTask>
  static group start(std::size_t n, MakeTask& make_task, std::string what = "coroutine workers") {
    group g(std::move(what));
    for (std::size_t l = 0; l < Loops; ++l) {
      g.loops().push_back(std::make_unique<csync::runtime::Loop>());
    }
    // spawn() before run(): the std::thread constructions below order these
    // writes before each loop's run().
    for (std::size_t i = 0; i < n; ++i) g.loops()[i % Loops]->spawn(make_task(i));
    for (std::size_t l = 0; l < Loops; ++l) {
      csync::runtime::Loop* loop = g.loops()[l].get();
      g.threads().emplace_back([loop, go = g.start_line()] {
        go->wait();
        try {
          loop->run();
        } catch (...) {
          ADD_FAILURE() << "a coroutine worker threw: "
                        << detail::describe(std::current_exception());
        }
      });
    }
    g.open();
    return g;
  }

  template <class MakeTask>
  static void run(std::size_t n, MakeTask make_task) {
    start(n, make_task).join();
  }
};

using coroutines_1loop = coroutines<1>;
using coroutines_Nloops = coroutines<3>;

// --- the matrix -----------------------------------------------------------------------

/// A strategy template `basic_<name><Stats>`: the public alias (no_stats) and
/// the counting variant used where a test must prove it reached the slow path.
template <template <csync::stats_hook> class Basic>
struct family {
  using plain = Basic<csync::no_stats>;
  using counted = Basic<csync::counting_stats>;
};

template <class Family, class Kind>
struct combo {
  using S = typename Family::plain;      ///< what users get: strategy::<name>
  using CS = typename Family::counted;   ///< basic_<name><counting_stats>
  using PS = probe<CS>;                  ///< counted and registration-counting
  using K = Kind;

  /// Coroutines on an eventcount strategy (no queue): every notify wakes
  /// every waiter, and with spin they even poll by re-posting themselves, so
  /// their loops never sleep; with more busy threads than the 2 cores every
  /// hand-over between loops costs a scheduler time slice (worse while other
  /// builds share the machine).
  static constexpr bool polling = !S::has_queue && !K::is_threads;

  /// Iteration counts: scaled() for sanitizers, and a further 1/8 for
  /// polling combos.
  static constexpr std::size_t rounds(std::size_t n, std::size_t tsan_divisor = 4,
                                      std::size_t asan_divisor = 2) {
    const std::size_t r = scaled(n, tsan_divisor, asan_divisor);
    return polling ? std::max<std::size_t>(1, r / 8) : r;
  }
};

template <class Family>
using kinds_for = ::testing::Types<combo<Family, threads>, combo<Family, coroutines_1loop>,
                                   combo<Family, coroutines_Nloops>>;

/// Names instantiations `<strategy>/<Suite>/<kind>.<Test>`.
struct kind_name {
  template <class C>
  static std::string GetName(int) {
    return std::string(C::K::name);
  }
};

#if defined(CSYNC_HAVE_MUTEX_QUEUE)
static_assert(std::is_same_v<csync::strategy::mutex_queue,
                             family<csync::strategy::basic_mutex_queue>::plain>);
#endif
#if defined(CSYNC_HAVE_SPIN)
static_assert(std::is_same_v<csync::strategy::spin, family<csync::strategy::basic_spin>::plain>);
#endif
#if defined(CSYNC_HAVE_ATOMIC_WAKER)
static_assert(std::is_same_v<csync::strategy::atomic_waker,
                             family<csync::strategy::basic_atomic_waker>::plain>);
#endif
#if defined(CSYNC_HAVE_INTRUSIVE_LIST)
static_assert(std::is_same_v<csync::strategy::intrusive_list,
                             family<csync::strategy::basic_intrusive_list>::plain>);
#endif
#if defined(CSYNC_HAVE_FUTEX)
static_assert(std::is_same_v<csync::strategy::futex, family<csync::strategy::basic_futex>::plain>);
#endif
#if defined(CSYNC_HAVE_URING_FUTEX)
static_assert(std::is_same_v<csync::strategy::uring_futex,
                             family<csync::strategy::basic_uring_futex>::plain>);
#endif
#if defined(CSYNC_HAVE_IOCP)
static_assert(std::is_same_v<csync::strategy::iocp, family<csync::strategy::basic_iocp>::plain>);
#endif
static_assert(csync::wakeup_strategy<probe<csync::default_strategy>>);

}  // namespace csync_test

/// A Condvar over a probed eventcount strategy queues its coroutine waiters
/// in a probed intrusive_list, so their registrations stay observable
/// (csync_test::condvar_registry).
template <class Inner>
struct csync::detail::condvar_coroutine_queue<csync_test::probe<Inner>> {
  using type = csync_test::probe<csync::strategy::intrusive_list>;
};

/// The combo's types inside a TYPED_TEST_P body.
#define CSYNC_COMBO_TYPES()                                 \
  using S [[maybe_unused]] = typename TypeParam::S;         \
  using CS [[maybe_unused]] = typename TypeParam::CS;       \
  using PS [[maybe_unused]] = typename TypeParam::PS;       \
  using K [[maybe_unused]] = typename TypeParam::K
