"""`ftcore train`, `ftcore runs …` and `ftcore memory`: the command line over ftcore.training.

The top-level CLI (ftcore.cli) adds these subcommands and turns FtcoreError into a
one-line message and exit code 1, so nothing here catches library errors.

While it trains, `ftcore train` shows its progress on stderr (train_progress.py): a bar
on a terminal, a line now and then in a log; `--quiet` turns it off, `-v` logs every step
instead.

Every TrainConfig setting has a flag, generated from its field metadata (config.py), so
`--help` shows the same text as the Train tab. Several GPUs (data parallel, one process
per GPU; only the main process writes the run folder and records it in the database):

    accelerate launch --num_processes 2 -m ftcore train --config run.yaml
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from ftcore.training.config import (
    FIELD_NAMES,
    FIELD_TYPES,
    TrainConfig,
    load_config,
    setting_choices,
    setting_flag,
    setting_help,
)
from ftcore.training.presets import PRESETS, default_preset, preset_config

if TYPE_CHECKING:
    from ftcore.db import Database

HOME_HELP = "workspace folder (default: $FTSTUDIO_HOME or ./workspace)"
MEMORY_SETTINGS = (
    "base",
    "method",
    "batch_size",
    "max_length",
    "lora_rank",
    "gradient_checkpointing",
)


@contextmanager
def workspace_database(home: str | None) -> Iterator[Database]:
    """The database of the workspace at `home` (empty or None: the default), closed after
    use. The CLI process holds it; a training job never opens one."""
    from ftcore.db import Database
    from ftcore.workspace import Workspace

    database = Database.for_workspace(Workspace.open(home or None))
    try:
        yield database
    finally:
        database.close()


def writable_folder(path: str | Path, field: str = "out", *, parent_only: bool = False) -> Path:
    """`path` as a folder this process can write to, made if needed (with `parent_only`,
    only its parent: a run folder is made once every check has passed); otherwise a
    one-line ConfigError naming `field` and the path, before any model is loaded."""
    from ftcore.errors import ConfigError

    folder = Path(path).expanduser()
    made = folder.parent if parent_only else folder
    try:
        made.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(field, str(path), f"a folder that can be made ({exc.strerror})") from exc
    if not os.access(made, os.W_OK):
        raise ConfigError(field, str(path), f"a folder this user can write to ({made} is not)")
    return folder


def add_setting_arguments(parser: argparse.ArgumentParser, names: Iterable[str]) -> None:
    """One flag per TrainConfig setting, generated from its field metadata. A flag not
    given stays None, so it leaves the --config file or the preset alone."""
    for name in names:
        hint = FIELD_TYPES[name]
        text = setting_help(name)
        options: dict = {"dest": name, "default": None, "help": text.replace("%", "%%")}
        if choices := setting_choices(name):
            # Not argparse's choices=: a typo gets ConfigError's did-you-mean and exit code 1.
            options["metavar"] = "{" + ",".join(choices) + "}"
        if hint is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif hint in (int, float, str):
            options["type"] = hint
        else:  # target_modules, the one list
            options.update(nargs="+", metavar="MODULE")
        parser.add_argument(setting_flag(name), **options)


def _overrides(args: argparse.Namespace) -> dict:
    values = {name: getattr(args, name, None) for name in FIELD_NAMES}
    return {k: v for k, v in values.items() if v is not None}


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run `ftcore train` starts: the --config file, or the preset, with the flags given
    on top."""
    if args.config:
        return load_config(args.config, **_overrides(args))
    overrides = _overrides(args)
    preset = args.preset or default_preset(overrides.get("base", TrainConfig().base))
    return preset_config(preset, **overrides)


