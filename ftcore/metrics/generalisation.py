"""Train minus held-out per metric: the generalisation gap, with independent resampling.

Train and held-out are different examples, so unlike a comparison of two models on the
same examples (ftcore.metrics.comparisons) the two sides are resampled independently,
each from its own stream derived from `seed`. A large positive gap on a higher-is-better
metric suggests overfitting (ftcore.verdicts.overfit reads these).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ftcore.metrics.confidence import MIN_EXAMPLES_FOR_CI, ci_signature
from ftcore.metrics.registry import get_metrics
from ftcore.metrics.scoring import check_settings, checked_rows
from ftcore.metrics.text import Language
from ftcore.stats.bootstrap import bootstrap_difference_ci


@dataclass(frozen=True)
class GapScore:
    """metric(train) − metric(held-out), with a CI from independent resampling of each."""

    value: float
    ci_low: float | None
    ci_high: float | None
    n_train: int
    n_heldout: int
    signature: str
    higher_is_better: bool
    ci_signature: str | None = None


def generalisation_gap(
    train_rows: Sequence[Mapping],
    heldout_rows: Sequence[Mapping],
    metrics: Sequence[str] | str | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    language: Language | None = None,
    confidence: float = 0.95,
) -> dict[str, GapScore]:
    """Per built-in metric, train score minus held-out score. `language` as for
    score_predictions: by default BLEU picks each row's tokenizer from its reference."""
    check_settings(bootstrap, confidence)
    train, heldout = checked_rows(train_rows), checked_rows(heldout_rows)
    gaps = {}
    if min(len(train), len(heldout)) < MIN_EXAMPLES_FOR_CI:
        bootstrap = 0
    interval_signature = ci_signature(bootstrap, seed, confidence, kind="independent")
    for metric in get_metrics(metrics, language):
        sides = [
            metric.statistics([r["prediction"] for r in rows], [r["reference"] for r in rows])
            for rows in (train, heldout)
        ]
        value = metric.corpus_from_statistics(sides[0]) - metric.corpus_from_statistics(sides[1])
        low = high = None
        if bootstrap:
            low, high = bootstrap_difference_ci(
                *sides, metric.aggregate, bootstrap, seed, confidence
            )
        sizes = (len(train), len(heldout))
        gaps[metric.name] = GapScore(
            value, low, high, *sizes, metric.signature, metric.higher_is_better, interval_signature
        )
    return gaps
