"""Chat turns: single and side-by-side conversations, stop, and what gets stored."""

import json
import threading
from collections import deque

import pytest

from ftcore.db import Database
from ftcore.errors import AdapterError
from ftcore.runtime.chat import (
    BASE_SIDE,
    TUNED_SIDE,
    ChatRequest,
    Conversation,
    ModelCache,
    stream_chat_turn,
)
from ftcore.runtime.generation import GenerationSettings, reply

SETTINGS = GenerationSettings(max_new_tokens=12)


@pytest.fixture
def db(workspace):
    return Database.for_workspace(workspace)


def last(iterator):
    return deque(iterator, maxlen=1)[0]


def test_side_by_side_answers_with_base_and_adapter(db, lora_adapter):
    cache = ModelCache()
    request = ChatRequest(adapter=str(lora_adapter), compare=True, settings=SETTINGS)
    conversation = last(stream_chat_turn(cache, db, Conversation(), "给老师写祝福", request))
    chat_model = cache.get("demo")
    prompt = [{"role": "user", "content": "给老师写祝福"}]
    expected_base = reply(chat_model, prompt, SETTINGS)
    expected_tuned = reply(chat_model, prompt, SETTINGS, adapter="greetings-lora")
    assert conversation.sides[BASE_SIDE][-1]["content"] == expected_base
    assert conversation.sides[TUNED_SIDE][-1]["content"] == expected_tuned
    assert expected_base != expected_tuned

    rows = db.query("SELECT * FROM chat_turns ORDER BY id")
    assert [row["adapter"] for row in rows] == [None, str(lora_adapter)]
    assert [row["reply"] for row in rows] == [expected_base, expected_tuned]
    assert json.loads(rows[0]["messages_json"]) == prompt
    assert json.loads(rows[0]["settings_json"])["max_new_tokens"] == 12


def test_each_side_keeps_its_own_history(db, lora_adapter):
    cache, conversation = ModelCache(), Conversation()
    request = ChatRequest(
        adapter=str(lora_adapter), compare=True, settings=SETTINGS, system="你是助手。"
    )
    for message in ("你好", "再写一条"):
        conversation = last(stream_chat_turn(cache, db, conversation, message, request))
    for side in (BASE_SIDE, TUNED_SIDE):
        roles = [m["role"] for m in conversation.sides[side]]
        assert roles == ["system", "user", "assistant", "user", "assistant"]
    assert conversation.sides[BASE_SIDE][2] != conversation.sides[TUNED_SIDE][2]
    second_prompt = json.loads(db.query("SELECT * FROM chat_turns ORDER BY id")[2]["messages_json"])
    assert second_prompt[2] == conversation.sides[BASE_SIDE][2]


def test_stop_skips_the_sides_not_yet_started(db, lora_adapter):
    stop = threading.Event()
    request = ChatRequest(
        adapter=str(lora_adapter), compare=True, settings=GenerationSettings(max_new_tokens=100)
    )
    conversation = Conversation()
    for _ in stream_chat_turn(ModelCache(), db, conversation, "你好", request, stop):
        stop.set()
    assert conversation.sides[TUNED_SIDE][-1] == {"role": "assistant", "content": ""}
    assert [row["stopped"] for row in db.query("SELECT stopped FROM chat_turns")] == [1, 1]


def test_comparing_without_an_adapter_is_refused(db):
    with pytest.raises(AdapterError, match="needs an adapter"):
        last(stream_chat_turn(ModelCache(), db, Conversation(), "你好", ChatRequest(compare=True)))


def test_model_cache_reuses_the_loaded_model():
    cache = ModelCache()
    assert cache.get("demo") is cache.get("demo")


def test_a_failed_load_does_not_poison_the_cache():
    from ftcore.errors import ModelNotFoundError

    cache = ModelCache()
    first = cache.get("demo")
    with pytest.raises(ModelNotFoundError):
        cache.get("./missing-model")
    assert cache.get("demo") is not first  # loaded again, not a stale or empty entry
    assert cache.get("demo").loaded.source == "demo"
