"""`ftcore train`, `ftcore runs …` and `ftcore memory`: the command line over ftcore.training.

The top-level CLI (ftcore.cli) adds these subcommands and turns FtcoreError into a
one-line message and exit code 1, so nothing here catches library errors.

Several GPUs (data parallel, one process per GPU; only the main process writes the run
folder):

    accelerate launch --num_processes 2 -m ftcore train --config run.yaml
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from ftcore.training.config import METHODS, TrainConfig, load_config
from ftcore.training.presets import KNOB_HELP, PRESETS, preset_config

HOME_HELP = "workspace folder (default: $FTSTUDIO_HOME or ./workspace)"

# flag -> (TrainConfig field, type)
TRAIN_FLAGS = {
    "--base": ("base", str),
    "--data": ("data", str),
    "--out": ("out", str),
    "--method": ("method", str),
    "--epochs": ("epochs", int),
    "--max-steps": ("max_steps", int),
    "--lr": ("learning_rate", float),
    "--rank": ("lora_rank", int),
    "--batch-size": ("batch_size", int),
    "--seed": ("seed", int),
    "--home": ("home", str),
}


def _overrides(args: argparse.Namespace) -> dict:
    values = {field: getattr(args, field) for field, _ in TRAIN_FLAGS.values()}
    return {k: v for k, v in values.items() if v is not None}


def run_train(args: argparse.Namespace) -> int:
    from ftcore.training.execute import train

    if args.config:
        config = load_config(args.config, **_overrides(args))
    else:
        config = preset_config(args.preset, **_overrides(args))
    result = train(config, resume=args.resume)
    summary = {
        "run_dir": str(result.run_dir),
        "state": result.state,
        "steps": result.steps,
        "total_steps": result.total_steps,
        "best_val_loss": result.best_val_loss,
        "best_step": result.best_step,
        "weights": str(result.weights_dir),
    }
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def run_runs_list(args: argparse.Namespace) -> int:
    from ftcore.training.jobs import list_runs

    records = list_runs(args.home)
    if args.json:
        rows = [{k: v for k, v in asdict(r).items() if k != "config_json"} for r in records]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for r in records:
        best = f"{r.best_val_loss:.4f}" if r.best_val_loss is not None else "-"
        print(f"{r.state:<13} {r.steps or 0:>6}/{r.total_steps or 0:<6} val {best:<8} {r.run_dir}")
    return 0


def run_runs_status(args: argparse.Namespace) -> int:
    from ftcore.training.jobs import run_status

    print(json.dumps(asdict(run_status(args.run_dir)), indent=2, ensure_ascii=False))
    return 0


def run_runs_stop(args: argparse.Namespace) -> int:
    from ftcore.training.jobs import stop_run

    status = stop_run(args.run_dir, wait=args.wait)
    print(f"{status.run_dir}: {status.state} at step {status.step}")
    return 0


def run_runs_resume(args: argparse.Namespace) -> int:
    from ftcore.training.jobs import resume_run

    handle = resume_run(args.run_dir)
    print(f"resumed {handle.run_dir} in the background (pid {handle.pid}); log: {handle.paths.log}")
    return 0


def run_runs_export(args: argparse.Namespace) -> int:
    from ftcore.training.weights import export_merged

    out = export_merged(args.run_dir, args.out, which=args.which)
    print(f"merged model written to {out}")
    return 0


def run_memory(args: argparse.Namespace) -> int:
    from ftcore.training.memory import estimate_for_config

    config = TrainConfig(
        base=args.base,
        method=args.method,
        batch_size=args.batch_size,
        max_length=args.max_length,
        gradient_checkpointing=args.gradient_checkpointing,
        lora_rank=args.rank,
    )
    print(estimate_for_config(config, target_gb=args.target_gb).summary())
    return 0


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", help="a YAML file of TrainConfig settings (e.g. a run's config.yaml)"
    )
    parser.add_argument(
        "--preset", default="starter", choices=sorted(PRESETS), help="without --config"
    )
    for flag, (field, kind) in TRAIN_FLAGS.items():
        help_text = KNOB_HELP.get(field, HOME_HELP if field == "home" else "the run folder")
        parser.add_argument(flag, dest=field, type=kind, help=help_text.replace("%", "%%"))
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last checkpoint"
    )


def add_training_commands(commands) -> None:
    """Add `train`, `runs …` and `memory` to the top-level subcommands."""
    train = commands.add_parser(
        "train",
        help="fine-tune a base model on a dataset version (LoRA, QLoRA or full)",
        description="Flags override the --config file (or the preset). Multi-GPU: "
        "accelerate launch -m ftcore train --config FILE",
    )
    add_train_arguments(train)
    train.set_defaults(run=run_train)

    runs = commands.add_parser("runs", help="list, inspect, stop, resume and export training runs")
    actions = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every run in the workspace, newest first")
    listing.add_argument("--home", help=HOME_HELP)
    listing.add_argument("--json", action="store_true", help="print the rows as JSON")
    listing.set_defaults(run=run_runs_list)
    for name, handler, text in (
        ("status", run_runs_status, "the run's status as JSON"),
        ("stop", run_runs_stop, "stop a running job cleanly (it can be resumed)"),
        ("resume", run_runs_resume, "continue a stopped or failed run in the background"),
        ("export", run_runs_export, "merge the run's adapter into its base model and save"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("run_dir", help="the run folder")
        action.set_defaults(run=handler)
        if name == "stop":
            action.add_argument("--wait", action="store_true", help="return once it has ended")
        if name == "export":
            action.add_argument("--out", required=True, help="the folder for the merged model")
            action.add_argument(
                "--which", default="published", choices=["published", "best", "last"]
            )

    memory = commands.add_parser("memory", help="estimate the GPU memory a training run needs")
    memory.add_argument("--base", default="demo", help="'demo', a model folder or a Hub id")
    memory.add_argument("--method", default="lora", choices=METHODS)
    memory.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    memory.add_argument("--max-length", type=int, default=TrainConfig.max_length)
    memory.add_argument("--rank", type=int, default=TrainConfig.lora_rank)
    memory.add_argument("--gradient-checkpointing", action="store_true")
    memory.add_argument("--target-gb", type=int, default=24, help="suggest remedies above this")
    memory.set_defaults(run=run_memory)
