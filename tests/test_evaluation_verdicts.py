"""End to end on the demo model: a deliberately overfit run is called overfitting, a
sensible one healthy, and a greetings fine-tune is checked for forgetting on the probe."""

import json

import pytest

from ftcore.data.prepare import prepare_dataset
from ftcore.data.samples import SAMPLE_SETS
from ftcore.data.settings import PrepareSettings
from ftcore.evaluation.pipeline import evaluate
from ftcore.training.config import TrainConfig
from ftcore.training.execute import train
from ftcore.training.runfiles import read_status

pytestmark = pytest.mark.slow

GREETINGS = SAMPLE_SETS["Spring Festival greetings (alpaca, 460 rows)"]
PROBE = SAMPLE_SETS["General-ability probe (alpaca, 80 rows)"]


def greetings_version(tmp_path, rows: int, split: tuple[float, float, float]):
    source = tmp_path / f"greetings-{rows}.jsonl"
    lines = GREETINGS.read_text("utf-8").splitlines()[:rows]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = PrepareSettings(split=split, stratify="style")
    return prepare_dataset([source], tmp_path / f"version-{rows}", settings).path


def train_adapter(tmp_path, data, name, **settings):
    config = TrainConfig(
        data=str(data),
        out=str(tmp_path / name),
        home=str(tmp_path / "home"),
        device="cpu",
        max_length=128,
        batch_size=4,
        save_every=0,
        **settings,
    )
    return train(config).run_dir


def test_overfit_run_is_called_overfitting_and_a_sensible_one_healthy(tmp_path):
    tiny = greetings_version(tmp_path, 24, (0.5, 0.5, 0.0))  # 12 train, 12 val
    overfit = train_adapter(
        tmp_path,
        tiny,
        "overfit",
        max_steps=90,
        learning_rate=1e-2,
        lora_rank=16,
        lora_alpha=32,
        lora_dropout=0.0,
        eval_every=10,
    )
    larger = greetings_version(tmp_path, 240, (0.8, 0.2, 0.0))  # 192 train, 48 val
    sensible = train_adapter(
        tmp_path, larger, "sensible", max_steps=24, learning_rate=1e-3, eval_every=12
    )

    over = evaluate(
        "demo",
        [overfit],
        tiny,
        tmp_path / "eval-overfit",
        limit=12,
        max_new_tokens=24,
        bootstrap=200,
    )
    fine = evaluate(
        "demo",
        [sensible],
        larger,
        tmp_path / "eval-sensible",
        limit=48,
        max_new_tokens=24,
        bootstrap=200,
    )

    over_verdict = over.assessments["overfit"].verdict
    assert over_verdict.label == "overfitting", over_verdict.reasons
    assert over.assessments["overfit"].curve.rose  # val loss turned up during training
    # The run folder publishes best/: the curve is judged at the best step, where val
    # loss had not risen yet, so overfitting stands on the gap beyond the base's own.
    best_step = read_status(overfit).best_step
    assert over.assessments["overfit"].curve.evaluated_step == best_step
    assert over_verdict.signals["val_rose"] is False and over_verdict.signals["nll_gap_above"]
    fine_verdict = fine.assessments["sensible"].verdict
    assert fine_verdict.label == "healthy", fine_verdict.reasons
    record = json.loads((tmp_path / "eval-overfit" / "overfit.json").read_text("utf-8"))
    assert record["overfit"]["verdict"]["settings"]["max_nll_gap"] == 0.2
    assert record["overfit"]["verdict"]["evidence"]["curve"]["evaluated_step"] == best_step


def test_probe_set_measures_forgetting_of_a_greetings_fine_tune(tmp_path):
    data = greetings_version(tmp_path, 120, (0.8, 0.2, 0.0))
    adapter = train_adapter(tmp_path, data, "greetings", epochs=2, learning_rate=2e-3, eval_every=0)
    result = evaluate(
        "demo",
        [adapter],
        data,
        tmp_path / "eval",
        limit=12,
        probe=PROBE,
        max_new_tokens=24,
        bootstrap=200,
    )
    assessment = result.assessments["greetings"]
    probe = result.scores["greetings"]["probe"]["perplexity"]["value"]
    base_probe = result.scores["base"]["probe"]["perplexity"]["value"]
    assert assessment.forgetting is not None
    perplexity_check = next(c for c in assessment.forgetting.checks if c.name == "perplexity")
    assert perplexity_check.relative_change == pytest.approx(probe / base_probe - 1)
    assert [part.part for part in assessment.exam] == [
        "in-domain (train sample)",
        "generalisation",
        "general ability (probe)",
    ]
