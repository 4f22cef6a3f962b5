"""The rater page's pure parts: library dicts in, markdown / HTML / vote values out.

Nothing here talks to the database or to Gradio, so what a rater sees is tested on plain
values. Every text that came from a person (prompts, responses, rubric anchors) is
HTML-escaped: a response is shown verbatim, never rendered as markup it might contain.
"""

from __future__ import annotations

import html

from ftcore.ui.rating_texts import localized, text

CHOICES = ("A", "B", "tie", "both_bad")  # the values rating_vote accepts
# Keys the page's script maps to a choice (see SHORTCUTS_JS); also shown in the labels.
CHOICE_KEYS = {"A": "A", "B": "B", "tie": "T", "both_bad": "X"}


def choice_options(lang: str) -> list[tuple[str, str]]:
    """(label, value) pairs for the overall choice, each label showing its key."""
    return [(f"{text(lang, f'choice_{c}')}  [{CHOICE_KEYS[c]}]", c) for c in CHOICES]


def text_block(value: str, css_class: str) -> str:
    """`value` shown verbatim (escaped, line breaks kept by CSS) in a div of `css_class`."""
    return f'<div class="{css_class}">{html.escape(value)}</div>'


def progress_html(progress: dict, lang: str) -> str:
    """ "Rated 12 of 20" with a bar, from the library's {"done", "total"}."""
    done, total = int(progress.get("done", 0)), int(progress.get("total", 0))
    percent = round(100 * done / total) if total else 0
    label = html.escape(text(lang, "progress", done=done, total=total))
    return (
        f'<div class="ft-progress" data-done="{done}" data-total="{total}">'
        f"<span>{label}</span>"
        f'<div class="ft-progress-bar"><div style="width:{percent}%"></div></div></div>'
    )


def session_title(session: dict) -> str:
    return f"## {html.escape(session.get('title', ''))}"


def instructions_markdown(session: dict, lang: str) -> str:
    """The rubric's instructions as Markdown (its author's lists and paragraphs; the line
    breaks inside a paragraph are only how the YAML was wrapped)."""
    return html.escape(localized(session.get("instructions", ""), lang))


def criterion_html(criterion: dict, lang: str) -> str:
    """A criterion's name, description and every anchor of its scale, kept beside the two
    score buttons so the rater reads what a 4 means while giving one."""
    name = html.escape(localized(criterion["name"], lang))
    description = html.escape(localized(criterion.get("description", ""), lang))
    scale = criterion["scale"]
    anchors = "".join(
        f"<li><b>{point}</b> {html.escape(localized(scale[str(point)], lang))}</li>"
        for point in scale_points(criterion)
    )
    return (
        f'<div class="ft-criterion"><div class="ft-criterion-name">{name}</div>'
        f'<div class="ft-criterion-description">{description}</div>'
        f'<ol class="ft-anchors" title="{html.escape(text(lang, "scale"))}">{anchors}</ol></div>'
    )


def scale_points(criterion: dict) -> list[int]:
    """The points of a criterion's scale, lowest first (1..5 in the shipped rubrics)."""
    return sorted(int(point) for point in criterion["scale"])


def scores_from_widgets(
    criteria: list[dict], a_values: list, b_values: list, lang: str
) -> tuple[dict, list[str]]:
    """The vote's {"A": {criterion: score}, "B": {…}} from the page's score buttons, and the
    localized names of what is still unscored (empty when the vote is complete)."""
    scores: dict[str, dict[str, int]] = {"A": {}, "B": {}}
    missing = []
    for criterion, a, b in zip(criteria, a_values, b_values, strict=False):
        name = localized(criterion["name"], lang)
        for side, value in (("A", a), ("B", b)):
            if value in (None, ""):
                missing.append(f"{name} ({side})")
            else:
                scores[side][criterion["id"]] = int(value)
    return scores, missing
