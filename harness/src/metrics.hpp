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
//   summary             median, mean, stddev and a 95% bootstrap CI of the
//                       median over the repetitions of a cell.
//   burn_for            busy work of a given length (critical section, think
//                       time), and timer_cost_ns: what one clock read costs.
// -----------------------------------------------------------------------------
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
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

/// Median, mean, stddev and the 95% CI of the median (percentile bootstrap,
/// 2000 resamples, seeded so reports are reproducible).
struct summary {
  double median = 0, mean = 0, stddev = 0, ci95_low = 0, ci95_high = 0;
  std::size_t n = 0;

  static summary of(std::vector<double> samples, std::uint64_t seed);
  nlohmann::json to_json(const char* unit) const;
};

/// Spins (reading the clock) for `ns` nanoseconds; returns at once for 0.
void burn_for(std::uint64_t ns) noexcept;
/// Spins until now_ns() >= `deadline_ns`.
void burn_until(std::uint64_t deadline_ns) noexcept;

/// The cost of one bench_clock::now(), measured once (median of 9 batches).
double timer_cost_ns();

}  // namespace csync::bench
