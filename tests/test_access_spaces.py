"""Admin access on a Space: which app is served, and every admin listener refusing non-admins.

Listeners are called the way Gradio calls them (`Blocks.call_function`, which fills in
gr.Request / OAuthProfile and sets the request context), with requests built like the
server builds them: a signed-in HF user is an `oauth_info` entry in the session cookie.
"""

import asyncio
import importlib.machinery
import sys
import time
import types

import gradio as gr
import pytest
from starlette.requests import Request as StarletteRequest

from ftcore.db import Database
from ftcore.errors import ConfigError
from ftcore.ui.access import (
    LocalAccess,
    SpaceAccess,
    admin_policy_from_environment,
    hf_login_available,
    hf_username,
    serves_rater_only,
)
from ftcore.ui.admin_gate import admin_only, guard_listeners, is_open
from ftcore.ui.hosting import NO_BUCKET_WARNING
from ftcore.ui.rating_api import RatingApi
from ftcore.ui.zerogpu import MODEL_WORK, gpu_task, run_model_work_on_gpu
from ftcore.workspace import Workspace

# Not SYSTEM=spaces: with it Gradio imports `spaces` to wrap every listener, and in a
# checkout that name is the repository's spaces/ folder (see test_spaces_export.py).
SPACE = {"SPACE_ID": "teacher/greetings"}
RATER_LISTENERS = {
    "rating_join", "rating_next", "rating_vote", "on_load", "after_join", "show_item",
    "collect_scores", "new_request_id", "switch_language",
}  # fmt: skip
# Open in the full app besides the rater page: the password box, the Examples loader
# (Gradio's own: it fills a textbox), and the Rate tab's "opened with a rater link".
OPEN_IN_FULL_APP = RATER_LISTENERS | {"sign_in", "load_example", "open_from_link"}
HOSTING_VARIABLES = (
    "SPACE_ID", "SYSTEM", "OAUTH_CLIENT_ID", "FTSTUDIO_ADMINS", "FTSTUDIO_ADMIN_PASSWORD",
    "FTSTUDIO_MODE", "FTSTUDIO_BACKUP_DIR",
)  # fmt: skip


def request_as(user: str | None = None, session: str = "tab-1", expires_in: float = 3600):
    """A gr.Request as the server makes it; `user` signed in with HF login."""
    cookie = {}
    if user:
        profile = {"preferred_username": user, "name": user, "profile": "", "picture": ""}
        cookie["oauth_info"] = {"userinfo": profile, "expires_at": time.time() + expires_in}
    scope = {"type": "http", "headers": [], "query_string": b"", "session": cookie}
    return gr.Request(request=StarletteRequest(scope), session_hash=session)


def call(app: gr.Blocks, block_fn, request):
    """Run one listener as Gradio does (a generator: its first step), every input None."""
    inputs = [None] * len(block_fn.inputs)
    return asyncio.run(app.call_function(block_fn, inputs, requests=request))


@pytest.fixture
def hosting_env(monkeypatch):
    """A clean slate of hosting variables; returns monkeypatch to set some."""
    for name in HOSTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# --- policies and modes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "policy", "rater_only"),
    [
        ({}, LocalAccess, False),
        ({"FTSTUDIO_MODE": "rater"}, LocalAccess, True),
        (SPACE, None, True),  # a Space with no admin variable: raters only
        ({**SPACE, "FTSTUDIO_ADMINS": "alice, Bob"}, SpaceAccess, False),
        ({**SPACE, "FTSTUDIO_ADMIN_PASSWORD": "s3cret"}, SpaceAccess, False),
        ({**SPACE, "FTSTUDIO_ADMINS": ",", "FTSTUDIO_ADMIN_PASSWORD": ""}, None, True),
        ({**SPACE, "FTSTUDIO_ADMINS": "alice", "FTSTUDIO_MODE": "rater"}, SpaceAccess, True),
    ],
)
def test_the_environment_chooses_policy_and_mode(environ, policy, rater_only):
    chosen = admin_policy_from_environment(environ)
    assert (type(chosen) if chosen is not None else None) is policy
    assert serves_rater_only(environ) is rater_only


