"""Active sampling weights by hand, from pairs to items, and the draw."""

import math

import numpy as np
import pytest

from ftcore.stats.active_sampling import (
    draw,
    item_probabilities,
    pair_probabilities,
    shrink_weights,
    vote_variance,
)
from ftcore.stats.vote_records import Vote


def vote(item, left, right, choice):
    return Vote(item, "ann", left, right, choice)


def test_shrink_weights_by_hand():
    # Σ = ¼ for both; n = 1 and 3: √Σ·(1 − 1/√2) and √Σ·(1/√3 − 1/2), normalised.
    gains = np.array([0.5 * (1 - 1 / math.sqrt(2)), 0.5 * (1 / math.sqrt(3) - 0.5)])
    np.testing.assert_allclose(shrink_weights([0.25, 0.25], [1, 3]), gains / gains.sum())
    np.testing.assert_allclose(shrink_weights([0.1, 0.2, 0.3], [0, 5, 0]), [0.5, 0, 0.5])
    np.testing.assert_allclose(shrink_weights([0.0, 0.0], [4, 9]), [0.5, 0.5])
    np.testing.assert_allclose(shrink_weights([0.2] * 4, [7] * 4), [0.25] * 4)


@pytest.mark.parametrize(
    ("variances", "counts"), [([0.1], [1, 2]), ([], []), ([-0.1], [1]), ([0.1], [-1])]
)
def test_shrink_weights_refuses_bad_input(variances, counts):
    with pytest.raises(ValueError):
        shrink_weights(variances, counts)


def test_vote_variance_by_hand():
    assert vote_variance([1, 1]) == pytest.approx((0 + 2 * 0.25) / 4)
    # mean ½: (¼ + ¼ + 0 + 2·¼) / (3 + 2)
    assert vote_variance([1, 0, 0.5]) == pytest.approx(1.0 / 5)
    assert vote_variance([]) == 0.25
    assert vote_variance([1, 0], prior_votes=0) == 0.25
    with pytest.raises(ValueError, match="prior_votes"):
        vote_variance([], prior_votes=0)


def test_pairs_with_agreeing_votes_are_served_less():
    votes = [
        vote("i1", "tuned", "base", "A"),
        vote("i2", "base", "tuned", "B"),  # (base, tuned): tuned twice → Σ = 0.125
        vote("j1", "other", "base", "A"),
        vote("j2", "other", "base", "B"),  # (base, other): one each → Σ = 0.25
    ]
    probabilities = pair_probabilities(votes, [("base", "tuned"), ("base", "other")])
    # Equal n: the weights are proportional to √Σ.
    expected = np.array([math.sqrt(0.125), math.sqrt(0.25)])
    assert list(probabilities.values()) == pytest.approx(list(expected / expected.sum()))


def test_item_probabilities_go_to_the_least_voted_items_of_each_pair():
    candidates = {"i1": ("base", "tuned"), "i2": ("base", "tuned"), "j1": ("base", "other")}
    # No vote on (base, other) yet: all of it goes to j1.
    first = item_probabilities(candidates, [vote("i1", "tuned", "base", "A")])
    assert first == {"i1": 0.0, "i2": 0.0, "j1": 1.0}
    votes = [vote("i1", "tuned", "base", "A"), vote("j1", "other", "base", "tie")]
    later = item_probabilities(candidates, votes)
    by_pair = pair_probabilities(votes, [("base", "other"), ("base", "tuned")])
    assert later == pytest.approx({"i1": 0.0, "i2": by_pair[("base", "tuned")],
                                   "j1": by_pair[("base", "other")]})  # fmt: skip
    assert sum(later.values()) == pytest.approx(1.0)


def test_draw_follows_the_probabilities():
    rng = np.random.default_rng(0)
    drawn = [draw({"x": 0.7, "y": 0.3, "z": 0.0}, rng) for _ in range(4000)]
    assert drawn.count("z") == 0
    assert drawn.count("x") / 4000 == pytest.approx(0.7, abs=0.025)
