// harness/src/metrics.cpp -- see metrics.hpp.
#include "metrics.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>
#include <utility>

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

// ---- intervals ------------------------------------------------------------------

namespace {
double median_of(std::vector<double>& v) {
  const std::size_t n = v.size();
  std::sort(v.begin(), v.end());
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// P(Binomial(n, 1/2) <= j) for j = 0..n, by the recurrence on C(n, j) in
/// log space (n is at most a few thousand repetitions).
std::vector<double> binomial_half_cdf(std::size_t n) {
  std::vector<double> cdf(n + 1);
  double log_c = 0, sum = 0;  // log C(n, 0)
  const double log_half_n = static_cast<double>(n) * std::log(0.5);
  for (std::size_t j = 0; j <= n; ++j) {
    if (j > 0) log_c += std::log(static_cast<double>(n - j + 1)) - std::log(static_cast<double>(j));
    sum += std::exp(log_c + log_half_n);
    cdf[j] = std::min(1.0, sum);
  }
  return cdf;
}

/// P(U <= u) for u = 0..m n under the null (no ties): the number of ways to
/// interleave m and n samples with u inversions, over C(m+n, m).
std::vector<double> mann_whitney_cdf(std::size_t m, std::size_t n) {
  // f[i][u]: orderings of i a's and j b's in which u (a, b) pairs have the a
  // above, one b at a time; the largest element is an a (above all j b's)
  // or a b: f(i, j, u) = f(i-1, j, u-j) + f(i, j-1, u).
  const std::size_t top = m * n;
  std::vector<std::vector<double>> f(m + 1, std::vector<double>(top + 1, 0.0));
  for (std::size_t i = 0; i <= m; ++i) f[i][0] = 1;  // j = 0
  for (std::size_t j = 1; j <= n; ++j) {
    for (std::size_t i = 1; i <= m; ++i) {  // f[i] at j from f[i] at j-1 and f[i-1] at j
      std::vector<double> next(top + 1, 0.0);
      for (std::size_t u = 0; u <= top; ++u) {
        next[u] = f[i][u] + (u >= j ? f[i - 1][u - j] : 0.0);
      }
      f[i] = std::move(next);
    }
  }
  std::vector<double> cdf(top + 1);
  double total = 0, sum = 0;
  for (double c : f[m]) total += c;
  for (std::size_t u = 0; u <= top; ++u) {
    sum += f[m][u];
    cdf[u] = std::min(1.0, sum / total);
  }
  return cdf;
}

/// The largest k (1-based) with 1 - 2 cdf[k-1] >= level, or 1; and its coverage.
std::pair<std::size_t, double> symmetric_rank(const std::vector<double>& cdf, std::size_t count,
                                              double level) {
  std::size_t k = 1;
  while (k < (count + 1) / 2 && 1 - 2 * cdf[k] >= level) ++k;
  return {k, 1 - 2 * cdf[k - 1]};
}
}  // namespace

interval median_interval(const std::vector<double>& sorted, double level) {
  const std::size_t n = sorted.size();
  if (n == 1) return {sorted[0], sorted[0], 0.0};
  const auto [k, coverage] = symmetric_rank(binomial_half_cdf(n), n, level);
  return {sorted[k - 1], sorted[n - k], coverage};
}

std::optional<ratio_estimate> ratio_of(const std::vector<double>& a, const std::vector<double>& b,
                                       double level) {
  if (a.empty() || b.empty()) return std::nullopt;
  for (const auto* side : {&a, &b}) {
    for (double x : *side) {
      if (!(x > 0)) return std::nullopt;
    }
  }
  std::vector<double> d;
  d.reserve(a.size() * b.size());
  for (double x : a) {
    for (double y : b) d.push_back(std::log(x) - std::log(y));
  }
  std::sort(d.begin(), d.end());
  std::vector<double> for_median = d;
  ratio_estimate r;
  r.ratio = std::exp(median_of(for_median));
  const std::size_t count = d.size();
  std::size_t k = 1;
  double coverage = 0;
  if (a.size() <= 50 && b.size() <= 50) {
    std::tie(k, coverage) = symmetric_rank(mann_whitney_cdf(a.size(), b.size()), count, level);
  } else {
    // Normal approximation of U: mean m n / 2, variance m n (m + n + 1) / 12.
    const double m = static_cast<double>(a.size()), n = static_cast<double>(b.size());
    const double z = 1.959963984540054;  // the 97.5 % normal quantile: level 0.95
    const double half = z * std::sqrt(m * n * (m + n + 1) / 12);
    k = static_cast<std::size_t>(std::max(1.0, std::floor(m * n / 2 - half)));
    coverage = level;
  }
  r.ci = {std::exp(d[k - 1]), std::exp(d[count - k]), coverage};
  return r;
}

// ---- invocations ----------------------------------------------------------------

std::vector<double> invocation_medians(const invocation_groups& groups) {
  std::vector<double> out;
  for (std::vector<double> g : groups) {
    if (!g.empty()) out.push_back(median_of(g));
  }
  return out;
}

variance_components variance_components_of(const invocation_groups& groups) {
  double within_ss = 0, within_df = 0;
  std::vector<double> means;
  double size_sum = 0;
  for (const auto& g : groups) {
    if (g.empty()) continue;
    const double mean = std::accumulate(g.begin(), g.end(), 0.0) / static_cast<double>(g.size());
    for (double x : g) within_ss += (x - mean) * (x - mean);
    within_df += static_cast<double>(g.size() - 1);
    means.push_back(mean);
    size_sum += static_cast<double>(g.size());
  }
  variance_components out;
  if (within_df == 0) return out;  // one repetition per invocation: nothing to separate
  const double within = within_ss / within_df;
  out.within_stddev = std::sqrt(within);
  if (means.size() < 2) return out;
  // One-way random-effects ANOVA (unbalanced groups: n0 as the group size).
  const double k = static_cast<double>(means.size());
  double grand = 0, size_squares = 0;
  std::size_t g = 0;
  for (const auto& group : groups) {
    if (group.empty()) continue;
    grand += means[g++] * static_cast<double>(group.size());
    size_squares += static_cast<double>(group.size()) * static_cast<double>(group.size());
  }
  grand /= size_sum;
  double between_ss = 0;
  g = 0;
  for (const auto& group : groups) {
    if (group.empty()) continue;
    between_ss += static_cast<double>(group.size()) * (means[g] - grand) * (means[g] - grand);
    ++g;
  }
  const double n0 = (size_sum - size_squares / size_sum) / (k - 1);
  // The between mean square holds the within-variance once more: what is
  // left is n0 times the variance of the groups' true means.
  out.between_stddev = std::sqrt(std::max(0.0, (between_ss / (k - 1) - within) / n0));
  out.separable = true;
  return out;
}

// ---- summary --------------------------------------------------------------------

summary summary::of(std::vector<double> samples) {
  summary s;
  s.n = samples.size();
  if (samples.empty()) return s;
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(s.n);
  double ss = 0;
  for (double x : samples) ss += (x - s.mean) * (x - s.mean);
  s.stddev = s.n > 1 ? std::sqrt(ss / static_cast<double>(s.n - 1)) : 0.0;
  s.median = median_of(samples);  // sorts
  s.ci = median_interval(samples);
  return s;
}

nlohmann::json summary::to_json(const char* unit) const {
  return {{"median", median},    {"mean", mean},         {"stddev", stddev},
          {"ci_low", ci.low},    {"ci_high", ci.high},   {"ci_coverage", ci.coverage},
          {"n", n},              {"unit", unit}};
}

// ---- time -------------------------------------------------------------------------

namespace {
void spin_iterations(std::uint64_t n) noexcept {
  for (std::uint64_t i = 0; i < n; ++i) asm volatile("" : : "r"(i) : "memory");
}
}  // namespace

namespace {
/// burn_for's cost model, t(n) = fixed + per_iteration * n, fitted once from
/// a short and a long loop, each the fastest of several timed batches (the
/// fastest is the one nothing else disturbed: preemption and a cold core
/// only ever add time).
struct burn_model {
  double fixed_ns = 0, per_iteration_ns = 1;
};
burn_model measure_burn_model() {
  const auto fastest_per_call = [](std::uint64_t iterations, int calls) {
    double best = 1e300;
    for (int batch = 0; batch < 9; ++batch) {
      const auto t0 = bench_clock::now();
      for (int c = 0; c < calls; ++c) spin_iterations(iterations);
      const auto t1 = bench_clock::now();
      best = std::min(best, std::chrono::duration<double, std::nano>(t1 - t0).count() / calls);
    }
    return best;
  };
  // A core that was idle runs slowly for a while (frequency ramp; a vCPU's
  // host): first spin ~100 ms, so the model is the loaded core's, as in a run.
  spin_iterations(300'000'000);
  constexpr std::uint64_t short_loop = 64, long_loop = 10'000'000;
  const double t_short = fastest_per_call(short_loop, 20000);
  const double t_long = fastest_per_call(long_loop, 1);
  burn_model m;
  m.per_iteration_ns = std::max(1e-3, (t_long - t_short) / static_cast<double>(long_loop - short_loop));
  m.fixed_ns = std::max(0.0, t_short - m.per_iteration_ns * static_cast<double>(short_loop));
  return m;
}

const burn_model& burn_calibration() {
  static const burn_model model = measure_burn_model();
  return model;
}
}  // namespace

double burn_ns_per_iteration() { return burn_calibration().per_iteration_ns; }

double burn_ns_per_iteration_now() { return measure_burn_model().per_iteration_ns; }

void burn_for(std::uint64_t ns) noexcept {
  if (ns == 0) return;
  const burn_model& m = burn_calibration();
  const double work = std::max(0.0, static_cast<double>(ns) - m.fixed_ns);
  spin_iterations(static_cast<std::uint64_t>(work / m.per_iteration_ns));
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
