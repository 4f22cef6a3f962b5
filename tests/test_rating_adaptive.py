"""Adaptive assignment: votes go to the least certain pair; off, coverage stays even."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter

import pytest
from test_rating_automatic_scores import vote_by
from test_rating_sessions import MODELS, FakeClock, new_session

from ftcore.cli import main
from ftcore.db import Database
from ftcore.rating import service
from ftcore.rating.assignment import widest_pairs
from ftcore.workspace import Workspace

ALPHA, BETA, GAMMA = MODELS
CLOSE_PAIR = (ALPHA, BETA)


@pytest.fixture
def seeded(monkeypatch):
    """Raters joining get seeds 1, 2, 3, … instead of random ones."""
    seeds = itertools.count(1)
    monkeypatch.setattr(service.secrets, "randbits", lambda bits: next(seeds))


def test_widest_pairs_by_hand():
    # Σ shrunk towards ¼ by 2 pseudo-votes: [1, 0] → (0.5 + 0.5) / 4 = 0.25, SE √(0.25/2)
    # = 0.354; [1, 1] → 0.5 / 4 = 0.125, SE √(0.125/2) = 0.25; no votes: unbounded.
    assert widest_pairs({("a", "b"): [1, 0], ("a", "c"): [1, 1]}) == [("a", "b")]
    assert widest_pairs({("a", "b"): [1, 0], ("b", "c"): []}) == [("b", "c")]
    tied = {("a", "b"): [1, 1], ("a", "c"): [0, 0], ("b", "c"): [1, 0]}
    assert widest_pairs(tied) == [("b", "c")]
    assert widest_pairs({("a", "b"): [1, 1], ("a", "c"): [0, 0]}) == [("a", "b"), ("a", "c")]
    assert math.isclose(math.sqrt(0.25 / 2), 0.3535533905932738)


def _close_race():
    """Raters split evenly on ALPHA vs BETA (alternating) and always prefer ALPHA,
    then BETA, over GAMMA: only the close pair stays uncertain."""
    turns = itertools.count()

    def decide(prompt, left, right):
        if {left, right} == set(CLOSE_PAIR):
            return CLOSE_PAIR[next(turns) % 2]
        return min(left, right)  # ALPHA beats GAMMA, BETA beats GAMMA

    return decide


def _votes_per_pair(database) -> Counter:
    rows = database.query("SELECT left_model, right_model FROM rating_votes")
    return Counter(tuple(sorted((r["left_model"], r["right_model"]))) for r in rows)


@pytest.mark.parametrize("adaptive", [True, False])
def test_adaptive_sends_votes_to_the_uncertain_pair(database, tmp_path, seeded, adaptive):
    # 8 examples × 3 pairs = 24 items, 8 per pair; 3 raters × 6 votes = 18 votes.
    info = new_session(database, tmp_path, examples=8, ratings_per_item=3, items_per_rater=6,
                       adaptive=adaptive)  # fmt: skip
    decide = _close_race()
    for name in ("r1", "r2", "r3"):
        assert vote_by(database, info.code, name, decide) == 6
    per_pair = _votes_per_pair(database)
    close = per_pair[CLOSE_PAIR]
    if adaptive:
        # More than its 8 items could get with even coverage (raters come back to it),
        # and over twice what each settled pair gets (10 against 4 and 4 here).
        others = per_pair[(ALPHA, GAMMA)], per_pair[(BETA, GAMMA)]
        assert close > 8 and close >= 2 * max(others) and close + sum(others) == 18, per_pair
    else:
        # Least covered first: 18 different items, so no pair gets more than its 8.
        votes_per_item = database.query("SELECT COUNT(*) AS n FROM rating_votes GROUP BY item_id")
        assert {row["n"] for row in votes_per_item} == {1} and len(votes_per_item) == 18
        assert close <= 8


def test_the_first_item_is_not_predictable(database, tmp_path, seeded):
    """With no votes every pair ties (unbounded interval): each rater's own generator
    breaks the tie, so raters start on different items."""
    info = new_session(database, tmp_path, examples=4, adaptive=True)
    clock = FakeClock()
    first = set()
    for name in range(8):
        token = service.join(database, info.code, f"r{name}", clock=clock)["rater_token"]
        first.add(service.next_item(database, token, clock=clock)["prompt"])
    assert len(first) > 1


def test_create_stores_the_adaptive_option(tmp_path, capsys):
    from test_rating_sessions import prediction_rows, write_jsonl

    path = write_jsonl(tmp_path / "p.jsonl", prediction_rows(2))
    home = str(tmp_path / "home")
    argv = ["rate", "create", "--predictions", str(path), "--name", "R", "--home", home]
    assert main([*argv, "--json"]) == 0
    assert main([*argv, "--json", "--adaptive"]) == 0
    database = Database.for_workspace(Workspace.open(home))
    plans = [json.loads(row["plan_json"]) for row in
             database.query("SELECT plan_json FROM rating_sessions ORDER BY rowid")]  # fmt: skip
    database.close()
    assert [plan["adaptive"] for plan in plans] == [False, True]


def test_adaptive_must_be_true_or_false(tmp_path):
    from ftcore.errors import ConfigError
    from ftcore.rating.plan import SessionPlan

    with pytest.raises(ConfigError, match="adaptive='yes' is not allowed: expected true or false"):
        SessionPlan(name="R", predictions="p.jsonl", adaptive="yes")
    assert SessionPlan(name="R", predictions="p.jsonl").adaptive is False
