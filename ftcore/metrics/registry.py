"""Metrics as data: a name, a direction, per-example statistics, a corpus aggregate, a signature.

Every metric here works in two steps, so that the corpus score, per-example scores and
bootstrap resamples all come from one pass over the texts:

- `statistics(predictions, references)` → one row of numbers per example (the sample
  level: n-gram counts for BLEU and chrF, the score itself for mean metrics);
- `aggregate(column_sums, n)` → the corpus score from the column sums of any subset or
  resample of those rows (the corpus level).

`bleu` is corpus BLEU (pooled counts); `sentence_bleu_mean` is the mean of per-example
BLEU with effective order. They are different numbers and never share a name.

A `binary` metric (exact match) has per-example values of 0 or 1: its corpus value is a
proportion, and its intervals are exact binomial ones rather than a bootstrap.

Names of the form `evaluate:NAME_OR_PATH` pass through `resolve_metric_names` untouched:
they are Hugging Face `evaluate` modules (ftcore.metrics.evaluate_modules), not built here.

Scales: BLEU and chrF on sacrebleu's 0–100, ROUGE and exact match on 0–1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from ftcore import __version__
from ftcore.errors import ConfigError, did_you_mean
from ftcore.metrics import rouge, sacrebleu_stats
from ftcore.metrics.text import LANGUAGES, Language, bleu_setting, normalize_for_match

Statistics = Callable[[Sequence[str], Sequence[str]], list[list[float]]]
Aggregate = Callable[[Sequence[float], int], float]

METRIC_NAMES = (
    "bleu",
    "sentence_bleu_mean",
    "chrf",
    "rouge1",
    "rouge2",
    "rougeL",
    "exact_match",
)
# Other names people use for the same metric; results are always under the canonical name.
ALIASES = {"accuracy": "exact_match", "em": "exact_match"}
EVALUATE_PREFIX = "evaluate:"  # a Hugging Face `evaluate` module, by local path or cached name


@dataclass(frozen=True)
class Metric:
    """One metric, fully described; build them with `get_metrics`."""

    name: str
    higher_is_better: bool
    statistics: Statistics  # sample level: one row of numbers per example
    aggregate: Aggregate  # corpus level: score from column sums of rows, and their count
    signature: str  # what it was computed with: tokenizer, settings, library version
    example_column: str | None  # name of the per-example score, None when there is none
    example_score: Callable[[Sequence[float]], float] | None = None  # one row → its score
    binary: bool = False  # per-example values are 0 or 1: the corpus value is a proportion

    def corpus_from_statistics(self, rows: Sequence[Sequence[float]]) -> float:
        """The corpus score of these rows (all of a corpus, or any subset)."""
        if not rows:
            raise ValueError(f"{self.name}: no examples to score")
        totals = [math.fsum(column) for column in zip(*rows, strict=True)]  # exact for counts
        return self.aggregate(totals, len(rows))

    def corpus_score(self, predictions: Sequence[str], references: Sequence[str]) -> float:
        return self.corpus_from_statistics(self.statistics(predictions, references))

    def example_scores(
        self, predictions: Sequence[str], references: Sequence[str]
    ) -> list[float] | None:
        """Per-example scores, or None for a metric that only exists at corpus level."""
        if self.example_score is None:
            return None
        return [self.example_score(row) for row in self.statistics(predictions, references)]


def mean_of_first_column(totals: Sequence[float], n: int) -> float:
    return totals[0] / n


def first_value(row: Sequence[float]) -> float:
    return row[0]


def exact_match_statistics(
    predictions: Sequence[str], references: Sequence[str]
) -> list[list[float]]:
    """[1.0] when prediction and reference are equal after normalize_for_match, else [0.0].
    Two empty (or whitespace-only) texts are equal."""
    return [
        [float(normalize_for_match(p) == normalize_for_match(r))]
        for p, r in zip(predictions, references, strict=True)
    ]


def _mean_metric(
    name: str, statistics: Statistics, signature: str, column: str, binary: bool = False
) -> Metric:
    return Metric(
        name, True, statistics, mean_of_first_column, signature, column, first_value, binary
    )


def _sentence_bleu_statistics(
    tokenize: str, predictions: Sequence[str], references: Sequence[str]
) -> list[list[float]]:
    rows = sacrebleu_stats.bleu_statistics(predictions, references, tokenize)
    return [[sacrebleu_stats.sentence_bleu_from_statistics(row, tokenize)] for row in rows]


def _build(name: str, tokenize: str) -> Metric:
    """One metric by name; `tokenize` is the sacrebleu tokenizer BLEU uses."""
    if name == "bleu":
        return Metric(
            name="bleu",
            higher_is_better=True,
            statistics=partial(_bleu_statistics, tokenize),
            aggregate=partial(_bleu_aggregate, tokenize),
            signature=sacrebleu_stats.bleu_signature(tokenize) + "|agg:corpus",
            example_column=None,
        )
    if name == "sentence_bleu_mean":
        signature = sacrebleu_stats.bleu_signature(tokenize, effective_order=True) + "|agg:mean"
        statistics = partial(_sentence_bleu_statistics, tokenize)
        return _mean_metric(name, statistics, signature, "sentence_bleu")
    if name == "chrf":
        return Metric(
            name="chrf",
            higher_is_better=True,
            statistics=sacrebleu_stats.chrf_statistics,
            aggregate=_chrf_aggregate,
            signature=sacrebleu_stats.chrf_signature() + "|agg:corpus",
            example_column="chrf",  # sentence chrF; the corpus value pools the counts
            example_score=sacrebleu_stats.chrf_from_statistics,
        )
    if name in rouge.ROUGE_TYPES:
        statistics = partial(rouge.rouge_statistics, name)
        return _mean_metric(name, statistics, rouge.rouge_signature(), name)
    if name == "exact_match":
        signature = f"norm:nfc+casefold+whitespace|width:kept|agg:mean|ftcore:{__version__}"
        return _mean_metric(name, exact_match_statistics, signature, name, binary=True)
    raise AssertionError(f"no builder for metric {name!r}")  # METRIC_NAMES is out of step


def _bleu_statistics(
    tokenize: str, predictions: Sequence[str], references: Sequence[str]
) -> list[list[float]]:
    return sacrebleu_stats.bleu_statistics(predictions, references, tokenize)


def _bleu_aggregate(tokenize: str, totals: Sequence[float], n: int) -> float:
    return sacrebleu_stats.bleu_from_statistics(totals, tokenize)


def _chrf_aggregate(totals: Sequence[float], n: int) -> float:
    return sacrebleu_stats.chrf_from_statistics(totals)


def is_evaluate_name(name: str) -> bool:
    return name.startswith(EVALUATE_PREFIX)


def resolve_metric_names(names: Sequence[str] | str | None) -> list[str]:
    """Canonical metric names from a list or a comma-separated string (any case, ALIASES
    allowed); None or empty means all of METRIC_NAMES. An unknown name raises ConfigError
    with the closest known one; `evaluate:…` names are kept as given."""
    if isinstance(names, str):
        names = [part.strip() for part in names.split(",")]
    names = [name.strip() for name in (names or []) if name.strip()]
    if not names:
        return list(METRIC_NAMES)
    by_lower = {known.lower(): known for known in METRIC_NAMES} | ALIASES
    resolved: list[str] = []
    for name in names:
        known = name if is_evaluate_name(name) else by_lower.get(name.lower())
        if known is None:
            allowed = (
                f"one of {', '.join(METRIC_NAMES)}, or {EVALUATE_PREFIX}NAME_OR_PATH."
                + did_you_mean(name, METRIC_NAMES)
            )
            raise ConfigError("metrics", name, allowed)
        if known not in resolved:
            resolved.append(known)
    return resolved


def get_metrics(names: Sequence[str] | str | None, language: Language | None) -> list[Metric]:
    """The named built-in metrics (None: all), set up for text in `language` (see
    ftcore.metrics.text.bleu_setting): BLEU tokenizes every row with `zh` for 'zh' and
    with `13a` for 'en'; for 'mixed' or None each row gets `zh` when its reference holds
    Han characters and `13a` otherwise. `evaluate:` names are skipped: they are loaded
    by ftcore.metrics.evaluate_modules."""
    if language is not None and language not in LANGUAGES:
        raise ConfigError("language", language, "one of " + ", ".join(LANGUAGES))
    tokenize = bleu_setting(language)
    chosen = [name for name in resolve_metric_names(names) if not is_evaluate_name(name)]
    return [_build(name, tokenize) for name in chosen]
