"""Read one entry of a LLaMA-Factory dataset_info.json: its inputs and its format.

An entry's inputs are its local `file_name` (a file or a folder of files), or its
`hf_hub_url` as a HubDataset (read from the Hugging Face cache; see hub_source). Script
and other hub entries are refused. `formatting`, `columns` and `tags` map onto a
FormatSpec; columns this project does not train on (tools, images, …) are ignored with a
warning rather than refused.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from ftcore.data.formats import COLUMN_DEFAULTS, TAG_DEFAULTS, FormatSpec, make_spec
from ftcore.data.hub_source import DEFAULT_SPLIT, HubDataset
from ftcore.data.readers import EXTENSIONS
from ftcore.errors import ConfigError, DataError, did_you_mean

logger = logging.getLogger(__name__)

LF_FORMATTINGS = ("alpaca", "sharegpt")


def read_dataset_info(path: Path) -> dict:
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read dataset_info file {path}: {exc}") from exc
    if not isinstance(info, dict) or not all(isinstance(v, dict) for v in info.values()):
        raise DataError(f"{path} is not a dataset_info.json: expected an object of entries")
    return info


def _entry(info: dict, name: str | None, path: Path) -> tuple[str, dict]:
    if name is None:
        if len(info) != 1:
            raise ConfigError("dataset", None, f"one of the entries in {path}: {', '.join(info)}")
        name = next(iter(info))
    if name not in info:
        allowed = f"an entry of {path}: {', '.join(info)}.{did_you_mean(name, info)}"
        raise ConfigError("dataset", name, allowed)
    return name, info[name]


def list_entries(path: str | Path) -> list[str]:
    """The entry names of a dataset_info.json, in the file's order."""
    return list(read_dataset_info(Path(path)))


def _files(entry_name: str, entry: dict, base: Path) -> list[Path | HubDataset]:
    if "file_name" not in entry and "hf_hub_url" in entry:
        split = entry.get("split", DEFAULT_SPLIT)
        return [HubDataset(entry["hf_hub_url"], split, entry.get("subset"))]
    if "file_name" not in entry:
        raise DataError(
            f"dataset {entry_name!r} has neither a local file_name nor an hf_hub_url; "
            "script and other hub entries are not supported: download the file and point "
            "file_name at it"
        )
    target = base / entry["file_name"]
    if target.is_dir():  # LLaMA-Factory reads every file of a folder entry
        files = sorted(p for p in target.iterdir() if p.suffix.lower() in EXTENSIONS)
        if not files:
            raise DataError(f"dataset {entry_name!r}: folder {target} holds no data files")
        return files
    if not target.is_file():
        raise DataError(f"dataset {entry_name!r}: file {target} does not exist")
    return [target]


def spec_from_entry(entry_name: str, entry: dict) -> FormatSpec:
    """The FormatSpec that reads a dataset_info entry the way LLaMA-Factory does."""
    if entry.get("ranking"):
        raise DataError(f"dataset {entry_name!r} is a preference (ranking) dataset; not supported")
    formatting = entry.get("formatting", "alpaca")
    if formatting not in LF_FORMATTINGS:
        allowed = f"one of {', '.join(LF_FORMATTINGS)}{did_you_mean(formatting, LF_FORMATTINGS)}"
        raise ConfigError(f"{entry_name}.formatting", formatting, allowed)
    columns, tags = dict(entry.get("columns") or {}), dict(entry.get("tags") or {})
    ignored = [c for c in columns if c not in COLUMN_DEFAULTS[formatting]]
    ignored += [t for t in tags if t not in TAG_DEFAULTS[formatting]]
    if ignored:
        logger.warning("dataset %s: ignoring %s (not used for training here)", entry_name, ignored)
    columns = {k: v for k, v in columns.items() if k in COLUMN_DEFAULTS[formatting]}
    tags = {k: v for k, v in tags.items() if k in TAG_DEFAULTS[formatting]}
    return make_spec(formatting, columns, tags)


def load_dataset_info(
    path: str | Path, name: str | None = None
) -> tuple[list[Path | HubDataset], FormatSpec]:
    """The inputs of entry `name` (the only entry when None) and how to read them."""
    path = Path(path)
    entry_name, entry = _entry(read_dataset_info(path), name, path)
    return _files(entry_name, entry, path.parent), spec_from_entry(entry_name, entry)


def inputs_and_spec(
    inputs: Sequence[str | Path | HubDataset], info: str | Path | None, name: str | None
) -> tuple[list[str | Path | HubDataset], FormatSpec | None]:
    """What to prepare: `inputs`, or else the inputs of entry `name` of the dataset_info
    file `info`; and that entry's FormatSpec (None without an `info` file)."""
    inputs, spec = list(inputs), None
    if info:
        entry_inputs, spec = load_dataset_info(info, name)
        inputs = inputs or entry_inputs
    if not inputs:
        raise DataError("no input files: give files, hf:OWNER/NAME or a dataset_info entry")
    return inputs, spec


def looks_like_dataset_info(value: object) -> bool:
    """True for a parsed JSON object whose values are dataset_info entries."""
    return (
        isinstance(value, dict)
        and bool(value)
        and all(
            isinstance(v, dict) and ("file_name" in v or "hf_hub_url" in v) for v in value.values()
        )
    )
