"""Which item a rater sees next: own random order, quotas of distinct raters, reservations, repeats.

The rules, all decided inside the caller's `database.transaction()` (BEGIN IMMEDIATE, so
two raters asking at once, in one process or two, are served one after the other and an
item's quota can never be over-filled):

- A pair item is shown to `ratings_per_item` distinct raters. A serve reserves a place for
  `reservation_seconds`; a place counts as taken while it is voted or reserved. A rater who
  comes back (a reload) gets the same open item and its reservation renewed, if its place
  is still theirs; an expired reservation whose place someone else has taken since is
  released and the rater moves on.
- A rater never gets an item twice, except as a repeat. Among the items with a free
  place, the least covered come first (so coverage grows evenly when raters stop early),
  and among those the rater's own random generator picks: each rater sees the items in
  an order of their own.
- Gold items have no quota: every rater gets each of them once, spread at random among
  their pair items. `items_per_rater` (0: no cap) caps the pair items only.
- Repeats: the first `round(repeat_share × first showings)` items a rater voted on come
  back once each, sides swapped, after at least REPEAT_GAP other votes (or as soon as
  nothing else is left), so self-consistency can be measured.
- Sides are random per rater and item; `left_is_first` stores the mapping.
- Adaptive sessions (the plan's `adaptive`) replace "least covered first" with "widest
  interval first": among the pairs of models that still have a free item for this rater,
  the one whose win rate has the largest standard error now (`widest_pairs`), ties broken
  by the rater's generator; then, inside that pair, a least covered item at random. Quotas,
  gold items and repeats are unchanged. The rule is deterministic in the pair but not in
  the item, and a rater sees neither the models nor the counts, so the next item stays
  unpredictable to them. Why this rule and not Chatbot Arena's sampling ∝ √(Σ/n) −
  √(Σ/(n+1)): benchmarks/bench_adaptive_assignment.py, where it needed about a third
  fewer votes than uniform assignment for the same interval width, and the Arena rule
  about a tenth fewer.
"""

from __future__ import annotations

import json
import math
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ftcore.rating.clock import stamp
from ftcore.rating.material import GOLD, PAIR
from ftcore.stats.active_sampling import vote_variance

REPEAT_GAP = 5  # other votes between an item and its repeat: too few and it is remembered
TOKEN_BYTES = 16


@dataclass(frozen=True)
class RaterPlan:
    """How many showings one rater is planned to get (quotas may end it sooner)."""

    pairs: int
    gold: int
    repeats: int

    @property
    def total(self) -> int:
        return self.pairs + self.gold + self.repeats


def rater_plan(database, session: dict) -> RaterPlan:
    counts = dict.fromkeys((PAIR, GOLD), 0)
    for row in database.query(
        "SELECT kind, COUNT(*) AS n FROM rating_items WHERE session_id = ? GROUP BY kind",
        [session["id"]],
    ):
        counts[row["kind"]] = row["n"]
    pairs = min(session["items_per_rater"] or counts[PAIR], counts[PAIR])
    repeats = int(session["repeat_share"] * (pairs + counts[GOLD]) + 0.5)
    return RaterPlan(pairs, counts[GOLD], repeats)


def _taken(database, item_id: int, now: float, besides: int) -> int:
    """Places of an item's quota voted or under a live reservation, assignment `besides`
    not counted."""
    return database.query_value(
        "SELECT COUNT(*) FROM rating_assignments WHERE item_id = ? AND round = 0 AND id != ? "
        "AND (voted_at IS NOT NULL OR (released_at IS NULL AND expires_at > ?))",
        [item_id, besides, stamp(now)],
    )


def place_is_held(database, session: dict, assignment: dict, now: float) -> bool:
    """Whether an unvoted assignment may still be voted on: its reservation is live, or it
    ran out but nobody has taken the place since (repeats and gold items have no quota)."""
    if assignment["released_at"] is not None:
        return False
    if assignment["round"] == 1 or assignment["kind"] == GOLD:
        return True
    if stamp(now) < assignment["expires_at"]:
        return True
    quota = session["ratings_per_item"]
    return _taken(database, assignment["item_id"], now, assignment["id"]) < quota


