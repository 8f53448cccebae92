"""The statistics against published tables, brute-force enumeration and
hand-computed values (no SciPy: every expected number is derived here)."""

import itertools
import math

import pytest

from csync_report.stats import (
    EXACT_INTERVAL_MAX_SIZE, EXACT_MAX_SIZE, EXACT_SMALL_SIDE, exact_sizes, geometric_mean,
    holm, log_mean_interval, mann_whitney, mann_whitney_u, shift_interval, smallest_p, t_cdf,
    t_quantile, u_cdf_count, u_counts, u_critical_value)


def brute_u_counts(n1, n2):
    """U of the first sample over every choice of its ranks among 1..n1+n2."""
    counts = [0] * (n1 * n2 + 1)
    for chosen in itertools.combinations(range(n1 + n2), n1):
        others = set(range(n1 + n2)) - set(chosen)
        counts[sum(1 for x in chosen for y in others if x > y)] += 1
    return counts


def brute_p(a, b):
    """Two-sided exact p of distinct values by enumerating every split of the
    pooled values: the share of splits with |U - mean| >= the observed one."""
    pooled, n1 = list(a) + list(b), len(a)
    mean = n1 * len(b) / 2

    def u(first):
        rest = [v for v in pooled if v not in first]
        return sum(1 for x in first for y in rest if x > y)

    observed = abs(u(a) - mean)
    splits = list(itertools.combinations(pooled, n1))
    return sum(1 for s in splits if abs(u(s) - mean) >= observed - 1e-9) / len(splits)


def test_separated_small_samples_are_exact():
    # n1 = n2 = 3, no ties: 20 equally likely rank splits, one gives U = 0,
    # one gives U = 9; two-sided p = 2/20.
    assert mann_whitney_u([1, 2, 3], [4, 5, 6]) == (0.0, pytest.approx(0.1))
    # 5 vs 5: 2 / C(10, 5) = 2/252.
    assert mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])[1] == pytest.approx(2 / 252)


def test_exact_interior_value():
    # a = [1, 4], b = [2, 3]: U(a) = 2 (4 beats both), the mean of U; every
    # split is at least as extreme, so p = 1.
    assert mann_whitney_u([1, 4], [2, 3]) == (2.0, 1.0)
    # a = [1, 2], b = [3, 4, 5]: U = 0; P(U <= 0) = 1/C(5, 2) = 1/10; p = 0.2.
    assert mann_whitney_u([1, 2], [3, 4, 5])[1] == pytest.approx(0.2)


def test_nine_a_side_is_exact_not_the_normal_approximation():
    # Complete separation: exact p = 2 / C(18, 9) = 2/48620 = 4.11e-5. The normal
    # approximation (U = 0, mean 40.5, variance 9*9*19/12 = 128.25, z = 40 /
    # sqrt(128.25) = 3.5321) gives erfc(z / sqrt 2) = 4.123e-4, ten times larger:
    # Holm over 200 cells (0.05/200 = 2.5e-4) would call the cell hopeless.
    u, p = mann_whitney_u(range(9), range(9, 18))
    assert u == 0.0
    assert p == pytest.approx(2 / 48620)
    normal = math.erfc(40 / math.sqrt(128.25) / math.sqrt(2))
    assert normal == pytest.approx(4.123e-4, rel=1e-3)
    assert p < 0.05 / 200 < normal


def test_normal_approximation_above_50_a_side():
    # 51 a side, separated: U = 0, mean 51*51/2 = 1300.5, variance 51*51*103/12;
    # z = (1300.5 - 0.5) / sqrt(variance); p = erfc(z / sqrt 2).
    test = mann_whitney(range(51), range(51, 102))
    assert test.u == 0.0 and test.method == "normal"
    assert test.p_value == pytest.approx(
        math.erfc(1300 / math.sqrt(51 * 51 * 103 / 12) / math.sqrt(2)))


