"""Human vs automatic metric: agreement by hand and Kendall's tau-b counted pair by pair."""

import itertools
import math

import numpy as np
import pytest

from ftcore.stats.metric_agreement import human_outcomes, metric_agreement
from ftcore.stats.vote_records import Vote


def vote(item, left, right, choice, rater="ann"):
    return Vote(item, rater, left, right, choice)


VOTES = [
    vote("i1", "tuned", "base", "A"),  # tuned
    vote("i2", "tuned", "base", "A"),  # tuned …
    vote("i2", "base", "tuned", "tie", "bob"),  # … and a tie: base scores ¼
    vote("i3", "tuned", "base", "B"),  # base
    vote("i4", "base", "tuned", "both_bad"),  # nobody
    vote("i5", "base", "tuned", "B"),  # tuned, but base has no metric score on i5
]
BLEU = {("i1", "tuned"): 30, ("i1", "base"): 20, ("i2", "tuned"): 25, ("i2", "base"): 25,
        ("i3", "tuned"): 10, ("i3", "base"): 40, ("i4", "tuned"): 15, ("i4", "base"): 5,
        ("i5", "tuned"): 50}  # fmt: skip


def tau_b_by_counting(x, y):
    """(concordant − discordant) / √((pairs − ties in x)(pairs − ties in y))."""
    concordant = discordant = ties_x = ties_y = 0
    for (x1, y1), (x2, y2) in itertools.combinations(zip(x, y, strict=True), 2):
        dx, dy = np.sign(x1 - x2), np.sign(y1 - y2)
        ties_x += dx == 0
        ties_y += dy == 0
        concordant += dx * dy > 0
        discordant += dx * dy < 0
    pairs = len(x) * (len(x) - 1) / 2
    return (concordant - discordant) / math.sqrt((pairs - ties_x) * (pairs - ties_y))


def test_human_outcomes_are_the_first_models_mean_score():
    assert human_outcomes(VOTES) == {
        ("i1", "base", "tuned"): 0.0,
        ("i2", "base", "tuned"): 0.25,
        ("i3", "base", "tuned"): 1.0,
        ("i4", "base", "tuned"): 0.5,
        ("i5", "base", "tuned"): 0.0,
    }


def test_agreement_and_tau_by_hand():
    (bleu,) = metric_agreement(VOTES, {"bleu": BLEU})
    # Decided on both sides: i1 (both tuned) and i3 (both base). i2: metric level;
    # i4: raters level; i5: no base score.
    assert (bleu.agreement, bleu.agreeing, bleu.n) == (1.0, 2, 2)
    # base − tuned per unit i1…i4 against base's outcome − ½.
    differences, humans = [-10, 0, 30, -10], [-0.5, -0.25, 0.5, 0.0]
    assert bleu.n_tau == 4
    assert bleu.kendall_tau == pytest.approx(tau_b_by_counting(differences, humans))
    assert 0 < bleu.p_value <= 1


def test_lower_is_better_turns_the_metric_round():
    perplexity = {key: 100 - value for key, value in BLEU.items()}  # same order, reversed
    (as_given,) = metric_agreement(VOTES, {"ppl": perplexity})
    (turned,) = metric_agreement(VOTES, {"ppl": perplexity}, lower_is_better={"ppl"})
    assert as_given.agreement == 0.0 and turned.agreement == 1.0
    assert turned.kendall_tau == pytest.approx(-as_given.kendall_tau)


def test_a_metric_that_disagrees_and_one_without_data():
    contrary = {key: -value for key, value in BLEU.items()}
    results = metric_agreement(VOTES, {"contrary": contrary, "none": {("i1", "tuned"): 1}})
    assert [r.metric for r in results] == ["contrary", "none"]
    assert results[0].agreement == 0.0 and results[0].kendall_tau < 0
    assert results[1] == ("none", None, 0, 0, None, None, 0)


@pytest.mark.parametrize("seed", range(3))
def test_random_units_match_counted_tau(seed):
    rng = np.random.default_rng(seed)
    votes, scores = [], {}
    for k in range(30):
        quality = rng.normal(size=2)  # base, tuned
        for rater in range(2):
            noisy = quality + rng.normal(scale=1.0, size=2)
            choice = (
                "A" if noisy[1] > noisy[0] + 0.3 else "B" if noisy[0] > noisy[1] + 0.3 else "tie"
            )
            votes.append(vote(f"i{k}", "tuned", "base", choice, f"r{rater}"))
        scores[(f"i{k}", "base")] = round(float(quality[0]), 1)
        scores[(f"i{k}", "tuned")] = round(float(quality[1]), 1)
    (result,) = metric_agreement(votes, {"m": scores})
    outcomes = human_outcomes(votes)
    differences = [scores[(i, a)] - scores[(i, b)] for i, a, b in outcomes]
    humans = [value - 0.5 for value in outcomes.values()]
    assert result.kendall_tau == pytest.approx(tau_b_by_counting(differences, humans), abs=1e-12)
    assert result.kendall_tau > 0.2  # raters follow the same hidden quality
