"""Our own files on disk: the one atomic writer, JSONL reader and appender, and CSV writer.

Every file ftcore writes for itself (status.json, progress.jsonl, scores, manifests, split
files) goes through here, so each idea has one implementation and one error behaviour:

- Writes are atomic. Content goes to a temporary file in the same folder, is fsynced, and
  `os.replace` puts it in place: a reader sees the old file or the new one, never half of
  one, and a failed or killed write leaves the old file and no temporary file behind.
- A JSONL line that is not a JSON object raises DataError "PATH:LINE: not a ROW (what is
  wrong)" (`line_error`, which callers also use for rows that parse but mean nothing).
  Blank lines are skipped.
- Half-written last line: a row is complete only with its newline, so a last line without
  one is a row a writer was killed writing (or is writing right now). Readers of files that
  are appended to (progress.jsonl, predictions.jsonl) pass `tolerate_partial_tail=True` to
  skip that line, parsed or not; elsewhere the last line needs no newline and must parse
  like any other. The appender cuts a torn tail off before it appends, so it never ends up
  mid-file and skipped rows are the ones written again.
- CSV files are UTF-8 with a BOM, so that Excel opens Chinese text correctly (pandas and
  Python's csv read them back as "utf-8-sig").

User datasets being imported are not read here: ftcore.data.readers handles their
encodings and row-level rejects.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from ftcore.errors import DataError

logger = logging.getLogger(__name__)

CSV_ENCODING = "utf-8-sig"  # a BOM first, for Excel


@contextlib.contextmanager
def atomic_open(
    path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8", newline: str | None = None
) -> Iterator[IO]:
    """Open a temporary file next to `path` for writing; on a clean exit it is fsynced and
    renamed onto `path`, on an exception it is deleted and `path` is left as it was.

    `mode` is "w" (text, in `encoding`) or "wb" (bytes).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode must be 'w' or 'wb', not {mode!r}")
    path = Path(path)
    # Same folder, so os.replace is a rename within one file system; a unique name, so two
    # writers of one file never share a temporary. os.open honours the umask, which
    # tempfile.mkstemp (always 0600) would not.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        if mode == "wb":
            file = os.fdopen(fd, "wb")
        else:
            file = os.fdopen(fd, "w", encoding=encoding, newline=newline)
        with file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    # The rename itself lives in the folder's entry table: without this a power cut can
    # bring back the old file even though the new one was fsynced.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # folders cannot be opened on Windows; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; atomicity does not depend on it
    finally:
        os.close(fd)


def write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Replace `path` with `text` atomically."""
    with atomic_open(path, "w", encoding=encoding, newline="") as file:
        file.write(text)
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Replace `path` with `data` atomically."""
    with atomic_open(path, "wb") as file:
        file.write(data)
    return Path(path)


def write_json(path: str | Path, value: Any, *, indent: int | None = 2) -> Path:
    """Replace `path` with `value` as UTF-8 JSON (non-ASCII kept readable), atomically."""
    return write_text(path, json.dumps(value, ensure_ascii=False, indent=indent) + "\n")


def write_jsonl(path: str | Path, rows: Iterable[Mapping]) -> Path:
    """Replace `path` with one JSON object per line, atomically."""
    with atomic_open(path, "w", newline="\n") as file:
        for row in rows:
            file.write(json_line(row))
    return Path(path)


