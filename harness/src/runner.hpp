// harness/src/runner.hpp
// -----------------------------------------------------------------------------
// Runs a scenario and writes its report: the data path
//   scenario (scenario.hpp) -> cells -> rounds: round r visits every cell
//   that has a repetition r, in a fresh random order (a warmup run, then the
//   paired throughput and latency runs, workloads.hpp via catalog.hpp) ->
//   a last round of diagnostic runs completes each cell -> metrics and
//   aggregates (metrics.hpp) -> report (report.hpp), written after every
//   completed cell. With --invocations N, run_invocations runs that sweep in
//   N fresh processes and merges their reports (invocations.hpp).
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "scenario.hpp"

namespace csync::bench {

struct run_options {
  std::string scenario_path;
  std::string output_path;               ///< the report (JSON)
  std::vector<std::string> strategies;   ///< only these csync strategies (peers stay); empty: all
  std::optional<std::uint32_t> repetitions;
  bool quick = false;   ///< durations capped (see docs/scenario-format.md, "--quick")
  bool smoke = false;   ///< one 5 ms repetition per cell, no warmup: runs, measures nothing
  bool resume = false;  ///< keep the finished cells of an existing report at output_path
  std::optional<std::uint64_t> seed;     ///< cell order, samplers, arrivals; default: random
  bool gbench_format = false;            ///< also write OUTPUT.gbench.json
  std::vector<std::string> command_line; ///< argv, for the report's provenance
  /// A reference run (results/): refused from a dirty or unknown tree, with
  /// --quick or --smoke, or on a machine whose 1-minute load average exceeds
  /// `max_load` at the start.
  bool reference = false;
  double max_load = 0.5;
  /// --invocations: run the sweep in this many fresh processes and merge
  /// their reports (run_invocations); 1: this process runs it.
  std::uint32_t invocations = 1;
};

/// Exit codes (documented in `csync-bench --help` and the README).
enum exit_code : int {
  exit_ok = 0,
  exit_failure = 1,      ///< a csync cell failed (exclusion violated, lost wake-up) or I/O failed
  exit_bad_input = 2,    ///< bad scenario, unknown strategy, bad option
  exit_interrupted = 130 ///< SIGINT: the report holds every finished cell
};

/// Set by the SIGINT handler; the runner abandons the current cell.
extern std::atomic<bool> interrupt_requested;

int run_scenario(const run_options& options, std::ostream& err);

/// Why --reference refuses this run ("" if it does not): a csync-bench built
/// from a dirty or unknown tree, --quick or --smoke, or a 1-minute load
/// average above options.max_load now.
std::string reference_refusal(const run_options& options);

/// The CPUs of this process's affinity mask in the order workers are pinned
/// to them: compact fills a core's SMT siblings, then the next core of the
/// same package; spread takes one CPU per core first, siblings last; none
/// gives an empty list (no pinning).
std::vector<int> pin_order(pinning mode);

}  // namespace csync::bench