def test_an_unknown_mode_is_refused_by_name():
    with pytest.raises(ConfigError, match="FTSTUDIO_MODE='admin'.*full or rater"):
        serves_rater_only({"FTSTUDIO_MODE": "admin"})


def test_listed_hf_users_are_admins_whatever_the_case_and_others_are_not():
    policy = SpaceAccess(["Alice", " bob "])
    assert policy.admin_refusal(request_as("alice")) is None
    assert policy.admin_refusal(request_as("BOB")) is None
    assert "mallory, who is not a listed admin" in policy.admin_refusal(request_as("mallory"))
    assert "not signed in" in policy.admin_refusal(request_as(None))
    assert policy.admin_refusal(request_as("alice", expires_in=-1)) is not None  # expired
    assert policy.admin_refusal(None) is not None  # an API call without a request


def test_the_password_admits_one_browser_session_only():
    policy = SpaceAccess(password="correct horse")
    assert not policy.grant("wrong", request_as(session="tab-1"))
    assert not policy.grant("", request_as(session="tab-1"))
    assert policy.admin_refusal(request_as(session="tab-1")) is not None
    assert policy.grant("correct horse", request_as(session="tab-1"))
    assert policy.admin_refusal(request_as(session="tab-1")) is None
    assert policy.admin_refusal(request_as(session="tab-2")) is not None  # not a global flag
    assert not SpaceAccess(["alice"]).grant("", request_as())  # no password set: never


def test_hf_username_reads_only_a_valid_login():
    assert hf_username(request_as("alice")) == "alice"
    assert hf_username(request_as(None)) is None
    assert hf_username(gr.Request(session_hash="x")) is None  # no session middleware
    assert hf_username(None) is None


# --- the central wrapper --------------------------------------------------------------


def kinds_app(policy):
    """A small Blocks whose four listeners are a function, a generator, a coroutine and
    an async generator, each counting its runs; all guarded by `policy`."""
    runs = []

    def plain(x):
        runs.append("plain")
        return "plain"

    def stream(x):
        runs.append("stream")
        yield "stream"

    async def coroutine(x):
        runs.append("coroutine")
        return "coroutine"

    async def astream(x):
        runs.append("astream")
        yield "astream"

    with gr.Blocks() as app:
        box, out = gr.Textbox(), gr.Textbox()
        for fn in (plain, stream, coroutine, astream):
            box.submit(fn, box, out, api_name=fn.__name__)
    assert sorted(guard_listeners(app, policy)) == ["astream", "coroutine", "plain", "stream"]
    return app, runs


def test_every_kind_of_listener_refuses_before_running_and_streams_for_admins():
    policy = SpaceAccess(["alice"])
    app, runs = kinds_app(policy)
    for block_fn in app.fns.values():
        with pytest.raises(gr.Error, match="is for admins only"):
            call(app, block_fn, request_as("mallory"))
    assert runs == []  # no handler ran for a refused caller
    outputs = [call(app, block_fn, request_as("alice")) for block_fn in app.fns.values()]
    assert [o["prediction"] for o in outputs] == ["plain", "stream", "coroutine", "astream"]
    assert [o["is_generating"] for o in outputs] == [False, True, False, True]
    assert runs == ["plain", "stream", "coroutine", "astream"]


