"""Metrics as data: names, directions, signatures, per-example columns and edge cases."""

import pytest

from ftcore.errors import ConfigError
from ftcore.metrics.registry import METRIC_NAMES, get_metrics, resolve_metric_names


def by_name(language="zh"):
    return {metric.name: metric for metric in get_metrics(None, language)}


def test_every_metric_is_described():
    metrics = by_name()
    assert list(metrics) == list(METRIC_NAMES)
    for metric in metrics.values():
        assert metric.higher_is_better
        assert metric.signature
    assert metrics["bleu"].example_column is None  # corpus BLEU has no per-example value
    assert metrics["sentence_bleu_mean"].example_column == "sentence_bleu"
    assert metrics["chrf"].example_column == "chrf"


@pytest.mark.parametrize(
    ("language", "tok"), [("zh", "tok:zh"), ("mixed", "tok:zh"), ("en", "tok:13a")]
)
def test_bleu_signature_follows_the_language(language, tok):
    metrics = by_name(language)
    assert tok in metrics["bleu"].signature and "agg:corpus" in metrics["bleu"].signature
    assert tok in metrics["sentence_bleu_mean"].signature
    assert "eff:yes" in metrics["sentence_bleu_mean"].signature
    assert "agg:mean" in metrics["sentence_bleu_mean"].signature
    assert "rouge-score:0.1.2" in metrics["rouge1"].signature
    assert "tok:cjk-char+latin-lower" in metrics["rougeL"].signature


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, list(METRIC_NAMES)),
        ("", list(METRIC_NAMES)),
        ("bleu,chrf", ["bleu", "chrf"]),
        (" BLEU , rougel ", ["bleu", "rougeL"]),  # any case, spaces ignored
        (["rouge1", "rouge1", "exact_match"], ["rouge1", "exact_match"]),  # no duplicates
        ("accuracy", ["exact_match"]),  # an alias: scores are stored under the canonical name
    ],
)
def test_resolve_metric_names(given, expected):
    assert resolve_metric_names(given) == expected


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [("blue", "bleu"), ("chrF++", "chrf"), ("rouge_l", "rougeL"), ("exact", "exact_match")],
)
def test_unknown_metric_names_say_did_you_mean(typo, suggestion):
    with pytest.raises(ConfigError, match=f"Did you mean '{suggestion}'") as error:
        resolve_metric_names(f"bleu,{typo}")
    assert error.value.field == "metrics" and error.value.value == typo


def test_unknown_language():
    with pytest.raises(ConfigError, match="language='fr'"):
        get_metrics(None, "fr")


# Edge cases: (prediction, reference) → expected score per metric, one example each.
# BLEU, chrF and ROUGE follow sacrebleu and rouge-score: no tokens means 0.0, even when
# both sides are empty; exact match calls two empty texts equal.
EDGE_CASES = {
    "empty prediction": ("", "新年快乐", {"bleu": 0, "chrf": 0, "rouge1": 0, "exact_match": 0}),
    "whitespace prediction": (
        " \t",
        "新年快乐",
        {"bleu": 0, "chrf": 0, "rougeL": 0, "exact_match": 0},
    ),
    "empty reference": ("新年快乐", "", {"bleu": 0, "chrf": 0, "rouge2": 0, "exact_match": 0}),
    "both empty": (
        "",
        "",
        {"bleu": 0, "sentence_bleu_mean": 0, "chrf": 0, "rouge1": 0, "exact_match": 1},
    ),
    "both whitespace": (" ", "\u3000", {"rougeL": 0, "exact_match": 1}),
    "one character each": (
        "好",
        "好",
        {"sentence_bleu_mean": 100, "rouge1": 1, "rouge2": 0, "exact_match": 1},
    ),
}


@pytest.mark.parametrize("case", EDGE_CASES)
def test_edge_cases(case):
    prediction, reference, expected = EDGE_CASES[case]
    metrics = by_name()
    for name, value in expected.items():
        assert metrics[name].corpus_score([prediction], [reference]) == pytest.approx(value), name


def test_empty_prediction_lowers_the_corpus_but_keeps_its_count():
    rouge1 = by_name()["rouge1"]
    assert rouge1.corpus_score(["新年好", ""], ["新年好", "新年好"]) == 0.5


def test_exact_match_is_accuracy_on_labels():
    (exact,) = get_metrics(["exact_match"], "zh")
    predictions = ["温馨", " Humorous ", "文艺！", "traditional"]
    references = ["温馨", "humorous", "文艺!", "literary"]
    assert exact.example_scores(predictions, references) == [1.0, 1.0, 0.0, 0.0]
    assert exact.corpus_score(predictions, references) == 0.5


def test_corpus_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="no examples"):
        by_name()["rouge1"].corpus_from_statistics([])
