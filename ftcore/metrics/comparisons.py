"""Every model against a baseline on the same examples: paired deltas, CIs and p-values.

`compare_to_baseline(rows, baseline)` pairs each model's rows with the baseline's rows of
the same split by example `id` and reports, per metric, delta = model − baseline over the
paired examples, with an interval and a two-sided p-value that both come from treating
the pairs as pairs (ftcore.stats.paired): an independent resampling of each side hides a
consistent gain in noise. The methods, as each row's `method` names them:

- exact match (0/1): Newcombe's square-and-add interval and the exact McNemar test;
- corpus BLEU and chrF: a paired bootstrap interval (counts pooled per resample) and the
  p-value of sacrebleu's paired approximate randomisation test (sacrebleu --paired-ar);
- other built-in metrics: a paired bootstrap interval and its p-value;
- `evaluate:` modules: the same, each resample scored by the module, at most
  EVALUATE_RESAMPLES of them.

Rows paired by id must share the reference, or they are not the same example. Every
resampling is seeded by `seed`; with bootstrap = 0 there are deltas only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ftcore.errors import ConfigError, DataError
from ftcore.files import write_json
from ftcore.metrics.confidence import MIN_EXAMPLES_FOR_CI, ci_signature
from ftcore.metrics.evaluate_modules import EVALUATE_RESAMPLES, EvaluateMetric
from ftcore.metrics.registry import Metric
from ftcore.metrics.sacrebleu_stats import paired_ar_p_value
from ftcore.metrics.scoring import (
    ScoreReport,
    check_settings,
    checked_rows,
    group_rows,
    load_metrics,
)
from ftcore.metrics.text import Language
from ftcore.stats.intervals import Interval
from ftcore.stats.paired import (
    paired_difference,
    paired_proportion_difference,
    summarise_paired_samples,
)
from ftcore.text_table import format_text_table

logger = logging.getLogger(__name__)

COMPARISONS_JSON = "comparisons.json"
DEFAULT_BASELINE = "base"
SACREBLEU_PAIRED = ("bleu", "chrf")  # metrics whose p-value comes from sacrebleu's test


@dataclass(frozen=True)
class Comparison:
    """One metric of one model against the baseline on one split's paired examples."""

    baseline: str
    model: str
    split: str
    metric: str
    delta: float  # model − baseline
    ci_low: float | None
    ci_high: float | None
    n: int  # paired examples
    p_value: float | None  # two-sided, for "no difference"
    method: str


@dataclass(frozen=True)
class _Pairs:
    """One model's and the baseline's answers to the same examples, row i with row i."""

    model: list[str]
    baseline: list[str]
    references: list[str]


def _row_id(index: int, row: Mapping) -> str | int:
    return index if row.get("id") is None else row["id"]


def _ids(members: list[tuple[int, Mapping]], where: str) -> dict[str | int, int]:
    """Example id → position in `members`; DataError for an id that appears twice."""
    positions: dict[str | int, int] = {}
    for position, (index, row) in enumerate(members):
        row_id = _row_id(index, row)
        if row_id in positions:
            first = members[positions[row_id]][0]
            raise DataError(f"{where}: id {row_id!r} appears twice (rows {first} and {index})")
        positions[row_id] = position
    return positions


def _pair(
    members: list[tuple[int, Mapping]], baseline_members: list[tuple[int, Mapping]], where: str
) -> list[tuple[int, int]]:
    """(model position, baseline position) for each id both sides hold, in order of id:
    the resamples then depend on which examples are paired, not on the order of rows."""
    baseline_ids = _ids(baseline_members, where)
    model_ids = _ids(members, where)
    pairs = []
    for row_id in sorted(model_ids, key=lambda i: (isinstance(i, str), i)):
        position = model_ids[row_id]
        other = baseline_ids.get(row_id)
        if other is None:
            continue
        if members[position][1]["reference"] != baseline_members[other][1]["reference"]:
            raise DataError(
                f"{where}: id {row_id!r} has another reference in the baseline's rows; "
                "rows paired by id must be the same example"
            )
        pairs.append((position, other))
    if len(pairs) < len(members):
        logger.warning(
            "%s: %d rows have no baseline row with their id", where, len(members) - len(pairs)
        )
    return pairs


Result = tuple[float, Interval | None, float | None, str]  # delta, interval, p-value, method
NO_INTERVAL = "no-interval"


def _builtin_result(
    metric: Metric, pairs: _Pairs, bootstrap: int, seed: int, confidence: float
) -> Result:
    rows_a = np.asarray(metric.statistics(pairs.model, pairs.references), np.float64)
    rows_b = np.asarray(metric.statistics(pairs.baseline, pairs.references), np.float64)
    if metric.binary and bootstrap:  # closed form: fine at any n, like the score's interval
        difference = paired_proportion_difference(rows_a[:, 0], rows_b[:, 0], confidence)
        method = f"newcombe-wilson|conf:{confidence:g}|p:mcnemar-exact"
        return difference.delta, difference.interval, difference.p_value, method
    if not bootstrap or len(rows_a) < MIN_EXAMPLES_FOR_CI:
        delta = metric.corpus_from_statistics(rows_a.tolist()) - metric.corpus_from_statistics(
            rows_b.tolist()
        )
        return delta, None, None, NO_INTERVAL
    difference = paired_difference(rows_a, rows_b, metric.aggregate, bootstrap, seed, confidence)
    p_value, method = difference.p_value, ci_signature(bootstrap, seed, confidence, "paired")
    if metric.name in SACREBLEU_PAIRED:
        p_value = paired_ar_p_value(metric.name, rows_a, rows_b, bootstrap, seed)
        method += f"|p:sacrebleu-paired-ar|trials:{bootstrap}"
    return difference.delta, difference.interval, p_value, method


