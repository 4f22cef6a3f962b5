"""Training runs on the demo model, in this process: LoRA, QLoRA, full, resume, early stop."""

import json
import math

import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file
from test_training_data import write_dataset

from ftcore.chat_format import encode_for_generation
from ftcore.data.versions import load_manifest
from ftcore.db import Database
from ftcore.errors import ConfigError, DataError, DatasetNotFoundError
from ftcore.nll import example_nlls, mean_nll
from ftcore.runtime.models import load_model
from ftcore.training.batches import encode_split, load_dataset_folder
from ftcore.training.config import TrainConfig, load_config
from ftcore.training.execute import train
from ftcore.training.jobs import train_in_foreground
from ftcore.training.run_table import run_record
from ftcore.training.runfiles import read_progress, read_status
from ftcore.workspace import Workspace

PROMPT = [{"role": "user", "content": "帮我给外婆写一条春节祝福，温馨一点。\n外婆今年八十岁"}]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "greetings-v1", 48, 16, n_chats=8)


def small_config(dataset, out, **changes) -> TrainConfig:
    settings = dict(
        data=str(dataset),
        out=str(out),
        home=str(out.parent / "home"),
        device="cpu",
        max_length=128,
        batch_size=8,
        learning_rate=2e-3,
        eval_every=6,
        save_every=6,
    )
    return TrainConfig(**{**settings, **changes})


def workspace_db(config: TrainConfig) -> Database:
    return Database.for_workspace(Workspace.open(config.home))


@pytest.fixture(scope="module")
def lora_run(dataset, tmp_path_factory):
    """A run trained in this process and recorded in its workspace, as `ftcore train` does."""
    config = small_config(dataset, tmp_path_factory.mktemp("runs") / "lora")
    database = workspace_db(config)
    yield config, train_in_foreground(database, config)
    database.close()


def split_rows(tokenizer, dataset, split, max_length=128):
    records = getattr(load_dataset_folder(dataset), split)
    return encode_split(tokenizer, records, max_length, split).rows


def nll_of(model, tokenizer, rows):
    return mean_nll(example_nlls(model, rows, pad_id=tokenizer.pad_token_id))


def test_lora_training_lowers_train_and_val_loss(lora_run, dataset):
    config, result = lora_run
    assert (result.state, result.steps, result.total_steps) == ("completed", 18, 18)
    progress = read_progress(result.run_dir)
    vals = [row for row in progress if row["kind"] == "val"]
    assert [v["step"] for v in vals] == [0, 6, 12, 18]
    assert vals[0]["baseline"] and result.best_val_loss < vals[0]["val_loss"]
    train_losses = [row["train_loss"] for row in progress if row["kind"] == "train"]
    assert sum(train_losses[-6:]) / 6 < sum(train_losses[:6]) / 6
    # The same check, measured independently of the loop's own numbers.
    base = load_model("demo", device="cpu")
    rows = split_rows(base.tokenizer, dataset, "train")
    before = nll_of(base.model, base.tokenizer, rows)
    tuned = PeftModel.from_pretrained(base.model, str(result.run_dir))
    assert nll_of(tuned, base.tokenizer, rows) < before - 0.05


def test_val_loss_is_the_nll_that_evaluation_computes(lora_run, dataset):
    _, result = lora_run
    base = load_model("demo", device="cpu")
    best = PeftModel.from_pretrained(base.model, str(result.run_dir / "best"))
    val = nll_of(best, base.tokenizer, split_rows(base.tokenizer, dataset, "val"))
    assert val == pytest.approx(result.best_val_loss, abs=1e-5)


def test_adapter_reloads_with_plain_peft_and_changes_greedy_output(lora_run):
    _, result = lora_run
    base = load_model("demo", device="cpu")
    ids = torch.tensor([encode_for_generation(base.tokenizer, PROMPT)])

    def greedy(model):
        with torch.no_grad():
            out = model.generate(
                ids, max_new_tokens=24, do_sample=False, pad_token_id=base.tokenizer.pad_token_id
            )
        return out[0, ids.shape[1] :].tolist()

    before = greedy(base.model)
    assert greedy(PeftModel.from_pretrained(base.model, str(result.run_dir))) != before


def test_run_folder_holds_everything_to_reproduce_and_load(lora_run):
    config, result = lora_run
    run = result.run_dir
    saved = load_config(run / "config.yaml")
    assert (saved.data, saved.out, saved.name) == (config.data, str(run), "lora")
    assert saved.replace(out=config.out, home=config.home, name="") == config
    for folder in (run, run / "best", run / "last"):
        assert (folder / "adapter_config.json").is_file()
        assert (folder / "adapter_model.safetensors").is_file()
    best, top = (load_file(f / "adapter_model.safetensors") for f in (run / "best", run))
    assert all(torch.equal(best[k], top[k]) for k in best)
    assert not (run / "checkpoints").exists()  # a finished run keeps no optimizer state
    status = read_status(run)
    assert (status.state, status.step, status.pid) == ("completed", 18, None)
    assert status.best_val_loss == result.best_val_loss
    database = workspace_db(config)
    record = run_record(database, run)
    database.close()
    assert (record.state, record.steps, record.method) == ("completed", 18, "lora")
    assert record.best_val_loss == pytest.approx(result.best_val_loss)
    assert json.loads(record.config_json)["lora_rank"] == 8
    assert record.dataset_hash == status.dataset_hash == load_manifest(config.data)["content_hash"]


