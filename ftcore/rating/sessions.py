"""Rating sessions for their admins: create one from a plan, list them, watch, close, invite.

A session holds copies of everything it needs: the rubric (content and hash), the texts of
its items (see ftcore.rating.material) and the plan. Raters join with the session's open
code or with a personal invite code; both go into the rater link `?session=CODE`. Session
ids are for admins (CLI, admin UI) and are never needed by a rater. Everything here may
show model names: none of it is ever sent to a rater (that is ftcore.rating.service).
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import asdict, dataclass, field

from ftcore.errors import ConfigError, SessionClosedError, SessionNotFoundError, did_you_mean
from ftcore.rating.clock import Clock, stamp, system_clock
from ftcore.rating.journal import (
    journal_invites_added,
    journal_session_closed,
    journal_session_created,
)
from ftcore.rating.material import gold_items, session_material
from ftcore.rating.plan import SessionPlan, closing_time
from ftcore.rating.rubrics import load_rubric
from ftcore.workspace import Workspace

CODE_BYTES = 8  # 11 URL-safe characters: not guessable, short enough to read out
MAX_INVITES_PER_CALL = 10_000


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def rater_link(code: str) -> str:
    """The query string that opens the rater page on `code` (codes are URL-safe)."""
    return f"?session={code}"


@dataclass(frozen=True)
class SessionInfo:
    """What an admin needs to hand a session out."""

    session_id: str
    name: str
    access: str
    code: str | None  # the open code; None for an invite-only session
    link: str | None  # rater_link(code)
    invite_codes: list[str] = field(default_factory=list)
    invite_links: list[str] = field(default_factory=list)
    items: int = 0
    models: list[str] = field(default_factory=list)
    rubric_id: str = ""
    rubric_hash: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def session_closed(session: dict, now: float) -> bool:
    """Closed by hand, or past its closing time."""
    return session["closed_at"] is not None or (
        session["closes_at"] is not None and stamp(now) >= session["closes_at"]
    )


def get_session(database, session_id: str) -> dict:
    """The session's row; SessionNotFoundError (with a did-you-mean) when there is none."""
    rows = database.query("SELECT * FROM rating_sessions WHERE id = ?", [session_id])
    if not rows:
        known = [row["id"] for row in database.query("SELECT id FROM rating_sessions")]
        raise SessionNotFoundError(
            f"no rating session {session_id!r}.{did_you_mean(session_id, known)}"
        )
    return rows[0]


def _check_blind_name(name: str, models: list[str]) -> None:
    named = [model for model in models if model.casefold() in name.casefold()]
    if named:
        raise ConfigError(
            "name", name, f"a title that names no model: raters see it, and it names {named[0]!r}"
        )


def create_session(
    database, workspace: Workspace | None, plan: SessionPlan, *, clock: Clock = system_clock
) -> SessionInfo:
    """Check the plan, copy the rubric and the texts into a new session, and return how to
    hand it out. Nothing is stored when any file or setting is refused."""
    rubric = load_rubric(plan.rubric, workspace.root if workspace else None)
    material = session_material(plan.eval_dir, plan.predictions, plan.split, plan.models)
    items = material.items + (gold_items(plan.gold) if plan.gold else [])
    _check_blind_name(plan.name, material.models)
    now = clock()
    closes_at = None
    if plan.closes_at:
        closes_at = closing_time(plan.closes_at)
        if closes_at <= now:
            raise ConfigError("closes_at", plan.closes_at, "a time in the future")
    session_id = secrets.token_hex(6)
    invites = [new_code() for _ in range(plan.invites)]
    with database.transaction() as conn:
        conn["rating_sessions"].insert(
            {
                "id": session_id,
                "name": plan.name.strip(),
                "created_at": stamp(now),
                "closes_at": stamp(closes_at) if closes_at is not None else None,
                "closed_at": None,
                "access": plan.access,
                "open_code": new_code() if plan.access == "open" else None,
                "rubric_id": rubric.id,
                "rubric_hash": rubric.content_hash,
                "rubric_json": json.dumps(rubric.to_json(), ensure_ascii=False),
                "rubric_yaml": rubric.text,
                "models_json": json.dumps(material.models, ensure_ascii=False),
                "source_json": json.dumps(
                    {**material.source, "gold": plan.gold or None}, ensure_ascii=False
                ),
                "plan_json": json.dumps(plan.to_json(), ensure_ascii=False),
                "ratings_per_item": plan.ratings_per_item,
                "items_per_rater": plan.items_per_rater,
                "repeat_share": plan.repeat_share,
                "min_seconds": plan.min_seconds,
                "reservation_seconds": plan.reservation_seconds,
            }
        )
        conn["rating_items"].insert_all(
            {"session_id": session_id, **asdict(item)} for item in items
        )
        conn["rating_invites"].insert_all(
            {"code": code, "session_id": session_id, "created_at": stamp(now)} for code in invites
        )
    journal_session_created(database, session_id)
    return session_info(database, session_id)


