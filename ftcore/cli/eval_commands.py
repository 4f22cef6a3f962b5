"""`ftcore eval`: evaluate a base model and adapters on a dataset version, over evaluation.run.

The top-level CLI (ftcore.cli) adds this subcommand and turns FtcoreError into a one-line
message and exit code 1, so nothing here catches library errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from contextlib import ExitStack

from ftcore.cli.train_commands import HOME_HELP, workspace_database, writable_folder
from ftcore.evaluation.options import DEFAULTS, option_help
from ftcore.text_table import format_text_table
from ftcore.verdicts.verdict_settings import VerdictSettings

TABLE_METRICS = ("bleu", "chrf", "rougeL", "perplexity")


def format_eval_table(scores: dict) -> str:
    """model × split rows of BLEU, chrF, ROUGE-L and perplexity, for the terminal: columns
    as wide as their widest cell, so long (or Chinese) model names keep them aligned."""
    rows = []
    for model, by_split in scores.items():
        for split, by_metric in by_split.items():
            values = [by_metric.get(metric, {}).get("value") for metric in TABLE_METRICS]
            shown = ["-" if v is None or math.isnan(v) else f"{v:.4f}" for v in values]
            rows.append([model, split, *shown])
    header = ["model", "split", *TABLE_METRICS]
    return format_text_table(header, rows, "ll" + "r" * len(TABLE_METRICS))


def _progress(fraction: float, message: str) -> None:
    import logging

    logging.getLogger("ftcore.evaluation").info("%3.0f%% %s", 100 * fraction, message)


def add_verdict_flags(parser: argparse.ArgumentParser) -> None:
    """One --verdict-NAME flag per VerdictSettings field, with the field's own help."""
    group = parser.add_argument_group("verdict thresholds (each stated in the verdict)")
    for setting in dataclasses.fields(VerdictSettings):
        group.add_argument(
            f"--verdict-{setting.name.replace('_', '-')}",
            dest=f"verdict_{setting.name}",
            type=type(setting.default),
            default=setting.default,
            help=f"{setting.metadata['help']} (default: {setting.default})",
        )


def verdict_settings(args: argparse.Namespace) -> VerdictSettings:
    names = (setting.name for setting in dataclasses.fields(VerdictSettings))
    return VerdictSettings(**{name: getattr(args, f"verdict_{name}") for name in names})


def run_eval(args: argparse.Namespace) -> int:
    from ftcore.evaluation.pipeline import evaluate
    from ftcore.metrics.comparisons import format_comparisons
    from ftcore.workspace import Workspace

    if args.out:
        out = writable_folder(args.out)
    else:
        out = Workspace.open(args.home or None).new_eval_dir()
    with ExitStack() as stack:
        database = None if args.no_register else stack.enter_context(workspace_database(args.home))
        result = evaluate(
            args.base,
            args.adapter or [],
            args.data,
            out,
            splits=[split.strip() for split in args.splits.split(",") if split.strip()],
            limit=args.limit or None,
            max_new_tokens=args.max_new_tokens,
            batch_size=args.batch_size,
            seed=args.seed,
            probe=args.probe,
            progress=_progress,
            bootstrap=args.bootstrap,
            max_length=args.max_length,
            verdict_settings=verdict_settings(args),
            database=database,
        )
    print(format_eval_table(result.scores))
    if result.comparisons:
        print(f"\neach model − base, paired by example:\n{format_comparisons(result.comparisons)}")
    for assessment in result.assessments.values():
        print(f"\n{assessment.summary()}")
    print(f"\nwritten to {result.out_dir}: {', '.join(sorted(result.files))}")
    if result.evaluation_id is not None:
        print(f"registered as evaluation {result.evaluation_id}")
    return 0


def add_eval_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "eval",
        help="generate, score and compute perplexity for a base model and its adapters",
        description=(
            "Every split is a seeded sample stratified by the dataset's label; 'train' is as "
            "large as val; 'test' is read only when listed. Rerunning into the same --out "
            "resumes generation, and refuses when anything the predictions depend on differs."
        ),
    )
    parser.add_argument("--base", default="demo", help="'demo', a model folder or a Hub id")
    parser.add_argument(
        "--adapter", action="append", help="a LoRA adapter folder (repeat for several)"
    )
    parser.add_argument("--data", required=True, help="a prepared dataset version folder")
    parser.add_argument(
        "--out", help="the folder to write the evaluation to (default: a new one in the workspace)"
    )
    parser.add_argument("--splits", default=",".join(DEFAULTS.splits), help=option_help("splits"))
    parser.add_argument("--limit", type=int, default=DEFAULTS.limit, help=option_help("limit"))
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        default=DEFAULTS.max_new_tokens,
        help=option_help("max_new_tokens"),
    )
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULTS.batch_size, help=option_help("batch_size")
    )
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help=option_help("seed"))
    parser.add_argument(
        "--max-length", type=int, default=DEFAULTS.max_length, help=option_help("max_length")
    )
    parser.add_argument("--probe", help="an alpaca JSONL of general prompts, scored as 'probe'")
    parser.add_argument(
        "--bootstrap", type=int, default=DEFAULTS.bootstrap, help=option_help("bootstrap")
    )
    parser.add_argument("--home", help=HOME_HELP)
    parser.add_argument(
        "--no-register",
        action="store_true",
        help="do not record the evaluation in the workspace database",
    )
    add_verdict_flags(parser)
    parser.set_defaults(run=run_eval)
