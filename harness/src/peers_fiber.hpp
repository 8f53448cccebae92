// harness/src/peers_fiber.hpp
// -----------------------------------------------------------------------------
// The userspace-task peer of the coroutine cells: Boost.Fiber. A cell of
// `tasks` tasks on `loops` loops runs, for the peer, `tasks` fibers on
// `loops` threads (fiber t on thread t % loops, each thread its own
// round-robin scheduler, fibers never migrate -- as tasks never leave their
// loop), blocking in Boost.Fiber's primitives, which suspend the fiber and
// let the thread's other fibers run:
//
//   boost_fiber   semaphore workloads: a count under boost::fibers::mutex with
//                 one boost::fibers::condition_variable (there is no fiber
//                 semaphore in Boost.Fiber; this is the textbook one, as
//                 std_mutex_condvar is for threads); condvar workloads:
//                 boost::fibers::mutex + condition_variable (fiber_kit).
//
// The workloads' code is the thread waiters' (waiting::blocking: each call
// blocks -- here the fiber), with the fiber's own ways to yield in a
// critical section and to wait for an open loop's intended start
// (waiting::on_fibers). Built where CMake finds Boost.Fiber
// (CSYNC_BENCH_HAVE_BOOST_FIBER; Debian: libboost-fiber-dev).
// -----------------------------------------------------------------------------
#pragma once

#if CSYNC_BENCH_HAVE_BOOST_FIBER

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/fiber/all.hpp>

#include "workloads.hpp"
#include "workloads_condvar.hpp"

namespace csync::bench {

namespace peers {

class boost_fiber_semaphore {
 public:
  explicit boost_fiber_semaphore(std::uint64_t permits) : count_(permits) {}
  void acquire(std::uint64_t n) {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return count_ >= n; });
    count_ -= n;
  }
  bool try_acquire(std::uint64_t n) {
    std::lock_guard lock(mutex_);
    if (count_ < n) return false;
    count_ -= n;
    return true;
  }
  void release(std::uint64_t n) {
    {
      std::lock_guard lock(mutex_);
      count_ += n;
    }
    // Every waiter wants the same weight, so one wake per release suffices.
    available_.notify_one();
  }

 private:
  boost::fibers::mutex mutex_;
  boost::fibers::condition_variable available_;
  std::uint64_t count_;  // guarded by mutex_
};

}  // namespace peers

class fiber_kit : public owning_kit<boost::fibers::mutex, boost::fibers::condition_variable> {
 public:
  static constexpr bool has_coroutines = false;

  template <class Pred>
  static void wait(condvar_type& cv, mutex_type& m, Pred pred) {
    std::unique_lock lock(m, std::adopt_lock);  // the caller holds m
    cv.wait(lock, pred);
    lock.release();  // and still holds it afterwards
  }

  template <class Out>
  void add_stats(Out&) const {}
};

namespace waiting {

/// Fibers: the thread waiters' blocking calls (they block the fiber), but a
/// holder yields and an open loop waits the fiber's way, never the thread's.
struct on_fibers : blocking {
  static auto hold(hold_mode mode) {
    return blocking_call{[mode] {
      switch (mode) {
        case hold_mode::none: break;
        case hold_mode::yield: boost::this_fiber::yield(); break;
        case hold_mode::timer: boost::this_fiber::sleep_for(std::chrono::nanoseconds(0)); break;
      }
    }};
  }
  static auto idle_until(std::uint64_t deadline_ns, const std::atomic<bool>& stop) {
    return blocking_call{[deadline_ns, &stop] {
      for (std::uint64_t now = now_ns(); now < deadline_ns; now = now_ns()) {
        if (stop.load(std::memory_order_relaxed)) return;
        const std::uint64_t left = deadline_ns - now;
        if (left > detail::spin_window_ns) {
          boost::this_fiber::sleep_for(std::chrono::nanoseconds(
              std::min<std::uint64_t>(left - detail::spin_window_ns, 1'000'000)));
        } else {
          boost::this_fiber::yield();
        }
      }
    }};
  }
};

}  // namespace waiting

/// run_control::launch_fibers for the peer: makes `bodies` fibers of the
/// calling thread's round-robin scheduler, posted but not running (the
/// thread goes on to the start line, which blocks the thread, not a fiber),
/// and returns what runs them: joining them all, on the same thread.
inline std::function<void()> launch_fibers(std::vector<std::function<void()>> bodies) {
  auto owned = std::make_shared<std::vector<std::function<void()>>>(std::move(bodies));
  auto fibers = std::make_shared<std::vector<boost::fibers::fiber>>();
  fibers->reserve(owned->size());
  for (auto& body : *owned) fibers->emplace_back(boost::fibers::launch::post, std::ref(body));
  return [owned, fibers] {
    for (auto& f : *fibers) f.join();
  };
}

}  // namespace csync::bench

#endif  // CSYNC_BENCH_HAVE_BOOST_FIBER