def session_info(database, session_id: str) -> SessionInfo:
    session = get_session(database, session_id)
    codes = [
        row["code"]
        for row in database.query(
            "SELECT code FROM rating_invites WHERE session_id = ? ORDER BY created_at, rowid",
            [session_id],
        )
    ]
    items = database.query_value(
        "SELECT COUNT(*) FROM rating_items WHERE session_id = ?", [session_id]
    )
    code = session["open_code"]
    return SessionInfo(
        session_id=session_id,
        name=session["name"],
        access=session["access"],
        code=code,
        link=rater_link(code) if code else None,
        invite_codes=codes,
        invite_links=[rater_link(c) for c in codes],
        items=items,
        models=json.loads(session["models_json"]),
        rubric_id=session["rubric_id"],
        rubric_hash=session["rubric_hash"],
    )


SUMMARY_SQL = (
    "SELECT s.id, s.name, s.created_at, s.closes_at, s.closed_at, s.access, s.rubric_id, "
    "s.models_json, s.ratings_per_item, "
    "(SELECT COUNT(*) FROM rating_items i WHERE i.session_id = s.id) AS items, "
    "(SELECT COUNT(*) FROM rating_votes v WHERE v.session_id = s.id) AS votes, "
    "(SELECT COUNT(*) FROM rating_raters r WHERE r.session_id = s.id) AS raters "
    "FROM rating_sessions s"
)


def _summary(row: dict, now: float) -> dict:
    row["state"] = "closed" if session_closed(row, now) else "open"
    row["models"] = json.loads(row.pop("models_json"))
    return row


def list_sessions(database, *, clock: Clock = system_clock) -> list[dict]:
    """Every session, newest first: id, name, state, models, counts of items, votes, raters."""
    rows = database.query(f"{SUMMARY_SQL} ORDER BY s.created_at DESC, s.id")
    now = clock()
    return [_summary(row, now) for row in rows]


def session_status(database, session_id: str, *, clock: Clock = system_clock) -> dict:
    """Votes, raters, flags and per-item coverage (votes and live reservations per item)."""
    get_session(database, session_id)
    now = clock()
    status = _summary(database.query(f"{SUMMARY_SQL} WHERE s.id = ?", [session_id])[0], now)
    items = database.query(
        "SELECT i.id AS item_id, i.kind, i.split, i.example_id, i.model_first, i.model_second, "
        "COALESCE(SUM(a.round = 0 AND a.voted_at IS NOT NULL), 0) AS votes, "
        "COALESCE(SUM(a.round = 1 AND a.voted_at IS NOT NULL), 0) AS repeat_votes, "
        "COALESCE(SUM(a.voted_at IS NULL AND a.released_at IS NULL AND a.expires_at > ?), 0) "
        "AS reserved "
        "FROM rating_items i LEFT JOIN rating_assignments a ON a.item_id = i.id "
        "WHERE i.session_id = ? GROUP BY i.id ORDER BY i.id",
        [stamp(now), session_id],
    )
    flags = Counter(
        flag
        for row in database.query(
            "SELECT flags FROM rating_votes WHERE session_id = ? AND flags != ''", [session_id]
        )
        for flag in row["flags"].split(",")
    )
    pairs = [item for item in items if item["kind"] == "pair"]
    quota = status["ratings_per_item"]
    status.update(
        raters_voted=database.query_value(
            "SELECT COUNT(DISTINCT rater_id) FROM rating_votes WHERE session_id = ?", [session_id]
        ),
        flags=dict(sorted(flags.items())),
        coverage={
            "pair_items": len(pairs),
            "complete": sum(item["votes"] >= quota for item in pairs),
            "votes_per_item": dict(sorted(Counter(item["votes"] for item in pairs).items())),
        },
        per_item=items,
    )
    return status


def close_session(database, session_id: str, *, clock: Clock = system_clock) -> dict:
    """Stop accepting votes (already closed: nothing changes); return the summary."""
    session = get_session(database, session_id)
    if session["closed_at"] is None:
        with database.transaction() as conn:
            conn.execute(
                "UPDATE rating_sessions SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
                [stamp(clock()), session_id],
            )
        journal_session_closed(database, session_id)
    now = clock()
    return _summary(database.query(f"{SUMMARY_SQL} WHERE s.id = ?", [session_id])[0], now)


def add_invites(database, session_id: str, n: int, *, clock: Clock = system_clock) -> list[str]:
    """`n` new personal invite codes for a session that is still open."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_INVITES_PER_CALL:
        raise ConfigError("n", n, f"an integer from 1 to {MAX_INVITES_PER_CALL}")
    now = clock()
    if session_closed(get_session(database, session_id), now):
        raise SessionClosedError(f"rating session {session_id} is closed: invites would be useless")
    codes = [new_code() for _ in range(n)]
    with database.transaction() as conn:
        conn["rating_invites"].insert_all(
            {"code": code, "session_id": session_id, "created_at": stamp(now)} for code in codes
        )
    journal_invites_added(database, codes)
    return codes