def write_csv(path: str | Path, header: Iterable[str], rows: Iterable[Iterable]) -> Path:
    """Replace `path` with a UTF-8-with-BOM CSV file (header, then rows), atomically."""
    with atomic_open(path, "w", encoding=CSV_ENCODING, newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return Path(path)


def json_line(row: Mapping) -> str:
    """One JSONL line, newline included."""
    return json.dumps(row, ensure_ascii=False) + "\n"


def append_jsonl(path: str | Path, rows: Iterable[Mapping], *, fsync: bool = False) -> None:
    """Append JSON objects as lines, in a single write, flushed when the call returns
    (and with `fsync`, on the disk: a journal's promise outlives a power cut).

    A torn last line (a writer killed mid-line) is cut off first, so the new rows start
    on a line of their own instead of being glued onto half a row.
    """
    data = "".join(json_line(row) for row in rows).encode("utf-8")
    with open(path, "ab+") as file:
        end = file.seek(0, os.SEEK_END)
        if end:
            file.seek(end - 1)
            if file.read(1) != b"\n":
                logger.warning("%s: dropping an incomplete last line (an interrupted write)", path)
                file.truncate(_last_line_end(file, end))
        file.write(data)
        if fsync:
            file.flush()
            os.fsync(file.fileno())


def _last_line_end(file: IO[bytes], end: int) -> int:
    """Offset just past the last newline before `end` (0 when there is none)."""
    chunk = 65536
    position = end
    while position > 0:
        start = max(0, position - chunk)
        file.seek(start)
        found = file.read(position - start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        position = start
    return 0


def read_json(path: str | Path, *, missing_ok: bool = False) -> Any:
    """The JSON value in a file (None for a missing file with `missing_ok`); a file that
    does not parse raises DataError naming it."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        if missing_ok:
            return None
        raise DataError(f"{path}: file not found") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None


def numbered_jsonl(
    path: str | Path,
    *,
    tolerate_partial_tail: bool = False,
    missing_ok: bool = False,
    row_name: str = "JSONL row",
) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSONL file, streamed.

    A bad line raises `line_error`: "PATH:LINE: not a {row_name} (what is wrong)". With
    `tolerate_partial_tail`, a last line without its newline is skipped (see the module
    docstring). With `missing_ok`, a missing file yields nothing.
    """
    path = Path(path)
    try:
        with open(path, "rb") as file:
            yield from _numbered_objects(path, file, tolerate_partial_tail, row_name)
    except FileNotFoundError:
        if not missing_ok:
            raise DataError(f"{path}: file not found") from None


def _numbered_objects(
    path: Path, file: IO[bytes], tolerate_partial_tail: bool, row_name: str
) -> Iterator[tuple[int, dict]]:
    for number, raw in enumerate(file, start=1):
        if tolerate_partial_tail and not raw.endswith(b"\n"):
            return  # only the last line can lack its newline
        try:
            row = _parse_line(raw, first=number == 1)
        except ValueError as error:
            raise line_error(path, number, f"not a {row_name} ({error})") from None
        if row is not None:
            yield number, row


def read_jsonl(
    path: str | Path,
    *,
    tolerate_partial_tail: bool = False,
    missing_ok: bool = False,
    row_name: str = "JSONL row",
) -> list[dict]:
    """Every JSON object of a JSONL file, in order (see numbered_jsonl)."""
    rows = numbered_jsonl(
        path, tolerate_partial_tail=tolerate_partial_tail, missing_ok=missing_ok, row_name=row_name
    )
    return [row for _, row in rows]


def line_error(path: str | Path, number: int, problem: str) -> DataError:
    """The DataError for a bad line: "PATH:LINE: problem", as compilers and the import
    readers write it, so every message about a line reads the same."""
    return DataError(f"{path}:{number}: {problem}")


def _parse_line(raw: bytes, *, first: bool) -> dict | None:
    """The object on one line, None for a blank line; ValueError says what is wrong."""
    try:
        text = raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8: {error.reason} at byte {error.start}") from None
    if not text.strip():
        return None
    try:
        row = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON: {error.msg} at column {error.colno}") from None
    if not isinstance(row, dict):
        raise ValueError(f"expected a JSON object, got {type(row).__name__}")
    return row


FORMULA_STARTS = ("=", "+", "-", "@")  # what makes Excel, LibreOffice and Sheets compute a cell


def spreadsheet_safe(value: object) -> object:
    """A CSV cell a spreadsheet shows as text instead of running it as a formula.

    Text starting with = + - @ that is not a number (a rater's comment "=HYPERLINK(…)"),
    or starting with a tab or carriage return (which spreadsheets skip before such a
    character), gets a leading apostrophe, as OWASP advises. Numbers, and text that is a
    number such as "-3", are left as they are.
    """
    if not isinstance(value, str) or not value:
        return value
    if value[0] in "\t\r":
        return "'" + value
    if value[0] in FORMULA_STARTS:
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value
