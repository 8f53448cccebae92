// harness/tests/measurement_test.cpp -- the measurement logic of csync-bench's
// workloads (workloads*.hpp, metrics.hpp): what each kind of run records,
// censoring, starvation, the latency definitions, open loops, the sampler,
// and the work and CPU accounting. Each test drives a workload with a
// primitive whose behaviour is known (a fixed delay, a monopoly), so the
// expected values follow from the logic, not from how fast this machine is:
// the only time comparisons are lower bounds that the known delays imply.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <csync/csync.hpp>

#include "metrics.hpp"
#include "platform.hpp"
#include "workloads.hpp"
#include "workloads_condvar.hpp"

namespace {

using namespace std::chrono_literals;
using csync::bench::cell_params;
using csync::bench::repetition_data;
using csync::bench::run_control;
using csync::bench::run_mode;
using csync::bench::waiting::blocking;

constexpr std::uint64_t ms = 1'000'000;  // in ns

run_control counted(std::uint64_t operations, run_mode mode, std::uint32_t sample_every = 1) {
  run_control ctl;
  ctl.operations = operations;
  ctl.mode = mode;
  ctl.sample_every = sample_every;
  ctl.seed = 42;
  return ctl;
}

/// A csync semaphore whose release() first sleeps `delay`: whoever it wakes
/// cannot be running sooner than `delay` after the release was called.
struct slow_release {
  explicit slow_release(std::uint64_t permits) : sem(permits) {}
  void acquire(std::uint64_t n) { sem.acquire(n); }
  bool try_acquire(std::uint64_t n) { return sem.try_acquire(n); }
  void release(std::uint64_t n) {
    std::this_thread::sleep_for(delay);
    sem.release(n);
  }
  static constexpr auto delay = 2ms;
  csync::Semaphore<> sem;
};

/// The first thread to acquire always gets in at once; every other thread
/// waits until the test opens the gate -- a monopolist and starved workers.
struct favourite_semaphore {
  void acquire(std::uint64_t) {
    std::unique_lock lock(mutex);
    if (!favourite) favourite = std::this_thread::get_id();
    if (*favourite == std::this_thread::get_id()) return;
    opened.wait(lock, [this] { return open; });
  }
  bool try_acquire(std::uint64_t) { return false; }  // the watchdog's rescue only
  void release(std::uint64_t) {}
  void open_gate() {
    std::lock_guard lock(mutex);
    open = true;
    opened.notify_all();
  }
  std::mutex mutex;
  std::condition_variable opened;
  std::optional<std::thread::id> favourite;
  bool open = false;
};

/// acquire() always takes `delay`.
struct slow_acquire {
  explicit slow_acquire(std::chrono::microseconds delay) : delay(delay) {}
  void acquire(std::uint64_t) { std::this_thread::sleep_for(delay); }
  bool try_acquire(std::uint64_t) { return true; }
  void release(std::uint64_t) {}
  std::chrono::microseconds delay;
};

TEST(RunModes, ThroughputRunsTimeNothingAndLatencyRunsTimeWhatTheSamplerChooses) {
  csync::Semaphore<> sem(1);
  cell_params p;
  p.threads = 2;
  const repetition_data throughput =
      csync::bench::semaphore_workload<blocking>(sem, p, counted(5000, run_mode::throughput));
  EXPECT_EQ(throughput.ops(), 10000u);
  EXPECT_EQ(throughput.acquire_latency.count(), 0u);
  EXPECT_TRUE(throughput.max_wait_ns_per_worker.empty());

  const repetition_data every =
      csync::bench::semaphore_workload<blocking>(sem, p, counted(5000, run_mode::latency, 1));
  EXPECT_EQ(every.acquire_latency.count(), every.ops()) << "sample_every 1 times every operation";
  EXPECT_EQ(every.max_wait_ns_per_worker.size(), 2u);

  const repetition_data sampled =
      csync::bench::semaphore_workload<blocking>(sem, p, counted(50000, run_mode::latency, 50));
  // Binomial(100000, 1/50): mean 2000, sd 44; 10 sd either side.
  EXPECT_GT(sampled.acquire_latency.count(), 1560u);
  EXPECT_LT(sampled.acquire_latency.count(), 2440u);
}

TEST(Sampler, GapsAreGeometricWithTheMeanAskedForAndStartAtRandom) {
  csync::bench::op_sampler sampler(64, 7);
  std::uint64_t chosen = 0;
  constexpr std::uint64_t calls = 2'000'000;
  for (std::uint64_t i = 0; i < calls; ++i) chosen += sampler.next();
  // Binomial(2e6, 1/64): mean 31250, sd 175; 10 sd either side.
  EXPECT_GT(chosen, 29500u);
  EXPECT_LT(chosen, 33000u);

  // Not `i % n == 0`: where the first chosen operation falls depends on the seed.
  std::set<std::uint64_t> first_chosen;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    csync::bench::op_sampler s(64, seed);
    std::uint64_t i = 0;
    while (!s.next()) ++i;
    first_chosen.insert(i);
  }
  EXPECT_GE(first_chosen.size(), 10u);

