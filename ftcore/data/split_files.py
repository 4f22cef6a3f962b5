"""Write a version's row files from the spool: the splits, the duplicate clusters, and
the leakage report, with the per-split statistics the manifest shows."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from ftcore.data import versions
from ftcore.data.dedup import Duplicates
from ftcore.data.settings import PrepareSettings
from ftcore.data.split import SEALED_SPLIT, SPLITS, find_leaks
from ftcore.data.split_stats import LabelCounts, length_stats
from ftcore.data.spool import RowSpool
from ftcore.files import json_line
from ftcore.progress import Progress

logger = logging.getLogger(__name__)

SHOWN_CLUSTERS = 200  # clusters kept in memory for display; duplicates.jsonl has them all
SHOWN_LEAKS = 100
PROGRESS_EVERY = 2000


def write_splits(
    spool: RowSpool,
    split_of: np.ndarray,
    staging: Path,
    unit: str,
    progress: Progress | None = None,
) -> tuple[dict, list[str]]:
    """Write train/val/test.jsonl; return each split's statistics and the labels with too
    many values to tabulate. `progress` gets the fraction of this step that is done."""
    digests = {split: hashlib.sha256() for split in SPLITS}
    labels = LabelCounts()
    files = {split: open(staging / f"{split}.jsonl", "wb") for split in SPLITS}  # noqa: SIM115
    try:
        for row, line in spool:
            if split_of[row] < 0:
                continue
            split = SPLITS[split_of[row]]
            files[split].write(line)  # the spool holds Record.to_json lines already
            digests[split].update(line)
            labels.add(split, json.loads(line)["labels"])
            if progress and row % PROGRESS_EVERY == 0:
                progress(row / len(spool), f"writing splits: {row} rows")
    finally:
        for file in files.values():
            file.close()
    lengths = spool.length_array()
    stats = {
        split: {
            "rows": int((split_of == index).sum()),
            "sealed": split == SEALED_SPLIT,
            "sha256": digests[split].hexdigest(),
            "labels": labels.for_split(split),
            "length": length_stats(lengths[split_of == index], unit),
        }
        for index, split in enumerate(SPLITS)
    }
    return stats, sorted(labels.too_many)


def _row_ref(spool: RowSpool, row: int) -> dict:
    record = spool.record(row)
    text = " / ".join(m["content"] for m in record.messages if m["role"] != "system")
    source = record.source
    return {"id": record.id, "file": source.file, "line": source.line, "text": text[:120]}


def write_duplicates(spool: RowSpool, duplicates: Duplicates, staging: Path) -> list[dict]:
    """Write duplicates.jsonl, one cluster a line: the row kept and each member with its
    kind, similarity and whether it was dropped. Returns the first SHOWN_CLUSTERS."""
    shown = []
    with open(staging / versions.DUPLICATES, "w", encoding="utf-8") as file:
        for cluster in duplicates.clusters:
            members = [
                {
                    **_row_ref(spool, m.row),
                    "kind": m.kind,
                    "similarity": m.similarity,
                    "dropped": m.dropped,
                }
                for m in cluster.members
            ]
            entry = {"kept": _row_ref(spool, cluster.kept), "members": members}
            file.write(json_line(entry))
            if len(shown) < SHOWN_CLUSTERS:
                shown.append(entry)
    return shown


def leakage_report(spool: RowSpool, split_of: np.ndarray, settings: PrepareSettings) -> dict:
    """The manifest's leakage section: duplicate pairs found across splits, checked anew."""
    leaks = find_leaks(
        split_of,
        spool.exact_key_array(),
        spool.hashes,
        spool.near_text,
        threshold=settings.near_dup or 1.0,
        ngram=settings.ngram,
    )
    if leaks:  # clusters are split as units, so this means a bug, not bad data
        logger.warning("%d duplicate pairs cross splits", len(leaks))
    examples = [
        {
            "rows": [_row_ref(spool, leak.first), _row_ref(spool, leak.second)],
            "splits": list(leak.splits),
            "similarity": leak.similarity,
        }
        for leak in leaks[:SHOWN_LEAKS]
    ]
    checked = "exact and near duplicates" if settings.near_dup else "exact duplicates"
    return {
        "checked": checked,
        "threshold": settings.near_dup,
        "pairs": len(leaks),
        "examples": examples,
    }
