// harness/micro/micro.cpp -- csync-micro: Google Benchmark microbenchmarks.
// -----------------------------------------------------------------------------
// Every family runs each strategy next to its reference in the same process,
// so results are read as ratios (csync-bench does the statistics; here use
// --benchmark_repetitions=N and the *_median rows):
//
//   Uncontended/<strategy>    try_acquire()+release() on a Semaphore(1)
//     vs AtomicPair           fetch_sub+fetch_add on one std::atomic<uint64_t>
//   MutexLockUnlock/<strategy> lock()+unlock() on a Mutex
//   PingPong/<strategy>       thread ping-pong round trip: two threads, two
//                             Semaphore(0)s, each releases the other's
//     vs PingPong/raw_futex   the same with two bare futex(2) words
//   CrossLoop/<strategy>/<backend>  coroutine round trip between two loops on
//                             two threads (each wake crosses threads and
//                             resumes on the waiter's own loop)
//
// Ping-pong and cross-loop numbers measure wake-up latency (two wakes per
// iteration); they need two idle cores to mean anything.
// -----------------------------------------------------------------------------
#include <benchmark/benchmark.h>

#include "csync_bench_build_info.hpp"  // generated at build time: CSYNC_BENCH_GIT_SHA, _DIRTY

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <csync/csync.hpp>
#if defined(__linux__)
#include <csync/detail/address_wait.hpp>
#include <csync/strategies/futex.hpp>
#endif
#include <csync/strategies/uring_futex.hpp>

namespace {

// ---- uncontended fast paths -------------------------------------------------

void AtomicPair(benchmark::State& state) {
  std::atomic<std::uint64_t> word{1};
  for (auto _ : state) {
    word.fetch_sub(1, std::memory_order_acquire);
    word.fetch_add(1, std::memory_order_release);
  }
  benchmark::DoNotOptimize(word.load());
}
BENCHMARK(AtomicPair);

template <class S>
void Uncontended(benchmark::State& state) {
  csync::Semaphore<S> sem(1, csync::default_fairness<S>);
  for (auto _ : state) {
    if (!sem.try_acquire()) state.SkipWithError("try_acquire failed uncontended");
    sem.release();
  }
}

template <class S>
void MutexLockUnlock(benchmark::State& state) {
  csync::Mutex<S> mutex;
  for (auto _ : state) {
    mutex.lock();
    mutex.unlock();
  }
}

// ---- round-trip percentiles ---------------------------------------------------

/// Wall time of every round trip, so the report carries the median and the
/// tail that a mean hides (a few slow wakes inflate it). Costs two clock
/// reads per round trip of several microseconds.
class round_trips {
 public:
  explicit round_trips(benchmark::State& state) : state_(state) {
    samples_.reserve(static_cast<std::size_t>(state.max_iterations));
  }
  round_trips(const round_trips&) = delete;
  round_trips& operator=(const round_trips&) = delete;

  void begin() noexcept { start_ = clock::now(); }
  void end() { samples_.push_back(clock::now() - start_); }

  /// Counters p50_ns and p99_ns (round trips, not one-way wakes).
  void report() {
    if (samples_.empty()) return;
    state_.counters["p50_ns"] = static_cast<double>(percentile(0.50).count());
    state_.counters["p99_ns"] = static_cast<double>(percentile(0.99).count());
  }

 private:
  using clock = std::chrono::steady_clock;
  clock::duration percentile(double q) {
    const auto k = static_cast<std::size_t>(q * static_cast<double>(samples_.size() - 1));
    std::nth_element(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(k),
                     samples_.end());
    return samples_[k];
  }

