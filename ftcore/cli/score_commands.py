"""`ftcore score PREDICTIONS.jsonl --out DIR`: score a predictions file (ftcore.metrics.scoring)
and compare every model with a baseline (ftcore.metrics.comparisons).

The top-level CLI (ftcore.cli) adds this subcommand and turns FtcoreError into a one-line
message and exit code 1, so nothing here catches library errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ftcore.cli.train_commands import writable_folder
from ftcore.metrics.registry import METRIC_NAMES

SHOWN_BAD_LINES = 10  # the rest are counted; `-v` logs every one


def run_score(args: argparse.Namespace) -> int:
    from ftcore.data.predictions_file import read_predictions
    from ftcore.metrics.comparisons import (
        COMPARISONS_JSON,
        compare_report_to_baseline,
        format_comparisons,
        write_comparisons_json,
    )
    from ftcore.metrics.registry import resolve_metric_names
    from ftcore.metrics.score_files import format_table, write_report
    from ftcore.metrics.scoring import score_predictions

    # A typo fails before the file is read; --metric adds to --metrics (default: all).
    metrics = resolve_metric_names([*resolve_metric_names(args.metrics), *args.metric])
    rows, bad_lines = read_predictions(args.predictions)
    report = score_predictions(
        rows, metrics, bootstrap=args.bootstrap, seed=args.seed, language=args.language
    )
    comparisons = compare_report_to_baseline(report, args.baseline)
    written = write_report(report, writable_folder(args.out))
    print(format_table(report))
    if comparisons:
        path = Path(args.out) / COMPARISONS_JSON
        written[COMPARISONS_JSON] = write_comparisons_json(comparisons, path)
        print(f"\nagainst baseline {comparisons[0].baseline!r} (paired by id):")
        print(format_comparisons(comparisons))
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
        help="score a predictions JSONL: BLEU, chrF, ROUGE, exact match with 95%% CIs",
        description=(
            "Each line of PREDICTIONS is a JSON object with 'prediction' and 'reference' "
            "(and optionally 'id', 'prompt', 'model', 'split'). Writes scores.json, "
            "per_example.jsonl, scores.csv and per_example.csv to --out, and "
            "comparisons.json when there is a baseline model to compare with."
        ),
    )
    score.add_argument("predictions", help="the predictions JSONL file")
    score.add_argument("--out", required=True, help="the folder to write the score files to")
    score.add_argument(
        "--metrics",
        help=f"comma-separated metric names (default: all): {','.join(METRIC_NAMES)}",
    )
    score.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="NAME",
        help="add one metric, e.g. evaluate:PATH_OR_NAME for a Hugging Face evaluate "
        "module (a local script or folder, or a Hub module already cached; never "
        "downloaded); repeatable",
    )
    score.add_argument(
        "--baseline",
        help="the model every other model is compared with, paired by example id, into "
        "comparisons.json (default: 'base' when a model of that name is present)",
    )
    score.add_argument(
        "--bootstrap", type=int, default=1000, help="resamples for 95%% CIs, 0 for none"
    )
    score.add_argument(
        "--seed", type=int, default=0, help="seed of every bootstrap and randomisation test"
    )
    score.add_argument(
        "--language",
        choices=["zh", "en", "mixed"],
        help="fix BLEU's tokenizer for every row: zh or en (13a); default and mixed: "
        "per row, zh when its reference holds Han characters, else 13a",
    )
    score.set_defaults(run=run_score)
