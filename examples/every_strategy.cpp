// examples/every_strategy.cpp
// -----------------------------------------------------------------------------
// Exercises every strategy this machine offers (the four portable ones,
// futex on Linux and Windows, uring_futex on Linux, iocp on Windows) with
// every primitive and both
// waiter kinds, checks the results, and prints what each run cost in wake-ups.
// It is a demonstration, not a benchmark: the timings are single runs on a
// loaded machine (csync-bench, with repetitions and peers, is the tool for
// numbers).
//
//   threads     4 threads share a Semaphore(2); each takes a permit 20000
//               times; a holder count checks that never more than 2 hold one.
//   coroutines  2 loops on 2 threads, 4 tasks each, share a Mutex; a holder
//               yields to its loop *while holding* so tasks on one loop
//               really contend (the slow path is exercised).
//   condvar     a producer thread and a consumer task pass 20000 items
//               through a bounded queue guarded by a csync::Mutex.
//
// Exit status: 0 when every check held, 1 otherwise.
// -----------------------------------------------------------------------------
#include <csync/csync.hpp>
#include <csync/strategies/futex.hpp>        // Linux and Windows; defines CSYNC_HAVE_FUTEX
#include <csync/strategies/iocp.hpp>         // Windows; defines CSYNC_HAVE_IOCP
#include <csync/strategies/uring_futex.hpp>  // needs the io_uring backend

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct outcome {
  bool ok = true;
  double ms = 0;
  csync::counting_stats::snapshot stats;
};

template <class Fn>
double time_ms(Fn&& fn) {
  const auto start = clock_type::now();
  fn();
  return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

template <class S>
outcome threads_on_semaphore() {
  constexpr int threads = 4, rounds = 20000;
  csync::Semaphore<S> sem(2, csync::default_fairness<S>);
  std::atomic<int> holders{0};
  std::atomic<bool> violated{false};
  outcome out;
  out.ms = time_ms([&] {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        for (int i = 0; i < rounds; ++i) {
          sem.acquire();
          if (holders.fetch_add(1) + 1 > 2) violated = true;
          holders.fetch_sub(1);
          sem.release();
        }
      });
    }
    for (auto& th : pool) th.join();
  });
  out.ok = !violated && sem.available() == 2;
  out.stats = sem.strategy().stats().read();
  return out;
}

template <class S>
outcome coroutines_on_mutex() {
  constexpr int loops = 2, tasks_per_loop = 4, rounds = 2000;
  csync::Mutex<S> mutex;
  long counter = 0;  // guarded by mutex
  std::atomic<bool> wrong_loop{false};

  auto worker = [&](csync::runtime::Loop* home) -> csync::Task<void> {
    for (int i = 0; i < rounds; ++i) {
      co_await mutex.async_lock();
      if (csync::runtime::Loop::current() != home) wrong_loop = true;
      const long seen = counter;
      co_await csync::runtime::yield();  // hold across a suspension: real contention
      counter = seen + 1;
      mutex.unlock();
    }
  };

  std::vector<std::unique_ptr<csync::runtime::Loop>> pool;
  for (int l = 0; l < loops; ++l) {
    pool.push_back(std::make_unique<csync::runtime::Loop>());
    for (int t = 0; t < tasks_per_loop; ++t) pool.back()->spawn(worker(pool.back().get()));
  }
  outcome out;
  out.ms = time_ms([&] {
    std::vector<std::thread> threads;
    for (auto& loop : pool) threads.emplace_back([&loop] { loop->run(); });
    for (auto& th : threads) th.join();
  });
  out.ok = !wrong_loop && counter == long{loops} * tasks_per_loop * rounds;
  out.stats = mutex.strategy().stats().read();
  return out;
}

