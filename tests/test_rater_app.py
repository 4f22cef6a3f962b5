"""Rater mode: the page's pure parts, its listeners, and the rater API through a launched server."""

import json
import urllib.request
from types import SimpleNamespace

import gradio as gr
import pytest
from conftest import SECRET_MODELS

from ftcore.db import Database
from ftcore.rating import service
from ftcore.ui.rating_page import RaterPageEvents, build_rater_page
from ftcore.ui.rating_texts import TEXTS, browser_language, text
from ftcore.ui.rating_views import criterion_html, progress_html, scores_from_widgets, text_block
from ftcore.workspace import Workspace

CRITERIA = ["completeness", "fluency", "style_fit", "sincerity"]  # rubrics/greeting.yaml
RATING_API = {"rating_join", "rating_next", "rating_vote"}
PAGE_STEPS = {"on_load", "after_join", "show_item", "collect_scores", "new_request_id"}


def all_scores(a: int = 4, b: int = 2) -> str:
    return json.dumps({"A": dict.fromkeys(CRITERIA, a), "B": dict.fromkeys(CRITERIA, b)})


# --- the page's words and views -------------------------------------------------------


def test_every_page_text_exists_in_both_languages():
    assert set(TEXTS["zh"]) == set(TEXTS["en"])
    assert text("zh", "progress", done=12, total=20) == "已评 12 / 20 条"
    assert text("en", "progress", done=12, total=20) == "Rated 12 of 20"


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR,en;q=0.5", "en"),  # the first of zh / en the browser lists
        ("fr-FR", "zh"),  # neither: the default
        (None, "zh"),
    ],
)
def test_page_language_follows_the_browser(header, lang):
    assert browser_language(header) == lang


def test_person_text_is_shown_verbatim_never_as_markup():
    shown = text_block('<img src=x onerror="alert(1)">\n第二行', "ft-response")
    assert shown == (
        '<div class="ft-response">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;\n第二行</div>'
    )


def test_a_criterion_shows_every_anchor_in_order_in_the_rater_language():
    criterion = {
        "id": "fluency",
        "name": {"zh": "流畅度", "en": "Fluency"},
        "description": {"zh": "是否通顺", "en": "Reads naturally"},
        "scale": {str(p): {"zh": f"锚{p}", "en": f"anchor {p}"} for p in (3, 1, 2)},
    }
    shown = criterion_html(criterion, "en")
    assert "Fluency" in shown and "Reads naturally" in shown and "流畅度" not in shown
    assert shown.index("anchor 1") < shown.index("anchor 2") < shown.index("anchor 3")


def test_progress_reads_12_of_20_with_a_60_percent_bar():
    shown = progress_html({"done": 12, "total": 20}, "en")
    assert "Rated 12 of 20" in shown and "width:60%" in shown


def test_scores_are_collected_per_side_and_gaps_are_named():
    criteria = [
        {"id": "fluency", "name": {"zh": "流畅度", "en": "Fluency"}},
        {"id": "sincerity", "name": {"zh": "真诚度", "en": "Sincerity"}},
    ]
    scores, missing = scores_from_widgets(criteria, [5, 3], [2, 4], "en")
    assert scores == {"A": {"fluency": 5, "sincerity": 3}, "B": {"fluency": 2, "sincerity": 4}}
    assert missing == []
    _, missing = scores_from_widgets(criteria, [5, None], [None, 4], "zh")
    assert missing == ["流畅度 (B)", "真诚度 (A)"]  # in the rubric's order


# --- the rater Blocks, built in-process ----------------------------------------------


@pytest.fixture
def rating_home(tmp_path, make_rating_session):
    info = make_rating_session(tmp_path / "home", examples=3, ratings_per_item=1, min_seconds=0)
    return tmp_path / "home", info


def test_rater_mode_registers_only_rating_listeners(rating_home):
    from ftcore.ui.rater_app import build_rater_app, rater_launch_options

    app = build_rater_app(Workspace.open(rating_home[0]))
    names = {fn.name for fn in app.fns.values()}
    assert names == RATING_API | PAGE_STEPS | {"switch_language"}
    public = {fn.api_name for fn in app.fns.values() if fn.api_visibility == "public"}
    assert public == RATING_API
    # No listener comes from the admin area, whatever its visibility.
    assert all("Admin" not in fn.fn.__qualname__ for fn in app.fns.values() if fn.fn)
    # Fifty raters do not queue behind one: the library-calling listeners share a pool.
    for fn in app.fns.values():
        if fn.name in RATING_API | {"on_load"}:
            assert (fn.concurrency_id, fn.concurrency_limit) == ("rating", 4)
    assert rater_launch_options()["run_history"] is False


