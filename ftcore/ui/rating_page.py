"""The rater page's events: resume on load, join, next item, vote, switch language.

The page drives the three API listeners of `RatingApi`, so a browser calls exactly what
scripts and load tests call; the other listeners only keep the token and draw:

    load    ── ?session= / ?invite= and the token the browser kept → resume, or the join screen
    Join    ── rating_join ── after_join (keep the token) ── next_request changes
    next_request.change ── rating_next ── show_item (or the thank-you screen)
    Submit  ── collect_scores (all scored? said in the rater's language) ── rating_vote
            ── after_vote ── next_request changes

The browser keeps only an opaque rater token per session code; everything else lives on
the server, so a reload, or a restart of the server, resumes where the rater was.
"""

from __future__ import annotations

import json
import uuid

import gradio as gr

from ftcore.db import Database
from ftcore.errors import UnknownTokenError
from ftcore.rating import service
from ftcore.ui.error_toasts import shows_errors
from ftcore.ui.rating_api import RatingApi
from ftcore.ui.rating_texts import DEFAULT_LANGUAGE, LANGUAGES, browser_language, text
from ftcore.ui.rating_views import CHOICES, scores_from_widgets
from ftcore.ui.rating_widgets import MAX_CRITERIA, RaterPage, fresh_store

# Every listener that calls the library shares one pool of 4, not Gradio's default of 1
# per listener (fifty raters' votes would go one at a time, each behind the last). Not more: the
# database takes one writer at a time and a vote costs about 1 ms there, so extra threads
# only wait on its lock. Measured with 50 raters (benchmarks/bench_rating.py): a limit of
# 16 gave 24 / 342 ms p50 / p95 inside the vote handler, 4 gave 11 / 72 ms, same throughput.
RATING_CONCURRENCY = {"concurrency_id": "rating", "concurrency_limit": 4}
DRAWING = {"api_visibility": "private", "concurrency_limit": None, "show_progress": "hidden"}


def new_request_id() -> str:
    """A fresh value for next_request: its change is what asks for the next item."""
    return uuid.uuid4().hex


class RaterPageEvents:
    """The page's handlers: each reads widget values, calls the library at most once, and
    returns the page redrawn."""

    def __init__(self, page: RaterPage, database: Database):
        self.page, self.database = page, database
        self.api = RatingApi(database)

    @shows_errors
    def on_load(self, stored: dict | None, request: gr.Request | None) -> dict:
        page, stored = self.page, fresh_store(stored)
        query = dict(request.query_params) if request else {}
        header = request.headers.get("accept-language") if request else None
        lang = stored["lang"] if stored["lang"] in LANGUAGES else browser_language(header)
        code = (query.get("session") or query.get("invite") or stored["last"]).strip()
        token, view, updates = stored["tokens"].get(code, ""), {"screen": "join"}, {}
        if token:
            try:
                resumed = service.session_view(self.database, token)
            except UnknownTokenError:  # not this server's rater (a reset or other workspace)
                stored["tokens"].pop(code)
                token = ""
            else:
                view = {"screen": "loading", "session": resumed["session"]}
                view["progress"] = resumed["progress"]
                updates[page.next_request] = new_request_id()
        drawn = page.draw(view, lang)
        return {
            **drawn,
            **updates,
            page.stored: stored,
            page.code: {**drawn[page.code], "value": code},  # keeps the label in `lang`
            page.rater_token: token,
        }

    def after_join(self, joined: dict, code: str, stored: dict | None, lang: str) -> dict:
        page, stored = self.page, fresh_store(stored)
        session = joined["session"]
        if len(session["criteria"]) > MAX_CRITERIA:
            raise gr.Error(f"this page shows at most {MAX_CRITERIA} criteria per rubric")
        stored["tokens"][code.strip()] = joined["rater_token"]
        stored["last"] = code.strip()
        progress = {"done": 0, "total": session["items_total"]}
        view = {"screen": "loading", "session": session, "progress": progress}
        return {
            **page.draw(view, lang),
            page.stored: stored,
            page.rater_token: joined["rater_token"],
            page.next_request: new_request_id(),
        }

    def show_item(self, item: dict, view: dict, lang: str) -> dict:
        if item.get("done"):
            view = {**view, "screen": "done", "item": None, "reason": item.get("reason", "")}
            view["progress"] = item["progress"]
        else:
            view = {**view, "screen": "rate", "item": item, "progress": item["progress"]}
        return {
            **self.page.draw(view, lang),
            **self.page.cleared(),
            self.page.item_token: item.get("item_token", ""),
        }

    def collect_scores(self, view: dict, lang: str, *values) -> str:
        """The vote's scores_json from the score buttons; a gap or a missing choice is
        said in the rater's language before anything is sent."""
        criteria = (view.get("session") or {}).get("criteria", [])
        a_values, b_values = values[:MAX_CRITERIA], values[MAX_CRITERIA : 2 * MAX_CRITERIA]
        scores, missing = scores_from_widgets(criteria, a_values, b_values, lang)
        # A rater's slip, not a server fault: no traceback in the server log.
        if missing:
            message = text(lang, "missing_scores", missing=", ".join(missing))
            raise gr.Error(message, print_exception=False)
        if values[-1] not in CHOICES:
            raise gr.Error(text(lang, "missing_choice"), print_exception=False)
        return json.dumps(scores)

    def switch_language(self, lang: str, view: dict, stored: dict | None) -> dict:
        stored = {**fresh_store(stored), "lang": lang}
        return {**self.page.draw(view, lang or DEFAULT_LANGUAGE), self.page.stored: stored}


def build_rater_page(app: gr.Blocks, database: Database, secret: str) -> RaterPage:
    """The rater page inside the current Blocks context; `app` is the Blocks whose load
    event resumes a returning rater. Registers the API names rating_join, rating_next and
    rating_vote, and private drawing listeners: nothing an admin could use."""
    page = RaterPage(secret)
    events = RaterPageEvents(page, database)
    drawn = page.page_components()
    scores = [row[2] for row in page.criteria] + [row[3] for row in page.criteria]
    resumed = [*drawn, page.stored, page.rater_token, page.next_request]
    app.load(
        events.on_load,
        page.stored,
        resumed,
        api_visibility="private",
        show_progress="hidden",
        **RATING_CONCURRENCY,
    )
    gr.on(
        [page.join.click, page.code.submit, page.name.submit],
        events.api.rating_join,
        [page.code, page.name],
        page.join_result,
        api_name="rating_join",
        **RATING_CONCURRENCY,
    ).success(
        events.after_join,
        [page.join_result, page.code, page.stored, page.language],
        [*drawn, page.stored, page.rater_token, page.next_request],
        **DRAWING,
    )
    page.next_request.change(
        events.api.rating_next,
        page.rater_token,
        page.next_result,
        api_name="rating_next",
        **RATING_CONCURRENCY,
    ).success(
        events.show_item,
        [page.next_result, page.view, page.language],
        [*drawn, page.item_token],
        **DRAWING,
    )
    page.submit.click(
        events.collect_scores,
        [page.view, page.language, *scores, page.choice],
        page.scores_json,
        **DRAWING,
    ).success(
        events.api.rating_vote,
        [page.rater_token, page.item_token, page.choice, page.scores_json, page.comment],
        page.vote_result,
        api_name="rating_vote",
        **RATING_CONCURRENCY,
    ).success(new_request_id, None, page.next_request, **DRAWING)
    page.language.input(
        events.switch_language,
        [page.language, page.view, page.stored],
        [*drawn, page.stored],
        **DRAWING,
    )
    return page
