"""Stream raw rows with line numbers out of JSONL, JSON, CSV/TSV and Parquet files.

The file type comes from the file's name, checked against its first characters (a JSON
array saved as .jsonl is still read as an array); the encoding from ftcore.data.encoding.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from ftcore.data.csvrows import iter_csv_rows
from ftcore.data.encoding import detect_encoding, iter_lines, read_head
from ftcore.data.jsonstream import iter_json_rows
from ftcore.data.records import BAD_ENCODING, BROKEN_JSON, RawRow, RowProblem
from ftcore.errors import DataError

FILE_TYPES = ("jsonl", "json", "csv", "tsv", "parquet")
EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def detect_file_type(path: Path, encoding: str | None) -> str:
    """One of FILE_TYPES, from the extension, checked against the first characters."""
    head = read_head(path)
    if head.startswith(b"PAR1"):
        return "parquet"
    by_name = EXTENSIONS.get(path.suffix.lower())
    if by_name in ("csv", "tsv"):
        return by_name
    if by_name == "parquet":
        raise DataError(f"{path} is named .parquet but is not a Parquet file")
    text = head.decode(encoding or "utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        return "json"
    if text.startswith("{") and by_name != "jsonl":
        first_line = text.splitlines()[0]
        try:  # one complete object on the first line: JSON Lines, whatever the name says
            json.loads(first_line)
        except json.JSONDecodeError:
            return "json"
        return "jsonl"
    if by_name is None:
        raise DataError(
            f"cannot tell the file type of {path}: name it .jsonl, .json, .csv, .tsv or "
            ".parquet (spreadsheets: save as CSV)"
        )
    return by_name


def detect(path: Path) -> tuple[str, str | None]:
    """(file type, encoding) of a file; the encoding is None for Parquet."""
    encoding = None if read_head(path).startswith(b"PAR1") else detect_encoding(path)
    return detect_file_type(path, encoding), encoding


def iter_jsonl_rows(path: Path, encoding: str) -> Iterator[RawRow]:
    for line in iter_lines(path, encoding):
        if not line.text.strip():
            continue  # blank lines separate nothing and are not rows
        if not line.ok:
            problem = RowProblem(BAD_ENCODING, None, f"the line is not valid {encoding}")
            yield RawRow(line.number, None, line.text, line.offset, problem)
            continue
        try:
            data = json.loads(line.text)
        except json.JSONDecodeError as exc:
            problem = RowProblem(
                BROKEN_JSON, None, f"not valid JSON: {exc.msg} (column {exc.colno})"
            )
            yield RawRow(line.number, None, line.text, line.offset, problem)
            continue
        yield RawRow(line.number, data, line.text, line.offset)


def iter_parquet_rows(path: Path) -> Iterator[RawRow]:
    """Rows of a Parquet file; a row's 'line' is its 1-based row number."""
    import pyarrow
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pyarrow.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path} is not a readable Parquet file: {exc}") from exc
    total, size = max(parquet.metadata.num_rows, 1), path.stat().st_size
    number = 0
    for batch in parquet.iter_batches(batch_size=2048):
        for row in batch.to_pylist():
            number += 1
            raw = json.dumps(row, ensure_ascii=False, default=str)
            yield RawRow(number, row, raw, size * number // total)


def iter_raw_rows(path: Path, file_type: str, encoding: str | None) -> Iterator[RawRow]:
    """Every row of a file in order, parsed as far as its file type allows."""
    if file_type == "parquet":
        return iter_parquet_rows(path)
    assert encoding is not None, "text files need an encoding"
    if file_type == "jsonl":
        return iter_jsonl_rows(path, encoding)
    if file_type == "json":
        return iter_json_rows(iter_lines(path, encoding), encoding)
    return iter_csv_rows(path, encoding, "\t" if file_type == "tsv" else ",")