def page_and_events(home):
    database = Database.for_workspace(Workspace.open(home))
    with gr.Blocks() as app:
        page = build_rater_page(app, database, "test-secret")
    return page, RaterPageEvents(page, database), database


def fake_request(query: dict, language: str = "en-US") -> SimpleNamespace:
    return SimpleNamespace(query_params=query, headers={"accept-language": language})


def test_a_reload_resumes_with_the_token_the_browser_kept(rating_home):
    home, info = rating_home
    page, events, database = page_and_events(home)
    joined = service.join(database, info.code, "ada")
    stored = {"tokens": {info.code: joined["rater_token"]}, "last": info.code, "lang": ""}
    shown = events.on_load(stored, fake_request({"session": info.code}))
    assert shown[page.rater_token] == joined["rater_token"]
    assert shown[page.view]["session"] == joined["session"]
    assert shown[page.next_request]  # asks rating_next for the open item
    assert shown[page.language]["value"] == "en"
    assert shown[page.code]["label"] == "Session code"  # not left in Chinese
    # A link to another session shows its join screen with that code, the token kept.
    shown = events.on_load(stored, fake_request({"invite": "OTHER"}, "zh-CN"))
    assert shown[page.code]["value"] == "OTHER" and shown[page.rater_token] == ""
    assert shown[page.code]["label"] == "评测码"  # the code box speaks the rater's language
    assert shown[page.join_screen]["visible"] is True
    assert shown[page.stored]["tokens"] == {info.code: joined["rater_token"]}


def test_a_token_this_server_never_issued_is_forgotten(rating_home):
    home, info = rating_home
    page, events, _ = page_and_events(home)
    stored = {"tokens": {info.code: "not-a-token"}, "last": info.code, "lang": "zh"}
    shown = events.on_load(stored, fake_request({}))
    assert shown[page.stored]["tokens"] == {}
    assert shown[page.rater_token] == "" and shown[page.code]["value"] == info.code
    assert shown[page.code]["label"] == "评测码"  # the stored language wins
    assert shown[page.join_screen]["visible"] is True


def test_submitting_with_a_gap_says_what_is_missing_in_the_rater_language(rating_home):
    home, info = rating_home
    page, events, database = page_and_events(home)
    view = {"screen": "rate", "session": service.join(database, info.code)["session"]}
    empty = [None] * (2 * len(page.criteria))
    with pytest.raises(gr.Error, match="还缺：完整性 \\(A\\), 完整性 \\(B\\), 流畅度 \\(A\\)"):
        events.collect_scores(view, "zh", *empty, "A")
    a_scores = [5, 4, 3, 2] + [None] * (len(page.criteria) - 4)
    values = [*a_scores, *a_scores]
    with pytest.raises(gr.Error, match="Choose A is better"):
        events.collect_scores(view, "en", *values, None)
    scores = json.loads(events.collect_scores(view, "en", *values, "tie"))
    assert scores["A"] == scores["B"] == dict(zip(CRITERIA, [5, 4, 3, 2], strict=True))


# --- the rater API through a launched `python app.py --rater` ------------------------


@pytest.fixture(scope="module")
def rater_server(tmp_path_factory, make_rating_session, app_process):
    home = tmp_path_factory.mktemp("rater-home")
    # Room for every test's raters: 12 items, each open to 10 of them.
    info = make_rating_session(home, examples=12, ratings_per_item=10, min_seconds=0)
    server = app_process(home, "--rater").start()
    yield SimpleNamespace(url=server.url, home=home, code=info.code, session_id=info.session_id)
    server.stop()


@pytest.fixture(scope="module")
def client(rater_server):
    from gradio_client import Client

    return Client(rater_server.url, verbose=False)


def stored_votes(home, rater_token: str) -> list[dict]:
    database = Database.for_workspace(Workspace.open(home))
    try:
        return database.query(
            "SELECT v.* FROM rating_votes v JOIN rating_raters r ON r.id = v.rater_id "
            "WHERE r.token = ? ORDER BY v.created_at",
            [rater_token],
        )
    finally:
        database.close()


