"""Reading predictions JSONL: bad lines reported with file, line and field; valid rows kept."""

import json

import pytest

from ftcore.data.predictions_file import read_predictions
from ftcore.errors import DataError, EmptyPredictionsError

LINES = [
    json.dumps({"id": "a", "prediction": "新年好", "reference": "新年快乐"}, ensure_ascii=False),
    '{"prediction": "broken", "reference": ',  # 2: broken JSON
    json.dumps({"reference": "x"}),  # 3: no prediction
    json.dumps({"prediction": ["a"], "reference": "x"}),  # 4: wrong type
    json.dumps(["not", "an", "object"]),  # 5
    "",  # 6: blank lines are not rows
    json.dumps({"prediction": "p", "reference": "  "}),  # 7: empty reference
    json.dumps({"prediction": "p", "reference": "r", "id": {"x": 1}}),  # 8: bad id
    json.dumps({"prediction": "p", "reference": "r", "split": 3}),  # 9: bad split
    json.dumps({"prediction": "", "reference": "Happy new year"}),  # 10: empty prediction is fine
]


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_lines_are_reported_and_valid_rows_around_them_kept(tmp_path):
    path = write(tmp_path / "preds.jsonl", LINES)
    rows, bad = read_predictions(path)
    assert [row["id"] for row in rows] == ["a", 10]  # a missing id becomes the line number
    assert rows[1]["prediction"] == ""
    assert [(b.line, b.field) for b in bad] == [
        (2, None),
        (3, "prediction"),
        (4, "prediction"),
        (5, None),
        (7, "reference"),
        (8, "id"),
        (9, "split"),
    ]
    assert str(bad[1]) == f"{path}:3: field 'prediction': missing"
    assert str(bad[2]).endswith("field 'prediction': must be a string, got list")
    assert "not valid JSON" in str(bad[0]) and "not a JSON object" in str(bad[3])
    assert all(b.file == str(path) for b in bad)


def test_no_valid_row_is_a_clear_error(tmp_path):
    path = write(tmp_path / "preds.jsonl", LINES[1:5])
    with pytest.raises(EmptyPredictionsError, match=r"no row can be scored \(4 bad lines; first"):
        read_predictions(path)
    with pytest.raises(EmptyPredictionsError, match="0 bad lines"):
        read_predictions(write(tmp_path / "empty.jsonl", [""]))


def test_a_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_predictions(tmp_path / "nope.jsonl")


def test_crlf_and_a_byte_order_mark_are_read(tmp_path):
    path = tmp_path / "windows.jsonl"
    text = "\r\n".join(LINES[:1] * 2) + "\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    rows, bad = read_predictions(path)
    assert len(rows) == 2 and not bad and rows[0]["reference"] == "新年快乐"
