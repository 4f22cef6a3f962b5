"""report.json and the report CSVs: counts by hand, exclusions counted, BOM on every CSV."""

from __future__ import annotations

import json

import pytest
from test_rating_sessions import MODELS, FakeClock, new_session, scores

from ftcore.cli import main
from ftcore.db import Database
from ftcore.rating import service
from ftcore.rating.report import build_report, write_report


def _vote_as(database, info, clock, name, wanted, wait=10):
    """Join as `name` and vote on every item served: `wanted` maps the winning model (or
    tie / both_bad) to cast, read off the page as the side showing that model."""
    token = service.join(database, info.code, name, clock=clock)["rater_token"]
    while not (item := service.next_item(database, token, clock=clock)).get("done"):
        clock.advance(wait)
        choice = wanted
        if wanted in MODELS:
            choice = "A" if wanted in item["response_a"] else "B"
        service.vote(database, token, item["item_token"], choice, scores(), clock=clock)


@pytest.fixture
def session(workspace, tmp_path):
    """3 examples × 2 models; rater r1 prefers ALPHA on all, r2 ties all, r3 prefers BETA
    on all but is too fast (2 s under the 5 s minimum)."""
    database = Database.for_workspace(workspace)
    clock = FakeClock()
    info = new_session(
        database, tmp_path, examples=3, models=MODELS[:2], min_seconds=5,
        ratings_per_item=3, clock=clock,
    )  # fmt: skip
    _vote_as(database, info, clock, "r1", MODELS[0])
    _vote_as(database, info, clock, "r2", "tie")
    _vote_as(database, info, clock, "r3", MODELS[1], wait=2)
    yield database, info
    database.close()


def _pair(report):
    (pair,) = report["pairs"]
    return pair


def test_win_counts_and_rates_by_hand(session):
    database, info = session
    report = build_report(database, info.session_id, n_resamples=50)
    assert (report["n_votes"], report["n_raters"]) == (9, 3)
    pair = _pair(report)
    alpha_is_a = pair["model_a"] == MODELS[0]
    wins_alpha = pair["wins_a"] if alpha_is_a else pair["wins_b"]
    wins_beta = pair["wins_b"] if alpha_is_a else pair["wins_a"]
    assert (wins_alpha, wins_beta, pair["ties"], pair["both_bad"]) == (3, 3, 3, 0)
    assert pair["win_rate_a"] == pytest.approx((3 + 1.5) / 9)
    assert pair["win_rate_a_no_ties"] == pytest.approx(3 / 6)
    assert report["position_bias"]["n"] == 6
    assert set(report["models"]) == set(MODELS[:2])


def test_excluding_flagged_votes_or_a_rater_changes_counts_and_says_so(session):
    database, info = session
    flagged = build_report(database, info.session_id, n_resamples=50, exclude_flagged=True)
    assert (flagged["n_votes"], flagged["n_raters"]) == (6, 2)
    assert flagged["excluded"]["flag"] == 3
    pair = _pair(flagged)
    assert pair["model_a"] == MODELS[0]  # ALPHA now rates higher, so it is model_a
    assert (pair["wins_a"], pair["wins_b"], pair["ties"]) == (3, 0, 3)
    assert pair["win_rate_a"] == pytest.approx(4.5 / 6)
    assert pair["win_rate_a_no_ties"] == 1.0

    dropped = build_report(database, info.session_id, n_resamples=50, exclude_raters=["x"])
    assert dropped["excluded"]["rater"] == 0  # an unknown rater id drops nothing
    rater = next(r["rater_id"] for r in dropped["raters"] if r["too_fast"] == 3)
    without = build_report(database, info.session_id, n_resamples=50, exclude_raters=[rater])
    assert (without["n_votes"], without["excluded"]["rater"]) == (6, 3)
    assert [r["excluded"] for r in without["raters"]].count(True) == 1


def test_report_files_have_a_bom_and_json_has_no_infinity(session, tmp_path):
    database, info = session
    paths = write_report(database, info.session_id, tmp_path / "out", n_resamples=50)
    for name in ("votes", "models", "raters", "items"):
        assert paths[name].read_bytes().startswith(b"\xef\xbb\xbf"), name
    text = paths["report"].read_text("utf-8")
    assert "Infinity" not in text and "NaN" not in text
    report = json.loads(text)
    assert report["n_votes"] == 9 and len(report["items"]) == 3
    assert all(row["votes"] == 3 for row in report["items"])