def test_ties_use_midranks_and_tie_correction():
    # Pooled: 1 | 2 2 2 | 3 3 | 4 | 5 -> ranks 1 | 3 3 3 | 5.5 5.5 | 7 | 8.
    # R(a) = 1 + 3 + 3 + 5.5 = 12.5, U(a) = 12.5 - 10 = 2.5; mean 8;
    # tie term (24 + 6) / (8 * 7); variance 16/12 * (9 - 30/56) = 11.2857;
    # z = (5.5 - 0.5) / 3.3594 = 1.4884; p = 0.1367.
    u, p = mann_whitney_u([1, 2, 2, 3], [2, 3, 4, 5])
    assert u == 2.5
    assert p == pytest.approx(0.13666, abs=1e-4)


def test_symmetry():
    a, b = [3.1, 2.7, 5.0, 4.4, 3.9], [4.2, 6.1, 5.5, 4.9, 7.0, 3.3]
    u_ab, p_ab = mann_whitney_u(a, b)
    u_ba, p_ba = mann_whitney_u(b, a)
    assert u_ab + u_ba == len(a) * len(b)
    assert p_ab == pytest.approx(p_ba)


def test_identical_samples():
    assert mann_whitney_u([5, 5, 5], [5, 5, 5]) == (4.5, 1.0)
    assert mann_whitney_u(range(10), range(10))[1] == pytest.approx(1.0)


def test_empty_side_is_an_error():
    with pytest.raises(ValueError):
        mann_whitney_u([], [1])


def test_geometric_mean():
    assert geometric_mean([0.5, 2.0]) == pytest.approx(1.0)
    assert geometric_mean([1, 4]) == pytest.approx(2.0)
    assert geometric_mean([1.1]) == pytest.approx(1.1)
    assert geometric_mean([2, 8, 4]) == pytest.approx(4.0)
    for bad in ([], [1.0, 0.0], [-1.0]):
        with pytest.raises(ValueError):
            geometric_mean(bad)


# Two-sided critical values of U (reject when min(U, n1 n2 - U) <= c), as
# printed in the standard tables (e.g. Zar, "Biostatistical Analysis",
# table B.11; Siegel and Castellan, table J); "-" (None): no U reaches alpha.
CRITICAL_05 = {(5, 5): 2, (4, 6): 2, (8, 8): 13, (3, 5): 0, (6, 6): 5, (7, 7): 8,
               (10, 10): 23, (5, 10): 8, (4, 4): 0, (2, 8): 0, (3, 6): 1, (6, 4): 2,
               (2, 7): None, (3, 4): None}
CRITICAL_01 = {(5, 5): 0, (8, 8): 7, (6, 6): 2, (7, 7): 4, (10, 10): 16, (5, 10): 4,
               (4, 6): 0, (4, 5): None}


@pytest.mark.parametrize("sizes, critical", sorted(CRITICAL_05.items()))
def test_critical_values_at_5_percent(sizes, critical):
    assert u_critical_value(*sizes, 0.05) == critical


@pytest.mark.parametrize("sizes, critical", sorted(CRITICAL_01.items()))
def test_critical_values_at_1_percent(sizes, critical):
    assert u_critical_value(*sizes, 0.01) == critical


@pytest.mark.parametrize("n1, n2", [(1, 1), (1, 4), (2, 3), (3, 3), (3, 5), (4, 4), (5, 2),
                                    (4, 6), (6, 5)])
def test_u_distribution_matches_enumeration(n1, n2):
    counts = u_counts(n1, n2)
    assert list(counts) == brute_u_counts(n1, n2)
    assert counts == u_counts(n2, n1)
    assert sum(counts) == math.comb(n1 + n2, n1)


def test_u_distribution_large_and_lopsided():
    counts = u_counts(8, 400)  # exact p with min <= 8, however large the other side
    assert len(counts) == 3201 and sum(counts) == math.comb(408, 8)
    assert counts == tuple(reversed(counts))
    assert counts[:4] == (1, 1, 2, 3)  # partitions of 0..3 into at most 8 parts
    assert u_cdf_count(8, 400, -1) == 0 and u_cdf_count(8, 400, 10**6) == sum(counts)


