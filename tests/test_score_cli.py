"""`ftcore score`: files written, the printed table, exit codes and one-line errors."""

import json

import pytest

from ftcore.cli import main

ROWS = [
    {"id": 1, "prediction": "新年快乐，万事如意！", "reference": "新年快乐，心想事成！"},
    {"id": 2, "prediction": "祝你 Happy New Year", "reference": "祝您 happy new year"},
    {"id": 3, "prediction": "恭喜发财", "reference": "恭喜发财"},
]


def write_jsonl(path, rows, extra_lines=()):
    lines = [json.dumps(row, ensure_ascii=False) for row in rows] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def one_line_error(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.strip()


def test_score_writes_the_four_files_and_prints_a_table(tmp_path, capsys):
    predictions = write_jsonl(tmp_path / "preds.jsonl", ROWS)
    out = tmp_path / "scores"
    assert main(["score", str(predictions), "--out", str(out), "--bootstrap", "100"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "per_example.csv",
        "per_example.jsonl",
        "scores.csv",
        "scores.json",
    ]
    scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    assert list(scores) == ["predictions"] and list(scores["predictions"]) == ["all"]
    assert scores["predictions"]["all"]["exact_match"]["value"] == pytest.approx(1 / 3)
    assert scores["predictions"]["all"]["bleu"]["n"] == 3
    printed = capsys.readouterr().out
    assert "sentence_bleu_mean" in printed and "3 rows scored; language mixed" in printed


def test_metrics_bootstrap_and_seed_flags(tmp_path):
    predictions = write_jsonl(tmp_path / "preds.jsonl", ROWS)
    args = ["score", str(predictions), "--metrics", "chrf,rougeL", "--bootstrap", "50"]
    assert main([*args, "--out", str(tmp_path / "a"), "--seed", "3"]) == 0
    assert main([*args, "--out", str(tmp_path / "b"), "--seed", "3"]) == 0
    a = json.loads((tmp_path / "a" / "scores.json").read_text(encoding="utf-8"))
    b = json.loads((tmp_path / "b" / "scores.json").read_text(encoding="utf-8"))
    assert a == b and list(a["predictions"]["all"]) == ["chrf", "rougeL"]
    assert main(["score", str(predictions), "--out", str(tmp_path / "c"), "--bootstrap", "0"]) == 0
    c = json.loads((tmp_path / "c" / "scores.json").read_text(encoding="utf-8"))
    assert c["predictions"]["all"]["bleu"]["ci_low"] is None


def test_model_and_split_fields_group_the_scores(tmp_path):
    rows = [{**row, "model": "lora", "split": "test"} for row in ROWS]
    rows += [{**row, "model": "base", "split": "test", "prediction": "好"} for row in ROWS]
    predictions = write_jsonl(tmp_path / "preds.jsonl", rows)
    assert main(["score", str(predictions), "--out", str(tmp_path / "out")]) == 0
    scores = json.loads((tmp_path / "out" / "scores.json").read_text(encoding="utf-8"))
    assert list(scores) == ["lora", "base"] and list(scores["base"]) == ["test"]
    assert scores["lora"]["test"]["chrf"]["value"] > scores["base"]["test"]["chrf"]["value"]


def test_bad_lines_are_skipped_and_the_rest_scored(tmp_path, capsys):
    predictions = write_jsonl(tmp_path / "preds.jsonl", ROWS, ['{"prediction": "x"}', "{oops"])
    assert main(["score", str(predictions), "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "3 rows scored, 2 bad lines skipped" in captured.out
    assert f"skipped {predictions}:4: field 'reference': missing" in captured.err
    assert f"skipped {predictions}:5: not valid JSON" in captured.err
    lines = (tmp_path / "out" / "per_example.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3


def test_only_the_first_ten_bad_lines_are_printed(tmp_path, capsys):
    predictions = write_jsonl(tmp_path / "preds.jsonl", ROWS, ["[]"] * 25)
    assert (
        main(["score", str(predictions), "--out", str(tmp_path / "out"), "--bootstrap", "0"]) == 0
    )
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 11 and err[-1] == "… and 15 more bad lines"


def test_no_valid_row_exits_1_with_one_line(tmp_path, capsys):
    predictions = write_jsonl(tmp_path / "preds.jsonl", [], ['{"prediction": "x"}', "[1, 2]"])
    assert main(["score", str(predictions), "--out", str(tmp_path / "out")]) == 1
    error = one_line_error(capsys)
    assert error.startswith("ftcore score: error: ") and "no row can be scored" in error
    assert not (tmp_path / "out").exists()


def test_unknown_metric_exits_1_with_did_you_mean(tmp_path, capsys):
    predictions = write_jsonl(tmp_path / "preds.jsonl", ROWS)
    assert (
        main(["score", str(predictions), "--out", str(tmp_path / "o"), "--metrics", "bleu,rogue1"])
        == 1
    )
    assert "Did you mean 'rouge1'?" in one_line_error(capsys)


def test_missing_file_and_bad_bootstrap_exit_1(tmp_path, capsys):
    assert main(["score", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o")]) == 1
    assert "no such file" in one_line_error(capsys)
    predictions = write_jsonl(tmp_path / "preds.jsonl", ROWS)
    assert main(["score", str(predictions), "--out", str(tmp_path / "o"), "--bootstrap", "-2"]) == 1
    assert "bootstrap=-2" in one_line_error(capsys)
