"""The Rate tab's admin area: create, watch, invite, close, export — and who may do it."""

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

from ftcore.db import Database
from ftcore.errors import SessionClosedError
from ftcore.rating import service
from ftcore.runtime.chat import ModelCache
from ftcore.ui import AppContext, build_app
from ftcore.ui.access import LocalAccess
from ftcore.ui.rate_tab import RateAdminHandlers, open_from_link
from ftcore.workspace import Workspace

CRITERIA = ["completeness", "fluency", "style_fit", "sincerity"]
REQUEST = SimpleNamespace(headers={"host": "rate.example:8000"}, url=SimpleNamespace(scheme="http"))


class NoAdmins:
    def admin_refusal(self, request):
        return "nobody is logged in"


def create_form(**changes) -> dict:
    """The create form's values as the tab sends them (widget defaults, then `changes`)."""
    return {
        "source": "predictions",
        "eval_dir": None,
        "predictions": None,
        "split": "",
        "name": "祝福盲评",
        "rubric": "greeting",
        "models": "",
        "ratings_per_item": 2,
        "items_per_rater": 0,
        "repeat_share": 0,
        "min_seconds": 0,
        "invites": 0,
        "closes_at": "",
        "gold": None,
        **changes,
    }


@pytest.fixture
def admin(tmp_path, make_rating_session):
    """Handlers of the admin area on a workspace, and a predictions file of 3 examples."""
    home = tmp_path / "home"
    make_rating_session(home, examples=3)  # writes home/predictions-3.jsonl
    workspace = Workspace.open(home)
    context = AppContext(workspace, Database.for_workspace(workspace), ModelCache())
    yield RateAdminHandlers(context), home / "predictions-3.jsonl"
    context.db.close()


def test_create_watch_invite_close_and_export(admin, tmp_path):
    handlers, predictions = admin
    message, links, table, chosen = handlers.create(
        *create_form(predictions=str(predictions)).values(), request=REQUEST
    )
    session_id = chosen.value
    assert f"(`{session_id}`): 3 items" in message
    code = handlers.context.db.query_value(
        "SELECT open_code FROM rating_sessions WHERE id = ?", [session_id]
    )
    assert links == f"http://rate.example:8000/?session={code}"
    assert session_id in list(table["id"]) and len(table) == 2  # and the fixture's session

    database = handlers.context.db
    token = service.join(database, code, "ada")["rater_token"]
    item = service.next_item(database, token)
    scores = {"A": dict.fromkeys(CRITERIA, 5), "B": dict.fromkeys(CRITERIA, 1)}
    service.vote(database, token, item["item_token"], "A", scores, "=HYPERLINK(1)")
    unvoted = service.next_item(database, token)
    status, coverage, _, table = handlers.status(session_id, request=REQUEST)
    assert table.set_index("id").loc[session_id, "votes"] == 1
    assert "**1** votes from **1** raters (1 joined)" in status
    assert "items with all 2 ratings: **0 of 3** (0%)" in status
    assert sorted(coverage["votes"]) == [0, 0, 1]
    assert sorted(coverage["reserved"]) == [0, 0, 1]  # the item served and not yet voted

    _, _, links, _ = handlers.invite(session_id, 2, request=REQUEST)
    assert len(links.splitlines()) == 3  # the open link and two personal ones

    status, _, _, table = handlers.close(session_id, request=REQUEST)
    assert table.set_index("id").loc[session_id, "state"] == "closed"
    assert "· closed, closed at" in status
    assert service.next_item(database, token)["reason"] == "closed"
    with pytest.raises(SessionClosedError):
        service.vote(database, token, unvoted["item_token"], "B", scores)

    votes_csv, session_json = handlers.export(session_id, request=REQUEST)
    with open(votes_csv, encoding="utf-8") as file:
        assert file.read(1) == "\ufeff"  # a BOM, for Excel
        [row] = list(csv.DictReader(file))
    assert row["winner"] == row["left_model"] and row["choice"] == "A"
    assert (row["fluency_left"], row["fluency_right"]) == ("5", "1")
    assert row["comment"] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet
    assert json.loads(Path(session_json).read_text("utf-8"))["votes"] == 1


def test_create_from_an_evaluation_folder(admin, tmp_path):
    handlers, predictions = admin
    folder = tmp_path / "evals" / "20260101-120000"
    folder.mkdir(parents=True)
    rows = [json.loads(line) for line in predictions.read_text("utf-8").splitlines()]
    lines = [json.dumps({**row, "split": "val"}, ensure_ascii=False) for row in rows[:4]]
    (folder / "predictions.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    message, *_ = handlers.create(
        *create_form(source="evaluation", eval_dir=str(folder), predictions="ignored").values(),
        request=REQUEST,
    )
    assert ": 2 items, models SECRET-MODEL-ALPHA, SECRET-MODEL-BETA" in message


