"""Training data: dataset versions, reply-only labels, truncation, batch order, packing.

`write_dataset` is imported by the other test_training_* modules.
"""

import json
from pathlib import Path

import pytest
import torch

from ftcore.chat_format import IGNORE_INDEX
from ftcore.data import versions
from ftcore.data.formats import alpaca_to_messages, sharegpt_to_messages
from ftcore.data.readers import file_sha256
from ftcore.data.records import Record, SourceRef
from ftcore.errors import DataError, DatasetNotFoundError, EmptyDatasetError
from ftcore.nll import example_nlls, token_nll_sums
from ftcore.training.batches import (
    TrainRow,
    collate,
    encode_split,
    epoch_batches,
    load_dataset_folder,
    pack_rows,
)

DATA = Path(__file__).resolve().parent.parent / "data"
LABELS = ("style", "scene", "intensity")


def greeting_records(start: int, count: int) -> list[Record]:
    path = DATA / "greetings/spring_festival_greetings.jsonl"
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    return [
        Record(
            alpaca_to_messages(row),
            {k: row[k] for k in LABELS},
            SourceRef(path.name, number),
            row["id"],
        )
        for number, row in enumerate(rows[start : start + count], start=start + 1)
    ]


def chat_records(start: int, count: int) -> list[Record]:
    path = DATA / "multiturn/greeting_chats.sharegpt.json"
    chats = json.loads(path.read_text("utf-8"))[start : start + count]
    return [
        Record(sharegpt_to_messages(chat), {"style": chat["style"]}, None, f"chat-{start + i}")
        for i, chat in enumerate(chats)
    ]


def seal_version(folder: Path) -> dict:
    """Write manifest.json over the row files in `folder` as ftcore.data.prepare does (the
    sha256 of each file and the content hash over them), so the folder is a dataset
    version that ftcore.data.versions reads and checks; return the manifest."""
    files = {path.name: file_sha256(path) for path in sorted(folder.glob("*.jsonl"))}
    manifest = {
        "manifest_format": versions.MANIFEST_FORMAT,
        "name": folder.name,
        "sources": [],
        "settings": {},
        "tokenizer": None,
        "files": files,
    }
    manifest["content_hash"] = versions.content_hash(manifest)
    versions.write_manifest(folder, manifest)
    return manifest


def write_dataset(folder: Path, n_train: int = 48, n_val: int = 16, n_chats: int = 0) -> Path:
    """A dataset version with exactly these rows: greetings (and multi-turn chats) as
    Record rows, plus a test.jsonl that is not even JSON, to prove training never reads
    it. (`prepared_greetings` in conftest is a version made by ftcore.data.prepare.)"""
    train = greeting_records(0, n_train - n_chats) + chat_records(0, n_chats)
    val = greeting_records(400, n_val)
    folder.mkdir(parents=True, exist_ok=True)
    for name, records in (("train", train), ("val", val)):
        lines = [json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in records]
        (folder / f"{name}.jsonl").write_text("".join(lines), "utf-8")
    (folder / "test.jsonl").write_text("sealed: never read during training\n", "utf-8")
    seal_version(folder)
    return folder


def test_dataset_folder_gives_train_and_val_and_never_reads_test(tmp_path):
    splits = load_dataset_folder(write_dataset(tmp_path / "ds", 12, 4, n_chats=2))
    assert (len(splits.train), len(splits.val)) == (12, 4)
    assert splits.train[0].id == "greet-0001"
    assert splits.train[0].labels == {"style": "warm", "scene": "elders", "intensity": "high"}
    assert splits.train[-1].messages[-1]["role"] == "assistant"


def test_missing_or_empty_dataset_is_refused_with_a_named_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_dataset_folder(tmp_path / "nothing")
    (tmp_path / "no-train").mkdir()
    with pytest.raises(DatasetNotFoundError, match="holds no train.jsonl"):
        load_dataset_folder(tmp_path / "no-train")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "train.jsonl").write_text("\n", "utf-8")
    seal_version(empty)
    with pytest.raises(EmptyDatasetError, match="no conversations"):
        load_dataset_folder(empty)


def test_a_folder_that_is_not_a_dataset_version_is_refused(tmp_path):
    folder = write_dataset(tmp_path / "ds", 3, 1)
    (folder / "manifest.json").unlink()
    with pytest.raises(DataError, match="is not a dataset version: it has no manifest.json"):
        load_dataset_folder(folder)


def test_a_split_changed_after_preparing_is_refused(prepared_greetings, tmp_path):
    import shutil

    folder = Path(shutil.copytree(prepared_greetings.path, tmp_path / "copy"))
    splits = load_dataset_folder(folder)
    assert splits.content_hash == prepared_greetings.content_hash
    assert (len(splits.train), len(splits.val)) == (
        prepared_greetings.manifest["splits"]["train"]["rows"],
        prepared_greetings.manifest["splits"]["val"]["rows"],
    )
    lines = (folder / "val.jsonl").read_text("utf-8").splitlines(keepends=True)
    (folder / "val.jsonl").write_text("".join(lines[1:]), "utf-8")  # one row removed
    with pytest.raises(DataError, match="val.jsonl was changed after the version was prepared"):
        load_dataset_folder(folder)


