"""Which rows of a predictions file can be scored, and what is wrong with the others.

One JSON object per line: `prediction` and `reference` (strings) are required; `id`
(string or integer), `prompt`, `model` and `split` (strings) are optional. A line that is
not valid JSON, not an object, or has a missing or wrongly typed field is reported with
file, line and field and skipped; the valid rows around it are kept. A row whose
reference is empty is reported too: there is nothing to score it against, and counting
it as a zero would lower every score for a reason that is not the model's.

ftcore.data.predictions_file reads the file (encodings as for dataset files) and applies
these rules line by line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

REQUIRED = ("prediction", "reference")
OPTIONAL_TEXT = ("prompt", "model", "split")


@dataclass(frozen=True)
class BadLine:
    """A line of a predictions file that was skipped, and why."""

    file: str
    line: int
    field: str | None  # None when the whole line is at fault (broken JSON, not an object)
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return (
            f"{where}: field {self.field!r}: {self.reason}"
            if self.field
            else f"{where}: {self.reason}"
        )


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def row_problem(row: object) -> tuple[str | None, str] | None:
    """(field, reason) for the first thing wrong with a row, or None when it can be scored."""
    if not isinstance(row, Mapping):
        return None, f"not a JSON object (got {_type_name(row)})"
    for field in REQUIRED:
        if field not in row:
            return field, "missing"
        if not isinstance(row[field], str):
            return field, f"must be a string, got {_type_name(row[field])}"
    if not row["reference"].strip():
        return "reference", "empty: there is nothing to score the prediction against"
    for field in OPTIONAL_TEXT:
        if row.get(field) is not None and not isinstance(row[field], str):
            return field, f"must be a string, got {_type_name(row[field])}"
    row_id = row.get("id")
    if row_id is not None and (isinstance(row_id, bool) or not isinstance(row_id, str | int)):
        return "id", f"must be a string or an integer, got {_type_name(row_id)}"
    return None
