"""The shipped sample data: sizes, labels, distinctness, and formats that parse."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from ftcore.chat_format import validate_messages
from ftcore.data.formats import alpaca_to_messages, sharegpt_to_messages

DATA = Path(__file__).resolve().parent.parent / "data"
STYLES = {"warm", "humorous", "literary", "traditional"}
SCENES = {
    "elders",
    "parents",
    "colleagues",
    "boss",
    "friends",
    "clients",
    "teachers",
    "partner",
    "children",
    "relatives",
    "neighbours",
    "classmates",
}
INTENSITIES = {"low", "medium", "high"}


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def greetings():
    return read_jsonl(DATA / "greetings" / "spring_festival_greetings.jsonl")


def test_greetings_are_many_distinct_and_labelled(greetings):
    assert len(greetings) >= 400
    assert len({row["output"] for row in greetings}) == len(greetings)
    assert len({row["id"] for row in greetings}) == len(greetings)
    assert Counter(row["style"] for row in greetings) == {style: 115 for style in STYLES}
    assert {row["scene"] for row in greetings} == SCENES
    assert {row["intensity"] for row in greetings} == INTENSITIES
    for row in greetings:
        validate_messages(alpaca_to_messages(row), ends_with="assistant")


def test_greetings_keep_full_width_chinese_punctuation(greetings):
    outputs = "".join(row["output"] for row in greetings)
    assert outputs.count("，") > 400 and outputs.count("！") > 100


def test_multiturn_conversations_alternate_and_end_with_the_assistant():
    rows = json.loads((DATA / "multiturn" / "greeting_chats.sharegpt.json").read_text("utf-8"))
    assert len(rows) >= 30
    for row in rows:
        messages = sharegpt_to_messages(row)
        validate_messages(messages, ends_with="assistant")
        assert sum(m["role"] == "assistant" for m in messages) >= 2


def test_probe_set_covers_everyday_topics_in_both_languages():
    probe = read_jsonl(DATA / "probe" / "general_probe.jsonl")
    assert len(probe) >= 60
    assert len({row["instruction"] for row in probe}) == len(probe)
    assert len(Counter(row["category"] for row in probe)) >= 6
    english = [row for row in probe if row["instruction"].isascii()]
    assert 10 <= len(english) < len(probe) / 2
    assert not any("春节" in row["instruction"] or "拜年" in row["output"] for row in probe)


def test_pretraining_corpus_never_contains_the_fine_tuning_or_probe_data(greetings):
    """The demo model must not have seen what it is fine-tuned or probed on."""
    corpus = "".join(path.read_text("utf-8") for path in (DATA / "pretrain_corpus").iterdir())
    probe = read_jsonl(DATA / "probe" / "general_probe.jsonl")
    for text in [row["output"] for row in greetings] + [row["output"] for row in probe]:
        for sentence in re.split(r"[。！？!?]|\. ", text):
            if len(sentence) >= 10:
                assert sentence not in corpus, sentence
    assert "春节" not in corpus and "拜年" not in corpus