  csync::bench::op_sampler every(1, 3);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(every.next());
  csync::bench::op_sampler never;
  for (int i = 0; i < 100000; ++i) ASSERT_FALSE(never.next());
}

TEST(Definitions, AKnownDelayBetweenNotifyAndWakeShowsInWakeLatency) {
  // release() sleeps 2 ms before it wakes anyone: every one-way wake takes at
  // least that, every round trip twice that.
  std::vector<std::unique_ptr<slow_release>> made;
  auto make_sem = [&](std::uint64_t permits) {
    made.push_back(std::make_unique<slow_release>(permits));
    return made.back().get();
  };
  cell_params p;
  p.workload = csync::bench::workload_kind::pingpong;
  p.threads = 2;
  const repetition_data d = csync::bench::pingpong_workload<blocking, slow_release>(
      make_sem, p, counted(20, run_mode::latency, 1));
  const std::uint64_t delay = std::chrono::nanoseconds(slow_release::delay).count();
  ASSERT_EQ(d.wake_latency.count(), 40u) << "both directions of 20 round trips";
  EXPECT_GE(d.wake_latency.percentile(0.0), delay * 97 / 100);  // bucket midpoints: within 3.2%
  EXPECT_EQ(d.acquire_latency.count(), 0u) << "round trips are counted, not timed";
}

/// std::condition_variable whose wait, once woken and holding the mutex
/// again, sleeps `delay` before it returns: a woken consumer cannot be back
/// sooner than `delay` after any notify that came before its wake.
struct slow_wake_condvar {
  void notify_one() { cv.notify_one(); }
  void notify_all() { cv.notify_all(); }
  std::condition_variable cv;
};
struct slow_wake_kit : csync::bench::owning_kit<std::mutex, slow_wake_condvar> {
  static constexpr auto delay = 2ms;
  template <class Pred>
  static void wait(condvar_type& cv, mutex_type& m, Pred pred) {
    std::unique_lock lock(m, std::adopt_lock);
    while (!pred()) {
      cv.cv.wait(lock);
      std::this_thread::sleep_for(delay);  // woken, holding the mutex: the known delay
    }
    lock.release();
  }
};

TEST(Definitions, AKnownWakeDelayShowsInCondvarWakeLatency) {
  // Every wake of a waiting consumer takes 2 ms before wait returns (and the
  // producers cannot stamp a newer notify meanwhile: the consumer holds the
  // mutex). A consumer that found its item without waiting is no wake.
  slow_wake_kit kit;
  cell_params p;
  p.workload = csync::bench::workload_kind::condvar;
  p.threads = 2;
  const repetition_data d =
      csync::bench::condvar_workload<blocking>(kit, p, counted(30, run_mode::latency, 1));
  EXPECT_EQ(d.ops(), 30u);
  ASSERT_GT(d.wake_latency.count(), 0u);
  const std::uint64_t delay = std::chrono::nanoseconds(slow_wake_kit::delay).count();
  EXPECT_GE(d.wake_latency.percentile(0.0), delay * 97 / 100);
}