  benchmark::State& state_;
  std::vector<clock::duration> samples_;
  clock::time_point start_{};
};

// ---- thread ping-pong ---------------------------------------------------------

template <class S>
void PingPong(benchmark::State& state) {
  csync::Semaphore<S> ping(0, csync::default_fairness<S>), pong(0, csync::default_fairness<S>);
  std::atomic<bool> stop{false};
  std::thread partner([&] {
    for (;;) {
      ping.acquire();
      if (stop.load(std::memory_order_relaxed)) return;
      pong.release();
    }
  });
  round_trips times(state);
  for (auto _ : state) {
    times.begin();
    ping.release();
    pong.acquire();
    times.end();
  }
  stop.store(true, std::memory_order_relaxed);
  ping.release();
  partner.join();
  times.report();
}

#if defined(__linux__)
/// The physical reference: a binary flag per direction, FUTEX_WAIT/WAKE.
void PingPongRawFutex(benchmark::State& state) {
  std::atomic<std::uint32_t> ping{0}, pong{0};
  std::atomic<bool> stop{false};
  auto take = [](std::atomic<std::uint32_t>& flag) {
    while (flag.exchange(0, std::memory_order_acquire) == 0) {
      csync::detail::wait_on_address(flag, 0);
    }
  };
  auto give = [](std::atomic<std::uint32_t>& flag) {
    flag.store(1, std::memory_order_release);
    csync::detail::wake_address_one(flag);
  };
  std::thread partner([&] {
    for (;;) {
      take(ping);
      if (stop.load(std::memory_order_relaxed)) return;
      give(pong);
    }
  });
  round_trips times(state);
  for (auto _ : state) {
    times.begin();
    give(ping);
    take(pong);
    times.end();
  }
  stop.store(true, std::memory_order_relaxed);
  give(ping);
  partner.join();
  times.report();
}
BENCHMARK(PingPongRawFutex)->Name("PingPong/raw_futex")->UseRealTime();
#endif

// ---- cross-loop coroutine round trip ----------------------------------------------

enum class backend_kind { portable, io_uring };

std::unique_ptr<csync::runtime::backend> make_backend(backend_kind kind) {
#if CSYNC_HAVE_URING_BACKEND
  if (kind == backend_kind::io_uring) return csync::runtime::make_uring_backend();
#endif
  (void)kind;
  return csync::runtime::make_portable_backend();
}

template <class S>
void CrossLoop(benchmark::State& state, backend_kind kind) {
  if (kind == backend_kind::io_uring) {
#if CSYNC_HAVE_URING_BACKEND
    if (!csync::runtime::probe_uring().ring_ok) {
      state.SkipWithError(("unavailable: " + csync::runtime::probe_uring().ring_reason).c_str());
      return;
    }
#else
    state.SkipWithError("unavailable: built without the io_uring backend");
    return;
#endif
  }
  const auto rounds = static_cast<std::int64_t>(state.max_iterations);
  csync::Semaphore<S> ping(0, csync::default_fairness<S>), pong(0, csync::default_fairness<S>);
  csync::runtime::Loop a(make_backend(kind)), b(make_backend(kind));
  b.spawn([](csync::Semaphore<S>& in, csync::Semaphore<S>& out,
             std::int64_t n) -> csync::Task<void> {
    for (std::int64_t i = 0; i < n; ++i) {
      co_await in.async_acquire();
      out.release();
    }
  }(ping, pong, rounds));
  round_trips times(state);
  a.spawn([](csync::Semaphore<S>& out, csync::Semaphore<S>& in, benchmark::State& st,
             round_trips& rt) -> csync::Task<void> {
    for (auto _ : st) {
      rt.begin();
      out.release();
      co_await in.async_acquire();
      rt.end();
    }
  }(ping, pong, state, times));
  std::thread tb([&b] { b.run(); });
  a.run();
  tb.join();
  times.report();
}

template <class S>
void register_strategy(const std::string& name) {
  benchmark::RegisterBenchmark(("Uncontended/" + name).c_str(), Uncontended<S>);
  benchmark::RegisterBenchmark(("MutexLockUnlock/" + name).c_str(), MutexLockUnlock<S>);
  benchmark::RegisterBenchmark(("PingPong/" + name).c_str(), PingPong<S>)->UseRealTime();
  benchmark::RegisterBenchmark(("CrossLoop/" + name + "/portable").c_str(),
                               [](benchmark::State& st) { CrossLoop<S>(st, backend_kind::portable); })
      ->UseRealTime();
  benchmark::RegisterBenchmark(("CrossLoop/" + name + "/io_uring").c_str(),
                               [](benchmark::State& st) { CrossLoop<S>(st, backend_kind::io_uring); })
      ->UseRealTime();
}

const bool registered = [] {
  register_strategy<csync::strategy::mutex_queue>("mutex_queue");
  register_strategy<csync::strategy::spin>("spin");
  register_strategy<csync::strategy::atomic_waker>("atomic_waker");
  register_strategy<csync::strategy::intrusive_list>("intrusive_list");
#if defined(CSYNC_HAVE_FUTEX)
  register_strategy<csync::strategy::futex>("futex");
#endif
#if defined(CSYNC_HAVE_URING_FUTEX)
  register_strategy<csync::strategy::uring_futex>("uring_futex");
#endif
  return true;
}();

}  // namespace

// Google Benchmark's context names no commit, compiler or flags: a results
// file must say which tree and build it measured (results/README.md).
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("csync_git_sha", CSYNC_BENCH_GIT_SHA);
  benchmark::AddCustomContext("csync_git_dirty", CSYNC_BENCH_GIT_DIRTY);
#if defined(__clang__)
  benchmark::AddCustomContext("csync_compiler", std::string("clang ") + __clang_version__);
#elif defined(__GNUC__)
  benchmark::AddCustomContext("csync_compiler", std::string("g++ ") + __VERSION__);
#endif
  benchmark::AddCustomContext("csync_build_type", CSYNC_MICRO_BUILD_TYPE);
  benchmark::AddCustomContext("csync_cxx_flags", CSYNC_MICRO_CXX_FLAGS);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
