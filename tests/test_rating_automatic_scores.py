"""Human vs automatic in the report: agreement, Wilson interval and Kendall's tau by hand.

Also holds `vote_by`, the helper other report tests import: a rater who votes on every
item served as a function of the prompt and which model is on which side.
"""

from __future__ import annotations

import csv
import math

import pytest
from test_rating_sessions import MODELS, FakeClock, scores, write_jsonl

from ftcore.rating import service
from ftcore.rating.automatic_scores import NO_REFERENCE
from ftcore.rating.plan import SessionPlan
from ftcore.rating.report import build_report, write_report
from ftcore.rating.sessions import create_session

ALPHA, BETA = MODELS[:2]
REFERENCE = "外婆，祝您新春快乐，身体健康，万事如意"
UNRELATED = ("abc xyz", "qrs tuv")  # share no character with REFERENCE or each other
PARTIAL = "外婆，祝您新春快乐"  # the reference's first half


def vote_by(database, code: str, name: str, decide, clock=None) -> int:
    """Join as `name` and vote on every item served: decide(prompt, left, right) gives
    the winning model's name, "tie" or "both_bad"; left/right are read off the page
    (every response text names its model, as test_rating_sessions' do).
    The votes cast."""
    clock = clock or FakeClock()
    token = service.join(database, code, name, clock=clock)["rater_token"]
    cast = 0
    while not (item := service.next_item(database, token, clock=clock)).get("done"):
        clock.advance(10)
        left = next(m for m in MODELS if m in item["response_a"])
        right = next(m for m in MODELS if m in item["response_b"])
        wanted = decide(item["prompt"], left, right)
        choice = {left: "A", right: "B"}.get(wanted, wanted)
        service.vote(database, token, item["item_token"], choice, scores(), clock=clock)
        cast += 1
    return cast


def tagged(text: str, model: str) -> str:
    """The response text with its model appended, so a test can tell the sides apart
    (the tag is outside every reference, so it lowers matches equally on both sides)."""
    return f"{text}［{model}］"


# example → (ALPHA's text, BETA's text, the raters' verdict)
EXAMPLES = {
    "ex0": (REFERENCE, UNRELATED[0], ALPHA),  # metric and raters: ALPHA
    "ex1": (PARTIAL, UNRELATED[0], ALPHA),  # both ALPHA, the metric less strongly
    "ex2": (UNRELATED[0], REFERENCE, BETA),  # both BETA
    "ex3": (UNRELATED[0], UNRELATED[1], "tie"),  # nobody prefers
    "ex4": (UNRELATED[0], REFERENCE, ALPHA),  # metric BETA, raters ALPHA
}


def _rows(with_reference: bool = True) -> list[dict]:
    rows = []
    for example, (alpha, beta, _) in EXAMPLES.items():
        for model, text in ((ALPHA, alpha), (BETA, beta)):
            row = {"id": example, "prompt": f"给外婆拜年 {example}", "model": model,
                   "prediction": tagged(text, model)}  # fmt: skip
            if with_reference:
                row["reference"] = REFERENCE
            rows.append(row)
    return rows


def _session(database, tmp_path, with_reference: bool = True):
    path = write_jsonl(tmp_path / "predictions.jsonl", _rows(with_reference))
    plan = SessionPlan(name="Round", predictions=str(path), min_seconds=0, ratings_per_item=1)
    info = create_session(database, None, plan, clock=FakeClock())
    verdicts = {f"给外婆拜年 {example}": verdict for example, (*_, verdict) in EXAMPLES.items()}
    assert vote_by(database, info.code, "r1", lambda prompt, *_: verdicts[prompt]) == 5
    return info


def test_metric_agreement_and_tau_by_hand(database, tmp_path):
    info = _session(database, tmp_path)
    report = build_report(database, info.session_id, n_resamples=20)
    agreement = report["metric_agreement"]
    assert set(agreement) == {"sentence_bleu", "chrf", "rougeL"}  # no perplexity: not an eval
    # Decided items (raters and metric both prefer): ex0, ex1, ex2 agree, ex4 does not.
    # Kendall's tau-b over the 5 items, metric difference x = [1, p, -1, 0, -1]·scale
    # (0 < p < 1) against the human outcome y = [½, ½, -½, 0, ½]: of the 10 pairs 5 are
    # concordant, 1 discordant, 1 tied in x only and 3 in y only, so
    # tau = (5 - 1) / √((10 - 1)(10 - 3)) = 4 / √63.
    # Wilson for 3 of 4 at 95% (z = 1.959964): centre 0.627524, half-width 0.326886.
    for metric, entry in agreement.items():
        assert (entry["agreeing"], entry["n_decided"], entry["n_items"]) == (3, 4, 5), metric
        assert entry["agreement"] == 0.75
        assert entry["agreement_ci"] == pytest.approx([0.300638, 0.954410], abs=1e-5)
        assert entry["kendall_tau"] == pytest.approx(4 / math.sqrt(63), abs=1e-12)
        assert entry["note"] is None


def test_items_csv_has_each_metric_per_side(database, tmp_path):
    info = _session(database, tmp_path)
    paths = write_report(database, info.session_id, tmp_path / "out", n_resamples=20)
    with open(paths["items"], encoding="utf-8-sig", newline="") as file:
        rows = {row["example_id"]: row for row in csv.DictReader(file)}
    ex0, ex3 = rows["ex0"], rows["ex3"]
    assert ex0["model_a"] == ALPHA and ex0["prompt"] == "给外婆拜年 ex0"
    # ALPHA's ex0 text is the reference plus its tag: high, below a perfect score; the
    # unrelated texts share nothing with the reference: exactly 0.
    for metric, perfect in (("sentence_bleu", 100), ("chrf", 100), ("rougeL", 1)):
        assert 0.5 * perfect < float(ex0[f"{metric}_a"]) < perfect
        assert float(ex0[f"{metric}_b"]) == 0.0
        assert float(ex3[f"{metric}_a"]) == float(ex3[f"{metric}_b"]) == 0.0
    # ROUGE-L F by hand on ex1: PARTIAL is 8 Han characters (the comma is not a token),
    # the reference 16, the tag adds the model name's Latin words (secret, model, alpha);
    # the longest common subsequence is PARTIAL's 8 characters.
    prediction_tokens, reference_tokens, common = 8 + 3, 16, 8
    precision, recall = common / prediction_tokens, common / reference_tokens
    expected = 2 * precision * recall / (precision + recall)
    assert float(rows["ex1"]["rougeL_a"]) == pytest.approx(expected, abs=1e-12)


def test_a_session_without_references_says_so_instead_of_scoring(database, tmp_path):
    info = _session(database, tmp_path, with_reference=False)
    report = build_report(database, info.session_id, n_resamples=20)
    for entry in report["metric_agreement"].values():
        assert entry["agreement"] is None and entry["kendall_tau"] is None
        assert (entry["n_items"], entry["note"]) == (0, NO_REFERENCE)
    assert "rougeL_a" not in report["items"][0]
