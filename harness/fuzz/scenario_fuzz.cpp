// harness/fuzz/scenario_fuzz.cpp -- libFuzzer target for the scenario loader.
//
// parse_scenario promises to refuse any input with a scenario_error and never
// to crash: anything else escaping (another exception, a sanitizer report, a
// hang) is a finding. Built and run by scripts/fuzz-scenario.sh.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scenario.hpp"

namespace {

using namespace csync::bench;

/// Fixed, like the real one in shape: csync strategies with and without a
/// spin budget, and peers that run only some workloads with thread waiters.
const strategy_catalog& catalog() {
  static const strategy_catalog instance = [] {
    const auto all = [](workload_kind, waiter_kind) { return true; };
    const auto no_mixed_io_threads = [](workload_kind w, waiter_kind k) {
      return !(w == workload_kind::mixed_io && k == waiter_kind::threads);
    };
    const auto threads_semaphore = [](workload_kind w, waiter_kind k) {
      return k == waiter_kind::threads &&
             (w == workload_kind::semaphore || w == workload_kind::pingpong);
    };
    strategy_catalog c;
    c.entries = {{"mutex_queue", false, false, all},
                 {"spin", false, true, no_mixed_io_threads},
                 {"intrusive_list", false, false, no_mixed_io_threads},
                 {"futex", false, true, no_mixed_io_threads},
                 {"std_counting_semaphore", true, false, threads_semaphore},
                 {"std_mutex_condvar", true, false, threads_semaphore}};
    return c;
  }();
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const scenario s = parse_scenario(text, "fuzz.json", catalog());
    // Exercise what the runner and the report do with every cell.
    for (const cell_params& cell : s.cells) (void)cell.key();
    for (const excluded_cell& cell : s.excluded) (void)cell.params.to_json().dump();
  } catch (const scenario_error&) {
    // Refused cleanly: the expected outcome for most inputs.
  }
  return 0;
}
