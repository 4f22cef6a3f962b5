"""How far raters agree: Krippendorff's alpha, raw pairwise agreement, each rater vs the rest.

All three take the same shape of data, `Ratings`: unit → rater → value, where a unit is
one thing that several raters judged:

- the preference (`preference_ratings`): the unit is one item, i.e. one prompt with one
  pair of models, and the value is the vote in model terms (the winning model, "tie" or
  "both_bad"), so raters who saw the sides swapped still agree; nominal alpha;
- a rubric criterion (`criterion_ratings`): the unit is one response as shown in one
  item, (item_id, pair, model), and the value is its score; ordinal alpha.

A rater's second vote on the same unit (a repeated item) is left out here: repeats
measure a rater's consistency with themselves (ftcore.stats.rater_quality), not with
others.

Alpha is computed here from the unit × value count matrix (Krippendorff 2011, "Computing
Krippendorff's alpha-reliability": coincidences, then observed over expected
disagreement); the tests hold it to the `krippendorff` package, which is GPL-licensed and
so only a test dependency of this Apache-licensed project. It is undefined, and returned
as None, when no unit has two ratings or when the values paired
within units never differ (no disagreement is expected, so none can be measured).
Raw agreement pools every pair of raters on every unit: agreeing pairs / all pairs.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from itertools import combinations
from typing import Literal, NamedTuple

import numpy as np

from ftcore.stats.vote_records import Vote

Ratings = Mapping[Hashable, Mapping[str, Hashable]]  # unit → rater → value
Level = Literal["nominal", "ordinal", "interval"]


class Agreement(NamedTuple):
    """Pairs of ratings on the same unit that are equal, out of all such pairs."""

    share: float | None  # None without any pair
    agreeing: int
    pairs: int


def preference_ratings(votes: Sequence[Vote]) -> dict[Hashable, dict[str, str]]:
    """(item_id, pair) → rater → preference in model terms; first vote per rater."""
    ratings: dict[Hashable, dict[str, str]] = {}
    for vote in votes:
        ratings.setdefault((vote.item_id, vote.pair), {}).setdefault(
            vote.rater_id, vote.preference()
        )
    return ratings


def criterion_ratings(votes: Sequence[Vote], criterion: str) -> dict[Hashable, dict[str, float]]:
    """(item_id, pair, model) → rater → score on `criterion`; first vote per rater."""
    ratings: dict[Hashable, dict[str, float]] = {}
    for vote in votes:
        for model in vote.pair:
            score = vote.scores_of(model).get(criterion)
            if score is not None:
                ratings.setdefault((vote.item_id, vote.pair, model), {}).setdefault(
                    vote.rater_id, float(score)
                )
    return ratings


def krippendorff_alpha(ratings: Ratings, level: Level) -> float | None:
    """Krippendorff's alpha at `level` ("nominal" for labels, "ordinal" for rubric
    scores); None when it is undefined (see the module docstring)."""
    pairable = [list(by_rater.values()) for by_rater in ratings.values() if len(by_rater) > 1]
    paired_values = {value for values in pairable for value in values}
    if len(paired_values) < 2:
        return None
    # Ordinal and interval distances need the values in order; nominal ones any order.
    domain = sorted(paired_values) if level != "nominal" else list(paired_values)
    column = {value: index for index, value in enumerate(domain)}
    counts = np.zeros((len(pairable), len(domain)))
    for row, values in enumerate(pairable):
        for value in values:
            counts[row, column[value]] += 1
    values = np.asarray(domain, dtype=float) if level != "nominal" else None
    return _alpha_from_counts(counts, level, values)


def _alpha_from_counts(counts: np.ndarray, level: Level, values: np.ndarray | None) -> float:
    """alpha = 1 − D_o / D_e from a (units × values) count matrix of pairable units."""
    per_unit = counts.sum(axis=1, keepdims=True)
    # Coincidences: each ordered pair of ratings within a unit, weighted 1 / (m_u − 1).
    # A rating is never paired with itself: n_uc·n_uk − δ_ck·n_uc pairs per unit.
    weighted = counts / (per_unit - 1)
    coincidences = np.einsum("uc,uk->ck", weighted, counts) - np.diag(weighted.sum(axis=0))
    totals = coincidences.sum(axis=1)
    n = totals.sum()
    distances = _squared_distances(level, values, totals)
    observed = (coincidences * distances).sum() / n
    expected = (np.outer(totals, totals) * distances).sum() / (n * (n - 1))
    return float(1 - observed / expected)


def _squared_distances(level: Level, values: np.ndarray | None, totals: np.ndarray) -> np.ndarray:
    """δ²(c, k) between value columns: 0/1 for nominal, squared difference for interval,
    and for ordinal the squared count of ratings between c and k (ends counted half)."""
    size = len(totals)
    if level == "nominal":
        return 1.0 - np.eye(size)
    if level == "interval":
        return np.subtract.outer(values, values) ** 2
    cumulative = np.concatenate([[0.0], np.cumsum(totals)])
    low, high = (
        np.minimum.outer(range(size), range(size)),
        np.maximum.outer(range(size), range(size)),
    )
    between = cumulative[high + 1] - cumulative[low] - (totals[low] + totals[high]) / 2
    return between**2


def _agreement(agreeing: int, pairs: int) -> Agreement:
    return Agreement(agreeing / pairs if pairs else None, agreeing, pairs)


def pairwise_agreement(ratings: Ratings) -> Agreement:
    """Raw agreement: equal values among all pairs of raters on the same unit."""
    agreeing = pairs = 0
    for by_rater in ratings.values():
        for first, second in combinations(by_rater.values(), 2):
            pairs += 1
            agreeing += first == second
    return _agreement(agreeing, pairs)


def rater_agreement(ratings: Ratings) -> dict[str, Agreement]:
    """Each rater's raw agreement with the others: over the units this rater judged, the
    share of (this rater, another rater) pairs with equal values."""
    counts: dict[str, list[int]] = {}
    for by_rater in ratings.values():
        for rater, value in by_rater.items():
            tally = counts.setdefault(rater, [0, 0])
            for other, other_value in by_rater.items():
                if other != rater:
                    tally[0] += value == other_value
                    tally[1] += 1
    return {rater: _agreement(*tally) for rater, tally in sorted(counts.items())}
