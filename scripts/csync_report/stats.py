"""Mann-Whitney U test and geometric mean, by hand (no SciPy in Debian's base).

The U test is what Google Benchmark's compare.py uses to tell a change from
noise: it assumes nothing about the distribution of the repetitions, which
for throughput on a shared machine is skewed and has outliers. Like SciPy's
`mannwhitneyu(..., alternative="two-sided")` it is exact for small samples
without ties (here: at most 8 values a side) and otherwise uses the normal
approximation with the tie and continuity corrections, so each p-value can be
checked against SciPy's `method="exact"` or `method="asymptotic"`.
"""

import math
from collections import Counter

# Above this many values a side the normal approximation is close enough.
EXACT_MAX_SIZE = 8


def geometric_mean(values):
    """Geometric mean of positive values: the average of ratios (1/2 and 2 average to 1)."""
    values = list(values)
    if not values:
        raise ValueError("geometric mean of no values")
    if any(v <= 0 for v in values):
        raise ValueError("geometric mean needs positive values")
    return math.exp(math.fsum(math.log(v) for v in values) / len(values))


def mann_whitney_u(a, b):
    """Two-sided Mann-Whitney U test; returns (U of `a`, p-value).

    U of `a` counts the pairs (x in a, y in b) with x > y, ties counting 1/2.
    """
    a, b = list(a), list(b)
    if not a or not b:
        raise ValueError("Mann-Whitney U needs at least one value on each side")
    ranks = _midranks(a + b)
    u_a = math.fsum(ranks[: len(a)]) - len(a) * (len(a) + 1) / 2
    ties = [t for t in Counter(a + b).values() if t > 1]
    if not ties and max(len(a), len(b)) <= EXACT_MAX_SIZE:
        return u_a, _exact_p(u_a, len(a), len(b))
    return u_a, _normal_p(u_a, len(a), len(b), ties)


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
    """P(U as extreme as `u`) under H0, from the counts of each U over all rank splits."""
    counts = _u_counts(n1, n2)
    total = math.comb(n1 + n2, n1)
    tail = min(u, n1 * n2 - u)
    return min(1.0, 2 * sum(counts[: int(tail) + 1]) / total)


def _u_counts(n1, n2):
    """counts[u] = number of ways to place n1 of n1+n2 distinct ranks giving U = u.

    Recurrence on the largest value: it belongs to the first sample (adding n2
    to U) or to the second (adding nothing).
    """
    # table[i][j] = counts for sizes (i, j), built up row by row.
    table = [[[1] for _ in range(n2 + 1)] for _ in range(n1 + 1)]
    for i in range(1, n1 + 1):
        for j in range(1, n2 + 1):
            with_first = [0] * j + table[i - 1][j]
            with_second = table[i][j - 1]
            size = max(len(with_first), len(with_second))
            table[i][j] = [
                (with_first[k] if k < len(with_first) else 0)
                + (with_second[k] if k < len(with_second) else 0)
                for k in range(size)
            ]
    return table[n1][n2]
