"""Formats: detection, column mapping, dataset_info.json entries, rows to messages."""

from pathlib import Path

import pytest

from ftcore.data.dataset_info import load_dataset_info, spec_from_entry
from ftcore.data.formats import (
    alpaca_to_messages,
    detect_spec,
    make_spec,
    row_labels,
    row_turns,
    sharegpt_to_messages,
)
from ftcore.data.sources import open_sources
from ftcore.errors import ConfigError, DataError

FIXTURES = Path(__file__).parent / "fixtures" / "data"
CHAT = [{"from": "human", "value": "你好"}, {"from": "gpt", "value": "新年好"}]
OPENAI_CHAT = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]


@pytest.mark.parametrize(
    ("rows", "format", "mapped"),
    [
        ([{"instruction": "q", "input": "", "output": "a"}], "alpaca", {}),
        ([{"instruction": "q", "output": "a", "style": "warm"}], "alpaca", {}),
        ([{"conversations": CHAT}], "sharegpt", {}),
        ([{"messages": OPENAI_CHAT}], "openai", {}),
        # LLaMA-Factory's sharegpt with OpenAI tags, under its default column name
        ([{"conversations": OPENAI_CHAT}], "openai", {"messages": "conversations"}),
        ([{"messages": CHAT}], "sharegpt", {"messages": "messages"}),
        (
            [{"question": "q", "answer": "a"}],
            "alpaca",
            {"prompt": "question", "response": "answer"},
        ),
        (
            [{"prompt": "q", "response": "a"}],
            "alpaca",
            {"prompt": "prompt", "response": "response"},
        ),
        (
            [{"prompt": "q", "completion": "a"}],
            "alpaca",
            {"prompt": "prompt", "response": "completion"},
        ),
        ([{"query": "q", "answer": "a"}], "alpaca", {"prompt": "query", "response": "answer"}),
        ([{"input": "q", "output": "a"}], "alpaca", {"query": ""}),
    ],
)
def test_format_is_detected_from_the_columns(rows, format, mapped):
    spec = detect_spec(rows)
    assert spec.format == format
    assert {role: spec.columns[role] for role in mapped} == mapped


def test_nothing_recognisable_is_none():
    assert detect_spec([{"text": "a", "label": 1}]) is None


def test_explicit_columns_decide_over_guessing():
    spec = detect_spec([{"q": "x", "a": "y", "output": "z"}], {"prompt": "q", "response": "a"})
    assert (spec.format, spec.columns["prompt"], spec.columns["response"]) == ("alpaca", "q", "a")
    assert spec.describe() == "alpaca (prompt=q, response=a)"


@pytest.mark.parametrize(
    ("args", "field", "hint"),
    [
        (("alpacca",), "format", "Did you mean 'alpaca'?"),
        (("alpaca", {"promt": "q"}), "columns", "Did you mean 'prompt'?"),
        (("sharegpt", None, {"user_tg": "user"}), "tags", "Did you mean 'user_tag'?"),
    ],
)
def test_unknown_names_get_a_did_you_mean(args, field, hint):
    with pytest.raises(ConfigError) as caught:
        make_spec(*args)
    assert caught.value.field == field
    assert hint in str(caught.value)


ALPACA_ROW = {
    "instruction": "写祝福",
    "input": "给奶奶",
    "output": "奶奶新年好！",
    "system": "你是助手",
    "history": [["你好", "你好！"]],
}


def test_alpaca_row_becomes_system_history_prompt_and_reply():
    messages, fields = row_turns(ALPACA_ROW, make_spec("alpaca"))
    assert messages == [
        {"role": "system", "content": "你是助手"},
        {"role": "user", "content": "你好"},
        {"role": "assistant", "content": "你好！"},
        {"role": "user", "content": "写祝福\n给奶奶"},
        {"role": "assistant", "content": "奶奶新年好！"},
    ]
    assert fields == ["system", "history[0][0]", "history[0][1]", "instruction", "output"]
    assert alpaca_to_messages(ALPACA_ROW) == messages


def test_alpaca_history_written_as_json_text_in_a_csv_cell():
    row = {**ALPACA_ROW, "history": '[["你好", "你好！"]]'}
    assert row_turns(row, make_spec("alpaca"))[0][1] == {"role": "user", "content": "你好"}


def test_numbers_are_text_but_lists_are_not():
    messages, _ = row_turns(
        {"question": "1+1?", "answer": 2}, detect_spec([{"question": 1, "answer": 2}])
    )
    assert messages[-1] == {"role": "assistant", "content": "2"}


def test_sharegpt_row_with_system_column_and_aliases():
    row = {
        "system": "S",
        "conversations": [
            *CHAT,
            {"from": "user", "value": "再来"},
            {"from": "assistant", "value": "好"},
        ],
    }
    messages, fields = row_turns(row, make_spec("sharegpt"))
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert fields == [
        "system",
        "conversations[0]",
        "conversations[1]",
        "conversations[2]",
        "conversations[3]",
    ]
    assert sharegpt_to_messages(row) == messages


