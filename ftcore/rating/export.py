"""A session's votes as votes.csv (one row per vote) and session.json (rubric, plan, source).

votes.csv is UTF-8 with a BOM, so Excel shows Chinese comments correctly, and every cell
goes through `spreadsheet_safe`, so a comment such as `=HYPERLINK(…)` stays text. Columns:
vote, rater and item ids; `left_model` / `right_model` (A was shown left); `choice` in the
rater's terms (A = left, B = right, tie, both_bad) and `winner` in the models' terms (a
model name, tie or both_bad); `<criterion>_left` and `<criterion>_right` for each rubric
criterion; the comment, seconds on the item, timestamps and flags. `repeat` is 1 for the
second showing of an item (sides swapped), and `repeat_of` then names the vote it repeats;
`item_kind` is pair or gold, and on gold items `gold_answer` is the right choice as shown
(A or B).
"""

from __future__ import annotations

import json
from pathlib import Path

from ftcore.files import spreadsheet_safe, write_csv, write_json
from ftcore.rating.material import GOLD, GOLD_BETTER
from ftcore.rating.rubrics import rubric_from_json
from ftcore.rating.sessions import get_session

VOTES_CSV = "votes.csv"
SESSION_JSON = "session.json"
LEADING_COLUMNS = (
    "vote_id",
    "session_id",
    "rater_id",
    "rater_name",
    "item_id",
    "item_kind",
    "split",
    "example_id",
    "repeat",
    "left_model",
    "right_model",
    "choice",
    "winner",
)
TRAILING_COLUMNS = (
    "comment",
    "seconds",
    "served_at",
    "created_at",
    "flags",
    "repeat_of",
    "gold_answer",
)


def vote_rows(database, session_id: str) -> list[dict]:
    """The session's votes in the order they were cast, with rater and item fields."""
    return database.query(
        "SELECT v.id AS vote_id, v.session_id, v.rater_id, r.name AS rater_name, v.item_id, "
        "i.kind AS item_kind, i.split, i.example_id, v.round AS repeat, v.left_model, "
        "v.right_model, v.choice, v.winner, v.scores_json, v.comment, v.seconds, v.served_at, "
        "v.created_at, v.flags, "
        "(SELECT f.id FROM rating_votes f WHERE v.round = 1 AND f.round = 0 "
        "AND f.rater_id = v.rater_id AND f.item_id = v.item_id) AS repeat_of, "
        "CASE WHEN i.kind = ? THEN CASE WHEN v.left_model = ? THEN 'A' ELSE 'B' END END "
        "AS gold_answer FROM rating_votes v "
        "JOIN rating_raters r ON r.id = v.rater_id JOIN rating_items i ON i.id = v.item_id "
        "WHERE v.session_id = ? ORDER BY v.created_at, v.rowid",
        [GOLD, GOLD_BETTER, session_id],
    )


def export_votes(database, session_id: str, out_dir: str | Path) -> Path:
    """Write votes.csv and session.json into `out_dir` (created); return votes.csv's path."""
    session = get_session(database, session_id)
    criteria = rubric_from_json(json.loads(session["rubric_json"])).criterion_ids
    score_columns = [f"{c}_{side}" for c in criteria for side in ("left", "right")]
    header = [*LEADING_COLUMNS, *score_columns, *TRAILING_COLUMNS]
    rows = []
    for vote in vote_rows(database, session_id):
        scores = json.loads(vote.pop("scores_json"))
        vote.update(
            {f"{c}_{side}": scores[side][c] for c in criteria for side in ("left", "right")}
        )
        rows.append([spreadsheet_safe(vote[column]) for column in header])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    record = {
        key: session[key]
        for key in ("id", "name", "created_at", "closes_at", "closed_at", "access", "rubric_id")
    }
    record.update(
        rubric_hash=session["rubric_hash"],
        rubric=json.loads(session["rubric_json"]),
        models=json.loads(session["models_json"]),
        source=json.loads(session["source_json"]),
        plan=json.loads(session["plan_json"]),
        votes=len(rows),
    )
    write_json(out / SESSION_JSON, record)
    return write_csv(out / VOTES_CSV, header, rows)
