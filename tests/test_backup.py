"""Backups of rating data: the journal, idempotent replay, snapshots, restore and the CLI."""

import json
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from ftcore.cli import main
from ftcore.db import Database
from ftcore.errors import DataError
from ftcore.rating import service
from ftcore.rating.backup_folder import BackupError, BackupFolder
from ftcore.rating.durability import start_durability
from ftcore.rating.journal import Journal, attach, detach, read_journal
from ftcore.rating.replay import replay
from ftcore.rating.sessions import close_session
from ftcore.rating.snapshots import prune, restore_database, take_snapshot
from ftcore.workspace import Workspace

CRITERIA = ["completeness", "fluency", "style_fit", "sincerity"]  # rubrics/greeting.yaml
SCORES = {"A": dict.fromkeys(CRITERIA, 4), "B": dict.fromkeys(CRITERIA, 2)}
KEYS = {  # each rating table and its primary key, for comparing whole tables
    "rating_sessions": "id",
    "rating_items": "id",
    "rating_invites": "code",
    "rating_raters": "id",
    "rating_assignments": "id",
    "rating_votes": "id",
}


@pytest.fixture
def backed_up(tmp_path, make_rating_session):
    """A workspace whose rating writes are journaled to tmp_path/bucket, with an open
    session of 4 pair items (2 ratings each) created after the journal was attached."""
    folder = BackupFolder(tmp_path / "bucket").create()
    workspace = Workspace.open(tmp_path / "home")
    journal = Journal(folder, 0)
    attach(workspace.db_path, journal)
    info = make_rating_session(workspace.root, examples=4, ratings_per_item=2, min_seconds=0)
    database = Database.for_workspace(workspace)
    yield SimpleNamespace(
        folder=folder, workspace=workspace, journal=journal, info=info, db=database
    )
    database.close()
    detach(workspace.db_path)


def cast(database, code: str, name: str, votes: int) -> tuple[str, list[str]]:
    """Join as `name` and vote A on the next `votes` items: (rater token, vote ids)."""
    token = service.join(database, code, name)["rater_token"]
    ids = []
    for _ in range(votes):
        item = service.next_item(database, token)
        ids.append(service.vote(database, token, item["item_token"], "A", SCORES)["vote_id"])
    return token, ids


def rating_rows(database) -> dict[str, list[dict]]:
    return {
        table: database.query(f"SELECT * FROM {table} ORDER BY {key}")
        for table, key in KEYS.items()
    }


def lose_database(setup) -> dict[str, list[dict]]:
    """Close and delete the workspace database, as a lost container does; return its
    rating rows as they were."""
    rows = rating_rows(setup.db)
    setup.db.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{setup.workspace.db_path}{suffix}").unlink(missing_ok=True)
    return rows


def test_each_rating_write_is_in_the_journal_when_its_call_returns(backed_up):
    token, [vote_id] = cast(backed_up.db, backed_up.info.code, "ada", 1)
    service.join(backed_up.db, backed_up.info.code, "ada again", rater_token=token)  # not new
    read = read_journal(backed_up.folder)
    assert [e["kind"] for e in read.entries] == ["session_created", "rater_joined", "vote"]
    assert [p.name for p in read.segments] == [f"000000-{backed_up.journal.writer}.jsonl"]
    created, joined, voted = read.entries
    assert [r["id"] for r in created["rows"]["rating_sessions"]] == [backed_up.info.session_id]
    assert len(created["rows"]["rating_items"]) == 4  # 4 examples, one pair each
    assert joined["rows"]["rating_raters"][0]["token"] == token
    [stored] = backed_up.db.query("SELECT * FROM rating_votes WHERE id = ?", [vote_id])
    assert voted["rows"]["rating_votes"] == [stored]
    [serve] = voted["rows"]["rating_assignments"]
    assert voted["fill"] == [["rating_assignments", serve["id"], "voted_at", serve["voted_at"]]]
    assert voted["source"].endswith(":3")


