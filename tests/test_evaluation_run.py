"""The evaluation pipeline end to end on the demo model: files, scores, database, CLI."""

from __future__ import annotations

import json
import math
from collections import Counter
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
    assert set(scores) == {"base", "greetings-lora"}
    assert set(scores["base"]) == {"train", "val", "probe"}
    val = scores["greetings-lora"]["val"]
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
    from ftcore.evaluation.pipeline import evaluate
    from ftcore.evaluation.selection import split_examples

    result, _, _ = evaluation
    rows = jsonl(result.out_dir / "predictions.jsonl")
    assert len(rows) == 2 * (4 + 4 + 4)
    train_ids = {record.id for record in load_split(dataset_dir, "train")}
    sampled = {r["id"] for r in rows if r["split"] == "train"}
    assert len(sampled) == 4 and sampled <= train_ids
    # Without a limit the train sample is exactly as large as val, and seeded.
    val_size = len(load_split(dataset_dir, "val"))
    full = [ex.id for ex in split_examples(dataset_dir, "train", limit=None, seed=0)]
    assert len(full) == val_size < len(train_ids)
    assert full == [ex.id for ex in split_examples(dataset_dir, "train", limit=None, seed=0)]
    assert full != [ex.id for ex in split_examples(dataset_dir, "train", limit=None, seed=1)]
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
    pairs = prediction_pairs(database, result.evaluation_id, "val", "base", "greetings-lora")
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
        other.scores["greetings-lora"]["val"]["bleu"]["value"]
        == (first["greetings-lora"]["val"]["bleu"]["value"])
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
            "--verdict-max-nll-gap",
            "0.35",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    verdicts = json.loads((tmp_path / "cli" / "overfit.json").read_text("utf-8"))
    # A threshold given on the command line is the one the verdict used and records.
    assert verdicts["greetings-lora"]["verdict"]["settings"]["max_nll_gap"] == 0.35
    label = verdicts["greetings-lora"]["verdict"]["label"]
    assert label == "inconclusive"  # 4 examples a split are too few to call it
    assert f"greetings-lora: {label}" in out
    assert "\n  - generalisation: " in out  # an exam line, under the exam's heading


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


@pytest.fixture(autouse=True)
def default_workspace(tmp_path, monkeypatch):
    """`ftcore eval` registers in the default workspace: keep it out of the repository."""
    monkeypatch.setenv("FTSTUDIO_HOME", str(tmp_path / "default-home"))


@pytest.fixture(scope="module")
def styled_greetings(tmp_path_factory):
    """All 460 greetings, split with stratify="style" (the manifest records it); the val
    split is stored in blocks of one style, so its first rows are one or two styles."""
    from ftcore.data.prepare import prepare_dataset
    from ftcore.data.settings import PrepareSettings

    out = tmp_path_factory.mktemp("styled") / "greetings"
    return prepare_dataset([GREETINGS], out, PrepareSettings(stratify="style")).path


def styles(dataset_dir: Path, split: str, ids) -> list[str]:
    from ftcore.data.versions import load_split

    by_id = {r.id: r.labels["style"] for r in load_split(dataset_dir, split)}
    return [by_id[i] for i in ids]


def same_name_adapters(tmp_path, first, second) -> tuple[Path, Path]:
    """Two different adapters in folders that share a name: ws/run1 and ws/b/run1."""
    import shutil

    a, b = tmp_path / "ws" / "run1", tmp_path / "ws" / "b" / "run1"
    shutil.copytree(first, a)
    shutil.copytree(second, b)
    return a, b


