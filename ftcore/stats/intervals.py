"""The one interval type, and intervals for a proportion that stay honest near 0 and 1.

A percentile bootstrap of a 0/1 metric collapses to [0, 0] when no example succeeds:
exact match at p = 5 %, n = 20 covered the truth 67 % of the time that way (PITFALLS.md).
Closed-form intervals for a binomial proportion do not collapse:

- `clopper_pearson_interval` inverts the binomial test exactly. Its coverage is at least
  the nominal level for every p and n (it is conservative); this is the interval a single
  proportion such as exact match gets. At p = 5 %, n = 20 its coverage is 0.984.
- `wilson_interval` (the score interval) is narrower and its coverage is near nominal on
  average, but it dips below nominal for some p close to 0 or 1: at p = 5 %, n = 20 it is
  0.9245 (the k = 3 interval starts at 0.0524). It is the building block of Newcombe's
  paired difference (ftcore.stats.paired), where no exact interval is practical.

Pure Python and numpy: the normal quantile comes from the standard library.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import NamedTuple

import numpy as np


class Interval(NamedTuple):
    """A confidence interval [low, high]; every interval in ftcore is one of these."""

    low: float
    high: float


def check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")


def normal_quantile(confidence: float) -> float:
    """z such that a standard normal lies within ±z with probability `confidence`."""
    check_confidence(confidence)
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _check_count(successes: float, n: int) -> int:
    if n < 1:
        raise ValueError(f"a proportion needs at least one trial, got n={n}")
    count = round(successes)
    if abs(successes - count) > 1e-9 or not 0 <= count <= n:
        raise ValueError(f"successes must be a whole number from 0 to n={n}, got {successes}")
    return count


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for a binomial proportion successes/n."""
    count = _check_count(successes, n)
    z = normal_quantile(confidence)
    p = count / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At 0 or n successes one bound is exactly 0 or 1 in exact arithmetic; clip the
    # rounding so that a bound never claims less than nothing.
    low = 0.0 if count == 0 else max(0.0, centre - half)
    high = 1.0 if count == n else min(1.0, centre + half)
    return Interval(low, high)


def _log_binomial_coefficients(n: int) -> np.ndarray:
    log_n = math.lgamma(n + 1)
    return np.array([log_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in range(n + 1)])


def _binomial_cdf(log_coefficients: np.ndarray, k: int, p: float) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p), n = len(log_coefficients) − 1, 0 < p < 1."""
    n = len(log_coefficients) - 1
    i = np.arange(k + 1)
    log_pmf = log_coefficients[: k + 1] + i * math.log(p) + (n - i) * math.log1p(-p)
    return float(np.exp(log_pmf).sum())


def _bisect_decreasing(f, target: float) -> float:
    """p in (0, 1) where the decreasing function f(p) equals target, to 1e-14."""
    low, high = 0.0, 1.0
    while high - low > 1e-14:
        middle = (low + high) / 2
        if f(middle) > target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def clopper_pearson_interval(successes: float, n: int, confidence: float = 0.95) -> Interval:
    """Exact (Clopper–Pearson) interval for successes/n: the p for which the observed
    count is not rejected by either one-sided binomial test at (1 − confidence) / 2.

    0 successes: [0, 1 − (α/2)^(1/n)]; n successes: [(α/2)^(1/n), 1]."""
    count = _check_count(successes, n)
    check_confidence(confidence)
    tail = (1 - confidence) / 2
    coefficients = _log_binomial_coefficients(n)
    # P(X ≥ count | p) rises with p: the lower bound is where it reaches the tail.
    low = (
        0.0
        if count == 0
        else _bisect_decreasing(lambda p: _binomial_cdf(coefficients, count - 1, p), 1 - tail)
    )
    high = (
        1.0
        if count == n
        else _bisect_decreasing(lambda p: _binomial_cdf(coefficients, count, p), tail)
    )
    return Interval(low, high)
