"""NLL comparisons: paired where base and fine-tuned share examples, checked by hand."""

import numpy as np
import pytest

from ftcore.errors import DataError
from ftcore.stats.bootstrap import bootstrap_difference_ci, resample_counts
from ftcore.verdicts.nll_gaps import (
    INDEPENDENT,
    PAIRED,
    PAIRED_WITHIN_SPLITS,
    excess_nll_gap,
    independent_nll_difference,
    paired_nll_difference,
    token_mean,
)
from ftcore.verdicts.verdict_settings import child_seeds

RESAMPLING = {"n_resamples": 400, "confidence": 0.95}


def rows(per_token: list[float], tokens: list[int]) -> list[tuple[float, int]]:
    return [(nll * n, n) for nll, n in zip(per_token, tokens, strict=True)]


def varied(n: int, seed: int, centre: float, spread: float) -> list[float]:
    """Per-token NLLs that differ a lot between examples, as real prompts do."""
    return list(centre + spread * np.random.default_rng(seed).standard_normal(n))


def hand_paired_samples(a, b, seed: int, n_resamples: int) -> np.ndarray:
    """statistic(a) − statistic(b) on each resample, drawn once for both sides."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    out = []
    for counts in resample_counts(len(a), n_resamples, seed):
        for c in counts:
            out.append((c @ a[:, 0]) / (c @ a[:, 1]) - (c @ b[:, 0]) / (c @ b[:, 1]))
    return np.array(out)


def test_token_weighted_mean_of_totals():
    assert token_mean([12.0, 10], 2) == pytest.approx(1.2)


def test_base_worse_on_every_example_gives_a_gain_interval_above_zero():
    # The audit's case: a fine-tune better than base on 100% of held-out examples got a
    # gain CI of [-0.13, 0.31] from independent resampling. Here every example gains 0.09
    # nats per token while examples differ by ~0.5 nats among themselves.
    tokens = [12 + 7 * (i % 5) for i in range(48)]
    base = rows(varied(48, 1, 3.0, 0.5), tokens)
    tuned = [(nll - 0.09 * n, n) for nll, n in base]
    gain = paired_nll_difference(base, tuned, seed=0, **RESAMPLING)
    assert gain.resampling == PAIRED
    assert gain.value == pytest.approx(0.09)
    # Every resample holds the same examples on both sides, so the gain is 0.09 in each.
    assert gain.ci == pytest.approx((0.09, 0.09), abs=1e-9)
    unpaired = bootstrap_difference_ci(base, tuned, token_mean, 400, 0)
    assert unpaired.low < 0 < unpaired.high  # what independent resampling said


def test_paired_interval_matches_a_hand_resampling():
    tokens = [10 + i % 4 for i in range(30)]
    base = rows(varied(30, 2, 2.0, 0.4), tokens)
    tuned = rows(varied(30, 3, 1.8, 0.4), tokens)
    expected = np.percentile(hand_paired_samples(tuned, base, 7, 400), [2.5, 97.5])
    result = paired_nll_difference(tuned, base, seed=7, **RESAMPLING)
    assert result.ci == pytest.approx(tuple(expected))


def test_held_out_minus_train_is_resampled_independently():
    train, heldout = rows([1.0] * 10, [5] * 10), rows([3.0, 1.0] * 6, [5] * 12)
    result = independent_nll_difference(heldout, train, seed=0, **RESAMPLING)
    assert result.resampling == INDEPENDENT
    assert result.value == pytest.approx(1.0)  # (3 + 1) / 2 − 1
    assert result.ci[0] < 1.0 < result.ci[1]


def test_excess_gap_is_a_difference_in_differences_paired_within_splits():
    # Base: held-out is 0.11 nats *easier* than train (as on the greetings). The fine-tune
    # is 0.5 nats better than base on every train example and 0.2 better on every
    # held-out one: its own gap is 0.19, but it added 0.30 beyond the base's.
    tokens_train, tokens_heldout = [8 + i % 3 for i in range(20)], [9 + i % 4 for i in range(24)]
    base_train = rows(varied(20, 4, 3.11, 0.6), tokens_train)
    base_heldout = rows(varied(24, 5, 3.00, 0.6), tokens_heldout)
    tuned_train = [(nll - 0.5 * n, n) for nll, n in base_train]
    tuned_heldout = [(nll - 0.2 * n, n) for nll, n in base_heldout]
    excess = excess_nll_gap(
        tuned_train, tuned_heldout, base_train, base_heldout, seed=3, **RESAMPLING
    )
    by_hand = (
        sum(v for v, _ in tuned_heldout) / sum(tokens_heldout)
        - sum(v for v, _ in tuned_train) / sum(tokens_train)
    ) - (
        sum(v for v, _ in base_heldout) / sum(tokens_heldout)
        - sum(v for v, _ in base_train) / sum(tokens_train)
    )
    assert excess.value == pytest.approx(by_hand) == pytest.approx(0.3)
    assert excess.resampling == PAIRED_WITHIN_SPLITS
    # Paired within each split, the per-example shifts are constant: no resampling noise.
    assert excess.ci == pytest.approx((0.3, 0.3), abs=1e-9)


def test_excess_gap_interval_matches_a_hand_resampling():
    t_train, t_held = (
        rows(varied(15, 6, 1.0, 0.3), [10] * 15),
        rows(varied(18, 7, 1.6, 0.3), [9] * 18),
    )
    b_train, b_held = (
        rows(varied(15, 8, 3.0, 0.3), [10] * 15),
        rows(varied(18, 9, 3.1, 0.3), [9] * 18),
    )
    heldout_seed, train_seed = child_seeds(11, 2)
    samples = hand_paired_samples(t_held, b_held, heldout_seed, 400) - hand_paired_samples(
        t_train, b_train, train_seed, 400
    )
    result = excess_nll_gap(t_train, t_held, b_train, b_held, seed=11, **RESAMPLING)
    assert result.ci == pytest.approx(tuple(np.percentile(samples, [2.5, 97.5])))


def test_unpaired_rows_are_refused_and_tiny_samples_get_no_interval():
    with pytest.raises(DataError, match="base vs tuned on val: 3 and 2"):
        paired_nll_difference(
            [(1.0, 1)] * 3, [(1.0, 1)] * 2, seed=0, what="base vs tuned on val", **RESAMPLING
        )
    single = paired_nll_difference([(2.0, 1)], [(1.0, 1)], seed=0, **RESAMPLING)
    assert single.value == 1.0 and single.ci is None