def test_resuming_with_another_adapter_of_the_same_folder_name_is_refused(
    dataset_dir, tmp_path, capsys, lora_adapter, other_lora_adapter
):
    """Audit finding 1: run B's perplexity beside run A's BLEU under one name."""
    from ftcore.cli import main
    from ftcore.data.readers import file_sha256

    a, b = same_name_adapters(tmp_path, lora_adapter, other_lora_adapter)
    out = tmp_path / "E"
    common = ["eval", "--data", str(dataset_dir), "--out", str(out), "--splits", "val"]
    common += ["--limit", "2", "--max-new-tokens", "4", "--bootstrap", "0"]
    assert main([*common, "--adapter", str(a)]) == 0
    capsys.readouterr()
    first = (out / "scores.json").read_text("utf-8")

    assert main([*common, "--adapter", str(b)]) == 1
    error = capsys.readouterr().err
    hash_a = file_sha256(a / "adapter_model.safetensors")
    hash_b = file_sha256(b / "adapter_model.safetensors")
    assert hash_a != hash_b
    assert "made with adapters=" in error and "would be reused for adapters=" in error
    assert str(a.resolve()) in error and str(b.resolve()) in error and hash_b in error
    assert (out / "scores.json").read_text("utf-8") == first  # nothing was mixed in
    settings = json.loads((out / "evaluation.json").read_text("utf-8"))
    assert settings["adapters"]["run1"]["folder"] == str(a.resolve())
    assert settings["adapters"]["run1"]["weights_sha256"] == hash_a
    rows = jsonl(out / "predictions.jsonl")
    assert {r["adapter_sha256"] for r in rows if r["model"] == "run1"} == {hash_a}
    assert {r["adapter_sha256"] for r in rows if r["model"] == "base"} == {None}


def test_resuming_with_a_changed_probe_file_is_refused(dataset_dir, tmp_path):
    from ftcore.evaluation.pipeline import evaluate

    probe = tmp_path / "probe.jsonl"
    probe.write_text("\n".join(PROBE.read_text("utf-8").splitlines()[:3]) + "\n", "utf-8")
    settings = {"splits": ["val"], "limit": 2, "max_new_tokens": 4, "bootstrap": 0}
    evaluate("demo", [], dataset_dir, tmp_path / "E", probe=probe, **settings)
    probe.write_text("\n".join(PROBE.read_text("utf-8").splitlines()[3:6]) + "\n", "utf-8")
    with pytest.raises(ConfigError, match="made with probe_sha256="):
        evaluate("demo", [], dataset_dir, tmp_path / "E", probe=probe, **settings)


def test_limit_takes_a_stratified_seeded_sample_of_every_split(styled_greetings, tmp_path):
    """Audit finding 4: `--limit 12` on the greetings' val split covers every style (the
    first 12 rows hold two styles), and train and probe are sampled the same way."""
    from ftcore.cli import main
    from ftcore.data.versions import load_split

    val = load_split(styled_greetings, "val")
    assert len({r.labels["style"] for r in val[:12]}) < 4  # what the first N rows gave
    code = main(
        ["eval", "--data", str(styled_greetings), "--out", str(tmp_path / "E")]
        + ["--splits", "train,val", "--limit", "12", "--probe", str(PROBE)]
        + ["--max-new-tokens", "2", "--bootstrap", "0", "--no-register"]
    )
    assert code == 0
    rows = jsonl(tmp_path / "E" / "per_example.jsonl")  # in example order
    ids = {split: [r["id"] for r in rows if r["split"] == split] for split in ("train", "val")}
    for split in ("train", "val"):
        counts = Counter(styles(styled_greetings, split, ids[split]))
        assert counts == dict.fromkeys(("warm", "humorous", "literary", "traditional"), 3)
    categories = {row["id"]: row["category"] for row in jsonl(PROBE)}
    probe = [categories[r["id"]] for r in rows if r["split"] == "probe"]
    assert len(probe) == 12 and len(set(probe)) == 8  # every category of the probe set
    # Kept in file order.
    order = [r.id for r in val]
    assert ids["val"] == sorted(ids["val"], key=order.index)
    settings = json.loads((tmp_path / "E" / "evaluation.json").read_text("utf-8"))
    assert settings["examples"] == {"train": 12, "val": 12, "probe": 12}


def test_sample_is_seeded_and_keeps_label_shares():
    from ftcore.evaluation.selection import stratified_sample

    items = list(range(40))
    labels = ["a"] * 20 + ["b"] * 10 + ["c"] * 10
    sample = stratified_sample(items, labels, 8, seed=3)
    assert sample == stratified_sample(items, labels, 8, seed=3) == sorted(sample)
    assert sample != stratified_sample(items, labels, 8, seed=4)
    assert [labels[i] for i in sample].count("a") == 4
    assert [labels[i] for i in sample].count("b") == [labels[i] for i in sample].count("c") == 2
    assert stratified_sample(items, labels, None, seed=3) == items
    assert stratified_sample(items, labels, 99, seed=3) == items