def test_wrapping_keeps_what_gradio_fills_in():
    def handler(text: str, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        return request.session_hash

    with gr.Blocks() as app:
        box = gr.Textbox()
        box.submit(handler, box, box)
    (block_fn,) = app.fns.values()
    block_fn.fn = admin_only(block_fn.fn, SpaceAccess(["alice"]), "handler")
    assert call(app, block_fn, request_as("alice", session="tab-9"))["prediction"] == "tab-9"


# --- the apps a Space serves ----------------------------------------------------------


def test_a_space_without_admin_variables_registers_no_admin_listener(hosting_env, tmp_path):
    from ftcore.ui import build_served_app

    for name, value in SPACE.items():
        hosting_env.setenv(name, value)
    app, options = build_served_app(Workspace.open(tmp_path / "home"))
    names = {fn.name for fn in app.fns.values()}
    assert names == RATER_LISTENERS
    assert all(is_open(fn.fn) for fn in app.fns.values() if fn.fn)
    assert not any(getattr(fn.fn, "ftstudio_admin_only", False) for fn in app.fns.values())
    assert options["run_history"] is False


@pytest.fixture(scope="module")
def space_app(tmp_path_factory):
    """(the full app as a Space builds it, its policy): admin alice, or the password.
    Built once: the app imports the model stack."""
    from ftcore.ui import build_app

    policy = SpaceAccess(["alice"], password="pw-123")
    with pytest.MonkeyPatch.context() as patch:
        for name in HOSTING_VARIABLES:
            patch.delenv(name, raising=False)
        for name, value in SPACE.items():
            patch.setenv(name, value)
        home = tmp_path_factory.mktemp("space") / "home"
        yield build_app(Workspace.open(home), access=policy), policy


def guarded_listeners(app: gr.Blocks) -> list:
    return [fn for fn in app.fns.values() if getattr(fn.fn, "ftstudio_admin_only", False)]


def test_every_listener_of_the_full_app_is_open_to_raters_or_guarded(space_app):
    app, _ = space_app
    guarded = guarded_listeners(app)
    open_names = {fn.name for fn in app.fns.values() if fn.fn and fn not in guarded}
    assert open_names == OPEN_IN_FULL_APP
    assert all(is_open(fn.fn) for fn in app.fns.values() if fn.name in open_names)
    # Every tab's work is among the guarded: data, training, evaluation, chat, rating admin.
    api_names = {block_fn.api_name for block_fn in guarded}
    assert {"data_prepare", "train_start", "evaluate", "chat", "rating_create"} <= api_names
    assert len(guarded) >= 30


@pytest.mark.parametrize(
    "caller",
    [
        pytest.param(lambda policy: request_as(None, session="tab-1"), id="no-password"),
        pytest.param(
            lambda policy: (
                policy.grant("pw-124", request_as(session="tab-2")) or request_as(session="tab-2")
            ),
            id="wrong-password",
        ),
        pytest.param(lambda policy: request_as("mallory", session="tab-3"), id="unlisted-user"),
        pytest.param(lambda policy: None, id="no-request"),
    ],
)
def test_every_admin_listener_refuses_a_non_admin(space_app, caller):
    app, policy = space_app
    request = caller(policy)
    for block_fn in guarded_listeners(app):
        with pytest.raises(gr.Error, match="is for admins only") as refused:
            call(app, block_fn, request)
        ways = "sign in with Hugging Face as a listed admin or enter the admin password"
        assert ways in str(refused.value), block_fn.name


def test_the_password_box_admits_its_browser_session(space_app):
    app, policy = space_app
    sign_in = next(fn for fn in app.fns.values() if fn.name == "sign_in")
    with pytest.raises(gr.Error, match="Wrong admin password"):
        asyncio.run(app.call_function(sign_in, ["nope"], requests=request_as(session="t7")))
    asyncio.run(app.call_function(sign_in, ["pw-123"], requests=request_as(session="t7")))
    assert policy.admin_refusal(request_as(session="t7")) is None
    assert policy.admin_refusal(request_as(session="t8")) is not None


# --- what every page on a Space shows ------------------------------------------------


def page_texts(app: gr.Blocks) -> str:
    return "\n".join(str(getattr(block, "value", "")) for block in app.blocks.values())


def test_a_space_without_a_bucket_warns_on_the_rater_page(hosting_env, tmp_path):
    from ftcore.ui.rater_app import build_rater_app

    workspace = Workspace.open(tmp_path / "home")
    assert NO_BUCKET_WARNING[:30] not in page_texts(build_rater_app(workspace))  # not a Space
    for name, value in SPACE.items():
        hosting_env.setenv(name, value)
    assert "Votes will be lost on restart" in page_texts(build_rater_app(workspace))
    hosting_env.setenv("FTSTUDIO_BACKUP_DIR", str(tmp_path / "bucket"))
    assert "Votes will be lost on restart" not in page_texts(build_rater_app(workspace))


def test_the_full_app_on_a_space_without_a_bucket_warns_too(space_app):
    assert "Votes will be lost on restart" in page_texts(space_app[0])


@pytest.mark.parametrize(
    ("environ", "available"),
    [
        ({}, False),
        ({"OAUTH_CLIENT_ID": "id"}, False),
        ({**SPACE, "OAUTH_CLIENT_ID": "id"}, False),  # Gradio would mock it: not a Space to it
        ({**SPACE, "SYSTEM": "spaces"}, False),  # no `hf_oauth: true` in the front matter
        ({**SPACE, "SYSTEM": "spaces", "OAUTH_CLIENT_ID": "id"}, True),
    ],
)
def test_hf_login_is_offered_only_on_a_space_with_hf_oauth(environ, available):
    assert hf_login_available(environ) is available


def test_the_login_button_is_rendered_only_where_hf_login_works(hosting_env, tmp_path):
    import gradio.routes

    from ftcore.ui import hosting
    from ftcore.ui.rater_app import build_rater_app

    workspace = Workspace.open(tmp_path / "home")

    def buttons(app):
        return [b for b in app.blocks.values() if isinstance(b, gr.LoginButton)]

    assert buttons(build_rater_app(workspace)) == []
    hosting_env.setattr(hosting, "hf_login_available", lambda: True)
    # The Hub's side of the login (its routes and cookie middleware) is not reachable here.
    hosting_env.setattr(gradio.routes, "attach_oauth", lambda app: None)
    app = build_rater_app(workspace)
    assert len(buttons(app)) == 1
    # Its status check is Gradio's own listener, open to everyone (its click runs in the
    # browser only); nothing else was added.
    names = {fn.name for fn in app.fns.values() if fn.fn}
    assert names == RATER_LISTENERS | {"_check_login_status"}
    assert all(is_open(fn.fn) for fn in app.fns.values() if fn.fn)


# --- rater identity and ZeroGPU --------------------------------------------------------


def test_a_signed_in_rater_is_one_rater_on_every_device(tmp_path, make_rating_session):
    from ftcore.ui.rater_app import build_rater_app

    info = make_rating_session(tmp_path / "home", examples=2)
    code = info.link.split("=")[-1]
    app = build_rater_app(Workspace.open(tmp_path / "home"))
    join = next(fn for fn in app.fns.values() if fn.name == "rating_join")

    def joined(request):
        out = asyncio.run(app.call_function(join, [code, "小明"], requests=request))
        return out["prediction"]["rater_token"]

    # Two devices, two page sessions, one HF login: the same rater (and so one vote per item).
    assert joined(request_as("alice", session="phone")) == joined(request_as("alice", "laptop"))
    # Without a login every join is its own anonymous rater, as before.
    assert joined(request_as(None, "a")) != joined(request_as(None, "b"))
    database = Database.for_workspace(Workspace.open(tmp_path / "home"))
    identities = [row["identity"] for row in database.query("SELECT identity FROM rating_raters")]
    assert sorted(identities, key=str) == sorted(["hf:alice", None, None], key=str)
    # The API's arguments are unchanged: Gradio fills `profile` itself.
    api = RatingApi(database)
    assert api.rating_join(code, "x")["rater_token"] != api.rating_join(code, "x")["rater_token"]


def test_gpu_task_is_the_identity_off_a_space_and_without_the_package(hosting_env):
    def generate():
        return "text"

    assert gpu_task(generate) is generate
    hosting_env.setenv("SPACE_ID", "teacher/greetings")
    # In a checkout `spaces` is the repository's folder: no GPU decorator in it.
    assert gpu_task(generate) is generate


def test_model_work_is_decorated_on_a_zerogpu_space(hosting_env, space_app):
    decorated = []
    fake = types.ModuleType("spaces")
    fake.__spec__ = importlib.machinery.ModuleSpec("spaces", None)
    fake.GPU = lambda fn: decorated.append(fn) or fn
    hosting_env.setitem(sys.modules, "spaces", fake)
    hosting_env.setenv("SPACE_ID", "teacher/greetings")
    assert sorted(run_model_work_on_gpu(space_app[0])) == sorted(MODEL_WORK)
    assert len(decorated) == len(MODEL_WORK)
