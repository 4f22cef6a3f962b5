"""Bradley–Terry ratings against a closed form, two direct MLEs written here (the
likelihood equations per vote solved by scipy's root finder, and Zermelo's fixed-point
iteration on the win matrix), and by hand for
the unbounded cases, shared ranks and the bootstrap."""

import math

import numpy as np
import pytest
from scipy.optimize import root

from ftcore.stats.bootstrap import percentile_interval
from ftcore.stats.bradley_terry import (
    _bounds_with_unbounded,
    bradley_terry,
    fit_log_strengths,
    has_finite_mle,
    shared_ranks,
    to_elo,
    win_matrix,
)
from ftcore.stats.intervals import Interval
from ftcore.stats.vote_records import Vote

ELO = 400 / math.log(10)


def vote(item, left, right, choice, rater="r1"):
    return Vote(item, rater, left, right, choice)


def random_votes(strengths, n_votes, n_items, seed):
    """Votes between random pairs of models with true log-odds `strengths`; a quarter of
    the votes that are not wins for the stronger side become ties or both-bad."""
    rng = np.random.default_rng(seed)
    strengths = np.asarray(strengths, dtype=float)
    models = [f"m{i}" for i in range(len(strengths))]
    left = rng.integers(0, len(models), n_votes)
    right = (left + rng.integers(1, len(models), n_votes)) % len(models)  # never the same
    p_left = 1 / (1 + np.exp(strengths[right] - strengths[left]))
    u = rng.random(n_votes)
    choices = np.select([u < 0.8 * p_left, u < 0.8, u < 0.9], ["A", "B", "tie"], "both_bad")
    return [
        vote(f"item{k % n_items}", models[left[k]], models[right[k]], str(choices[k]), f"r{k % 3}")
        for k in range(n_votes)
    ]


def direct_mle_elo(votes, models):
    """Solve the likelihood equations one term per vote as cast: Σ (s − σ(θ_left −
    θ_right)) = 0 for each model (s = the left side's score), θ_0 pinned at 0, with
    scipy's root finder; Elo scale, mean 1000."""
    index = {m: i for i, m in enumerate(models)}
    left = np.array([index[v.model_left] for v in votes])
    right = np.array([index[v.model_right] for v in votes])
    score = np.array([v.score_of(v.model_left) for v in votes])

    def score_equations(free):
        theta = np.concatenate(([0.0], free))
        residual = score - 1 / (1 + np.exp(theta[right] - theta[left]))
        g = np.zeros(len(models))
        np.add.at(g, left, residual)
        np.add.at(g, right, -residual)
        return g[1:]

    solution = root(score_equations, np.zeros(len(models) - 1), method="hybr", tol=1e-12)
    assert solution.success
    theta = np.concatenate(([0.0], solution.x))
    return 1000 + ELO * (theta - theta.mean())


def zermelo_elo(wins):
    """Zermelo's (1929) fixed point p_i = W_i / Σ_j N_ij / (p_i + p_j), iterated to rest."""
    strengths = np.ones(len(wins))
    games = wins + wins.T
    for _ in range(100_000):
        updated = wins.sum(axis=1) / (games / (strengths[:, None] + strengths[None, :])).sum(axis=1)
        updated /= np.exp(np.log(updated).mean())
        if np.abs(updated - strengths).max() < 1e-15:
            break
        strengths = updated
    return 1000 + ELO * np.log(strengths)


def test_two_models_have_the_closed_form_difference():
    # tuned: 5 wins + 3 ties/both-bad → 6.5 wins of 10; base 3.5.
    choices = ["A", "A", "B", "A", "A", "B", "A", "tie", "tie", "both_bad"]
    votes = [vote(f"i{k}", "tuned", "base", choice) for k, choice in enumerate(choices)]
    votes[1] = vote("i1", "base", "tuned", "B")  # a win for tuned shown on the right
    result = bradley_terry(votes, n_resamples=100)
    difference = result.ratings["tuned"] - result.ratings["base"]
    assert difference == pytest.approx(400 * math.log10(6.5 / 3.5), abs=1e-9)
    assert sum(result.ratings.values()) / 2 == pytest.approx(1000, abs=1e-9)
    assert result.models == ("tuned", "base") and result.n_votes == 10 and result.n_items == 10


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ratings_equal_a_direct_mle_to_a_millionth_of_a_point(seed):
    strengths = [0.0, 0.4, -0.3, 0.9, 0.1]
    votes = random_votes(strengths, n_votes=300, n_items=120, seed=seed)
    result = bradley_terry(votes, n_resamples=50)
    models = sorted(result.ratings)
    ours = np.array([result.ratings[m] for m in models])
    for reference in (direct_mle_elo(votes, models), zermelo_elo(win_matrix(votes, models))):
        differences = (ours[:, None] - ours[None, :]) - (reference[:, None] - reference[None, :])
        assert np.abs(differences).max() < 1e-6
    assert ours.mean() == pytest.approx(1000, abs=1e-9)


