"""Read CSV and TSV files with a header line into rows, keeping each record's line.

Quoted fields may hold delimiters, quotes and line breaks. A record with the wrong number
of fields is rejected; when it spans several lines it is usually an unclosed quote that
swallowed the records after it, so only its first line is rejected and the lines after
it are read again as records of their own.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from ftcore.data.encoding import Line, iter_lines
from ftcore.data.records import BAD_CSV_ROW, BAD_ENCODING, RawRow, RowProblem

CSV_FIELD_LIMIT = 2**31 - 1  # the default (128 KiB) rejects long conversations


def _unique_names(header: list[str]) -> list[str]:
    names: list[str] = []
    for index, name in enumerate(header, start=1):
        name = name.strip() or f"column{index}"
        while name in names:
            name = f"{name}_{index}"
        names.append(name)
    return names


class _LineFeed:
    """Lines for csv.reader, with a queue of lines to read again; unlike a generator it
    can go on after reporting the end, once lines are pushed back."""

    def __init__(self, lines: Iterator[Line]):
        self.lines, self.pending = lines, deque()
        self.consumed: list[Line] = []

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        line = self.pending.popleft() if self.pending else next(self.lines)
        self.consumed.append(line)
        return line.text + "\n"


def iter_csv_rows(path: Path, encoding: str, delimiter: str) -> Iterator[RawRow]:
    """Rows of a CSV/TSV file with a header line, as dicts of column → text."""
    csv.field_size_limit(CSV_FIELD_LIMIT)
    feed = _LineFeed(iter_lines(path, encoding))
    record = feed.consumed  # the lines the reader took for the record being read
    reader = csv.reader(feed, delimiter=delimiter)
    header: list[str] | None = None
    while True:
        record.clear()
        try:
            fields, problem = next(reader), None
        except StopIteration:
            return
        except csv.Error as exc:
            fields, problem = [], RowProblem(BAD_CSV_ROW, None, f"cannot read as CSV: {exc}")
        if not record or (problem is None and not any(field.strip() for field in fields)):
            continue
        if problem is None and header is not None:
            problem = _field_count_problem(fields, header)
        if problem is not None and len(record) > 1:
            feed.pending.extendleft(reversed(record[1:]))
            del record[1:]
        if problem is None and not all(line.ok for line in record):
            problem = RowProblem(BAD_ENCODING, None, f"the record is not valid {encoding}")
        if header is None and problem is None:
            header = _unique_names(fields)
            continue
        raw = "\n".join(line.text for line in record)
        data = (
            None if problem else dict(zip(header or [], fields, strict=False))
        )  # extra fields are empty
        yield RawRow(record[0].number, data, raw, record[-1].offset, problem)


def _field_count_problem(fields: list[str], header: list[str]) -> RowProblem | None:
    extra = fields[len(header) :]
    if len(fields) >= len(header) and not any(value.strip() for value in extra):
        return None  # trailing empty fields are a common export artefact
    return RowProblem(
        BAD_CSV_ROW,
        None,
        f"the record has {len(fields)} fields but the header has {len(header)} "
        "(an unquoted delimiter or an unclosed quote?)",
    )
