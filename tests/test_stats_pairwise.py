"""Vote records, per-pair win rates and the side and length biases, checked by hand and
against intervals and tests computed independently here."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from ftcore.stats.bootstrap import percentile_interval, resample_counts
from ftcore.stats.pairwise import (
    MIN_BOOTSTRAP_ITEMS,
    length_bias,
    pair_result,
    pair_results,
    position_bias,
    ratio_over_items_ci,
)
from ftcore.stats.vote_records import Vote, models_in, votes_by_pair


def vote(item, left, right, choice, rater="r1", **fields):
    return Vote(item, rater, left, right, choice, **fields)


# tuned against base, sides mixed: tuned wins 5, base wins 2, 2 ties, 1 both bad.
HAND = [
    vote("i1", "tuned", "base", "A"),
    vote("i2", "base", "tuned", "B"),
    vote("i3", "base", "tuned", "B"),
    vote("i4", "tuned", "base", "A"),
    vote("i5", "base", "tuned", "B"),
    vote("i6", "base", "tuned", "A"),
    vote("i7", "tuned", "base", "B"),
    vote("i8", "tuned", "base", "tie"),
    vote("i9", "base", "tuned", "tie"),
    vote("i10", "base", "tuned", "both_bad"),
]


def wilson_by_score_test(k, n, confidence=0.95):
    """The Wilson bounds found as the two p whose score test sits exactly at ±z."""
    z = norm.ppf(0.5 + confidence / 2)

    def score(p):
        return (k / n - p) ** 2 - z * z * p * (1 - p) / n

    # The score is negative just inside p̂ and positive far from it on either side.
    low = 0.0 if k == 0 else brentq(score, 1e-12, k / n - 1e-9)
    high = 1.0 if k == n else brentq(score, k / n + 1e-9, 1 - 1e-12)
    return low, high


def test_a_vote_in_model_terms():
    left_won = vote("i1", "tuned", "base", "A")
    assert left_won.winner() == "tuned" and left_won.preference() == "tuned"
    assert left_won.score_of("tuned") == 1.0 and left_won.score_of("base") == 0.0
    assert left_won.pair == ("base", "tuned") and left_won.decisive
    tie = vote("i1", "tuned", "base", "tie")
    assert tie.winner() is None and tie.preference() == "tie" and not tie.decisive
    assert tie.score_of("base") == tie.score_of("tuned") == 0.5
    assert vote("i1", "tuned", "base", "both_bad").score_of("tuned") == 0.5
    with pytest.raises(ValueError, match="does not show model 'other'"):
        tie.score_of("other")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"choice": "C"}, "choice='C'"),
        ({"choice": "A", "model_right": "tuned"}, "both 'tuned'"),
        ({"choice": "A", "gold_answer": "left"}, "gold_answer='left'"),
    ],
)
def test_bad_votes_are_refused_with_the_field_named(fields, message):
    values = {"item_id": "i", "rater_id": "r", "model_left": "tuned", "model_right": "base"}
    with pytest.raises(ValueError, match=message):
        Vote(**{**values, **fields})


def test_grouping_helpers():
    assert models_in(HAND) == ["base", "tuned"]
    assert list(votes_by_pair(HAND)) == [("base", "tuned")]


def test_counts_and_win_rates_by_hand():
    result = pair_result(HAND, "tuned", "base", n_resamples=200)
    assert (result.wins_a, result.wins_b, result.ties, result.both_bad) == (5, 2, 2, 1)
    assert (result.n_votes, result.n_decisive, result.n_items) == (10, 7, 10)
    assert result.win_rate_a == pytest.approx((5 + 3 / 2) / 10)  # 0.65
    assert result.win_rate_a_no_ties == pytest.approx(5 / 7)
    assert result.win_rate_a_no_ties_ci == pytest.approx(wilson_by_score_test(5, 7), abs=1e-9)
    flipped = pair_result(HAND, "base", "tuned", n_resamples=200)
    assert flipped.win_rate_a == pytest.approx(1 - result.win_rate_a)
    assert flipped.win_rate_a_no_ties == pytest.approx(2 / 7)


def test_item_bootstrap_is_the_ratio_resampled_by_hand():
    result = pair_result(HAND, "tuned", "base", n_resamples=500, seed=3)
    scores = np.array([1, 1, 1, 1, 1, 0, 0, 0.5, 0.5, 0.5])  # tuned's score per item
    ratios = [
        (counts @ scores) / counts.sum()
        for chunk in resample_counts(10, 500, 3)
        for counts in chunk
    ]
    assert result.win_rate_a_ci == pytest.approx(percentile_interval(ratios), abs=1e-12)


def test_more_raters_on_the_same_items_do_not_narrow_the_item_bootstrap():
    """Votes on one item move together: copying every vote to a second rater on the same
    item leaves each resampled win rate, hence the interval, exactly as it was."""
    doubled = HAND + [vote(v.item_id, v.model_left, v.model_right, v.choice, "r2") for v in HAND]
    once = pair_result(HAND, "tuned", "base", n_resamples=300)
    twice = pair_result(doubled, "tuned", "base", n_resamples=300)
    assert twice.n_votes == 20 and twice.win_rate_a == once.win_rate_a
    assert twice.win_rate_a_ci == pytest.approx(once.win_rate_a_ci, abs=1e-12)


def test_every_vote_for_one_side_gives_an_honest_interval_without_ties():
    sweep = [vote(f"i{k}", "tuned", "base", "A") for k in range(6)]
    result = pair_result(sweep, "tuned", "base", n_resamples=100)
    assert result.win_rate_a_no_ties == 1.0
    low, high = result.win_rate_a_no_ties_ci
    assert high == 1.0 and low == pytest.approx(wilson_by_score_test(6, 6)[0]) and low < 0.7


def test_no_decisive_vote_leaves_the_decisive_win_rate_empty():
    ties = [vote(f"i{k}", "tuned", "base", "tie") for k in range(MIN_BOOTSTRAP_ITEMS - 1)]
    ties.append(vote("last", "base", "tuned", "both_bad"))
    result = pair_result(ties, "tuned", "base", n_resamples=50)
    assert result.win_rate_a == 0.5 and result.win_rate_a_ci == (0.5, 0.5)
    assert result.win_rate_a_no_ties is None and result.win_rate_a_no_ties_ci is None


def test_too_few_items_give_no_bootstrap_interval_but_wilson_still_one():
    """The journey's votes: base wins item 1 and ties it with a second rater, wins item 2
    and loses item 3. Resampling 3 items made the interval 0%–100%, beside Wilson's
    21%–94% for the decisive votes; under MIN_BOOTSTRAP_ITEMS items there is none."""
    votes = [vote("1", "base", "tuned", "A"), vote("1", "base", "tuned", "tie", "r2"),
             vote("2", "tuned", "base", "B"), vote("3", "tuned", "base", "A", "r2")]  # fmt: skip
    result = pair_result(votes, "base", "tuned", n_resamples=1000)
    assert (result.n_items, result.win_rate_a) == (3, pytest.approx(2.5 / 4))
    assert result.win_rate_a_ci is None
    assert result.win_rate_a_no_ties_ci == pytest.approx(wilson_by_score_test(2, 3), abs=1e-9)
    enough = [vote(f"i{k}", "base", "tuned", "AB"[k % 2]) for k in range(MIN_BOOTSTRAP_ITEMS)]
    low, high = pair_result(enough, "base", "tuned", n_resamples=200).win_rate_a_ci
    assert low < 0.5 < high


def test_pair_results_cover_every_pair_in_the_given_order():
    votes = HAND + [vote("j1", "other", "base", "A"), vote("j2", "tuned", "other", "B")]
    results = pair_results(votes, order=["tuned", "other", "base"], n_resamples=50)
    assert [(r.model_a, r.model_b) for r in results] == [
        ("tuned", "other"),
        ("tuned", "base"),
        ("other", "base"),
    ]
    assert results[0].wins_a == 0 and results[0].wins_b == 1
    assert [(r.model_a, r.model_b) for r in pair_results(votes, n_resamples=50)] == [
        ("base", "other"),
        ("base", "tuned"),
        ("other", "tuned"),
    ]
    with pytest.raises(ValueError, match="leaves out models \\['other'\\]"):
        pair_results(votes, order=["tuned", "base"])
    with pytest.raises(ValueError, match="no vote compares"):
        pair_result(HAND, "tuned", "other")


def test_win_rate_intervals_cover_the_truth_in_simulation():
    """Items differ in how much each model is preferred and get 1 to 3 raters: the item
    bootstrap (ties half) and Wilson (decisive votes, one per item) each cover the true
    rate in about 95% of 300 simulated sessions of 60 items."""
    rng = np.random.default_rng(7)
    n_sessions, n_items = 300, 60
    covered_bootstrap = covered_wilson = 0
    # Per item, the probabilities of (tuned wins, base wins, tie) are a Dirichlet draw.
    mean_probabilities = np.array([0.5, 0.3, 0.2])
    true_rate = mean_probabilities[0] + mean_probabilities[2] / 2
    true_decisive = mean_probabilities[0] / (mean_probabilities[0] + mean_probabilities[1])
    choices = np.array(["A", "B", "tie"])
    for _ in range(n_sessions):
        item_probabilities = rng.dirichlet(mean_probabilities * 20, size=n_items)
        cumulative = item_probabilities.cumsum(axis=1)
        raters = rng.integers(1, 4, size=n_items)
        draws = rng.random((n_items, 3))
        outcome = (draws[:, :, None] > cumulative[:, None, :]).sum(axis=2)  # item × rater
        votes = [
            vote(f"i{k}", "tuned", "base", str(choices[outcome[k, r]]), f"r{r}")
            for k in range(n_items)
            for r in range(raters[k])
        ]
        low, high = pair_result(votes, "tuned", "base", n_resamples=200).win_rate_a_ci
        covered_bootstrap += low <= true_rate <= high
        tuned_share = item_probabilities[:, 0] / item_probabilities[:, :2].sum(axis=1)
        wins = int((rng.random(n_items) < tuned_share).sum())  # one decisive vote per item
        first = [vote(f"i{k}", "tuned", "base", "A" if k < wins else "B") for k in range(n_items)]
        low, high = pair_result(first, "tuned", "base", n_resamples=1).win_rate_a_no_ties_ci
        covered_wilson += low <= true_decisive <= high
    assert 0.91 <= covered_bootstrap / n_sessions <= 0.98
    assert 0.92 <= covered_wilson / n_sessions <= 0.98


def test_ratio_over_items_of_constant_ratios_has_zero_width():
    assert ratio_over_items_ci([(1, 2), (2, 4), (3, 6)], n_resamples=50) == (0.5, 0.5)


def test_position_bias_by_hand():
    # 10 decisive votes, 7 for the left side; the ties are left out.
    votes = [vote(f"i{k}", "tuned", "base", "A" if k < 7 else "B") for k in range(10)]
    votes += [vote("t1", "tuned", "base", "tie"), vote("t2", "base", "tuned", "both_bad")]
    bias = position_bias(votes)
    assert (bias.share, bias.n, bias.successes) == (0.7, 10, 7)
    assert bias.ci == pytest.approx(wilson_by_score_test(7, 10), abs=1e-9)
    # Exact two-sided binomial test: 2·P(X ≥ 7) = 2·(120 + 45 + 10 + 1) / 1024.
    assert bias.p_value == pytest.approx(352 / 1024)
    empty = position_bias([vote("t1", "tuned", "base", "tie")])
    assert empty.share is None and empty.ci is None and empty.n == 0 and empty.p_value == 1.0


def test_length_bias_counts_wins_of_the_longer_response():
    lengths = {("i1", "tuned"): 80, ("i1", "base"): 40, ("i2", "tuned"): 10,
               ("i2", "base"): 50, ("i3", "tuned"): 30, ("i3", "base"): 30}  # fmt: skip
    votes = [
        vote("i1", "tuned", "base", "A"),  # longer (tuned, left) won
        vote("i1", "base", "tuned", "B", "r2"),  # longer (tuned, right) won
        vote("i2", "tuned", "base", "A"),  # shorter won
        vote("i2", "base", "tuned", "A", "r2"),  # longer (base, left) won
        vote("i3", "tuned", "base", "A"),  # equal lengths: not counted
        vote("i1", "tuned", "base", "tie", "r3"),  # not decisive: not counted
    ]
    bias = length_bias(votes, lengths)
    assert (bias.successes, bias.n, bias.share) == (3, 4, 0.75)
    assert bias.p_value == pytest.approx(2 * (4 + 1) / 16)
    with pytest.raises(ValueError, match="no entry for .*'i9'"):
        length_bias([vote("i9", "tuned", "base", "A")], lengths)


def test_wilson_reference_is_itself_right():
    """The score-test inversion used above matches Wilson's closed form for 5 of 7."""
    z, n, p = norm.ppf(0.975), 7, 5 / 7
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert wilson_by_score_test(5, 7) == pytest.approx((centre - half, centre + half))
