// harness/src/workloads.hpp
// -----------------------------------------------------------------------------
// The measured loops. Each workload runs one repetition of a cell over a
// semaphore type `Sem` (a csync::Semaphore<S> or a peer) and returns the raw
// measurements; catalog.cpp picks `Sem` and aggregates.
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
// Teardown does not count: in a timed run the controller raises `stop`;
// a worker that finds it raised after its acquire releases at once without
// counting the operation or the holder, so waiters woken only because
// others are leaving inflate nothing.
// Latency is sampled every `sample_every` operations so that two clock reads
// stay within the harness's overhead budget (runner.cpp chooses it).
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <memory>
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

/// Runs `body(i)` on `n` threads started together; times the run: for a timed
/// run the controller sleeps `duration_ns` (or until interrupted) and raises
/// stop; otherwise the run ends when every thread finished.
template <class Body>
double run_threads(std::size_t n, shared_state& shared, const run_control& ctl, bool& interrupted,
                   Body body) {
  std::barrier start(static_cast<std::ptrdiff_t>(n + 1));
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      if (!ctl.cpus.empty()) pin_current_thread(ctl.cpus[i % ctl.cpus.size()]);
      start.arrive_and_wait();
      body(i);
    });
  }
  start.arrive_and_wait();
  const auto t0 = bench_clock::now();
  if (ctl.duration_ns != 0) {
    const auto until = t0 + std::chrono::nanoseconds(ctl.duration_ns);
    while (bench_clock::now() < until) {
      if (ctl.interrupted && ctl.interrupted->load(std::memory_order_relaxed)) {
        interrupted = true;
        break;
      }
      std::this_thread::sleep_for(
          std::min<bench_clock::duration>(until - bench_clock::now(), std::chrono::milliseconds(5)));
    }
    shared.stop.store(true, std::memory_order_relaxed);
  }
  const auto stopped = bench_clock::now();
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

/// Awaitable hold inside a coroutine critical section.
inline csync::Task<void> coroutine_hold(hold_mode mode) {
  switch (mode) {
    case hold_mode::none: break;
    case hold_mode::yield: co_await csync::runtime::yield(); break;
    case hold_mode::timer: co_await csync::runtime::sleep_for(std::chrono::nanoseconds(0)); break;
  }
}

}  // namespace detail

// ---- semaphore contention -------------------------------------------------------

template <class Sem>
repetition_data semaphore_threads(Sem& sem, const cell_params& p, const run_control& ctl) {
  detail::shared_state shared(p.permits);
  std::vector<detail::worker_slot> slots(p.threads);
  repetition_data out;
  const bool timed = ctl.duration_ns != 0;
  out.elapsed_s = detail::run_threads(p.threads, shared, ctl, out.interrupted, [&](std::size_t w) {
    detail::worker_slot& me = slots[w];
    const thread_usage before = thread_usage::now();
    for (std::uint64_t i = 0; timed ? !shared.stopping() : i < ctl.operations; ++i) {
      const bool sample = i % ctl.sample_every == 0;
      const std::uint64_t t0 = sample ? now_ns() : 0;
      sem.acquire(p.weight);
      if (sample) me.acquire_latency.record(now_ns() - t0);
      if (timed && shared.stopping()) {  // teardown: do not count
        sem.release(p.weight);
        break;
      }
      shared.enter(p.weight);
      burn_for(p.critical_section_ns);
      shared.leave(p.weight);
      sem.release(p.weight);
      ++me.ops;
      burn_for(p.think_ns);
    }
    me.usage = thread_usage::now() - before;
  });
  detail::collect(out, slots);
  for (const auto& s : slots) out.usage += s.usage;
  out.max_holders = shared.max_holders.load();
  out.violations = shared.violations.load();
  return out;
}

