"""Mann-Whitney U and geometric mean against hand-computed values."""

import math

import pytest

from csync_report.stats import geometric_mean, mann_whitney_u


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


def test_normal_approximation_for_nine_a_side():
    # U = 0, mean 40.5, variance 9*9*19/12 = 128.25;
    # z = (40.5 - 0.5) / sqrt(128.25) = 3.5321; p = erfc(z / sqrt 2) = 4.123e-4.
    u, p = mann_whitney_u(range(9), range(9, 18))
    assert u == 0.0
    assert p == pytest.approx(math.erfc(40 / math.sqrt(128.25) / math.sqrt(2)))
    assert p == pytest.approx(4.123e-4, rel=1e-3)


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
