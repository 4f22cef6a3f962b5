"""Assignment: own order, no repeats, quotas under concurrency, reservations, repeats, gold."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from test_rating_sessions import (
    MODELS,
    FakeClock,
    new_session,
    prediction_rows,
    rate_everything,
    scores,
    write_jsonl,
)

from ftcore.db import Database
from ftcore.errors import ItemReleasedError
from ftcore.rating import service
from ftcore.rating.assignment import REPEAT_GAP
from ftcore.rating.plan import SessionPlan
from ftcore.rating.sessions import create_session

RESERVATION = 10 * 60  # SessionPlan's default reservation, in seconds


def votes_per_item(db) -> Counter:
    rows = db.query(
        "SELECT i.id, COUNT(v.id) AS n FROM rating_items i "
        "LEFT JOIN rating_votes v ON v.item_id = i.id AND v.round = 0 GROUP BY i.id"
    )
    return Counter(row["n"] for row in rows)


def test_each_rater_gets_each_item_once_until_every_quota_is_full(database, tmp_path):
    info = new_session(database, tmp_path, examples=4, ratings_per_item=2)  # 12 items
    served = [rate_everything(database, info.code) for _ in range(3)]
    assert [len(s) for s in served] == [12, 12, 0]
    assert votes_per_item(database) == {2: 12}
    pairs = database.query("SELECT rater_id, item_id FROM rating_assignments")
    assert len(pairs) == len({(p["rater_id"], p["item_id"]) for p in pairs}) == 24
    clock = FakeClock()
    token = service.join(database, info.code, clock=clock)["rater_token"]
    done = service.next_item(database, token, clock=clock)
    assert done == {"done": True, "reason": "items_full", "progress": {"done": 0, "total": 12}}


def test_each_rater_sees_the_items_in_their_own_random_order(database, tmp_path):
    info = new_session(database, tmp_path, examples=10, models=MODELS[:2], ratings_per_item=8)
    for _ in range(8):
        rate_everything(database, info.code)
    rows = database.query("SELECT rater_id, item_id FROM rating_assignments ORDER BY id")
    orders: dict[str, list[int]] = {}
    for row in rows:
        orders.setdefault(row["rater_id"], []).append(row["item_id"])
    assert len(orders) == 8
    # Every rater got all ten items, each in an order of their own (a repeat of one order
    # among eight random permutations of ten has probability below 1e-5).
    assert all(sorted(order) == list(range(1, 11)) for order in orders.values())
    assert len({tuple(order) for order in orders.values()}) == 8
    # Nobody's order follows the file: the first item shown varies between raters.
    assert len({order[0] for order in orders.values()}) > 1


def test_least_covered_items_come_first_when_raters_stop_early(database, tmp_path):
    clock = FakeClock()
    info = new_session(database, tmp_path, examples=4, ratings_per_item=3, clock=clock)
    tokens = [service.join(database, info.code, clock=clock)["rater_token"] for _ in range(6)]
    for _ in range(3):  # six raters take turns, each rates three of the twelve items
        for token in tokens:
            item = service.next_item(database, token, clock=clock)
            service.vote(database, token, item["item_token"], "tie", scores(), clock=clock)
    # 18 votes over 12 items: evenly spread means every item has 1 or 2.
    assert votes_per_item(database) == {1: 6, 2: 6}


def _concurrently(count: int, work) -> list:
    """Run work(index) in `count` threads released at the same instant."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as error:  # reported below; a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_sixteen_raters_asking_at_once_never_overfill_a_quota(database, tmp_path):
    info = new_session(database, tmp_path, examples=1, ratings_per_item=2)  # 3 items, 6 places
    second = Database(database.path)  # another connection: another process's worth
    databases = [database, second]
    tokens = [service.join(database, info.code)["rater_token"] for _ in range(16)]
    results = _concurrently(16, lambda i: service.next_item(databases[i % 2], tokens[i]))
    second.close()
    assert sum("item_token" in result for result in results) == 6
    assert [r["reason"] for r in results if r.get("done")] == ["items_full"] * 10
    per_item = database.query(
        "SELECT item_id, COUNT(*) AS n FROM rating_assignments GROUP BY item_id"
    )
    assert sorted(row["n"] for row in per_item) == [2, 2, 2]


def test_sixteen_raters_voting_at_once_fill_each_quota_exactly(database, tmp_path):
    info = new_session(database, tmp_path, examples=3, ratings_per_item=3)  # 9 items
    second = Database(database.path)
    databases = [database, second]

    def rate(index: int) -> int:
        db = databases[index % 2]
        token = service.join(db, info.code, f"rater {index}")["rater_token"]
        voted = 0
        while "item_token" in (item := service.next_item(db, token)):
            service.vote(db, token, item["item_token"], "B", scores(4))
            voted += 1
        return voted

    counts = _concurrently(16, rate)
    second.close()
    assert sum(counts) == 27 and max(counts) <= 9
    assert votes_per_item(database) == {3: 9}
    duplicates = database.query(
        "SELECT rater_id, item_id FROM rating_votes GROUP BY rater_id, item_id HAVING COUNT(*) > 1"
    )
    assert duplicates == []


