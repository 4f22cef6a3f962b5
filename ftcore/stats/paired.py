"""Paired comparisons of two models on the same examples: a difference, its CI, a p-value.

Base and fine-tuned answer the same examples, and an example that is hard for one is
usually hard for the other. Resampling the two sides independently throws that
correlation away and buries a consistent gain in noise (197 of 200 missed in the audit,
see PITFALLS.md). Everything here is paired instead:

- `paired_difference`: statistic(a) − statistic(b) for any statistic of column sums
  (a mean, corpus BLEU, corpus chrF), with one resampling of example indices applied to
  both sides, a percentile interval, and a two-sided p-value from the same resamples.
- `paired_proportion_difference`: the same for 0/1 values (exact match), in closed form:
  Newcombe's square-and-add interval from Wilson intervals, and the exact McNemar test.
  A bootstrap would collapse to [0, 0] when neither model ever succeeds.

Row i of side a and row i of side b must be the same example.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ftcore.stats.bootstrap import Aggregate, Seed, paired_difference_samples, percentile_interval
from ftcore.stats.intervals import Interval, check_confidence, wilson_interval


class PairedDifference(NamedTuple):
    """statistic(a) − statistic(b) on n paired examples."""

    delta: float
    interval: Interval
    p_value: float  # two-sided, for "no difference"
    n: int


def totals_statistic(rows: np.ndarray, aggregate: Aggregate) -> float:
    """The statistic on the full sample: exact column sums (fsum), as the metrics do."""
    totals = [math.fsum(column) for column in rows.T]
    return aggregate(totals, len(rows))


def bootstrap_p_value(samples: Sequence[float] | np.ndarray) -> float:
    """Two-sided p-value for "the difference is 0" from bootstrap differences: twice the
    share of resamples on the far side of 0, with the +1 that keeps a finite number of
    resamples from claiming p = 0. It inverts the percentile interval: a 95 % interval
    excludes 0 exactly when p < 0.05 (up to the +1 and interpolation)."""
    values = np.asarray(samples, dtype=np.float64)
    if values.size == 0:
        raise ValueError("a bootstrap p-value needs at least one resample")
    below = int(np.count_nonzero(values <= 0))
    above = int(np.count_nonzero(values >= 0))
    return min(1.0, 2 * (min(below, above) + 1) / (values.size + 1))


def summarise_paired_samples(
    delta: float, samples: Sequence[float] | np.ndarray, n: int, confidence: float = 0.95
) -> PairedDifference:
    """A PairedDifference from the full-sample delta and paired resampled differences
    (however they were computed: column sums, or a metric recomputed on each resample)."""
    return PairedDifference(
        delta, percentile_interval(samples, confidence), bootstrap_p_value(samples), n
    )


def paired_difference(
    rows_a: Sequence[Sequence[float]] | np.ndarray,
    rows_b: Sequence[Sequence[float]] | np.ndarray,
    aggregate: Aggregate,
    n_resamples: int = 1000,
    seed: Seed = 0,
    confidence: float = 0.95,
) -> PairedDifference:
    """statistic(a) − statistic(b) with a paired percentile bootstrap CI and p-value.

    `rows_a`, `rows_b`: per-example statistics rows (or plain values) of the two models,
    row i being example i on both sides; `aggregate(column sums, n)` is the statistic
    (ftcore.metrics.registry.Metric.aggregate). `seed` fixes the resamples."""
    samples = paired_difference_samples(rows_a, rows_b, aggregate, n_resamples, seed)
    array_a = np.asarray(rows_a, dtype=np.float64).reshape(len(rows_a), -1)
    array_b = np.asarray(rows_b, dtype=np.float64).reshape(len(rows_b), -1)
    delta = totals_statistic(array_a, aggregate) - totals_statistic(array_b, aggregate)
    return summarise_paired_samples(delta, samples, len(array_a), confidence)


def mcnemar_exact_p(only_a: int, only_b: int) -> float:
    """Exact (conditional) McNemar test: two-sided binomial p-value that the discordant
    examples split evenly between "only a succeeds" and "only b succeeds"."""
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    smaller = min(only_a, only_b)
    tail = sum(math.comb(discordant, k) for k in range(smaller + 1)) / 2**discordant
    return min(1.0, 2 * tail)


def _binary_table(values_a: Sequence[float], values_b: Sequence[float]) -> tuple[int, ...]:
    a = np.asarray(values_a, dtype=np.float64)
    b = np.asarray(values_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"paired 0/1 values need two equal, non-empty lists: {a.shape}, {b.shape}")
    if not np.isin(a, (0.0, 1.0)).all() or not np.isin(b, (0.0, 1.0)).all():
        raise ValueError("paired proportions need values that are all 0 or 1")
    both = int(np.sum((a == 1) & (b == 1)))
    only_a = int(np.sum((a == 1) & (b == 0)))
    only_b = int(np.sum((a == 0) & (b == 1)))
    return both, only_a, only_b, a.size - both - only_a - only_b


def newcombe_paired_interval(
    both: int, only_a: int, only_b: int, neither: int, confidence: float = 0.95
) -> Interval:
    """Newcombe's square-and-add interval (1998, method 10) for p_a − p_b on a paired
    2×2 table, with the continuity-corrected correlation estimate as in Fagerland,
    Lydersen and Laake's `Newcombe_square_and_add_CI_paired_2x2`."""
    check_confidence(confidence)
    n = both + only_a + only_b + neither
    successes_a, successes_b = both + only_a, both + only_b
    p_a, p_b = successes_a / n, successes_b / n
    low_a, high_a = wilson_interval(successes_a, n, confidence)
    low_b, high_b = wilson_interval(successes_b, n, confidence)
    margins = successes_a * (n - successes_a) * successes_b * (n - successes_b)
    psi = 0.0
    if margins:
        # The correlation of the two proportions, shrunk toward 0 by n/2 when positive.
        cross = both * neither - only_a * only_b
        psi = (cross - n / 2 if cross > n / 2 else min(cross, 0)) / math.sqrt(margins)
    down_a, up_b = p_a - low_a, high_b - p_b
    up_a, down_b = high_a - p_a, p_b - low_b
    delta = p_a - p_b
    low = delta - math.sqrt(down_a**2 + up_b**2 - 2 * psi * down_a * up_b)
    high = delta + math.sqrt(down_b**2 + up_a**2 - 2 * psi * down_b * up_a)
    return Interval(max(-1.0, low), min(1.0, high))


def paired_proportion_difference(
    values_a: Sequence[float], values_b: Sequence[float], confidence: float = 0.95
) -> PairedDifference:
    """mean(a) − mean(b) of paired 0/1 values, Newcombe's interval and McNemar's exact p."""
    both, only_a, only_b, neither = _binary_table(values_a, values_b)
    n = both + only_a + only_b + neither
    interval = newcombe_paired_interval(both, only_a, only_b, neither, confidence)
    return PairedDifference((only_a - only_b) / n, interval, mcnemar_exact_p(only_a, only_b), n)
