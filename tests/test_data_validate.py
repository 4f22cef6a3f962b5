"""Row validation: every reject reason, with file, line and field, and no valid row lost."""

import json
from pathlib import Path

import pytest

from ftcore.chat_format import validate_messages
from ftcore.data.clean import Cleaner
from ftcore.data.formats import make_spec
from ftcore.data.prepare import prepare_dataset
from ftcore.data.records import (
    BAD_CSV_ROW,
    BAD_ENCODING,
    BROKEN_JSON,
    EMPTY_AFTER_CLEANING,
    EMPTY_FIELD,
    LOW_QUALITY,
    MISSING_FIELD,
    NOT_AN_OBJECT,
    REASONS,
    ROLE_ORDER,
    TOO_LONG,
    UNKNOWN_ROLE,
    WRONG_TYPE,
    RawRow,
    Record,
    Reject,
)
from ftcore.data.settings import PrepareSettings
from ftcore.data.sources import open_sources
from ftcore.data.split_stats import LENGTH_BIN_EDGES
from ftcore.data.validate import token_length, validate_row
from ftcore.data.versions import load_split

FIXTURES = Path(__file__).parent / "fixtures" / "data"


def outcomes(path):
    [source] = open_sources([path], "auto", {}, {})
    cleaner = Cleaner()
    return [validate_row(raw, source.spec, source.name, cleaner) for raw in source.rows_read()]


def test_bad_alpaca_rows_are_rejected_with_line_field_and_reason():
    results = outcomes(FIXTURES / "bad_rows.jsonl")
    rejects = [(r.line, r.code, r.field) for r in results if isinstance(r, Reject)]
    assert rejects == [
        (2, BROKEN_JSON, None),
        (4, NOT_AN_OBJECT, None),
        (5, MISSING_FIELD, "output"),
        (7, EMPTY_FIELD, "output"),
        (8, WRONG_TYPE, "output"),
        (11, WRONG_TYPE, "history"),
        (12, EMPTY_AFTER_CLEANING, "output"),
    ]
    kept = [r for r in results if isinstance(r, Record)]
    assert [r.id for r in kept] == ["ok-1", "ok-2", "ok-3", "ok-4", "ok-5"]
    assert [r.source.line for r in kept] == [1, 3, 6, 10, 13]


def test_bad_conversations_are_rejected_with_the_turn_that_is_wrong():
    results = outcomes(FIXTURES / "bad_chats.jsonl")
    rejects = [(r.line, r.code, r.field) for r in results if isinstance(r, Reject)]
    assert rejects == [
        (2, ROLE_ORDER, "conversations[0]"),
        (3, ROLE_ORDER, "conversations[0]"),
        (4, UNKNOWN_ROLE, "conversations[1].from"),
        (5, MISSING_FIELD, "conversations[1].from"),
        (6, ROLE_ORDER, "conversations[2]"),
        (7, WRONG_TYPE, "conversations"),
        (8, EMPTY_FIELD, "conversations"),
        (9, WRONG_TYPE, "conversations[0]"),
    ]
    assert [r.source.line for r in results if isinstance(r, Record)] == [1, 10]


def test_reject_messages_read_well():
    reject = next(r for r in outcomes(FIXTURES / "bad_chats.jsonl") if isinstance(r, Reject))
    assert reject.message() == (
        "bad_chats.jsonl:2: conversations[0]: expected a user turn here, found assistant"
    )
    assert reject.raw.startswith('{"conversations": [{"from": "gpt"')


def test_every_reason_has_a_description():
    codes = {BAD_CSV_ROW, BAD_ENCODING, BROKEN_JSON, EMPTY_AFTER_CLEANING, EMPTY_FIELD}
    codes |= {MISSING_FIELD, NOT_AN_OBJECT, ROLE_ORDER, TOO_LONG, UNKNOWN_ROLE, WRONG_TYPE}
    codes |= {LOW_QUALITY}
    assert set(REASONS) == codes


def test_a_problem_found_while_reading_becomes_the_reject():
    from ftcore.data.records import RowProblem

    raw = RawRow(
        7, None, "\ufffd", 0, RowProblem(BAD_ENCODING, None, "the line is not valid utf-8")
    )
    reject = validate_row(raw, make_spec("alpaca"), "a.jsonl")
    assert (reject.line, reject.code, reject.reason) == (
        7,
        BAD_ENCODING,
        "the line is not valid utf-8",
    )


