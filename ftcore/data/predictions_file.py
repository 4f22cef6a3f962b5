"""Read a predictions JSONL file: the rows that can be scored, and every bad line with why.

The rules for a row are ftcore.metrics.predictions'; this module adds the file: encodings
and line endings as for dataset files (ftcore.data.readers), each bad line reported with
file, line and field, and the valid rows around it kept.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ftcore.data.readers import detect_encoding, iter_jsonl_rows
from ftcore.errors import DataError, EmptyPredictionsError
from ftcore.metrics.predictions import BadLine, row_problem

logger = logging.getLogger(__name__)


def read_predictions(path: str | Path) -> tuple[list[dict], list[BadLine]]:
    """The valid rows of a predictions JSONL (an `id` defaults to the line number) and the
    bad lines. Raises EmptyPredictionsError when no row is valid, DataError when the file
    cannot be read at all."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    rows: list[dict] = []
    bad: list[BadLine] = []
    for raw in iter_jsonl_rows(path, detect_encoding(path)):
        if raw.problem is not None:
            bad.append(BadLine(str(path), raw.line, raw.problem.field, raw.problem.reason))
            continue
        problem = row_problem(raw.data)
        if problem is not None:
            bad.append(BadLine(str(path), raw.line, *problem))
            continue
        row = dict(raw.data)
        if row.get("id") is None:
            row["id"] = raw.line
        rows.append(row)
    for line in bad:  # callers show them (the CLI prints the first ones, the UI a table)
        logger.info("skipped %s", line)
    if not rows:
        first = f"; first problem: {bad[0]}" if bad else ""
        raise EmptyPredictionsError(
            f"{path}: no row can be scored ({len(bad)} bad lines{first}); every line needs "
            '{"prediction": "...", "reference": "..."}'
        )
    return rows, bad
