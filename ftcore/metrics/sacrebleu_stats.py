"""BLEU and chrF through sacrebleu, split into per-example sufficient statistics.

A corpus BLEU or chrF is a function of the *sums* of per-sentence counts (n-gram matches
and totals, hypothesis and reference lengths), not of per-sentence scores. Extracting
those counts once per example lets the corpus score, the per-example scores and every
bootstrap resample be computed from them without tokenizing again: a resample is a
weighted sum of rows. `tests/test_metrics_sacrebleu.py` holds the results equal to
`corpus_score` and `sentence_score` called directly.

sacrebleu has no public API for this. `_extract_corpus_statistics` and
`_compute_score_from_stats` are what its own `corpus_score` and paired bootstrap use;
the tests above fail loudly if a new sacrebleu version changes them.

Everything is on sacrebleu's 0–100 scale. One reference per example.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=8)
def _bleu(tokenize: str, effective_order: bool) -> Any:
    from sacrebleu.metrics import BLEU  # ~60 ms: imported on first use only

    # force=True: our inputs are model outputs, never pre-tokenized text, and the
    # "tokenized period" heuristic only logs warnings.
    return BLEU(tokenize=tokenize, effective_order=effective_order, force=True)


@lru_cache(maxsize=1)
def _chrf() -> Any:
    from sacrebleu.metrics import CHRF

    return CHRF()  # sacrebleu's defaults: chrF2, character 6-grams, no word n-grams


def _signature(metric: Any) -> str:
    metric.num_refs = 1  # what sacrebleu sets once it has seen the references
    return metric.get_signature().format()


def bleu_signature(tokenize: str, effective_order: bool = False) -> str:
    """sacrebleu's own signature: 'nrefs:1|case:mixed|eff:no|tok:zh|smooth:exp|version:2.6.0'."""
    from sacrebleu.metrics import BLEU

    return _signature(BLEU(tokenize=tokenize, effective_order=effective_order))


def chrf_signature() -> str:
    from sacrebleu.metrics import CHRF

    return _signature(CHRF())


@lru_cache(maxsize=2)
def _bleu_rows(tokenize: str, predictions: tuple, references: tuple) -> list[list[int]]:
    # Cached: `bleu` and `sentence_bleu_mean` are two metrics over the same counts. The
    # public functions hand out copies, so a caller cannot change what the cache holds.
    return _bleu(tokenize, False)._extract_corpus_statistics(predictions, [references])


def bleu_statistics(
    predictions: Sequence[str], references: Sequence[str], tokenize: str
) -> list[list[int]]:
    """Per example: [hyp_len, ref_len, matches 1..4, totals 1..4] as sacrebleu counts them."""
    _check_same_length(predictions, references)
    return [list(row) for row in _bleu_rows(tokenize, tuple(predictions), tuple(references))]


def bleu_from_statistics(totals: Sequence[float], tokenize: str) -> float:
    """Corpus BLEU from summed statistics: equal to `BLEU(tokenize=...).corpus_score`."""
    counts = [int(round(value)) for value in totals]
    return _bleu(tokenize, False)._compute_score_from_stats(counts).score


def sentence_bleu_from_statistics(row: Sequence[float], tokenize: str) -> float:
    """Sentence BLEU with effective order (short outputs have no 4-grams; without it they
    would all score 0): equal to `BLEU(effective_order=True).sentence_score`."""
    counts = [int(round(value)) for value in row]
    return _bleu(tokenize, True)._compute_score_from_stats(counts).score


@lru_cache(maxsize=2)
def _chrf_rows(predictions: tuple, references: tuple) -> list[list[int]]:
    return _chrf()._extract_corpus_statistics(predictions, [references])


def chrf_statistics(predictions: Sequence[str], references: Sequence[str]) -> list[list[int]]:
    """Per example: [hyp, ref, match] character n-gram counts for n = 1..6."""
    _check_same_length(predictions, references)
    return [list(row) for row in _chrf_rows(tuple(predictions), tuple(references))]


def chrf_from_statistics(totals: Sequence[float]) -> float:
    """chrF from summed statistics (corpus chrF), or from one row (sentence chrF)."""
    counts = [int(round(value)) for value in totals]
    return _chrf()._compute_score_from_stats(counts).score


def _check_same_length(predictions: Sequence[str], references: Sequence[str]) -> None:
    # sacrebleu zips and would silently drop the unmatched tail.
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predictions but {len(references)} references: "
            "every prediction needs exactly one reference"
        )
