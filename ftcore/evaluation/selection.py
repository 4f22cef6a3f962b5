"""Which examples an evaluation scores: a seeded sample of every split, stratified by label.

Splits are often stored in blocks of one label (the greetings' val split holds its four
styles one after another), so the first N rows of a split are a sample of one or two
labels, not of the split. Every split is therefore sampled the same way: a seeded sample
that keeps the proportions of the dataset's stratify label (the one the version manifest
records) or, for the probe set, of its `category` column, with the sampled rows kept in
file order. "train" is a sample as large as val (or the limit), so train and held-out
scores rest on equally many examples and a train/held-out gap is not an artefact of
sample size. The sealed test split is read only when asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from ftcore.data.formats import alpaca_to_messages
from ftcore.data.split import MISSING_LABEL, assign_splits
from ftcore.data.versions import SEALED_SPLIT, load_manifest, load_split
from ftcore.evaluation.generate import EvalExample, eval_example
from ftcore.files import numbered_jsonl

PROBE_LABEL = "category"  # the label column of probe sets such as data/probe/*.jsonl

T = TypeVar("T")


def stratified_sample(
    items: Sequence[T], labels: Sequence[str], size: int | None, seed: int
) -> list[T]:
    """`size` items (all when None or not fewer), each label's share kept to within one
    item, chosen with `seed`; in their original order. The allocation is the one that
    splits a dataset (ftcore.data.split.assign_splits): a sample is a two-way split."""
    if size is None or size >= len(items):
        return list(items)
    share = size / len(items)
    chosen = assign_splits(range(len(items)), labels, (share, 1 - share), seed)
    return [item for item, part in zip(items, chosen.tolist(), strict=True) if part == 0]


def stratify_label(data_dir: str | Path) -> str | None:
    """The label a dataset version was split by, as its manifest records it (or None)."""
    return load_manifest(data_dir)["settings"].get("stratify")


def split_examples(
    data_dir: str | Path, split: str, *, limit: int | None, seed: int
) -> list[EvalExample]:
    """The examples of `split` an evaluation scores (see the module docstring)."""
    data_dir = Path(data_dir)
    records = load_split(data_dir, split, allow_test=split == SEALED_SPLIT)
    size = limit
    if split == "train":
        val_size = len(load_split(data_dir, "val"))
        size = val_size if limit is None else min(limit, val_size)
    label = stratify_label(data_dir)
    strata = [str(r.labels.get(label, MISSING_LABEL)) if label else "" for r in records]
    return [
        eval_example(record.id or f"{split}-{index}", record.messages)
        for index, record in stratified_sample(
            list(enumerate(records, start=1)), strata, size, seed
        )
    ]


def probe_examples(
    path: str | Path, *, limit: int | None = None, seed: int = 0
) -> list[EvalExample]:
    """An alpaca JSONL probe set (e.g. data/probe/general_probe.jsonl) as examples: a
    sample of `limit` rows stratified by PROBE_LABEL (all rows when None)."""
    rows = list(numbered_jsonl(path, row_name="probe row"))
    strata = [str(row.get(PROBE_LABEL, MISSING_LABEL)) for _, row in rows]
    return [
        eval_example(row.get("id") or f"probe-{number}", alpaca_to_messages(row))
        for number, row in stratified_sample(rows, strata, limit, seed)
    ]


def train_targets(data_dir: str | Path) -> list[str]:
    """Every reply the model was trained on, to detect held-out outputs that copy one."""
    return [eval_example(r.id or "", r.messages).reference for r in load_split(data_dir, "train")]