def _evaluate_results(
    module: EvaluateMetric, pairs: _Pairs, bootstrap: int, seed: int, confidence: float
) -> dict[str, Result]:
    model = module.compute(pairs.model, pairs.references)
    baseline = module.compute(pairs.baseline, pairs.references)
    n = len(pairs.references)
    if not bootstrap or n < MIN_EXAMPLES_FOR_CI:
        return {name: (model[name] - baseline[name], None, None, NO_INTERVAL) for name in model}
    resamples = min(bootstrap, EVALUATE_RESAMPLES)
    sides = module.resampled([pairs.model, pairs.baseline], pairs.references, resamples, seed)
    method = ci_signature(resamples, seed, confidence, "paired-recompute")
    results = {}
    for name in model:
        delta = model[name] - baseline[name]
        difference = summarise_paired_samples(delta, sides[0][name] - sides[1][name], n, confidence)
        results[name] = (delta, difference.interval, difference.p_value, method)
    return results


def default_baseline(models: Sequence[str]) -> str | None:
    """DEFAULT_BASELINE when a model of that name is present, else None."""
    return DEFAULT_BASELINE if DEFAULT_BASELINE in models else None


def compare_to_baseline(
    rows: Sequence[Mapping],
    baseline: str | None = None,
    metrics: Sequence[str] | str | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    language: Language | None = None,
    confidence: float = 0.95,
) -> list[Comparison]:
    """Each model other than `baseline` against it, per split and metric, on the examples
    both answered (paired by `id`). Rows and settings as for score_predictions; `baseline`
    None means "base" when present, and no comparisons otherwise. ConfigError for a
    baseline that no row names, DataError for ids that repeat or disagree."""
    check_settings(bootstrap, confidence)
    rows = checked_rows(rows)
    groups = group_rows(rows)
    models = list(dict.fromkeys(model for model, _ in groups))
    baseline = baseline or default_baseline(models)
    if baseline is None:
        return []
    if baseline not in models:
        raise ConfigError("baseline", baseline, "a model in the rows: " + ", ".join(models))
    chosen, modules = load_metrics(metrics, language, seed)
    comparisons = []
    for (model, split), members in groups.items():
        baseline_members = groups.get((baseline, split))
        if model == baseline or baseline_members is None:
            continue
        where = f"{model} vs {baseline}, split {split}"
        paired = _pair(members, baseline_members, where)
        if not paired:
            logger.warning("%s: no example ids in common; nothing to compare", where)
            continue
        pairs = _Pairs(
            [members[a][1]["prediction"] for a, _ in paired],
            [baseline_members[b][1]["prediction"] for _, b in paired],
            [members[a][1]["reference"] for a, _ in paired],
        )
        settings = (bootstrap, seed, confidence)
        results = {m.name: _builtin_result(m, pairs, *settings) for m in chosen}
        for module in modules:
            results.update(_evaluate_results(module, pairs, *settings))
        for name, (delta, interval, p_value, method) in results.items():
            low, high = interval or (None, None)
            comparisons.append(
                Comparison(
                    baseline, model, split, name, delta, low, high, len(paired), p_value, method
                )
            )
    return comparisons


def compare_report_to_baseline(
    report: ScoreReport, baseline: str | None = None
) -> list[Comparison]:
    """compare_to_baseline on a ScoreReport's examples, with the settings it was scored with."""
    rows = [
        {
            "model": e.model,
            "split": e.split,
            "id": e.id,
            "prediction": e.prediction,
            "reference": e.reference,
        }
        for e in report.examples
    ]
    return compare_to_baseline(
        rows,
        baseline,
        report.metric_specs,
        report.bootstrap,
        report.seed,
        report.fixed_language,
        report.confidence,
    )


def write_comparisons_json(comparisons: Sequence[Comparison], path: str | Path) -> Path:
    """comparisons.json: a list of {baseline, model, split, metric, delta, ci_low, ci_high,
    n, p_value, method}, atomically."""
    return write_json(path, [asdict(comparison) for comparison in comparisons])


def format_comparisons(comparisons: Sequence[Comparison]) -> str:
    """A short plain-text table of the deltas, for the terminal."""
    rows = [
        [
            c.model, c.split, c.metric, f"{c.delta:+.4f}",
            f"[{c.ci_low:.4f}, {c.ci_high:.4f}]" if c.ci_low is not None else "-",
            f"{c.p_value:.4f}" if c.p_value is not None else "-",
            str(c.n),
        ]
        for c in comparisons
    ]  # fmt: skip
    return format_text_table(["model", "split", "metric", "delta", "CI", "p", "n"], rows, "lllrlrr")
