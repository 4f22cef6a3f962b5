"""Tables and text of the Rate tab's admin area: sessions, live status, coverage, links.

Admin views may show model names (the admin chose the models); nothing here is ever drawn
on the rater page, which has its own views (rating_views).
"""

from __future__ import annotations

import os
from pathlib import Path

import gradio as gr
import pandas as pd

SESSION_COLUMNS = ["id", "name", "state", "access", "rubric", "models", "items", "votes", "raters"]
COVERAGE_COLUMNS = ["item", "kind", "split", "example", "models", "votes", "repeats", "reserved"]
DEFAULT_URL = "http://127.0.0.1:7860/"


def evaluation_choices(evaluations: list[dict]) -> list[tuple[str, str]]:
    """(label, folder) of each registered evaluation, newest first."""
    return [
        (f"{row['created_at']} · {row['base_model']} · {Path(row['out_dir']).name}", row["out_dir"])
        for row in evaluations
    ]


def session_choices(sessions: list[dict]) -> list[tuple[str, str]]:
    return [(f"{s['name']} · {s['id']} · {s['state']}", s["id"]) for s in sessions]


def sessions_table(sessions: list[dict]) -> pd.DataFrame:
    rows = [
        [s["id"], s["name"], s["state"], s["access"], s["rubric_id"], ", ".join(s["models"]),
         s["items"], s["votes"], s["raters"]]
        for s in sessions
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=SESSION_COLUMNS)


def status_markdown(status: dict) -> str:
    """One session's progress in a few lines: votes, raters, coverage of the quota, flags."""
    coverage = status["coverage"]
    quota, pairs = status["ratings_per_item"], coverage["pair_items"]
    share = f" ({100 * coverage['complete'] / pairs:.0f}%)" if pairs else ""
    flags = ", ".join(f"{name} {count}" for name, count in status["flags"].items()) or "none"
    closed = f", closed at {status['closed_at']}" if status.get("closed_at") else ""
    return (
        f"**{status['name']}** · `{status['id']}` · {status['state']}{closed} · "
        f"models: {', '.join(status['models'])}\n\n"
        f"**{status['votes']}** votes from **{status['raters_voted']}** raters "
        f"({status['raters']} joined) · items with all {quota} ratings: "
        f"**{coverage['complete']} of {pairs}**{share} · flags: {flags}"
    )


def coverage_table(status: dict) -> pd.DataFrame:
    rows = [
        [item["item_id"], item["kind"], item["split"], item["example_id"],
         f"{item['model_first']} / {item['model_second']}", item["votes"],
         item["repeat_votes"], item["reserved"]]
        for item in status["per_item"]
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def rater_base_url(request: gr.Request | None) -> str:
    """Where raters open the page: $FTSTUDIO_RATER_URL (a rater-mode server or a Space),
    else this app itself, whose Rate tab serves the same page to whoever has the link."""
    if configured := os.environ.get("FTSTUDIO_RATER_URL"):
        return configured.rstrip("/") + "/"
    if request is None:
        return DEFAULT_URL
    host = request.headers.get("x-forwarded-host") or request.headers.get("host")
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    return f"{scheme}://{host}/" if host else DEFAULT_URL


def links_text(base_url: str, info) -> str:
    """The links to hand out, one a line: the open link and every personal invite link."""
    links = ([info.link] if info.link else []) + list(info.invite_links)
    return "\n".join(base_url + link for link in links)