def test_the_cli_and_the_evaluate_tab_share_the_library_defaults(tmp_path):
    import inspect
    from types import SimpleNamespace

    import gradio as gr

    from ftcore.cli import build_parser
    from ftcore.db import Database
    from ftcore.evaluation.options import DEFAULTS
    from ftcore.evaluation.pipeline import evaluate
    from ftcore.ui.eval_tab import build_eval_tab
    from ftcore.workspace import Workspace

    args = build_parser().parse_args(["eval", "--data", "d"])
    assert (args.limit, args.max_new_tokens, args.batch_size) == (
        DEFAULTS.limit,
        DEFAULTS.max_new_tokens,
        DEFAULTS.batch_size,
    )
    assert (args.seed, args.bootstrap, args.max_length) == (
        DEFAULTS.seed,
        DEFAULTS.bootstrap,
        DEFAULTS.max_length,
    )
    assert args.splits.split(",") == list(DEFAULTS.splits)
    defaults = inspect.signature(evaluate).parameters
    for name in ("limit", "max_new_tokens", "batch_size", "seed", "bootstrap", "max_length"):
        assert defaults[name].default == getattr(DEFAULTS, name)
    workspace = Workspace.open(tmp_path / "home")
    context = SimpleNamespace(workspace=workspace, db=Database.for_workspace(workspace))
    with gr.Blocks() as app:
        build_eval_tab(context)
    values = {
        block.label: block.value
        for block in app.blocks.values()
        if isinstance(block, gr.Number | gr.CheckboxGroup)
    }
    assert values["Examples per split (0: all)"] == DEFAULTS.limit
    assert values["Max new tokens"] == DEFAULTS.max_new_tokens
    assert values["Batch size"] == DEFAULTS.batch_size
    assert values["Splits"] == list(DEFAULTS.splits)
    context.db.close()


def fake_run(tmp_path, adapter, *, max_length: int, best_step: int, last_step: int) -> Path:
    """An ftstudio run folder around a real adapter: config.yaml, status.json, a progress
    log whose val loss rises after the best step, and best/ holding the weights."""
    import shutil

    from ftcore.training.config import TrainConfig, save_config
    from ftcore.training.runfiles import ProgressLog, RunPaths, RunStatus, write_status

    paths = RunPaths(tmp_path / "runs" / "greetings-run")
    shutil.copytree(adapter, paths.best)
    save_config(TrainConfig(max_length=max_length), paths.config)
    write_status(
        paths.root,
        RunStatus(str(paths.root), "completed", step=last_step, best_step=best_step),
    )
    log = ProgressLog(paths.progress)
    for step, loss in ((10, 3.0), (20, 2.5), (best_step, 2.2), (last_step, 2.9)):
        log.write("train", step=step, train_loss=loss - 0.2)
        log.write("val", step=step, val_loss=loss)
    return paths.root


def test_evaluation_cuts_at_the_runs_max_length_and_judges_the_evaluated_step(
    dataset_dir, tmp_path, lora_adapter, demo_chat_model, caplog
):
    """Audit finding 7: validation cut at the run's max_length, evaluation did not
    (2,202 vs 1,626 at 64 tokens); past the model's context nothing was said."""
    from ftcore.data.readers import file_sha256
    from ftcore.data.versions import load_split
    from ftcore.evaluation.pipeline import evaluate
    from ftcore.nll import example_nlls, mean_nll
    from ftcore.training.batches import encode_split

    run = fake_run(tmp_path, lora_adapter, max_length=64, best_step=30, last_step=40)
    config = demo_chat_model.loaded.model.config
    original, config.max_position_embeddings = config.max_position_embeddings, 100
    try:
        result = evaluate(
            "demo", [run / "best"], dataset_dir, tmp_path / "E", limit=6,
            max_new_tokens=4, bootstrap=20, chat_model=demo_chat_model,
        )  # fmt: skip
    finally:
        config.max_position_embeddings = original
    settings = json.loads((tmp_path / "E" / "evaluation.json").read_text("utf-8"))
    assert settings["max_length"] == 64
    assert settings["adapters"]["best"] == {
        "folder": str((run / "best").resolve()),
        "weights_sha256": file_sha256(run / "best" / "adapter_model.safetensors"),
        "run_dir": str(run.resolve()),
        "weights_step": 30,
        "run_best_step": 30,
        "run_last_step": 40,
        "max_length": 64,
    }
    # The val rise at step 40 came after the weights of best/ (step 30) were taken.
    assert result.assessments["best"].curve.evaluated_step == 30

    # The base model's val perplexity is the validation loss a run would log at 64 tokens.
    ids = {e["id"] for e in result.examples if e["split"] == "val"}
    records = [r for r in load_split(dataset_dir, "val") if r.id in ids]
    validation = encode_split(demo_chat_model.tokenizer, records, max_length=64, what="val")
    with demo_chat_model.using(None) as model:
        pairs = example_nlls(model, validation.rows, pad_id=demo_chat_model.tokenizer.pad_token_id)
    val = result.scores["base"]["val"]
    assert val["perplexity_all_turns"]["value"] == pytest.approx(
        math.exp(mean_nll(pairs)), rel=1e-5
    )
    assert val["perplexity"]["n_truncated"] == validation.n_truncated > 0
    assert "max_length:64" in val["perplexity"]["signature"]
    checks = settings["length_checks"]
    assert checks["truncated"]["val"] == validation.n_truncated
    assert checks["context_length"] == 100 and checks["past_context"]["val"] > 0
    assert "longer than the model's context of 100 tokens" in caplog.text


