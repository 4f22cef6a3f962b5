"""The Reports tab: its views on a hand-made report dict, and its handlers on a real session.

The views only lay the report out, so each table cell and heatmap cell is checked against
the number in the dict it came from. The handlers run on a session with hand-chosen votes:
one rater for 春节微调, one who ties everything, one too fast for 基座模型.
"""

from __future__ import annotations

import io
import warnings
from math import nan
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from test_rating_sessions import CRITERIA, FakeClock, prediction_rows, scores, write_jsonl

from ftcore.db import Database
from ftcore.rating import service
from ftcore.rating.plan import SessionPlan
from ftcore.rating.report_figures import rating_intervals, win_rate_heatmap
from ftcore.rating.sessions import create_session
from ftcore.runtime.chat import ModelCache
from ftcore.ui import AppContext, report_views
from ftcore.ui.report_tab import (
    ALL_LEFT_OUT,
    NO_SESSIONS,
    NO_VOTES,
    OUTPUTS,
    PICK_SESSION,
    ReportHandlers,
    fitted,
)

MODELS_ZH = ("春节微调", "基座模型", "SECRET-MODEL-GAMMA")
EXAMPLES = 4  # 3 pairs each: 12 items, each rated by all three raters (room for a 4th)


def vote_every_item(database, info, clock, name: str, wanted: str, wait: float = 10) -> None:
    """Join as `name` and vote on every item served: for the model `wanted` where it is
    shown (read off the responses, which carry the model name), else `wanted` as a choice."""
    token = service.join(database, info.code, name, clock=clock)["rater_token"]
    while not (item := service.next_item(database, token, clock=clock)).get("done"):
        clock.advance(wait)
        choice = wanted
        if wanted in MODELS_ZH:
            choice = "A" if wanted in item["response_a"] else "B"
        given = scores(2, **{f"{choice}_{c}": 4 for c in CRITERIA}) if choice in "AB" else scores()
        service.vote(database, token, item["item_token"], choice, given, clock=clock)


def voted_session(database, folder, examples: int = EXAMPLES):
    """A 3-model session whose raters vote every item: 小红 for 春节微调, 小明 tie, and
    快手 for 基座模型 in 2 s, under the 5 s minimum (so every vote of theirs is flagged)."""
    path = write_jsonl(folder / "predictions-zh.jsonl", prediction_rows(examples, MODELS_ZH))
    clock = FakeClock()
    plan = SessionPlan(name="春节祝福 第一轮", predictions=str(path), ratings_per_item=4,
                       min_seconds=5)  # fmt: skip
    info = create_session(database, None, plan, clock=clock)
    vote_every_item(database, info, clock, "小红", MODELS_ZH[0])
    vote_every_item(database, info, clock, "小明", "tie")
    vote_every_item(database, info, clock, "快手", MODELS_ZH[1], wait=2)
    return info


