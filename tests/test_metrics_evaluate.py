"""`evaluate:` metrics: a local module loaded with no network, values against a hand
computation, a bootstrap recomputed by the module on the same resamples as everything else,
a cached Hub module found without a download, and clear errors otherwise."""

import hashlib
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from ftcore.errors import ConfigError
from ftcore.metrics.comparisons import compare_to_baseline
from ftcore.metrics.evaluate_modules import load_evaluate_metric
from ftcore.metrics.scoring import score_predictions
from ftcore.stats.bootstrap import percentile_interval, resample_indices

MODULE = Path(__file__).parent / "fixtures" / "evaluate_metrics" / "word_overlap"
SPEC = f"evaluate:{MODULE}"
ROWS = [
    {"id": 1, "split": "test", "prediction": "happy new year", "reference": "happy new year"},
    {"id": 2, "split": "test", "prediction": "good luck", "reference": "best of luck"},
    {"id": 3, "split": "test", "prediction": "joy", "reference": "health and joy"},
    {"id": 4, "split": "train", "prediction": "a b", "reference": "a b c d"},
    {"id": 5, "split": "train", "prediction": "c", "reference": "c d"},
]


def hand_word_overlap(rows):
    """Share of pooled reference words found in their prediction, and the length ratio."""
    found = sum(
        sum(word in set(r["prediction"].split()) for word in r["reference"].split()) for r in rows
    )
    total = sum(len(r["reference"].split()) for r in rows)
    return found / total, sum(len(r["prediction"].split()) for r in rows) / total


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_local_module_scores_each_split_as_computed_by_hand(no_network):
    report = score_predictions(ROWS, [SPEC], bootstrap=30, seed=3)
    assert report.metrics == ["evaluate:word_overlap", "evaluate:word_overlap/length_ratio"]
    for split in ("test", "train"):
        scores = report.scores["predictions"][split]
        overlap, ratio = hand_word_overlap([r for r in ROWS if r["split"] == split])
        assert scores["evaluate:word_overlap"].value == pytest.approx(overlap, abs=1e-12)
        assert scores["evaluate:word_overlap/length_ratio"].value == pytest.approx(ratio)
    test = report.scores["predictions"]["test"]["evaluate:word_overlap"]
    assert test.value == pytest.approx(5 / 9)  # 3 + 1 + 1 of 3 + 3 + 3 reference words
    assert test.higher_is_better is None and test.n == 3
    assert test.warning.startswith("only 3 examples")  # "label", a string, is not a score


def test_the_bootstrap_recomputes_the_module_on_the_shared_resamples(no_network):
    test_rows = [r for r in ROWS if r["split"] == "test"]
    report = score_predictions(test_rows, [SPEC], bootstrap=25, seed=8)
    score = report.scores["predictions"]["test"]["evaluate:word_overlap"]
    (indices,) = list(resample_indices(3, 25, seed=8))
    samples = [hand_word_overlap([test_rows[i] for i in draw])[0] for draw in indices]
    assert (score.ci_low, score.ci_high) == pytest.approx(tuple(percentile_interval(samples)))
    assert score.ci_signature == "bootstrap:percentile-recompute|conf:0.95|resamples:25|seed:8"


def test_signature_names_the_module_its_script_and_evaluate_version(no_network):
    import evaluate

    metric = load_evaluate_metric(SPEC)
    digest = hashlib.sha256((MODULE / "word_overlap.py").read_bytes()).hexdigest()[:16]
    assert metric.signature == (
        f"evaluate-module:word_overlap|script-sha256:{digest}|evaluate:{evaluate.__version__}"
    )
    assert load_evaluate_metric(f"evaluate:{MODULE / 'word_overlap.py'}").label == "word_overlap"


def test_a_cached_hub_module_is_used_without_a_download(no_network, monkeypatch, tmp_path):
    from evaluate import config

    cached = tmp_path / config.MODULE_NAME_FOR_DYNAMIC_MODULES / "metrics"
    folder = cached / "evaluate-metric--word_overlap" / ("0" * 64)
    folder.mkdir(parents=True)
    shutil.copy(MODULE / "word_overlap.py", folder / "word_overlap.py")
    monkeypatch.setattr(config, "HF_MODULES_CACHE", tmp_path)
    metric = load_evaluate_metric("evaluate:word_overlap")
    assert metric.compute(["a b"], ["a c"]) == {
        "evaluate:word_overlap": 0.5,
        "evaluate:word_overlap/length_ratio": 1.0,
    }


def test_a_module_that_is_neither_local_nor_cached_is_a_clear_error(
    no_network, monkeypatch, tmp_path
):
    from evaluate import config

    monkeypatch.setattr(config, "HF_MODULES_CACHE", tmp_path)
    with pytest.raises(ConfigError, match="never downloads metric code \\(HF_HUB_OFFLINE=1\\)"):
        score_predictions(ROWS, ["evaluate:rouge"])
    with pytest.raises(ConfigError, match="an existing module script or folder"):
        load_evaluate_metric("evaluate:./no/such/module")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="a folder holding empty.py"):
        load_evaluate_metric(f"evaluate:{tmp_path / 'empty'}")


def test_comparisons_of_an_evaluate_metric_are_paired(no_network):
    rows = [{**r, "model": "base"} for r in ROWS[:3]]
    rows += [{**r, "model": "lora", "prediction": r["reference"]} for r in ROWS[:3]]
    (overlap, ratio) = compare_to_baseline(rows, metrics=[SPEC], bootstrap=20, seed=1)
    assert overlap.metric == "evaluate:word_overlap" and overlap.n == 3
    assert overlap.delta == pytest.approx(1 - 5 / 9)
    # Same resamples for both sides: recompute the difference by hand on each.
    (indices,) = list(resample_indices(3, 20, seed=1))
    base_rows, tuned_rows = rows[:3], rows[3:]
    differences = [
        hand_word_overlap([tuned_rows[i] for i in draw])[0]
        - hand_word_overlap([base_rows[i] for i in draw])[0]
        for draw in indices
    ]
    assert (overlap.ci_low, overlap.ci_high) == pytest.approx(
        tuple(percentile_interval(differences))
    )
    assert np.all(np.asarray(differences) >= 0)  # the fine-tune never does worse here
