// harness/src/invocations.hpp
// -----------------------------------------------------------------------------
// `csync-bench run --invocations N`: the sweep runs in N fresh csync-bench
// processes, one after the other, each writing its own report
// (OUTPUT.invocation-K.json, kept), and their reports are merged into
// OUTPUT. Repetitions inside one process share what that process drew --
// its memory layout, the state it found the CPUs in, where the scheduler put
// its threads -- so a run in one process shows less variation than a
// reader who runs it again will see (Kalibera & Jones, "Rigorous
// benchmarking in reasonable time"). The merged report keeps every
// repetition, tagged with its invocation, and summarizes each cell over the
// invocations' medians, the independent units (aggregates.hpp).
// -----------------------------------------------------------------------------
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner.hpp"

namespace csync::bench {

/// Runs options.invocations child processes of this executable and merges
/// their reports into options.output_path. With options.resume, a complete
/// invocation report made by this binary is kept and an incomplete one
/// resumed. Exit status as run_scenario's.
int run_invocations(const run_options& options, std::ostream& err);

/// Where invocation `k` (1-based) of a run writing `output` puts its report.
std::string invocation_report_path(const std::string& output, std::uint32_t k);

/// One report of complete invocation reports of the same scenario made by
/// the same binary (throws std::runtime_error naming what differs): the
/// first one's context, scenario and exclusions; per cell, every
/// invocation's repetitions tagged `invocation` (from 1), aggregates and
/// peer ratios over all of them (aggregates.hpp), the latency histograms
/// summed, and the diagnostic runs combined. A cell that failed in any
/// invocation is that failed entry (`invocation` says which).
nlohmann::json merge_invocations(const std::vector<nlohmann::json>& parts);

}  // namespace csync::bench
