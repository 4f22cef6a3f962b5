"""The workspace database: journal mode, busy timeout, migrations, locked reads."""

import ast
import sqlite3
import threading
from pathlib import Path

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
    recorded = db.query("SELECT * FROM schema_version ORDER BY version")
    assert [row["version"] for row in recorded] == list(range(1, len(migrations.MIGRATIONS) + 1))
    assert recorded[0]["description"] == migrations.create_chat_turns.__doc__
    assert db.table_exists("chat_turns")


def test_local_workspace_uses_wal_and_a_busy_timeout(workspace):
    db = Database.for_workspace(workspace)
    assert db.journal_mode == "wal"
    assert db.query_value("PRAGMA busy_timeout") == BUSY_TIMEOUT_MS


def test_reopening_applies_only_new_migrations(workspace, monkeypatch):
    Database.for_workspace(workspace).close()

    def add_notes(db):
        """A later migration."""
        db["notes"].create({"id": int, "text": str}, pk="id")

    monkeypatch.setattr("ftcore.db.MIGRATIONS", [*migrations.MIGRATIONS, add_notes])
    db = Database.for_workspace(workspace)
    assert db.schema_version() == len(migrations.MIGRATIONS) + 1
    assert db.table_exists("notes")
    # Applying again is a no-op: no duplicate version rows, no "table exists" error.
    assert db.migrate() == len(migrations.MIGRATIONS) + 1
    assert db.query_value("SELECT COUNT(*) FROM schema_version") == len(migrations.MIGRATIONS) + 1


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
    assert not db.table_exists("half_done")


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
    assert [row["reply"] for row in reader.query("SELECT reply FROM chat_turns")] == ["你好"]


CHAT_ROW = {"created_at": "t", "conversation_id": "c", "base_model": "demo", "messages_json": "[]"}


def test_a_reader_never_sees_a_write_that_has_not_committed(workspace):
    """The dirty read the storage review reproduced: one thread inserts inside a transaction
    and rolls back; another thread reading in between must see 0 rows, not 1."""
    db = Database.for_workspace(workspace)
    inserted, seen = threading.Event(), {}

    def read_during_the_write():
        inserted.wait()
        seen["during"] = db.query_value("SELECT COUNT(*) FROM chat_turns")

    reader = threading.Thread(target=read_during_the_write)
    reader.start()
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn["chat_turns"].insert({**CHAT_ROW, "reply": "uncommitted"})
        inserted.set()
        reader.join(timeout=0.5)  # the reader is blocked on the lock, not reading
        raise RuntimeError("roll back")
    reader.join()
    seen["after"] = db.query_value("SELECT COUNT(*) FROM chat_turns")
    assert seen == {"during": 0, "after": 0}


def test_concurrent_writers_from_threads_and_connections_lose_nothing(workspace):
    """Eight threads over two connections (two processes' worth) each insert 25 rows."""
    databases = [Database.for_workspace(workspace) for _ in range(2)]

    def write(worker: int):
        for i in range(25):
            with databases[worker % 2].transaction() as conn:
                conn["chat_turns"].insert({**CHAT_ROW, "reply": f"{worker}-{i}"})

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    replies = databases[0].query("SELECT reply FROM chat_turns")
    assert sorted(r["reply"] for r in replies) == sorted(
        f"{w}-{i}" for w in range(8) for i in range(25)
    )


def test_an_up_to_date_database_is_not_migrated_again(workspace, monkeypatch):
    Database.for_workspace(workspace).close()
    monkeypatch.setattr(Database, "migrate", lambda self: pytest.fail("migrated again"))
    assert Database.for_workspace(workspace).schema_version() == len(migrations.MIGRATIONS)


def _raw_connection_uses(path: Path) -> list[str]:
    """`x.db.execute` / `x._db` attribute uses and sqlite3.connect calls in one module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr == "_db":
            found.append(f"{path}:{node.lineno} .{node.attr}")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "db"
            and node.attr in ("execute", "query", "conn", "executescript", "table")
        ):
            found.append(f"{path}:{node.lineno} .db.{node.attr}")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "connect"
            and isinstance(node.value, ast.Name)
            and node.value.id == "sqlite3"
        ):
            found.append(f"{path}:{node.lineno} sqlite3.connect")
    return found


def test_nothing_outside_db_module_touches_the_connection():
    package = Path(__file__).resolve().parents[1] / "ftcore"
    offenders = [
        use
        for path in sorted(package.rglob("*.py"))
        if path != package / "db.py"
        for use in _raw_connection_uses(path)
    ]
    assert offenders == []