def hand_report() -> dict:
    """A report.json as build_report writes it, with numbers chosen by hand."""
    criteria = {"fluency": {"mean": 4.25, "ci": [3.9, 4.6], "n": 8}}
    return {
        "session_id": "s1",
        "n_votes": 20,
        "n_raters": 2,
        "n_votes_cast": 26,
        "excluded": {"rater": 4, "flag": 1, "gold": 1, "repeat": 0},
        "excluded_raters": ["r3"],
        "excluded_failing": ["r3"],
        "excluded_flags": ["too_fast"],
        "min_seconds": 5.0,
        "flagged_too_fast": 1,
        "models": {
            "春节微调": {
                "bt_rating": 1080.04,
                "bt_ci": [1010.0, None],
                "rank": 1,
                "criteria": criteria,
            },
            "基座模型": {
                "bt_rating": 990.0,
                "bt_ci": [930.5, 1050.25],
                "rank": 1,
                "criteria": {"fluency": {"mean": 3.5, "ci": [3.0, 4.0], "n": 8}},
            },
            "gamma": {"bt_rating": 929.96, "bt_ci": [880.0, 985.0], "rank": 3, "criteria": {}},
        },  # fmt: skip
        "pairs": [
            {
                "model_a": "春节微调",
                "model_b": "基座模型",
                "wins_a": 5,
                "wins_b": 2,
                "ties": 1,
                "both_bad": 0,
                "n_items": 4,  # items; each seen by 2 raters
                "win_rate_a": 0.6875,
                "win_rate_a_ci": [0.5, 0.875],
                "win_rate_a_no_ties": 5 / 7,
                "win_rate_a_no_ties_ci": [0.4, 0.9],
            },
            {
                "model_a": "基座模型",
                "model_b": "gamma",
                "wins_a": 3,
                "wins_b": 3,
                "ties": 0,
                "both_bad": 2,
                "n_items": 4,
                "win_rate_a": 0.5,
                "win_rate_a_ci": [0.25, 0.75],
                "win_rate_a_no_ties": 0.5,
                "win_rate_a_no_ties_ci": [0.2, 0.8],
            },
        ],  # fmt: skip
        "agreement": {
            "preference": 0.85,
            "fluency": None,
            "preference_raw": {"share": 0.7, "pairs": 10},
        },  # fmt: skip
        "position_bias": {"share": 0.3, "ci": [0.2, 0.45], "n": 20, "p_value": 0.01},
        "length_bias": {"share": 0.55, "ci": [0.35, 0.7], "n": 20, "p_value": 0.6},
        "power": {
            "model_a": "春节微调",
            "model_b": "基座模型",
            "enough": False,
            "message": "春节微调 won 71% of 7 decisive votes: not yet.",
        },  # fmt: skip
        "raters": [
            {
                "rater_id": "r1",
                "rater_name": "小红",
                "votes": 12,
                "median_seconds": 6.25,
                "gold_correct": 2,
                "gold_total": 3,
                "consistent": 0,
                "repeats": 0,
                "too_fast": 0,
                "flags": "",
                "agreement": 0.75,
                "agreement_pairs": 8,
                "fails": "",
                "excluded": False,
            },
            {
                "rater_id": "r3",
                "rater_name": "",
                "votes": 4,
                "median_seconds": None,
                "gold_correct": 0,
                "gold_total": 0,
                "consistent": 1,
                "repeats": 4,
                "too_fast": 3,
                "flags": "too_fast:3",
                "agreement": None,
                "agreement_pairs": 0,
                "fails": "voted 1 of 4 repeated items the same way",
                "excluded": True,
            },
        ],  # fmt: skip
        "items": [],
    }


def test_the_heatmap_the_tab_shows_has_the_pairs_win_rates():
    axis = fitted(win_rate_heatmap(hand_report())).axes[0]
    assert [label.get_text() for label in axis.get_yticklabels()] == [
        "春节微调",
        "基座模型",
        "gamma",
    ]
    # Row model against column model: 1 − the rate from the other side; NaN where the two
    # never met (春节微调, gamma) and on the diagonal.
    expected = [[nan, 0.6875, nan], [0.3125, nan, 0.5], [nan, 0.5, nan]]
    np.testing.assert_allclose(np.ma.filled(axis.images[0].get_array(), nan), expected)
    # Each cell names the votes behind it: wins, ties and both-bad (5+2+1+0 and 3+3+0+2).
    labels = sorted(text.get_text() for text in axis.texts)
    assert labels == ["0.31\n8 votes", "0.50\n8 votes", "0.50\n8 votes", "0.69\n8 votes"]


