"""ROUGE-1/2/L F-measure that counts each Chinese character as a token.

rouge-score's default tokenizer keeps only `[a-z0-9]+` runs, so two identical Chinese
strings score 0.0 and mixed text is scored on its Latin words alone. `CjkLatinTokenizer`
yields every Han character as a token and everything else exactly as the default does
(lowercased `[a-z0-9]+` runs, no stemming): on text without Han characters the scores are
rouge-score's own.

ROUGE-1 and ROUGE-2 come from `rouge_scorer.RougeScorer` with that tokenizer. ROUGE-L
uses a bit-parallel LCS length (Hyyrö 2004) instead of rouge-score's O(n·m) Python table,
which takes seconds and hundreds of MB on a 5,000-character output; the F-measure is then
formed exactly as rouge-score forms it, and the tests hold the two equal.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from functools import lru_cache

from ftcore.metrics.text import HAN_RANGES

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
TOKEN = re.compile(f"[{HAN_RANGES}]|[a-z0-9]+")


class CjkLatinTokenizer:
    """A tokenizer for `RougeScorer(..., tokenizer=...)`: Han characters one by one, and
    lowercased `[a-z0-9]+` runs as rouge-score's default makes them."""

    name = "cjk-char+latin-lower"

    def tokenize(self, text: str) -> list[str]:
        # Lowercase first, as the default does: str.lower() can turn a non-ASCII letter
        # into an ASCII one (KELVIN SIGN → "k"), and the default keeps that letter.
        return TOKEN.findall(text.lower())


TOKENIZER = CjkLatinTokenizer()


def rouge_signature() -> str:
    from importlib.metadata import version  # ~15 ms: only when metrics are built

    rouge_version = version("rouge-score")
    return f"tok:{TOKENIZER.name}|stem:no|score:f|agg:mean|rouge-score:{rouge_version}"


def lcs_length(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Length of the longest common subsequence of two token sequences, bit-parallel:
    O(len(a) · len(b) / word size) with Python integers as bit vectors."""
    if len(a) < len(b):
        a, b = b, a  # bits over the longer sequence, the Python loop over the shorter
    if not b:
        return 0
    positions: dict[Hashable, int] = {}
    for index, token in enumerate(a):
        positions[token] = positions.get(token, 0) | (1 << index)
    mask = (1 << len(a)) - 1
    vector = mask
    for token in b:
        matches = vector & positions.get(token, 0)
        # Hyyrö's update; the mask drops the carry out of the top bit.
        vector = ((vector + matches) | (vector - matches)) & mask
    return len(a) - vector.bit_count()


def f_measure(precision: float, recall: float) -> float:
    """rouge_score.scoring.fmeasure, written out so ROUGE-L matches it bit for bit."""
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def rouge_l(prediction_tokens: Sequence[str], reference_tokens: Sequence[str]) -> float:
    """ROUGE-L F-measure of two token lists, as rouge_scorer._score_lcs computes it."""
    if not prediction_tokens or not reference_tokens:
        return 0.0
    common = lcs_length(reference_tokens, prediction_tokens)
    precision = common / len(prediction_tokens)
    recall = common / len(reference_tokens)
    return f_measure(precision, recall)


@lru_cache(maxsize=1)
def _ngram_scorer():
    # rouge_scorer pulls in nltk and absl (~0.4 s): imported on first use only.
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rouge1", "rouge2"], tokenizer=TOKENIZER)


def rouge_scores(prediction: str, reference: str) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L F-measure (0 to 1) of one prediction. An empty or
    whitespace-only prediction or reference has no tokens and scores 0.0 on all three,
    as in rouge-score (even when both are empty)."""
    ngram = _ngram_scorer().score(reference, prediction)  # rouge-score's order: target first
    lcs = rouge_l(TOKENIZER.tokenize(prediction), TOKENIZER.tokenize(reference))
    return {"rouge1": ngram["rouge1"].fmeasure, "rouge2": ngram["rouge2"].fmeasure, "rougeL": lcs}


@lru_cache(maxsize=2)
def _rouge_table(predictions: tuple[str, ...], references: tuple[str, ...]) -> list[dict]:
    # Cached because rouge1, rouge2 and rougeL are three metrics over one computation.
    return [rouge_scores(p, r) for p, r in zip(predictions, references, strict=True)]


def rouge_statistics(
    rouge_type: str, predictions: Sequence[str], references: Sequence[str]
) -> list[list[float]]:
    """One row per example, [F-measure], for one ROUGE type; corpus ROUGE is their mean."""
    table = _rouge_table(tuple(predictions), tuple(references))
    return [[scores[rouge_type]] for scores in table]
