"""Turn rows of the common instruction-tuning formats into one conversation shape.

Every row becomes a list of `{"role", "content"}` messages, the shape the chat template
renders. The conventions follow LLaMA-Factory, so its datasets mean the same here:
alpaca joins `instruction` and `input` with a newline and turns `history` pairs into
earlier turns; sharegpt maps `human`/`gpt` (and `user`/`assistant`) to roles.
"""

from __future__ import annotations

from collections.abc import Mapping

from ftcore.chat_format import Message

SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
}


def alpaca_to_messages(row: Mapping) -> list[Message]:
    """An alpaca row (`instruction`, `input`, `output`, optional `system`, `history`)."""
    messages: list[Message] = []
    if row.get("system"):
        messages.append({"role": "system", "content": row["system"]})
    for user_turn, assistant_turn in row.get("history") or []:
        messages.append({"role": "user", "content": user_turn})
        messages.append({"role": "assistant", "content": assistant_turn})
    prompt = row["instruction"]
    if row.get("input"):
        prompt = f"{prompt}\n{row['input']}"
    messages.append({"role": "user", "content": prompt})
    messages.append({"role": "assistant", "content": row["output"]})
    return messages


def sharegpt_to_messages(row: Mapping) -> list[Message]:
    """A sharegpt row: `conversations` of `from`/`value`, optional top-level `system`."""
    messages: list[Message] = []
    if row.get("system"):
        messages.append({"role": "system", "content": row["system"]})
    for turn in row["conversations"]:
        messages.append({"role": SHAREGPT_ROLES[turn["from"]], "content": turn["value"]})
    return messages
