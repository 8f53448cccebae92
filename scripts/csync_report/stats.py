"""The statistics of the comparison, by hand (no SciPy in Debian's base).

- `mann_whitney`: the two-sided Mann-Whitney U test, what Google Benchmark's
  compare.py uses to tell a change from noise: it assumes nothing about the
  distribution of the repetitions, which for throughput on a shared machine
  is skewed and has outliers. It uses the exact null distribution of U
  whenever there are no ties and both samples have at most 50 values (the
  rule of csync-bench's `ratio_of`), or the smaller one has at most 8
  (SciPy's `method="auto"`, however large the other); otherwise the normal
  approximation with the tie and continuity corrections. The exact p is
  needed well beyond SciPy's 8: Holm's correction over many cells compares
  the smallest p-values with alpha / cells, far out in the tail, where the
  normal approximation of 9 to 50 values a side is too large, by a factor of
  10 already at 9 a side completely separated (4.1e-4 approximated, 4.1e-5
  exact), and it declares cells "too few repetitions" that are not. Each
  p-value can be checked against SciPy's `method="exact"` or
  `method="asymptotic"`; the result says which it used.
- `u_counts`: that exact distribution: how many of the C(n1 + n2, n1) equally
  likely rank splits give each U, the coefficients of the Gaussian binomial
  coefficient [n1 + n2 choose n1]_q (Mann and Whitney 1947; Andrews, "The
  Theory of Partitions", 1976, ch. 3).
- `shift_interval`: the Hodges-Lehmann estimate of the shift between two
  samples (the median of the n1 n2 pairwise differences) and its
  distribution-free confidence interval [d(k), d(n1 n2 + 1 - k)], k from the
  exact U distribution (Lehmann, "Nonparametrics", 1975, sec. 2.6; Bauer,
  JASA 67, 1972; Hollander and Wolfe, "Nonparametric Statistical Methods",
  sec. 4.3). On log values it is an interval for a ratio (`ratio_interval`).
- `holm`: Holm's step-down adjustment of p-values for a family of tests
  (Holm, Scand. J. Statist. 6, 1979): controls the probability of any false
  "significant" in the family, with no assumption about how the tests
  depend on each other.
- `order_statistic_interval`: the median's distribution-free interval from
  order statistics with its exact coverage, as csync-bench's `aggregates`
  (the same k: the largest with 1 - 2 P(Binomial(n, 1/2) <= k - 1) at the
  level).
- `geometric_mean` and `log_mean_interval`: the average of ratios and a
  Student t interval for it; `t_quantile` (from the regularized incomplete
  beta function) for that interval.
"""

import math
from collections import Counter
from functools import lru_cache
from statistics import NormalDist
from typing import NamedTuple

# p-values and intervals: the exact U distribution up to this many values on
# each side, as csync-bench's `ratio_of` for `throughput_vs_peers` (p-values:
# only without ties); the normal approximation above.
EXACT_MAX_SIZE = 50
EXACT_INTERVAL_MAX_SIZE = EXACT_MAX_SIZE
# p-values also exact (no ties) when the smaller side has at most this many
# values, however large the other: SciPy's `method="auto"`.
EXACT_SMALL_SIDE = 8


class UTest(NamedTuple):
    """A two-sided Mann-Whitney U test: U of the first sample, p, and how p was found."""

    u: float
    p_value: float
    method: str  # "exact", "normal" or "normal (ties)": ties forced the approximation


class ShiftInterval(NamedTuple):
    """The Hodges-Lehmann shift of `b` against `a` (b - a) and its interval.

    `coverage` is the probability that the interval covers the true shift
    (under the shift model: b is distributed as a + shift). It is exact
    where `exact` is true: continuous data (no ties) and at most
    EXACT_INTERVAL_MAX_SIZE values a side; with ties the closed interval
    covers at least about that much, above that size it is the normal
    approximation. `reaches` is false where even the widest interval
    [min d, max d] covers less than the requested level: the samples are too
    small for it, and `low`/`high` are that widest interval.
    """

    estimate: float
    low: float
    high: float
    coverage: float
    exact: bool
    reaches: bool


