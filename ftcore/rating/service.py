"""The rater API: join a session, get the next item, vote, and resume after a reload.

These four functions are everything a rater's browser, a script or a load test can do, and
every value they return may be sent to a rater: none holds a model name, a session id or
an item id, only opaque tokens (a rater token, the browser's key to its rater; an item
token, issued per serve and required by the vote). The Gradio rater app maps them 1:1 onto
its API (`rating_join`, `rating_next`, `rating_vote`). Each runs in one
`database.transaction()`, so a vote is committed before `vote` returns and two raters
asking at the same instant are served one after the other. Refusals raise RatingError
subclasses whose message says why; nothing is stored then.

`clock` is injectable so tests can let reservations expire.
"""

from __future__ import annotations

import json
import secrets

from ftcore.errors import (
    ConfigError,
    DuplicateVoteError,
    ItemReleasedError,
    SessionClosedError,
    SessionNotFoundError,
    UnknownTokenError,
)
from ftcore.rating.assignment import next_assignment, place_is_held, rater_plan
from ftcore.rating.clock import Clock, stamp, system_clock
from ftcore.rating.journal import journal_rater_joined, journal_vote
from ftcore.rating.rubrics import rubric_from_json
from ftcore.rating.sessions import session_closed
from ftcore.rating.votes import check_vote, record_vote

MAX_RATER_NAME = 80
RATER_TOKEN_BYTES = 24


def _session_payload(database, session: dict) -> dict:
    rubric = json.loads(session["rubric_json"])
    return {
        "title": session["name"],
        "instructions": rubric["instructions"],
        "criteria": rubric["criteria"],
        "items_total": rater_plan(database, session).total,
    }


def _progress(database, session: dict, rater_id: str) -> dict:
    done = database.query_value("SELECT COUNT(*) FROM rating_votes WHERE rater_id = ?", [rater_id])
    return {"done": done, "total": max(done, rater_plan(database, session).total)}


def _session_for_code(database, code: str) -> tuple[dict, bool]:
    """(session, whether `code` is a personal invite code)."""
    rows = database.query("SELECT * FROM rating_sessions WHERE open_code = ?", [code])
    if rows:
        return rows[0], False
    rows = database.query(
        "SELECT s.* FROM rating_invites v JOIN rating_sessions s ON s.id = v.session_id "
        "WHERE v.code = ?",
        [code],
    )
    if rows:
        return rows[0], True
    raise SessionNotFoundError(f"no rating session has the code {code!r}: check the link")


def _rater(database, rater_token: str) -> tuple[dict, dict]:
    rows = []
    if isinstance(rater_token, str):
        rows = database.query("SELECT * FROM rating_raters WHERE token = ?", [rater_token])
    if not rows:
        raise UnknownTokenError("unknown rater token: join the session again from its link")
    rater = rows[0]
    session = database.query("SELECT * FROM rating_sessions WHERE id = ?", [rater["session_id"]])
    return rater, session[0]


def _existing_rater(database, session_id: str, code: str, invite: bool, rater_token, identity):
    """The rater a join names: by personal code (one rater on any device), else by the
    token the browser holds, else by identity; None for a new rater."""
    keys = [("invite_code", code)] if invite else [("token", rater_token), ("identity", identity)]
    for column, value in keys:
        if value:
            rows = database.query(
                f"SELECT * FROM rating_raters WHERE session_id = ? AND {column} = ?",
                [session_id, value],
            )
            if rows:
                return rows[0]
    return None


