"""A simulated Space: votes, SIGKILL, the local workspace deleted, a new start on the same bucket.

The app runs as a Space runs it (SYSTEM=spaces, SPACE_ID, a bucket folder as
FTSTUDIO_BACKUP_DIR); a temporary folder stands in for the bucket mount. Raters vote
through gradio_client, as the rater API documents. The container is then lost without a
chance to clean up (SIGKILL, and its disk gone); a new container on the same bucket must
give back every vote and let each rater carry on with the token they hold. A graceful stop
(SIGTERM, what a Space sends first) leaves a final snapshot.
"""

import json
import shutil

import pytest

from ftcore.db import Database
from ftcore.rating.backup_folder import BackupFolder

CRITERIA = ["completeness", "fluency", "style_fit", "sincerity"]  # rubrics/greeting.yaml
SCORES = json.dumps({"A": dict.fromkeys(CRITERIA, 5), "B": dict.fromkeys(CRITERIA, 1)})


def votes_in(path) -> dict[str, str]:
    """vote id → the token of the rater who cast it, in the database file at `path`."""
    database = Database(path)
    try:
        rows = database.query(
            "SELECT v.id, r.token FROM rating_votes v JOIN rating_raters r ON r.id = v.rater_id"
        )
    finally:
        database.close()
    return {row["id"]: row["token"] for row in rows}


def vote_next(client, token: str) -> dict:
    item = client.predict(token, api_name="/rating_next")
    return client.predict(token, item["item_token"], "A", SCORES, "", api_name="/rating_vote")


@pytest.mark.slow
def test_a_lost_container_gives_back_every_vote(
    tmp_path, monkeypatch, make_rating_session, app_process
):
    from gradio_client import Client

    bucket, home = tmp_path / "bucket", tmp_path / "home"
    bucket.mkdir()  # the mount point exists before the app starts
    for name, value in {
        "SYSTEM": "spaces",
        "SPACE_ID": "x/y",
        "FTSTUDIO_BACKUP_DIR": str(bucket),
        "FTSTUDIO_SNAPSHOT_MINUTES": "60",  # no timed snapshot: the journal must carry it
    }.items():
        monkeypatch.setenv(name, value)
    info = make_rating_session(home, examples=6, ratings_per_item=2, min_seconds=0)
    first = app_process(home, "--rater").start()
    try:
        client = Client(first.url, verbose=False)
        ada = client.predict(info.code, "ada", api_name="/rating_join")["rater_token"]
        bo = client.predict(info.code, "bo", api_name="/rating_join")["rater_token"]
        cast = {vote_next(client, ada)["vote_id"]: ada for _ in range(3)}
        cast[vote_next(client, bo)["vote_id"]] = bo
        client.predict(bo, api_name="/rating_next")  # served, never voted on
        secret = (home / "browser_state.secret").read_text("utf-8")
    finally:
        first.process.kill()  # SIGKILL: no atexit, no last snapshot
        first.process.wait(timeout=20)
        first.stop()
    folder = BackupFolder(bucket)
    assert [epoch for epoch, _ in folder.snapshots()] == [1]  # taken at start, before any vote
    shutil.rmtree(home)  # the container's disk is gone

    second = app_process(home, "--rater")
    home.mkdir()  # AppProcess keeps its log there
    second.start()
    try:
        assert votes_in(home / "ftstudio.db") == cast  # every vote, each with its rater
        assert (home / "browser_state.secret").read_text("utf-8") == secret
        client = Client(second.url, verbose=False)
        # Each rater carries on with the token they hold: served their next item, their
        # old votes counted.
        assert vote_next(client, ada)["progress"] == {"done": 4, "total": 6}
        assert vote_next(client, bo)["progress"] == {"done": 2, "total": 6}
        assert len(votes_in(home / "ftstudio.db")) == 6
    finally:
        second.stop()  # SIGTERM: the app takes a last snapshot on its way out
    epochs = [epoch for epoch, _ in folder.snapshots()]
    assert epochs == [1, 2, 3]  # the first start, the restart, the graceful stop
    final = votes_in(folder.snapshot_path(3))
    assert len(final) == 6 and cast.items() <= final.items()
