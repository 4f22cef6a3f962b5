"""Training data: read a dataset version folder and turn it into deterministic batches.

A dataset version (ftcore.data.versions) is a folder with manifest.json, train.jsonl and
val.jsonl whose rows are `Record.to_json()` dicts. Its test.jsonl is sealed for the final
evaluation and is never opened here. Labels come from `chat_format.encode_for_training`
(reply tokens only, end of turn included), never from a collator that masks pad tokens,
which would also mask EOS when pad = EOS.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ftcore.chat_format import IGNORE_INDEX, encode_for_training
from ftcore.data.records import Record
from ftcore.data.versions import load_manifest, load_split
from ftcore.errors import ChatTemplateError, DataError, DatasetNotFoundError, EmptyDatasetError

logger = logging.getLogger(__name__)

TRAIN_FILE, VAL_FILE = "train.jsonl", "val.jsonl"
GROUP_SIZE = 50  # batches per length-sorted group when grouping by length, as HF does


@dataclass(frozen=True)
class DatasetSplits:
    folder: Path
    train: list[Record]
    val: list[Record]  # may be empty: no validation, no early stopping
    content_hash: str  # the manifest's: which data a run trained on


@dataclass(frozen=True)
class TrainRow:
    """One row of a batch: a conversation, or several packed into one row."""

    input_ids: list[int]
    labels: list[int]  # IGNORE_INDEX on prompt tokens
    position_ids: list[int] | None = None  # packed rows only: restarts for each conversation

    @cached_property
    def n_targets(self) -> int:
        """Tokens the loss is computed on (the first token has nothing to predict it)."""
        return sum(label != IGNORE_INDEX for label in self.labels[1:])


@dataclass(frozen=True)
class EncodedSplit:
    rows: list[TrainRow]
    n_truncated: int  # conversations cut at max_length
    n_dropped: int  # conversations left with no reply token after the cut


def load_dataset_folder(folder: str | Path) -> DatasetSplits:
    """The train and val splits of a dataset version, read as evaluation reads them
    (ftcore.data.versions: each file is checked against its sha256 in the manifest),
    refusing a missing folder, a folder that is not a version, and an empty train split."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DatasetNotFoundError(f"dataset folder {folder} does not exist")
    if not (folder / TRAIN_FILE).is_file():
        raise DatasetNotFoundError(f"dataset folder {folder} holds no {TRAIN_FILE}")
    manifest = load_manifest(folder)
    train = load_split(folder, "train")
    if not train:
        raise EmptyDatasetError(f"{folder / TRAIN_FILE} holds no conversations to train on")
    val = load_split(folder, "val") if (folder / VAL_FILE).is_file() else []
    if not val:
        logger.warning("%s has no validation rows: no val loss, no early stopping", folder)
    return DatasetSplits(folder, train, val, manifest["content_hash"])


def encode_split(tokenizer, records: Sequence[Record], max_length: int, what: str) -> EncodedSplit:
    """Encode conversations, cutting each at `max_length` tokens; a conversation whose
    replies are all cut off teaches nothing and is dropped (and counted)."""
    rows: list[TrainRow] = []
    n_truncated = n_dropped = 0
    for index, record in enumerate(records, start=1):
        try:
            encoded = encode_for_training(tokenizer, record.messages)
        except ChatTemplateError as exc:
            raise DataError(f"{what} row {record.id or index}: {exc}") from exc
        row = TrainRow(encoded.input_ids[:max_length], encoded.labels[:max_length])
        n_truncated += len(encoded.input_ids) > max_length
        if row.n_targets == 0:
            n_dropped += 1
            continue
        rows.append(row)
    if n_truncated:
        logger.warning(
            "%s: %d of %d conversations cut at %d tokens",
            what,
            n_truncated,
            len(records),
            max_length,
        )
    return EncodedSplit(rows, n_truncated, n_dropped)


def pack_rows(rows: Sequence[TrainRow], max_length: int) -> list[TrainRow]:
    """Concatenate conversations, in order, into rows of at most `max_length` tokens.

    Position ids restart at 0 for each conversation; given position ids, no attention
    mask and no KV cache (use_cache=False), transformers builds a block-diagonal causal
    mask, so a conversation never attends to its neighbours. The first token of each
    conversation is a prompt token (label IGNORE_INDEX), so no loss crosses a boundary.
    """
    packed: list[TrainRow] = []
    ids: list[int] = []
    labels: list[int] = []
    positions: list[int] = []
    for row in rows:
        if ids and len(ids) + len(row.input_ids) > max_length:
            packed.append(TrainRow(ids, labels, positions))
            ids, labels, positions = [], [], []
        ids.extend(row.input_ids)
        labels.extend(row.labels)
        positions.extend(range(len(row.input_ids)))
    if ids:
        packed.append(TrainRow(ids, labels, positions))
    return packed


def epoch_batches(
    lengths: Sequence[int], batch_size: int, *, seed: int, epoch: int, group_by_length: bool
) -> list[list[int]]:
    """Row indices of each micro-batch of one epoch: a function of seed and epoch only,
    so a resumed run sees exactly the batches an uninterrupted one would."""
    order = list(range(len(lengths)))
    rng = random.Random(seed * 1_000_003 + epoch)
    rng.shuffle(order)
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if not group_by_length:
        return batches
    # Sort within groups of GROUP_SIZE batches by length, then shuffle the batch order:
    # little padding, yet the order still changes every epoch.
    group = GROUP_SIZE * batch_size
    grouped: list[list[int]] = []
    for start in range(0, len(order), group):
        chunk = sorted(order[start : start + group], key=lambda i: lengths[i], reverse=True)
        grouped += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(grouped)
    return grouped


def collate(rows: Sequence[TrainRow], pad_id: int) -> dict:
    """Tensors for a micro-batch. Packed rows carry position_ids and no attention mask
    (see pack_rows); padding after them forms one more segment with no labels."""
    import torch

    from ftcore.nll import pad_batch

    batch = pad_batch(rows, pad_id)
    if rows[0].position_ids is None:
        return batch
    width = batch["input_ids"].shape[1]
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        n = len(row.position_ids)
        positions[index, :n] = torch.tensor(row.position_ids, dtype=torch.long)
        positions[index, n:] = torch.arange(width - n)
    del batch["attention_mask"]
    batch["position_ids"] = positions
    return batch