ASSIGNMENT_SQL = (
    "SELECT a.*, i.kind, i.prompt, i.response_first, i.response_second, i.model_first, "
    "i.model_second FROM rating_assignments a JOIN rating_items i ON i.id = a.item_id"
)


def open_assignment(database, rater_id: str) -> dict | None:
    rows = database.query(
        f"{ASSIGNMENT_SQL} WHERE a.rater_id = ? AND a.voted_at IS NULL AND a.released_at IS NULL",
        [rater_id],
    )
    return rows[0] if rows else None


def next_assignment(conn, database, session: dict, rater: dict, now: float) -> dict | None:
    """The assignment to show `rater` now, with its item's texts: the open one resumed,
    a due repeat, or a fresh item; None when nothing is left for them. Call inside
    `database.transaction()`; `conn` is its connection."""
    until = stamp(now + session["reservation_seconds"])
    current = open_assignment(database, rater["id"])
    if current is not None:
        if place_is_held(database, session, current, now):
            conn.execute(
                "UPDATE rating_assignments SET expires_at = ? WHERE id = ?", [until, current["id"]]
            )
            return {**current, "expires_at": until}
        conn.execute(
            "UPDATE rating_assignments SET released_at = ? WHERE id = ?",
            [stamp(now), current["id"]],
        )
    history = database.query(
        "SELECT a.item_id, a.round, a.left_is_first, a.voted_at, i.kind "
        "FROM rating_assignments a JOIN rating_items i ON i.id = a.item_id "
        "WHERE a.rater_id = ? ORDER BY a.voted_at IS NULL, a.voted_at, a.id",
        [rater["id"]],
    )
    plan = rater_plan(database, session)
    pending, due = _repeats(history, plan)
    repeat = due[0] if due else None
    if repeat is None:
        item_id = _fresh_item(database, session, rater, history, plan, now)
        if item_id is not None:
            left_is_first = int(random.Random(f"{rater['seed']}:side:{item_id}").random() < 0.5)
            return _serve(conn, database, rater, item_id, 0, left_is_first, now, until)
        repeat = pending[0] if pending else None  # nothing new left: no need to wait
    if repeat is None:
        return None
    swapped = 1 - repeat["left_is_first"]
    return _serve(conn, database, rater, repeat["item_id"], 1, swapped, now, until)


def _repeats(history: list[dict], plan: RaterPlan) -> tuple[list[dict], list[dict]]:
    """(repeats not yet shown, those of them already REPEAT_GAP votes old)."""
    voted = [row for row in history if row["voted_at"] is not None]
    repeated = {row["item_id"] for row in history if row["round"] == 1}
    firsts = [row for row in voted if row["round"] == 0][: plan.repeats]
    pending = [row for row in firsts if row["item_id"] not in repeated]
    position = {row["item_id"]: index for index, row in enumerate(voted) if row["round"] == 0}
    due = [row for row in pending if len(voted) - 1 - position[row["item_id"]] >= REPEAT_GAP]
    return pending, due


