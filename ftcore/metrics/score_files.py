"""Write a ScoreReport: scores.json, per_example.jsonl, and scores.csv / per_example.csv.

scores.json is model → split → metric → {value, ci_low, ci_high, n, signature,
higher_is_better, ci_signature, warning}. per_example.jsonl has one object per example: model,
split, id, prompt, prediction, reference and `scores` (per-example column → score). The
CSV files hold the same in flat columns, written as UTF-8 with a byte-order mark so that
Excel opens Chinese text correctly (pandas and Python's csv read it as "utf-8-sig").
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ftcore.files import write_csv, write_json, write_jsonl
from ftcore.text_table import format_text_table

if TYPE_CHECKING:
    from ftcore.metrics.scoring import ScoreReport

SCORES_JSON = "scores.json"
PER_EXAMPLE_JSONL = "per_example.jsonl"
SCORES_CSV = "scores.csv"
PER_EXAMPLE_CSV = "per_example.csv"
SCORE_COLUMNS = (
    "value",
    "ci_low",
    "ci_high",
    "n",
    "higher_is_better",
    "signature",
    "ci_signature",
    "warning",
)
EXAMPLE_COLUMNS = ("model", "split", "id", "prompt", "prediction", "reference")


def example_columns(report: ScoreReport) -> list[str]:
    """The per-example score columns, in metric order."""
    columns: list[str] = []
    for example in report.examples:
        columns.extend(column for column in example.scores if column not in columns)
    return columns


def write_scores_json(report: ScoreReport, path: str | Path) -> Path:
    return write_json(path, report.to_json())


def write_per_example_jsonl(report: ScoreReport, path: str | Path) -> Path:
    rows = (
        {
            **{column: getattr(example, column) for column in EXAMPLE_COLUMNS},
            "scores": example.scores,
        }
        for example in report.examples
    )
    return write_jsonl(path, rows)


SCORE_HEADER = ("model", "split", "metric", *SCORE_COLUMNS)


def score_rows(report: ScoreReport) -> Iterable[list]:
    """The corpus scores as flat rows under SCORE_HEADER (scores.csv, a UI table)."""
    for model, by_split in report.scores.items():
        for split, by_metric in by_split.items():
            for metric, score in by_metric.items():
                yield [model, split, metric, *(getattr(score, c) for c in SCORE_COLUMNS)]


def write_scores_csv(report: ScoreReport, path: str | Path) -> Path:
    return write_csv(path, SCORE_HEADER, score_rows(report))


def write_per_example_csv(report: ScoreReport, path: str | Path) -> Path:
    columns = example_columns(report)
    rows = (
        [
            *(getattr(example, column) for column in EXAMPLE_COLUMNS),
            *(example.scores.get(column) for column in columns),
        ]
        for example in report.examples
    )
    return write_csv(path, [*EXAMPLE_COLUMNS, *columns], rows)


def write_report(report: ScoreReport, out_dir: str | Path) -> dict[str, Path]:
    """All four files into `out_dir` (created if needed); returns file name → path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writers = {
        SCORES_JSON: write_scores_json,
        PER_EXAMPLE_JSONL: write_per_example_jsonl,
        SCORES_CSV: write_scores_csv,
        PER_EXAMPLE_CSV: write_per_example_csv,
    }
    return {name: writer(report, out / name) for name, writer in writers.items()}


def format_table(report: ScoreReport) -> str:
    """A short plain-text table of the corpus scores, for the terminal."""
    ci = f"{report.confidence:.0%} CI" if report.bootstrap else "CI (no bootstrap)"
    rows = [
        # The warning itself is in scores.json and the log; "*" marks the row.
        [model, split, metric, f"{value:.4f}",
         f"[{low:.4f}, {high:.4f}]" if low is not None else "-", str(n), "*" if warning else ""]
        for model, split, metric, value, low, high, n, *_, warning in score_rows(report)
    ]  # fmt: skip
    return format_text_table(["model", "split", "metric", "value", ci, "n", ""], rows, "lllrlrl")