TEST(Definitions, TheLastOfAHerdIsNeverBackBeforeTheFirst) {
  csync::bench::std_kit kit;
  cell_params p;
  p.workload = csync::bench::workload_kind::broadcast;
  p.threads = 4;  // a notifier and three waiters
  const repetition_data d =
      csync::bench::broadcast_workload<blocking>(kit, p, counted(200, run_mode::latency, 1));
  EXPECT_EQ(d.ops(), 600u);
  ASSERT_EQ(d.wake_latency.count(), 200u) << "one first waiter per round";
  ASSERT_EQ(d.herd_latency.count(), 200u) << "one last waiter per round";
  // Per round the last is back no sooner than the first, so every quantile of
  // the herd is at least the wake's.
  for (double q : {0.1, 0.5, 0.9, 1.0}) {
    EXPECT_GE(d.herd_latency.percentile(q), d.wake_latency.percentile(q)) << q;
  }
  EXPECT_EQ(d.reacquire_latency.count(), 400u) << "the second and third waiter of each round";
}

/// A std mutex whose lock() sleeps `delay` once it has the mutex: every
/// hand-off -- from one holder's release to the next holder's return from
/// lock() -- takes at least that long.
struct slow_lock_mutex {
  static constexpr auto delay = 1ms;
  void lock() {
    m.lock();
    std::this_thread::sleep_for(delay);
  }
  void unlock() { m.unlock(); }
  std::mutex m;
};
struct slow_lock_kit : csync::bench::owning_kit<slow_lock_mutex, std::condition_variable_any> {
  template <class Pred>
  static void wait(condvar_type& cv, mutex_type& m, Pred pred) {
    std::unique_lock lock(m, std::adopt_lock);
    cv.wait(lock, pred);  // re-locks through slow_lock_mutex::lock: the delay
    lock.release();
  }
};

TEST(Definitions, AKnownReacquireDelayShowsInReacquireLatency) {
  slow_lock_kit kit;
  cell_params p;
  p.workload = csync::bench::workload_kind::broadcast;
  p.threads = 3;  // a notifier and two waiters
  const repetition_data d =
      csync::bench::broadcast_workload<blocking>(kit, p, counted(20, run_mode::latency, 1));
  ASSERT_EQ(d.reacquire_latency.count(), 20u);
  const std::uint64_t delay = std::chrono::nanoseconds(slow_lock_mutex::delay).count();
  EXPECT_GE(d.reacquire_latency.percentile(0.0), delay * 97 / 100);
}

TEST(Censoring, AStarvedWorkerIsReportedAndItsWaitStaysOutOfTheHistogram) {
  favourite_semaphore sem;
  cell_params p;
  p.threads = 3;
  run_control ctl;
  ctl.mode = run_mode::latency;
  ctl.sample_every = 1;
  ctl.duration_ns = 20 * ms;
  ctl.seed = 9;
  // Opened well after the 20 ms window and well before the watchdog's grace
  // (2 s): the two starved waits end after the stop -- censored, not stuck.
  std::thread opener([&] {
    std::this_thread::sleep_for(500ms);
    sem.open_gate();
  });
  const repetition_data d = csync::bench::semaphore_workload<blocking>(sem, p, ctl);
  opener.join();
  EXPECT_EQ(d.stuck_workers, 0u);
  EXPECT_EQ(d.starved(), 2u);
  EXPECT_GT(d.ops(), 0u);
  EXPECT_EQ(d.acquire_latency.count(), d.ops()) << "only the monopolist's waits are samples";
  EXPECT_GE(d.censored_waits, 2u);
  EXPECT_GE(d.censored_timed, 2u);
  EXPECT_GE(d.censored_max_age_ns, 20 * ms) << "they waited the whole window";
  EXPECT_LT(d.acquire_latency.max(), d.censored_max_age_ns);
  std::size_t long_waiters = 0;
  for (std::uint64_t w : d.max_wait_ns_per_worker) long_waiters += w >= 20 * ms;
  EXPECT_EQ(long_waiters, 2u) << "each starved worker's max wait shows its censored wait";
}

