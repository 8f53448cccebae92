// harness/src/metrics.cpp -- see metrics.hpp.
#include "metrics.hpp"


#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace csync::bench {

// ---- latency_histogram --------------------------------------------------------

std::uint64_t latency_histogram::lower_bound_of(std::size_t index) noexcept {
  constexpr std::size_t linear = std::size_t{1} << sub_bits;
  if (index < linear) return index;
  const std::size_t shift = (index >> sub_bits) - 1;
  return (std::uint64_t{linear} + (index & (linear - 1))) << shift;
}

std::uint64_t latency_histogram::width_of(std::size_t index) noexcept {
  constexpr std::size_t linear = std::size_t{1} << sub_bits;
  if (index < linear) return 1;
  return std::uint64_t{1} << ((index >> sub_bits) - 1);
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  for (std::size_t i = 0; i < bucket_count; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

std::uint64_t latency_histogram::percentile(double q) const noexcept {
  if (count_ == 0) return 0;
  // The rank of the sample at quantile q (1-based, nearest rank).
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  if (rank >= count_) return max_;  // the largest sample is known exactly
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const std::uint64_t mid = lower_bound_of(i) + width_of(i) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

nlohmann::json latency_histogram::summary_json() const {
  return {
      {"count", count_},
      {"min", count_ ? min_ : 0},
      {"mean", count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0},
      {"p50", percentile(0.50)},
      {"p90", percentile(0.90)},
      {"p99", percentile(0.99)},
      {"p999", percentile(0.999)},
      {"max", max()},
  };
}

nlohmann::json latency_histogram::buckets_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < bucket_count; ++i) {
    if (buckets_[i] != 0) out.push_back({lower_bound_of(i), buckets_[i]});
  }
  return out;
}

// ---- fairness -------------------------------------------------------------------

fairness_summary fairness_summary::of(std::span<const std::uint64_t> ops) noexcept {
  fairness_summary f;
  if (ops.empty()) return f;
  double sum = 0, sum_sq = 0;
  f.min_ops = UINT64_MAX;
  for (std::uint64_t x : ops) {
    sum += static_cast<double>(x);
    sum_sq += static_cast<double>(x) * static_cast<double>(x);
    f.min_ops = std::min(f.min_ops, x);
    f.max_ops = std::max(f.max_ops, x);
  }
  const double n = static_cast<double>(ops.size());
  f.jain = sum_sq > 0 ? (sum * sum) / (n * sum_sq) : 1.0;
  const double mean = sum / n;
  const double variance = std::max(0.0, sum_sq / n - mean * mean);
  f.relative_stddev = mean > 0 ? std::sqrt(variance) / mean : 0.0;
  return f;
}

nlohmann::json fairness_summary::to_json() const {
  return {{"jain", jain}, {"relative_stddev", relative_stddev},
          {"min_ops", min_ops}, {"max_ops", max_ops}};
}

// ---- op_sampler -----------------------------------------------------------------

double uniform_open0(std::uint64_t& state) noexcept {
  // splitmix64 (Steele, Lea, Flood 2014): a full-period 64-bit generator.
  std::uint64_t z = (state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  z ^= z >> 31;
  return static_cast<double>((z >> 11) + 1) * 0x1.0p-53;  // (0, 1]
}

op_sampler::op_sampler(std::uint32_t mean_every, std::uint64_t seed) noexcept : rng_(seed) {
  log_keep_ = mean_every > 1 ? std::log1p(-1.0 / static_cast<double>(mean_every)) : 0.0;
  countdown_ = draw();  // the first chosen operation is random too, not the first one
}

std::uint64_t op_sampler::draw() noexcept {
  if (log_keep_ == 0) return 1;
  // Geometric on {1, 2, ...} with success probability p = 1 / mean_every:
  // 1 + floor(log(U) / log(1 - p)).
  const double gap = std::floor(std::log(uniform_open0(rng_)) / log_keep_);
  return 1 + static_cast<std::uint64_t>(std::min(gap, 1e15));
}

// ---- summary --------------------------------------------------------------------

namespace {
double median_of(std::vector<double>& v) {
  const std::size_t n = v.size();
  std::sort(v.begin(), v.end());
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
}  // namespace

summary summary::of(std::vector<double> samples, std::uint64_t seed) {
  summary s;
  s.n = samples.size();
  if (samples.empty()) return s;
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(s.n);
  double ss = 0;
  for (double x : samples) ss += (x - s.mean) * (x - s.mean);
  s.stddev = s.n > 1 ? std::sqrt(ss / static_cast<double>(s.n - 1)) : 0.0;
  s.median = median_of(samples);
  if (s.n == 1) {
    s.ci95_low = s.ci95_high = s.median;
    return s;
  }
  constexpr int resamples = 2000;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, s.n - 1);
  std::vector<double> medians(resamples), draw(s.n);
  for (double& m : medians) {
    for (double& d : draw) d = samples[pick(rng)];
    m = median_of(draw);
  }
  std::sort(medians.begin(), medians.end());
  s.ci95_low = medians[static_cast<std::size_t>(0.025 * (resamples - 1))];
  s.ci95_high = medians[static_cast<std::size_t>(0.975 * (resamples - 1))];
  return s;
}

nlohmann::json summary::to_json(const char* unit) const {
  return {{"median", median}, {"mean", mean},         {"stddev", stddev}, {"ci95_low", ci95_low},
          {"ci95_high", ci95_high}, {"n", n}, {"unit", unit}};
}

// ---- time -------------------------------------------------------------------------

void burn_for(std::uint64_t ns) noexcept {
  if (ns == 0) return;
  burn_until(now_ns() + ns);
}

void burn_until(std::uint64_t deadline_ns) noexcept {
  while (now_ns() < deadline_ns) {
  }
}

double timer_cost_ns() {
  static const double cost = [] {
    constexpr int batch = 20000;
    std::vector<double> per_read;
    for (int b = 0; b < 9; ++b) {
      const auto t0 = bench_clock::now();
      std::uint64_t sink = 0;
      for (int i = 0; i < batch; ++i) sink += now_ns();
      const auto t1 = bench_clock::now();
      asm volatile("" : : "r"(sink));
      per_read.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / batch);
    }
    return median_of(per_read);
  }();
  return cost;
}

}  // namespace csync::bench