def test_a_broken_row_names_file_and_line(tmp_path):
    folder = write_dataset(tmp_path / "ds", 3, 1)
    with (folder / "train.jsonl").open("a", encoding="utf-8") as out:
        out.write('{"messages": [\n')
    seal_version(folder)  # the broken row is part of the version: the reader must say where
    with pytest.raises(DataError, match=r"train.jsonl:4: not a dataset row"):
        load_dataset_folder(folder)


def test_only_reply_tokens_carry_labels_in_every_assistant_turn(demo_tokenizer):
    [chat] = chat_records(0, 1)
    encoded = encode_split(demo_tokenizer, [chat], max_length=4096, what="train")
    row = encoded.rows[0]
    trained = demo_tokenizer.decode(
        [t for t, y in zip(row.input_ids, row.labels, strict=True) if y >= 0]
    )
    replies = [m["content"] for m in chat.messages if m["role"] == "assistant"]
    assert trained == "".join(f"{reply}<|im_end|>" for reply in replies)  # no "\n" after it
    assert (encoded.n_truncated, encoded.n_dropped) == (0, 0)


def test_truncation_is_counted_and_a_conversation_without_reply_is_dropped(demo_tokenizer):
    records = greeting_records(0, 6)
    full = encode_split(demo_tokenizer, records, max_length=4096, what="train")
    lengths = [len(row.input_ids) for row in full.rows]
    cut = sorted(lengths)[3]  # three conversations are longer than this
    encoded = encode_split(demo_tokenizer, records, max_length=cut, what="train")
    assert encoded.n_truncated == sum(n > cut for n in lengths) > 0
    assert all(len(row.input_ids) <= cut for row in encoded.rows)
    # Cut before the earliest reply starts: no conversation keeps a reply token.
    prompt_only = min(next(i for i, y in enumerate(row.labels) if y >= 0) for row in full.rows)
    tiny = encode_split(demo_tokenizer, records, max_length=prompt_only, what="train")
    assert (tiny.rows, tiny.n_dropped, tiny.n_truncated) == ([], 6, 6)


def test_batch_order_depends_on_seed_and_epoch_only():
    lengths = list(range(10, 30))
    first = epoch_batches(lengths, 4, seed=1, epoch=0, group_by_length=False)
    assert first == epoch_batches(lengths, 4, seed=1, epoch=0, group_by_length=False)
    assert first != epoch_batches(lengths, 4, seed=1, epoch=1, group_by_length=False)
    assert first != epoch_batches(lengths, 4, seed=2, epoch=0, group_by_length=False)
    assert sorted(i for batch in first for i in batch) == list(range(20))
    assert [len(batch) for batch in first] == [4] * 5


def test_grouping_by_length_cuts_padding():
    lengths = [10, 200] * 40

    def padding(batches):
        return sum(
            max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches
        )

    plain = epoch_batches(lengths, 4, seed=0, epoch=0, group_by_length=False)
    grouped = epoch_batches(lengths, 4, seed=0, epoch=0, group_by_length=True)
    assert sorted(i for b in grouped for i in b) == list(range(80))
    assert padding(grouped) == 0 < padding(plain)


def test_packing_fills_rows_and_restarts_positions():
    rows = [TrainRow([1] * 5, [IGNORE_INDEX] + [1] * 4), TrainRow([2] * 4, [IGNORE_INDEX] * 4)]
    rows.append(TrainRow([3] * 6, [IGNORE_INDEX, 3, 3, 3, 3, 3]))
    packed = pack_rows(rows, max_length=10)
    assert [row.input_ids for row in packed] == [[1] * 5 + [2] * 4, [3] * 6]
    assert packed[0].position_ids == [0, 1, 2, 3, 4, 0, 1, 2, 3]
    batch = collate(packed, pad_id=0)
    assert "attention_mask" not in batch
    assert batch["position_ids"].tolist() == [
        [0, 1, 2, 3, 4, 0, 1, 2, 3],
        [0, 1, 2, 3, 4, 5, 0, 1, 2],  # padding forms its own segment
    ]
    assert batch["labels"][1, 6:].tolist() == [IGNORE_INDEX] * 3


def test_packed_conversations_do_not_see_each_other(demo_chat_model, demo_tokenizer):
    model = demo_chat_model.loaded.model
    rows = encode_split(demo_tokenizer, greeting_records(0, 6), 4096, "train").rows
    separate = example_nlls(model, rows, pad_id=demo_tokenizer.pad_token_id, batch_size=6)
    packed = pack_rows(rows, max_length=4096)
    assert len(packed) == 1
    batch = collate(packed, pad_id=demo_tokenizer.pad_token_id)
    with torch.no_grad():
        logits = model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
        ).logits
    nll, count = token_nll_sums(logits, batch["labels"])
    assert count.item() == sum(p.n_tokens for p in separate)
    assert nll.item() == pytest.approx(sum(p.nll_sum for p in separate), rel=1e-4)
