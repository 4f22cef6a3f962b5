"""`ftcore score PREDICTIONS.jsonl --out DIR`: score a predictions file (ftcore.metrics.scoring).

The top-level CLI (ftcore.cli) adds this subcommand and turns FtcoreError into a one-line
message and exit code 1, so nothing here catches library errors.
"""

from __future__ import annotations

import argparse
import sys

from ftcore.metrics.registry import METRIC_NAMES

SHOWN_BAD_LINES = 10  # the rest are counted; `-v` logs every one


def run_score(args: argparse.Namespace) -> int:
    from ftcore.metrics.predictions import read_predictions
    from ftcore.metrics.registry import resolve_metric_names
    from ftcore.metrics.score_files import format_table, write_report
    from ftcore.metrics.scoring import score_predictions

    metrics = resolve_metric_names(args.metrics)  # a typo fails before the file is read
    rows, bad_lines = read_predictions(args.predictions)
    report = score_predictions(
        rows, metrics, bootstrap=args.bootstrap, seed=args.seed, language=args.language
    )
    written = write_report(report, args.out)
    print(format_table(report))
    skipped = f", {len(bad_lines)} bad lines skipped" if bad_lines else ""
    print(f"\n{len(rows)} rows scored{skipped}; language {report.language}")
    print(f"written to {args.out}: {', '.join(written)}")
    for line in bad_lines[:SHOWN_BAD_LINES]:
        print(f"skipped {line}", file=sys.stderr)
    if len(bad_lines) > SHOWN_BAD_LINES:
        print(f"… and {len(bad_lines) - SHOWN_BAD_LINES} more bad lines", file=sys.stderr)
    return 0


def add_score_command(commands: argparse._SubParsersAction) -> None:
    score = commands.add_parser(
        "score",
        help="score a predictions JSONL: BLEU, chrF, ROUGE, exact match with bootstrap CIs",
        description=(
            "Each line of PREDICTIONS is a JSON object with 'prediction' and 'reference' "
            "(and optionally 'id', 'prompt', 'model', 'split'). Writes scores.json, "
            "per_example.jsonl, scores.csv and per_example.csv to --out."
        ),
    )
    score.add_argument("predictions", help="the predictions JSONL file")
    score.add_argument("--out", required=True, help="the folder to write the score files to")
    score.add_argument(
        "--metrics",
        help=f"comma-separated metric names (default: all): {','.join(METRIC_NAMES)}",
    )
    score.add_argument(
        "--bootstrap", type=int, default=1000, help="resamples for 95%% CIs, 0 for none"
    )
    score.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling")
    score.add_argument(
        "--language",
        choices=["zh", "en", "mixed"],
        help="the references' language (default: detected); zh and mixed use BLEU tok=zh",
    )
    score.set_defaults(run=run_score)