TEST(Censoring, TheStallMonitorShowsStarvationWhateverTheSampling) {
  // The sampler times 1 in 64000 operations here: the starved workers' waits
  // are almost surely untimed, and still their stall and age are known.
  for (const run_mode mode : {run_mode::throughput, run_mode::latency}) {
    favourite_semaphore sem;
    cell_params p;
    p.threads = 3;
    run_control ctl;
    ctl.mode = mode;
    ctl.sample_every = 64000;
    ctl.duration_ns = 30 * ms;
    std::thread opener([&] {
      std::this_thread::sleep_for(300ms);
      sem.open_gate();
    });
    const repetition_data d = csync::bench::semaphore_workload<blocking>(sem, p, ctl);
    opener.join();
    ASSERT_EQ(d.longest_stall_ns_per_worker.size(), 3u);
    std::size_t stalled = 0;
    for (std::uint64_t s : d.longest_stall_ns_per_worker) stalled += s >= 20 * ms;
    EXPECT_EQ(stalled, 2u) << "the two starved workers stalled the whole window";
    EXPECT_GE(d.censored_max_age_ns, 20 * ms) << "their censored waits are as old as the window";
    EXPECT_EQ(d.starved(), 2u);
  }
}

TEST(Censoring, EveryCountedWorkerHasItsStallAndNoOtherRoleDoes) {
  // Producers, pingpong responders and the broadcast notifier count no
  // operation of the cell: their stalls must not stand in for a worker's.
  csync::bench::std_kit kit;
  cell_params p;
  p.threads = 4;
  run_control ctl;
  ctl.duration_ns = 20 * ms;
  for (const auto workload : {csync::bench::workload_kind::condvar,
                              csync::bench::workload_kind::broadcast,
                              csync::bench::workload_kind::pingpong}) {
    p.workload = workload;
    std::vector<std::unique_ptr<csync::Semaphore<>>> made;
    auto make_sem = [&](std::uint64_t permits) {
      made.push_back(std::make_unique<csync::Semaphore<>>(permits));
      return made.back().get();
    };
    const repetition_data d =
        workload == csync::bench::workload_kind::condvar
            ? csync::bench::condvar_workload<blocking>(kit, p, ctl)
        : workload == csync::bench::workload_kind::broadcast
            ? csync::bench::broadcast_workload<blocking>(kit, p, ctl)
            : csync::bench::pingpong_workload<blocking, csync::Semaphore<>>(make_sem, p, ctl);
    EXPECT_EQ(d.longest_stall_ns_per_worker.size(), d.ops_per_worker.size())
        << csync::bench::to_string(workload);
    EXPECT_EQ(d.stuck_workers, 0u);
  }
}

TEST(OpenLoop, LatencyRunsFromTheIntendedStart) {
  // 10000 arrivals per second, but each acquire takes 1 ms: the worker falls
  // behind by 0.9 ms per operation, and an open loop must show it (a closed
  // loop would report about 1 ms throughout: coordinated omission).
  slow_acquire sem(1ms);
  cell_params p;
  p.threads = 1;
  p.arrival = csync::bench::arrival_kind::fixed;
  p.arrival_rate_per_s = 10000;
  const repetition_data open =
      csync::bench::semaphore_workload<blocking>(sem, p, counted(40, run_mode::latency, 1));
  ASSERT_EQ(open.acquire_latency.count(), 40u);
  // Operation k (from 1) ends >= k ms after the first intended start and was
  // intended at k * 0.1 ms: its latency is >= 0.9 k ms; k = 40: 36 ms.
  EXPECT_GE(open.acquire_latency.max(), 36 * ms * 97 / 100);

  // At the stop, arrivals that were due but never started are censored, with
  // their lateness: 30 ms at 10000/s is ~300 arrivals for ~30 operations.
  run_control timed;
  timed.mode = run_mode::throughput;
  timed.duration_ns = 30 * ms;
  const repetition_data behind = csync::bench::semaphore_workload<blocking>(sem, p, timed);
  EXPECT_LT(behind.ops(), 40u);
  EXPECT_GE(behind.censored_waits, 100u);
  EXPECT_GE(behind.censored_max_age_ns, 10 * ms);

  // And the schedule is kept when the primitive is fast: 40 arrivals at
  // 10000/s take at least 4 ms.
  slow_acquire fast(0us);
  const repetition_data on_time =
      csync::bench::semaphore_workload<blocking>(fast, p, counted(40, run_mode::throughput));
  EXPECT_GE(on_time.elapsed_s, 40 / 10000.0 * 0.97);
}

