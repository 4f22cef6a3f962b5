"""Reading raw rows: encodings, newlines, file types, and line numbers of every row."""

import json
from pathlib import Path

import pytest

from ftcore.data.encoding import SAMPLE_BYTES, detect_encoding, encoding_of, iter_lines
from ftcore.data.readers import detect, detect_file_type, iter_raw_rows
from ftcore.data.records import BAD_CSV_ROW, BAD_ENCODING, BROKEN_JSON, NOT_AN_OBJECT
from ftcore.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures" / "data"
CHINESE = "奶奶，新年好！祝您福寿安康。全角：ＡＢＣ１２３"
ROWS = [
    {"instruction": "给奶奶写一句祝福", "output": CHINESE},
    {"instruction": "Greet my boss", "output": "Happy New Year!"},
]


def rows_of(path):
    return list(iter_raw_rows(path, *detect(path)))


def jsonl_text(newline="\n"):
    return newline.join(json.dumps(row, ensure_ascii=False) for row in ROWS) + newline


@pytest.mark.parametrize(
    ("codec", "detected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),  # with a BOM
        ("utf-16-le", "utf-16-le"),  # without one
        ("utf-16-be", "utf-16-be"),
        ("gb18030", "gb18030"),
        ("gbk", "gb18030"),  # GB18030 is a superset of GBK
    ],
)
def test_every_encoding_is_detected_and_read_back_exactly(tmp_path, codec, detected):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(jsonl_text("\r\n").encode(codec))
    assert detect_encoding(path) == detected
    rows = rows_of(path)
    assert [row.line for row in rows] == [1, 2]
    assert [row.data for row in rows] == ROWS  # full-width "，" and "ＡＢＣ" unchanged


def test_utf8_bom_does_not_stick_to_the_first_field(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("instruction,output\n你好,新年好\n".encode("utf-8-sig"))
    assert rows_of(path)[0].data == {"instruction": "你好", "output": "新年好"}


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_are_normalised_and_counted(tmp_path, newline):
    path = tmp_path / "lines.txt"
    path.write_bytes(newline.join(["a", "", "b"]).encode())
    assert [(line.number, line.text) for line in iter_lines(path, "utf-8")] == [
        (1, "a"),
        (2, ""),
        (3, "b"),
    ]


def test_a_line_in_another_encoding_is_one_reject_and_its_neighbours_stay(tmp_path):
    path = tmp_path / "mixed.jsonl"
    lines = [json.dumps(row, ensure_ascii=False).encode() for row in ROWS]
    stray = '{"instruction": "你好", "output": "新年好"}'.encode("gbk")
    path.write_bytes(b"\n".join([lines[0], stray, lines[1]]) + b"\n")
    rows = rows_of(path)
    assert [(row.line, row.problem.code if row.problem else None) for row in rows] == [
        (1, None),
        (2, BAD_ENCODING),
        (3, None),
    ]


def test_binary_file_is_not_a_text_file(tmp_path):
    path = tmp_path / "image.json"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match="not a text file"):
        detect_encoding(path)


def test_encoding_of_a_sample_cut_inside_a_character_is_still_utf8():
    data = ("新年好\n" * SAMPLE_BYTES).encode()[: SAMPLE_BYTES - 1] + "新".encode()[:1]
    assert len(data) == SAMPLE_BYTES
    assert encoding_of(data) == "utf-8"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.jsonl", '{"a": 1}\n', "jsonl"),
        ("a.json", '[\n {"a": 1}\n]', "json"),
        ("a.json", '{"a": 1}\n{"a": 2}\n', "jsonl"),  # JSON Lines saved as .json
        ("a.json", '{\n "a": 1\n}\n', "json"),  # pretty-printed objects
        ("a.jsonl", '[{"a": 1}]', "json"),  # an array saved as .jsonl
        ("a.csv", "a,b\n1,2\n", "csv"),
        ("a.tsv", "a\tb\n1\t2\n", "tsv"),
        ("a.txt", '[{"a": 1}]', "json"),
    ],
)
def test_file_type_comes_from_the_name_checked_against_the_content(
    tmp_path, name, content, expected
):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert detect_file_type(path, "utf-8") == expected


def test_unknown_file_type_names_the_accepted_ones(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"\.jsonl, \.json, \.csv, \.tsv or \.parquet"):
        detect_file_type(path, "utf-8")


