"""NLL comparisons behind the verdicts, resampled paired wherever both sides share examples.

Rows are per-example `(nll_sum, n_tokens)` pairs and every statistic is token-weighted
(total NLL / total tokens, as ftcore.nll.mean_nll). Which resampling fits which comparison:

- base against fine-tuned on one split: the same examples, so **paired** (one resampling
  of example indices for both). Independent resampling throws away that per-example
  correlation and misses consistent gains (see ../shared/PITFALLS.md);
- train against held-out: different examples, so **independent**;
- the excess gap (tuned held-out − tuned train) − (base held-out − base train): paired
  within each split, the two splits resampled independently of each other.

Row i of the base and of the fine-tuned rows of a split must be the same example.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ftcore.errors import DataError
from ftcore.nll import mean_nll, mean_of_totals
from ftcore.stats.bootstrap import (
    bootstrap_difference_ci,
    paired_difference_ci,
    paired_difference_samples,
    percentile_interval,
)
from ftcore.stats.intervals import Interval
from ftcore.verdicts.verdict_settings import child_seeds

NllRows = Sequence[tuple[float, int]]
PAIRED = "paired"
INDEPENDENT = "independent"
PAIRED_WITHIN_SPLITS = "paired within each split, splits independent"


@dataclass(frozen=True)
class NllComparison:
    """A difference of token-weighted mean NLLs, in nats, with its percentile CI."""

    value: float
    ci: Interval | None  # None below 2 examples a side or without resamples
    resampling: str  # PAIRED, INDEPENDENT or PAIRED_WITHIN_SPLITS


def token_mean(totals: Sequence[float], n: int) -> float:
    """The bootstrap aggregate of (nll_sum, n_tokens) rows: total NLL / total tokens."""
    return mean_of_totals(totals[0], totals[1])


def _can_resample(n_resamples: int, *sides: NllRows) -> bool:
    return n_resamples >= 1 and min(len(side) for side in sides) >= 2


def _check_paired(a: NllRows, b: NllRows, what: str) -> None:
    if len(a) != len(b):
        raise DataError(
            f"{what}: {len(a)} and {len(b)} per-example NLLs; a paired comparison needs the "
            "same examples, in the same order, on both sides"
        )


def _difference(
    rows_a: NllRows, rows_b: NllRows, interval, resampling: str, **settings
) -> NllComparison:
    """mean NLL(a) − mean NLL(b), with `interval` (paired or independent) when it can be had."""
    value = mean_nll(rows_a) - mean_nll(rows_b)
    ci = None
    if _can_resample(settings["n_resamples"], rows_a, rows_b):
        ci = interval(rows_a, rows_b, token_mean, **settings)
    return NllComparison(value, ci, resampling)


def paired_nll_difference(
    rows_a: NllRows,
    rows_b: NllRows,
    *,
    n_resamples: int,
    seed: int,
    confidence: float,
    what: str = "paired NLL difference",
) -> NllComparison:
    """mean NLL(a) − mean NLL(b) where row i of both is the same example, e.g. base minus
    fine-tuned on one split: the gain of the fine-tune. `what` names it in errors."""
    _check_paired(rows_a, rows_b, what)
    return _difference(
        rows_a, rows_b, paired_difference_ci, PAIRED,
        n_resamples=n_resamples, seed=seed, confidence=confidence,
    )  # fmt: skip


def independent_nll_difference(
    rows_a: NllRows, rows_b: NllRows, *, n_resamples: int, seed: int, confidence: float
) -> NllComparison:
    """mean NLL(a) − mean NLL(b) of two independent samples, e.g. held-out minus train."""
    return _difference(
        rows_a, rows_b, bootstrap_difference_ci, INDEPENDENT,
        n_resamples=n_resamples, seed=seed, confidence=confidence,
    )  # fmt: skip


def excess_nll_gap(
    tuned_train: NllRows,
    tuned_heldout: NllRows,
    base_train: NllRows,
    base_heldout: NllRows,
    *,
    n_resamples: int,
    seed: int,
    confidence: float,
) -> NllComparison:
    """The fine-tune's held-out − train gap beyond the base model's own:
    (tuned held-out − tuned train) − (base held-out − base train), a difference in
    differences. It equals (tuned − base on held-out) − (tuned − base on train), which is
    how it is resampled: each split's tuned − base paired, the splits independently."""
    _check_paired(tuned_train, base_train, "excess NLL gap, train split")
    _check_paired(tuned_heldout, base_heldout, "excess NLL gap, held-out split")
    value = (mean_nll(tuned_heldout) - mean_nll(tuned_train)) - (
        mean_nll(base_heldout) - mean_nll(base_train)
    )
    ci = None
    if _can_resample(n_resamples, tuned_train, tuned_heldout):
        heldout_seed, train_seed = child_seeds(seed, 2)
        heldout = paired_difference_samples(
            tuned_heldout, base_heldout, token_mean, n_resamples, heldout_seed
        )
        train = paired_difference_samples(
            tuned_train, base_train, token_mean, n_resamples, train_seed
        )
        ci = percentile_interval(heldout - train, confidence)
    return NllComparison(value, ci, PAIRED_WITHIN_SPLITS)