def join(
    database,
    code: str,
    rater_name: str = "",
    *,
    rater_token: str | None = None,
    identity: str | None = None,
    clock: Clock = system_clock,
) -> dict:
    """Join with a session's open code or a personal invite code. The rater token a
    browser already holds (or the same `identity`, e.g. a Hugging Face user name) gets the
    same rater back; so does a personal code, which stands for one rater. Returns
    {"rater_token", "session": {title, instructions, criteria, items_total}}."""
    code = code.strip() if isinstance(code, str) else ""
    name = rater_name.strip() if isinstance(rater_name, str) else ""
    if len(name) > MAX_RATER_NAME:
        raise ConfigError("rater_name", name, f"a name of at most {MAX_RATER_NAME} characters")
    with database.transaction() as conn:
        session, invite = _session_for_code(database, code)
        rater = _existing_rater(database, session["id"], code, invite, rater_token, identity)
        joined = rater is None
        if joined:
            if session_closed(session, clock()):
                raise SessionClosedError("this rating session is closed: it takes no new raters")
            rater = {
                "id": secrets.token_hex(6),
                "session_id": session["id"],
                "token": secrets.token_urlsafe(RATER_TOKEN_BYTES),
                "name": name,
                "identity": identity or None,
                "invite_code": code if invite else None,
                "seed": secrets.randbits(62),
                "created_at": stamp(clock()),
            }
            conn["rating_raters"].insert(rater)
        payload = _session_payload(database, session)
    if joined:
        journal_rater_joined(database, rater["id"])
    return {"rater_token": rater["token"], "session": payload}


def session_view(database, rater_token: str) -> dict:
    """What a reloaded page needs: {"rater_token", "session" (as join), "progress"}."""
    rater, session = _rater(database, rater_token)
    return {
        "rater_token": rater["token"],
        "session": _session_payload(database, session),
        "progress": _progress(database, session, rater["id"]),
    }


def next_item(database, rater_token: str, *, clock: Clock = system_clock) -> dict:
    """{"item_token", "prompt", "response_a", "response_b", "progress"}, or {"done": True,
    "reason", "progress"} (reason: closed, finished, or items_full when every item left
    has its quota of raters). Asking again before voting returns the same item."""
    with database.transaction() as conn:
        rater, session = _rater(database, rater_token)
        now = clock()
        assignment = None
        if not session_closed(session, now):
            assignment = next_assignment(conn, database, session, rater, now)
        progress = _progress(database, session, rater["id"])
    if assignment is None:
        if session_closed(session, now):
            reason = "closed"
        else:
            reason = "finished" if progress["done"] >= progress["total"] else "items_full"
        return {"done": True, "reason": reason, "progress": progress}
    first, second = assignment["response_first"], assignment["response_second"]
    if not assignment["left_is_first"]:
        first, second = second, first
    return {
        "item_token": assignment["token"],
        "prompt": assignment["prompt"],
        "response_a": first,
        "response_b": second,
        "progress": progress,
    }


def _assignment(database, rater: dict, item_token: str) -> dict:
    rows = database.query(
        "SELECT a.*, i.kind, i.model_first, i.model_second FROM rating_assignments a "
        "JOIN rating_items i ON i.id = a.item_id WHERE a.token = ?",
        [item_token if isinstance(item_token, str) else ""],
    )
    if not rows or rows[0]["rater_id"] != rater["id"]:
        raise UnknownTokenError("this item was not served to this rater: ask for the next item")
    return rows[0]


def vote(
    database,
    rater_token: str,
    item_token: str,
    choice: str,
    scores: dict | str,
    comment: str = "",
    *,
    clock: Clock = system_clock,
) -> dict:
    """Store a vote on the item served with `item_token`: choice A (left), B (right), tie
    or both_bad, and scores {"A": {criterion: score}, "B": {…}} (or that as JSON text).
    Returns {"ok": True, "vote_id", "flags", "progress"} once the vote is committed."""
    with database.transaction() as conn:
        rater, session = _rater(database, rater_token)
        now = clock()
        if session_closed(session, now):
            raise SessionClosedError("this rating session is closed: it takes no more votes")
        assignment = _assignment(database, rater, item_token)
        if assignment["voted_at"] is not None:
            raise DuplicateVoteError("this item already has your vote")
        if not place_is_held(database, session, assignment, now):
            raise ItemReleasedError(
                "this item waited too long and went to another rater: ask for the next item"
            )
        rubric = rubric_from_json(json.loads(session["rubric_json"]))
        choice, scores, comment = check_vote(rubric, choice, scores, comment)
        vote_id, flags = record_vote(conn, session, assignment, choice, scores, comment, now)
        progress = _progress(database, session, rater["id"])
    journal_vote(database, vote_id)
    return {"ok": True, "vote_id": vote_id, "flags": flags, "progress": progress}
