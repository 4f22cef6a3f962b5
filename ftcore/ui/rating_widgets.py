"""The rater page's widgets: the join, rate and thank-you screens, and how each is drawn.

`RaterPage` builds the components inside the current Blocks and turns the library's rater
dicts (session, item, progress) into component updates; `rating_page` wires the events. A
rubric's criteria fill rows built up front (a Gradio page cannot grow components without
gr.render), each with its anchors beside the two score buttons.
"""

from __future__ import annotations

import html
import os
import secrets
from pathlib import Path

import gradio as gr

from ftcore.files import write_text
from ftcore.rating.service import MAX_RATER_NAME
from ftcore.rating.votes import MAX_COMMENT
from ftcore.ui.rating_assets import PAGE_ASSETS_HEAD, SHORTCUTS_JS
from ftcore.ui.rating_texts import LANGUAGES, text
from ftcore.ui.rating_views import (
    choice_options,
    criterion_html,
    instructions_markdown,
    progress_html,
    scale_points,
    session_title,
    text_block,
)

MAX_CRITERIA = 10  # score rows built up front (the page shows an error beyond)
STORAGE_KEY = "ftstudio-rater"
SECRET_FILE = "browser_state.secret"
EMPTY_STORE = {"tokens": {}, "last": "", "lang": ""}


def browser_secret(workspace_root: Path) -> str:
    """The BrowserState secret: $FTSTUDIO_BROWSER_SECRET, else one made once and kept in
    the workspace. Gradio picks a new one at every start otherwise, and a restarted server
    would then no longer read what browsers stored. The secret reaches the browser anyway,
    which is why only an opaque token is stored under it."""
    if env := os.environ.get("FTSTUDIO_BROWSER_SECRET"):
        return env
    path = workspace_root / SECRET_FILE
    if not path.exists():
        write_text(path, secrets.token_urlsafe(24))
    return path.read_text("utf-8").strip()