@pytest.mark.parametrize("a, b", [
    ([1.2, 3.4, 0.5], [2.2, 5.1, 4.0, 6.3]),
    ([9, 3, 7, 1, 5], [2, 8, 6, 4, 10]),
    ([10, 11, 12, 13], [1, 2, 14, 15, 16]),
    ([0.1, 0.2], [0.3, 0.05, 0.4, 0.15]),
    ([4, 5, 6, 7, 8, 9], [1, 2, 3, 10, 11, 12, 13]),
])
def test_exact_p_matches_enumeration(a, b):
    test = mann_whitney(a, b)
    assert test.method == "exact"
    assert test.p_value == pytest.approx(brute_p(a, b), abs=1e-12)


def test_exact_when_the_smaller_side_has_at_most_8():
    # SciPy's method="auto": exact when min(n1, n2) <= 8, however large the other.
    # 3 values below 20: U = 0, p = 2 / C(23, 3) = 2/1771.
    test = mann_whitney([1, 2, 3], range(10, 30))
    assert test == (0.0, pytest.approx(2 / 1771), "exact")
    assert mann_whitney(range(10, 30), [1, 2, 3]).p_value == pytest.approx(2 / 1771)
    assert mann_whitney([1, 2, 3], range(10, 110)).method == "exact"  # 3 and 100
    assert mann_whitney([1, 2, 2, 3], [4, 5, 6]).method == "normal (ties)"


def recursion_cdf(m, n):
    """P(U <= u) by the recursion csync-bench's ratio_of uses (harness/src/metrics.cpp):
    f(i, j, u) = f(i-1, j, u-j) + f(i, j-1, u), an algorithm independent of u_counts'."""
    top = m * n
    f = [[1] + [0] * top for _ in range(m + 1)]
    for j in range(1, n + 1):
        for i in range(1, m + 1):
            f[i] = [f[i][u] + (f[i - 1][u - j] if u >= j else 0) for u in range(top + 1)]
    total = sum(f[m])
    return [sum(f[m][: u + 1]) / total for u in range(top + 1)]


@pytest.mark.parametrize("n1, n2", [(9, 9), (9, 10), (12, 15), (20, 20), (50, 50)])
def test_exact_without_ties_up_to_50_a_side(n1, n2):
    # Interleaved values with a known U: the exact two-sided p is twice the
    # tail of the U distribution below min(U, n1 n2 - U).
    a = [2.0 * i for i in range(n1)]
    b = [2.0 * i + 1 + (20.5 if i % 3 == 0 else 0) for i in range(n2)]  # distinct
    test = mann_whitney(a, b)
    assert test.method == "exact"
    u = int(min(test.u, n1 * n2 - test.u))
    if n1 * n2 <= 400:  # the recursion is slow in Python beyond that
        expected = min(1.0, 2 * recursion_cdf(n1, n2)[u])
        assert test.p_value == pytest.approx(expected, rel=1e-12)
    assert test.p_value == pytest.approx(
        min(1.0, 2 * u_cdf_count(n1, n2, u) / math.comb(n1 + n2, n1)), rel=1e-12)
    # Completely separated: 2 / C(n1 + n2, n1).
    separated = mann_whitney(range(n1), range(n1, n1 + n2))
    assert separated == (0.0, pytest.approx(2 / math.comb(n1 + n2, n1)), "exact")


