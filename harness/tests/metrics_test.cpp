// harness/tests/metrics_test.cpp -- the arithmetic csync-bench reports.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "metrics.hpp"

namespace {

using csync::bench::fairness_summary;
using csync::bench::latency_histogram;
using csync::bench::summary;

TEST(LatencyHistogram, EveryValueFallsInsideItsBucket) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t v = rng() >> (rng() % 64);
    const std::size_t index = latency_histogram::index_of(v);
    ASSERT_LT(index, latency_histogram::bucket_count);
    const std::uint64_t lower = latency_histogram::lower_bound_of(index);
    ASSERT_LE(lower, v) << v;
    ASSERT_LT(v - lower, latency_histogram::width_of(index)) << v;
  }
  EXPECT_EQ(latency_histogram::index_of(UINT64_MAX), latency_histogram::bucket_count - 1);
}

TEST(LatencyHistogram, PercentilesWithinTheBucketError) {
  latency_histogram h;
  for (std::uint64_t v = 1; v <= 100000; ++v) h.record(v);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = q * 100000;
    EXPECT_NEAR(static_cast<double>(h.percentile(q)), exact, exact * 0.033) << q;
  }
  EXPECT_EQ(h.max(), 100000u);
  EXPECT_EQ(h.percentile(1.0), 100000u);
  EXPECT_EQ(h.count(), 100000u);
}

TEST(LatencyHistogram, MergeEqualsRecordingEverything) {
  latency_histogram a, b, all;
  for (std::uint64_t v = 0; v < 5000; ++v) {
    (v % 3 ? a : b).record(v * 7);
    all.record(v * 7);
  }
  a.merge(b);
  EXPECT_EQ(a.summary_json(), all.summary_json());
  EXPECT_EQ(a.buckets_json(), all.buckets_json());
}

TEST(LatencyHistogram, EmptyReportsZeros) {
  const latency_histogram h;
  EXPECT_EQ(h.percentile(0.5), 0u);
  EXPECT_EQ(h.summary_json()["count"], 0);
  EXPECT_TRUE(h.buckets_json().empty());
}

TEST(Fairness, JainAndRelativeStddev) {
  const std::vector<std::uint64_t> equal{10, 10, 10, 10};
  const fairness_summary f = fairness_summary::of(equal);
  EXPECT_DOUBLE_EQ(f.jain, 1.0);
  EXPECT_DOUBLE_EQ(f.relative_stddev, 0.0);
  const std::vector<std::uint64_t> one_winner{40, 0, 0, 0};
  const fairness_summary g = fairness_summary::of(one_winner);
  EXPECT_DOUBLE_EQ(g.jain, 0.25);  // 1/n: one worker did everything
  EXPECT_EQ(g.min_ops, 0u);
  EXPECT_EQ(g.max_ops, 40u);
  EXPECT_NEAR(g.relative_stddev, 1.732, 0.001);  // population stddev sqrt(3) of mean 1
}

TEST(Summary, MedianMeanAndOrderStatisticInterval) {
  const summary s = summary::of({5, 1, 4, 2, 3});
  EXPECT_DOUBLE_EQ(s.median, 3);
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_NEAR(s.stddev, 1.5811, 1e-4);
  // n = 5: only [x(1), x(5)] exists, covering 1 - 2 / 2^5 = 93.75 %.
  EXPECT_EQ(s.ci.low, 1);
  EXPECT_EQ(s.ci.high, 5);
  EXPECT_DOUBLE_EQ(s.ci.coverage, 0.9375);
  const summary one = summary::of({7});
  EXPECT_EQ(one.ci.low, 7);
  EXPECT_EQ(one.ci.high, 7);
  EXPECT_EQ(one.ci.coverage, 0) << "one sample covers nothing";
}

TEST(Intervals, MedianIntervalsMatchTheBinomialTable) {
  // n, k of [x(k), x(n+1-k)], exact coverage 1 - 2 P(Bin(n, 1/2) <= k-1),
  // the largest k reaching 95 % (Conover, Practical Nonparametric Statistics).
  struct row {
    std::size_t n, k;
    double coverage;
  };
  for (const row r : {row{3, 1, 0.75}, row{6, 1, 0.96875}, row{8, 1, 0.9921875},
                      row{10, 2, 1 - 2 * 11.0 / 1024}, row{20, 6, 1 - 2 * 21700.0 / 1048576}}) {
    std::vector<double> x(r.n);
    for (std::size_t i = 0; i < r.n; ++i) x[i] = static_cast<double>(i + 1);
    const csync::bench::interval ci = csync::bench::median_interval(x);
    EXPECT_EQ(ci.low, static_cast<double>(r.k)) << r.n;
    EXPECT_EQ(ci.high, static_cast<double>(r.n + 1 - r.k)) << r.n;
    EXPECT_NEAR(ci.coverage, r.coverage, 1e-12) << r.n;
  }
}

