// harness/src/metrics.hpp
// -----------------------------------------------------------------------------
// What csync-bench measures, and the arithmetic on it:
//
//   latency_histogram   log-linear buckets (32 linear sub-buckets per power of
//                       two: <= 3.2% relative error), mergeable across
//                       workers, exact count / min / max / sum.
//   fairness            Jain's index, relative stddev, min/max ops per worker.
//   window_usage        CPU time and context switches of the workers over
//                       the measured window (platform::thread_meter; Windows
//                       has no switch counts: switches_known is false there).
//   op_sampler          which operations a latency run times: independent,
//                       geometric gaps.
//   summary             median, mean, stddev and the median's distribution-
//                       free interval (order statistics, exact coverage).
//   ratio_of            a ratio of two samples' locations with its exact
//                       interval (Hodges-Lehmann on log values).
//   burn_for            busy work of a given CPU length (critical section,
//                       think time), and timer_cost_ns: what one clock read
//                       costs.
// -----------------------------------------------------------------------------
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

namespace csync::bench {

using bench_clock = std::chrono::steady_clock;

inline std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(bench_clock::now().time_since_epoch())
          .count());
}

class latency_histogram {
 public:
  static constexpr unsigned sub_bits = 5;  // 32 sub-buckets per power of two
  static constexpr std::size_t bucket_count = (64 - sub_bits + 1) << sub_bits;

  void record(std::uint64_t ns) noexcept {
    ++buckets_[index_of(ns)];
    ++count_;
    sum_ += ns;
    if (ns < min_) min_ = ns;
    if (ns > max_) max_ = ns;
  }
  void merge(const latency_histogram& other) noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return count_ ? max_ : 0; }
  /// The value below which a fraction q of the samples lie (bucket midpoint,
  /// clamped to the exact min and max). 0 when empty.
  std::uint64_t percentile(double q) const noexcept;

  /// {count, min, mean, p50, p90, p99, p999, max} in ns.
  nlohmann::json summary_json() const;
  /// Non-empty buckets as [[lower_bound_ns, count], ...], for CCDF plots.
  nlohmann::json buckets_json() const;

  static std::size_t index_of(std::uint64_t v) noexcept {
    if (v < (std::uint64_t{1} << sub_bits)) return static_cast<std::size_t>(v);
    const unsigned msb = 63u - static_cast<unsigned>(__builtin_clzll(v));
    const unsigned shift = msb - sub_bits;
    return (std::size_t{shift + 1} << sub_bits) +
           static_cast<std::size_t>((v >> shift) - (std::uint64_t{1} << sub_bits));
  }
  static std::uint64_t lower_bound_of(std::size_t index) noexcept;
  static std::uint64_t width_of(std::size_t index) noexcept;

 private:
  std::array<std::uint64_t, bucket_count> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

struct fairness_summary {
  double jain = 1.0;          ///< (sum x)^2 / (n sum x^2); 1 = perfectly fair
  double relative_stddev = 0; ///< stddev / mean of ops per worker
  std::uint64_t min_ops = 0;
  std::uint64_t max_ops = 0;

  static fairness_summary of(std::span<const std::uint64_t> ops_per_worker) noexcept;
  nlohmann::json to_json() const;
};

/// CPU time (user + system) and context switches of the worker threads over
/// the measured window (platform::thread_meter, read by the controller).
struct window_usage {
  std::uint64_t cpu_ns = 0;
  std::uint64_t voluntary_switches = 0;
  std::uint64_t involuntary_switches = 0;
  /// False where the platform has no per-thread switch count (Windows): the
  /// switch fields are then 0 and the report says null.
  bool switches_known = true;
};

/// Which operations a worker times. Each operation is chosen independently
/// with probability 1 / mean_every -- the gaps are geometric, drawn from a
/// per-worker seed -- so the samples are neither phase-locked to the start
/// line nor to a partner's samples, as `i % n == 0` is. A default-constructed
/// sampler never chooses (throughput and diagnostic runs).
class op_sampler {
 public:
  op_sampler() = default;
  op_sampler(std::uint32_t mean_every, std::uint64_t seed) noexcept;

  /// Whether to time the next operation. One decrement per call; a draw
  /// (a few ns) only after a chosen one.
  bool next() noexcept {
    if (--countdown_ != 0) return false;
    countdown_ = draw();
    return true;
  }

 private:
  std::uint64_t draw() noexcept;

