"""Dataset versions: a folder of split files plus manifest.json, a content hash, SQLite.

A version folder holds train.jsonl, val.jsonl, test.jsonl (Record.to_json rows),
rejected.jsonl (Reject rows), duplicates.jsonl (one cluster a line) and manifest.json.
The content hash covers the name and sha256 of every input file, the settings, and the
sha256 of every file of rows written; no absolute path or timestamp enters it, so the
same files prepared with the same settings give the same hash on any machine.

The test split is sealed: `load_split` refuses it unless the caller passes
allow_test=True, so training and routine evaluation can only see train and val.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from ftcore.data.records import Record, Reject
from ftcore.data.split import SEALED_SPLIT, SPLITS
from ftcore.errors import DataError, SealedSplitError, did_you_mean
from ftcore.files import read_json, read_jsonl, write_json

MANIFEST = "manifest.json"
REJECTED = "rejected.jsonl"
DUPLICATES = "duplicates.jsonl"
MANIFEST_FORMAT = 1  # bump when the folder layout or the manifest's meaning changes
ROW_FILES = (*(f"{split}.jsonl" for split in SPLITS), REJECTED, DUPLICATES)


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def content_hash(manifest: dict) -> str:
    """sha256 over the inputs, the settings and the files written (see module docstring)."""
    hashed = {
        "format": manifest["manifest_format"],
        "sources": [(source["file"], source["sha256"]) for source in manifest["sources"]],
        "settings": manifest["settings"],
        "tokenizer": manifest.get("tokenizer"),
        "files": manifest["files"],
    }
    return hashlib.sha256(canonical_json(hashed)).hexdigest()


def is_version_folder(folder: Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


def write_manifest(folder: Path, manifest: dict) -> None:
    write_json(Path(folder) / MANIFEST, manifest)


def load_manifest(folder: str | Path) -> dict:
    """The manifest of a version folder; DataError when the folder is not a version."""
    manifest = read_json(Path(folder) / MANIFEST, missing_ok=True)
    if manifest is None:
        raise DataError(f"{folder} is not a dataset version: it has no {MANIFEST}")
    return manifest


def _read_rows(folder: Path, name: str, expected_sha256: str | None) -> list[dict]:
    path = folder / name
    if expected_sha256:
        with open(path, "rb") as file:
            if hashlib.file_digest(file, "sha256").hexdigest() != expected_sha256:
                raise DataError(
                    f"{path} was changed after the version was prepared "
                    "(its sha256 differs from the manifest); prepare the dataset again"
                )
    return read_jsonl(path, row_name="dataset row")


def load_split(folder: str | Path, split: str, *, allow_test: bool = False) -> list[Record]:
    """The records of one split. The sealed test split needs allow_test=True."""
    if split not in SPLITS:
        raise DataError(
            f"no split {split!r}: expected one of {', '.join(SPLITS)}.{did_you_mean(split, SPLITS)}"
        )
    if split == SEALED_SPLIT and not allow_test:
        raise SealedSplitError(
            "the test split is sealed: training and routine evaluation use train and val; "
            "pass allow_test=True (CLI: --use-test) only for the final evaluation"
        )
    folder = Path(folder)
    manifest = load_manifest(folder)
    name = f"{split}.jsonl"
    rows = _read_rows(folder, name, manifest["files"].get(name))
    return [Record.from_json(row) for row in rows]


def open_as_dataset_dict(folder: str | Path):
    """A version as a datasets.DatasetDict with train, validation and test splits, for
    people's own scripts (columns: id, messages, labels, source). It holds the sealed test
    split too: keep it for the final evaluation."""
    import datasets

    names = {"train": "train", "val": "validation", "test": "test"}
    return datasets.DatasetDict(
        {
            names[split]: datasets.Dataset.from_list(
                [record.to_json() for record in load_split(folder, split, allow_test=True)]
            )
            for split in SPLITS
        }
    )


def load_rejects(folder: str | Path) -> list[Reject]:
    folder = Path(folder)
    manifest = load_manifest(folder)
    return [Reject(**row) for row in _read_rows(folder, REJECTED, manifest["files"].get(REJECTED))]


def new_staging_folder(final: Path) -> Path:
    """An empty folder next to `final` to write into, published by publish_folder."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a version is an ordinary folder
    return staging


def check_output_folder(final: Path) -> None:
    """Refuse to replace a folder that holds anything but an earlier dataset version."""
    if final.exists() and (
        not final.is_dir() or (any(final.iterdir()) and not is_version_folder(final))
    ):
        raise DataError(
            f"{final} exists and is not a dataset version; choose a new or empty folder"
        )


def publish_folder(staging: Path, final: Path) -> Path:
    """Move a finished version into place, replacing an earlier version there."""
    check_output_folder(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    staging.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final


def register_version(database, name: str, folder: Path, manifest: dict) -> int:
    """Record a version in the workspace database (ftcore.db.Database); return its number.

    Versions are numbered per name; preparing the same content again keeps its number,
    and a folder holds one version, so re-preparing into it replaces its row.
    """
    from ftcore.db import utc_now

    path = str(Path(folder).resolve())
    with database.transaction() as db:
        same = db.execute(
            "SELECT version FROM dataset_versions WHERE name = ? AND content_hash = ?",
            [name, manifest["content_hash"]],
        ).fetchone()
        latest = db.execute(
            "SELECT MAX(version) FROM dataset_versions WHERE name = ?", [name]
        ).fetchone()[0]
        version = same[0] if same else (latest or 0) + 1
        db.execute("DELETE FROM dataset_versions WHERE path = ?", [path])
        db["dataset_versions"].insert(
            {
                "name": name,
                "version": version,
                "path": path,
                "content_hash": manifest["content_hash"],
                "created_at": utc_now(),
                "counts_json": json.dumps(manifest["counts"], ensure_ascii=False),
                "manifest_json": json.dumps(manifest, ensure_ascii=False),
            }
        )
    return version


def list_versions(database, name: str | None = None) -> list[dict]:
    """Registered versions, newest first, optionally of one dataset name."""
    where, params = ("WHERE name = ?", [name]) if name else ("", [])
    rows = database.query(
        "SELECT name, version, path, content_hash, created_at, counts_json "
        f"FROM dataset_versions {where} ORDER BY created_at DESC, id DESC",
        params,
    )
    for row in rows:
        row["counts"] = json.loads(row.pop("counts_json"))
    return rows
