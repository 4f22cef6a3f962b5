"""The Gradio app: one module per tab, each a thin layer over ftcore functions."""

from __future__ import annotations

from dataclasses import dataclass, field

import gradio as gr

from ftcore import __version__
from ftcore.db import Database
from ftcore.runtime.chat import ModelCache
from ftcore.ui.access import (
    AccessPolicy,
    LocalAccess,
    SpaceAccess,
    admin_policy_from_environment,
    serves_rater_only,
)
from ftcore.ui.admin_gate import build_password_box, guard_listeners
from ftcore.ui.hosting import STORAGE_FALLBACK_HEAD, space_header
from ftcore.ui.zerogpu import run_model_work_on_gpu
from ftcore.workspace import Workspace

# System fonts only: the default theme fetches web fonts, which an offline machine lacks.
SYSTEM_FONTS = [gr.themes.Font("system-ui"), gr.themes.Font("Noto Sans CJK SC"), "sans-serif"]
THEME = gr.themes.Soft(
    primary_hue="red",
    secondary_hue="amber",
    font=SYSTEM_FONTS,
    font_mono=[gr.themes.Font("ui-monospace"), "monospace"],
)
ADMIN_LOGIN_HINT = "Admins sign in here; raters only need their session link."
CSS = """
.ft-header h1 { margin-bottom: 0; }
.ft-header p { margin-top: 0.2em; color: var(--body-text-color-subdued); }
/* A long dropdown value ends in "…" before the arrow instead of running under it; a
   multiselect's input shrinks, so its clear and arrow icons stay beside the chips. */
.wrap-inner .secondary-wrap input[role="combobox"] {
  text-overflow: ellipsis; padding-right: var(--size-6); min-width: 3em; flex: 1 1 0;
}
/* A slider with a long info text: the text takes the full width and the number box goes
   on its own line by the track, not squeezed beside the text at the top. */
.ft-slider .wrap > .head { flex-wrap: wrap; }
.ft-slider .wrap > .head > label { flex: 1 1 100%; }
.ft-slider .wrap > .head > .tab-like-container { margin-left: auto; }
/* An upload box in a narrow column: the drop text starts below the label chip. */
.ft-upload .upload-container { padding-top: var(--size-8); }
"""


@dataclass
class AppContext:
    """What every tab shares: the workspace, its database, the loaded model, and who may
    run admin functions."""

    workspace: Workspace
    db: Database
    models: ModelCache
    access: AccessPolicy = field(default_factory=LocalAccess)


def build_app(workspace: Workspace | None = None, access: AccessPolicy | None = None) -> gr.Blocks:
    """Build the ftstudio Blocks app on `workspace` (default: FTSTUDIO_HOME). Every listener
    outside the rater page asks `access` (default: from the environment) first."""
    from ftcore.ui.chat_tab import build_chat_tab
    from ftcore.ui.data_tab import build_data_tab
    from ftcore.ui.eval_tab import build_eval_tab
    from ftcore.ui.rate_tab import build_rate_tab
    from ftcore.ui.report_tab import build_report_tab
    from ftcore.ui.train_tab import build_train_tab

    workspace = workspace or Workspace.open()
    # A Space with no admin variable never builds this app (see build_served_app); if asked
    # to anyway, LocalAccess refuses every admin call there.
    access = access or admin_policy_from_environment() or LocalAccess()
    context = AppContext(workspace, Database.for_workspace(workspace), ModelCache(), access)
    with gr.Blocks(title="ftstudio") as app:
        space_header(ADMIN_LOGIN_HINT)
        if isinstance(access, SpaceAccess) and access.password:
            build_password_box(access)
        gr.Markdown(
            "# ftstudio\nFine-tune a language model with LoRA / QLoRA, then find out "
            f"whether it really got better. · v{__version__} · workspace `{workspace.root}`",
            elem_classes="ft-header",
        )
        with gr.Tabs() as tabs:  # in the order of the work
            build_data_tab(context, app)
            build_train_tab(context)
            build_eval_tab(context)
            build_chat_tab(context)
            build_rate_tab(context, app, tabs)
            build_report_tab(context, tabs)
    run_model_work_on_gpu(app)  # inside the admin check: a refused call never waits for a GPU
    guard_listeners(app, access)
    return app


def build_served_app(workspace: Workspace, rater: bool = False) -> tuple[gr.Blocks, dict]:
    """The app this process serves and its launch options: the rater app for `rater`,
    FTSTUDIO_MODE=rater, or a Space without admin variables; else the full app."""
    if rater or serves_rater_only():
        from ftcore.ui.rater_app import build_rater_app, rater_launch_options

        return build_rater_app(workspace), rater_launch_options()
    return build_app(workspace), launch_options()


def launch_options() -> dict:
    """Keyword arguments for `launch()` that the app and its tests share."""
    return {
        "theme": THEME,
        "css": CSS,
        "head": STORAGE_FALLBACK_HEAD,
        "footer_links": ["api", "gradio"],
    }
