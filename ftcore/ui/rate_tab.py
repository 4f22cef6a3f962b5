"""Rate tab: the blind rater page for the local user, and the admin area that runs sessions.

The admin area creates a session from an evaluation or an uploaded predictions file, hands
out its links, watches progress live, closes it and exports votes.csv — each one call into
ftcore.rating, as the `ftcore rate` commands make. Every admin handler asks the app's
access policy first (ftcore.ui.access): a listener is an HTTP endpoint whether its button
shows or not. The rater page is the same one rater mode serves (ftcore.ui.rating_page).
"""

from __future__ import annotations

import time

import gradio as gr

from ftcore.evaluation.store import list_evaluations
from ftcore.rating.export import SESSION_JSON, export_votes
from ftcore.rating.plan import SessionPlan, plan_help
from ftcore.rating.rubrics import available_rubrics
from ftcore.rating.sessions import (
    add_invites,
    close_session,
    create_session,
    list_sessions,
    session_info,
    session_status,
)
from ftcore.rating.snapshots import copy_database
from ftcore.ui import rate_views
from ftcore.ui.access import require_admin
from ftcore.ui.downloads import download_dir
from ftcore.ui.error_toasts import shows_errors
from ftcore.ui.rating_page import build_rater_page
from ftcore.ui.rating_widgets import browser_secret

POLL_SECONDS = 5.0
UPLOAD_HEIGHT = 150  # room for the drop text below the label chip (ft-upload in the CSS)
SOURCES = {"evaluation": "An evaluation of this workspace", "predictions": "A predictions file"}
# The create form's widgets, in the order RateAdminHandlers.create receives them.
CREATE_WIDGETS = [
    "source", "eval_dir", "predictions", "split", "name", "rubric", "models",
    "ratings_per_item", "items_per_rater", "repeat_share", "min_seconds", "invites",
    "closes_at", "gold", "adaptive",
]  # fmt: skip


class RateAdminHandlers:
    def __init__(self, context):
        self.context = context

    def admin(self, request: gr.Request | None, action: str) -> None:
        require_admin(self.context.access, request, action)

    @shows_errors
    def lists(self, request: gr.Request):
        self.admin(request, "listing rating sessions")
        sessions = list_sessions(self.context.db)
        return (
            rate_views.sessions_table(sessions),
            gr.Dropdown(choices=rate_views.session_choices(sessions)),
            gr.Dropdown(choices=rate_views.evaluation_choices(list_evaluations(self.context.db))),
            gr.Dropdown(choices=available_rubrics(self.context.workspace.root)),
        )

    @shows_errors
    def create(
        self, source, eval_dir, predictions, split, name, rubric, models, ratings_per_item,
        items_per_rater, repeat_share, min_seconds, invites, closes_at, gold, adaptive=False,
        request: gr.Request = None,
    ):  # fmt: skip
        self.admin(request, "creating a rating session")
        from_evaluation = source == "evaluation"
        plan = SessionPlan(
            name=name,
            rubric=rubric or "",
            eval_dir=(eval_dir or "") if from_evaluation else "",
            predictions="" if from_evaluation else (predictions or ""),
            split=split or "",
            models=models or "",
            ratings_per_item=int(ratings_per_item or 0),
            items_per_rater=int(items_per_rater or 0),
            gold=gold or "",
            repeat_share=float(repeat_share or 0),
            min_seconds=float(min_seconds or 0),
            access="invite" if invites else "open",
            invites=int(invites or 0),
            closes_at=closes_at or "",
            adaptive=bool(adaptive),
        )
        info = create_session(self.context.db, self.context.workspace, plan)
        sessions = list_sessions(self.context.db)
        return (
            f"Created **{info.name}** (`{info.session_id}`): {info.items} items, "
            f"models {', '.join(info.models)}, rubric {info.rubric_id}.",
            rate_views.links_text(rate_views.rater_base_url(request), info),
            rate_views.sessions_table(sessions),
            gr.Dropdown(choices=rate_views.session_choices(sessions), value=info.session_id),
        )

    @shows_errors
    def status(self, session_id, request: gr.Request):
        self.admin(request, "watching a rating session")
        sessions = rate_views.sessions_table(list_sessions(self.context.db))
        if not session_id:
            return gr.update(), gr.update(), gr.update(), sessions
        status = session_status(self.context.db, session_id)
        info = session_info(self.context.db, session_id)
        return (
            rate_views.status_markdown(status),
            rate_views.coverage_table(status),
            rate_views.links_text(rate_views.rater_base_url(request), info),
            sessions,
        )

    @shows_errors
    def close(self, session_id, request: gr.Request):
        self.admin(request, "closing a rating session")
        if not session_id:
            raise gr.Error("Pick a session first.")
        close_session(self.context.db, session_id)
        return self.status(session_id, request)

    @shows_errors
    def invite(self, session_id, n, request: gr.Request):
        self.admin(request, "inviting raters")
        if not session_id:
            raise gr.Error("Pick a session first.")
        add_invites(self.context.db, session_id, int(n or 0))
        return self.status(session_id, request)

    @shows_errors
    def export(self, session_id, request: gr.Request):
        self.admin(request, "exporting votes")
        if not session_id:
            raise gr.Error("Pick a session first.")
        out = download_dir(f"rating-{session_id}")
        votes = export_votes(self.context.db, session_id, out)
        return [str(votes), str(out / SESSION_JSON)]

    @shows_errors
    def snapshot(self, request: gr.Request):
        self.admin(request, "downloading a database snapshot")
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        out = download_dir("snapshot") / f"ftstudio-{stamp}.db"
        return [str(copy_database(self.context.db, out))]


