// harness/src/aggregates.hpp
// -----------------------------------------------------------------------------
// What a cell's report entry says about its repetitions as a whole: the
// aggregates of every metric, the judgement of the harness's overhead and
// each csync cell's throughput relative to the peers at its point. One
// piece of code for a run's report and for the merge of several
// invocations' reports (invocations.hpp).
//
// Intervals: repetitions measured by one process are taken as independent
// and get the median's order-statistic interval, with its exact coverage.
// Repetitions tagged with more than one `invocation` (a merged report) are
// not: a process shares what it drew among its repetitions. There the unit
// of replication is the invocation: every summary is over the invocations'
// medians (its interval exact for N invocations: 75 % at 3, 93.75 % at 5,
// 95 % from 6), each ratio over the invocations' ratios of medians, and each
// metric also reports the repetitions' within- and between-invocation
// standard deviations. `ci_method` names the method.
// -----------------------------------------------------------------------------
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace csync::bench {

/// A latency run's timing must not change what it measures by more than this;
/// where the paired runs' interval lies above it, the cell's latencies are
/// flagged.
inline constexpr double overhead_limit = 0.02;

/// A cell's latency histograms summed over its runs: the entry's
/// `*_latency_histogram_ns` members, each [[lower_bound_ns, count], ...]
/// (latency_histogram::buckets_json). Sums of runs of one process, of a
/// resumed cell's earlier runs and of several invocations alike.
class histogram_sums {
 public:
  /// Adds `buckets` to the histogram named `name` (e.g. "acquire"); an
  /// empty list still makes it exist.
  void add(const std::string& name, const nlohmann::json& buckets);
  /// Adds every `*_latency_histogram_ns` member of a report entry.
  void add_entry(const nlohmann::json& entry);
  /// Writes them into `entry`: acquire always, the others where they exist.
  void write_to(nlohmann::json& entry) const;

 private:
  std::map<std::string, std::map<std::uint64_t, std::uint64_t>> sums_;
};

/// Aggregates over the repetitions (report-format.md, `aggregates`): median,
/// mean, stddev and the median's interval of each metric. A latency whose
/// median lies below `timer_floor_ns` is marked `below_timer_floor`.
nlohmann::json aggregates_json(const nlohmann::json& reps, double timer_floor_ns);

/// The judgement of the harness's timing overhead from the repetitions'
/// paired runs (report-format.md, `harness_overhead`).
nlohmann::json overhead_json(const nlohmann::json& reps, bool open_loop);

/// Each ok csync cell's throughput relative to every ok peer's at the same
/// parameter point (`throughput_vs_peers`): the Hodges-Lehmann ratio with
/// its exact interval, or, for merged invocations, the median of the
/// invocations' ratios of medians with its exact interval.
void add_peer_ratios(nlohmann::json& results);

}  // namespace csync::bench