def test_replaying_a_journal_twice_stores_every_row_once(backed_up, tmp_path):
    cast(backed_up.db, backed_up.info.code, "ada", 2)
    cast(backed_up.db, backed_up.info.code, "bo", 1)
    close_session(backed_up.db, backed_up.info.session_id)
    entries = read_journal(backed_up.folder).entries
    fresh = Database(tmp_path / "fresh.db")
    first = replay(fresh, entries)
    # 1 session, its 4 items, 2 raters, 3 serves and 3 votes; the close fills closed_at.
    expected = {
        "rating_sessions": 1,
        "rating_items": 4,
        "rating_raters": 2,
        "rating_assignments": 3,
        "rating_votes": 3,
    }
    assert (dict(first.inserted), dict(first.present), first.filled) == (expected, {}, 1)
    assert rating_rows(fresh) == rating_rows(backed_up.db)
    second = replay(fresh, entries)
    assert (dict(second.inserted), dict(second.present), second.filled) == ({}, expected, 0)
    assert rating_rows(fresh) == rating_rows(backed_up.db)
    fresh.close()


def test_snapshot_plus_journal_after_it_restores_every_vote(backed_up):
    cast(backed_up.db, backed_up.info.code, "ada", 2)
    snapshot = take_snapshot(backed_up.db, backed_up.folder, backed_up.journal)
    assert snapshot.name == "snapshot-000001.db" and backed_up.journal.epoch == 1
    cast(backed_up.db, backed_up.info.code, "bo", 2)
    close_session(backed_up.db, backed_up.info.session_id)
    before = lose_database(backed_up)
    report = restore_database(backed_up.workspace.db_path, backed_up.folder)
    assert report.snapshot == snapshot
    assert [p.name[:6] for p in report.segments] == ["000000", "000001"]  # one before, too
    # Only bo's rows were missing from the snapshot; ada's came back from it.
    assert dict(report.counts.inserted) == {
        "rating_raters": 1,
        "rating_assignments": 2,
        "rating_votes": 2,
    }
    assert report.counts.filled == 1 and report.torn == [] and report.counts.orphans == []
    restored = Database.for_workspace(backed_up.workspace)
    assert rating_rows(restored) == before
    restored.close()


def test_a_torn_last_line_is_left_out_reported_and_cut_before_the_next_append(backed_up):
    token, _ = cast(backed_up.db, backed_up.info.code, "ada", 1)
    [segment] = read_journal(backed_up.folder).segments
    with open(segment, "ab") as file:
        file.write(b'{"kind": "vote", "rows": {"rating_vo')  # killed mid-append
    read = read_journal(backed_up.folder)
    assert read.torn == [segment] and len(read.entries) == 3
    before = lose_database(backed_up)
    report = restore_database(backed_up.workspace.db_path, backed_up.folder)
    assert report.snapshot is None and report.torn == [segment]  # the journal alone
    database = Database.for_workspace(backed_up.workspace)
    assert rating_rows(database) == before
    item = service.next_item(database, token)  # the rater carries on
    service.vote(database, token, item["item_token"], "B", SCORES)
    read = read_journal(backed_up.folder)
    assert read.torn == [] and [e["kind"] for e in read.entries][-1] == "vote"
    assert len(read.entries) == 4
    database.close()


def test_a_snapshot_cut_off_mid_copy_is_passed_over(backed_up):
    cast(backed_up.db, backed_up.info.code, "ada", 1)
    older = take_snapshot(backed_up.db, backed_up.folder, backed_up.journal)
    cast(backed_up.db, backed_up.info.code, "bo", 1)
    newer = take_snapshot(backed_up.db, backed_up.folder, backed_up.journal)
    newer.write_bytes(newer.read_bytes()[:2048])
    before = lose_database(backed_up)
    report = restore_database(backed_up.workspace.db_path, backed_up.folder)
    assert (report.snapshot, report.passed_over) == (older, [newer])
    restored = Database.for_workspace(backed_up.workspace)
    assert rating_rows(restored) == before
    restored.close()