def geometric_mean(values):
    """Geometric mean of positive values: the average of ratios (1/2 and 2 average to 1)."""
    values = list(values)
    if not values:
        raise ValueError("geometric mean of no values")
    if any(v <= 0 for v in values):
        raise ValueError("geometric mean needs positive values")
    return math.exp(math.fsum(math.log(v) for v in values) / len(values))


def mann_whitney_u(a, b):
    """Two-sided Mann-Whitney U test; returns (U of `a`, p-value). See `mann_whitney`."""
    u, p, _ = mann_whitney(a, b)
    return u, p


def mann_whitney(a, b):
    """Two-sided Mann-Whitney U test of `a` against `b`, as a UTest.

    U of `a` counts the pairs (x in a, y in b) with x > y, ties counting 1/2.
    Exact (`method` "exact") when no value occurs twice in the pooled samples
    and `exact_sizes` holds (both sides at most EXACT_MAX_SIZE values, or the
    smaller at most EXACT_SMALL_SIDE); else the normal approximation with the
    tie correction of the variance and the continuity correction: "normal
    (ties)" where only ties kept it from being exact, "normal" where the
    samples are too large.
    """
    a, b = list(a), list(b)
    if not a or not b:
        raise ValueError("Mann-Whitney U needs at least one value on each side")
    ranks = _midranks(a + b)
    u_a = math.fsum(ranks[: len(a)]) - len(a) * (len(a) + 1) / 2
    ties = [t for t in Counter(a + b).values() if t > 1]
    if exact_sizes(len(a), len(b)):
        if not ties:
            return UTest(u_a, _exact_p(u_a, len(a), len(b)), "exact")
        return UTest(u_a, _normal_p(u_a, len(a), len(b), ties), "normal (ties)")
    return UTest(u_a, _normal_p(u_a, len(a), len(b), ties), "normal")


def exact_sizes(n1, n2):
    """Whether `mann_whitney` gives samples of these sizes (without ties) the
    exact p: both at most EXACT_MAX_SIZE, or the smaller at most EXACT_SMALL_SIDE."""
    return max(n1, n2) <= EXACT_MAX_SIZE or min(n1, n2) <= EXACT_SMALL_SIDE


@lru_cache(maxsize=256)
def smallest_p(n1, n2):
    """The smallest two-sided p-value samples of these sizes can give (the
    samples completely separated, no ties): 2 / C(n1 + n2, n1) where exact
    (`exact_sizes`), the normal approximation's above."""
    return mann_whitney(range(n1), range(n1, n1 + n2)).p_value