def test_a_title_that_names_a_model_is_refused_as_a_toast(admin):
    handlers, predictions = admin
    form = create_form(predictions=str(predictions), name="SECRET-MODEL-ALPHA vs the rest")
    with pytest.raises(gr.Error, match="names no model"):
        handlers.create(*form.values(), request=REQUEST)


def test_every_admin_listener_of_the_full_app_checks_permission(tmp_path, make_rating_session):
    """Hiding a button is not a check: each listener's handler must refuse by itself."""
    make_rating_session(tmp_path / "home", examples=2)
    app = build_app(Workspace.open(tmp_path / "home"))
    admin_fns = [
        fn for fn in app.fns.values() if fn.fn and "RateAdminHandlers" in fn.fn.__qualname__
    ]
    assert {fn.name for fn in admin_fns} == {
        "lists",
        "create",
        "status",
        "close",
        "invite",
        "export",
        "snapshot",
    }
    # Under the app-wide admin check (ftcore.ui.admin_gate), the handler's own method.
    handlers = admin_fns[0].fn.__wrapped__.__self__
    sessions = handlers.context.db.query("SELECT id FROM rating_sessions")
    handlers.context.access = NoAdmins()
    for fn in admin_fns:
        arguments = [None] * len(fn.inputs)
        if fn.name == "create":
            arguments = list(
                create_form(predictions=str(tmp_path / "home/predictions-2.jsonl")).values()
            )
        with pytest.raises(gr.Error, match="for the session's admin only: nobody is logged in"):
            fn.fn(*arguments, request=None)
    assert handlers.context.db.query("SELECT id FROM rating_sessions") == sessions


def test_the_local_full_app_refuses_admin_functions_on_a_space(monkeypatch):
    assert LocalAccess().admin_refusal(None) is None
    monkeypatch.setenv("SPACE_ID", "someone/ratings")
    assert "login policy" in LocalAccess().admin_refusal(None)


def test_a_rater_link_opens_the_rate_tab():
    rate, page = open_from_link(SimpleNamespace(query_params={"session": "abc"}))
    assert (rate.selected, page.selected) == ("rate", "rate-page")
    assert open_from_link(SimpleNamespace(query_params={})) == (gr.update(), gr.update())


@pytest.mark.slow
def test_rate_tab_creates_a_session_and_rates_through_the_app(app_server, make_rating_session):
    """The admin area and the rater page of the full app, through its HTTP API."""
    from gradio_client import Client, handle_file

    predictions_home = app_server["home"] / "predictions-source"
    make_rating_session(predictions_home, examples=2)
    client = Client(app_server["url"], verbose=False)
    form = create_form(predictions=handle_file(str(predictions_home / "predictions-2.jsonl")))
    message, links, _, _ = client.predict(*form.values(), api_name="/rating_create")
    assert ": 2 items, models SECRET-MODEL-ALPHA, SECRET-MODEL-BETA" in message
    assert links.startswith(app_server["url"] + "?session=")
    code = links.split("?session=")[1]
    token = client.predict(code, "ada", api_name="/rating_join")["rater_token"]
    item = client.predict(token, api_name="/rating_next")
    scores = json.dumps({"A": dict.fromkeys(CRITERIA, 3), "B": dict.fromkeys(CRITERIA, 4)})
    voted = client.predict(token, item["item_token"], "B", scores, "", api_name="/rating_vote")
    assert voted["progress"] == {"done": 1, "total": 2}


def test_the_export_box_stays_hidden_until_an_export_fills_it(tmp_path):
    """Empty, the Export file box is a 300 px blank: hidden, then shown after a success."""
    app = build_app(Workspace.open(tmp_path / "home"))
    (box,) = [b for b in app.blocks.values() if isinstance(b, gr.File) and b.label == "Export"]
    assert box.visible is False
    listeners = [fn for fn in app.fns.values() if box in fn.outputs]
    fills = {fn._id for fn in listeners if fn.name in ("export", "snapshot")}
    shows = [fn for fn in listeners if fn.name == "<lambda>"]
    assert len(fills) == 2
    assert {fn.trigger_after for fn in shows} == fills
    assert all(fn.trigger_only_on_success for fn in shows)
    assert shows[0].fn() == {"__type__": "update", "visible": True}
