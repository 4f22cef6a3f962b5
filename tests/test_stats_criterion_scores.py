"""Criterion means per model and paired differences, by hand and against the bootstrap
written out here."""

import numpy as np
import pytest

from ftcore.stats.bootstrap import percentile_interval, resample_counts
from ftcore.stats.criterion_scores import criterion_means, paired_score_difference
from ftcore.stats.vote_records import Vote


def vote(item, rater, left, right, left_scores, right_scores):
    return Vote(item, rater, left, right, "tie", left_scores, right_scores)


VOTES = [
    vote("i1", "ann", "tuned", "base", {"warmth": 5, "form": 4}, {"warmth": 3, "form": 4}),
    vote("i1", "bob", "base", "tuned", {"warmth": 2}, {"warmth": 4}),
    vote("i2", "ann", "base", "tuned", {"warmth": 3}, {"warmth": 4}),
    vote("i3", "ann", "tuned", "base", {"warmth": 2}, {}),  # base unscored on i3
    vote("i4", "ann", "other", "base", {"warmth": 1}, {"warmth": 5}),
]


def test_means_by_hand():
    means = criterion_means(VOTES, n_resamples=200)
    tuned = means["warmth"]["tuned"]
    assert tuned.mean == pytest.approx((5 + 4 + 4 + 2) / 4)
    assert (tuned.n, tuned.n_items) == (4, 3)
    base = means["warmth"]["base"]
    assert base.mean == pytest.approx((3 + 2 + 3 + 5) / 4) and base.n_items == 3
    assert means["warmth"]["other"] == (1.0, (1.0, 1.0), 1, 1)
    assert means["form"]["tuned"].mean == 4 and means["form"]["base"].n == 1
    assert sorted(means) == ["form", "warmth"]


def test_mean_interval_resamples_whole_items():
    means = criterion_means(VOTES, n_resamples=300, seed=5)
    # tuned's items in order i1, i2, i3: score sums (9, 4, 2) over counts (2, 1, 1).
    sums, counts = np.array([9.0, 4.0, 2.0]), np.array([2.0, 1.0, 1.0])
    resampled = [
        (draw @ sums) / (draw @ counts) for chunk in resample_counts(3, 300, 5) for draw in chunk
    ]
    assert means["warmth"]["tuned"].ci == pytest.approx(percentile_interval(resampled), abs=1e-12)


def test_paired_difference_uses_shared_items_and_item_means():
    # Shared items i1, i2 (i3 has no base score). Item means: tuned (4.5, 4), base (2.5, 3).
    difference = paired_score_difference(VOTES, "warmth", "tuned", "base", n_resamples=300)
    assert difference.delta == pytest.approx(((4.5 - 2.5) + (4 - 3)) / 2)
    assert difference.n == 2
    # Both items favour tuned (by 2 and 1): every paired resample lies in [1, 2].
    assert 1 <= difference.interval.low <= difference.interval.high <= 2
    assert paired_score_difference(VOTES, "form", "tuned", "other") is None


def test_a_consistent_gain_is_found_by_the_paired_difference():
    """Items vary a lot in difficulty, tuned scores 0.3 higher on every one: the paired
    interval excludes 0 although the two means' intervals overlap."""
    rng = np.random.default_rng(2)
    difficulty = rng.normal(3, 1, 40)
    votes = [
        vote(f"i{k}", "ann", "tuned", "base", {"warmth": d + 0.3}, {"warmth": d})
        for k, d in enumerate(difficulty)
    ]
    means = criterion_means(votes, n_resamples=300)["warmth"]
    assert means["tuned"].ci.low < means["base"].ci.high
    difference = paired_score_difference(votes, "warmth", "tuned", "base", n_resamples=300)
    assert difference.delta == pytest.approx(0.3)
    assert difference.interval == pytest.approx((0.3, 0.3)) and difference.p_value < 0.01
