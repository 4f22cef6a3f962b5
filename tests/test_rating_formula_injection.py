"""Every CSV of the report and the export: UTF-8 with a BOM, formulas neutralised, numbers kept.

Model names, rater names, prompts, responses and comments carry the cells spreadsheets
run (=cmd|…, +1+1, -2+3, @SUM(A1)) and a real negative number (-0.5). Read back, no cell
may start with = + - @ (or a tab / carriage return) unless it is a number, each formula
must be found with its apostrophe, and -0.5 must be found as it was.
"""

from __future__ import annotations

import csv
from pathlib import Path

from test_rating_sessions import FakeClock, scores, write_jsonl

from ftcore.db import Database
from ftcore.rating import service
from ftcore.rating.export import export_votes
from ftcore.rating.plan import SessionPlan
from ftcore.rating.report import write_report
from ftcore.rating.sessions import create_session

FORMULAS = ("=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)")
NEGATIVE = "-0.5"
MODELS = ("=cmd|' /C calc'!A0", "@SUM(A1)", NEGATIVE)
RATERS = ("+1+1", "-2+3", NEGATIVE)
BOM = b"\xef\xbb\xbf"


def csv_cells(path: Path) -> list[str]:
    """Every cell of a CSV written by ftcore, header included; asserts the BOM."""
    raw = path.read_bytes()
    assert raw.startswith(BOM), f"{path.name} has no UTF-8 BOM"
    with open(path, encoding="utf-8-sig", newline="") as file:
        return [cell for row in csv.reader(file) for cell in row]


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def assert_spreadsheet_safe(path: Path) -> list[str]:
    """No cell of `path` would run as a formula; its cells."""
    cells = csv_cells(path)
    for cell in cells:
        if cell and cell[0] in "=+-@\t\r":
            assert is_number(cell), f"{path.name}: {cell!r} would run as a formula"
    return cells


def _session(database, tmp_path):
    rows = [
        {"id": f"ex{i}", "prompt": FORMULAS[i], "model": model,
         "prediction": f"{FORMULAS[(i + m) % 4]} {m}", "reference": FORMULAS[(i + 1) % 4]}
        for i in range(4) for m, model in enumerate(MODELS)
    ]  # fmt: skip
    path = write_jsonl(tmp_path / "predictions.jsonl", rows)
    plan = SessionPlan(name="Round", predictions=str(path), min_seconds=0)
    clock = FakeClock()
    info = create_session(database, None, plan, clock=clock)
    for rater, choice in zip(RATERS, ("A", "B", "tie"), strict=True):
        token = service.join(database, info.code, rater, clock=clock)["rater_token"]
        while not (item := service.next_item(database, token, clock=clock)).get("done"):
            clock.advance(7)
            service.vote(database, token, item["item_token"], choice, scores(), "=1+1",
                         clock=clock)  # fmt: skip
    return info


def test_every_report_and_export_csv_neutralises_formulas(workspace, tmp_path):
    database = Database.for_workspace(workspace)
    info = _session(database, tmp_path)
    paths = write_report(database, info.session_id, tmp_path / "report", n_resamples=20)
    exported = export_votes(database, info.session_id, tmp_path / "export")
    database.close()
    files = {name: paths[name] for name in ("votes", "items", "models", "raters")}
    cells = {name: assert_spreadsheet_safe(path) for name, path in files.items()}
    cells["export"] = assert_spreadsheet_safe(exported)

    def found(name: str, text: str) -> bool:
        return text in cells[name]

    for name in ("votes", "export", "models"):
        for model in MODELS[:2]:
            assert found(name, "'" + model), (name, model)
        assert found(name, NEGATIVE), name  # a model called -0.5 is a number: kept
    for name in ("votes", "export", "raters"):
        for rater in RATERS[:2]:
            assert found(name, "'" + rater), (name, rater)
        assert found(name, NEGATIVE), name
    for prompt in FORMULAS:
        assert found("items", "'" + prompt), prompt
    assert found("votes", "'=1+1") and found("export", "'=1+1")  # the comment
    # Numbers stay numbers: the seconds of every vote, the ratings and the win rates.
    assert found("votes", "7.0") and found("export", "7.0")
    rating_cells = [c for c in cells["models"] if is_number(c)]
    assert rating_cells and all(not c.startswith("'") for c in rating_cells)
