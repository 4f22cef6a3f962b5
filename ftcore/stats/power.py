"""Enough votes? The decisive votes needed to tell two models apart, and a plain verdict.

The sample size is the one for a two-sided test of "the win rate is ½" on n decisive
votes, using Cohen's arcsine effect size h = 2·asin√p − 2·asin√½ (the variance-
stabilising transform of a proportion):

    n = ((z_{1−α/2} + z_{power}) / h)²

At α = 0.05 and power 0.8 this gives 782.27, 193.58 and 84.54 decisive votes for true win
rates of 55 %, 60 % and 65 %: the often-quoted 782 / 194 / 85 are these, rounded. We
report the ceiling (783 / 194 / 85), the smallest whole number of votes that reaches the
power. The normal-approximation formula with the null variance,
((z_{1−α/2}·½ + z_{power}·√(p(1−p))) / (p − ½))², gives 782.53 / 193.85 / 84.81 and the
same ceilings; the Wald form with p(1 − p) alone gives 777 / 188 / 79, too few.

Ties and both-bad votes carry no information on who is better: the count is of decisive
votes, and `more_votes` scales it by the share of decisive votes seen so far.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import NamedTuple

from ftcore.stats.intervals import check_confidence, wilson_interval


class PowerEstimate(NamedTuple):
    """How far the votes between two models are from telling them apart."""

    win_rate: float | None  # the leader's share of decisive votes; None without any
    decisive: int  # decisive votes so far
    planned_rate: float | None  # the rate `needed` is for: win_rate, or (n − ½)/n at 100 %
    needed: int | None  # decisive votes needed in all; None when the rate is exactly ½
    more_decisive: int | None  # needed − decisive, at least 0
    more_votes: int | None  # more_decisive / share of votes that were decisive


def decisive_votes_needed(win_rate: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Decisive votes for a two-sided test at level `alpha` to detect a true `win_rate`
    with probability `power` (Cohen's arcsine formula; not rounded). inf at ½."""
    if not 0 < win_rate < 1:
        raise ValueError(f"win_rate must be between 0 and 1, got {win_rate}")
    check_confidence(1 - alpha)
    check_confidence(power)
    effect = 2 * math.asin(math.sqrt(win_rate)) - 2 * math.asin(math.sqrt(0.5))
    if effect == 0:
        return math.inf
    z_sum = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return (z_sum / effect) ** 2


def power_estimate(
    wins_a: int, wins_b: int, other_votes: int = 0, alpha: float = 0.05, power: float = 0.8
) -> PowerEstimate:
    """More votes needed between two models, at the observed decisive win rate.
    `other_votes`: ties and both-bad votes between them, to turn decisive votes into votes."""
    decisive = wins_a + wins_b
    if decisive == 0:
        return PowerEstimate(None, 0, None, None, None, None)
    win_rate = max(wins_a, wins_b) / decisive
    # A leader that won every vote gets the rate of a lead one vote short of that, since
    # the formula has no answer at 100 %; the count is then what such a lead would need.
    planning_rate = min(win_rate, (decisive - 0.5) / decisive)
    exact = decisive_votes_needed(planning_rate, alpha, power)
    if math.isinf(exact):
        return PowerEstimate(win_rate, decisive, planning_rate, None, None, None)
    needed = math.ceil(exact)
    more = max(0, needed - decisive)
    decisive_share = decisive / (decisive + other_votes)
    return PowerEstimate(
        win_rate, decisive, planning_rate, needed, more, math.ceil(more / decisive_share)
    )


class DataVerdict(NamedTuple):
    enough: bool  # the interval of the leader's decisive win rate excludes ½
    message: str  # one or two plain sentences for the report and the Reports tab
    power: PowerEstimate


def enough_data(
    model_a: str,
    model_b: str,
    wins_a: int,
    wins_b: int,
    other_votes: int = 0,
    confidence: float = 0.95,
    power: float = 0.8,
) -> DataVerdict:
    """Can the votes tell model_a and model_b apart? The leader's share of decisive votes
    with its Wilson interval (as in the pair table), and the votes still needed if not."""
    estimate = power_estimate(wins_a, wins_b, other_votes, 1 - confidence, power)
    if estimate.win_rate is None:
        message = f"No decisive vote between {model_a} and {model_b} yet: nothing to conclude."
        return DataVerdict(False, message, estimate)
    leader, other = (model_a, model_b) if wins_a >= wins_b else (model_b, model_a)
    low, high = wilson_interval(max(wins_a, wins_b), estimate.decisive, confidence)
    seen = (
        f"{leader} won {estimate.win_rate:.0%} of {estimate.decisive} decisive votes against "
        f"{other} ({confidence:.0%} interval {low:.0%}–{high:.0%})"
    )
    if low > 0.5:
        return DataVerdict(True, f"{seen}: the votes tell them apart.", estimate)
    if estimate.needed is None:
        message = f"{seen}: the two are level so far; no number of votes can be promised."
    else:
        message = (
            f"{seen}: that includes 50%, so the votes cannot yet tell them apart. If "
            f"{leader} truly wins {estimate.planned_rate:.0%} of decisive votes, about "
            f"{estimate.more_decisive} more decisive votes (≈ {estimate.more_votes} votes "
            f"at the current share of ties and both-bad) would show it with "
            f"{power:.0%} power."
        )
    return DataVerdict(False, message, estimate)
