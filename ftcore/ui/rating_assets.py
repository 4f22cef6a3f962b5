"""The rater page's style and keyboard shortcuts, shipped with the page itself.

Both ride on one hidden gr.HTML (its `head` and `js_on_load`), so the rater-only app and
the full app's Rate tab carry them without touching either app's launch options. Rules are
scoped under the page's element ids so they outrank Gradio's own prose styles and touch
nothing else in the full app.
"""

from __future__ import annotations

PAGE_CSS = """
#ft-rate .ft-label { font-weight: 600; margin: 0.4em 0 0.2em;
  color: var(--body-text-color-subdued); }
#ft-rate .ft-prompt, #ft-rate .ft-response { white-space: pre-wrap; overflow-wrap: anywhere;
  padding: 0.7em 0.9em; border: 1px solid var(--border-color-primary);
  border-radius: var(--radius-lg); line-height: 1.6; font-size: 1.05rem; }
#ft-rate .ft-prompt { background: var(--background-fill-secondary); }
#ft-rate .ft-response { min-height: 5em; background: var(--block-background-fill); }
#ft-rate .ft-progress { display: flex; align-items: center; gap: 0.8em; font-weight: 600; }
#ft-rate .ft-progress-bar { flex: 1; height: 0.5em; border-radius: 0.25em;
  background: var(--border-color-primary); overflow: hidden; }
#ft-rate .ft-progress-bar > div { height: 100%; background: var(--color-accent); }
#ft-rate .ft-criterion-row { border-top: 1px solid var(--border-color-primary);
  padding-top: 0.5em; }
#ft-rate .ft-criterion-about { flex: 3 1 300px; }
#ft-rate .ft-criterion-scores { flex: 2 1 300px; }
#ft-rate .ft-criterion-scores .wrap { gap: 0.4em; }
#ft-rate .ft-criterion-scores label { padding: 0.35em 0.7em; }
#ft-rate .ft-criterion-name { font-weight: 600; font-size: 1.05rem; }
#ft-rate .ft-criterion-description { color: var(--body-text-color-subdued);
  margin-bottom: 0.3em; }
#ft-rate ol.ft-anchors { list-style: none; padding: 0; margin: 0; font-size: 0.9rem; }
#ft-rate ol.ft-anchors li { margin: 0.1em 0; }
#ft-rate ol.ft-anchors b { display: inline-block; min-width: 1.4em; }
#ft-rate .ft-shortcuts { color: var(--body-text-color-subdued); font-size: 0.9rem; }
"""
PAGE_ASSETS_HEAD = f"<style>{PAGE_CSS}</style>"

# Letters, not digits: digits read as scores on a page full of 1-5 buttons. The keys act
# only while the rating screen shows and never while the rater types a comment; Ctrl+Enter
# (Cmd+Enter) submits from anywhere on it, the comment box included.
SHORTCUTS_JS = """
if (!window.ftRaterShortcuts) {
  window.ftRaterShortcuts = true;
  const choices = {a: "A", b: "B", t: "tie", x: "both_bad"};
  document.addEventListener("keydown", (event) => {
    const choice = document.getElementById("ft-choice");
    if (!choice || choice.offsetParent === null) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      document.getElementById("ft-submit")?.click();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.closest?.("textarea, input[type=text], [contenteditable]");
    const value = choices[event.key.toLowerCase()];
    if (typing || !value) return;
    const input = choice.querySelector(`input[type=radio][value="${value}"]`);
    if (input) {
      event.preventDefault();
      input.click();
    }
  });
}
"""
