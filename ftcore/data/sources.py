"""Open inputs: the type, encoding, checksum and row format of each, or preview one.

A file that is not a dataset at all (a README, an image, a config, a dataset_info.json
passed as data) is refused here with one message that says what it looks like, instead
of becoming thousands of rejects.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from ftcore.data.clean import Cleaner
from ftcore.data.dataset_info import looks_like_dataset_info
from ftcore.data.formats import FormatSpec, detect_spec, make_spec
from ftcore.data.hub_source import HubDataset, hub_input, iter_hub_rows, load_hub_split
from ftcore.data.readers import detect, file_sha256, iter_raw_rows
from ftcore.data.records import RawRow, Record, Reject
from ftcore.data.settings import PrepareSettings
from ftcore.data.validate import validate_row
from ftcore.errors import DataError

DETECT_ROWS = 50  # rows of a file that its format is guessed from
DETECT_SCAN_LIMIT = 1000  # rows read at most while looking for them


@dataclass
class SourceFile:
    """One input file and what is known about it; counts fill in while it is read."""

    path: Path
    name: str  # how rows name the file: its name, or its path below the inputs' common folder
    file_type: str  # jsonl, json, csv, tsv, parquet, or hf (a Hugging Face dataset)
    encoding: str | None  # None for Parquet and Hugging Face datasets
    sha256: str
    size: int  # bytes; a Hugging Face dataset's rows (progress advances by either)
    spec: FormatSpec
    rows: int = 0
    rejected: int = 0

    def rows_read(self) -> Iterator[RawRow]:
        return iter_raw_rows(self.path, self.file_type, self.encoding)

    def to_json(self) -> dict:
        return {
            "file": self.name,
            "sha256": self.sha256,
            "bytes": self.size,
            "file_type": self.file_type,
            "encoding": self.encoding,
            "format": self.spec.format,
            "columns": self.spec.columns,
            "tags": self.spec.tags,
            "rows": self.rows,
            "valid": self.rows - self.rejected,
            "rejected": self.rejected,
        }


class HubSource(SourceFile):
    """One split of a Hugging Face dataset. Its sha256 is that of its rows as JSON Lines,
    known once they have all been read (the manifest is written after that)."""

    def __init__(self, dataset: HubDataset, rows, spec: FormatSpec):
        super().__init__(Path(dataset.id), dataset.name, "hf", None, "", len(rows), spec)
        self.dataset_rows = rows

    def rows_read(self) -> Iterator[RawRow]:
        digest = hashlib.sha256()
        for raw in iter_hub_rows(self.dataset_rows):
            digest.update(raw.raw.encode() + b"\n")
            yield raw
        self.sha256 = digest.hexdigest()

    def to_json(self) -> dict:
        return {**super().to_json(), "bytes": None, "split_rows": self.size}


def _open_hub(dataset: HubDataset, format: str, columns: dict, tags: dict) -> HubSource:
    rows = load_hub_split(dataset)
    if format == "auto":
        spec = detect_format(iter_hub_rows(rows), dataset.name, columns, tags)
    else:
        spec = make_spec(format, columns, tags)
    return HubSource(dataset, rows, spec)


def display_names(paths: Sequence[Path]) -> list[str]:
    """File names, or paths below the common folder when two files share a name: stable
    names that do not depend on where the inputs sit on this machine."""
    names = [path.name for path in paths]
    if len(set(names)) == len(names):
        return names
    common = Path(os.path.commonpath([path.resolve().parent for path in paths]))
    return [path.resolve().relative_to(common).as_posix() for path in paths]


def _sample_rows(rows: Iterator[RawRow]) -> tuple[list[dict], RawRow | None, int]:
    sample: list[dict] = []
    first_bad: RawRow | None = None
    read = 0
    for raw in rows:
        read += 1
        if isinstance(raw.data, dict):
            sample.append(raw.data)
        elif first_bad is None:
            first_bad = raw
        if len(sample) >= DETECT_ROWS or read >= DETECT_SCAN_LIMIT:
            break
    return sample, first_bad, read


def detect_format(rows: Iterator[RawRow], name: str, columns: dict, tags: dict) -> FormatSpec:
    """The format of a source from its first rows; DataError when it is not a dataset."""
    sample, first_bad, read = _sample_rows(rows)
    if not sample:
        if read == 0:
            raise DataError(f"{name} is empty: it holds no rows")
        problem = first_bad.problem.reason if first_bad.problem else "not an object"
        why = f"line {first_bad.line}: {problem}"
        raise DataError(
            f"{name} is not a dataset: none of its first {read} rows is an object with "
            f"named fields ({why})"
        )
    if looks_like_dataset_info(sample[0]):
        raise DataError(
            f"{name} is a LLaMA-Factory dataset_info.json, not data: give it as the "
            "dataset_info file (CLI: --dataset-info) and name the dataset"
        )
    spec = detect_spec(sample, columns)
    if spec is None:
        fields = sorted({key for row in sample for key in row})
        raise DataError(
            f"{name} is not a dataset in a known format: its rows have the fields "
            f"{', '.join(fields)}; expected alpaca (instruction, output), sharegpt "
            "(conversations) or openai (messages), or map the columns, e.g. "
            "--columns prompt=FIELD,response=FIELD"
        )
    return make_spec(spec.format, spec.columns, tags) if tags else spec


def _open_file(path: Path, name: str, format: str, columns: dict, tags: dict) -> SourceFile:
    file_type, encoding = detect(path)
    if format == "auto":
        rows = iter_raw_rows(path, file_type, encoding)
        spec = detect_format(rows, name, columns, tags)
    else:
        spec = make_spec(format, columns, tags)
    sha256, size = file_sha256(path), path.stat().st_size
    return SourceFile(path, name, file_type, encoding, sha256, size, spec)


def open_sources(
    inputs: Sequence[str | Path | HubDataset], format: str, columns: dict, tags: dict
) -> list[SourceFile]:
    """Every input opened and its format known (`format` 'auto' detects it). An input is
    a file, or a HubDataset (a "hf:OWNER/NAME" string means its train split)."""
    if not inputs:
        raise DataError("no input files given")
    inputs = [hub_input(item) if isinstance(item, str) else item for item in inputs]
    paths = [Path(item) for item in inputs if not isinstance(item, HubDataset)]
    for path in paths:  # every file checked before any is read
        if not path.is_file():
            raise DataError(
                f"input file {path} does not exist"
                if not path.exists()
                else f"{path} is not a file"
            )
    names = iter(display_names(paths))
    return [
        _open_hub(item, format, columns, tags)
        if isinstance(item, HubDataset)
        else _open_file(Path(item), next(names), format, columns, tags)
        for item in inputs
    ]


def preview_file(
    path: str | Path | HubDataset, settings: PrepareSettings | None = None, rows: int = 20
) -> tuple[SourceFile, list[tuple[RawRow, Record | Reject]]]:
    """One file (or Hub dataset) as prepare_dataset would read it, for a preview: its
    type, encoding and format, and its first rows, each as written and as the cleaned
    Record or the Reject saying why not."""
    settings = (settings or PrepareSettings()).validated()
    [source] = open_sources([path], settings.format, settings.columns, settings.tags)
    cleaner = Cleaner(settings.cleaning)
    return source, [
        (raw, validate_row(raw, source.spec, source.name, cleaner))
        for raw in islice(source.rows_read(), rows)
    ]