def build_create_form(context) -> dict:
    """The create-session widgets, each with its SessionPlan field's help."""
    w = {}
    with gr.Row():
        w["source"] = gr.Radio(
            [(label, key) for key, label in SOURCES.items()], value="evaluation", label="Texts from"
        )
        # Wide: an evaluation's label is its time, base model and folder.
        w["eval_dir"] = gr.Dropdown([], label="Evaluation", info=plan_help("eval_dir"), scale=2)
        w["predictions"] = gr.File(
            label="Predictions file (.jsonl)",
            file_types=[".jsonl"],
            type="filepath",
            visible=False,
            height=UPLOAD_HEIGHT,
            elem_classes="ft-upload",
        )
        w["split"] = gr.Textbox(label="Split", info=plan_help("split"))
    with gr.Row():
        w["name"] = gr.Textbox(label="Title", info=plan_help("name"))
        w["rubric"] = gr.Dropdown(
            available_rubrics(context.workspace.root),
            value=SessionPlan.rubric,
            label="Rubric",
            info=plan_help("rubric"),
        )
        w["models"] = gr.Textbox(label="Models (comma-separated)", info=plan_help("models"))
    with gr.Row():
        w["ratings_per_item"] = gr.Number(
            3, precision=0, label="Ratings per item", info=plan_help("ratings_per_item")
        )
        w["items_per_rater"] = gr.Number(
            0, precision=0, label="Items per rater", info=plan_help("items_per_rater")
        )
        w["repeat_share"] = gr.Slider(
            0,
            0.5,
            0,
            step=0.05,
            label="Repeated items",
            info=plan_help("repeat_share"),
            elem_classes="ft-slider",
        )
        w["min_seconds"] = gr.Number(5, label="Minimum seconds", info=plan_help("min_seconds"))
    with gr.Row():
        w["invites"] = gr.Number(
            0, precision=0, label="Personal invites (0: an open link)", info=plan_help("access")
        )
        w["closes_at"] = gr.Textbox(label="Closes at", info=plan_help("closes_at"))
        w["gold"] = gr.File(
            label="Gold pairs (.jsonl)",
            file_types=[".jsonl"],
            type="filepath",
            height=UPLOAD_HEIGHT,
            elem_classes="ft-upload",
        )
        w["adaptive"] = gr.Checkbox(False, label="Adaptive assignment", info=plan_help("adaptive"))
    return w


