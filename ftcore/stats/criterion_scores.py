"""Rubric scores per criterion and model: means with intervals, and paired differences.

A mean is over every score a model's responses received on a criterion; its interval is
a percentile bootstrap over items (all scores on one item move together, as they share a
prompt). The difference between two models is *paired*: only items where both were
scored count, each item weighs once (the mean of its scores per model), and one
resampling of items serves both sides, which keeps the items' shared difficulty out of
the difference (ftcore.stats.paired; PITFALLS.md on independent resampling).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ftcore.stats.bootstrap import Seed, mean_aggregate
from ftcore.stats.intervals import Interval
from ftcore.stats.paired import PairedDifference, paired_difference
from ftcore.stats.pairwise import ratio_over_items_ci
from ftcore.stats.vote_records import Vote


class ScoreMean(NamedTuple):
    """The mean score of one model on one criterion."""

    mean: float
    ci: Interval  # percentile bootstrap over items
    n: int  # scores
    n_items: int


def _scores_by_item(votes: Sequence[Vote], criterion: str, model: str) -> dict[str, list[float]]:
    """item → every score `model` received on `criterion` there (one per vote showing it)."""
    by_item: dict[str, list[float]] = {}
    for vote in votes:
        if model in (vote.model_left, vote.model_right):
            score = vote.scores_of(model).get(criterion)
            if score is not None:
                by_item.setdefault(vote.item_id, []).append(float(score))
    return by_item


def criterion_means(
    votes: Sequence[Vote],
    n_resamples: int = 1000,
    seed: Seed = 0,
    confidence: float = 0.95,
) -> dict[str, dict[str, ScoreMean]]:
    """criterion → model → ScoreMean, for every (criterion, model) with a score."""
    keys = sorted(
        {
            (criterion, model)
            for vote in votes
            for model in (vote.model_left, vote.model_right)
            for criterion in vote.scores_of(model)
        }
    )
    means: dict[str, dict[str, ScoreMean]] = {}
    for criterion, model in keys:
        by_item = _scores_by_item(votes, criterion, model)
        rows = [(sum(scores), len(scores)) for scores in by_item.values()]
        total, count = (sum(column) for column in zip(*rows, strict=True))
        interval = ratio_over_items_ci(rows, n_resamples, seed, confidence)
        means.setdefault(criterion, {})[model] = ScoreMean(
            total / count, interval, int(count), len(rows)
        )
    return means


def paired_score_difference(
    votes: Sequence[Vote],
    criterion: str,
    model_a: str,
    model_b: str,
    n_resamples: int = 1000,
    seed: Seed = 0,
    confidence: float = 0.95,
) -> PairedDifference | None:
    """Mean score of model_a minus model_b on `criterion`, over the items where both were
    scored (each item's mean score per model), with a paired bootstrap interval and
    p-value. None when no item has scores for both."""
    scores_a = _scores_by_item(votes, criterion, model_a)
    scores_b = _scores_by_item(votes, criterion, model_b)
    shared = sorted(scores_a.keys() & scores_b.keys())
    if not shared:
        return None
    means_a = [sum(scores_a[item]) / len(scores_a[item]) for item in shared]
    means_b = [sum(scores_b[item]) / len(scores_b[item]) for item in shared]
    return paired_difference(means_a, means_b, mean_aggregate, n_resamples, seed, confidence)