def test_ratings_pairs_and_criteria_tables_show_the_dicts_numbers():
    report = hand_report()
    ratings = report_views.ratings_table(report)
    assert ratings.values.tolist() == [
        [1, "春节微调", 1080.0, "from 1010.0 (no upper bound yet)"],
        [1, "基座模型", 990.0, "930.5 – 1050.2"],
        [3, "gamma", 930.0, "880.0 – 985.0"],
    ]
    # With few votes a bootstrap resample can have a model win every vote: no bound, said
    # in words (report.json keeps null), never "−∞ – ∞".
    report["models"]["基座模型"]["bt_ci"] = [None, 1050.25]
    report["models"]["gamma"]["bt_ci"] = [None, None]
    assert report_views.ratings_table(report)["95% interval"].tolist()[1:] == [
        "up to 1050.2 (no lower bound yet)",
        "not bounded yet (too few votes)",
    ]
    pairs = report_views.pairs_table(report)
    assert pairs.values.tolist()[0] == [
        "春节微调",
        "基座模型",
        5,
        2,
        1,
        0,
        "69%",
        "50% – 88% (4 items)",
        "71%",
        "40% – 90%",
    ]
    # Two win rates, two kinds of interval: each column says which it is.
    assert list(pairs.columns[6:]) == [
        "A's win rate, ties as ½",
        "95% interval, bootstrap over items",
        "A's win rate, decisive votes only",
        "95% interval, Wilson",
    ]
    assert len(report_views.PAIR_COLUMN_WIDTHS) == len(pairs.columns)
    report["pairs"][1]["win_rate_a_ci"] = None  # under MIN_BOOTSTRAP_ITEMS items
    assert report_views.pairs_table(report).values.tolist()[1][7:] == [
        "too few items to resample (4)",
        "50%",
        "20% – 80%",
    ]
    criteria = report_views.criteria_table(report)
    assert criteria.values.tolist() == [
        ["fluency", "春节微调", 4.25, "3.90 – 4.60", 8],
        ["fluency", "基座模型", 3.5, "3.00 – 4.00", 8],
    ]


def test_rater_table_and_choices_say_what_the_checks_found():
    report = hand_report()
    table = report_views.raters_table(report)
    assert table.values.tolist() == [
        ["小红", "r1", 12, "6.2", "2/3 (67%)", "—", 0, "", "75%", "", ""],
        ["", "r3", 4, "—", "—", "1/4 (25%)", 3, "too_fast:3", "—",
         "voted 1 of 4 repeated items the same way", "yes"],
    ]  # fmt: skip
    assert report_views.rater_choices(report) == [
        ("小红 · r1", "r1"),
        ("anonymous · r3 · fails checks", "r3"),
    ]


def test_readings_in_plain_words():
    report = hand_report()
    summary = report_views.summary_markdown(report)
    assert "Compared on **20** of **26** votes from **2** raters" in summary
    assert "**4** from excluded raters (r3 – fails the checks), **1** flagged too fast (of " \
           "**1** votes under the session's minimum of 5 s), **1** on gold" in summary  # fmt: skip
    report["raters"][1]["rater_name"] = "![x](http://evil.example/x.png)"
    escaped = report_views.summary_markdown(report)
    assert r"(\!\[x\]\(http://evil\.example/x\.png\) – fails the checks)" in escaped
    agreement = report_views.agreement_markdown(report)
    assert "| preference (which is better) | 0.850 | raters agree well |" in agreement
    assert "| fluency (score) | — | not measurable yet" in agreement
    assert "**70%** of 10 pairs" in agreement
    biases = report_views.biases_markdown(report)
    assert "30% of 20 decisive votes went to the left side (95% interval 20%–45%): " \
           "raters lean towards the right side." in biases  # fmt: skip
    assert "went to the longer response (95% interval 35%–70%): no sign of a lean" in biases
    assert report_views.power_markdown(report) == (
        "⚠️ **Not enough data yet to tell the two leading models apart.** "
        "春节微调 won 71% of 7 decisive votes: not yet."
    )
    assert report_views.power_markdown({**report, "power": None}).startswith("⚠️ **Not enough")


