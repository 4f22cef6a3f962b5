"""Score predictions against references: per-example and corpus scores with their CIs.

`score_predictions` is what the Evaluate tab, the evaluation pipeline and `ftcore score`
all call. Rows are grouped by their `model` and `split` fields ("predictions" and "all"
when absent). BLEU's tokenizer is decided per row from that row's reference (unless the
caller fixes the language), never from the predictions and never from other rows: two
models, or train and held-out, are always tokenized alike and therefore comparable.

Intervals (ftcore.metrics.confidence): exact binomial ones for exact match, a percentile
bootstrap for the rest, one resampling per group for all metrics, seeded by `seed`; a
score whose bootstrap rests on too few examples carries a `warning`, which is logged too.
`evaluate:` metrics are scored per group through ftcore.metrics.evaluate_modules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ftcore.errors import ConfigError, DataError, EmptyPredictionsError
from ftcore.metrics.confidence import (
    MIN_EXAMPLES_FOR_CI,
    ci_signature,
    proportion_interval,
    proportion_signature,
    small_sample_warning,
)
from ftcore.metrics.evaluate_modules import (
    EVALUATE_RESAMPLES,
    EvaluateMetric,
    load_evaluate_metric,
)
from ftcore.metrics.predictions import row_problem
from ftcore.metrics.registry import Metric, get_metrics, is_evaluate_name, resolve_metric_names
from ftcore.metrics.text import Language, detect_language
from ftcore.progress import Progress
from ftcore.stats.bootstrap import percentile_interval, resampled_sums

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "predictions"
DEFAULT_SPLIT = "all"


@dataclass(frozen=True)
class CorpusScore:
    """One metric on one group of examples; the ci_ fields are None without an interval."""

    value: float
    ci_low: float | None
    ci_high: float | None
    n: int
    signature: str  # how the value was computed (tokenizer, settings, library version)
    higher_is_better: bool | None  # None: not known (an `evaluate` module does not say)
    ci_signature: str | None = None  # how the interval was computed, e.g. its seed
    warning: str | None = None  # why the interval should not be trusted, e.g. n too small


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
    language: Language  # detected from the references, or as the caller fixed it
    metrics: list[str]  # score names, in order
    bootstrap: int  # resamples; 0 means no confidence intervals
    seed: int
    confidence: float
    fixed_language: Language | None = None  # as passed; None: BLEU tokenizes per row
    metric_specs: list[str] = field(default_factory=list)  # as asked for, evaluate: included

    def to_json(self) -> dict:
        """The scores.json structure: model → split → metric → {value, ci_low, …}."""
        return {
            model: {
                split: {name: asdict(score) for name, score in by_metric.items()}
                for split, by_metric in by_split.items()
            }
            for model, by_split in self.scores.items()
        }


def check_settings(bootstrap: int, confidence: float) -> None:
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise ConfigError("bootstrap", bootstrap, "a whole number of resamples, 0 for none")
    if not 0 < confidence < 1:
        raise ConfigError("confidence", confidence, "a number between 0 and 1, e.g. 0.95")


def checked_rows(rows: Sequence[Mapping]) -> list[Mapping]:
    """The rows as a list; EmptyPredictionsError for none, DataError naming the first bad one."""
    rows = list(rows)
    if not rows:
        raise EmptyPredictionsError("no rows to score")
    for index, row in enumerate(rows, start=1):
        problem = row_problem(row)
        if problem is not None:
            field_name, reason = problem
            where = f"field {field_name!r}: " if field_name else ""
            raise DataError(f"row {index}: {where}{reason}")
    return rows


def group_rows(rows: list[Mapping]) -> dict[tuple[str, str], list[tuple[int, Mapping]]]:
    """(model, split) → [(position from 1, row)], in first-seen order."""
    groups: dict[tuple[str, str], list[tuple[int, Mapping]]] = {}
    for index, row in enumerate(rows, start=1):
        key = (row.get("model") or DEFAULT_MODEL, row.get("split") or DEFAULT_SPLIT)
        groups.setdefault(key, []).append((index, row))
    return groups


def _bootstrap_interval(
    metric: Metric, sums: np.ndarray, n: int, confidence: float
) -> tuple[float | None, float | None]:
    if sums.shape[0] == 0:
        return None, None
    samples = [metric.aggregate(row.tolist(), n) for row in sums]
    return percentile_interval(samples, confidence)


def _builtin_scores(
    metrics: list[Metric], statistics: list[np.ndarray], report: ScoreReport, warning: str | None
) -> dict[str, CorpusScore]:
    """Corpus scores of one group's statistics; one resampling for all bootstrap CIs."""
    n = len(statistics[0])
    resamples = report.bootstrap if n >= MIN_EXAMPLES_FOR_CI else 0
    sums = resampled_sums(np.hstack(statistics), resamples, report.seed)
    bootstrap_signature = ci_signature(resamples, report.seed, report.confidence)
    scores, start = {}, 0
    for metric, rows in zip(metrics, statistics, strict=True):
        width = rows.shape[1]
        value = metric.corpus_from_statistics(rows.tolist())
        if metric.binary and report.bootstrap:
            low, high = proportion_interval(rows[:, 0].sum(), n, report.confidence)
            how, why = proportion_signature(report.confidence), None
        else:
            columns = sums[:, start : start + width]
            low, high = _bootstrap_interval(metric, columns, n, report.confidence)
            how, why = bootstrap_signature, warning
        scores[metric.name] = CorpusScore(
            value, low, high, n, metric.signature, metric.higher_is_better, how, why
        )
        start += width
    return scores