def test_jsonl_rows_keep_line_numbers_around_broken_lines(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2,\n  \n{"a": 3}\n', encoding="utf-8")
    rows = rows_of(path)
    assert [(r.line, r.data, r.problem and r.problem.code) for r in rows] == [
        (1, {"a": 1}, None),
        (3, None, BROKEN_JSON),
        (5, {"a": 3}, None),
    ]
    assert rows[1].raw == '{"a": 2,'


JSON_ARRAY_CASES = [
    # (file text, [(line, data or None, problem code or None)])
    (
        '[\n  {"a": 1},\n  {"b": 2,\n   "c": [1, 2]}\n]\n',
        [(2, {"a": 1}, None), (3, {"b": 2, "c": [1, 2]}, None)],
    ),
    (  # a missing comma inside a row: that row only
        '[\n  {"a": 1},\n  {"x": 1 "y": 2},\n  {"z": 3}\n]',
        [(2, {"a": 1}, None), (3, None, BROKEN_JSON), (4, {"z": 3}, None)],
    ),
    (  # an unclosed row ends where the next row visibly begins
        '[\n  {"a": {"q": 1},\n  {"after": 1}\n]',
        [(2, None, BROKEN_JSON), (3, {"after": 1}, None)],
    ),
    (  # a mismatched bracket inside a row
        '[\n  {"open": [1, 2},\n  {"z": 3}\n]',
        [(2, None, BROKEN_JSON), (3, {"z": 3}, None)],
    ),
    (  # minified, with values that are not objects
        '[{"a":1},{"b":"}{"}, 3, "s"]',
        [
            (1, {"a": 1}, None),
            (1, {"b": "}{"}, None),
            (1, None, NOT_AN_OBJECT),
            (1, None, NOT_AN_OBJECT),
        ],
    ),
    (  # objects one after another, no array
        '{\n "a": 1\n}\n{\n "b": 2\n}\n',
        [(1, {"a": 1}, None), (4, {"b": 2}, None)],
    ),
    (  # the file ends inside a row
        '[\n {"a": 1},\n {"b": ',
        [(2, {"a": 1}, None), (3, None, BROKEN_JSON)],
    ),
    (
        '[{"a": 1}] trailing',
        [(1, {"a": 1}, None), (1, None, BROKEN_JSON)],
    ),
]


@pytest.mark.parametrize(("text", "expected"), JSON_ARRAY_CASES)
def test_json_array_rows_are_split_without_losing_valid_neighbours(tmp_path, text, expected):
    path = tmp_path / "rows.json"
    path.write_text(text, encoding="utf-8")
    rows = list(iter_raw_rows(path, "json", "utf-8"))
    assert [(r.line, r.data, r.problem and r.problem.code) for r in rows] == expected


def test_broken_json_array_row_says_where(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text('[\n  {"a": 1},\n  {"x": 1,\n   "y" 2}\n]', encoding="utf-8")
    broken = list(iter_raw_rows(path, "json", "utf-8"))[1]
    assert broken.problem.reason == "not valid JSON: Expecting ':' delimiter (line 4, column 8)"
    assert broken.raw == '{"x": 1,\n   "y" 2}'


def test_csv_quoted_fields_keep_commas_quotes_and_line_breaks():
    rows = rows_of(FIXTURES / "qa.csv")
    assert [(row.line, row.data) for row in rows] == [
        (2, {"question": "春节吃什么？", "answer": "饺子，还有年糕。", "topic": "food"}),
        (
            3,
            {
                "question": "What do people say at Spring Festival?",
                "answer": '"Happy New Year", or 新年快乐.',
                "topic": "greeting",
            },
        ),
        (4, {"question": "Multi-line\nquestion", "answer": "An answer", "topic": "misc"}),
    ]


def test_csv_unclosed_quote_rejects_one_line_and_rereads_the_rest(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text('q,a\nhi,there\n"open quote,bad\nnext,row\nlast,one\n', encoding="utf-8")
    rows = rows_of(path)
    assert [(r.line, r.data, r.problem and r.problem.code) for r in rows] == [
        (2, {"q": "hi", "a": "there"}, None),
        (3, None, BAD_CSV_ROW),
        (4, {"q": "next", "a": "row"}, None),
        (5, {"q": "last", "a": "one"}, None),
    ]


def test_csv_with_too_many_fields_is_rejected_but_trailing_empty_fields_are_not(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("q,a\n1,2,3\n4,5,,\n6\n", encoding="utf-8")
    rows = rows_of(path)
    assert [(r.line, r.data, r.problem and r.problem.code) for r in rows] == [
        (2, None, BAD_CSV_ROW),
        (3, {"q": "4", "a": "5"}, None),
        (4, None, BAD_CSV_ROW),
    ]
    assert rows[0].problem.reason.startswith("the record has 3 fields but the header has 2")


def test_tsv_rows():
    rows = rows_of(FIXTURES / "prompts.tsv")
    assert [row.data["response"] for row in rows] == ["你好！新年快乐！", "Hi, happy new year!"]


def test_parquet_rows_are_numbered_and_keep_nested_lists(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "rows.parquet"
    conversations = [[{"from": "human", "value": "你好"}, {"from": "gpt", "value": "新年好"}]] * 3
    pq.write_table(pa.table({"conversations": conversations, "n": [1, 2, 3]}), path)
    rows = rows_of(path)
    assert detect(path) == ("parquet", None)
    assert [row.line for row in rows] == [1, 2, 3]
    assert rows[2].data == {"conversations": conversations[0], "n": 3}


def test_file_named_parquet_that_is_not_one(tmp_path):
    path = tmp_path / "rows.parquet"
    path.write_text('{"a": 1}\n', encoding="utf-8")
    with pytest.raises(DataError, match="not a Parquet file"):
        detect_file_type(path, "utf-8")


@pytest.mark.parametrize(
    ("name", "codec", "text"),
    [
        ("rows.json", "utf-16", json.dumps(ROWS, ensure_ascii=False, indent=1)),
        ("rows.json", "gb18030", json.dumps(ROWS, ensure_ascii=False, indent=1)),
        ("rows.csv", "gb18030", 'instruction,output\r\n给奶奶写一句祝福,"' + CHINESE + '"\r\n'),
        ("rows.tsv", "utf-16", "instruction\toutput\n给奶奶写一句祝福\t" + CHINESE + "\n"),
        ("rows.csv", "utf-8-sig", "instruction,output\n给奶奶写一句祝福," + CHINESE + "\n"),
    ],
)
def test_other_file_types_in_other_encodings(tmp_path, name, codec, text):
    path = tmp_path / name
    path.write_bytes(text.encode(codec))
    assert rows_of(path)[0].data == ROWS[0]
