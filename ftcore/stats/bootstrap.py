"""Percentile bootstrap confidence intervals for mean and corpus-level metrics, seeded.

Every statistic here is a function of column sums of per-example rows (see
ftcore.metrics.registry): a mean is sum/n, corpus BLEU is a function of summed n-gram
counts. A bootstrap resample draws n examples with replacement; its column sums are
`counts @ rows`, where `counts[i]` is how often example i was drawn. That is one matrix
product per chunk of resamples, so 1,000 resamples of 10,000 examples take a fraction of
a second plus the cost of the aggregate itself, and the rows are never tokenized again.

The interval is the percentile interval of the resampled statistic (numpy's default
linear interpolation between order statistics). The point estimate is always the
statistic on the full sample, never the mean of the resamples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from ftcore.stats.intervals import Interval, check_confidence

Aggregate = Callable[[Sequence[float], int], float]  # (column sums, n) → statistic
Seed = int | np.random.Generator
CHUNK = 64  # resamples per matrix product: (64 × n) counts stay small in memory


def _generator(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _as_rows(rows: Sequence[Sequence[float]] | Sequence[float]) -> np.ndarray:
    array = np.asarray(rows, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]  # plain values: one column
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError("bootstrap needs at least one example (a list of rows or values)")
    return array


def resample_indices(n: int, n_resamples: int, seed: Seed) -> Iterator[np.ndarray]:
    """Chunks of a (n_resamples × n) matrix: the example indices of each resample of n
    draws with replacement. The stream depends only on (n, seed). A metric that must be
    recomputed from the texts (an `evaluate` module) uses these directly."""
    rng = _generator(seed)
    for start in range(0, n_resamples, CHUNK):
        yield rng.integers(0, n, size=(min(CHUNK, n_resamples - start), n))


def resample_counts(n: int, n_resamples: int, seed: Seed) -> Iterator[np.ndarray]:
    """Chunks of a (n_resamples × n) matrix: how often each example is drawn in each
    resample; the same resamples as `resample_indices` with the same seed."""
    for draws in resample_indices(n, n_resamples, seed):
        size = len(draws)
        offsets = np.arange(size)[:, None] * n
        counts = np.bincount((draws + offsets).ravel(), minlength=size * n)
        yield counts.reshape(size, n).astype(np.float64)


def resampled_sums(
    rows: Sequence[Sequence[float]] | np.ndarray, n_resamples: int, seed: Seed = 0
) -> np.ndarray:
    """(n_resamples × k) column sums of resampled rows.

    The sums are taken of deviations from the first row and n × first row added back:
    a column that is constant then sums to exactly the same float in every resample (a
    zero-width interval), where summing c, c, c… in BLAS order would wobble in the last
    bit. Integer counts are exact either way."""
    array = _as_rows(rows)
    n, width = array.shape
    if n_resamples == 0:
        return np.empty((0, width))
    base = array[0]
    deviations = array - base
    chunks = [counts @ deviations for counts in resample_counts(n, n_resamples, seed)]
    return n * base + np.vstack(chunks)


def percentile_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """The central `confidence` share of `values`, e.g. the 2.5th and 97.5th percentiles."""
    check_confidence(confidence)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(np.asarray(values, dtype=np.float64), [tail, 100 - tail])
    return Interval(float(low), float(high))


def resampled_statistic(
    rows: Sequence[Sequence[float]] | np.ndarray,
    aggregate: Aggregate,
    n_resamples: int = 1000,
    seed: Seed = 0,
) -> np.ndarray:
    """The statistic `aggregate(column sums, n)` on each of n_resamples resamples."""
    sums = resampled_sums(rows, n_resamples, seed)
    n = len(rows)
    return np.array([aggregate(row.tolist(), n) for row in sums])


def bootstrap_ci(
    rows: Sequence[Sequence[float]] | np.ndarray,
    aggregate: Aggregate,
    n_resamples: int = 1000,
    seed: Seed = 0,
    confidence: float = 0.95,
) -> Interval:
    """Percentile CI of a corpus-level statistic recomputed on resampled examples, e.g.
    `bootstrap_ci(bleu_rows, metric.aggregate)` for corpus BLEU."""
    samples = resampled_statistic(rows, aggregate, n_resamples, seed)
    return percentile_interval(samples, confidence)


def mean_aggregate(totals: Sequence[float], n: int) -> float:
    return totals[0] / n


def bootstrap_mean_ci(
    values: Sequence[float], n_resamples: int = 1000, seed: Seed = 0, confidence: float = 0.95
) -> Interval:
    """Percentile CI for the mean of per-example values (ROUGE, exact match, …)."""
    return bootstrap_ci(_as_rows(values), mean_aggregate, n_resamples, seed, confidence)


def bootstrap_difference_ci(
    rows_a: Sequence[Sequence[float]] | np.ndarray,
    rows_b: Sequence[Sequence[float]] | np.ndarray,
    aggregate: Aggregate,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Interval:
    """Percentile CI for statistic(a) − statistic(b) where a and b are independent
    samples, possibly of different sizes (train minus held-out for a generalisation gap).
    Each sample is resampled on its own, from its own stream derived from `seed`."""
    stream_a, stream_b = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    samples_a = resampled_statistic(_as_rows(rows_a), aggregate, n_resamples, stream_a)
    samples_b = resampled_statistic(_as_rows(rows_b), aggregate, n_resamples, stream_b)
    return percentile_interval(samples_a - samples_b, confidence)


def paired_difference_samples(
    rows_a: Sequence[Sequence[float]] | np.ndarray,
    rows_b: Sequence[Sequence[float]] | np.ndarray,
    aggregate: Aggregate,
    n_resamples: int = 1000,
    seed: Seed = 0,
) -> np.ndarray:
    """statistic(a) − statistic(b) on n_resamples resamples of *example indices* shared by
    both sides: row i of a and row i of b are the same example answered by two models.
    One resampling for both keeps their correlation, which independent resampling throws
    away (it misses consistent small gains; see PITFALLS.md)."""
    array_a, array_b = _as_rows(rows_a), _as_rows(rows_b)
    if len(array_a) != len(array_b):
        raise ValueError(f"paired rows differ in length: {len(array_a)} vs {len(array_b)}")
    # Side by side, one resampling: the column sums of both come from the same counts.
    sums = resampled_sums(np.hstack([array_a, array_b]), n_resamples, seed)
    n, width = len(array_a), array_a.shape[1]
    return np.array(
        [aggregate(row[:width].tolist(), n) - aggregate(row[width:].tolist(), n) for row in sums]
    )


def paired_difference_ci(
    rows_a: Sequence[Sequence[float]] | np.ndarray,
    rows_b: Sequence[Sequence[float]] | np.ndarray,
    aggregate: Aggregate,
    n_resamples: int = 1000,
    seed: Seed = 0,
    confidence: float = 0.95,
) -> Interval:
    """Percentile CI for statistic(a) − statistic(b) on paired rows (same examples)."""
    samples = paired_difference_samples(rows_a, rows_b, aggregate, n_resamples, seed)
    return percentile_interval(samples, confidence)


def bootstrap_mean_difference_ci(
    values_a: Sequence[float],
    values_b: Sequence[float],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Interval:
    """Percentile CI for mean(a) − mean(b), a and b resampled independently."""
    return bootstrap_difference_ci(
        values_a, values_b, mean_aggregate, n_resamples, seed, confidence
    )