@pytest.mark.slow
def test_the_api_names_its_arguments_as_documented(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    parameters = {
        name: [p["parameter_name"] for p in endpoint["parameters"]]
        for name, endpoint in endpoints.items()
    }
    assert parameters == {
        "/rating_join": ["session_code", "rater_name"],
        "/rating_next": ["rater_token"],
        "/rating_vote": ["rater_token", "item_token", "choice", "scores_json", "comment"],
    }


@pytest.mark.slow
def test_join_next_vote_through_gradio_client_store_the_vote(client, rater_server):
    joined = client.predict(rater_server.code, "ada", api_name="/rating_join")
    token = joined["rater_token"]
    database = Database.for_workspace(Workspace.open(rater_server.home))
    assert joined["session"] == service.session_view(database, token)["session"]
    assert [c["id"] for c in joined["session"]["criteria"]] == CRITERIA
    assert joined["session"]["items_total"] == 12
    item = client.predict(token, api_name="/rating_next")
    assert set(item) == {"item_token", "prompt", "response_a", "response_b", "progress"}
    assert item["progress"] == {"done": 0, "total": 12}
    assert client.predict(token, api_name="/rating_next") == item  # the same open item
    assert service.next_item(database, token) == item  # exactly the library's dict
    voted = client.predict(
        token, item["item_token"], "A", all_scores(), "  温馨 ", api_name="/rating_vote"
    )
    assert voted["ok"] is True and voted["progress"] == {"done": 1, "total": 12}
    [vote] = stored_votes(rater_server.home, token)
    # A is the left response: the stored left model is the one whose text was shown as A.
    alpha_left = item["response_a"].startswith("敬爱的老师")
    assert vote["left_model"] == SECRET_MODELS[0 if alpha_left else 1]
    assert (vote["choice"], vote["winner"], vote["comment"]) == ("A", vote["left_model"], "温馨")
    assert json.loads(vote["scores_json"])["left"] == dict.fromkeys(CRITERIA, 4)
    database.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"choice": "C"}, "'C'.* is not in the list of choices"),  # the Radio refuses it
        ({"scores_json": json.dumps({"A": {"fluency": 3}, "B": {}})}, "is missing"),
        ({"scores_json": all_scores(a=6)}, "from 1 to 5"),
        ({"scores_json": "{not json"}, "JSON"),
        ({"comment": "长" * 2001}, "at most 2000"),
        ({"item_token": "forged"}, "not served to this rater"),
        ({"rater_token": "forged"}, "unknown rater token"),
    ],
)
def test_a_refused_vote_raises_the_reason_and_stores_nothing(client, rater_server, change, reason):
    from gradio_client.exceptions import AppError

    token = client.predict(rater_server.code, "", api_name="/rating_join")["rater_token"]
    item = client.predict(token, api_name="/rating_next")
    vote = {
        "rater_token": token,
        "item_token": item["item_token"],
        "choice": "B",
        "scores_json": all_scores(),
        "comment": "",
        **change,
    }
    with pytest.raises(AppError, match=reason):
        client.predict(*vote.values(), api_name="/rating_vote")
    assert stored_votes(rater_server.home, token) == []


@pytest.mark.slow
def test_a_second_vote_on_the_same_item_is_refused(client, rater_server):
    from gradio_client.exceptions import AppError

    token = client.predict(rater_server.code, "", api_name="/rating_join")["rater_token"]
    item = client.predict(token, api_name="/rating_next")
    vote = [token, item["item_token"], "tie", all_scores(), ""]
    client.predict(*vote, api_name="/rating_vote")
    with pytest.raises(AppError, match="already has your vote"):
        client.predict(*vote, api_name="/rating_vote")
    assert len(stored_votes(rater_server.home, token)) == 1


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=20) as response:
        return response.read().decode("utf-8")


def call_raw(base: str, api_name: str, *data) -> str:
    """One call through Gradio's REST route, returning the raw event stream: exactly the
    bytes a browser or script receives."""
    request = urllib.request.Request(
        f"{base}gradio_api/call/{api_name}",
        data=json.dumps({"data": list(data)}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        event_id = json.loads(response.read())["event_id"]
    return get(f"{base}gradio_api/call/{api_name}/{event_id}")


def result_of(stream: str):
    data = [line[len("data: ") :] for line in stream.splitlines() if line.startswith("data: ")]
    return json.loads(data[-1])[0]


@pytest.mark.slow
def test_model_names_never_reach_the_rater(rater_server):
    base = rater_server.url
    seen = [get(base), get(f"{base}config"), get(f"{base}gradio_api/info")]
    joined = call_raw(base, "rating_join", rater_server.code, "blind")
    token = result_of(joined)["rater_token"]
    seen += [joined]
    for _ in range(3):
        served = call_raw(base, "rating_next", token)
        item = result_of(served)
        voted = call_raw(base, "rating_vote", token, item["item_token"], "B", all_scores(), "")
        seen += [served, voted]
        assert result_of(voted)["ok"] is True
    everything = "\n".join(seen).casefold()
    assert "response_a" in everything  # the payloads really are in there
    for secret in ("secret-model", "alpha", "beta", rater_server.session_id):
        assert secret not in everything
    assert json.loads(seen[1])["run_history"] is False


@pytest.mark.slow
def test_run_history_is_off_in_rater_mode(rater_server):
    config = json.loads(get(f"{rater_server.url}config"))
    assert config["run_history"] is False
    assert "runs" not in config["footer_links"]