def test_multi_turn_perplexity_scores_the_turn_the_generation_metrics_score(
    tmp_path, demo_chat_model
):
    """Audit finding 8: perplexity scored every assistant turn, BLEU and co. the last."""
    from ftcore.data.prepare import prepare_dataset
    from ftcore.data.settings import PrepareSettings
    from ftcore.evaluation.pipeline import evaluate

    chats = ROOT / "data/multiturn/greeting_chats.sharegpt.json"
    version = prepare_dataset([chats], tmp_path / "chats", PrepareSettings(split=(0.5, 0.5, 0)))
    result = evaluate(
        "demo", [], version.path, tmp_path / "E", splits=["val"], limit=4,
        max_new_tokens=4, bootstrap=0, chat_model=demo_chat_model,
    )  # fmt: skip
    val = result.scores["base"]["val"]
    tokenizer = demo_chat_model.tokenizer
    references = [e["reference"] for e in result.examples]
    last_reply_targets = sum(
        len(tokenizer(text, add_special_tokens=False)["input_ids"]) + 1 for text in references
    )
    assert val["perplexity"]["n_tokens"] == last_reply_targets
    assert val["perplexity_per_char"]["n_chars"] == sum(len(text) for text in references)
    assert val["perplexity_all_turns"]["n_tokens"] > last_reply_targets
    assert val["perplexity_all_turns"]["value"] != val["perplexity"]["value"]
    assert val["bleu"]["n"] == 4


def test_comparisons_pair_each_adapter_with_the_base(evaluation):
    result, _, _ = evaluation
    rows = json.loads((result.out_dir / "comparisons.json").read_text("utf-8"))
    assert {(r["baseline"], r["model"]) for r in rows} == {("base", "greetings-lora")}
    assert {r["split"] for r in rows} == {"train", "val", "probe"}
    fields = {"baseline", "model", "split", "metric", "delta", "ci_low", "ci_high", "n"}
    assert all(set(row) == fields | {"p_value", "method"} for row in rows)
    scores = result.scores
    for row in rows:
        if row["metric"] in ("bleu", "chrf", "rougeL", "exact_match"):
            tuned = scores["greetings-lora"][row["split"]][row["metric"]]["value"]
            base = scores["base"][row["split"]][row["metric"]]["value"]
            assert row["delta"] == pytest.approx(tuned - base)
            assert row["n"] == 4
            assert "seed:0" in row["method"] or "mcnemar" in row["method"]


def test_cli_writes_into_a_new_workspace_folder_and_registers_it(dataset_dir, tmp_path, capsys):
    from ftcore.cli import main

    home = tmp_path / "home"
    code = main(
        ["eval", "--data", str(dataset_dir), "--home", str(home), "--splits", "val"]
        + ["--limit", "3", "--max-new-tokens", "4", "--bootstrap", "20", "--seed", "7"]
    )
    assert code == 0
    [folder] = (home / "evals").iterdir()
    assert (folder / "scores.json").is_file()
    out = capsys.readouterr().out
    assert f"written to {folder}" in out and "registered as evaluation 1" in out
    settings = json.loads((folder / "evaluation.json").read_text("utf-8"))
    assert settings["seed"] == 7
    scores = json.loads((folder / "scores.json").read_text("utf-8"))
    assert "seed:7" in scores["base"]["val"]["chrf"]["ci_signature"]
