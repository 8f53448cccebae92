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

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <boost/fiber/all.hpp>

#include "peers.hpp"
#include "workloads.hpp"
#include "workloads_condvar.hpp"

namespace csync::bench {

namespace peers {
using boost_fiber_semaphore =
    counted_semaphore<boost::fibers::mutex, boost::fibers::condition_variable>;
}  // namespace peers

using fiber_kit = unique_lock_kit<boost::fibers::mutex, boost::fibers::condition_variable>;

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
      detail::idle_until(
          deadline_ns, stop, [](std::chrono::nanoseconds d) { boost::this_fiber::sleep_for(d); },
          [] { boost::this_fiber::yield(); });
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