def _midranks(values):
    """1-based ranks, tied values sharing the mean of their ranks."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start : end + 1]:
            ranks[i] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def _normal_p(u, n1, n2, ties):
    n = n1 + n2
    mean = n1 * n2 / 2
    tie_term = sum(t**3 - t for t in ties) / (n * (n - 1)) if n > 1 else 0.0
    variance = n1 * n2 / 12 * ((n + 1) - tie_term)
    if variance <= 0:  # every value equal: no evidence of a difference
        return 1.0
    z = (abs(u - mean) - 0.5) / math.sqrt(variance)
    return min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2)))


def _exact_p(u, n1, n2):
    """2 P(U at least as far from its mean as `u`) under H0 (U is symmetric)."""
    return min(1.0, 2 * u_cdf_count(n1, n2, int(min(u, n1 * n2 - u))) / math.comb(n1 + n2, n1))


@lru_cache(maxsize=64)
def u_counts(n1, n2):
    """counts[u] = number of the C(n1 + n2, n1) ways to place n1 of n1 + n2
    distinct ranks in the first sample that give U = u, for u = 0 .. n1 n2.

    These are the coefficients of the Gaussian binomial coefficient
    prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i), m = min(n1, n2), n = max: the
    partitions of u into at most m parts none above n. Each factor is one
    pass over the coefficients (multiply by 1 - q^s: subtract the series
    shifted by s; divide by 1 - q^i: add the running series shifted by i),
    in exact integers: O(m^2 n) steps, where the textbook recursion on
    (n1, n2) takes O(n1^2 n2^2).
    """
    if n1 < 0 or n2 < 0:
        raise ValueError("sample sizes must be >= 0")
    m, n = sorted((n1, n2))
    top = m * n
    coefficients = [1] + [0] * top
    for i in range(1, m + 1):
        shift = n + i
        for k in range(top, shift - 1, -1):
            coefficients[k] -= coefficients[k - shift]
        for k in range(i, top + 1):
            coefficients[k] += coefficients[k - i]
    return tuple(coefficients)


@lru_cache(maxsize=64)
def _u_cumulative(n1, n2):
    running, total = [], 0
    for count in u_counts(n1, n2):
        total += count
        running.append(total)
    return tuple(running)


def u_cdf_count(n1, n2, u):
    """Number of rank splits with U <= u (exact, an integer)."""
    if u < 0:
        return 0
    cumulative = _u_cumulative(n1, n2)
    return cumulative[min(u, len(cumulative) - 1)]


def u_critical_value(n1, n2, alpha=0.05):
    """The largest c with exact two-sided P(U <= c or U >= n1 n2 - c) <= alpha:
    the test rejects at level alpha when min(U, n1 n2 - U) <= c. None where
    no U can reach alpha (2 / C(n1 + n2, n1) > alpha). The tables of critical
    values for the U test list these."""
    total = math.comb(n1 + n2, n1)
    critical = None
    for c in range(n1 * n2 // 2 + 1):
        if 2 * u_cdf_count(n1, n2, c) > alpha * total * (1 + 1e-12):
            break
        critical = c
    return critical


def shift_interval(a, b, confidence=0.95):
    """The Hodges-Lehmann shift of `b` against `a` and its distribution-free
    interval, as a ShiftInterval (see there).

    Of the n1 n2 differences d = b_j - a_i sorted, the interval is
    [d(k), d(n1 n2 + 1 - k)] (1-based) for the largest k whose coverage
    1 - 2 P(U <= k - 1) is at least `confidence`: the shifts the U test at
    level 1 - coverage does not reject. Where even k = 1 covers less, the
    interval is [d(1), d(n1 n2)] with its lower coverage and `reaches` false.
    Pass log values for the interval of a ratio.
    """
    a, b = list(a), list(b)
    if not a or not b:
        raise ValueError("a shift interval needs at least one value on each side")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    n1, n2 = len(a), len(b)
    differences = sorted(y - x for x in a for y in b)
    count = len(differences)
    middle = count // 2
    estimate = (differences[middle] if count % 2
                else (differences[middle - 1] + differences[middle]) / 2)
    ties = len(set(a + b)) < n1 + n2
    alpha = 1 - confidence
    if max(n1, n2) <= EXACT_INTERVAL_MAX_SIZE:
        critical = u_critical_value(n1, n2, alpha)
        k = 1 if critical is None else critical + 1
        tail = u_cdf_count(n1, n2, k - 1) / math.comb(n1 + n2, n1)
        exact = not ties
    else:
        # P(U <= c) ~ Phi((c + 0.5 - mean) / sd): the largest c with twice that <= alpha.
        mean, sd = n1 * n2 / 2, math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
        critical = math.floor(mean - 0.5 + sd * NormalDist().inv_cdf(alpha / 2))
        k = max(1, min(critical + 1, (count + 1) // 2))
        tail = NormalDist().cdf((k - 1 + 0.5 - mean) / sd)
        exact = False
    coverage = max(0.0, 1 - 2 * tail)
    return ShiftInterval(estimate, differences[k - 1], differences[count - k], coverage,
                         exact, critical is not None and critical >= 0)


def ratio_interval(a, b, confidence=0.95):
    """The Hodges-Lehmann ratio of positive `b` over positive `a` and its
    distribution-free interval: `shift_interval` of the logs, back as ratios
    (a ShiftInterval whose estimate, low and high are ratios; coverage, exact
    and reaches as there). The same estimate and interval as csync-bench's
    `throughput_vs_peers`."""
    a, b = list(a), list(b)
    if any(v <= 0 for v in a + b):
        raise ValueError("a ratio interval needs positive values")
    shift = shift_interval([math.log(v) for v in a], [math.log(v) for v in b], confidence)
    return shift._replace(estimate=math.exp(shift.estimate), low=math.exp(shift.low),
                          high=math.exp(shift.high))


def holm(p_values):
    """Holm's step-down adjusted p-values, in the order given.

    With the m p-values sorted, p(1) <= ... <= p(m), the adjusted p(i) is
    max over j <= i of min(1, (m - j + 1) p(j)); a test is significant at
    level alpha for the whole family when its adjusted p is below alpha.
    """
    p_values = list(p_values)
    m = len(p_values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=p_values.__getitem__)):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def log_mean_interval(values, confidence=0.95):
    """(geometric mean, low, high): a Student t interval for the mean of the
    logs of positive `values`, back on their scale. None for fewer than 2.

    For an average of ratios over cells (see compare.geomean_by_strategy):
    mean(log r) +- t(1 - alpha/2, n - 1) s / sqrt(n).
    """
    values = list(values)
    if any(v <= 0 for v in values):
        raise ValueError("log mean interval needs positive values")
    if len(values) < 2:
        return None
    logs = [math.log(v) for v in values]
    n = len(logs)
    mean = math.fsum(logs) / n
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in logs) / (n - 1))
    half = t_quantile(1 - (1 - confidence) / 2, n - 1) * sd / math.sqrt(n)
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def t_cdf(t, df):
    """P(T <= t) for Student's t with `df` degrees of freedom:
    1 - I_x(df/2, 1/2) / 2 for t >= 0, x = df / (df + t^2)."""
    if df <= 0:
        raise ValueError("degrees of freedom must be > 0")
    tail = 0.5 * _betainc(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t >= 0 else tail


def t_quantile(p, df):
    """The t with t_cdf(t, df) = p (bisection to double precision)."""
    if not 0 < p < 1:
        raise ValueError(f"probability must be in (0, 1), got {p}")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2
    for _ in range(200):
        mid = (low + high) / 2
        if mid in (low, high):
            break
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b), by its continued
    fraction (modified Lentz; Numerical Recipes, 3rd ed., sec. 6.4)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast on this side only
        return 1 - _betainc(b, a, 1 - x)
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 1000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return math.exp(log_front) * fraction / a


class OrderStatisticInterval(NamedTuple):
    """[low, high] covers the population median with probability `coverage` (exact)."""

    low: float
    high: float
    coverage: float


def order_statistic_interval(values, confidence=0.95):
    """The median's order-statistic interval [x(k), x(n+1-k)] for the largest
    k whose exact coverage reaches `confidence`, else [min, max] with its
    lower coverage (csync-bench's `median_interval`)."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("a median interval needs values")
    if n == 1:
        return OrderStatisticInterval(ordered[0], ordered[0], 0.0)
    cdf, total = [], 0
    for j in range(n + 1):
        total += math.comb(n, j)
        cdf.append(total / 2 ** n)
    k = 1
    while k < (n + 1) // 2 and 1 - 2 * cdf[k] >= confidence:
        k += 1
    return OrderStatisticInterval(ordered[k - 1], ordered[n - k], 1 - 2 * cdf[k - 1])
