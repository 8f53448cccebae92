// harness/tests/metrics_test.cpp -- the arithmetic csync-bench reports.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
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

TEST(Summary, MedianMeanAndBootstrapInterval) {
  const summary s = summary::of({5, 1, 4, 2, 3}, 42);
  EXPECT_DOUBLE_EQ(s.median, 3);
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_NEAR(s.stddev, 1.5811, 1e-4);
  EXPECT_LE(s.ci95_low, s.median);
  EXPECT_GE(s.ci95_high, s.median);
  EXPECT_GE(s.ci95_low, 1);
  EXPECT_LE(s.ci95_high, 5);
  EXPECT_EQ(summary::of({5, 1, 4, 2, 3}, 42).ci95_low, s.ci95_low) << "seeded: reproducible";
  const summary one = summary::of({7}, 1);
  EXPECT_EQ(one.ci95_low, 7);
  EXPECT_EQ(one.ci95_high, 7);
}

}  // namespace
