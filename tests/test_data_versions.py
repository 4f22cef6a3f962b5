"""Dataset versions: manifest, deterministic content hash, sealed test split, SQLite."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from ftcore.data.prepare import prepare_dataset
from ftcore.data.settings import PrepareSettings
from ftcore.data.versions import list_versions, load_manifest, load_split, register_version
from ftcore.db import Database
from ftcore.errors import DataError, SealedSplitError

FIXTURES = Path(__file__).parent / "fixtures" / "data"
INPUTS = [FIXTURES / "alpaca.jsonl", FIXTURES / "sharegpt.json", FIXTURES / "qa.csv"]
ROW_FILES = ["train.jsonl", "val.jsonl", "test.jsonl", "rejected.jsonl", "duplicates.jsonl"]


@pytest.fixture
def greetings(tmp_path):
    """40 labelled rows: 20 warm, 10 formal, 10 humorous."""
    styles = ["warm"] * 20 + ["formal"] * 10 + ["humorous"] * 10
    rows = [
        {
            "id": f"g{i}",
            "instruction": f"给第{i}位亲友写祝福",
            "output": f"第{i}位亲友，新年快乐！",
            "style": s,
        }
        for i, s in enumerate(styles)
    ]
    path = tmp_path / "inputs" / "greetings.jsonl"
    path.parent.mkdir()
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    return path


def test_manifest_records_sources_stages_splits_and_settings(tmp_path, greetings):
    settings = PrepareSettings(stratify="style", seed=3)
    result = prepare_dataset([greetings], tmp_path / "v1", settings)
    manifest = load_manifest(result.path)
    assert manifest == result.manifest
    [source] = manifest["sources"]
    assert source["sha256"] == hashlib.sha256(greetings.read_bytes()).hexdigest()
    assert (source["file"], source["format"], source["encoding"], source["rows"]) == (
        "greetings.jsonl",
        "alpaca",
        "utf-8",
        40,
    )
    assert manifest["counts"] == {
        "read": 40,
        "rejected": 0,
        "valid": 40,
        "cleaned": 40,
        "within_max_tokens": 40,
        "exact_duplicates": 0,
        "near_duplicates": 0,
        "kept": 40,
        "train": 32,
        "val": 4,
        "test": 4,
    }
    assert manifest["splits"]["train"]["labels"]["style"] == {
        "formal": 8,
        "humorous": 8,
        "warm": 16,
    }
    for split in ("val", "test"):
        assert manifest["splits"][split]["labels"]["style"] == {
            "formal": 1,
            "humorous": 1,
            "warm": 2,
        }
    assert manifest["splits"]["train"]["length"]["unit"] == "characters"
    assert manifest["splits"]["test"]["sealed"] and not manifest["splits"]["train"]["sealed"]
    assert manifest["settings"]["seed"] == 3 and manifest["settings"]["stratify"] == "style"
    for name in ROW_FILES:
        assert (
            manifest["files"][name] == hashlib.sha256((result.path / name).read_bytes()).hexdigest()
        )


def test_same_input_and_settings_give_the_same_hash_and_bytes(tmp_path, greetings):
    first = prepare_dataset([greetings], tmp_path / "a", PrepareSettings(stratify="style"))
    moved = tmp_path / "elsewhere" / "deeper" / "greetings.jsonl"
    moved.parent.mkdir(parents=True)
    shutil.copy(greetings, moved)
    second = prepare_dataset([moved], tmp_path / "b", PrepareSettings(stratify="style"))
    assert first.content_hash == second.content_hash
    for name in ROW_FILES:
        assert (first.path / name).read_bytes() == (second.path / name).read_bytes()
    first.manifest.pop("created_at"), second.manifest.pop("created_at")
    assert first.manifest == second.manifest


@pytest.mark.parametrize(
    "change", [{"seed": 4}, {"split": (0.7, 0.2, 0.1)}, {"near_dup": None}, {"stratify": None}]
)
def test_other_settings_give_another_hash(tmp_path, greetings, change):
    base = prepare_dataset([greetings], tmp_path / "a", PrepareSettings(stratify="style"))
    other = prepare_dataset(
        [greetings], tmp_path / "b", PrepareSettings(**{"stratify": "style", **change})
    )
    assert base.content_hash != other.content_hash


def test_other_input_bytes_give_another_hash(tmp_path, greetings):
    base = prepare_dataset([greetings], tmp_path / "a")
    greetings.write_bytes(greetings.read_bytes().replace(b"\n", b"\r\n"))  # same rows, CRLF
    other = prepare_dataset([greetings], tmp_path / "b")
    assert (base.path / "train.jsonl").read_bytes() == (other.path / "train.jsonl").read_bytes()
    assert base.content_hash != other.content_hash


def test_test_split_is_sealed_unless_asked_for(tmp_path, greetings):
    result = prepare_dataset([greetings], tmp_path / "v1")
    assert [r.id for r in load_split(result.path, "val")]
    with pytest.raises(SealedSplitError, match="sealed"):
        load_split(result.path, "test")
    test = load_split(result.path, "test", allow_test=True)
    assert len(test) == result.counts["test"] == 4
    with pytest.raises(DataError, match="Did you mean 'train'"):
        load_split(result.path, "trian")


def test_a_changed_split_file_is_refused(tmp_path, greetings):
    result = prepare_dataset([greetings], tmp_path / "v1")
    with open(result.path / "val.jsonl", "a", encoding="utf-8") as file:
        file.write(json.dumps({"id": "sneaked", "messages": [], "labels": {}}) + "\n")
    with pytest.raises(DataError, match="changed after the version was prepared"):
        load_split(result.path, "val")


def test_records_round_trip_through_a_version(tmp_path):
    result = prepare_dataset(
        [FIXTURES / "alpaca.jsonl"], tmp_path / "v1", PrepareSettings(split=(1, 0, 0))
    )
    [first, *_] = load_split(result.path, "train")
    assert first.id == "a1"
    assert first.labels == {"style": "warm", "intensity": 2}
    assert (first.source.file, first.source.line) == ("alpaca.jsonl", 1)
    assert first.messages[-1] == {"role": "assistant", "content": "奶奶，新年好！祝您福寿安康。"}


def test_versions_are_registered_and_numbered_per_name(tmp_path, greetings, workspace):
    database = Database.for_workspace(workspace)
    first = prepare_dataset([greetings], None, workspace=workspace, database=database, name="greet")
    again = prepare_dataset([greetings], None, workspace=workspace, database=database, name="greet")
    other = prepare_dataset(
        [greetings],
        None,
        PrepareSettings(seed=9),
        workspace=workspace,
        database=database,
        name="greet",
    )
    assert first.path == workspace.datasets / "greet" / first.content_hash[:12]
    assert (first.version, again.version, other.version) == (1, 1, 2)
    listed = list_versions(database, "greet")
    assert [(row["version"], row["content_hash"]) for row in listed] == [
        (2, other.content_hash),
        (1, first.content_hash),
    ]
    assert listed[0]["counts"]["kept"] == 40
    stored = json.loads(
        database.query_value("SELECT manifest_json FROM dataset_versions WHERE id = 1")
    )
    assert stored["content_hash"] == first.content_hash


def test_registering_a_folder_again_replaces_its_row(tmp_path, greetings, workspace):
    database = Database.for_workspace(workspace)
    result = prepare_dataset([greetings], tmp_path / "v1")
    register_version(database, "greet", result.path, result.manifest)
    register_version(database, "greet", result.path, result.manifest)
    assert database.query_value("SELECT COUNT(*) FROM dataset_versions") == 1


def test_output_folder_with_other_files_is_not_replaced(tmp_path, greetings):
    target = tmp_path / "my-stuff"
    target.mkdir()
    (target / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(DataError, match="not a dataset version"):
        prepare_dataset([greetings], target)
    assert (target / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_an_earlier_version_in_the_folder_is_replaced(tmp_path, greetings):
    first = prepare_dataset([greetings], tmp_path / "v")
    second = prepare_dataset([greetings], tmp_path / "v", PrepareSettings(seed=1))
    assert (
        load_manifest(tmp_path / "v")["content_hash"] == second.content_hash != first.content_hash
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs", "v"]  # no staging left


def test_no_valid_rows_writes_nothing_and_says_why(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"instruction": "q"}\n{"instruction": "q", "output": ""}\nnot json\n', encoding="utf-8"
    )
    with pytest.raises(DataError) as caught:
        prepare_dataset([path], tmp_path / "out", PrepareSettings(format="alpaca"))
    message = str(caught.value)
    assert message.startswith("no valid rows: all 3 rows of bad.jsonl were rejected")
    assert (
        "missing_field 1" in message
        and "first: bad.jsonl:1: output: the field is missing" in message
    )
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]


def test_progress_is_reported_from_zero_to_one(tmp_path):
    rows = [
        {"instruction": f"第{i}个问题", "output": f"第{i}个回答，内容各不相同。"}
        for i in range(5000)
    ]
    path = tmp_path / "many.jsonl"
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    seen = []
    prepare_dataset(
        [path], tmp_path / "out", progress=lambda fraction, message: seen.append(fraction)
    )
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert len(seen) >= 4 and 0 < seen[0] < 0.8


def test_settings_round_trip_through_the_manifest(tmp_path, greetings):
    from ftcore.data.clean import CleaningSettings

    settings = PrepareSettings(
        columns={"prompt": "instruction"},
        stratify="style",
        near_dup=0.9,
        cleaning=CleaningSettings(urls=True),
    ).validated()
    result = prepare_dataset([greetings], tmp_path / "v1", settings)
    assert PrepareSettings.from_json(result.manifest["settings"]) == settings


def test_length_histogram_uses_shared_doubling_bins():
    import numpy as np

    from ftcore.data.split_stats import LENGTH_BIN_EDGES, length_stats

    stats = length_stats(np.array([0, 15, 16, 100, 5000, 9000]), "tokens")
    assert stats["histogram"]["edges"] == LENGTH_BIN_EDGES
    #                                   0  16 32 64 128 … 4096 8192+
    assert stats["histogram"]["counts"] == [2, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1]
    assert sum(stats["histogram"]["counts"]) == stats["rows"]
