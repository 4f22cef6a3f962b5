"""Chat turns for the Chat tab: one model, or base and fine-tuned side by side.

A conversation keeps one message list per side, because in a side-by-side chat each
model must see its own earlier replies. Every finished reply is written to the database,
so a conversation never lives only in memory.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from ftcore.chat_format import Message
from ftcore.db import Database, utc_now
from ftcore.errors import AdapterError
from ftcore.runtime.adapters import ChatModel
from ftcore.runtime.generation import GenerationSettings, stream_reply
from ftcore.runtime.models import load_model

BASE_SIDE = "base"
TUNED_SIDE = "fine-tuned"


@dataclass
class Conversation:
    """Message lists per side: {'base': [...]} alone, or base and fine-tuned."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    sides: dict[str, list[Message]] = field(default_factory=dict)

    def messages(self, side: str) -> list[Message]:
        return self.sides.setdefault(side, [])


@dataclass(frozen=True)
class ChatRequest:
    """Which model answers: a base model, optionally an adapter, optionally compared."""

    base: str = "demo"
    adapter: str | None = None  # adapter folder; None chats with the base model
    load_in_4bit: bool = False
    compare: bool = False  # base and fine-tuned answer the same prompt side by side
    system: str = ""  # optional system prompt, prepended to each side's conversation
    settings: GenerationSettings = GenerationSettings()

    def sides(self) -> list[str]:
        if self.compare:
            if not self.adapter:
                raise AdapterError("side-by-side mode needs an adapter to compare with the base")
            return [BASE_SIDE, TUNED_SIDE]
        return [TUNED_SIDE if self.adapter else BASE_SIDE]


class ModelCache:
    """Keeps the last loaded base model, so each chat turn does not reload it."""

    def __init__(self) -> None:
        self._key: tuple[str, bool] | None = None
        self._model: ChatModel | None = None
        self._lock = threading.Lock()

    def get(self, base: str, load_in_4bit: bool = False) -> ChatModel:
        with self._lock:
            if self._key != (base, load_in_4bit) or self._model is None:
                # Free the previous model before loading the next; a failed load leaves
                # the cache empty rather than pointing at the old key.
                self._key, self._model = None, None
                self._model = ChatModel(load_model(base, load_in_4bit=load_in_4bit))
                self._key = (base, load_in_4bit)
            return self._model


def log_reply(
    db: Database,
    conversation: Conversation,
    request: ChatRequest,
    side: str,
    prompt: list[Message],
    reply: str,
    stopped: bool,
) -> None:
    with db.transaction() as tables:
        tables["chat_turns"].insert(
            {
                "created_at": utc_now(),
                "conversation_id": conversation.id,
                "base_model": request.base,
                "adapter": request.adapter if side == TUNED_SIDE else None,
                "messages_json": json.dumps(prompt, ensure_ascii=False),
                "reply": reply,
                "settings_json": json.dumps(request.settings.as_dict()),
                "stopped": int(stopped),
            }
        )


def stream_chat_turn(
    cache: ModelCache,
    db: Database,
    conversation: Conversation,
    user_message: str,
    request: ChatRequest,
    stop: threading.Event | None = None,
) -> Iterator[Conversation]:
    """Answer `user_message` on every side of the conversation in turn, yielding the
    conversation each time a reply grows. Stop ends the current reply; sides not yet
    started get an empty one, so every side keeps the same turns."""
    stop = stop or threading.Event()
    sides = request.sides()
    chat_model = cache.get(request.base, request.load_in_4bit)
    adapter_name = chat_model.attach(request.adapter) if request.adapter else None
    for side in sides:
        messages = conversation.messages(side)
        if request.system and not messages:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": user_message})
        prompt = list(messages)
        answer = {"role": "assistant", "content": ""}
        messages.append(answer)
        if not stop.is_set():
            model_adapter = adapter_name if side == TUNED_SIDE else None
            for text in stream_reply(
                chat_model, prompt, request.settings, adapter=model_adapter, stop=stop
            ):
                answer["content"] = text
                yield conversation
        log_reply(db, conversation, request, side, prompt, answer["content"], stop.is_set())
        yield conversation
