"""The evaluation pipeline end to end on the demo model: files, scores, database, CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ftcore.errors import ConfigError, SealedSplitError

ROOT = Path(__file__).resolve().parent.parent
GREETINGS = ROOT / "data/greetings/spring_festival_greetings.jsonl"
PROBE = ROOT / "data/probe/general_probe.jsonl"


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    from ftcore.data.prepare import prepare_dataset

    folder = tmp_path_factory.mktemp("eval-data")
    source = folder / "greetings.jsonl"
    source.write_text("\n".join(GREETINGS.read_text("utf-8").splitlines()[:60]) + "\n", "utf-8")
    return prepare_dataset([source], folder / "version").path


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory, dataset_dir, lora_adapter):
    from ftcore.db import Database
    from ftcore.evaluation.pipeline import evaluate

    out = tmp_path_factory.mktemp("eval") / "first"
    database = Database(out.parent / "ftstudio.db")
    fractions = []
    result = evaluate(
        "demo",
        [lora_adapter],
        dataset_dir,
        out,
        limit=4,
        max_new_tokens=16,
        batch_size=4,
        probe=PROBE,
        bootstrap=50,
        database=database,
        progress=lambda fraction, message: fractions.append(fraction),
    )
    return result, database, fractions


def test_outputs_and_scores_shape(evaluation, dataset_dir):
    result, _, fractions = evaluation
    names = {p.name for p in result.out_dir.iterdir()}
    assert {
        "predictions.jsonl",
        "scores.json",
        "per_example.jsonl",
        "scores.csv",
        "per_example.csv",
        "evaluation.json",
    } <= names
    scores = json.loads((result.out_dir / "scores.json").read_text("utf-8"))
    # Adapters are named by folder, made safe for peft ("-" becomes "_").
    assert set(scores) == {"base", "greetings_lora"}
    assert set(scores["base"]) == {"train", "val", "probe"}
    val = scores["greetings_lora"]["val"]
    assert val["bleu"]["n"] == 4 and "rougeL" in val and "chrf" in val
    ppl = val["perplexity"]
    assert ppl["value"] == pytest.approx(math.exp(ppl["nll_sum"] / ppl["n_tokens"]))
    per_char = val["perplexity_per_char"]
    assert per_char["value"] == pytest.approx(math.exp(ppl["nll_sum"] / per_char["n_chars"]))
    # The adapter was trained on greetings: its perplexity on them is below the base's.
    assert ppl["value"] < scores["base"]["val"]["perplexity"]["value"]
    settings = json.loads((result.out_dir / "evaluation.json").read_text("utf-8"))
    manifest = json.loads((Path(dataset_dir) / "manifest.json").read_text("utf-8"))
    assert settings["dataset_hash"] == manifest["content_hash"]
    assert settings["decoding"]["max_new_tokens"] == 16 and settings["limit"] == 4
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_train_sample_is_as_large_as_val_and_rows_pair_up(evaluation, dataset_dir):
    from ftcore.data.versions import load_split
    from ftcore.evaluation.pipeline import _split_examples, evaluate

    result, _, _ = evaluation
    rows = jsonl(result.out_dir / "predictions.jsonl")
    assert len(rows) == 2 * (4 + 4 + 4)
    train_ids = {record.id for record in load_split(dataset_dir, "train")}
    sampled = {r["id"] for r in rows if r["split"] == "train"}
    assert len(sampled) == 4 and sampled <= train_ids
    # Without a limit the train sample is exactly as large as val, and seeded.
    val_size = len(load_split(dataset_dir, "val"))
    full = [ex.id for ex in _split_examples(Path(dataset_dir), "train", seed=0)]
    assert len(full) == val_size < len(train_ids)
    assert full == [ex.id for ex in _split_examples(Path(dataset_dir), "train", seed=0)]
    assert full != [ex.id for ex in _split_examples(Path(dataset_dir), "train", seed=1)]
    by_model = {m: {(r["split"], r["id"]) for r in rows if r["model"] == m} for m in ("base",)}
    assert by_model["base"] == {(r["split"], r["id"]) for r in rows if r["model"] != "base"}
    with pytest.raises(SealedSplitError):
        load_split(dataset_dir, "test")
    with pytest.raises(ConfigError, match="splits"):
        evaluate("demo", [], dataset_dir, result.out_dir.parent / "x", splits=["dev"])


def test_database_holds_pairs_for_ab_rating(evaluation):
    from ftcore.evaluation.store import list_evaluations, prediction_pairs

    result, database, _ = evaluation
    listed = list_evaluations(database)
    assert [e["id"] for e in listed] == [result.evaluation_id]
    assert listed[0]["scores"]["base"]["val"]["perplexity"]["value"] > 1
    pairs = prediction_pairs(database, result.evaluation_id, "val", "base", "greetings_lora")
    assert len(pairs) == 4
    per_example = jsonl(result.out_dir / "per_example.jsonl")
    expected = {
        r["id"]: r["prediction"]
        for r in per_example
        if r["split"] == "val" and r["model"] == "base"
    }
    assert {p["example_id"]: p["prediction_a"] for p in pairs} == expected


def test_rerun_into_fresh_folder_gives_identical_scores(evaluation, dataset_dir, lora_adapter):
    from ftcore.evaluation.pipeline import evaluate

    result, _, _ = evaluation
    again = evaluate(
        "demo",
        [lora_adapter],
        dataset_dir,
        result.out_dir.parent / "second",
        limit=4,
        max_new_tokens=16,
        batch_size=4,
        probe=PROBE,
        bootstrap=50,
    )
    first = json.loads((result.out_dir / "scores.json").read_text("utf-8"))
    second = json.loads((again.out_dir / "scores.json").read_text("utf-8"))
    assert second == first
    # Another batch size gives the same replies; perplexity moves only by float rounding
    # (padding changes the shapes of the matrix products).
    other = evaluate(
        "demo",
        [lora_adapter],
        dataset_dir,
        result.out_dir.parent / "third",
        splits=["val"],
        limit=4,
        max_new_tokens=16,
        batch_size=3,
        bootstrap=0,
    )
    assert (
        other.scores["greetings_lora"]["val"]["bleu"]["value"]
        == (first["greetings_lora"]["val"]["bleu"]["value"])
    )
    assert other.scores["base"]["val"]["perplexity"]["value"] == pytest.approx(
        first["base"]["val"]["perplexity"]["value"], rel=1e-6
    )


def test_cli_prints_table(dataset_dir, tmp_path, capsys):
    from ftcore.cli import main

    code = main(
        [
            "eval",
            "--base",
            "demo",
            "--data",
            str(dataset_dir),
            "--out",
            str(tmp_path / "cli"),
            "--splits",
            "val",
            "--limit",
            "2",
            "--max-new-tokens",
            "8",
            "--bootstrap",
            "0",
            "--home",
            str(tmp_path / "home"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    header, row = out.splitlines()[:2]
    assert header.split() == ["model", "split", "bleu", "chrf", "rougeL", "perplexity"]
    scores = json.loads((tmp_path / "cli" / "scores.json").read_text("utf-8"))
    assert row.split()[:2] == ["base", "val"]
    assert float(row.split()[5]) == pytest.approx(
        scores["base"]["val"]["perplexity"]["value"], abs=1e-4
    )
    assert "registered as evaluation 1" in out


def test_cli_reports_a_missing_dataset_cleanly(dataset_dir, tmp_path, capsys):
    from ftcore.cli import main

    code = main(["eval", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert code == 1
    assert "error" in capsys.readouterr().err


def test_cli_prints_the_verdict_of_each_adapter(dataset_dir, tmp_path, capsys, lora_adapter):
    from ftcore.cli import main

    code = main(
        [
            "eval",
            "--adapter",
            str(lora_adapter),
            "--data",
            str(dataset_dir),
            "--out",
            str(tmp_path / "cli"),
            "--limit",
            "4",
            "--max-new-tokens",
            "8",
            "--bootstrap",
            "50",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    verdicts = json.loads((tmp_path / "cli" / "overfit.json").read_text("utf-8"))
    label = verdicts["greetings_lora"]["verdict"]["label"]
    assert label == "inconclusive"  # 4 examples a split are too few to call it
    assert f"greetings_lora: {label}" in out
    assert "exam, generalisation: " in out


def test_resuming_into_a_folder_made_with_other_decoding_is_refused(dataset_dir, tmp_path):
    from ftcore.errors import ConfigError
    from ftcore.evaluation.pipeline import evaluate

    out = tmp_path / "eval"
    evaluate("demo", [], dataset_dir, out, splits=["val"], limit=2, max_new_tokens=8, bootstrap=0)
    with pytest.raises(ConfigError, match="made with decoding=.*'max_new_tokens': 8"):
        evaluate(
            "demo", [], dataset_dir, out, splits=["val"], limit=2, max_new_tokens=16, bootstrap=0
        )
    # The same settings resume (nothing left to generate) and give the same scores.
    first = json.loads((out / "scores.json").read_text("utf-8"))
    evaluate("demo", [], dataset_dir, out, splits=["val"], limit=2, max_new_tokens=8, bootstrap=0)
    assert json.loads((out / "scores.json").read_text("utf-8")) == first