template <class Sem>
csync::Task<void> semaphore_task(Sem& sem, const cell_params& p, const run_control& ctl,
                                 detail::shared_state& shared, detail::worker_slot& me) {
  const bool timed = ctl.duration_ns != 0;
  for (std::uint64_t i = 0; timed ? !shared.stopping() : i < ctl.operations; ++i) {
    const bool sample = i % ctl.sample_every == 0;
    const std::uint64_t t0 = sample ? now_ns() : 0;
    co_await sem.async_acquire(p.weight);
    if (sample) me.acquire_latency.record(now_ns() - t0);
    if (timed && shared.stopping()) {
      sem.release(p.weight);
      break;
    }
    shared.enter(p.weight);
    burn_for(p.critical_section_ns);
    co_await detail::coroutine_hold(p.hold);
    shared.leave(p.weight);
    sem.release(p.weight);
    ++me.ops;
    burn_for(p.think_ns);
  }
}

/// Runs `make_task(task_index)` for every task over `p.loops` loops (task i on
/// loop i % loops), one thread per loop.
template <class MakeTask>
repetition_data run_on_loops(const cell_params& p, const run_control& ctl,
                             detail::shared_state& shared, std::vector<detail::worker_slot>& slots,
                             MakeTask make_task) {
  repetition_data out;
  std::vector<std::unique_ptr<csync::runtime::Loop>> loops;
  for (std::uint32_t l = 0; l < p.loops; ++l) {
    loops.push_back(std::make_unique<csync::runtime::Loop>());
  }
  for (std::uint32_t t = 0; t < p.tasks; ++t) loops[t % p.loops]->spawn(make_task(t));
  std::vector<thread_usage> usage(p.loops);
  out.elapsed_s = detail::run_threads(p.loops, shared, ctl, out.interrupted, [&](std::size_t l) {
    const thread_usage before = thread_usage::now();
    loops[l]->run();
    usage[l] = thread_usage::now() - before;
  });
  detail::collect(out, slots);
  for (const auto& u : usage) out.usage += u;
  out.max_holders = shared.max_holders.load();
  out.violations = shared.violations.load();
  return out;
}

