"""What changes on a Hugging Face Space: which app is served, HF login, the no-bucket warning.

Off a Space nothing here shows. On a Space (SPACE_ID set) every page, admin or rater,
starts with `space_header`: the sign-in button where the Space has HF login, and a loud
warning when FTSTUDIO_BACKUP_DIR names no bucket, because a restart then loses every vote.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping

import gradio as gr

from ftcore.ui.access import hf_login_available, on_space

BACKUP_VARIABLE = "FTSTUDIO_BACKUP_DIR"
NO_BUCKET_WARNING = (
    "Votes will be lost on restart. This Space has no storage bucket "
    f"({BACKUP_VARIABLE} is not set): everything rated here lives on the container's disk, "
    "which a restart, a rebuild or 48 hours asleep wipes. Attach a bucket and set "
    f"{BACKUP_VARIABLE} to its mount path before inviting raters (spaces/GUIDE.md)."
)
# Inline style: the same red box in the full app and the rater app, whatever their CSS.
WARNING_HTML = (
    '<div id="ft-no-bucket" role="alert" style="border:3px solid #b91c1c;background:#fee2e2;'
    'color:#7f1d1d;border-radius:8px;padding:0.6em 1em;font-size:1.1rem;font-weight:600">'
    "⚠️ {text}</div>"
)


def storage_warning(environ: Mapping[str, str] = os.environ) -> str | None:
    """The no-bucket warning on a Space without FTSTUDIO_BACKUP_DIR, else None."""
    if on_space(environ) and not environ.get(BACKUP_VARIABLE, "").strip():
        return NO_BUCKET_WARNING
    return None


def space_header(login_hint: str = "") -> None:
    """Inside the current Blocks: the storage warning and the HF sign-in button where
    they apply (on a Space), with `login_hint` beside the button."""
    if warning := storage_warning():
        gr.HTML(WARNING_HTML.format(text=html.escape(warning)), js_on_load=None)
    if hf_login_available():
        with gr.Row():
            gr.LoginButton(scale=0, min_width=240)
            if login_hint:
                gr.Markdown(login_hint)


# Inside a cross-site frame (the huggingface.co page around *.hf.space) a browser that
# blocks third-party storage (Safari, Incognito, "block third-party cookies") throws on
# any touch of localStorage, and Gradio 6.31's BrowserState reads it outside its try: the
# page then hangs at "Loading..." (reproduced in headless Chromium). Where storage throws,
# this puts an in-memory stand-in in its place before the app mounts: the page works, and
# only resuming after a reload is lost there (the direct *.hf.space address keeps it).
STORAGE_FALLBACK_HEAD = """<script>
(() => {
  try { window.localStorage.getItem("ftstudio"); return; } catch (error) {}
  const items = new Map();
  const memory = {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => { items.set(key, String(value)); },
    removeItem: (key) => { items.delete(key); },
    clear: () => { items.clear(); },
    key: (index) => [...items.keys()][index] ?? null,
    get length() { return items.size; },
  };
  Object.defineProperty(window, "localStorage", { value: memory, configurable: true });
})();
</script>"""
