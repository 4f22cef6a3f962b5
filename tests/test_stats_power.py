"""The sample-size formula against the quoted figures and a simulation of the test it is
for; the "enough data?" verdict by hand."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from ftcore.stats.power import decisive_votes_needed, enough_data, power_estimate

QUOTED = [(0.55, 782), (0.60, 194), (0.65, 85)]  # decisive votes at α 0.05, power 0.8


@pytest.mark.parametrize(("win_rate", "quoted"), QUOTED)
def test_the_quoted_figures_are_the_arcsine_formula_rounded(win_rate, quoted):
    h = 2 * math.asin(math.sqrt(win_rate)) - 2 * math.asin(math.sqrt(0.5))  # Cohen's h
    by_hand = ((norm.ppf(0.975) + norm.ppf(0.8)) / h) ** 2
    assert decisive_votes_needed(win_rate) == pytest.approx(by_hand, rel=1e-12)
    assert round(decisive_votes_needed(win_rate)) == quoted
    # The count reported is the ceiling: 783 for 55 %, as for the other two.
    wins = round(win_rate * 1000)
    assert power_estimate(wins, 1000 - wins).needed == math.ceil(by_hand)


@pytest.mark.parametrize(("win_rate", "quoted"), QUOTED)
def test_the_formula_gives_the_power_it_promises_in_simulation(win_rate, quoted):
    """40,000 sessions of n = ceil(formula) decisive votes at the true rate: the two-sided
    arcsine test at α 0.05 rejects "½" in 80% of them (± 2 points for binomial
    discreteness and simulation noise), and the score test in nearly as many."""
    rng = np.random.default_rng(11)
    n = math.ceil(decisive_votes_needed(win_rate))
    p_hat = rng.binomial(n, win_rate, size=40_000) / n
    arcsine_z = 2 * math.sqrt(n) * (np.arcsin(np.sqrt(p_hat)) - math.asin(math.sqrt(0.5)))
    assert np.mean(np.abs(arcsine_z) > norm.ppf(0.975)) == pytest.approx(0.8, abs=0.02)
    score_z = (p_hat - 0.5) / math.sqrt(0.25 / n)
    assert np.mean(np.abs(score_z) > norm.ppf(0.975)) == pytest.approx(0.8, abs=0.03)
    # Half the votes leave the test far short of 80%.
    half = rng.binomial(n // 2, win_rate, size=40_000) / (n // 2)
    assert np.mean(np.abs(half - 0.5) / math.sqrt(0.25 / (n // 2)) > 1.96) < 0.55


def test_level_models_need_an_unbounded_number():
    assert decisive_votes_needed(0.5) == math.inf
    assert decisive_votes_needed(0.4) == pytest.approx(decisive_votes_needed(0.6))
    with pytest.raises(ValueError, match="win_rate must be between 0 and 1"):
        decisive_votes_needed(1.0)


def test_power_estimate_counts_what_is_missing():
    # 30 of 50 decisive votes (60%): 194 needed, 144 more; 10 other votes in 60, so
    # 144 decisive votes take 144 / (50/60) = 172.8 → 173 votes.
    estimate = power_estimate(30, 20, other_votes=10)
    assert (estimate.win_rate, estimate.decisive, estimate.needed) == (0.6, 50, 194)
    assert (estimate.more_decisive, estimate.more_votes) == (144, 173)
    assert power_estimate(20, 30, other_votes=10) == estimate  # the leader is either side
    assert power_estimate(0, 0) == (None, 0, None, None, None, None)
    level = power_estimate(5, 5)
    assert level.needed is None and level.more_decisive is None
    # A clean sweep is planned at (n − ½)/n: 3 of 3 → 5/6.
    sweep = power_estimate(3, 0)
    assert sweep.planned_rate == pytest.approx(2.5 / 3)
    assert sweep.needed == math.ceil(decisive_votes_needed(2.5 / 3))


def test_enough_data_verdicts():
    decided = enough_data("tuned", "base", 40, 10)
    assert decided.enough
    assert decided.message.startswith("tuned won 80% of 50 decisive votes against base")
    assert "tell them apart" in decided.message

    undecided = enough_data("tuned", "base", 30, 20, other_votes=10)
    assert not undecided.enough
    assert "cannot yet tell them apart" in undecided.message
    assert "144 more decisive votes (≈ 173 votes" in undecided.message

    assert enough_data("base", "tuned", 20, 30).message.startswith("tuned won 60%")
    assert not enough_data("tuned", "base", 0, 0).enough
    assert "No decisive vote" in enough_data("tuned", "base", 0, 0, other_votes=4).message
    assert "level so far" in enough_data("tuned", "base", 7, 7).message