def test_a_reload_resumes_the_same_item_and_renews_its_reservation(database, tmp_path):
    clock = FakeClock()
    info = new_session(
        database, tmp_path, examples=1, models=MODELS[:2], ratings_per_item=1, clock=clock
    )
    ann = service.join(database, info.code, clock=clock)["rater_token"]
    bo = service.join(database, info.code, clock=clock)["rater_token"]
    first = service.next_item(database, ann, clock=clock)
    clock.advance(RESERVATION - 60)
    assert service.next_item(database, ann, clock=clock) == first  # a reload
    clock.advance(RESERVATION - 60)  # past the first reservation, within the renewed one
    assert service.next_item(database, bo, clock=clock)["reason"] == "items_full"


def test_an_expired_reservation_goes_to_another_rater(database, tmp_path):
    clock = FakeClock()
    info = new_session(
        database, tmp_path, examples=1, models=MODELS[:2], ratings_per_item=1, clock=clock
    )
    ann = service.join(database, info.code, clock=clock)["rater_token"]
    bo = service.join(database, info.code, clock=clock)["rater_token"]
    held = service.next_item(database, ann, clock=clock)
    assert service.next_item(database, bo, clock=clock)["reason"] == "items_full"
    clock.advance(RESERVATION + 1)
    given = service.next_item(database, bo, clock=clock)
    assert given["prompt"] == held["prompt"] and given["item_token"] != held["item_token"]
    with pytest.raises(ItemReleasedError):
        service.vote(database, ann, held["item_token"], "A", scores(), clock=clock)
    assert service.next_item(database, ann, clock=clock)["reason"] == "items_full"
    assert (
        database.query_value(
            "SELECT COUNT(*) FROM rating_assignments WHERE released_at IS NOT NULL"
        )
        == 1
    )
    service.vote(database, bo, given["item_token"], "A", scores(), clock=clock)
    assert votes_per_item(database) == {1: 1}


def test_an_expired_reservation_nobody_took_can_still_be_voted(database, tmp_path):
    clock = FakeClock()
    info = new_session(
        database, tmp_path, examples=1, models=MODELS[:2], ratings_per_item=1, clock=clock
    )
    ann = service.join(database, info.code, clock=clock)["rater_token"]
    item = service.next_item(database, ann, clock=clock)
    clock.advance(RESERVATION + 1)
    result = service.vote(database, ann, item["item_token"], "A", scores(), clock=clock)
    assert result["flags"] == ["late"]


def test_repeats_come_back_later_with_sides_swapped(database, tmp_path):
    info = new_session(database, tmp_path, examples=10, models=MODELS[:2], repeat_share=0.2)
    served = rate_everything(database, info.code)
    assert len(served) == 12 and served[-1]["progress"] == {"done": 11, "total": 12}
    prompts = [item["prompt"] for item in served]
    shown_twice = [p for p, n in Counter(prompts).items() if n == 2]
    assert shown_twice == prompts[:2]  # the first two items voted on
    for prompt in shown_twice:
        first, again = (i for i, p in enumerate(prompts) if p == prompt)
        assert again - first - 1 >= REPEAT_GAP
        assert (served[again]["response_a"], served[again]["response_b"]) == (
            served[first]["response_b"],
            served[first]["response_a"],
        )
    repeats = database.query("SELECT left_model, right_model FROM rating_votes WHERE round = 1")
    assert len(repeats) == 2


def test_gold_items_go_to_every_rater_outside_the_quota(database, tmp_path):
    gold = write_jsonl(
        tmp_path / "gold.jsonl",
        [{"id": f"g{i}", "prompt": f"金标准 {i}", "better": "好", "worse": "差"} for i in range(2)],
    )
    info = new_session(database, tmp_path, examples=1, ratings_per_item=1, gold=str(gold))
    first, second = rate_everything(database, info.code), rate_everything(database, info.code)
    assert len(first) == 5 and len(second) == 2
    assert {item["prompt"] for item in second} == {"金标准 0", "金标准 1"}


def test_items_per_rater_caps_the_pairs_a_rater_gets(database, tmp_path):
    clock = FakeClock()
    info = new_session(database, tmp_path, examples=2, items_per_rater=2, clock=clock)
    served = rate_everything(database, info.code, clock)
    assert len(served) == 2
    token = database.query_value("SELECT token FROM rating_raters")
    assert service.next_item(database, token, clock=clock) == {
        "done": True,
        "reason": "finished",
        "progress": {"done": 2, "total": 2},
    }


def test_sides_are_random_per_item_and_the_mapping_is_stored(database, tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", prediction_rows(40, models=MODELS[:2]))
    plan = SessionPlan(name="Sides", predictions=str(path), min_seconds=0)
    info = create_session(database, None, plan)
    served = rate_everything(database, info.code)
    stored = database.query(
        "SELECT a.token, a.left_is_first, i.response_first, i.response_second "
        "FROM rating_assignments a JOIN rating_items i ON i.id = a.item_id"
    )
    by_token = {row["token"]: row for row in stored}
    for item in served:
        row = by_token[item["item_token"]]
        expected = (row["response_first"], row["response_second"])
        if not row["left_is_first"]:
            expected = expected[::-1]
        assert (item["response_a"], item["response_b"]) == expected
    lefts = Counter(row["left_is_first"] for row in stored)
    assert 8 <= lefts[1] <= 32  # 40 fair coin flips: outside this, p < 1e-4