def test_win_matrix_by_hand():
    votes = [
        vote("i1", "a", "b", "A"),
        vote("i2", "b", "a", "A"),
        vote("i3", "a", "c", "tie"),
        vote("i4", "c", "b", "both_bad"),
        vote("i5", "c", "a", "B"),
    ]
    expected = [[0, 1, 1.5], [1, 0, 0.5], [0.5, 0.5, 0]]
    np.testing.assert_array_equal(win_matrix(votes, ["a", "b", "c"]), expected)


@pytest.mark.parametrize(
    ("wins", "finite"),
    [
        ([[0, 1], [1, 0]], True),
        ([[0, 2], [0, 0]], False),  # one side never lost
        ([[0, 1, 0], [1, 0, 1], [0, 1, 0]], True),  # a chain with wins both ways
        ([[0, 1, 1], [1, 0, 0], [0, 0, 0]], False),  # c never won
        ([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], False),  # never met
        ([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]], True),  # a cycle
    ],
)
def test_a_finite_mle_needs_a_strongly_connected_win_graph(wins, finite):
    assert bool(has_finite_mle(np.array(wins, dtype=float))) is finite


def test_a_clean_sweep_has_no_rating_and_says_why():
    votes = [vote("i1", "x", "y", "A"), vote("i2", "y", "x", "B"), vote("i3", "y", "z", "tie"),
             vote("i4", "z", "y", "A")]  # fmt: skip
    result = bradley_terry(votes, n_resamples=100)
    assert result.ratings is None
    assert result.note.startswith("x lost no vote to y, z")
    assert result.unbounded_share == 1.0
    assert all(interval == (-math.inf, math.inf) for interval in result.intervals.values())
    assert set(result.ranks.values()) == {1}
    apart = bradley_terry(votes[:1] + [vote("j", "p", "q", "tie")], n_resamples=10)
    assert apart.note.startswith("no vote compares p, q with x, y")


def test_fit_refuses_an_unbounded_win_matrix():
    with pytest.raises(ValueError, match="no finite maximum-likelihood"):
        fit_log_strengths(np.array([[[0.0, 1.0], [0.0, 0.0]]]))


def test_shared_ranks_follow_the_arena_rule():
    intervals = {
        "a": Interval(1100, 1200),
        "b": Interval(1050, 1150),  # overlaps a
        "c": Interval(900, 1000),  # below a and b
        "d": Interval(950, 1060),  # below a only
    }
    assert shared_ranks(intervals) == {"a": 1, "b": 1, "c": 3, "d": 2}


def test_bounds_with_unbounded_resamples():
    values = np.arange(1.0, 101.0)
    assert _bounds_with_unbounded(values, 0, 0.95) == percentile_interval(values)
    # 1 unbounded of 101 (under the 2.5% tail): positions 2.5 in [−inf, 1 … 100] and
    # 97.5 in [1 … 100, +inf] are both finite: 2.5 and 98.5.
    assert _bounds_with_unbounded(values, 1, 0.95) == pytest.approx((2.5, 98.5))
    # 3 unbounded of 103 (2.9%): positions 2.55 < 3 and 99.45 > 99 reach the infinities.
    assert _bounds_with_unbounded(values, 3, 0.95) == (-math.inf, math.inf)
    assert _bounds_with_unbounded(np.array([]), 5, 0.95) == (-math.inf, math.inf)


def test_elo_scale():
    np.testing.assert_allclose(to_elo(np.array([0.0, math.log(10)])), [800, 1200])
    # An odds ratio of 10 between two models is 400 points.


def test_more_raters_on_the_same_items_change_nothing():
    """The bootstrap resamples items: every vote copied to a second rater on the same
    item doubles the win matrix, which leaves the MLE and each resample's fit alone."""
    votes = random_votes([0.0, 0.5, -0.5], n_votes=90, n_items=30, seed=4)
    doubled = votes + [Vote(v.item_id, "r9", v.model_left, v.model_right, v.choice) for v in votes]
    once, twice = bradley_terry(votes, n_resamples=200), bradley_terry(doubled, n_resamples=200)
    for model, rating in once.ratings.items():
        assert twice.ratings[model] == pytest.approx(rating, abs=1e-9)
        assert twice.intervals[model] == pytest.approx(once.intervals[model], abs=1e-9)


def test_bootstrap_intervals_cover_the_true_ratings():
    """120 simulated sessions of 3 models, 150 votes on 50 items: each model's interval
    holds its true centred rating about 95% of the time."""
    strengths = np.array([0.0, 0.5, -0.4])
    # A quarter of the non-wins are ties (half a win each) in random_votes, so the true
    # ratings are not `strengths` themselves: take the MLE of the expected win matrix.
    p = 1 / (1 + np.exp(strengths[None, :] - strengths[:, None]))
    expected = 0.8 * p + 0.1 * np.ones((3, 3))  # per game, i's wins over j incl. half ties
    np.fill_diagonal(expected, 0)
    truth = to_elo(fit_log_strengths(expected[None])[0])
    covered = np.zeros(3)
    n_sessions = 120
    for seed in range(n_sessions):
        result = bradley_terry(random_votes(strengths, 150, 50, seed + 100), n_resamples=200)
        for i in range(3):
            low, high = result.intervals[f"m{i}"]
            covered[i] += low <= truth[i] <= high
    assert np.all((covered / n_sessions >= 0.88) & (covered / n_sessions <= 0.99))