def _fresh_item(database, session: dict, rater: dict, history, plan: RaterPlan, now: float):
    """A pair item with a free place or an unseen gold item, or None."""
    seen = {row["item_id"] for row in history}
    pairs_voted = sum(
        row["round"] == 0 and row["kind"] == PAIR and row["voted_at"] is not None for row in history
    )
    taken = {
        row["item_id"]: row["n"]
        for row in database.query(
            "SELECT item_id, COUNT(*) AS n FROM rating_assignments WHERE session_id = ? "
            "AND round = 0 AND (voted_at IS NOT NULL OR (released_at IS NULL AND expires_at > ?)) "
            "GROUP BY item_id",
            [session["id"], stamp(now)],
        )
    }
    items = database.query(
        "SELECT id, kind, model_first, model_second FROM rating_items WHERE session_id = ?",
        [session["id"]],
    )
    gold = [item["id"] for item in items if item["kind"] == GOLD and item["id"] not in seen]
    quota = session["ratings_per_item"]
    free = [
        item["id"]
        for item in items
        if item["kind"] == PAIR and item["id"] not in seen and taken.get(item["id"], 0) < quota
    ]
    pairs_left = min(plan.pairs - pairs_voted, len(free))
    if not gold and pairs_left <= 0:
        return None
    # The rater's own generator: seeded by their seed and how far they are, so each rater's
    # order is independent of everyone else's and a retried request draws the same item.
    draw = random.Random(f"{rater['seed']}:{len(history)}")
    # Gold items spread at random among the pairs: gold is drawn with its share of what is
    # left for this rater.
    if draw.random() * (len(gold) + max(pairs_left, 0)) < len(gold):
        return draw.choice(gold)
    if is_adaptive(session):
        pair_of = {item["id"]: _pair(item) for item in items if item["id"] in set(free)}
        scores = pair_scores(database, session["id"], sorted(set(pair_of.values())))
        pair = draw.choice(widest_pairs(scores))
        free = [item_id for item_id in free if pair_of[item_id] == pair]
    least = min(taken.get(item_id, 0) for item_id in free)
    return draw.choice([item_id for item_id in free if taken.get(item_id, 0) == least])


def is_adaptive(session: dict) -> bool:
    """Whether the session's plan asks for adaptive assignment (older plans: no)."""
    return bool(json.loads(session.get("plan_json") or "{}").get("adaptive", False))


def _pair(item: dict) -> tuple[str, str]:
    return tuple(sorted((item["model_first"], item["model_second"])))  # type: ignore[return-value]


def pair_scores(database, session_id: str, pairs) -> dict[tuple[str, str], list[float]]:
    """Each of `pairs` (name-ordered) → the vote scores of its first model so far (1 win,
    ½ tie or both bad, 0 loss), first showings of pair items only, as the report counts."""
    scores: dict[tuple[str, str], list[float]] = {pair: [] for pair in pairs}
    for vote in database.query(
        "SELECT v.left_model, v.right_model, v.winner FROM rating_votes v "
        "JOIN rating_items i ON i.id = v.item_id "
        "WHERE v.session_id = ? AND v.round = 0 AND i.kind = ?",
        [session_id, PAIR],
    ):
        pair = tuple(sorted((vote["left_model"], vote["right_model"])))
        if pair in scores:
            won = vote["winner"]
            scores[pair].append(0.5 if won not in pair else float(won == pair[0]))
    return scores


def widest_pairs(scores: Mapping[tuple[str, str], Sequence[float]]) -> list[tuple[str, str]]:
    """The pairs whose win rate has the largest standard error √(Σ/n) now, Σ the variance
    of one vote shrunk towards ¼ (stats.active_sampling.vote_variance); a pair without
    votes has an unbounded one. Several when they tie; in `scores`' order."""
    errors = {
        pair: math.sqrt(vote_variance(given) / len(given)) if given else math.inf
        for pair, given in scores.items()
    }
    widest = max(errors.values())
    return [pair for pair, error in errors.items() if error == widest]


def _serve(conn, database, rater, item_id, round_, left_is_first, now, until) -> dict:
    conn["rating_assignments"].insert(
        {
            "session_id": rater["session_id"],
            "item_id": item_id,
            "rater_id": rater["id"],
            "round": round_,
            "left_is_first": left_is_first,
            "token": secrets.token_urlsafe(TOKEN_BYTES),
            "served_at": stamp(now),
            "expires_at": until,
            "voted_at": None,
            "released_at": None,
        }
    )
    return open_assignment(database, rater["id"])
