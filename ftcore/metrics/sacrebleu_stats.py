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

BLEU's `tokenize` is a sacrebleu tokenizer name or PER_ROW_BLEU (ftcore.metrics.text):
then each row is counted with `zh` or `13a` by its own reference. The score from summed
counts does not depend on the tokenizer, so per-row counts pool like any others.

`paired_ar_p_value` hands such counts to sacrebleu's own paired approximate-randomisation
test, seeded by the caller.

Everything is on sacrebleu's 0–100 scale. One reference per example.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from ftcore.metrics.text import PER_ROW_BLEU, row_bleu_tokenizer


@lru_cache(maxsize=8)
def _bleu(tokenize: str, effective_order: bool) -> Any:
    from sacrebleu.metrics import BLEU  # ~60 ms: imported on first use only

    if tokenize == PER_ROW_BLEU:
        tokenize = "13a"  # only scores from counts: the tokenizer plays no part there
    # force=True: our inputs are model outputs, never pre-tokenized text, and the
    # "tokenized period" heuristic only logs warnings.
    return BLEU(tokenize=tokenize, effective_order=effective_order, force=True)


@lru_cache(maxsize=1)
def _chrf() -> Any:
    from sacrebleu.metrics import CHRF

    return CHRF()  # sacrebleu's defaults: chrF2, character 6-grams, no word n-grams


def _signature(metric: Any, tok: str | None = None) -> str:
    metric.num_refs = 1  # what sacrebleu sets once it has seen the references
    signature = metric.get_signature()
    if tok is not None:
        signature.update("tok", tok)
    return signature.format()


def bleu_signature(tokenize: str, effective_order: bool = False) -> str:
    """sacrebleu's own signature: 'nrefs:1|case:mixed|eff:no|tok:zh|smooth:exp|version:2.6.0',
    with 'tok:zh-if-han-else-13a' for PER_ROW_BLEU."""
    from sacrebleu.metrics import BLEU

    per_row = tokenize == PER_ROW_BLEU
    metric = BLEU(tokenize="zh" if per_row else tokenize, effective_order=effective_order)
    return _signature(metric, PER_ROW_BLEU if per_row else None)


def chrf_signature() -> str:
    from sacrebleu.metrics import CHRF

    return _signature(CHRF())


@lru_cache(maxsize=4)
def _bleu_rows(tokenize: str, predictions: tuple, references: tuple) -> list[list[int]]:
    # Cached: `bleu` and `sentence_bleu_mean` are two metrics over the same counts (two
    # entries per call under PER_ROW_BLEU). The public functions hand out copies, so a
    # caller cannot change what the cache holds.
    return _bleu(tokenize, False)._extract_corpus_statistics(predictions, [references])


def bleu_statistics(
    predictions: Sequence[str], references: Sequence[str], tokenize: str
) -> list[list[int]]:
    """Per example: [hyp_len, ref_len, matches 1..4, totals 1..4] as sacrebleu counts them.
    sacrebleu counts each sentence on its own, so a row's counts never depend on the other
    rows; under PER_ROW_BLEU neither does its tokenizer."""
    _check_same_length(predictions, references)
    if tokenize != PER_ROW_BLEU:
        return [list(row) for row in _bleu_rows(tokenize, tuple(predictions), tuple(references))]
    positions: dict[str, list[int]] = {}
    for index, reference in enumerate(references):
        positions.setdefault(row_bleu_tokenizer(reference), []).append(index)
    rows: list[list[int]] = [[] for _ in references]
    for row_tokenize, indices in positions.items():
        hyps = tuple(predictions[i] for i in indices)
        refs = tuple(references[i] for i in indices)
        for index, row in zip(indices, _bleu_rows(row_tokenize, hyps, refs), strict=True):
            rows[index] = list(row)
    return rows


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


class _CountedStatistics:
    """What sacrebleu's paired test asks of a metric, over counts extracted beforehand: a
    sacrebleu metric object cannot tokenize row by row (PER_ROW_BLEU) by itself."""

    def __init__(self, metric: Any):
        self._metric = metric

    def _extract_corpus_statistics(self, rows: Any, references: Any) -> Any:
        return rows  # the "hypotheses" handed to the test are the counts themselves

    def _aggregate_and_compute(self, stats: Any) -> Any:
        return self._metric._aggregate_and_compute(stats)


def paired_ar_p_value(
    name: str,
    rows_a: Sequence[Sequence[float]],
    rows_b: Sequence[Sequence[float]],
    n_trials: int,
    seed: int,
) -> float:
    """Two-sided p-value of sacrebleu's paired approximate randomisation test (what
    `sacrebleu --paired-ar` runs) for corpus `name` ('bleu' or 'chrf') of a versus b, from
    per-example counts whose row i is the same example on both sides.

    Called through `_paired_ar_test` with the caller's seed: `PairedTest`, the public
    entry, reads its seed from the SACREBLEU_SEED environment variable and turns seed 0
    into "unseeded". The tests hold the two equal for a nonzero seed."""
    from sacrebleu.significance import Result, _paired_ar_test

    if name not in ("bleu", "chrf"):
        raise ValueError(f"sacrebleu's paired test is for 'bleu' or 'chrf', not {name!r}")
    metric = _CountedStatistics(_chrf() if name == "chrf" else _bleu("13a", False))
    counts_a = [[int(round(value)) for value in row] for row in rows_a]
    counts_b = [[int(round(value)) for value in row] for row in rows_b]
    if len(counts_a) != len(counts_b):
        raise ValueError(f"paired rows differ in length: {len(counts_a)} vs {len(counts_b)}")
    baseline = {name: (counts_b, Result(metric._aggregate_and_compute(counts_b).score))}
    _, results = _paired_ar_test(
        baseline, "a", counts_a, None, {name: metric}, n_trials, n_ar_confidence=-1, seed=seed
    )
    return float(results[name].p_value)


def _check_same_length(predictions: Sequence[str], references: Sequence[str]) -> None:
    # sacrebleu zips and would silently drop the unmatched tail.
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predictions but {len(references)} references: "
            "every prediction needs exactly one reference"
        )