def test_id_comes_from_the_row_or_from_file_and_line():
    raw = RawRow(4, {"instruction": "q", "output": "a"}, "", 0)
    assert validate_row(raw, make_spec("alpaca"), "a.jsonl").id == "a.jsonl:4"
    raw = RawRow(4, {"id": 17, "instruction": "q", "output": "a"}, "", 0)
    assert validate_row(raw, make_spec("alpaca"), "a.jsonl").id == "17"


def test_no_valid_row_is_lost_from_a_file_full_of_bad_ones(tmp_path):
    """Every second row is broken in a different way; all the others come out."""
    bad_rows = [
        '{"instruction": "broken',
        '"just a string"',
        '{"instruction": "no output"}',
        '{"instruction": "", "output": "empty instruction"}',
        '{"instruction": "q", "output": 3.5e, }',
        '{"instruction": {"a": 1}, "output": "x"}',
        '{"instruction": "q", "output": "<div></div>"}',
    ] * 15
    lines = []
    for index, bad in enumerate(bad_rows):
        row = {
            "id": f"ok-{index}",
            "instruction": f"给第{index}位朋友写祝福",
            "output": f"朋友{index}号，新年快乐！",
        }
        lines += [json.dumps(row, ensure_ascii=False), bad]
    path = tmp_path / "mostly_bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = prepare_dataset([path], tmp_path / "out", PrepareSettings(near_dup=None))

    assert result.counts["read"] == 210
    assert result.counts["rejected"] == 105 and result.counts["kept"] == 105
    kept = load_split(result.path, "train") + load_split(result.path, "val")
    kept += load_split(result.path, "test", allow_test=True)
    assert sorted(r.id for r in kept) == sorted(f"ok-{i}" for i in range(105))
    rejected = [
        json.loads(line) for line in (result.path / "rejected.jsonl").read_text().splitlines()
    ]
    assert [r["line"] for r in rejected] == list(range(2, 211, 2))
    assert result.manifest["rejects_by_reason"] == {
        BROKEN_JSON: 30,
        NOT_AN_OBJECT: 15,
        MISSING_FIELD: 15,
        EMPTY_FIELD: 15,
        WRONG_TYPE: 15,
        EMPTY_AFTER_CLEANING: 15,
    }


def test_rows_over_max_tokens_are_rejected_with_their_length(tmp_path, demo_tokenizer):
    short = {"instruction": "你好", "output": "新年好！"}
    long = {"instruction": "你好", "output": "新年快乐，万事如意！" * 40}
    path = tmp_path / "lengths.jsonl"
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in (short, long)), encoding="utf-8"
    )
    limit = token_length(
        demo_tokenizer,
        [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "新年好！"}],
    )
    long_tokens = token_length(
        demo_tokenizer,
        [{"role": "user", "content": "你好"}, {"role": "assistant", "content": long["output"]}],
    )
    assert long_tokens > limit

    result = prepare_dataset(
        [path], tmp_path / "out", PrepareSettings(max_tokens=limit), tokenizer=demo_tokenizer
    )

    [reject] = result.rejects
    assert (reject.line, reject.code) == (2, TOO_LONG)
    assert (
        reject.reason
        == f"{long_tokens} tokens with the chat template, more than max_tokens={limit}"
    )
    assert result.manifest["splits"]["train"]["length"] == {
        "unit": "tokens",
        "rows": 1,
        "min": limit,
        "mean": limit,
        "p50": limit,
        "p95": limit,
        "max": limit,
        # one row of exactly `limit` tokens, in the bin [16, 32)
        "histogram": {"edges": LENGTH_BIN_EDGES, "counts": [0, 1] + [0] * 9},
    }
    assert limit == 16
    assert result.manifest["tokenizer"] == "demo-model"


def test_every_kept_record_renders_with_a_chat_template(tmp_path):
    inputs = [
        FIXTURES / name
        for name in (
            "alpaca.jsonl",
            "sharegpt.json",
            "openai.jsonl",
            "bad_chats.jsonl",
            "bad_rows.jsonl",
        )
    ]
    result = prepare_dataset(inputs, tmp_path / "out", PrepareSettings(split=(1, 0, 0)))
    records = load_split(result.path, "train")
    assert len(records) == 3 + 2 + 2 + 2 + 5
    for record in records:
        validate_messages(record.messages, ends_with="assistant")


@pytest.mark.parametrize("limit", [0, -5])
def test_max_tokens_must_be_positive(limit):
    from ftcore.errors import ConfigError

    with pytest.raises(ConfigError, match="max_tokens"):
        PrepareSettings(max_tokens=limit).validated()