def test_empty_system_turn_is_dropped_not_rejected():
    row = {"conversations": [{"from": "system", "value": " "}, *CHAT]}
    assert [m["role"] for m in row_turns(row, make_spec("sharegpt"))[0]] == ["user", "assistant"]


def test_openai_text_content_parts_are_joined():
    row = {
        "messages": [
            {"role": "developer", "content": "Be brief"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
            {"role": "assistant", "content": "c"},
        ]
    }
    messages, _ = row_turns(row, make_spec("openai"))
    assert messages == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "a\nb"},
        {"role": "assistant", "content": "c"},
    ]


def test_custom_tags_map_roles():
    spec = make_spec(
        "sharegpt",
        {"messages": "dialog"},
        {"role_tag": "speaker", "content_tag": "text", "user_tag": "A", "assistant_tag": "B"},
    )
    row = {"dialog": [{"speaker": "A", "text": "hi"}, {"speaker": "B", "text": "hello"}]}
    assert [m["role"] for m in row_turns(row, spec)[0]] == ["user", "assistant"]


def test_labels_are_the_scalar_fields_outside_the_conversation():
    row = {
        "id": "x1",
        "instruction": "q",
        "output": "a",
        "style": "warm",
        "intensity": 3,
        "ok": True,
        "note": " ",
        "tags": ["a"],
        "score": None,
    }
    assert row_labels(row, make_spec("alpaca")) == {"style": "warm", "intensity": 3, "ok": True}


@pytest.mark.parametrize(
    ("name", "format", "rows"),
    [
        ("alpaca.jsonl", "alpaca", 3),
        ("sharegpt.json", "sharegpt", 2),
        ("openai.jsonl", "openai", 2),
        ("qa.csv", "alpaca", 3),
        ("prompts.tsv", "alpaca", 2),
    ],
)
def test_fixture_files_are_detected(name, format, rows):
    [source] = open_sources([FIXTURES / name], "auto", {}, {})
    assert source.spec.format == format
    assert sum(1 for _ in source.rows_read()) == rows


def test_dataset_info_entry_with_column_mapping():
    files, spec = load_dataset_info(FIXTURES / "dataset_info.json", "greet_qa")
    assert files == [FIXTURES / "qa.csv"]
    assert (spec.format, spec.columns["prompt"], spec.columns["response"]) == (
        "alpaca",
        "question",
        "answer",
    )


def test_dataset_info_sharegpt_entry_ignores_columns_it_cannot_train_on():
    files, spec = load_dataset_info(FIXTURES / "dataset_info.json", "greet_chats")
    assert files == [FIXTURES / "sharegpt.json"]
    assert spec.format == "sharegpt" and "tools" not in spec.columns
    assert spec.tags["system_tag"] == "system"  # the default fills what the entry leaves out


def test_dataset_info_openai_style_tags():
    entry = {
        "file_name": "x.json",
        "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": {
            "role_tag": "role",
            "content_tag": "content",
            "user_tag": "user",
            "assistant_tag": "assistant",
        },
    }
    spec = spec_from_entry("x", entry)
    assert row_turns({"messages": OPENAI_CHAT}, spec)[0] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("greet_q", ConfigError, "Did you mean 'greet_qa'?"),
        (None, ConfigError, "greet_qa, greet_chats, hub_only"),
    ],
)
def test_dataset_info_errors(name, error, message):
    with pytest.raises(error, match=message):
        load_dataset_info(FIXTURES / "dataset_info.json", name)


def test_dataset_info_passed_as_data_is_refused_with_a_hint():
    with pytest.raises(DataError, match="dataset_info.json, not data"):
        open_sources([FIXTURES / "dataset_info.json"], "auto", {}, {})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("# My notes\nNot a dataset at all.\n", "none of its first 2 rows is an object"),
        ('{"text": "a", "label": 1}\n', "its rows have the fields label, text"),
    ],
)
def test_a_file_that_is_not_a_dataset_gets_one_clear_message(tmp_path, content, message):
    path = tmp_path / "notes.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message) as caught:
        open_sources([path], "auto", {}, {})
    assert "\n" not in str(caught.value)


def test_preview_shows_the_format_and_first_rows_as_they_would_be_prepared():
    from ftcore.data.records import Record, Reject
    from ftcore.data.sources import preview_file

    source, pairs = preview_file(FIXTURES / "bad_rows.jsonl", rows=4)
    assert (source.file_type, source.encoding, source.spec.format) == ("jsonl", "utf-8", "alpaca")
    raws, rows = zip(*pairs, strict=True)
    assert [type(row) for row in rows] == [Record, Reject, Record, Reject]
    assert rows[1].code == "broken_json"
    lines = (FIXTURES / "bad_rows.jsonl").read_text("utf-8").splitlines()
    assert [raw.raw for raw in raws] == lines[:4]  # each row as written, beside its outcome
