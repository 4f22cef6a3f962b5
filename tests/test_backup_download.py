"""The admin area's snapshot download: a consistent copy of the workspace database, admins only."""

import gradio as gr
import pytest

from ftcore.db import Database
from ftcore.rating import service
from ftcore.runtime.chat import ModelCache
from ftcore.ui import AppContext
from ftcore.ui.rate_tab import RateAdminHandlers
from ftcore.workspace import Workspace

CRITERIA = ["completeness", "fluency", "style_fit", "sincerity"]  # rubrics/greeting.yaml


class NoAdmins:
    def admin_refusal(self, request):
        return "nobody is logged in"


@pytest.fixture
def handlers(tmp_path, make_rating_session):
    info = make_rating_session(tmp_path / "home", examples=2, min_seconds=0)
    workspace = Workspace.open(tmp_path / "home")
    context = AppContext(workspace, Database.for_workspace(workspace), ModelCache())
    token = service.join(context.db, info.code, "ada")["rater_token"]
    item = service.next_item(context.db, token)
    scores = {"A": dict.fromkeys(CRITERIA, 3), "B": dict.fromkeys(CRITERIA, 3)}
    service.vote(context.db, token, item["item_token"], "tie", scores)
    yield RateAdminHandlers(context)
    context.db.close()


def test_an_admin_downloads_a_snapshot_holding_every_vote(handlers):
    [path] = handlers.snapshot(request=None)
    assert path.endswith(".db") and path.split("/")[-1].startswith("ftstudio-")
    copy = Database(path)
    sql = "SELECT id, choice, rater_id FROM rating_votes ORDER BY id"
    assert copy.query(sql) == handlers.context.db.query(sql)
    assert [row["choice"] for row in copy.query(sql)] == ["tie"]
    copy.close()


def test_a_snapshot_is_refused_to_anyone_but_an_admin(handlers):
    handlers.context.access = NoAdmins()
    with pytest.raises(gr.Error, match="downloading a database snapshot is for the session's"):
        handlers.snapshot(request=None)