def test_which_sizes_are_exact():
    assert (EXACT_MAX_SIZE, EXACT_SMALL_SIDE, EXACT_INTERVAL_MAX_SIZE) == (50, 8, 50)
    assert exact_sizes(9, 9) and exact_sizes(50, 50) and exact_sizes(8, 1000)
    assert exact_sizes(50, 3) and not exact_sizes(51, 9) and not exact_sizes(9, 51)
    assert mann_whitney(range(20), range(20, 40)).method == "exact"
    assert mann_whitney(range(50), range(50, 100)).method == "exact"
    assert mann_whitney(range(9), range(9, 60)).method == "normal"  # 9 and 51
    # Ties: the normal approximation with the tie correction, at any size.
    assert mann_whitney([*range(19), 5], range(20, 40)).method == "normal (ties)"
    assert mann_whitney(range(9), [1, *range(9, 20)]).method == "normal (ties)"
    assert mann_whitney([*range(51), 5], range(60, 111)).method == "normal"


def test_smallest_p():
    assert smallest_p(5, 5) == pytest.approx(2 / 252)
    assert smallest_p(3, 3) == pytest.approx(0.1)
    assert smallest_p(2, 30) == pytest.approx(2 / math.comb(32, 2))
    # Exact up to 50 a side, the normal approximation of complete separation above.
    assert smallest_p(9, 9) == pytest.approx(2 / math.comb(18, 9))
    assert smallest_p(50, 50) == pytest.approx(2 / math.comb(100, 50))
    assert smallest_p(51, 51) == pytest.approx(mann_whitney_u(range(51), range(51, 102))[1])


def brute_coverage(n1, n2, k):
    """P(d(k) <= 0 <= d(n1 n2 + 1 - k)) when both samples come from one
    continuous distribution (true shift 0): over every equally likely order."""
    covered = total = 0
    for chosen in itertools.combinations(range(n1 + n2), n1):
        a = list(chosen)
        b = [v for v in range(n1 + n2) if v not in chosen]
        d = sorted(y - x for x in a for y in b)
        covered += d[k - 1] <= 0 <= d[n1 * n2 - k]
        total += 1
    return covered / total


@pytest.mark.parametrize("n1, n2, k", [(5, 5, 3), (4, 6, 3), (4, 4, 1), (3, 5, 1),
                                       (6, 5, 4), (3, 3, 1)])
def test_shift_interval_rank_and_exact_coverage(n1, n2, k):
    a = [math.sin(i) for i in range(n1)]  # distinct values
    b = [10 + math.cos(i) for i in range(n2)]
    interval = shift_interval(a, b, 0.95)
    d = sorted(y - x for x in a for y in b)
    assert (interval.low, interval.high) == (d[k - 1], d[n1 * n2 - k])
    assert interval.exact
    assert interval.coverage == pytest.approx(brute_coverage(n1, n2, k), abs=1e-12)
    assert interval.reaches == (interval.coverage >= 0.95)


