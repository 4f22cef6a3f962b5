"""Percentile bootstrap: hand-checkable intervals, seeding, and corpus BLEU on resamples
held equal to sacrebleu's corpus_score on the same resampled pairs."""

import random
import statistics

import numpy as np
import pytest
from sacrebleu.metrics import BLEU

from ftcore.metrics.registry import get_metrics
from ftcore.stats.bootstrap import (
    bootstrap_ci,
    bootstrap_difference_ci,
    bootstrap_mean_ci,
    bootstrap_mean_difference_ci,
    percentile_interval,
    resample_counts,
    resample_indices,
    resampled_statistic,
    resampled_sums,
)


@pytest.mark.parametrize("value", [0.0, 1.0, 0.1, 0.3, 57.123])
@pytest.mark.parametrize("n", [1, 3, 100])
def test_constant_values_give_a_zero_width_interval(value, n):
    low, high = bootstrap_mean_ci([value] * n, n_resamples=200)
    assert low == high == pytest.approx(value, rel=1e-15)


def test_one_example_gives_its_own_value():
    assert bootstrap_mean_ci([0.25]) == (0.25, 0.25)


def test_percentile_interval_by_hand():
    # 0..100: the 2.5th and 97.5th percentiles with linear interpolation.
    assert percentile_interval(range(101)) == pytest.approx((2.5, 97.5), abs=1e-12)
    assert percentile_interval(range(101), confidence=0.9) == pytest.approx((5, 95), abs=1e-12)
    assert percentile_interval(range(5), confidence=0.5) == (1.0, 3.0)
    assert percentile_interval([4.0, 4.0]) == (4.0, 4.0)


def test_the_known_mean_is_inside_the_interval():
    values = [0.0, 1.0] * 50  # mean 0.5
    low, high = bootstrap_mean_ci(values)
    assert low < 0.5 < high
    # Standard error of the mean is 0.05: the 95% interval is about ±0.1.
    assert 0.07 < 0.5 - low < 0.13 and 0.07 < high - 0.5 < 0.13


def test_same_seed_same_interval_other_seed_other_interval():
    rng = random.Random(1)
    values = [rng.random() for _ in range(200)]
    assert bootstrap_mean_ci(values, seed=7) == bootstrap_mean_ci(values, seed=7)
    assert bootstrap_mean_ci(values, seed=7) != bootstrap_mean_ci(values, seed=8)


def test_the_interval_shrinks_as_n_grows():
    rng = random.Random(0)
    widths = []
    for n in (25, 400, 6400):
        low, high = bootstrap_mean_ci([rng.random() for _ in range(n)], n_resamples=500)
        widths.append(high - low)
    # Width scales as 1/sqrt(n): each 16-fold n should divide it by about 4.
    assert widths[0] > 3 * widths[1] > 9 * widths[2]


def test_resample_counts_draw_n_examples_each_time():
    chunks = list(resample_counts(n=7, n_resamples=150, seed=0))
    counts = np.vstack(chunks)
    assert counts.shape == (150, 7)
    assert (counts.sum(axis=1) == 7).all()
    again = np.vstack(list(resample_counts(n=7, n_resamples=150, seed=0)))
    assert (counts == again).all()


def test_resample_indices_are_the_draws_behind_resample_counts():
    indices = np.vstack(list(resample_indices(n=9, n_resamples=100, seed=4)))
    counts = np.vstack(list(resample_counts(n=9, n_resamples=100, seed=4)))
    assert indices.shape == (100, 9) and indices.min() >= 0 and indices.max() <= 8
    assert (np.array([np.bincount(row, minlength=9) for row in indices]) == counts).all()


def test_resampled_sums_equal_explicit_resampling():
    rows = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0], [8.0, 80.0]])
    counts = np.vstack(list(resample_counts(4, 30, seed=3)))
    expected = counts @ rows  # counts[i, j] copies of row j
    assert np.array_equal(resampled_sums(rows, 30, seed=3), expected)


def test_no_resamples_gives_no_sums():
    assert resampled_sums([[1.0], [2.0]], 0).shape == (0, 1)


def pairs(n, seed=0):
    rng = random.Random(seed)
    chars = "新年快乐万事如意身体健康恭喜发财"
    make = lambda: "".join(rng.choice(chars) for _ in range(rng.randint(3, 20)))  # noqa: E731
    return [make() for _ in range(n)], [make() for _ in range(n)]


def test_resampled_corpus_bleu_equals_sacrebleu_on_the_resampled_pairs():
    hyps, refs = pairs(40)
    (bleu,) = get_metrics(["bleu"], language="zh")
    rows = bleu.statistics(hyps, refs)
    samples = resampled_statistic(rows, bleu.aggregate, n_resamples=5, seed=11)
    counts = np.vstack(list(resample_counts(40, 5, seed=11))).astype(int)
    for sample, drawn in zip(samples, counts, strict=True):
        picked = [i for i in range(40) for _ in range(drawn[i])]
        expected = BLEU(tokenize="zh").corpus_score(
            [hyps[i] for i in picked], [[refs[i] for i in picked]]
        )
        assert sample == expected.score


def test_a_thousand_resamples_of_a_thousand_bleu_pairs_bracket_the_corpus_score():
    # Its speed is measured in benchmarks/bench_metrics.py, not asserted here.
    hyps, refs = pairs(1000)
    (bleu,) = get_metrics(["bleu"], language="zh")
    rows = bleu.statistics(hyps, refs)
    low, high = bootstrap_ci(rows, bleu.aggregate, n_resamples=1000)
    assert low < bleu.corpus_from_statistics(rows) < high


def test_difference_of_samples_of_different_sizes():
    train = [0.9, 0.8, 1.0, 0.7] * 30  # mean 0.85, n 120
    heldout = [0.5, 0.6, 0.4] * 10  # mean 0.5, n 30
    low, high = bootstrap_mean_difference_ci(train, heldout)
    assert low < 0.35 < high
    assert bootstrap_mean_difference_ci(train, heldout) == (low, high)  # seeded
    assert bootstrap_mean_difference_ci([0.75] * 5, [0.25] * 9) == (0.5, 0.5)


def test_difference_resamples_each_sample_independently():
    # Were both sides drawn from one stream with equal sizes, a sample minus itself would
    # always be 0; independent resampling gives a real interval around 0.
    values = [float(v) for v in range(20)]
    low, high = bootstrap_mean_difference_ci(values, values)
    assert low < 0 < high


def test_difference_of_corpus_bleu():
    (bleu,) = get_metrics(["bleu"], language="zh")
    good = bleu.statistics(*[pairs(60, seed=1)[0]] * 2)  # predictions equal references
    poor = bleu.statistics(*pairs(90, seed=2))
    gap = bleu.corpus_from_statistics(good) - bleu.corpus_from_statistics(poor)
    low, high = bootstrap_difference_ci(good, poor, bleu.aggregate, n_resamples=300)
    assert low <= gap <= high and low > 0


def test_mean_of_plain_values_matches_statistics_mean():
    values = [0.2, 0.4, 0.9]
    samples = resampled_statistic(values, lambda totals, n: totals[0] / n, 50, seed=0)
    assert min(samples) >= 0.2 and max(samples) <= 0.9
    assert statistics.fmean(values) == pytest.approx(0.5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least one example"):
        bootstrap_mean_ci([])
    with pytest.raises(ValueError, match="confidence"):
        percentile_interval([1.0], confidence=1.5)
