// harness/src/catalog.cpp -- see catalog.hpp.
#include "catalog.hpp"

#include <memory>
#include <stdexcept>
#include <type_traits>
#include <string>

#include <csync/csync.hpp>
#include <csync/strategies/futex.hpp>
#include <csync/strategies/iocp.hpp>
#include <csync/strategies/uring_futex.hpp>

#include "peers.hpp"
#include "peers_fiber.hpp"
#include "workloads_condvar.hpp"
#include "workloads_io.hpp"

namespace csync::bench {
namespace {

/// Runs the cell's workload with the semaphores made (and owned) by
/// `make_sem` and the mutexes and condition variables of `kit`. Coroutine
/// cells use `CoroutinePolicy`: waiting::suspending for csync (its async
/// API on loops), waiting::on_fibers for the fiber peer; the thread peers
/// have none (void) and run thread cells only.
template <class Sem, class Kit, class CoroutinePolicy, class MakeSem>
repetition_data run_workload(MakeSem& make_sem, Kit& kit, const cell_params& p,
                             const run_control& ctl) {
  constexpr bool Coroutines = std::is_same_v<CoroutinePolicy, waiting::suspending>;
  auto with_policy = [&]<class W>(W) -> repetition_data {
    switch (p.workload) {
      case workload_kind::semaphore: return semaphore_workload<W>(*make_sem(p.permits), p, ctl);
      case workload_kind::pingpong: return pingpong_workload<W, Sem>(make_sem, p, ctl);
      case workload_kind::condvar: return condvar_workload<W>(kit, p, ctl);
      case workload_kind::broadcast: return broadcast_workload<W>(kit, p, ctl);
      case workload_kind::mixed_io:
#if CSYNC_HAVE_URING_BACKEND
        if constexpr (Coroutines) return mixed_io_workload(*make_sem(p.permits), p, ctl);
#endif
        break;
    }
    throw std::logic_error("csync-bench: workload " + std::string(to_string(p.workload)) +
                           " reached a strategy that does not support it");
  };
  if constexpr (!std::is_void_v<CoroutinePolicy>) {
    if (p.waiters == waiter_kind::coroutines) return with_policy(CoroutinePolicy{});
  }
  return with_policy(waiting::blocking{});
}

/// One run of a cell with csync strategy S (`Basic<Stats>`).
template <class S>
repetition_result run_csync(const cell_params& p, const run_control& ctl) {
  typename S::options options{};
  if constexpr (requires { options.spin_budget; }) {
    if (p.spin_budget) options.spin_budget = *p.spin_budget;
  }
  const csync::fairness policy =
      p.fairness == fairness_choice::fifo      ? csync::fairness::fifo
      : p.fairness == fairness_choice::barging ? csync::fairness::barging
                                               : csync::default_fairness<S>;
  using Sem = csync::Semaphore<S>;
  std::vector<std::unique_ptr<Sem>> made;
  auto make_sem = [&](std::uint64_t permits) {
    made.push_back(std::make_unique<Sem>(permits, policy, options));
    return made.back().get();
  };
  csync_kit<S> kit(policy, options);
  repetition_result result;
  result.data = run_workload<Sem, csync_kit<S>, waiting::suspending>(make_sem, kit, p, ctl);
  if constexpr (!std::is_same_v<std::remove_cvref_t<decltype(std::declval<S&>().stats())>,
                                 csync::no_stats>) {
    strategy_counts counts;
    for (const auto& sem : made) {
      const auto s = sem->strategy().stats().read();
      counts.wakes += s.wakes;
      counts.spurious += s.spurious;
      counts.futile += s.futile;
    }
    kit.add_stats(counts);
    result.counts = counts;
  }
  return result;
}

/// A csync strategy: `Basic<no_stats>` -- what users get, the same code the
/// peers are compared with -- for throughput and latency runs, and
/// `Basic<counting_stats>` for the diagnostic run that reads the statistics.
template <template <csync::stats_hook> class Basic>
strategy_runner csync_runner() {
  using measured = Basic<csync::no_stats>;
  strategy_runner r;
  r.name = std::string(measured::name);
  r.has_spin_budget = requires(typename measured::options o) { o.spin_budget; };
  if (const csync::availability a = measured::availability(); !a.available) {
    r.unavailable_reason = std::string(a.reason);
  }
  r.supports = [](workload_kind w, waiter_kind k) {
    return w != workload_kind::mixed_io || k == waiter_kind::coroutines;
  };
  r.refuses = [](const cell_params& p) -> std::optional<std::string> {
    if (p.workload == workload_kind::mixed_io) {
#if CSYNC_HAVE_URING_BACKEND
      if (!csync::runtime::probe_uring().ring_ok) {
        return "mixed_io needs the io_uring loop backend: " +
               std::string(csync::runtime::probe_uring().ring_reason);
      }
#else
      return std::string("mixed_io needs the io_uring loop backend: built without liburing");
#endif
    }
    if (p.fairness == fairness_choice::fifo && !measured::has_queue) {
      return "strategy " + std::string(measured::name) + " has no queue: fairness fifo is impossible";
    }
    if (p.permits > csync::Semaphore<measured>::max_permits) return "permits above Semaphore::max_permits";
    return std::nullopt;
  };
  r.run = [](const cell_params& p, const run_control& ctl) {
    return ctl.mode == run_mode::diagnostic ? run_csync<Basic<csync::counting_stats>>(p, ctl)
                                            : run_csync<measured>(p, ctl);
  };
  return r;
}

/// A csync strategy that is not compiled on this platform: listed, so that
/// scenarios naming it load everywhere, and every cell reports it
/// "unavailable" with `reason`.
[[maybe_unused]] strategy_runner not_compiled_runner(std::string name, std::string reason,
                                                     bool spin_budget) {
  strategy_runner r;
  r.name = std::move(name);
  r.has_spin_budget = spin_budget;
  r.unavailable_reason = std::move(reason);
  r.supports = [](workload_kind w, waiter_kind k) {
    return w != workload_kind::mixed_io || k == waiter_kind::coroutines;
  };
  r.refuses = [](const cell_params&) { return std::optional<std::string>{}; };
  r.run = [name = r.name](const cell_params&, const run_control&) -> repetition_result {
    throw std::logic_error("csync-bench: strategy " + name + " is not compiled here");
  };
  return r;
}

/// A peer (thread waiters only): a semaphore for the semaphore workloads
/// and, where it has one, a Kit (mutex + condition variable) for the
/// condvar workloads.
template <class Peer, class Kit = void>
strategy_runner peer_runner(std::string name,
                            std::function<std::optional<std::string>(const cell_params&)> refuses) {
  strategy_runner r;
  r.name = std::move(name);
  r.is_peer = true;
  r.supports = [](workload_kind w, waiter_kind k) {
    if (k != waiter_kind::threads || w == workload_kind::mixed_io) return false;
    const bool needs_kit = w == workload_kind::condvar || w == workload_kind::broadcast;
    return !needs_kit || !std::is_void_v<Kit>;
  };
  r.refuses = std::move(refuses);
  r.run = [](const cell_params& p, const run_control& ctl) {
    std::vector<std::unique_ptr<Peer>> made;
    auto make_sem = [&](std::uint64_t permits) {
      made.push_back(std::make_unique<Peer>(permits));
      return made.back().get();
    };
    using kit_type = std::conditional_t<std::is_void_v<Kit>, std_kit, Kit>;  // unused if void
    kit_type kit;
    repetition_result result;  // no statistics hook: counts stay nullopt
    result.data = run_workload<Peer, kit_type, void>(make_sem, kit, p, ctl);
    return result;
  };
  return r;
}

/// A peer this build cannot run (a library missing, or a sanitizer build
/// it is invisible to): listed, so that scenarios naming it load and its
/// cells report it "unavailable" with `reason` (CMake's).
[[maybe_unused]] strategy_runner unavailable_peer_runner(
    std::string name, std::string reason, std::function<bool(workload_kind, waiter_kind)> supports) {
  strategy_runner r;
  r.name = std::move(name);
  r.is_peer = true;
  r.unavailable_reason = std::move(reason);
  r.supports = std::move(supports);
  r.refuses = [](const cell_params&) { return std::optional<std::string>{}; };
  r.run = [name = r.name](const cell_params&, const run_control&) -> repetition_result {
    throw std::logic_error("csync-bench: peer " + name + " is not built here");
  };
  return r;
}

bool runs_coroutine_cells(workload_kind w, waiter_kind k) {
  return k == waiter_kind::coroutines && w != workload_kind::mixed_io;
}

/// The userspace-task peer of the coroutine cells (peers_fiber.hpp): tasks
/// are Boost.Fiber fibers on `loops` threads.
strategy_runner fiber_peer_runner() {
#if CSYNC_BENCH_HAVE_BOOST_FIBER
  strategy_runner r;
  r.name = "boost_fiber";
  r.is_peer = true;
  r.supports = runs_coroutine_cells;
  r.refuses = [](const cell_params&) { return std::optional<std::string>{}; };
  r.run = [](const cell_params& p, const run_control& ctl) {
    using Sem = peers::boost_fiber_semaphore;
    std::vector<std::unique_ptr<Sem>> made;
    auto make_sem = [&](std::uint64_t permits) {
      made.push_back(std::make_unique<Sem>(permits));
      return made.back().get();
    };
    fiber_kit kit;
    run_control on_fibers = ctl;
    on_fibers.launch_fibers = &launch_fibers;
    repetition_result result;  // no statistics hook: counts stay nullopt
    result.data = run_workload<Sem, fiber_kit, waiting::on_fibers>(make_sem, kit, p, on_fibers);
    return result;
  };
  return r;
#else
  return unavailable_peer_runner("boost_fiber", CSYNC_BENCH_BOOST_FIBER_UNAVAILABLE,
                                 runs_coroutine_cells);
#endif
}

std::vector<strategy_runner> build() {
  std::vector<strategy_runner> all;
  all.push_back(csync_runner<csync::strategy::basic_mutex_queue>());
  all.push_back(csync_runner<csync::strategy::basic_spin>());
  all.push_back(csync_runner<csync::strategy::basic_atomic_waker>());
  all.push_back(csync_runner<csync::strategy::basic_intrusive_list>());
#if defined(CSYNC_HAVE_FUTEX)
  all.push_back(csync_runner<csync::strategy::basic_futex>());
#else
  all.push_back(not_compiled_runner(
      "futex", "strategy::futex is compiled on Linux (futex(2)) and Windows (WaitOnAddress) only",
      true));
#endif
#if defined(CSYNC_HAVE_URING_FUTEX)
  all.push_back(csync_runner<csync::strategy::basic_uring_futex>());
#elif defined(_WIN32)
  all.push_back(not_compiled_runner(
      "uring_futex", "io_uring is a Linux kernel interface; strategy::uring_futex is compiled out on Windows",
      true));
#else
  all.push_back(not_compiled_runner(
      "uring_futex", "built without the io_uring backend (not Linux, CSYNC_WITH_URING=0 or no liburing)",
      true));
#endif
  // Compiled everywhere; availability() is false off Windows, with the reason.
  all.push_back(csync_runner<csync::strategy::basic_iocp>());
  all.push_back(peer_runner<peers::std_counting_semaphore>(
      "std_counting_semaphore", [](const cell_params& p) -> std::optional<std::string> {
        if (p.weight != 1) return "std::counting_semaphore has no weighted acquire (weight must be 1)";
        if (p.permits > static_cast<std::uint64_t>(std::counting_semaphore<>::max())) {
          return "permits above std::counting_semaphore<>::max()";
        }
        return std::nullopt;
      }));
  all.push_back(peer_runner<peers::std_mutex_condvar, std_kit>(
      "std_mutex_condvar", [](const cell_params&) { return std::optional<std::string>{}; }));
#if defined(CSYNC_DETAIL_HAVE_FUTEX)
  all.push_back(peer_runner<peers::futex_spin_then_block>(
      "futex_spin_then_block", [](const cell_params& p) -> std::optional<std::string> {
        if (p.permits > UINT32_MAX / 2) return "permits above the 32-bit futex word's range";
        return std::nullopt;
      }));
#endif
#if CSYNC_BENCH_HAVE_ABSL
  all.push_back(peer_runner<peers::absl_mutex, absl_kit>(
      "absl_mutex", [](const cell_params&) { return std::optional<std::string>{}; }));
#else
  all.push_back(unavailable_peer_runner("absl_mutex", CSYNC_BENCH_ABSL_UNAVAILABLE,
                                        [](workload_kind w, waiter_kind k) {
                                          return k == waiter_kind::threads &&
                                                 w != workload_kind::mixed_io;
                                        }));
#endif
  all.push_back(fiber_peer_runner());
  return all;
}

}  // namespace

const std::vector<strategy_runner>& all_strategies() {
  static const std::vector<strategy_runner> all = build();
  return all;
}

const strategy_runner* find_strategy(std::string_view name) {
  for (const strategy_runner& r : all_strategies()) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

strategy_catalog make_catalog() {
  strategy_catalog catalog;
  for (const strategy_runner& r : all_strategies()) {
    catalog.entries.push_back({r.name, r.is_peer, r.has_spin_budget, r.supports});
  }
  return catalog;
}

}  // namespace csync::bench
