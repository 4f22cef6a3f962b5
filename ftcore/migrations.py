"""Numbered schema migrations: MIGRATIONS[i] takes the database from version i to i + 1.

Append new migrations at the end and never edit one that has shipped: a user's workspace
may already be at any version. Each docstring is recorded in the schema_version table.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils


def create_chat_turns(db: sqlite_utils.Database) -> None:
    """Chat replies, so a conversation with a model is never kept only in memory."""
    db["chat_turns"].create(
        {
            "id": int,
            "created_at": str,
            "conversation_id": str,  # one per Chat-tab conversation
            "base_model": str,
            "adapter": str,  # None for the base model
            "messages_json": str,  # the conversation the reply answers, as the model saw it
            "reply": str,
            "settings_json": str,  # decoding settings, so the reply can be reproduced
            "stopped": int,  # 1 when the user pressed Stop before the end
        },
        pk="id",
        not_null={"created_at", "conversation_id", "base_model", "messages_json", "reply"},
    )
    db["chat_turns"].create_index(["conversation_id"])


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    create_chat_turns,
]