def test_metric_agreement_shown_when_present_and_its_absence_said_plainly():
    report = hand_report()
    absent = "No automatic scores linked to this session."
    assert report_views.metric_agreement_markdown(report) == absent
    unmeasured = {"agreement": None, "kendall_tau": None, "n_items": 0, "note": "no reference"}
    report["metric_agreement"] = {"chrf": unmeasured, "rougeL": unmeasured}
    assert report_views.metric_agreement_markdown(report) == f"{absent} no reference"
    report["metric_agreement"] = {
        "bleu": {"agreement": 0.55, "agreement_ci": [0.4, 0.7], "kendall_tau": 0.1, "n_items": 20},
        "chrf": {"agreement": 0.8, "agreement_ci": [0.6, 0.9], "kendall_tau": 0.42, "n_items": 20,
                 "note": "2 voted items without a reference left out"},
        "perplexity": {**unmeasured, "note": "kept per split"},
    }  # fmt: skip
    text = report_views.metric_agreement_markdown(report)
    # Notes go under the table, not in a column that squeezes the others.
    assert "| metric | agrees with raters | 95% interval | Kendall's τ | items |\n" in text
    assert "| bleu | 55% | 40% – 70% | 0.10 | 20 |\n" in text
    assert "| chrf | 80% | 60% – 90% | 0.42 | 20 |\n" in text
    assert "| perplexity | — | — | — | 0 |\n" in text
    assert "**chrf**: 2 voted items without a reference left out" in text
    assert "**perplexity**: kept per split" in text
    assert "**chrf** tracks your raters best on this task: the model it scores higher " \
           "also won the vote on 80% of the items where both pick one." in text  # fmt: skip
    # The top number alone is no finding: bleu's interval includes a coin toss.
    report["metric_agreement"]["chrf"]["agreement"] = 0.5
    assert "No metric tracks your raters better than a coin toss yet: the closest, " \
           "**bleu**, agrees on 55%" in report_views.metric_agreement_markdown(report)  # fmt: skip
    report["metric_agreement"]["chrf"]["agreement"] = 0.8
    del report["metric_agreement"]["perplexity"], report["metric_agreement"]["chrf"]["note"]
    text = report_views.metric_agreement_markdown(report)
    assert "| metric | agrees with raters | 95% interval | Kendall's τ | items |\n" in text


def test_chinese_names_render_with_a_cjk_font():
    from matplotlib import font_manager

    if "Noto Sans CJK SC" not in {font.name for font in font_manager.fontManager.ttflist}:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    report = hand_report()
    figures = (fitted(win_rate_heatmap(report)), fitted(rating_intervals(report)),
               report_views.criteria_figure(report))  # fmt: skip
    for figure in figures:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # matplotlib warns "Glyph … missing" for boxes
            figure.savefig(io.BytesIO(), format="png")


@pytest.fixture
def reports(workspace, tmp_path):
    """The tab's handlers on a workspace holding the voted session."""
    context = AppContext(workspace, Database.for_workspace(workspace), ModelCache())
    info = voted_session(context.db, tmp_path)
    yield ReportHandlers(context), info
    context.db.close()


def shown(values: list) -> dict:
    return dict(zip(OUTPUTS, values, strict=True))


def test_exclusion_toggles_change_the_counts(reports):
    handlers, info = reports
    everything = shown(handlers.show(info.session_id, [], False, False, None))
    assert "Compared on **36** of **36** votes from **3** raters" in everything["summary"]
    assert sorted(everything["raters"]["rater"]) == sorted(["小红", "小明", "快手"])
    fast = everything["raters"].set_index("rater").loc["快手"]
    assert (fast["too fast"], fast["flags"]) == (12, "too_fast:12")

    flagged = shown(handlers.show(info.session_id, [], True, False, None))
    assert "Compared on **24** of **36** votes from **2** raters" in flagged["summary"]
    assert "**12** flagged too fast" in flagged["summary"]

    failing = shown(handlers.show(info.session_id, [], False, True, None))
    assert "**12** from excluded raters (快手 – fails the checks)" in failing["summary"]
    excluded = failing["raters"].set_index("rater")["left out"]
    assert excluded.to_dict() == {"小红": "", "小明": "", "快手": "yes"}

    xiaohong = everything["raters"].set_index("rater").loc["小红", "id"]
    without = shown(handlers.show(info.session_id, [xiaohong], False, False, None))
    assert "**24** of **36**" in without["summary"] and "(小红)" in without["summary"]
    everyone = everything["raters"]["id"].tolist()
    nobody = shown(handlers.show(info.session_id, everyone, False, False, None))
    assert nobody["summary"].startswith(ALL_LEFT_OUT)
    assert "Compared on **0** of **36**" in nobody["summary"]
    assert nobody["results"].visible is False and nobody["cast"].visible is True
    # Without 小红, 春节微调 meets 基座模型 on 4 items × (小明's tie + 快手's loss): ½·4/8.
    assert win_rate(everything, "春节微调", "基座模型") == 0.5  # 4 wins, 4 ties, 4 losses
    assert win_rate(without, "春节微调", "基座模型") == 0.25