template <class Sem>
repetition_data semaphore_coroutines(Sem& sem, const cell_params& p, const run_control& ctl) {
  detail::shared_state shared(p.permits);
  std::vector<detail::worker_slot> slots(p.tasks);
  return run_on_loops(p, ctl, shared, slots, [&](std::uint32_t t) {
    return semaphore_task(sem, p, ctl, shared, slots[t]);
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
};

template <class Sem>
struct pingpong_pair {
  channel<Sem> ping, pong;
};

/// `pairs` pairs whose semaphores come from make_sem(0) (which owns them).
template <class Sem, class MakeSem>
std::vector<std::unique_ptr<pingpong_pair<Sem>>> make_pairs(std::size_t pairs, MakeSem& make_sem) {
  std::vector<std::unique_ptr<pingpong_pair<Sem>>> out;
  for (std::size_t i = 0; i < pairs; ++i) {
    auto pair = std::make_unique<pingpong_pair<Sem>>();
    pair->ping.sem = make_sem(0);
    pair->pong.sem = make_sem(0);
    out.push_back(std::move(pair));
  }
  return out;
}

/// Round trips are counted by initiators (even slots); fairness is over pairs.
inline std::vector<std::uint64_t> ops_of_initiators(const std::vector<detail::worker_slot>& slots) {
  std::vector<std::uint64_t> per_pair;
  for (std::size_t i = 0; i < slots.size(); i += 2) per_pair.push_back(slots[i].ops);
  return per_pair;
}

/// Waiting on `in` (after `acquire` returned): record the one-way latency.
template <class Sem>
void record_wake(channel<Sem>& in, detail::worker_slot& me, bool sample) {
  if (sample) me.wake_latency.record(now_ns() - in.sent_at.load(std::memory_order_relaxed));
}

template <class Sem, class MakeSem>
repetition_data pingpong_threads(MakeSem make_sem, const cell_params& p, const run_control& ctl) {
  const std::size_t pairs = std::max<std::uint32_t>(1, p.threads / 2);
  auto pair_state = make_pairs<Sem>(pairs, make_sem);
  detail::shared_state shared(1);
  std::vector<detail::worker_slot> slots(pairs * 2);
  repetition_data out;
  const bool timed = ctl.duration_ns != 0;
  out.elapsed_s = detail::run_threads(pairs * 2, shared, ctl, out.interrupted, [&](std::size_t w) {
    pingpong_pair<Sem>& pair = *pair_state[w / 2];
    detail::worker_slot& me = slots[w];
    const thread_usage before = thread_usage::now();
    if (w % 2 == 0) {  // the initiator: counts round trips
      for (std::uint64_t i = 0; timed ? !shared.stopping() : i < ctl.operations; ++i) {
        const bool sample = i % ctl.sample_every == 0;
        pair.ping.send();
        const std::uint64_t t0 = sample ? now_ns() : 0;
        pair.pong.sem->acquire(1);
        if (sample) me.acquire_latency.record(now_ns() - t0);
        record_wake(pair.pong, me, sample);
        ++me.ops;
      }
      pair.ping.closing.store(true, std::memory_order_relaxed);  // ordered by release()
      pair.ping.sem->release(1);
    } else {  // the responder
      for (std::uint64_t i = 0;; ++i) {
        const bool sample = i % ctl.sample_every == 0;
        pair.ping.sem->acquire(1);
        if (pair.ping.closing.load(std::memory_order_relaxed)) break;
        record_wake(pair.ping, me, sample);
        pair.pong.send();
      }
    }
    me.usage = thread_usage::now() - before;
  });
  detail::collect(out, slots);
  for (const auto& s : slots) out.usage += s.usage;
  out.ops_per_worker = ops_of_initiators(slots);
  return out;
}

template <class Sem>
csync::Task<void> pingpong_task(pingpong_pair<Sem>& pair, bool initiator, const run_control& ctl,
                                detail::shared_state& shared, detail::worker_slot& me) {
  const bool timed = ctl.duration_ns != 0;
  if (initiator) {
    for (std::uint64_t i = 0; timed ? !shared.stopping() : i < ctl.operations; ++i) {
      const bool sample = i % ctl.sample_every == 0;
      pair.ping.send();
      const std::uint64_t t0 = sample ? now_ns() : 0;
      co_await pair.pong.sem->async_acquire(1);
      if (sample) me.acquire_latency.record(now_ns() - t0);
      record_wake(pair.pong, me, sample);
      ++me.ops;
    }
    pair.ping.closing.store(true, std::memory_order_relaxed);
    pair.ping.sem->release(1);
  } else {
    for (std::uint64_t i = 0;; ++i) {
      const bool sample = i % ctl.sample_every == 0;
      co_await pair.ping.sem->async_acquire(1);
      if (pair.ping.closing.load(std::memory_order_relaxed)) break;
      record_wake(pair.ping, me, sample);
      pair.pong.send();
    }
  }
}

template <class Sem, class MakeSem>
repetition_data pingpong_coroutines(MakeSem make_sem, const cell_params& p, const run_control& ctl) {
  const std::size_t pairs = std::max<std::uint32_t>(1, p.tasks / 2);
  auto pair_state = make_pairs<Sem>(pairs, make_sem);
  detail::shared_state shared(1);
  std::vector<detail::worker_slot> slots(pairs * 2);
  cell_params placed = p;
  placed.tasks = static_cast<std::uint32_t>(pairs * 2);
  repetition_data out = run_on_loops(placed, ctl, shared, slots, [&](std::uint32_t t) {
    return pingpong_task(*pair_state[t / 2], t % 2 == 0, ctl, shared, slots[t]);
  });
  out.ops_per_worker = ops_of_initiators(slots);
  return out;
}

}  // namespace csync::bench
