"""Rater mode (`python app.py --rater`, FTSTUDIO_MODE=rater, or a Space with no admin
variable): a separate Blocks with the rater page and nothing else.

Hiding admin functions would not be enough: every Gradio listener is callable through the
queue by its index, private or not. So this app never registers one: its listeners are the
rating API (rating_join, rating_next, rating_vote), the page's private drawing steps and,
on a Space with HF login, the login button's own status check; a test lists them. Nor
does it load a model or touch training, so a rater-only server (or Space) starts in seconds.
"""

from __future__ import annotations

import gradio as gr

from ftcore.db import Database
from ftcore.ui.hosting import space_header
from ftcore.ui.rating_page import build_rater_page
from ftcore.ui.rating_texts import TEXTS
from ftcore.ui.rating_widgets import browser_secret
from ftcore.workspace import Workspace

# Beside the HF sign-in button on a Space: signing in is optional for raters.
RATER_LOGIN_HINT = (
    "可选：登录 Hugging Face 后，换一台设备也是同一位评审。 · "
    "Optional: sign in with Hugging Face to stay the same rater on any device."
)


def build_rater_app(workspace: Workspace | None = None) -> gr.Blocks:
    """The rater-only Blocks on `workspace` (default: FTSTUDIO_HOME)."""
    workspace = workspace or Workspace.open()
    database = Database.for_workspace(workspace)
    with gr.Blocks(title=TEXTS["zh"]["title"]) as app:
        space_header(RATER_LOGIN_HINT)
        build_rater_page(app, database, browser_secret(workspace.root))
    return app


def rater_launch_options() -> dict:
    """`launch()` arguments for rater mode. Run history off: it would keep every rater's
    calls (their token among them) in the browser for the next person at a shared PC."""
    from ftcore.ui import launch_options

    return {**launch_options(), "run_history": False, "footer_links": ["api"]}