def win_rate(values: dict, model: str, other: str) -> float:
    """`model`'s win rate against `other`, read off the heatmap the tab drew."""
    axis = values["heatmap"].axes[0]
    rows = [label.get_text() for label in axis.get_yticklabels()]
    columns = [label.get_text() for label in axis.get_xticklabels()]
    return float(axis.images[0].get_array()[rows.index(model), columns.index(other)])


def test_empty_states_read_clearly(workspace, tmp_path):
    context = AppContext(workspace, Database.for_workspace(workspace), ModelCache())
    handlers = ReportHandlers(context)
    assert shown(handlers.show(None, [], False, False, None))["summary"] == NO_SESSIONS
    path = write_jsonl(tmp_path / "p.jsonl", prediction_rows(2, MODELS_ZH[:2]))
    info = create_session(context.db, None, SessionPlan(name="空的", predictions=str(path)))
    assert shown(handlers.show(None, [], False, False, None))["summary"] == PICK_SESSION
    empty = shown(handlers.show(info.session_id, [], False, False, None))
    assert empty["summary"] == NO_VOTES
    assert empty["results"].visible is False and empty["cast"].visible is False
    context.db.close()


def test_the_timer_recomputes_only_when_votes_came_in(reports):
    handlers, info = reports
    first = shown(handlers.show(info.session_id, [], False, False, None))
    assert first["seen"] == [info.session_id, 36]
    again = handlers.tick(info.session_id, [], False, False, first["seen"], None)
    assert all(isinstance(value, type(gr.skip())) for value in again)
    token = service.join(handlers.context.db, info.code, "新来的")["rater_token"]
    item = service.next_item(handlers.context.db, token)
    service.vote(handlers.context.db, token, item["item_token"], "tie", scores())
    moved = shown(handlers.tick(info.session_id, [], False, False, first["seen"], None))
    assert moved["seen"] == [info.session_id, 37]
    assert "of **37** votes from **4** raters" in moved["summary"]


def test_files_land_in_the_workspace_and_are_served_from_gradios_cache(
    reports, tmp_path, monkeypatch
):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-cache"))
    handlers, info = reports
    offered, note = handlers.files(info.session_id, [], True, False, None)
    served = [entry["path"] for entry in offered.value]
    folder = handlers.context.workspace.root / "reports" / info.session_id
    names = ["votes.csv", "models.csv", "raters.csv", "items.csv", "report.json", "session.json"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    assert [path.rsplit("/", 1)[1] for path in served] == names
    for path in served:
        assert path.startswith(str(tmp_path / "gradio-cache"))
        copy = Path(path)
        assert copy.read_bytes() == (folder / copy.name).read_bytes()
    assert '"n_votes": 24' in (folder / "report.json").read_text("utf-8")  # flagged left out
    assert "Compared on **24** of **36** votes" in note and "**12** flagged too fast" in note


class NoAdmins:
    def admin_refusal(self, request):
        return "nobody is logged in"


def test_every_handler_asks_the_access_policy(reports):
    handlers, info = reports
    handlers.context.access = NoAdmins()
    calls = [
        lambda: handlers.sessions(info.session_id, None),
        lambda: handlers.show(info.session_id, [], False, False, None),
        lambda: handlers.tick(info.session_id, [], False, False, None, None),
        lambda: handlers.files(info.session_id, [], False, False, None),
    ]
    for call in calls:
        with pytest.raises(gr.Error, match="admin only: nobody is logged in"):
            call()
    selected = gr.SelectData(None, {"index": 5, "value": "Reports"})
    assert handlers.follow(selected, None).active is False
    handlers.context.access = type("Everyone", (), {"admin_refusal": lambda self, r: None})()
    assert handlers.follow(selected, None).active is True
    other = gr.SelectData(None, {"index": 0, "value": "Data"})
    assert handlers.follow(other, None).active is False