def run_train(args: argparse.Namespace) -> int:
    from ftcore.cli.train_progress import training_progress
    from ftcore.training.execute import finalize_config, is_main_launch_process, train
    from ftcore.training.jobs import train_in_foreground

    config = config_from_args(args)
    if args.job or not is_main_launch_process():
        # A job started by the app (or a second GPU process) writes its run folder only.
        result = train(config, resume=args.resume)
    else:
        config = finalize_config(config)  # fixes the run folder, to follow it from here
        writable_folder(config.out, parent_only=True)
        # -v logs every step already; --quiet wants the summary alone.
        show = not (args.quiet or getattr(args, "verbose", False))
        with ExitStack() as stack:
            database = stack.enter_context(workspace_database(config.home))
            if show:
                stack.enter_context(training_progress(config.out, sys.stderr))
            result = train_in_foreground(database, config, resume=args.resume)
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

    with workspace_database(args.home) as database:
        records = list_runs(database)
    if args.json:
        rows = [{k: v for k, v in asdict(r).items() if k != "config_json"} for r in records]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for r in records:
        best = f"{r.best_val_loss:.4f}" if r.best_val_loss is not None else "-"
        print(f"{r.state:<13} {r.steps or 0:>6}/{r.total_steps or 0:<6} val {best:<8} {r.run_dir}")
    return 0


def run_runs_status(args: argparse.Namespace) -> int:
    from ftcore.training.jobs import find_run, run_status, run_workspace

    run_dir = find_run(args.run_dir, args.home)
    with workspace_database(run_workspace(run_dir)) as database:
        status = run_status(run_dir, database)
    print(json.dumps(asdict(status), indent=2, ensure_ascii=False))
    return 0


def run_runs_stop(args: argparse.Namespace) -> int:
    from ftcore.training.jobs import find_run, run_workspace, stop_run

    run_dir = find_run(args.run_dir, args.home)
    with workspace_database(run_workspace(run_dir)) as database:
        status = stop_run(run_dir, wait=args.wait, database=database)
    print(f"{status.run_dir}: {status.state} at step {status.step}")
    return 0


def run_runs_resume(args: argparse.Namespace) -> int:
    from ftcore.training.jobs import find_run, resume_run, run_workspace

    run_dir = find_run(args.run_dir, args.home)
    with workspace_database(run_workspace(run_dir)) as database:
        handle = resume_run(database, run_dir)
    print(f"resumed {handle.run_dir} in the background (pid {handle.pid}); log: {handle.paths.log}")
    return 0


def run_runs_export(args: argparse.Namespace) -> int:
    from ftcore.training.jobs import find_run
    from ftcore.training.weights import export_merged

    run_dir = find_run(args.run_dir, args.home)
    out = export_merged(run_dir, writable_folder(args.out), which=args.which)
    print(f"merged model written to {out}")
    return 0


def run_memory(args: argparse.Namespace) -> int:
    from ftcore.training.memory import estimate_for_config

    config = TrainConfig(**_overrides(args))
    estimate = estimate_for_config(config, target_gb=args.target_gb)
    print(estimate.summary() if args.markdown else estimate.to_text())
    return 0


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", help="a YAML file of TrainConfig settings (e.g. a run's config.yaml)"
    )
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="without --config; default: demo for the demo base model, else starter",
    )
    add_setting_arguments(parser, FIELD_NAMES)
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last checkpoint"
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress on stderr (a bar on a terminal, else a line now and then); the "
        "summary is still printed",
    )
    # Hidden: set by jobs.start_run for the process it spawns, which must leave the
    # workspace database to the process that started it.
    parser.add_argument("--job", action="store_true", help=argparse.SUPPRESS)


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
        action.add_argument("run_dir", metavar="RUN", help="a run folder, or a run's name")
        action.add_argument("--home", help=HOME_HELP)
        action.set_defaults(run=handler)
        if name == "stop":
            action.add_argument("--wait", action="store_true", help="return once it has ended")
        if name == "export":
            action.add_argument("--out", required=True, help="the folder for the merged model")
            action.add_argument(
                "--which", default="published", choices=["published", "best", "last"]
            )

    memory = commands.add_parser("memory", help="estimate the GPU memory a training run needs")
    add_setting_arguments(memory, MEMORY_SETTINGS)
    memory.add_argument("--target-gb", type=int, default=24, help="suggest remedies above this")
    memory.add_argument(
        "--markdown", action="store_true", help="print Markdown (as the Train tab shows it)"
    )
    memory.set_defaults(run=run_memory)
