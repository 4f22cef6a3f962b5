"""`hf:` inputs through `datasets` (local folders only, never the network), and a version
opened as a datasets.DatasetDict."""

import hashlib
import json

import pytest

from ftcore.cli import main
from ftcore.data.dataset_info import load_dataset_info
from ftcore.data.hub_source import HubDataset
from ftcore.data.versions import load_manifest, load_rejects, load_split, open_as_dataset_dict

GOOD = [
    {"instruction": f"给第{i}位朋友写一条春节祝福", "output": f"祝你新春快乐，万事如意！（{i}）"}
    for i in range(8)
]
BAD = [
    {"instruction": "没有回答", "output": ""},  # index 8: an empty field
    {"instruction": "链接", "output": "https://example.com"},  # index 9: empty once cleaned
]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A fresh workspace, and a datasets cache that is not the user's."""
    import datasets

    monkeypatch.setenv("FTSTUDIO_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")


def jsonl(rows):
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


@pytest.fixture
def hub_folder(tmp_path):
    """A local dataset folder as `datasets` reads it: one JSON Lines file per split."""
    folder = tmp_path / "greetings-hub"
    folder.mkdir()
    (folder / "train.jsonl").write_text(jsonl(GOOD + BAD), "utf-8")
    (folder / "test.jsonl").write_text(jsonl(GOOD[:3]), "utf-8")
    return folder


def one_line_error(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.strip()


def test_an_hf_input_keeps_row_level_rejects_with_split_and_index(tmp_path, hub_folder, capsys):
    out = tmp_path / "v"
    assert main(["data", "prepare", f"hf:{hub_folder}", "--out", str(out)]) == 0
    manifest = load_manifest(out)
    [source] = manifest["sources"]
    assert (source["file"], source["file_type"], source["rows"], source["rejected"]) == (
        "hf:greetings-hub[train]",
        "hf",
        10,
        2,
    )
    # the sha256 of the rows as JSON Lines: the same rows give the same hash anywhere
    assert source["sha256"] == hashlib.sha256(jsonl(GOOD + BAD).encode()).hexdigest()
    assert manifest["name"] == "greetings-hub" and manifest["counts"]["kept"] == 8
    rejects = [(r.file, r.line, r.field, r.code) for r in load_rejects(out)]
    assert rejects == [
        ("hf:greetings-hub[train]", 8, "output", "empty_field"),
        ("hf:greetings-hub[train]", 9, "output", "empty_after_cleaning"),
    ]
    assert "hf:greetings-hub[train]:8: output:" in load_rejects(out)[0].message()
    ids = {r.id for split in ("train", "val") for r in load_split(out, split)}
    assert "hf:greetings-hub[train]:0" in ids | {
        r.id for r in load_split(out, "test", allow_test=True)
    }


def test_hf_split_chooses_the_split_and_a_wrong_one_gets_a_did_you_mean(
    tmp_path, hub_folder, capsys
):
    out = tmp_path / "v"
    assert (
        main(["data", "prepare", f"hf:{hub_folder}", "--hf-split", "test", "--out", str(out)]) == 0
    )
    [source] = load_manifest(out)["sources"]
    assert (source["file"], source["rows"]) == ("hf:greetings-hub[test]", 3)
    capsys.readouterr()
    assert main(["data", "prepare", f"hf:{hub_folder}", "--hf-split", "tset"]) == 1
    error = one_line_error(capsys)
    assert "has no split 'tset': it has train, test. Did you mean 'test'?" in error


def test_a_save_to_disk_folder_reads_the_same_rows(tmp_path, capsys):
    import datasets

    folder = tmp_path / "saved"
    datasets.Dataset.from_list(GOOD).save_to_disk(str(folder))
    out = tmp_path / "v"
    assert main(["data", "prepare", f"hf:{folder}", "--out", str(out)]) == 0
    [source] = load_manifest(out)["sources"]
    assert (source["file"], source["rows"], source["rejected"]) == ("hf:saved[train]", 8, 0)
    assert source["sha256"] == hashlib.sha256(jsonl(GOOD).encode()).hexdigest()


def test_an_uncached_hub_dataset_offline_is_one_line_saying_how_to_fetch_it(capsys):
    assert main(["data", "prepare", "hf:someone/not-cached-anywhere"]) == 1
    error = one_line_error(capsys)
    assert "hf:someone/not-cached-anywhere is not in the local Hugging Face cache" in error
    assert "HF_HUB_OFFLINE=1" in error
    assert "datasets.load_dataset('someone/not-cached-anywhere')" in error


def test_hf_split_without_an_hf_input_is_refused(tmp_path, hub_folder, capsys):
    (tmp_path / "a.jsonl").write_text(jsonl(GOOD), "utf-8")
    assert main(["data", "prepare", str(tmp_path / "a.jsonl"), "--hf-split", "train"]) == 1
    assert "hf-split" in one_line_error(capsys)


def test_a_dataset_info_hub_entry_becomes_a_hub_input(tmp_path, hub_folder, capsys):
    info = tmp_path / "dataset_info.json"
    entries = {
        "hub": {"hf_hub_url": "someone/some-dataset", "subset": "zh"},
        "local": {"hf_hub_url": str(hub_folder), "split": "test"},
        "script": {"script_url": "some_script"},
    }
    info.write_text(json.dumps(entries), "utf-8")
    assert load_dataset_info(info, "hub")[0] == [HubDataset("someone/some-dataset", "train", "zh")]
    out = tmp_path / "v"
    assert (
        main(
            [
                "data",
                "prepare",
                "--dataset-info",
                str(info),
                "--dataset",
                "local",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert load_manifest(out)["sources"][0]["file"] == "hf:greetings-hub[test]"
    capsys.readouterr()
    assert main(["data", "prepare", "--dataset-info", str(info), "--dataset", "script"]) == 1
    assert "neither a local file_name nor an hf_hub_url" in one_line_error(capsys)


def test_a_version_opens_as_a_dataset_dict(tmp_path, hub_folder):
    out = tmp_path / "v"
    assert main(["data", "prepare", f"hf:{hub_folder}", "--out", str(out), "--seed", "3"]) == 0
    dataset = open_as_dataset_dict(out)
    assert list(dataset) == ["train", "validation", "test"]
    names = {"train": "train", "validation": "val", "test": "test"}
    for split, ours in names.items():
        records = load_split(out, ours, allow_test=True)
        assert dataset[split].num_rows == len(records)
        assert dataset[split]["messages"] == [r.messages for r in records]
        assert dataset[split]["id"] == [r.id for r in records]
    assert sum(dataset.num_rows.values()) == 8