def test_prune_keeps_the_newest_snapshots_and_the_segments_they_need(backed_up):
    for name in ("a", "b", "c", "d"):  # a vote in segment 0, then one after each snapshot
        cast(backed_up.db, backed_up.info.code, name, 1)
        take_snapshot(backed_up.db, backed_up.folder, backed_up.journal, keep=10)
    assert [e for e, _ in backed_up.folder.segments()] == [0, 1, 2, 3]
    removed = prune(backed_up.folder, keep=2)
    assert [e for e, _ in backed_up.folder.snapshots()] == [3, 4]
    assert [e for e, _ in backed_up.folder.segments()] == [2, 3]  # 3 - 1 and above
    writer = backed_up.journal.writer
    assert sorted(p.name for p in removed) == [
        f"000000-{writer}.jsonl",
        f"000001-{writer}.jsonl",
        "snapshot-000001.db",
        "snapshot-000002.db",
    ]
    with pytest.raises(BackupError, match="keep=0"):
        prune(backed_up.folder, keep=0)


def test_restore_never_replaces_a_database_without_force(backed_up, capsys):
    cast(backed_up.db, backed_up.info.code, "ada", 1)
    take_snapshot(backed_up.db, backed_up.folder, backed_up.journal)
    argv = [
        "restore",
        "--from",
        str(backed_up.folder.root),
        "--home",
        str(backed_up.workspace.root),
    ]
    assert main(argv) == 1
    assert capsys.readouterr().err == (
        f"ftcore restore: error: {backed_up.workspace.db_path} exists: restoring would "
        "replace it (use --force)\n"
    )
    before = lose_database(backed_up)
    backed_up.workspace.db_path.write_bytes(b"")  # a file left behind: --force replaces it
    assert main([*argv, "--force", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["snapshot"].endswith("snapshot-000001.db") and report["torn"] == []
    restored = Database.for_workspace(backed_up.workspace)
    assert rating_rows(restored) == before
    restored.close()


def test_ftcore_backup_writes_a_snapshot_that_opens_on_its_own(backed_up, tmp_path, capsys):
    cast(backed_up.db, backed_up.info.code, "ada", 2)
    out = tmp_path / "by-hand"
    assert main(["backup", "--to", str(out), "--home", str(backed_up.workspace.root)]) == 0
    [(epoch, snapshot)] = BackupFolder(out).snapshots()
    assert epoch == 1 and capsys.readouterr().out.startswith(f"snapshot {snapshot} (")
    copy = Database(snapshot)
    assert rating_rows(copy) == rating_rows(backed_up.db)
    copy.close()
    assert main(["backup", "--to", str(out), "--home", str(tmp_path / "empty")]) == 1
    assert "there is nothing to back up" in capsys.readouterr().err


def test_replay_accepts_only_rating_tables_and_their_columns(tmp_path):
    database = Database(tmp_path / "x.db")
    bad_table = {"rows": {"sqlite_master": [{"name": "x"}]}, "fill": [], "source": "j:1"}
    with pytest.raises(DataError, match="j:1: rows of 'sqlite_master'"):
        replay(database, [bad_table])
    bad_column = {"rows": {"rating_votes": [{"id": "v", "x) --": 1}]}, "fill": [], "source": "j:2"}
    with pytest.raises(
        DataError, match=r"j:2: a rating_votes row with unknown columns \['x\) --'\]"
    ):
        replay(database, [bad_column])
    bad_fill = {"rows": {}, "fill": [["rating_votes", "v", "choice", "A"]], "source": "j:3"}
    with pytest.raises(DataError, match="j:3: fill"):
        replay(database, [bad_fill])
    database.close()


def test_rows_naming_what_the_backup_lost_are_skipped_and_counted(backed_up, tmp_path):
    cast(backed_up.db, backed_up.info.code, "ada", 1)
    votes_only = [e for e in read_journal(backed_up.folder).entries if e["kind"] == "vote"]
    fresh = Database(tmp_path / "fresh.db")
    counts = replay(fresh, votes_only)  # the session and rater entries are missing
    assert dict(counts.inserted) == {} and counts.orphans == [votes_only[0]["source"]] * 2
    assert fresh.query_value("SELECT COUNT(*) FROM rating_votes") == 0
    fresh.close()


def test_without_a_backup_folder_nothing_is_journaled(tmp_path, monkeypatch, make_rating_session):
    monkeypatch.delenv("FTSTUDIO_BACKUP_DIR", raising=False)
    workspace = Workspace.open(tmp_path / "home")
    assert start_durability(workspace) is None
    info = make_rating_session(workspace.root, examples=2, min_seconds=0)
    database = Database.for_workspace(workspace)
    cast(database, info.code, "ada", 1)
    database.close()
    assert sorted(p.name for p in tmp_path.rglob("*.jsonl")) == ["predictions-2.jsonl"]


def test_with_the_variable_the_default_workspace_is_journaled_from_any_process(
    tmp_path, monkeypatch, make_rating_session
):
    """`ftcore rate create` on the app's workspace, say: no app started the journal."""
    monkeypatch.setenv("FTSTUDIO_BACKUP_DIR", str(tmp_path / "bucket"))
    monkeypatch.setenv("FTSTUDIO_HOME", str(tmp_path / "home"))
    workspace = Workspace.open()
    try:
        info = make_rating_session(workspace.root, examples=2)
    finally:
        detach(workspace.db_path)
    [created] = read_journal(BackupFolder(tmp_path / "bucket")).entries
    assert created["kind"] == "session_created"
    assert created["rows"]["rating_sessions"][0]["id"] == info.session_id


@pytest.fixture
def sigterm_handler_restored():
    handler = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, handler)


def test_durability_restores_a_lost_workspace_and_snapshots_at_stop(
    tmp_path, monkeypatch, make_rating_session, sigterm_handler_restored
):
    bucket = tmp_path / "bucket"
    monkeypatch.setenv("FTSTUDIO_BACKUP_DIR", str(bucket))
    workspace = Workspace.open(tmp_path / "home")
    with pytest.raises(BackupError, match="is not a folder: is the bucket mounted"):
        start_durability(workspace)
    bucket.mkdir()
    info = make_rating_session(workspace.root, examples=3, min_seconds=0)  # before the start
    (workspace.root / "browser_state.secret").write_text("s3cret", "utf-8")
    durability = start_durability(workspace, kept_files=["browser_state.secret"])
    assert durability.restored is None
    assert [e for e, _ in durability.folder.snapshots()] == [1]  # one at start: the session
    assert durability.snapshot_if_changed() is None  # nothing changed: no upload
    database = Database.for_workspace(workspace)
    token, votes = cast(database, info.code, "ada", 1)
    assert durability.snapshot_if_changed() == durability.folder.snapshot_path(2)
    item = service.next_item(database, token)
    votes.append(service.vote(database, token, item["item_token"], "B", SCORES)["vote_id"])
    database.close()
    durability.stop()
    assert [e for e, _ in durability.folder.snapshots()] == [1, 2, 3]  # and one at stop
    last = Database(durability.folder.snapshot_path(3))
    assert sorted(r["id"] for r in last.query("SELECT id FROM rating_votes")) == sorted(votes)
    last.close()
    assert (bucket / "files" / "browser_state.secret").read_text("utf-8") == "s3cret"

    for path in sorted(workspace.root.iterdir()):  # the container is gone
        if path.is_file():
            path.unlink()
    again = start_durability(Workspace.open(workspace.root), kept_files=["browser_state.secret"])
    assert again.restored.snapshot == durability.folder.snapshot_path(3)
    assert (workspace.root / "browser_state.secret").read_text("utf-8") == "s3cret"
    database = Database.for_workspace(workspace)
    assert service.session_view(database, token)["progress"]["done"] == 2
    database.close()
    again.stop()
