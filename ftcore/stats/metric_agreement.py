"""Human vs automatic: on each item, does the model a metric prefers also win the vote?

The unit is one item with one pair of models, (item_id, model_a, model_b), model_a and
model_b in name order. The human outcome is model_a's mean vote score there (1 a win,
½ a tie or both bad, 0 a loss, averaged over raters). The metric's view is the difference
of the two responses' scores, turned round for metrics where lower is better (perplexity).

Per metric:

- agreement: over units where the raters have a winner (outcome ≠ ½) and the metric a
  preference (scores differ), the share where both pick the same model;
- Kendall's tau-b between the metric difference and the human outcome over every unit
  with both scores, ties handled (scipy.stats.kendalltau), with its p-value. It uses how
  strongly each side prefers, where agreement only counts who.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

from scipy.stats import kendalltau

from ftcore.stats.vote_records import ResponseKey, Vote

Unit = tuple[str, str, str]  # (item_id, model_a, model_b), models in name order


class MetricAgreement(NamedTuple):
    metric: str
    agreement: float | None  # None when no unit has both a human winner and a preference
    agreeing: int
    n: int  # units with a human winner and a metric preference
    kendall_tau: float | None  # None with fewer than two units or no variation
    p_value: float | None
    n_tau: int  # units with both responses scored


def human_outcomes(votes: Sequence[Vote]) -> dict[Unit, float]:
    """(item_id, model_a, model_b) → model_a's mean vote score on that item."""
    totals: dict[Unit, list[float]] = {}
    for vote in votes:
        model_a, model_b = vote.pair
        tally = totals.setdefault((vote.item_id, model_a, model_b), [0.0, 0])
        tally[0] += vote.score_of(model_a)
        tally[1] += 1
    return {unit: total / count for unit, (total, count) in totals.items()}


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def metric_agreement(
    votes: Sequence[Vote],
    metric_scores: Mapping[str, Mapping[ResponseKey, float]],
    lower_is_better: Collection[str] = (),
) -> list[MetricAgreement]:
    """One MetricAgreement per metric in `metric_scores` (metric → (item_id, model) →
    score of that response). Units where either response lacks a score are left out of
    that metric. Name metrics where lower is better (perplexity) in `lower_is_better`."""
    outcomes = human_outcomes(votes)
    results = []
    for metric, scores in metric_scores.items():
        direction = -1.0 if metric in lower_is_better else 1.0
        differences, humans = [], []
        for (item, model_a, model_b), outcome in outcomes.items():
            if (item, model_a) in scores and (item, model_b) in scores:
                differences.append(direction * (scores[item, model_a] - scores[item, model_b]))
                humans.append(outcome - 0.5)
        decided = [
            (_sign(d), _sign(h)) for d, h in zip(differences, humans, strict=True) if d and h
        ]
        agreeing = sum(metric_side == human_side for metric_side, human_side in decided)
        tau = p_value = None
        if len(differences) >= 2:
            statistic, p = kendalltau(differences, humans)
            if not math.isnan(statistic):
                tau, p_value = float(statistic), float(p)
        results.append(
            MetricAgreement(
                metric=metric,
                agreement=agreeing / len(decided) if decided else None,
                agreeing=agreeing,
                n=len(decided),
                kendall_tau=tau,
                p_value=p_value,
                n_tau=len(differences),
            )
        )
    return results