def open_from_link(request: gr.Request):
    """Show the rater page at once when the app was opened with a rater link."""
    query = request.query_params if request else {}
    if query.get("session") or query.get("invite"):
        return gr.Tabs(selected="rate"), gr.Tabs(selected="rate-page")
    return gr.update(), gr.update()


def build_rate_tab(context, app: gr.Blocks, app_tabs: gr.Tabs) -> None:
    handlers = RateAdminHandlers(context)
    with gr.Tab("Rate", id="rate") as tab, gr.Tabs() as inner_tabs:
        with gr.Tab("Rate (blind)", id="rate-page"):
            build_rater_page(app, context.db, browser_secret(context.workspace.root))
        with gr.Tab("Sessions (admin)", id="rate-admin"):
            gr.Markdown(
                "Create a blind A/B rating session, hand out its link, watch the votes come "
                "in, close it and export the votes. Raters never see which model wrote what. "
                "Links point at this app, which suits raters on this machine; for others, "
                "serve the rater page alone (`python app.py --rater --host 0.0.0.0`, the "
                "same workspace) and set `FTSTUDIO_RATER_URL` to its address."
            )
            form = build_create_form(context)
            create = gr.Button("Create session", variant="primary")
            created = gr.Markdown()
            links = gr.Textbox(
                label="Rater links",
                lines=2,
                buttons=["copy"],
                interactive=False,
                elem_id="ft-rater-links",
            )
            sessions = gr.Dataframe(label="Sessions", wrap=True, interactive=False)
            with gr.Row():
                session = gr.Dropdown([], label="Session", scale=3)
                invites = gr.Number(5, precision=0, label="New invites", scale=1)
            with gr.Row():
                invite = gr.Button("Add invites")
                close = gr.Button("Close session", variant="stop")
                export = gr.Button("Export votes.csv")
                snapshot = gr.Button("Download snapshot (.db)")
            status = gr.Markdown()
            coverage = gr.Dataframe(  # its own headers, not "1 2 3", before a session
                rate_views.coverage_table({"per_item": []}),
                label="Coverage per item",
                wrap=True,
                max_height=400,
            )
            # Hidden until an export or snapshot fills it: empty, it is a blank box.
            download = gr.File(label="Export", file_count="multiple", visible=False)
            timer = gr.Timer(POLL_SECONDS)

    app.load(open_from_link, None, [app_tabs, inner_tabs], api_name=False)
    form["source"].change(
        lambda source: (
            gr.update(visible=source == "evaluation"),
            gr.update(visible=source == "predictions"),
        ),
        form["source"],
        [form["eval_dir"], form["predictions"]],
        api_name=False,
    )
    lists = [sessions, session, form["eval_dir"], form["rubric"]]
    tab.select(handlers.lists, None, lists, api_name=False)
    create.click(
        handlers.create,
        [form[name] for name in CREATE_WIDGETS],
        [created, links, sessions, session],
        api_name="rating_create",
    )
    watched = [status, coverage, links, sessions]
    gr.on(
        [session.change, timer.tick],
        handlers.status,
        session,
        watched,
        api_name=False,
        show_progress="hidden",
    )
    close.click(handlers.close, session, watched, api_name="rating_close")
    invite.click(handlers.invite, [session, invites], watched, api_name="rating_invite")
    show = {"fn": lambda: gr.update(visible=True), "outputs": download, "api_name": False}
    export.click(handlers.export, session, download, api_name="rating_export").success(**show)
    snapshot.click(handlers.snapshot, None, download, api_name="rating_snapshot").success(**show)