class RaterPage:
    """The page's components, and how to draw them from the library's rater dicts."""

    def __init__(self, secret: str, lang: str = "zh"):
        gr.HTML("", head=PAGE_ASSETS_HEAD, js_on_load=SHORTCUTS_JS, visible="hidden")
        self.stored = gr.BrowserState(dict(EMPTY_STORE), storage_key=STORAGE_KEY, secret=secret)
        self.view = gr.State({"screen": "join"})
        # Hidden inputs and outputs of the API listeners (a gr.State would drop them from
        # the API signature); none holds more than the rater's own token and texts.
        self.rater_token = gr.Textbox(visible=False)
        self.item_token = gr.Textbox(visible=False)
        self.scores_json = gr.Textbox(visible=False)
        self.next_request = gr.Textbox(visible=False)
        self.join_result = gr.JSON(visible=False)
        self.next_result = gr.JSON(visible=False)
        self.vote_result = gr.JSON(visible=False)
        with gr.Row(elem_classes="ft-rater-top"):  # the toggle drops below on a phone
            with gr.Column(scale=1, min_width=280):
                self.heading = gr.Markdown(f"# {text(lang, 'title')}")
            with gr.Column(scale=0, min_width=220):
                self.language = gr.Radio(
                    [(name, code) for code, name in LANGUAGES.items()],
                    value=lang,
                    label=text(lang, "language"),
                    elem_id="ft-language",
                    show_label=False,
                    container=False,
                )
        with gr.Column(visible=True, elem_id="ft-join") as self.join_screen:
            self.intro = gr.Markdown(text(lang, "intro"))
            with gr.Row():
                self.code = gr.Textbox(label=text(lang, "code"), info=text(lang, "code_info"))
                self.name = gr.Textbox(label=text(lang, "name"), max_length=MAX_RATER_NAME)
            self.join = gr.Button(text(lang, "join"), variant="primary", elem_id="ft-join-button")
        with gr.Column(visible=False, elem_id="ft-rate") as self.rate_screen:
            self.title = gr.Markdown()
            self.progress = gr.HTML(js_on_load=None)
            with gr.Accordion(text(lang, "instructions"), open=False) as self.instructions_box:
                self.instructions = gr.Markdown()
            self.prompt = gr.HTML(js_on_load=None, elem_id="ft-prompt")
            with gr.Row():  # side by side; stacked where two 300 px columns do not fit
                with gr.Column(min_width=300):
                    self.response_a = gr.HTML(js_on_load=None, elem_id="ft-response-a")
                with gr.Column(min_width=300):
                    self.response_b = gr.HTML(js_on_load=None, elem_id="ft-response-b")
            self.criteria = []  # (row, about the criterion, score A, score B), one per criterion
            for index in range(MAX_CRITERIA):
                with gr.Row(visible=False, elem_classes="ft-criterion-row") as row:
                    about = gr.HTML(js_on_load=None, elem_classes="ft-criterion-about")
                    with gr.Column(min_width=300, elem_classes="ft-criterion-scores"):
                        score_a = gr.Radio([], label="A", elem_id=f"ft-score-a-{index}")
                        score_b = gr.Radio([], label="B", elem_id=f"ft-score-b-{index}")
                self.criteria.append((row, about, score_a, score_b))
            self.choice = gr.Radio(
                choice_options(lang), label=text(lang, "choice"), elem_id="ft-choice"
            )
            self.comment = gr.Textbox(label=text(lang, "comment"), lines=2, max_length=MAX_COMMENT)
            self.submit = gr.Button(text(lang, "submit"), variant="primary", elem_id="ft-submit")
            self.shortcuts = gr.Markdown(text(lang, "shortcuts"), elem_classes="ft-shortcuts")
        with gr.Column(visible=False, elem_id="ft-done") as self.done_screen:
            self.thanks = gr.Markdown()

    # The components every redraw may touch (each handler returns a dict over a subset).
    def page_components(self) -> list:
        fixed = [
            self.view, self.heading, self.language, self.join_screen, self.intro, self.code,
            self.name, self.join, self.rate_screen, self.title, self.progress,
            self.instructions_box, self.instructions, self.prompt, self.response_a,
            self.response_b, self.choice, self.comment, self.submit, self.shortcuts,
            self.done_screen, self.thanks,
        ]  # fmt: skip
        return fixed + [part for row in self.criteria for part in row]

    def draw(self, view: dict, lang: str) -> dict:
        """Every text and visibility of the page for `view` in `lang`."""
        session, item = view.get("session") or {}, view.get("item") or {}
        progress = view.get("progress") or {"done": 0, "total": session.get("items_total", 0)}
        updates = {
            self.view: view,
            self.heading: f"# {text(lang, 'title')}",
            self.language: gr.update(value=lang, label=text(lang, "language")),
            self.join_screen: gr.update(visible=view["screen"] == "join"),
            self.intro: text(lang, "intro"),
            self.code: gr.update(label=text(lang, "code"), info=text(lang, "code_info")),
            self.name: gr.update(label=text(lang, "name")),
            self.join: gr.update(value=text(lang, "join")),
            self.rate_screen: gr.update(visible=view["screen"] == "rate"),
            self.title: session_title(session),
            self.progress: progress_html(progress, lang),
            # Open on the first item, so that every rater meets the instructions once.
            self.instructions_box: gr.update(
                label=text(lang, "instructions"), open=progress.get("done", 0) == 0
            ),
            self.instructions: instructions_markdown(session, lang),
            self.prompt: labelled(text(lang, "prompt"), item.get("prompt", ""), "ft-prompt"),
            self.response_a: labelled(text(lang, "response_a"), item.get("response_a", "")),
            self.response_b: labelled(text(lang, "response_b"), item.get("response_b", "")),
            self.choice: gr.update(choices=choice_options(lang), label=text(lang, "choice")),
            self.comment: gr.update(label=text(lang, "comment")),
            self.submit: gr.update(value=text(lang, "submit")),
            self.shortcuts: text(lang, "shortcuts"),
            self.done_screen: gr.update(visible=view["screen"] == "done"),
            self.thanks: thanks_markdown(progress, view.get("reason", ""), lang),
        }
        criteria = session.get("criteria", [])
        for index, (row, about, score_a, score_b) in enumerate(self.criteria):
            if index >= len(criteria):
                updates[row] = gr.update(visible=False)
                continue
            points = scale_points(criteria[index])
            updates[row] = gr.update(visible=True)
            updates[about] = criterion_html(criteria[index], lang)
            updates[score_a] = gr.update(choices=points, label=text(lang, "response_a"))
            updates[score_b] = gr.update(choices=points, label=text(lang, "response_b"))
        return updates

    def cleared(self) -> dict:
        """Empty score buttons, choice and comment for a new item."""
        updates = {self.choice: None, self.comment: ""}
        for _, _, score_a, score_b in self.criteria:
            updates[score_a] = updates[score_b] = None
        return updates


def labelled(label: str, value: str, css_class: str = "ft-response") -> str:
    """A person's text shown verbatim under a label of the page's own."""
    return f'<div class="ft-label">{html.escape(label)}</div>' + text_block(value, css_class)


def thanks_markdown(progress: dict, reason: str, lang: str) -> str:
    """The last screen's words for why there is no next item: finished, closed, or every
    item left is reserved by other raters (items_full)."""
    key = f"thanks_{reason}" if reason in ("closed", "items_full") else "thanks_finished"
    body = text(lang, key, done=progress.get("done", 0), total=progress.get("total", 0))
    return f"# {text(lang, 'thanks_title')}\n\n{body}"


def fresh_store(stored: dict | None) -> dict:
    """The browser's stored value with every key present (it may predate a key, or be
    another app's value under the same key)."""
    stored = stored if isinstance(stored, dict) else {}
    tokens = stored.get("tokens") if isinstance(stored.get("tokens"), dict) else {}
    return {**EMPTY_STORE, **stored, "tokens": dict(tokens)}