def test_progress_rows_carry_the_curves(lora_run):
    _, result = lora_run
    rows = read_progress(result.run_dir)
    train_rows = [row for row in rows if row["kind"] == "train"]
    assert [row["step"] for row in train_rows] == list(range(1, 19))
    for row in train_rows:
        assert math.isfinite(row["train_loss"]) and row["grad_norm"] > 0
        assert row["tokens_per_s"] > 0 and row["memory_gb"] > 0 and row["eta_s"] >= 0
    assert train_rows[-1]["epoch"] == 3.0 and train_rows[-1]["eta_s"] == 0
    # warmup (1 step of 18) then cosine decay from the peak
    lrs = [row["lr"] for row in train_rows]
    assert lrs[0] == pytest.approx(2e-3)
    assert lrs[9] == pytest.approx(2e-3 * 0.5 * (1 + math.cos(math.pi * 8 / 17)))  # step 9
    data = next(row for row in rows if row.get("event") == "data")
    assert (data["train_rows"], data["val_rows"]) == (48, 16)
    assert data["truncated"] > 0  # the multi-turn chats exceed 128 tokens


def test_qlora_trains_on_cpu_with_4bit_layers(dataset, tmp_path):
    import bitsandbytes as bnb

    from ftcore.training.modeling import load_for_training

    config = small_config(dataset, tmp_path / "qlora", method="qlora", max_steps=3, eval_every=3)
    model, _ = load_for_training(config, torch.device("cpu"), "fp32")
    assert sum(isinstance(m, bnb.nn.Linear4bit) for m in model.modules()) == 4 * 7
    result = train(config)
    rows = read_progress(result.run_dir)
    losses = [row["train_loss"] for row in rows if row["kind"] == "train"]
    assert result.steps == 3 and all(math.isfinite(x) for x in losses)
    assert (result.run_dir / "adapter_model.safetensors").is_file()


def test_full_fine_tuning_saves_a_standalone_model(dataset, tmp_path):
    from transformers import AutoModelForCausalLM

    from ftcore.training.weights import export_merged

    config = small_config(
        dataset, tmp_path / "full", method="full", max_steps=3, learning_rate=1e-4, eval_every=3
    )
    result = train(config)
    assert result.state == "completed" and result.steps == 3
    tuned = AutoModelForCausalLM.from_pretrained(result.run_dir / "last")
    base = load_model("demo", device="cpu").model
    changed = [
        name for name, p in tuned.named_parameters() if not torch.equal(p, base.get_parameter(name))
    ]
    assert len(changed) == len(list(base.parameters()))  # every weight was trained
    exported = export_merged(result.run_dir, tmp_path / "export")
    assert (exported / "model.safetensors").is_file() and (exported / "tokenizer.json").is_file()


