// harness/src/catalog.hpp
// -----------------------------------------------------------------------------
// Every strategy and peer csync-bench knows, what each can run, and how to run
// one repetition of a cell with it. The only place that names strategy types:
// the rest of the harness works with names.
// -----------------------------------------------------------------------------
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "scenario.hpp"
#include "workloads.hpp"

namespace csync::bench {

/// What a csync strategy's statistics hook counted (csync::counting_stats).
struct strategy_counts {
  std::uint64_t wakes = 0;
  std::uint64_t spurious = 0;
  std::uint64_t futile = 0;
};

/// A run's measurements plus, for a csync strategy's diagnostic run, its
/// statistics hook's counts (nullopt otherwise: peers have no hook).
struct repetition_result {
  repetition_data data;
  std::optional<strategy_counts> counts;
};

struct strategy_runner {
  std::string name;
  bool is_peer = false;
  bool has_spin_budget = false;
  /// Empty when this machine can run it; else why not ("io_uring disabled ...").
  std::string unavailable_reason;
  std::function<bool(workload_kind, waiter_kind)> supports;
  /// Why this strategy cannot run these parameters (fifo without a queue,
  /// a weight the peer cannot take), or nullopt.
  std::function<std::optional<std::string>(const cell_params&)> refuses;
  std::function<repetition_result(const cell_params&, const run_control&)> run;
};

/// Every strategy (csync first, in the order of docs/design.md) and peer.
const std::vector<strategy_runner>& all_strategies();
const strategy_runner* find_strategy(std::string_view name);

/// The loader's view of all_strategies().
strategy_catalog make_catalog();

}  // namespace csync::bench
