"""Benchmark: training tokens/s of ftcore's loop against trl's SFTTrainer, side by side.

Same demo model, same data (the first 400 Spring Festival greetings), same settings:
LoRA r8 / alpha 16 / dropout 0.05 on every attention and MLP projection, batch 8, max
length 256, AdamW at 2e-4 with 3 warmup steps then cosine decay, gradient clipping at 1.0,
fp32 on CPU, no validation and no checkpoints. Both train only the reply tokens (trl:
prompt-completion data with completion_only_loss), and both run exactly one epoch per 50
steps, so they see the same rows and the same number of tokens. Each trainer runs in its
own fresh process. tokens/s counts non-padding input tokens over the step loop (model
loading and tokenisation excluded); the whole call's wall time is reported too.
Results: benchmarks/results/train_vs_trl.json.

    python benchmarks/bench_train_vs_trl.py [--steps 100] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "train_vs_trl.json"
GREETINGS = ROOT / "data" / "greetings" / "spring_festival_greetings.jsonl"
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
SETTINGS = {"rows": 400, "batch_size": 8, "max_length": 256, "lr": 2e-4, "warmup_steps": 3}


def write_dataset(folder: Path) -> Path:
    """The first SETTINGS["rows"] greetings as a dataset version (training reads only
    versions): all in train, in order, none dropped."""
    from ftcore.data.prepare import prepare_dataset
    from ftcore.data.settings import PrepareSettings

    source = folder.parent / "greetings-rows.jsonl"
    lines = GREETINGS.read_text("utf-8").splitlines()[: SETTINGS["rows"]]
    source.write_text("\n".join(lines) + "\n", "utf-8")
    settings = PrepareSettings(split=(1.0, 0.0, 0.0), exact_dedup=False, near_dup=None)
    return prepare_dataset([source], folder, settings).path


def run_ours(dataset: Path, work: Path, steps: int) -> dict:
    from ftcore.training.config import TrainConfig
    from ftcore.training.execute import train
    from ftcore.training.runfiles import read_progress

    config = TrainConfig(
        data=str(dataset),
        out=str(work / "ours"),
        home=str(work / "home"),
        device="cpu",
        lora_rank=8,
        lora_alpha=16,
        lora_dropout=0.05,
        target_modules=TARGETS,
        batch_size=SETTINGS["batch_size"],
        max_length=SETTINGS["max_length"],
        max_steps=steps,
        learning_rate=SETTINGS["lr"],
        warmup_ratio=SETTINGS["warmup_steps"] / steps,
        save_every=0,
        seed=0,
    )
    started = time.perf_counter()
    result = train(config)
    wall = time.perf_counter() - started
    rows = [r for r in read_progress(result.run_dir) if r["kind"] == "train"]
    return {
        "steps": result.steps,
        "tokens": rows[-1]["tokens_seen"],
        "loop_seconds": rows[-1]["elapsed_s"],
        "call_seconds": round(wall, 2),
        "first_loss": rows[0]["train_loss"],
        "last_loss": rows[-1]["train_loss"],
    }


def run_trl(dataset: Path, work: Path, steps: int) -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from ftcore.runtime.models import DEMO_MODEL_DIR, load_tokenizer

    rows = [json.loads(line) for line in (dataset / "train.jsonl").read_text("utf-8").splitlines()]
    data = Dataset.from_list(
        [{"prompt": r["messages"][:-1], "completion": r["messages"][-1:]} for r in rows]
    )
    args = SFTConfig(
        output_dir=str(work / "trl"),
        per_device_train_batch_size=SETTINGS["batch_size"],
        max_length=SETTINGS["max_length"],
        max_steps=steps,
        learning_rate=SETTINGS["lr"],
        lr_scheduler_type="cosine",
        warmup_steps=SETTINGS["warmup_steps"],
        max_grad_norm=1.0,
        weight_decay=0.0,
        optim="adamw_torch",
        completion_only_loss=True,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=0,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    lora = LoraConfig(
        r=8, lora_alpha=16, lora_dropout=0.05, target_modules=TARGETS, task_type="CAUSAL_LM"
    )
    model = AutoModelForCausalLM.from_pretrained(DEMO_MODEL_DIR, dtype=torch.float32)
    timer = {}

    class LoopTimer(TrainerCallback):
        def on_train_begin(self, *_, **__):
            timer["start"] = time.perf_counter()

        def on_train_end(self, *_, **__):
            timer["end"] = time.perf_counter()

    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=data,
        processing_class=load_tokenizer("demo"),
        peft_config=lora,
        callbacks=[LoopTimer()],
    )
    started = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - started
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    columns = trainer.train_dataset.column_names
    labels = trainer.train_dataset["labels" if "labels" in columns else "completion_mask"]
    targets = sum(sum(1 for y in row[1:] if y not in (-100, 0)) for row in labels)
    return {
        "steps": trainer.state.global_step,
        "tokens": trainer._total_train_tokens,
        "loop_seconds": round(timer["end"] - timer["start"], 2),
        "call_seconds": round(wall, 2),
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "reply_tokens_per_epoch": targets,
    }


def reply_tokens_per_epoch(dataset: Path) -> int:
    from ftcore.runtime.models import load_tokenizer
    from ftcore.training.batches import encode_split, load_dataset_folder

    records = load_dataset_folder(dataset).train
    rows = encode_split(load_tokenizer("demo"), records, SETTINGS["max_length"], "train").rows
    # labels[0] is never a target; the tokens counted are those a loss is computed on.
    return sum(row.n_targets + (row.labels[0] >= 0) for row in rows)


def worker(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    run = run_ours if args.worker == "ours" else run_trl
    result = run(Path(args.dataset), Path(args.work), args.steps)
    result["tokens_per_s"] = round(result["tokens"] / result["loop_seconds"], 1)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="torch threads in each trainer")
    parser.add_argument("--worker", choices=["ours", "trl"], help=argparse.SUPPRESS)
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        dataset = write_dataset(Path(tmp) / "greetings")
        results = {}
        for name in ("ours", "trl"):
            command = [sys.executable, __file__, "--worker", name, "--steps", str(args.steps)]
            command += ["--threads", str(args.threads), "--dataset", str(dataset), "--work", tmp]
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
            if done.returncode:
                raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
        results["ours"]["reply_tokens_per_epoch"] = reply_tokens_per_epoch(dataset)
    ratio = results["ours"]["tokens_per_s"] / results["trl"]["tokens_per_s"]
    report = {
        "machine": f"{platform.machine()}, {args.threads} torch thread(s), "
        f"Python {platform.python_version()}",
        "settings": {**SETTINGS, "steps": args.steps, "model": "demo", "method": "lora r8"},
        "ours": results["ours"],
        "trl_sft_trainer": results["trl"],
        "ratio_tokens_per_s": round(ratio, 3),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    print(json.dumps(report, indent=2))
    print(f"ours / trl tokens/s: {ratio:.2f}")


if __name__ == "__main__":
    main()
