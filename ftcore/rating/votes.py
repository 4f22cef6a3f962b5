"""A rater's vote: checked against the rubric, then stored with everything needed to undo the sides.

What the rater sent is in the rater's terms (A = left, B = right); what is stored is also
in the models' terms (left_model, right_model, winner), so analysis never has to know how
sides were drawn. A vote is checked completely before anything is written; a bad one
raises InvalidVoteError naming the field. The vote id is a uuid, so replaying a journal of
votes into a restored database can skip the ones already there.

Flags (stored, never a refusal): too_fast (sooner than the session's min_seconds after the
item was shown), late (after the reservation ran out, while the place was still free),
gold_miss (a gold item where the known better side was not chosen).
"""

from __future__ import annotations

import json
import sqlite3
import uuid

from ftcore.errors import DuplicateVoteError, InvalidVoteError, did_you_mean
from ftcore.rating.clock import stamp, stamp_seconds
from ftcore.rating.material import GOLD, GOLD_BETTER
from ftcore.rating.rubrics import Rubric

CHOICES = ("A", "B", "tie", "both_bad")
SIDES = ("A", "B")
MAX_COMMENT = 2000


def _invalid(field: str, value: object, expected: str) -> InvalidVoteError:
    shown = repr(value) if len(repr(value)) < 80 else repr(value)[:77] + "…"
    return InvalidVoteError(f"{field}={shown} is not allowed: expected {expected}")


def _score(value: object, field: str, points: range) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a slider may send 4.0
    if isinstance(value, bool) or not isinstance(value, int) or value not in points:
        raise _invalid(field, value, f"an integer from {points.start} to {points.stop - 1}")
    return value


def check_scores(rubric: Rubric, scores: dict | str) -> dict[str, dict[str, int]]:
    """{"A": {criterion: score}, "B": {…}} with every criterion of the rubric on its scale;
    `scores` may also be that object as JSON text (the API's scores_json)."""
    if isinstance(scores, str):
        try:
            scores = json.loads(scores)
        except json.JSONDecodeError as error:
            raise _invalid("scores", scores, f"JSON ({error.msg})") from None
    if not isinstance(scores, dict) or set(scores) != set(SIDES):
        raise _invalid("scores", scores, 'an object with keys "A" and "B"')
    checked: dict[str, dict[str, int]] = {}
    for side in SIDES:
        given = scores[side]
        if not isinstance(given, dict):
            raise _invalid(f"scores.{side}", given, "an object of criterion: score")
        for name in given:
            if name not in rubric.criterion_ids:
                hint = did_you_mean(str(name), rubric.criterion_ids)
                raise _invalid(
                    f"scores.{side}.{name}", given[name], f"a criterion of the rubric.{hint}"
                )
        checked[side] = {}
        for criterion in rubric.criteria:
            field = f"scores.{side}.{criterion.id}"
            if criterion.id not in given:
                raise InvalidVoteError(f"{field} is missing: every criterion needs a score")
            checked[side][criterion.id] = _score(given[criterion.id], field, criterion.points)
    return checked


def check_vote(rubric: Rubric, choice: object, scores: dict | str, comment: object) -> tuple:
    """(choice, scores, comment) checked; InvalidVoteError names the first bad field."""
    if choice not in CHOICES:
        hint = did_you_mean(str(choice), CHOICES)
        raise _invalid("choice", choice, f"one of {', '.join(CHOICES)}.{hint}")
    comment = "" if comment is None else comment
    if not isinstance(comment, str):
        raise _invalid("comment", comment, "text")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidVoteError(f"comment has {len(comment)} characters: at most {MAX_COMMENT}")
    return choice, check_scores(rubric, scores), comment


def vote_flags(
    seconds: float, min_seconds: float, late: bool, item_kind: str, winner: str
) -> list[str]:
    flags = []
    if seconds < min_seconds:
        flags.append("too_fast")
    if late:
        flags.append("late")
    if item_kind == GOLD and winner != GOLD_BETTER:
        flags.append("gold_miss")
    return flags


def record_vote(
    conn, session: dict, assignment: dict, choice: str, scores: dict, comment: str, now: float
) -> tuple[str, list[str]]:
    """Store a checked vote on an open assignment (inside the caller's transaction) and
    close the assignment; return (vote id, flags)."""
    if assignment["left_is_first"]:
        left, right = assignment["model_first"], assignment["model_second"]
    else:
        left, right = assignment["model_second"], assignment["model_first"]
    winner = {"A": left, "B": right}.get(choice, choice)
    seconds = max(0.0, now - stamp_seconds(assignment["served_at"]))
    late = stamp(now) >= assignment["expires_at"]
    flags = vote_flags(seconds, session["min_seconds"], late, assignment["kind"], winner)
    vote_id = str(uuid.uuid4())
    try:
        conn["rating_votes"].insert(
            {
                "id": vote_id,
                "session_id": session["id"],
                "item_id": assignment["item_id"],
                "rater_id": assignment["rater_id"],
                "assignment_id": assignment["id"],
                "round": assignment["round"],
                "left_is_first": assignment["left_is_first"],
                "left_model": left,
                "right_model": right,
                "choice": choice,
                "winner": winner,
                "scores_json": json.dumps({"left": scores["A"], "right": scores["B"]}),
                "comment": comment,
                "seconds": round(seconds, 3),
                "served_at": assignment["served_at"],
                "created_at": stamp(now),
                "flags": ",".join(flags),
            }
        )
    except sqlite3.IntegrityError as error:  # the UNIQUE constraints: the last line of defence
        raise DuplicateVoteError(f"this rater has already voted on this item ({error})") from None
    conn.execute(
        "UPDATE rating_assignments SET voted_at = ? WHERE id = ?", [stamp(now), assignment["id"]]
    )
    return vote_id, flags