def test_rate_report_command_writes_the_folder(workspace, tmp_path, capsys):
    database = Database.for_workspace(workspace)
    info = new_session(database, tmp_path, examples=2, models=MODELS[:2])
    _vote_as(database, info, FakeClock(), "r1", MODELS[0])
    database.close()
    out = tmp_path / "report"
    argv = ["rate", "report", info.session_id, "--out", str(out), "--home", str(workspace.root)]
    assert main(argv) == 0
    assert {p.name for p in out.iterdir()} >= {
        "votes.csv", "models.csv", "raters.csv", "items.csv", "report.json"
    }  # fmt: skip


def test_excluding_failing_raters_drops_the_too_fast_one(session):
    database, info = session
    report = build_report(database, info.session_id, n_resamples=50, exclude_failing=True)
    (fast,) = [r["rater_id"] for r in report["raters"] if r["fails"]]
    assert report["excluded_failing"] == report["excluded_raters"] == [fast]
    assert (report["n_votes"], report["n_raters"], report["excluded"]["rater"]) == (6, 2, 3)
    pair = _pair(report)
    assert (pair["model_a"], pair["wins_a"], pair["wins_b"], pair["ties"]) == (MODELS[0], 3, 0, 3)
    kept = build_report(database, info.session_id, n_resamples=50)
    assert kept["excluded_failing"] == [] and kept["n_votes"] == 9


@pytest.mark.parametrize(("min_seconds", "wait", "fast"), [(0, 3, 0), (8, 5, 2)])
def test_too_fast_is_the_sessions_own_minimum(workspace, tmp_path, min_seconds, wait, fast):
    """3 s is fast by a fixed 4 s rule but not under a 0 s minimum; 5 s is the reverse
    under an 8 s minimum. The raters table, the flags the app stored and the flagged
    count all follow the session's minimum."""
    database = Database.for_workspace(workspace)
    clock = FakeClock()
    info = new_session(database, tmp_path, examples=2, models=MODELS[:2],
                       min_seconds=min_seconds, clock=clock)  # fmt: skip
    _vote_as(database, info, clock, "r1", MODELS[0], wait=wait)
    report = build_report(database, info.session_id, n_resamples=20)
    database.close()
    (rater,) = report["raters"]
    assert rater["votes"] == 2 and rater["too_fast"] == fast
    assert rater["flags"] == (f"too_fast:{fast}" if fast else "")
    assert (report["min_seconds"], report["flagged_too_fast"]) == (min_seconds, fast)


def _report_command(workspace, session_id, out, *options) -> list[str]:
    home = ["--home", str(workspace.root)]
    return ["rate", "report", session_id, "--out", str(out), *home, *options]


def test_rate_report_options_print_counts_and_change_the_files(
    session, workspace, tmp_path, capsys
):
    database, info = session
    raters = build_report(database, info.session_id, n_resamples=20)["raters"]
    names = {rater["rater_name"]: rater["rater_id"] for rater in raters}
    assert main(_report_command(workspace, info.session_id, tmp_path / "all")) == 0
    assert "votes: 9 of 9 compared (3 raters); left out: none" in capsys.readouterr().out

    out = tmp_path / "flagged"
    assert main(_report_command(workspace, info.session_id, out, "--exclude-flagged")) == 0
    assert "votes: 6 of 9 compared (2 raters); left out: flag 3" in capsys.readouterr().out
    assert json.loads((out / "report.json").read_text("utf-8"))["excluded"]["flag"] == 3

    # Raters by name or id, repeated; r1 (ALPHA every time) and r3 (BETA) out leaves r2's ties.
    out = tmp_path / "raters"
    options = ["--exclude-rater", "r1", "--exclude-rater", names["r3"]]
    assert main(_report_command(workspace, info.session_id, out, *options)) == 0
    printed = capsys.readouterr().out
    assert "votes: 3 of 9 compared (1 raters); left out: rater 6" in printed
    assert f"excluded raters: {', '.join(sorted([names['r1'], names['r3']]))}" in printed
    (pair,) = json.loads((out / "report.json").read_text("utf-8"))["pairs"]
    assert (pair["wins_a"], pair["wins_b"], pair["ties"], pair["win_rate_a"]) == (0, 0, 3, 0.5)

    out = tmp_path / "failing"
    assert main(_report_command(workspace, info.session_id, out, "--exclude-failing")) == 0
    assert f"(failing checks: {names['r3']})" in capsys.readouterr().out

    assert main(_report_command(workspace, info.session_id, out, "--exclude-rater", "r4")) == 1
    assert "exclude_rater='r4' is not allowed" in capsys.readouterr().err
