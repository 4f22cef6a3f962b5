"""Score predictions against references: per-example and corpus scores with bootstrap CIs.

`score_predictions` is what the Evaluate tab, the evaluation pipeline and `ftcore score`
all call. Rows are grouped by their `model` and `split` fields ("predictions" and "all"
when absent). The language, and so BLEU's tokenizer, is decided once from the references
of all rows, never per group and never from the predictions: two models, or train and
held-out, scored in one call are always tokenized alike and therefore comparable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ftcore.errors import ConfigError, DataError, EmptyPredictionsError
from ftcore.metrics.predictions import row_problem
from ftcore.metrics.registry import Metric, get_metrics
from ftcore.metrics.text import Language, detect_language
from ftcore.stats.bootstrap import bootstrap_difference_ci, percentile_interval, resampled_sums

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "predictions"
DEFAULT_SPLIT = "all"
Progress = Callable[[float, str], None]  # (fraction done, what is happening)
# Resampling one example always gives it back: a zero-width interval that would claim a
# certainty one example cannot give. Below this, there is no interval at all.
MIN_EXAMPLES_FOR_CI = 2


@dataclass(frozen=True)
class CorpusScore:
    """One metric on one group of examples; the ci_ fields are None without bootstrap."""

    value: float
    ci_low: float | None
    ci_high: float | None
    n: int
    signature: str  # how the value was computed (tokenizer, settings, library version)
    higher_is_better: bool
    ci_signature: str | None = None  # how the interval was computed, e.g. its seed


def ci_signature(bootstrap: int, seed: int, confidence: float, kind: str = "") -> str | None:
    """'bootstrap:percentile|conf:0.95|resamples:1000|seed:0', or None for no bootstrap."""
    if not bootstrap:
        return None
    method = f"percentile{'-' + kind if kind else ''}"
    return f"bootstrap:{method}|conf:{confidence:g}|resamples:{bootstrap}|seed:{seed}"


@dataclass(frozen=True)
class ExampleScores:
    model: str
    split: str
    id: str | int
    prompt: str | None
    prediction: str
    reference: str
    scores: dict[str, float]  # per-example column (e.g. "sentence_bleu") → score


@dataclass
class ScoreReport:
    scores: dict[str, dict[str, dict[str, CorpusScore]]]  # model → split → metric → score
    examples: list[ExampleScores]
    language: Language
    metrics: list[str]
    bootstrap: int  # resamples; 0 means no confidence intervals
    seed: int
    confidence: float

    def to_json(self) -> dict:
        """The scores.json structure: model → split → metric → {value, ci_low, …}."""
        return {
            model: {
                split: {name: asdict(score) for name, score in by_metric.items()}
                for split, by_metric in by_split.items()
            }
            for model, by_split in self.scores.items()
        }


def _check_settings(bootstrap: int, confidence: float) -> None:
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise ConfigError("bootstrap", bootstrap, "a whole number of resamples, 0 for none")
    if not 0 < confidence < 1:
        raise ConfigError("confidence", confidence, "a number between 0 and 1, e.g. 0.95")


def _checked_rows(rows: Sequence[Mapping]) -> list[Mapping]:
    rows = list(rows)
    if not rows:
        raise EmptyPredictionsError("no rows to score")
    for index, row in enumerate(rows, start=1):
        problem = row_problem(row)
        if problem is not None:
            field, reason = problem
            raise DataError(f"row {index}: {f'field {field!r}: ' if field else ''}{reason}")
    return rows


def _groups(rows: list[Mapping]) -> dict[tuple[str, str], list[tuple[int, Mapping]]]:
    groups: dict[tuple[str, str], list[tuple[int, Mapping]]] = {}
    for index, row in enumerate(rows, start=1):
        key = (row.get("model") or DEFAULT_MODEL, row.get("split") or DEFAULT_SPLIT)
        groups.setdefault(key, []).append((index, row))
    return groups


def _interval(
    metric: Metric, sums: np.ndarray, n: int, confidence: float
) -> tuple[float | None, float | None]:
    if sums.shape[0] == 0:
        return None, None
    samples = [metric.aggregate(row.tolist(), n) for row in sums]
    return percentile_interval(samples, confidence)


def _score_group(
    key: tuple[str, str],
    members: list[tuple[int, Mapping]],
    metrics: list[Metric],
    report: ScoreReport,
    tick: Callable[[str], None],
) -> tuple[dict[str, CorpusScore], list[ExampleScores]]:
    """Corpus scores with CIs and per-example scores of one (model, split) group; the
    bootstrap settings are read from `report`."""
    predictions = [row["prediction"] for _, row in members]
    references = [row["reference"] for _, row in members]
    n = len(members)
    statistics = []
    for metric in metrics:
        tick(f"{metric.name} on {key[0]} / {key[1]} ({n} examples)")
        statistics.append(np.asarray(metric.statistics(predictions, references), np.float64))
    resamples = report.bootstrap if n >= MIN_EXAMPLES_FOR_CI else 0
    tick(f"bootstrap on {key[0]} / {key[1]} ({resamples} resamples)")
    # One resampling for all metrics: their intervals come from the same resamples.
    sums = resampled_sums(np.hstack(statistics), resamples, report.seed)
    interval_signature = ci_signature(resamples, report.seed, report.confidence)
    scores, start = {}, 0
    for metric, rows in zip(metrics, statistics, strict=True):
        width = rows.shape[1]
        low, high = _interval(metric, sums[:, start : start + width], n, report.confidence)
        value = metric.corpus_from_statistics(rows.tolist())
        scores[metric.name] = CorpusScore(
            value, low, high, n, metric.signature, metric.higher_is_better, interval_signature
        )
        start += width
    examples = []
    for position, (index, row) in enumerate(members):
        per_example = {
            m.example_column: m.example_score(rows[position].tolist())
            for m, rows in zip(metrics, statistics, strict=True)
            if m.example_score is not None
        }
        text = (row.get("prompt"), row["prediction"], row["reference"])
        row_id = index if row.get("id") is None else row["id"]
        examples.append(ExampleScores(*key, row_id, *text, per_example))
    return scores, examples


def score_predictions(
    rows: Sequence[Mapping],
    metrics: Sequence[str] | str | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    progress: Progress | None = None,
    language: Language | None = None,
    confidence: float = 0.95,
) -> ScoreReport:
    """Score rows of {prediction, reference[, id, prompt, model, split]}.

    `metrics`: names from ftcore.metrics.registry.METRIC_NAMES (default: all).
    `bootstrap`: resamples for the percentile CI (0: no CI), drawn with `seed`.
    `progress`: called with (fraction done, message) before each step.
    `language`: 'zh', 'en' or 'mixed'; detected from the references when None. Pass it
    explicitly when numbers from separate calls will be compared.
    Raises EmptyPredictionsError for no rows, DataError for a malformed row, ConfigError
    for an unknown metric or a bad setting."""
    _check_settings(bootstrap, confidence)
    rows = _checked_rows(rows)
    language = language or detect_language(row["reference"] for row in rows)
    chosen = get_metrics(metrics, language)
    report = ScoreReport({}, [], language, [m.name for m in chosen], bootstrap, seed, confidence)
    groups = _groups(rows)
    steps, done = len(groups) * (len(chosen) + 1), 0

    def tick(message: str) -> None:
        nonlocal done
        if progress:
            progress(done / steps, message)
        done += 1

    for key, members in groups.items():
        scores, examples = _score_group(key, members, chosen, report, tick)
        report.scores.setdefault(key[0], {})[key[1]] = scores
        report.examples.extend(examples)
        logger.info("scored %s / %s: %d examples", *key, len(members))
    if progress:
        progress(1.0, "scored")
    return report


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
    """Per metric, train score minus held-out score (a large positive gap on a
    higher-is-better metric suggests overfitting). The language is decided from both
    sets' references together, so both sides are tokenized alike."""
    _check_settings(bootstrap, confidence)
    train, heldout = _checked_rows(train_rows), _checked_rows(heldout_rows)
    language = language or detect_language(row["reference"] for row in [*train, *heldout])
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
