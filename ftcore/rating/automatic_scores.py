"""Human vs automatic: each response's sentence BLEU, chrF and ROUGE-L, and who they side with.

A session copies each item's reference with its texts (ftcore.rating.material), so the
responses are scored here, from the session's own rows, with ftcore.metrics: the same
code and tokenisation (per-row `zh` or `13a` for BLEU, CJK-aware ROUGE) as an
evaluation's per_example scores, and the same numbers even after the evaluation folder
was evaluated again. Items without a reference are left out, and said to be.

Perplexity is not among them: an evaluation measures it per model and split, over the
reference replies, and keeps no per-example value, so it cannot say which response of
an item is better; for sessions made from an evaluation the report says so.

Agreement per metric comes from ftcore.stats.metric_agreement, with a Wilson interval on
the share of decided items where metric and raters pick the same model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ftcore.metrics.registry import get_metrics
from ftcore.rating.material import PAIR
from ftcore.stats.intervals import wilson_interval
from ftcore.stats.metric_agreement import metric_agreement
from ftcore.stats.vote_records import ResponseKey, Vote

# Sentence-level metrics in ftcore.metrics; each reports under its per-example column
# name ("sentence_bleu", "chrf", "rougeL"), as per_example.jsonl does.
SENTENCE_METRICS = ("sentence_bleu_mean", "chrf", "rougeL")
PERPLEXITY = "perplexity"
NO_REFERENCE = "the session's items have no reference text, which this metric compares with"
NO_PERPLEXITY = (
    "the evaluation keeps perplexity per model and split, not per example, so it cannot "
    "tell which response of an item is better"
)

Scores = dict[str, dict[ResponseKey, float]]  # metric → (item_id, model) → score


def session_pair_items(database, session_id: str) -> list[dict]:
    """The session's pair items (gold items are for checking raters) with their texts."""
    return database.query(
        "SELECT id, example_id, prompt, reference, model_first, response_first, "
        "model_second, response_second FROM rating_items WHERE session_id = ? AND kind = ? "
        "ORDER BY id",
        [session_id, PAIR],
    )


def response_scores(items: Iterable[Mapping]) -> Scores:
    """metric → (item_id, model) → that response's score against the item's reference;
    items without a reference are skipped, and with none at all the result is empty."""
    keys, texts, references = [], [], []
    for item in items:
        if not item["reference"]:
            continue
        for side in ("first", "second"):
            keys.append((str(item["id"]), item[f"model_{side}"]))
            texts.append(item[f"response_{side}"] or "")
            references.append(item["reference"])
    if not keys:
        return {}
    return {
        metric.example_column: dict(
            zip(keys, metric.example_scores(texts, references), strict=True)
        )
        for metric in get_metrics(SENTENCE_METRICS, None)
    }


def _empty(note: str) -> dict:
    return {"agreement": None, "agreement_ci": None, "agreeing": 0, "n_decided": 0,
            "kendall_tau": None, "kendall_p": None, "n_items": 0, "note": note}  # fmt: skip


def agreement_entries(
    votes: Sequence[Vote], items: Sequence[Mapping], from_evaluation: bool
) -> tuple[dict, Scores]:
    """report.json's "metric_agreement" ({metric: {"agreement", "agreement_ci",
    "kendall_tau", "n_items", …, "note"}}) over the items `votes` were cast on, and the
    response scores it was computed from (for items.csv)."""
    voted = {vote.item_id for vote in votes}
    shown = [item for item in items if str(item["id"]) in voted]
    scores = response_scores(shown)
    entries: dict[str, dict] = {}
    if not scores:
        names = [metric.example_column for metric in get_metrics(SENTENCE_METRICS, None)]
        entries = {name: _empty(NO_REFERENCE) for name in names}
    missing = sum(not item["reference"] for item in shown)
    for result in metric_agreement(votes, scores):
        interval = wilson_interval(result.agreeing, result.n) if result.n else None
        note = f"{missing} voted items without a reference left out" if missing else None
        entries[result.metric] = {
            "agreement": result.agreement,
            "agreement_ci": None if interval is None else [interval.low, interval.high],
            "agreeing": result.agreeing,
            "n_decided": result.n,
            "kendall_tau": result.kendall_tau,
            "kendall_p": result.p_value,
            "n_items": result.n_tau,
            "note": note,
        }
    if from_evaluation:
        entries[PERPLEXITY] = _empty(NO_PERPLEXITY)
    return entries, scores
