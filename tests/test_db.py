"""The workspace database: journal mode, busy timeout, migrations."""

import sqlite3

import pytest

from ftcore import migrations
from ftcore.db import BUSY_TIMEOUT_MS, Database
from ftcore.workspace import Workspace


@pytest.fixture
def workspace(tmp_path):
    return Workspace.open(tmp_path / "home")


def test_new_database_is_migrated_to_the_latest_version(workspace):
    db = Database.for_workspace(workspace)
    assert db.schema_version() == len(migrations.MIGRATIONS)
    recorded = list(db.db["schema_version"].rows)
    assert [row["version"] for row in recorded] == list(range(1, len(migrations.MIGRATIONS) + 1))
    assert recorded[0]["description"] == migrations.create_chat_turns.__doc__
    assert db.db["chat_turns"].exists()


def test_local_workspace_uses_wal_and_a_busy_timeout(workspace):
    db = Database.for_workspace(workspace)
    assert db.journal_mode == "wal"
    assert db.db.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS


def test_network_storage_uses_the_rollback_journal(tmp_path, monkeypatch):
    monkeypatch.setattr("ftcore.workspace.SPACES_STORAGE", tmp_path)
    workspace = Workspace.open(tmp_path / "ftstudio")
    assert workspace.on_network_storage
    assert Database.for_workspace(workspace).journal_mode == "delete"


def test_reopening_applies_only_new_migrations(workspace, monkeypatch):
    Database.for_workspace(workspace).close()

    def add_notes(db):
        """A later migration."""
        db["notes"].create({"id": int, "text": str}, pk="id")

    monkeypatch.setattr("ftcore.db.MIGRATIONS", [*migrations.MIGRATIONS, add_notes])
    db = Database.for_workspace(workspace)
    assert db.schema_version() == len(migrations.MIGRATIONS) + 1
    assert db.db["notes"].exists()
    # Applying again is a no-op: no duplicate version rows, no "table exists" error.
    assert db.migrate() == len(migrations.MIGRATIONS) + 1
    assert db.db["schema_version"].count == len(migrations.MIGRATIONS) + 1


def test_failed_migration_rolls_back_and_keeps_the_old_version(workspace, monkeypatch):
    def broken(db):
        """A migration that fails halfway."""
        db["half_done"].create({"id": int}, pk="id")
        raise sqlite3.OperationalError("boom")

    monkeypatch.setattr("ftcore.db.MIGRATIONS", [*migrations.MIGRATIONS, broken])
    with pytest.raises(sqlite3.OperationalError):
        Database.for_workspace(workspace)
    monkeypatch.undo()
    db = Database.for_workspace(workspace)
    assert db.schema_version() == len(migrations.MIGRATIONS)
    assert not db.db["half_done"].exists()


def test_two_connections_see_each_others_writes(workspace):
    writer, reader = Database.for_workspace(workspace), Database.for_workspace(workspace)
    with writer.transaction() as db:
        db["chat_turns"].insert(
            {
                "created_at": "t",
                "conversation_id": "c",
                "base_model": "demo",
                "messages_json": "[]",
                "reply": "你好",
            }
        )
    assert [row["reply"] for row in reader.db["chat_turns"].rows] == ["你好"]
