"""`ftcore eval`: evaluate a base model and adapters on a dataset version, over evaluation.run.

The top-level CLI (ftcore.cli) adds this subcommand and turns FtcoreError into a one-line
message and exit code 1, so nothing here catches library errors.
"""

from __future__ import annotations

import argparse
import math

TABLE_METRICS = ("bleu", "chrf", "rougeL", "perplexity")


def format_eval_table(scores: dict) -> str:
    """model × split rows of BLEU, chrF, ROUGE-L and perplexity, for the terminal."""
    header = f"{'model':<20} {'split':<6} " + " ".join(f"{m:>10}" for m in TABLE_METRICS)
    lines = [header]
    for model, by_split in scores.items():
        for split, by_metric in by_split.items():
            cells = []
            for metric in TABLE_METRICS:
                value = by_metric.get(metric, {}).get("value")
                shown = "-" if value is None or math.isnan(value) else f"{value:.4f}"
                cells.append(f"{shown:>10}")
            lines.append(f"{model:<20} {split:<6} " + " ".join(cells))
    return "\n".join(lines)


def _progress(fraction: float, message: str) -> None:
    import logging

    logging.getLogger("ftcore.evaluation").info("%3.0f%% %s", 100 * fraction, message)


def run_eval(args: argparse.Namespace) -> int:
    from ftcore.db import Database
    from ftcore.evaluation.pipeline import evaluate
    from ftcore.workspace import Workspace

    database = Database.for_workspace(Workspace.open(args.home)) if args.home else None
    try:
        result = evaluate(
            args.base,
            args.adapter or [],
            args.data,
            args.out,
            splits=[split.strip() for split in args.splits.split(",") if split.strip()],
            limit=args.limit,
            max_new_tokens=args.max_new_tokens,
            batch_size=args.batch_size,
            seed=args.seed,
            probe=args.probe,
            progress=_progress,
            bootstrap=args.bootstrap,
            database=database,
        )
    finally:
        if database is not None:
            database.close()
    print(format_eval_table(result.scores))
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
            "'train' is a seeded sample of the train split as large as val; 'test' is read "
            "only when listed. Rerunning into the same --out resumes generation."
        ),
    )
    parser.add_argument("--base", default="demo", help="'demo', a model folder or a Hub id")
    parser.add_argument(
        "--adapter", action="append", help="a LoRA adapter folder (repeat for several)"
    )
    parser.add_argument("--data", required=True, help="a prepared dataset version folder")
    parser.add_argument("--out", required=True, help="the folder to write the evaluation to")
    parser.add_argument("--splits", default="train,val", help="comma-separated: train,val,test")
    parser.add_argument("--limit", type=int, help="evaluate at most N examples per split")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0, help="train sample and bootstrap seed")
    parser.add_argument("--probe", help="an alpaca JSONL of general prompts, scored as 'probe'")
    parser.add_argument("--bootstrap", type=int, default=1000, help="resamples, 0 for no CIs")
    parser.add_argument("--home", help="workspace folder whose database records the evaluation")
    parser.set_defaults(run=run_eval)