def _evaluate_scores(
    module: EvaluateMetric,
    predictions: list[str],
    references: list[str],
    report: ScoreReport,
    warning: str | None,
) -> dict[str, CorpusScore]:
    """Scores of one `evaluate` module on one group, recomputed on each resample."""
    n = len(predictions)
    values = module.compute(predictions, references)
    resamples = min(report.bootstrap, EVALUATE_RESAMPLES) if n >= MIN_EXAMPLES_FOR_CI else 0
    (samples,) = module.resampled([predictions], references, resamples, report.seed)
    how = ci_signature(resamples, report.seed, report.confidence, kind="recompute")
    scores = {}
    for name, value in values.items():
        low = high = None
        if resamples:
            low, high = percentile_interval(samples[name], report.confidence)
        scores[name] = CorpusScore(value, low, high, n, module.signature, None, how, warning)
    return scores


def _score_group(
    key: tuple[str, str],
    members: list[tuple[int, Mapping]],
    metrics: list[Metric],
    modules: list[EvaluateMetric],
    report: ScoreReport,
    tick: Callable[[str], None],
) -> tuple[dict[str, CorpusScore], list[ExampleScores]]:
    """Corpus scores with CIs and per-example scores of one (model, split) group; the
    interval settings are read from `report`."""
    predictions = [row["prediction"] for _, row in members]
    references = [row["reference"] for _, row in members]
    n = len(members)
    statistics = []
    for metric in metrics:
        tick(f"{metric.name} on {key[0]} / {key[1]} ({n} examples)")
        statistics.append(np.asarray(metric.statistics(predictions, references), np.float64))
    warning = small_sample_warning(n, report.bootstrap)
    bootstrapped = [m.name for m in metrics if not m.binary] + [m.label for m in modules]
    if warning and bootstrapped:
        logger.warning("%s / %s: %s (%s)", *key, warning, ", ".join(bootstrapped))
    tick(f"bootstrap on {key[0]} / {key[1]} ({report.bootstrap} resamples)")
    scores = _builtin_scores(metrics, statistics, report, warning) if metrics else {}
    for module in modules:
        tick(f"{module.label} on {key[0]} / {key[1]} ({n} examples)")
        scores.update(_evaluate_scores(module, predictions, references, report, warning))
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


def load_metrics(
    names: Sequence[str] | str | None, language: Language | None, seed: int
) -> tuple[list[Metric], list[EvaluateMetric]]:
    """The built-in metrics and the loaded `evaluate:` modules that `names` asks for
    (None: every built-in metric); `seed` is the modules' own numpy seed."""
    specs = resolve_metric_names(names)
    builtin = [name for name in specs if not is_evaluate_name(name)]
    chosen = get_metrics(builtin, language) if builtin else []  # [] would mean "all"
    modules = [load_evaluate_metric(spec, seed) for spec in specs if is_evaluate_name(spec)]
    return chosen, modules


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

    `metrics`: names from ftcore.metrics.registry.METRIC_NAMES (default: all), and
    `evaluate:NAME_OR_PATH` modules.
    `bootstrap`: resamples for the CIs (0: no CI at all), drawn with `seed`.
    `progress`: called with (fraction done, message) before each step.
    `language`: None (BLEU picks `zh` or `13a` per row from its reference, the default),
    or 'zh' / 'en' to tokenize every row alike ('mixed' is per row too). The report's
    `language` is this, or detected from the references for display.
    Raises EmptyPredictionsError for no rows, DataError for a malformed row, ConfigError
    for an unknown metric or a bad setting."""
    check_settings(bootstrap, confidence)
    rows = checked_rows(rows)
    chosen, modules = load_metrics(metrics, language, seed)
    shown_language = language or detect_language(row["reference"] for row in rows)
    names = [m.name for m in chosen]
    report = ScoreReport(
        {},
        [],
        shown_language,
        names,
        bootstrap,
        seed,
        confidence,
        language,
        resolve_metric_names(metrics),
    )
    groups = group_rows(rows)
    steps, done = len(groups) * (len(chosen) + len(modules) + 1), 0

    def tick(message: str) -> None:
        nonlocal done
        if progress:
            progress(done / steps, message)
        done += 1

    for key, members in groups.items():
        scores, examples = _score_group(key, members, chosen, modules, report, tick)
        report.scores.setdefault(key[0], {})[key[1]] = scores
        report.examples.extend(examples)
        report.metrics.extend(name for name in scores if name not in report.metrics)
        logger.info("scored %s / %s: %d examples", *key, len(members))
    if progress:
        progress(1.0, "scored")
    return report
