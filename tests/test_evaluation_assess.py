"""Assembling the verdicts of an evaluation from its predictions and NLLs."""

import math

import pytest

from ftcore.evaluation.assess import assess_model
from ftcore.nll import mean_nll
from ftcore.verdicts.nll_gaps import independent_nll_difference

TRAIN_TARGETS = [f"新年快乐，祝第{i}位朋友万事顺意，阖家欢乐，来年再相聚。" for i in range(12)]


def split_rows(model, split, predictions, references, rouge):
    return [
        {
            "model": model,
            "split": split,
            "id": i,
            "prediction": p,
            "reference": r,
            "scores": {"rougeL": rouge},
        }
        for i, (p, r) in enumerate(zip(predictions, references, strict=True))
    ]


def scores_for(rouge_by_split, ppl_by_split):
    return {
        split: {
            "rougeL": {"value": rouge, "ci_low": rouge - 0.05, "ci_high": rouge + 0.05},
            "chrf": {"value": 100 * rouge, "ci_low": 100 * rouge - 5, "ci_high": 100 * rouge + 5},
            "perplexity": {"value": ppl_by_split[split]},
        }
        for split, rouge in rouge_by_split.items()
    }


def nll_pairs(per_token, n=12, jitter=0.05):
    # (nll_sum, n_tokens) of n examples of 20 tokens around `per_token` nats per token
    return [((per_token + jitter * ((i % 3) - 1)) * 20, 20) for i in range(n)]


def evaluation(tuned_heldout_nll, heldout_predictions):
    heldout_refs = [f"恭贺新春，愿第{i}位同事身体健康，工作顺利，步步高升！" for i in range(12)]
    examples = (
        split_rows("base", "train", ["你好"] * 12, TRAIN_TARGETS, 0.1)
        + split_rows("base", "val", ["你好"] * 12, heldout_refs, 0.1)
        + split_rows("tuned", "train", TRAIN_TARGETS, TRAIN_TARGETS, 0.9)
        + split_rows("tuned", "val", heldout_predictions, heldout_refs, 0.5)
    )
    scores = {
        "base": scores_for({"train": 0.1, "val": 0.1}, {"train": 900.0, "val": 900.0}),
        "tuned": scores_for({"train": 0.9, "val": 0.5}, {"train": 3.0, "val": 20.0}),
    }
    nll = {
        ("base", "train"): nll_pairs(6.8),
        ("base", "val"): nll_pairs(6.8),
        ("tuned", "train"): nll_pairs(1.0),
        ("tuned", "val"): nll_pairs(tuned_heldout_nll),
    }
    return scores, examples, nll


def test_token_weighted_mean_and_difference():
    assert mean_nll([(10.0, 5), (2.0, 5)]) == pytest.approx(1.2)
    assert mean_nll([(10.0, 1), (2.0, 9)]) == pytest.approx(1.2)  # not mean of ratios (5.11)
    difference = independent_nll_difference(
        nll_pairs(3.0), nll_pairs(1.0), n_resamples=200, seed=0, confidence=0.95
    )
    value, interval = difference.value, difference.ci
    assert value == pytest.approx(2.0)
    assert interval[0] < 2.0 < interval[1] and interval[1] - interval[0] < 0.2


def test_memorising_model_with_a_large_gap_is_overfitting():
    copies = TRAIN_TARGETS  # every held-out output reproduces a training target
    scores, examples, nll = evaluation(tuned_heldout_nll=3.0, heldout_predictions=copies)
    result = assess_model("tuned", scores, examples, nll, TRAIN_TARGETS, bootstrap=200, seed=0)
    assert result.verdict.label == "overfitting"
    assert result.memorisation.rate == 1.0
    assert any("2.00 higher" in reason for reason in result.verdict.reasons)
    [in_domain, generalisation] = result.exam
    assert (in_domain.part, in_domain.verdict) == ("in-domain (train sample)", "better")
    assert generalisation.tuned_value == 0.5
    assert result.heldout_split == "val"
    assert math.isclose(result.to_json()["memorisation"]["rate"], 1.0)


def test_model_that_generalises_is_healthy():
    own_words = [f"祝你第{i}年好运连连，笑口常开，心想事成！" for i in range(12)]
    scores, examples, nll = evaluation(tuned_heldout_nll=1.05, heldout_predictions=own_words)
    result = assess_model("tuned", scores, examples, nll, TRAIN_TARGETS, bootstrap=200, seed=0)
    assert result.verdict.label == "healthy", result.verdict.reasons
    assert result.memorisation.rate == 0.0
    assert result.forgetting is None  # no probe split was evaluated