template <class S>
outcome condvar_bounded_queue() {
  constexpr int items = 20000;
  constexpr std::size_t capacity = 8;
  csync::Mutex<S> mutex;
  csync::Condvar<S> not_empty, not_full;
  std::deque<int> queue;  // guarded by mutex
  long sum = 0;

  auto consumer = [&]() -> csync::Task<void> {
    for (int i = 0; i < items; ++i) {
      co_await mutex.async_lock();
      co_await not_empty.async_wait(mutex, [&] { return !queue.empty(); });
      sum += queue.front();
      queue.pop_front();
      mutex.unlock();
      not_full.notify_one();
    }
  };

  csync::runtime::Loop loop;
  loop.spawn(consumer());
  outcome out;
  out.ms = time_ms([&] {
    std::thread producer([&] {
      for (int i = 1; i <= items; ++i) {
        std::unique_lock lock(mutex);
        not_full.wait(lock, [&] { return queue.size() < capacity; });
        queue.push_back(i);
        lock.unlock();
        not_empty.notify_one();
      }
    });
    loop.run();
    producer.join();
  });
  out.ok = sum == long{items} * (items + 1) / 2;
  out.stats = not_empty.strategy().stats().read();
  const auto producer_side = not_full.strategy().stats().read();
  out.stats.wakes += producer_side.wakes;
  out.stats.spurious += producer_side.spurious;
  out.stats.futile += producer_side.futile;
  return out;
}

template <template <class> class Basic>
bool run_strategy() {
  using S = Basic<csync::counting_stats>;
  const std::string name(S::name);
  const csync::availability avail = S::availability();
  if (!avail.available) {
    std::printf("%-15s unavailable: %.*s\n", name.c_str(), int(avail.reason.size()),
                avail.reason.data());
    return true;
  }
  bool ok = true;
  auto report = [&](const char* scenario, const outcome& o) {
    ok = ok && o.ok;
    std::printf("%-15s %-11s %-4s %8.1f ms  wakes %7llu  spurious %7llu  futile %6llu\n",
                name.c_str(), scenario, o.ok ? "ok" : "FAIL", o.ms,
                static_cast<unsigned long long>(o.stats.wakes),
                static_cast<unsigned long long>(o.stats.spurious),
                static_cast<unsigned long long>(o.stats.futile));
  };
  report("threads", threads_on_semaphore<S>());
  report("coroutines", coroutines_on_mutex<S>());
  report("condvar", condvar_bounded_queue<S>());
  return ok;
}

}  // namespace

int main() {
  std::printf("csync: every strategy x {threads, coroutines, condvar}; default strategy: %.*s\n",
              int(csync::default_strategy::name.size()), csync::default_strategy::name.data());
  std::printf("(single runs on %u CPUs: a demonstration, not a benchmark)\n\n",
              std::thread::hardware_concurrency());
  bool ok = true;
  ok &= run_strategy<csync::strategy::basic_mutex_queue>();
  ok &= run_strategy<csync::strategy::basic_spin>();
  ok &= run_strategy<csync::strategy::basic_atomic_waker>();
  ok &= run_strategy<csync::strategy::basic_intrusive_list>();
#if defined(CSYNC_HAVE_FUTEX)
  ok &= run_strategy<csync::strategy::basic_futex>();
#else
  std::printf("%-15s unavailable: needs futex(2) (Linux) or WaitOnAddress (Windows)\n", "futex");
#endif
#if defined(CSYNC_HAVE_URING_FUTEX)
  ok &= run_strategy<csync::strategy::basic_uring_futex>();
#else
  std::printf("%-15s unavailable: built without the io_uring backend\n", "uring_futex");
#endif
#if defined(CSYNC_HAVE_IOCP)
  ok &= run_strategy<csync::strategy::basic_iocp>();
#else
  const std::string_view why = csync::strategy::iocp::availability().reason;
  std::printf("%-15s unavailable: %.*s\n", "iocp", int(why.size()), why.data());
#endif
  std::printf("\n%s\n", ok ? "all checks passed" : "SOME CHECKS FAILED");
  return ok ? 0 : 1;
}
