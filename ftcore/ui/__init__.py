"""The Gradio app: one module per tab, each a thin layer over ftcore functions."""

from __future__ import annotations

from dataclasses import dataclass, field

import gradio as gr

from ftcore import __version__
from ftcore.db import Database
from ftcore.runtime.chat import ModelCache
from ftcore.ui.access import AccessPolicy, LocalAccess
from ftcore.workspace import Workspace

# System fonts only: the default theme fetches web fonts, which an offline machine lacks.
SYSTEM_FONTS = [gr.themes.Font("system-ui"), gr.themes.Font("Noto Sans CJK SC"), "sans-serif"]
THEME = gr.themes.Soft(
    primary_hue="red",
    secondary_hue="amber",
    font=SYSTEM_FONTS,
    font_mono=[gr.themes.Font("ui-monospace"), "monospace"],
)
CSS = """
.ft-header h1 { margin-bottom: 0; }
.ft-header p { margin-top: 0.2em; color: var(--body-text-color-subdued); }
"""


@dataclass
class AppContext:
    """What every tab shares: the workspace, its database, the loaded model, and who may
    run admin functions."""

    workspace: Workspace
    db: Database
    models: ModelCache
    access: AccessPolicy = field(default_factory=LocalAccess)


def build_app(workspace: Workspace | None = None) -> gr.Blocks:
    """Build the ftstudio Blocks app on `workspace` (default: FTSTUDIO_HOME)."""
    from ftcore.ui.chat_tab import build_chat_tab
    from ftcore.ui.data_tab import build_data_tab
    from ftcore.ui.eval_tab import build_eval_tab
    from ftcore.ui.rate_tab import build_rate_tab
    from ftcore.ui.train_tab import build_train_tab

    workspace = workspace or Workspace.open()
    context = AppContext(workspace, Database.for_workspace(workspace), ModelCache())
    with gr.Blocks(title="ftstudio") as app:
        gr.Markdown(
            "# ftstudio\nFine-tune a language model with LoRA / QLoRA, then find out "
            f"whether it really got better. · v{__version__} · workspace `{workspace.root}`",
            elem_classes="ft-header",
        )
        with gr.Tabs() as tabs:  # in the order of the work
            build_data_tab(context)
            build_train_tab(context)
            build_eval_tab(context)
            build_chat_tab(context)
            build_rate_tab(context, app, tabs)
    return app


def launch_options() -> dict:
    """Keyword arguments for `launch()` that the app and its tests share."""
    return {"theme": THEME, "css": CSS, "footer_links": ["api", "gradio"]}