TEST(Intervals, RatioIntervalUsesTheMannWhitneyCriticalValues) {
  // Two-sided 5 % critical values of U (a table of the Mann-Whitney test):
  // n1 = n2 = 5: 2; 4 and 6: 2; 8 and 8: 13; 3 and 5: 0. The interval of the
  // Hodges-Lehmann shift is [d(c+1), d(N-c)] of the N = n1 n2 sorted
  // differences; with a / b = e^(i + j / 1000) every difference is distinct
  // and its rank is known.
  struct row {
    std::size_t n1, n2, critical;
  };
  for (const row r : {row{5, 5, 2}, row{4, 6, 2}, row{8, 8, 13}, row{6, 6, 5}}) {
    std::vector<double> a, b;
    for (std::size_t i = 0; i < r.n1; ++i) a.push_back(std::exp(static_cast<double>(i)));
    for (std::size_t j = 0; j < r.n2; ++j) b.push_back(std::exp(-static_cast<double>(j) / 1000));
    std::vector<double> d;
    for (double x : a) {
      for (double y : b) d.push_back(std::log(x) - std::log(y));
    }
    std::sort(d.begin(), d.end());
    const auto ratio = csync::bench::ratio_of(a, b);
    ASSERT_TRUE(ratio.has_value());
    EXPECT_NEAR(std::log(ratio->ci.low), d[r.critical], 1e-9) << r.n1 << "x" << r.n2;
    EXPECT_NEAR(std::log(ratio->ci.high), d[d.size() - 1 - r.critical], 1e-9) << r.n1 << "x" << r.n2;
    EXPECT_GE(ratio->ci.coverage, 0.95);
  }
  // Too few to reach 95 %: 3 against 3 has only [d(1), d(9)], 1 - 2/20 = 90 %.
  const auto small = csync::bench::ratio_of({1, 2, 3}, {1, 2, 3});
  ASSERT_TRUE(small.has_value());
  EXPECT_DOUBLE_EQ(small->ci.coverage, 0.9);
  EXPECT_DOUBLE_EQ(small->ratio, 1.0);
  EXPECT_FALSE(csync::bench::ratio_of({1, 0}, {1}).has_value()) << "a ratio needs positive values";
  EXPECT_FALSE(csync::bench::ratio_of({}, {1}).has_value());
}

TEST(Invocations, VarianceComponentsOfKnownGroups) {
  // Within: ((1-2)^2 + (3-2)^2 + (5-6)^2 + (7-6)^2) / 2 = 2. The means 2 and
  // 6 vary by 8, of which 2 / 2 is the within-variance again: between 7.
  const auto parts = csync::bench::variance_components_of({{1, 3}, {5, 7}});
  EXPECT_DOUBLE_EQ(parts.within_stddev, std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(parts.between_stddev, std::sqrt(7.0));
  // Equal means: nothing between (clamped at 0, never negative).
  const auto same = csync::bench::variance_components_of({{1, 3}, {1, 3}, {3, 1}});
  EXPECT_DOUBLE_EQ(same.between_stddev, 0.0);
  EXPECT_DOUBLE_EQ(csync::bench::variance_components_of({{4, 4, 4}}).between_stddev, 0.0);
}

/// Simulated invocations: each process draws its own offset (sd 1) around
/// the true value 0, its `repetitions` vary around that by sd 0.1. Returns
/// how often, in `trials`, the interval over the invocations' medians and
/// the interval of the pooled repetitions (as if independent) cover 0.
std::pair<double, double> coverage_with_invocations(std::size_t invocations, int repetitions,
                                                    int trials) {
  std::mt19937_64 rng(12345);
  std::normal_distribution<double> offset(0, 1), noise(0, 0.1);
  int by_invocation = 0, pooled = 0;
  for (int t = 0; t < trials; ++t) {
    csync::bench::invocation_groups groups(invocations);
    std::vector<double> all;
    for (auto& g : groups) {
      const double o = offset(rng);
      for (int r = 0; r < repetitions; ++r) {
        g.push_back(o + noise(rng));
        all.push_back(g.back());
      }
    }
    const auto i = csync::bench::summary::of(csync::bench::invocation_medians(groups)).ci;
    by_invocation += i.low <= 0 && 0 <= i.high;
    const auto p = csync::bench::summary::of(all).ci;
    pooled += p.low <= 0 && 0 <= p.high;
  }
  return {by_invocation / static_cast<double>(trials), pooled / static_cast<double>(trials)};
}

TEST(Invocations, InvocationLevelIntervalCoversWhatPooledRepetitionsMiss) {
  // Repetitions of several processes pooled as if independent: the more
  // repetitions, the narrower their interval -- but what varies is the
  // processes' offsets, of which there are only 8, so it misses the true
  // value mostly. Over the 8 invocation medians the interval is [min, max],
  // whose exact coverage is 1 - 2 / 2^8 = 99.2 %.
  const auto [by_invocation, pooled] = coverage_with_invocations(8, 20, 400);
  RecordProperty("coverage", "over invocation medians " + std::to_string(by_invocation) +
                                 ", pooled " + std::to_string(pooled));
  EXPECT_LT(pooled, 0.6) << "the simulation has no between-invocation spread";
  EXPECT_GT(by_invocation, 0.97);
}

TEST(Invocations, MediansPerInvocation) {
  EXPECT_EQ(csync::bench::invocation_medians({{3, 1, 2}, {}, {10, 20}}), (std::vector<double>{2, 15}));
}

}  // namespace