  std::uint64_t countdown_ = UINT64_MAX;  ///< operations until the next chosen one
  double log_keep_ = 0;                   ///< log(1 - 1/mean_every); 0: every operation
  std::uint64_t rng_ = 0;                 ///< splitmix64 state
};

/// Uniform in (0, 1] from a splitmix64 state (advances it).
double uniform_open0(std::uint64_t& state) noexcept;

/// The confidence level csync-bench aims its intervals at.
inline constexpr double ci_level = 0.95;

/// A distribution-free interval and the probability with which it covers
/// what it estimates (exact, not the level aimed at).
struct interval {
  double low = 0, high = 0;
  double coverage = 0;  ///< exact; below ci_level when n is too small to reach it
};

/// The median's interval from order statistics: [x(k), x(n+1-k)] for the
/// largest k whose coverage 1 - 2 P(Binomial(n, 1/2) <= k-1) is at least
/// `level`; where even k = 1 covers less (n <= 5 for 95 %), [x(1), x(n)]
/// with its lower coverage. Needs no assumption about the distribution
/// beyond independent repetitions. `sorted` ascending, non-empty.
interval median_interval(const std::vector<double>& sorted, double level = ci_level);

/// The ratio a / b of two positive samples' locations: the Hodges-Lehmann
/// estimate exp(median of log a_i - log b_j) with its exact interval from
/// the Mann-Whitney U distribution (the k-th smallest and largest of the
/// n_a n_b pairwise differences; normal approximation above 50 per side).
/// Distribution-free under a shift of log values. Empty input or a
/// non-positive value: nullopt.
struct ratio_estimate {
  double ratio = 0;
  interval ci;
};
std::optional<ratio_estimate> ratio_of(const std::vector<double>& a, const std::vector<double>& b,
                                       double level = ci_level);

/// Repetitions grouped by the process (invocation) that measured them:
/// groups[k] holds invocation k's values. Repetitions in one process share
/// what the process drew (memory layout, the CPUs' state, the scheduler's
/// placement), so they are not independent of one another across groups.
using invocation_groups = std::vector<std::vector<double>>;

/// The median of each invocation's values (empty groups skipped). Invocations
/// are separate processes, so these are independent where the repetitions
/// of one process are not: the intervals of a merged report are order
/// statistics of them (aggregates.hpp).
std::vector<double> invocation_medians(const invocation_groups& groups);

/// One-way random-effects decomposition of the repetitions' spread: the
/// standard deviation within an invocation (pooled over invocations) and the
/// one between invocations' true means (what the spread of the invocation
/// means shows beyond what the within-spread explains; 0 when it shows
/// nothing more).
struct variance_components {
  double within_stddev = 0, between_stddev = 0;
  /// false: one value per invocation (or one invocation), so the two
  /// cannot be told apart; the report then says null for both.
  bool separable = false;
};
variance_components variance_components_of(const invocation_groups& groups);

/// Median, mean, stddev and the median's order-statistic interval over the
/// repetitions of a cell.
struct summary {
  double median = 0, mean = 0, stddev = 0;
  interval ci;
  std::size_t n = 0;

  static summary of(std::vector<double> samples);
  /// {median, mean, stddev, ci_low, ci_high, ci_coverage, n, unit}
  nlohmann::json to_json(const char* unit) const;
};

/// Busy work of about `ns` nanoseconds of CPU: a calibrated number of
/// iterations of a loop the compiler cannot remove (lockhammer's way), not
/// a spin on the clock -- so a burn that is preempted does the same work,
/// and the CPU it costs is what the workload asked for. Returns at once for 0.
void burn_for(std::uint64_t ns) noexcept;
/// What one iteration of burn_for's loop costs. Calibrated once, on first
/// use (csync-bench calibrates before any cell), after ~100 ms of spinning
/// to bring the core up to speed: a short and a long loop, each the fastest
/// of 9 timed batches, give a fixed cost per call and a cost
/// per iteration -- the fastest because interference only ever adds time (a
/// median taken while other work ran made every burn half as long).
double burn_ns_per_iteration();
/// The same measured afresh (not what burn_for uses): the report compares it
/// with the calibration at the end of a run, so a drift shows.
double burn_ns_per_iteration_now();

/// The cost of one bench_clock::now(), measured once (median of 9 batches).
double timer_cost_ns();

}  // namespace csync::bench
