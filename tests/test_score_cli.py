"""`ftcore score`: files written, the printed table, exit codes and one-line errors."""

import json
from pathlib import Path

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


def model_rows():
    """The same three examples answered by a base model and a fine-tune."""
    rows = [{**row, "model": "lora", "split": "test"} for row in ROWS]
    return rows + [{**row, "model": "base", "split": "test", "prediction": "好"} for row in ROWS]


def test_a_base_model_gets_comparisons_json_with_paired_deltas(tmp_path, capsys):
    predictions = write_jsonl(tmp_path / "preds.jsonl", model_rows())
    out = tmp_path / "out"
    assert main(["score", str(predictions), "--out", str(out), "--bootstrap", "200"]) == 0
    scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    comparisons = json.loads((out / "comparisons.json").read_text(encoding="utf-8"))
    assert [row["metric"] for row in comparisons] == list(scores["lora"]["test"])
    for row in comparisons:
        assert list(row) == [
            *("baseline", "model", "split", "metric", "delta", "ci_low", "ci_high", "n"),
            *("p_value", "method"),
        ]
        lora, base = scores["lora"]["test"][row["metric"]], scores["base"]["test"][row["metric"]]
        assert row["delta"] == pytest.approx(lora["value"] - base["value"], abs=1e-12)
        assert (row["baseline"], row["model"], row["split"], row["n"]) == (
            "base",
            "lora",
            "test",
            3,
        )
    assert "against baseline 'base' (paired by id)" in capsys.readouterr().out


def test_baseline_flag_names_the_baseline_and_an_unknown_one_fails(tmp_path, capsys):
    predictions = write_jsonl(tmp_path / "preds.jsonl", model_rows())
    out = tmp_path / "out"
    args = ["score", str(predictions), "--out", str(out), "--metrics", "chrf"]
    assert main([*args, "--baseline", "lora"]) == 0
    (row,) = json.loads((out / "comparisons.json").read_text(encoding="utf-8"))
    assert (row["baseline"], row["model"]) == ("lora", "base") and row["delta"] < 0
    capsys.readouterr()
    assert main([*args, "--baseline", "tuned", "--out", str(tmp_path / "other")]) == 1
    assert "baseline='tuned'" in one_line_error(capsys)
    assert not (tmp_path / "other").exists()


def test_the_seed_reaches_every_interval_and_test(tmp_path):
    predictions = write_jsonl(tmp_path / "preds.jsonl", model_rows())

    def run(seed, name):
        out = tmp_path / name
        args = ["score", str(predictions), "--out", str(out), "--metrics", "bleu,rouge1"]
        assert main([*args, "--bootstrap", "100", "--seed", str(seed)]) == 0
        return [
            json.loads((out / f).read_text(encoding="utf-8"))
            for f in ("scores.json", "comparisons.json")
        ]

    assert run(5, "a") == run(5, "b")
    other = run(6, "c")
    assert other != run(5, "a")
    assert all(row["method"].split("|")[3] == "seed:6" for row in other[1])


def test_metric_flag_adds_an_evaluate_module(tmp_path):
    module = Path(__file__).parent / "fixtures" / "evaluate_metrics" / "word_overlap"
    rows = [{"id": 1, "prediction": "happy new year", "reference": "happy new year to you"}]
    predictions = write_jsonl(tmp_path / "preds.jsonl", rows)
    args = ["score", str(predictions), "--out", str(tmp_path / "o"), "--metrics", "chrf"]
    assert main([*args, "--metric", f"evaluate:{module}", "--bootstrap", "0"]) == 0
    scores = json.loads((tmp_path / "o" / "scores.json").read_text(encoding="utf-8"))
    assert list(scores["predictions"]["all"]) == [
        "chrf",
        "evaluate:word_overlap",
        "evaluate:word_overlap/length_ratio",
    ]
    assert scores["predictions"]["all"]["evaluate:word_overlap"]["value"] == 3 / 5


def test_small_samples_carry_a_warning_in_scores_json(tmp_path):
    predictions = write_jsonl(tmp_path / "preds.jsonl", ROWS)
    assert main(["score", str(predictions), "--out", str(tmp_path / "o"), "--bootstrap", "50"]) == 0
    scores = json.loads((tmp_path / "o" / "scores.json").read_text(encoding="utf-8"))
    assert scores["predictions"]["all"]["chrf"]["warning"].startswith("only 3 examples")
    assert scores["predictions"]["all"]["exact_match"]["warning"] is None  # exact interval
    assert scores["predictions"]["all"]["exact_match"]["ci_high"] < 1