def test_stop_then_resume_equals_an_uninterrupted_run(dataset, tmp_path):
    steps = dict(max_steps=8, save_every=3, eval_every=4, lora_dropout=0.1)
    straight = train(small_config(dataset, tmp_path / "straight", **steps))
    config = small_config(dataset, tmp_path / "stopped", **steps)
    stopped = train(config, should_stop=lambda done: done == 5)
    assert (stopped.state, stopped.steps) == ("stopped", 5)
    assert (tmp_path / "stopped/checkpoints/step-000005").is_dir()
    assert read_status(tmp_path / "stopped").state == "stopped"
    resumed = train(config, resume=True)
    assert (resumed.state, resumed.steps) == ("completed", straight.steps) == ("completed", 8)
    a = load_file(straight.run_dir / "last/adapter_model.safetensors")
    b = load_file(resumed.run_dir / "last/adapter_model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert resumed.best_val_loss == pytest.approx(straight.best_val_loss, abs=1e-6)
    assert read_status(resumed.run_dir).best_val_loss == resumed.best_val_loss
    steps_logged = [r["step"] for r in read_progress(resumed.run_dir) if r["kind"] == "train"]
    assert steps_logged == list(range(1, 9))
    assert not (tmp_path / "home").exists()  # train() writes run folders, never a database


def test_resume_refuses_a_dataset_version_changed_since_the_run_began(tmp_path):
    from test_training_data import seal_version

    data = write_dataset(tmp_path / "data", n_train=8, n_val=4)
    config = small_config(data, tmp_path / "run", batch_size=4, max_steps=4, eval_every=0)
    assert train(config, should_stop=lambda done: done == 1).state == "stopped"
    began_with = read_status(config.out).dataset_hash
    lines = (data / "train.jsonl").read_text("utf-8").splitlines(keepends=True)
    (data / "train.jsonl").write_text("".join(lines[:-1]), "utf-8")
    with pytest.raises(DataError, match="was changed after the version was prepared"):
        train(config, resume=True)  # edited in place: the manifest's sha256 catches it
    now = seal_version(data)["content_hash"]  # re-prepared in the same folder
    with pytest.raises(
        ConfigError, match=f"began with \\(content hash {began_with[:12]}, now {now[:12]}"
    ):
        train(config, resume=True)
    assert read_status(config.out).state == "stopped"  # refused before it began


def test_gradient_accumulation_gives_the_same_update(dataset, tmp_path):
    same = dict(max_steps=2, lora_dropout=0.0, eval_every=0, save_every=0)
    whole = train(small_config(dataset, tmp_path / "whole", batch_size=8, **same))
    accumulated = train(
        small_config(dataset, tmp_path / "accum", batch_size=4, grad_accum=2, **same)
    )
    a = load_file(whole.run_dir / "last/adapter_model.safetensors")
    b = load_file(accumulated.run_dir / "last/adapter_model.safetensors")
    # Summation order differs, and Adam divides by sqrt(v): where a gradient is nearly 0
    # (lora_A before lora_B has moved) rounding noise shows at ~1e-5 of a 2e-3 step.
    assert all(torch.allclose(a[k], b[k], atol=5e-5) for k in a)
    losses = [
        [r["train_loss"] for r in read_progress(run.run_dir) if r["kind"] == "train"]
        for run in (whole, accumulated)
    ]
    assert losses[0] == pytest.approx(losses[1], abs=1e-5)


def test_early_stopping_fires_when_val_loss_turns_up(tmp_path):
    tiny = write_dataset(tmp_path / "tiny", n_train=8, n_val=16)
    config = small_config(
        tiny,
        tmp_path / "overfit",
        batch_size=4,
        epochs=40,
        learning_rate=6e-3,
        lora_rank=16,
        lora_alpha=32,
        lora_dropout=0.0,
        lr_scheduler="constant",
        warmup_ratio=0.0,
        eval_every=2,
        early_stopping_patience=1,
        save_every=0,
    )
    result = train(config)
    assert result.state == "early_stopped" and result.steps < result.total_steps == 80
    vals = [row for row in read_progress(result.run_dir) if row["kind"] == "val"]
    assert vals[-1]["val_loss"] >= result.best_val_loss == min(v["val_loss"] for v in vals[1:])
    assert result.best_step == vals[-2]["step"] < result.steps  # patience 1
    assert read_status(result.run_dir).state == "early_stopped"


def test_unknown_target_module_is_a_named_error_and_the_run_is_marked_failed(dataset, tmp_path):
    config = small_config(dataset, tmp_path / "typo", target_modules=["q_proj", "v_prj"])
    with pytest.raises(ConfigError, match="target_modules='v_prj'.*Did you mean 'v_proj'"):
        train(config)
    status = read_status(tmp_path / "typo")
    assert status.state == "failed" and "v_prj" in status.error


def test_missing_dataset_is_refused_before_anything_starts(tmp_path):
    config = small_config(tmp_path / "no-such-dataset", tmp_path / "never")
    with pytest.raises(DatasetNotFoundError, match="no-such-dataset does not exist"):
        train(config)
    assert not (tmp_path / "never").exists()
    with pytest.raises(ConfigError, match="data=''"):
        train(config.replace(data=""))
    no_val = write_dataset(tmp_path / "no-val", n_train=8, n_val=0)
    with pytest.raises(ConfigError, match="early_stopping_patience=2 .* no val.jsonl rows"):
        train(small_config(no_val, tmp_path / "never", early_stopping_patience=2))
    assert not (tmp_path / "never").exists()


def test_sigterm_stops_cleanly_after_the_current_step(dataset, tmp_path):
    import os
    import signal

    def terminate_at_three(done):
        if done == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # as stop_run's escalation sends it
        return False

    before = signal.getsignal(signal.SIGTERM)
    config = small_config(dataset, tmp_path / "term", max_steps=8, save_every=0)
    result = train(config, should_stop=terminate_at_three)
    assert (result.state, result.steps) == ("stopped", 4)
    assert (tmp_path / "term/checkpoints/step-000004").is_dir()
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is restored


def test_gpu_out_of_memory_fails_the_run_with_a_concrete_suggestion(dataset, tmp_path, monkeypatch):
    from ftcore.errors import GpuOutOfMemoryError
    from ftcore.training.loop import Trainer

    def out_of_memory(self, step):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(Trainer, "train_step", out_of_memory)
    with pytest.raises(GpuOutOfMemoryError, match="batch_size=4 with grad_accum=2"):
        train(small_config(dataset, tmp_path / "oom"))
    status = read_status(tmp_path / "oom")
    assert status.state == "failed" and "gradient_checkpointing=true" in status.error
