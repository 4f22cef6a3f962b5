"""votes.csv: one row per vote, winner in model names, UTF-8 with BOM, formula-safe cells."""

from __future__ import annotations

import csv
import json

import pytest
from test_rating_sessions import (
    MODELS,
    FakeClock,
    new_session,
    rate_everything,
    scores,
    write_jsonl,
)

from ftcore.db import Database
from ftcore.files import spreadsheet_safe
from ftcore.rating import service
from ftcore.rating.export import export_votes


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-3", "-3"),
        ("+1.5", "+1.5"),
        ("-1e3", "-1e3"),
        ("好=1", "好=1"),
        ("", ""),
        (5, 5),
        (-2.5, -2.5),
        (None, None),
    ],
)
def test_spreadsheet_safe_quotes_formulas_only(cell, shown):
    assert spreadsheet_safe(cell) == shown


CRITERIA = ("completeness", "fluency", "style_fit", "sincerity")
HEADER = [
    "vote_id", "session_id", "rater_id", "rater_name", "item_id", "item_kind", "split",
    "example_id", "repeat", "left_model", "right_model", "choice", "winner",
    *[f"{c}_{side}" for c in CRITERIA for side in ("left", "right")],
    "comment", "seconds", "served_at", "created_at", "flags", "repeat_of", "gold_answer",
]  # fmt: skip


def test_votes_csv_holds_every_vote_with_the_winner_as_a_model(workspace, tmp_path):
    database = Database.for_workspace(workspace)
    clock = FakeClock()
    info = new_session(
        database, tmp_path, examples=3, models=MODELS[:2], min_seconds=5, clock=clock
    )
    token = service.join(database, info.code, "=evil()", clock=clock)["rater_token"]
    plan = [("A", '=HYPERLINK("http://x")', 2), ("B", "-1", 10), ("both_bad", "好，但 +1", 30)]
    expected = []
    for choice, comment, wait in plan:
        item = service.next_item(database, token, clock=clock)
        clock.advance(wait)
        given = scores(2, A_fluency=5, B_style_fit=1)
        result = service.vote(
            database, token, item["item_token"], choice, given, comment, clock=clock
        )
        # Each text ends in "（MODEL）": the model shown on each side is read off the page.
        (left,) = [m for m in MODELS[:2] if m in item["response_a"]]
        (right,) = [m for m in MODELS[:2] if m in item["response_b"]]
        expected.append((result["vote_id"], left, right, choice, wait))
    path = export_votes(database, info.session_id, tmp_path / "export")
    database.close()

    assert path == tmp_path / "export" / "votes.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(path, encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        assert next(reader) == HEADER
        rows = [dict(zip(HEADER, row, strict=True)) for row in reader]
    assert len(rows) == 3
    for row, (vote_id, left, right, choice, wait) in zip(rows, expected, strict=True):
        winner = {"A": left, "B": right}.get(choice, choice)
        assert (row["vote_id"], row["session_id"]) == (vote_id, info.session_id)
        assert (row["left_model"], row["right_model"], row["choice"]) == (left, right, choice)
        assert row["winner"] == winner
        assert (row["fluency_left"], row["fluency_right"]) == ("5", "2")
        assert (row["style_fit_left"], row["style_fit_right"]) == ("2", "1")
        assert (row["item_kind"], row["repeat"], row["rater_name"]) == ("pair", "0", "'=evil()")
        assert float(row["seconds"]) == wait
        assert row["flags"] == ("too_fast" if wait < 5 else "")
    assert [row["comment"] for row in rows] == ['\'=HYPERLINK("http://x")', "-1", "好，但 +1"]

    record = json.loads((tmp_path / "export" / "session.json").read_text("utf-8"))
    assert record["rubric_hash"] == info.rubric_hash and record["votes"] == 3
    assert record["models"] == list(MODELS[:2]) and record["plan"]["min_seconds"] == 5


def test_a_session_without_votes_exports_the_header_only(workspace, tmp_path):
    database = Database.for_workspace(workspace)
    info = new_session(database, tmp_path)
    path = export_votes(database, info.session_id, tmp_path / "out")
    database.close()
    assert path.read_text("utf-8-sig").splitlines() == [",".join(HEADER)]


def test_repeats_name_the_vote_they_repeat_and_gold_rows_their_answer(workspace, tmp_path):
    database = Database.for_workspace(workspace)
    gold = write_jsonl(
        tmp_path / "gold.jsonl", [{"id": "g", "prompt": "金", "better": "好", "worse": "差"}]
    )
    info = new_session(database, tmp_path, examples=2, gold=str(gold), repeat_share=0.5)
    served = rate_everything(database, info.code)  # votes A on everything
    path = export_votes(database, info.session_id, tmp_path / "out")
    database.close()
    with open(path, encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == len(served) == 7 + 4  # 6 pairs and 1 gold, half of them again
    firsts = {(r["rater_id"], r["item_id"]): r["vote_id"] for r in rows if r["repeat"] == "0"}
    for row in rows:
        expected = firsts[row["rater_id"], row["item_id"]] if row["repeat"] == "1" else ""
        assert row["repeat_of"] == expected
    gold_rows = [
        (row, item) for row, item in zip(rows, served, strict=True) if item["prompt"] == "金"
    ]
    assert gold_rows
    for row, item in gold_rows:  # the right answer is where the rater saw "好"
        assert row["gold_answer"] == ("A" if item["response_a"] == "好" else "B")
        assert (row["flags"] == "gold_miss") == (row["gold_answer"] != "A")
    assert {row["gold_answer"] for row in rows if row["item_kind"] == "pair"} == {""}