def test_shift_interval_values():
    # 5 vs 5: critical U 2, k = 3, coverage 1 - 2 (1 + 1 + 2) / 252.
    interval = shift_interval([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert interval == (5, 2, 8, pytest.approx(1 - 8 / 252), True, True)
    # 3 vs 3: no k reaches 95 %: the widest interval, coverage 1 - 2/20.
    short = shift_interval([1, 2, 3], [4, 5, 6])
    assert (short.low, short.high, short.reaches) == (1, 5, False)
    assert short.coverage == pytest.approx(0.9)
    assert shift_interval([1, 2, 3], [4, 5, 6], 0.9).reaches  # 0.9 is exactly reached
    # Hodges-Lehmann estimate: the median of the 6 differences 1, 2, 4, 5, 8, 9 is 4.5.
    assert shift_interval([1, 4], [5, 6, 9]).estimate == 4.5
    # 1 vs 1: one difference, covering never (coverage 0).
    one = shift_interval([1.0], [3.0])
    assert (one.estimate, one.low, one.high, one.coverage, one.reaches) == (2, 2, 2, 0, False)
    # Ties: same k, but the coverage is not exact.
    assert not shift_interval([1, 2, 2, 3, 4], [3, 5, 6, 7, 8]).exact
    with pytest.raises(ValueError):
        shift_interval([], [1])
    with pytest.raises(ValueError):
        shift_interval([1], [2], 1.0)


def test_shift_interval_normal_approximation_above_50():
    n = EXACT_INTERVAL_MAX_SIZE + 10
    a = [i * 1.0 for i in range(n)]
    b = [i + 0.25 for i in range(n)]
    interval = shift_interval(a, b)
    assert not interval.exact and interval.reaches
    assert interval.coverage == pytest.approx(0.95, abs=0.002)
    # k = floor(mn/2 - 0.5 - 1.96 sd) + 1 with sd = sqrt(mn (m + n + 1) / 12).
    mn = n * n
    k = math.floor(mn / 2 - 0.5 - 1.959963984540054 * math.sqrt(mn * (2 * n + 1) / 12)) + 1
    d = sorted(y - x for x in a for y in b)
    assert (interval.low, interval.high) == (d[k - 1], d[mn - k])
    # At 50 a side it is still exact, and agrees with the approximation's k to within 1.
    exact = shift_interval(a[:50], b[:50])
    assert exact.exact and exact.coverage >= 0.95


def test_holm():
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") = 0.03 0.06 0.06 0.02
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.2]) == [0.2]
    assert holm([]) == []
    assert holm([0.5, 0.6, 0.001]) == pytest.approx([1.0, 1.0, 0.003])
    # Step-down: once a step fails, every larger p fails too (monotone).
    adjusted = holm([0.001, 0.011, 0.02, 0.04, 0.9])
    assert adjusted == pytest.approx([0.005, 0.044, 0.06, 0.08, 0.9])


def test_t_quantile():
    for p in (0.6, 0.9, 0.975, 0.995):
        assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)
        assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)),
                                                 rel=1e-9)
    # Published two-sided 5 % points.
    for df, t in ((3, 3.182446), (5, 2.570582), (10, 2.228139), (30, 2.042272)):
        assert t_quantile(0.975, df) == pytest.approx(t, abs=1e-6)
    assert t_quantile(0.975, 10**6) == pytest.approx(1.959966, abs=1e-5)
    assert t_quantile(0.025, 5) == pytest.approx(-2.570582, abs=1e-6)
    assert t_cdf(0.0, 7) == pytest.approx(0.5)
    assert t_cdf(1.0, 1) == pytest.approx(0.75)  # Cauchy: 1/2 + atan(1)/pi


def test_log_mean_interval():
    # logs 0 and 0.2: mean 0.1, s = 0.2 / sqrt 2, half-width t(0.975, 1) s / sqrt 2 = 0.1 t.
    g, low, high = log_mean_interval([1.0, math.exp(0.2)])
    t = math.tan(math.pi * 0.475)
    assert g == pytest.approx(math.exp(0.1))
    assert (low, high) == (pytest.approx(math.exp(0.1 - 0.1 * t)),
                           pytest.approx(math.exp(0.1 + 0.1 * t)))
    assert log_mean_interval([1.3]) is None
    assert log_mean_interval([2.0, 2.0, 2.0]) == (pytest.approx(2.0),) * 3
    with pytest.raises(ValueError):
        log_mean_interval([1.0, 0.0])


def test_order_statistic_interval_matches_the_binomial_table():
    """csync-bench's intervals: n = 5 only [min, max] at 93.75 %, n = 6 the
    same at 96.875 %, n = 20 [x(6), x(15)] at 95.86 % (k = 6)."""
    from csync_report.stats import order_statistic_interval as median_interval
    five = median_interval([5, 1, 4, 2, 3])
    assert (five.low, five.high) == (1, 5) and five.coverage == pytest.approx(0.9375)
    assert median_interval(range(6)).coverage == pytest.approx(0.96875)
    twenty = median_interval(range(1, 21))
    assert (twenty.low, twenty.high) == (6, 15) and twenty.coverage == pytest.approx(0.9586, abs=1e-4)
    assert median_interval([7]).coverage == 0.0
