"""`ftcore data prepare` and `ftcore data list`: files written, exit codes, one-line errors."""

import json
from collections import Counter
from pathlib import Path

import pytest

from ftcore.cli import main
from ftcore.data.versions import load_split

FIXTURES = Path(__file__).parent / "fixtures" / "data"
GREETINGS = Path(__file__).parent.parent / "data" / "greetings" / "spring_festival_greetings.jsonl"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Every command here uses a fresh workspace, never ./workspace."""
    monkeypatch.setenv("FTSTUDIO_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def prepare(*args):
    return main(["data", "prepare", *map(str, args)])


def one_line_error(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.strip()


def test_prepare_writes_the_version_files_and_registers_it(tmp_path, capsys, home):
    out = tmp_path / "v1"
    assert (
        prepare(FIXTURES / "alpaca.jsonl", FIXTURES / "bad_rows.jsonl", "--out", out, "--seed", 1)
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "duplicates.jsonl",
        "manifest.json",
        "rejected.jsonl",
        "test.jsonl",
        "train.jsonl",
        "val.jsonl",
    ]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["kept"] == 8 and manifest["counts"]["rejected"] == 7
    assert len((out / "rejected.jsonl").read_text(encoding="utf-8").splitlines()) == 7
    printed = capsys.readouterr().out
    assert "rows read 15, rejected 7, duplicates dropped 0 exact + 0 near, kept 8" in printed
    assert "registered as alpaca v1" in printed

    assert main(["data", "list"]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith(f"alpaca v1  {manifest['content_hash'][:12]}  train ")
    assert str(out.resolve()) in listed


def test_the_greetings_sample_splits_8_1_1_within_every_style(tmp_path, capsys):
    out = tmp_path / "greet-v1"
    assert prepare(GREETINGS, "--out", out, "--stratify", "style") == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {s: manifest["counts"][s] for s in ("read", "kept", "train", "val", "test")} == {
        "read": 460,
        "kept": 460,
        "train": 368,
        "val": 46,
        "test": 46,
    }
    train_styles = Counter(r.labels["style"] for r in load_split(out, "train"))
    assert train_styles == {"warm": 92, "humorous": 92, "literary": 92, "traditional": 92}
    assert manifest["duplicates"]["clusters"] == 0 and manifest["leakage"]["pairs"] == 0
    assert manifest["splits"]["val"]["labels"]["style"].keys() == train_styles.keys()


def test_column_mapping_and_split_flags(tmp_path, capsys):
    out = tmp_path / "qa"
    assert (
        prepare(
            FIXTURES / "qa.csv",
            "--out",
            out,
            "--columns",
            "prompt=question,response=answer",
            "--split",
            "1,0,0",
        )
        == 0
    )
    records = load_split(out, "train")
    assert [r.messages[0]["content"] for r in records][:1] == ["春节吃什么？"]
    assert [r.labels for r in records] == [
        {"topic": "food"},
        {"topic": "greeting"},
        {"topic": "misc"},
    ]


def test_dataset_info_entry_gives_files_and_format(tmp_path, capsys):
    out = tmp_path / "chats"
    assert (
        prepare(
            "--dataset-info",
            FIXTURES / "dataset_info.json",
            "--dataset",
            "greet_chats",
            "--out",
            out,
        )
        == 0
    )
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [s["file"] for s in manifest["sources"]] == ["sharegpt.json"]
    assert manifest["name"] == "sharegpt" and manifest["counts"]["kept"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "alpacca"], "format='alpacca' is not allowed: expected one of auto, alpaca"),
        (
            ["--stratify", "stlye"],
            "stratify='stlye' is not allowed: expected a label of the rows: ",
        ),
        (["--split", "0.8,0.2"], "split='0.8,0.2' is not allowed"),
        (["--near-dup", "high"], "near-dup='high' is not allowed"),
        (["--clean-on", "url"], "Did you mean 'urls'?"),
        (["--columns", "prompt"], "columns='prompt' is not allowed"),
    ],
)
def test_bad_flags_fail_with_one_line(tmp_path, capsys, args, message):
    assert prepare(FIXTURES / "alpaca.jsonl", "--out", tmp_path / "v", *args) == 1
    error = one_line_error(capsys)
    assert error.startswith("ftcore data: error: ") and message in error
    assert not (tmp_path / "v").exists()


def test_unknown_stratify_label_suggests_the_closest(tmp_path, capsys):
    assert prepare(GREETINGS, "--out", tmp_path / "v", "--stratify", "stlye") == 1
    assert one_line_error(capsys).endswith("Did you mean 'style'?")


def test_no_valid_rows_exits_non_zero_with_the_reason(tmp_path, capsys):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"instruction": "q"\n{"instruction": "q", "output": 1\n', encoding="utf-8")
    assert prepare(path, "--out", tmp_path / "v", "--format", "alpaca") == 1
    error = one_line_error(capsys)
    assert "no valid rows: all 2 rows of broken.jsonl were rejected (broken_json 2)" in error


def test_a_file_that_is_not_a_dataset(tmp_path, capsys):
    path = tmp_path / "README.md.jsonl"
    path.write_text("# Notes\n\nNothing to see.\n", encoding="utf-8")
    assert prepare(path, "--out", tmp_path / "v") == 1
    assert "is not a dataset: none of its first 2 rows is an object" in one_line_error(capsys)


def test_missing_input_file(tmp_path, capsys):
    assert prepare(tmp_path / "nope.jsonl", "--out", tmp_path / "v") == 1
    assert "nope.jsonl does not exist" in one_line_error(capsys)


def test_token_check_with_the_demo_tokenizer(tmp_path, capsys):
    # The three rows are 48, 57 and 52 tokens long with the demo model's chat template.
    out = tmp_path / "v"
    assert (
        prepare(FIXTURES / "alpaca.jsonl", "--out", out, "--base", "demo", "--max-tokens", 55) == 0
    )
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tokenizer"] == "demo-model"
    assert manifest["rejects_by_reason"] == {"too_long": 1}
    [reject] = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    assert (reject["line"], reject["code"]) == (2, "too_long")
    length = manifest["splits"]["train"]["length"]  # two rows: both go to train
    assert (length["unit"], length["rows"], length["min"], length["max"]) == ("tokens", 2, 48, 52)


def test_json_output(tmp_path, capsys):
    assert prepare(FIXTURES / "openai.jsonl", "--out", tmp_path / "v", "--json") == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["counts"]["kept"] == 2 and printed["version"] == 1