TEST(OpenLoop, AWorkerWaitingForALateArrivalLeavesAtTheStop) {
  // One arrival per second per worker and a 20 ms window: each worker's first
  // intended start is up to a second away. It must not be waited for.
  slow_acquire fast(0us);
  cell_params p;
  p.threads = 4;
  p.arrival = csync::bench::arrival_kind::fixed;
  p.arrival_rate_per_s = 1;
  run_control ctl;
  ctl.duration_ns = 20 * ms;
  const auto t0 = std::chrono::steady_clock::now();
  const repetition_data d = csync::bench::semaphore_workload<blocking>(fast, p, ctl);
  EXPECT_EQ(d.stuck_workers, 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 600ms)
      << "the workers waited for their schedule past the stop";
}

TEST(WorkAccounting, BurnDoesTheWorkItIsCreditedWith) {
  // burn_for is CPU work, not wall time: the thread's own CPU clock (which
  // preemption does not advance) moves by about as much. The calibration
  // takes the fastest of its batches, so a burn errs long rather than short;
  // a calibration disturbed by other work made burns half as long.
  csync::bench::burn_ns_per_iteration();  // calibrate first: it spins ~100 ms itself
  const auto meter = csync::bench::platform::thread_meter::of_current_thread();
  const std::uint64_t before = meter.read_cpu_ns();
  csync::bench::burn_for(20 * ms);
  const std::uint64_t cpu = meter.read_cpu_ns() - before;
  EXPECT_GE(cpu, 14 * ms);
  EXPECT_LE(cpu, 60 * ms);
}

TEST(WorkAccounting, BurntWorkIsWhatTheWorkloadReallyDid) {
  csync::Semaphore<> sem(1);
  cell_params p;
  p.threads = 2;
  p.critical_section_ns = 1000;
  p.think_ns = 2000;
  const repetition_data s =
      csync::bench::semaphore_workload<blocking>(sem, p, counted(300, run_mode::throughput));
  EXPECT_EQ(s.burnt_ns, 600u * 3000u);

  // condvar: producers and consumers both burn a critical section and a
  // think time per item.
  csync::bench::std_kit kit;
  p.workload = csync::bench::workload_kind::condvar;
  const repetition_data c =
      csync::bench::condvar_workload<blocking>(kit, p, counted(300, run_mode::throughput));
  EXPECT_EQ(c.ops(), 300u);  // one producer of 300 items, one consumer
  EXPECT_EQ(c.burnt_ns, 2 * 300u * 3000u);

  // broadcast burns nothing.
  p.workload = csync::bench::workload_kind::broadcast;
  const repetition_data b =
      csync::bench::broadcast_workload<blocking>(kit, p, counted(50, run_mode::throughput));
  EXPECT_EQ(b.burnt_ns, 0u);
}

/// From 40 ms after its first acquire, one release burns 200 ms of CPU: a
/// burn that begins inside a 50 ms window and ends far outside it.
struct costly_teardown {
  void acquire(std::uint64_t) {
    if (first_ns == 0) first_ns = csync::bench::now_ns();
  }
  bool try_acquire(std::uint64_t) { return true; }
  void release(std::uint64_t) {
    if (!burnt && csync::bench::now_ns() - first_ns >= 40 * ms) {
      burnt = true;
      csync::bench::burn_for(200 * ms);
    }
  }
  std::uint64_t first_ns = 0;
  bool burnt = false;
};

TEST(WorkAccounting, CpuIsReadOverTheMeasuredWindowOnly) {
  // One worker, a 50 ms window, and a 200 ms burn starting ~10 ms before its
  // end. A reading bracketing the worker's body would hold all of it; the
  // window holds at most its own 50 ms (plus a scheduler tick).
  costly_teardown sem;
  cell_params p;
  p.threads = 1;
  p.critical_section_ns = 50'000;
  run_control ctl;
  ctl.duration_ns = 50 * ms;
  const repetition_data d = csync::bench::semaphore_workload<blocking>(sem, p, ctl);
  ASSERT_TRUE(sem.burnt);
  EXPECT_GT(d.usage.cpu_ns, 0u);
  EXPECT_LT(static_cast<double>(d.usage.cpu_ns), d.elapsed_s * 1e9 + 100.0 * ms)
      << "CPU spent after the stop was counted";
}

}  // namespace
