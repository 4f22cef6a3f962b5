"""The evaluation report: the CSV equals the evaluation's files and the votes; the page shows it."""

from __future__ import annotations

import base64
import csv
import re
from pathlib import Path

import pytest
from test_rating_formula_injection import assert_spreadsheet_safe
from test_rating_sessions import FakeClock, scores, write_jsonl

from ftcore.cli import main
from ftcore.db import Database
from ftcore.errors import ConfigError, DataError
from ftcore.evaluation.store import register_evaluation
from ftcore.files import read_json, write_json
from ftcore.metrics.comparisons import compare_report_to_baseline, write_comparisons_json
from ftcore.metrics.score_files import write_report as write_score_files
from ftcore.metrics.scoring import score_predictions
from ftcore.rating import service
from ftcore.rating.automatic_scores import NO_PERPLEXITY
from ftcore.rating.evaluation_report import (
    evaluation_folder,
    linked_evaluation,
    write_evaluation_report,
)
from ftcore.rating.plan import SessionPlan
from ftcore.rating.report import build_report
from ftcore.rating.sessions import create_session

BASE, TUNED = "base", "祝福微调"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
REFERENCES = [
    "外婆，祝您新春快乐，身体健康",
    "老师，新年好，桃李满天下",
    "同事们，新春大吉，万事如意",
    "爸妈，过年好，福寿安康",
    "朋友，新年快乐，心想事成",
    "领导，春节快乐，阖家幸福",
]


def _evaluation(folder: Path) -> Path:
    """An evaluation folder as ftcore.evaluation writes one, scored by the real metrics:
    the fine-tune answers close to the reference, the base model does not."""
    rows = []
    for i, reference in enumerate(REFERENCES):
        for model, text in ((BASE, f"新年好 {i}"), (TUNED, reference[:-2] + f" {i}")):
            rows.append({"id": f"ex{i}", "split": "val", "prompt": f"拜年 {i}", "model": model,
                         "prediction": text, "reference": reference})  # fmt: skip
    folder.mkdir()
    write_jsonl(folder / "predictions.jsonl", rows)
    write_json(folder / "evaluation.json", {"base": "demo", "adapters": {}})
    report = score_predictions(rows, bootstrap=50, seed=0)
    write_score_files(report, folder)
    scores = read_json(folder / "scores.json")
    for model, value in ((BASE, 31.5), (TUNED, 12.25)):  # as the pipeline adds perplexity
        scores[model]["val"]["perplexity"] = {"value": value, "higher_is_better": False}
    write_json(folder / "scores.json", scores)
    write_comparisons_json(compare_report_to_baseline(report, BASE), folder / "comparisons.json")
    return folder


@pytest.fixture
def rated(workspace, tmp_path):
    """A session on the evaluation's val split; r1 prefers the fine-tune everywhere, r2
    on all but one example."""
    database = Database.for_workspace(workspace)
    folder = _evaluation(tmp_path / "eval")
    plan = SessionPlan(name="春节祝福盲评", eval_dir=str(folder), min_seconds=0, ratings_per_item=2)
    clock = FakeClock()
    info = create_session(database, None, plan, clock=clock)
    for rater, against in (("r1", None), ("r2", "拜年 0")):
        token = service.join(database, info.code, rater, clock=clock)["rater_token"]
        while not (item := service.next_item(database, token, clock=clock)).get("done"):
            clock.advance(10)
            tuned_left = not item["response_a"].startswith("新年好 ")  # the base's answers do
            tuned_wins = item["prompt"] != against
            choice = "A" if tuned_left == tuned_wins else "B"
            service.vote(database, token, item["item_token"], choice, scores(), clock=clock)
    yield database, info, folder
    database.close()


def _csv_rows(path: Path) -> dict[str, dict]:
    with open(path, encoding="utf-8-sig", newline="") as file:
        return {row["model"]: row for row in csv.DictReader(file)}


def test_csv_holds_the_evaluation_scores_deltas_and_human_ratings(rated, tmp_path):
    database, info, folder = rated
    report = build_report(database, info.session_id, n_resamples=50)
    paths = write_evaluation_report(database, report, folder, tmp_path / "out")
    assert_spreadsheet_safe(paths["evaluation"])
    rows = _csv_rows(paths["evaluation"])
    assert list(rows) == [TUNED, BASE]  # the human ranking's order
    scores = read_json(folder / "scores.json")
    for model, row in rows.items():
        assert (row["in_session"], row["in_evaluation"]) == ("1", "1")
        for metric, entry in scores[model]["val"].items():
            assert float(row[metric]) == entry["value"], (model, metric)
            if entry.get("ci_low") is not None:
                assert float(row[f"{metric}_ci_low"]) == entry["ci_low"]
        human = report["models"][model]
        assert float(row["bt_rating"]) == human["bt_rating"] and int(row["rank"]) == human["rank"]
        assert float(row["completeness_mean"]) == human["criteria"]["completeness"]["mean"]
    for comparison in read_json(folder / "comparisons.json"):
        row = rows[comparison["model"]]
        metric = comparison["metric"]
        assert float(row[f"{metric}_delta"]) == comparison["delta"]
        assert float(row[f"{metric}_delta_ci_high"]) == comparison["ci_high"]
        assert float(row[f"{metric}_delta_p"]) == comparison["p_value"]
        assert row["baseline"] == BASE
    assert rows[BASE]["chrf_delta"] == "" and rows[BASE]["perplexity"] == "31.5"
    # Made from an evaluation: perplexity is named, and why it cannot be compared per item.
    assert report["metric_agreement"]["perplexity"]["note"] == NO_PERPLEXITY


def test_page_embeds_the_four_figures_and_the_key_numbers(rated, tmp_path):
    database, info, folder = rated
    report = build_report(database, info.session_id, n_resamples=50)
    page = write_evaluation_report(database, report, folder, tmp_path / "out")["html"]
    text = page.read_text("utf-8")
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(images) == 4
    assert all(base64.b64decode(image).startswith(b"\x89PNG\r\n\x1a\n") for image in images)
    assert "<h1>春节祝福盲评</h1>" in text and TUNED in text
    assert f"{report['n_votes']} votes from 2 raters compared" in text
    rating = report["models"][TUNED]["bt_rating"]
    assert f"{rating:.0f}" in text
    chrf = report["metric_agreement"]["chrf"]
    assert f"{chrf['agreement']:.3g}" in text
    assert "http" not in text.replace("http://www.w3.org", "")  # self-contained


def test_evaluation_by_workspace_id_and_clear_errors(rated, tmp_path):
    database, _, folder = rated
    settings = {"out_dir": str(folder), "base": "demo", "adapters": {}, "data_dir": "d",
                "dataset_hash": "h", "splits": ["val"]}  # fmt: skip
    evaluation_id = register_evaluation(database, settings, {}, [])
    assert evaluation_folder(database, evaluation_id) == folder.resolve()
    assert evaluation_folder(database, str(folder)) == folder
    with pytest.raises(ConfigError, match="evaluation='999' is not allowed"):
        evaluation_folder(database, 999)
    with pytest.raises(DataError, match="no scores.json"):
        evaluation_folder(database, str(tmp_path))


def test_rate_report_with_evaluation_writes_both_files(rated, workspace, tmp_path, capsys):
    _, info, folder = rated
    out = tmp_path / "cli"
    argv = ["rate", "report", info.session_id, "--out", str(out), "--evaluation", str(folder)]
    assert main([*argv, "--home", str(workspace.root)]) == 0
    assert "evaluation_report.csv, report.html" in capsys.readouterr().out
    assert (out / "report.json").is_file() and (out / "report.html").is_file()


@pytest.mark.slow
def test_page_renders_in_chromium(rated, browser, tmp_path):
    database, info, folder = rated
    report = build_report(database, info.session_id, n_resamples=50)
    page_path = write_evaluation_report(database, report, folder, tmp_path / "out")["html"]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(page_path.as_uri())
    widths = page.eval_on_selector_all("img", "images => images.map(i => i.naturalWidth)")
    assert len(widths) == 4 and min(widths) > 200
    assert page.get_by_role("heading", name="春节祝福盲评").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "evaluation_report.png"), full_page=True)
    page.close()


def test_a_session_knows_its_evaluation_while_the_scores_are_there(rated):
    database, info, folder = rated
    assert linked_evaluation(database, info.session_id) == folder.resolve()
    (folder / "scores.json").unlink()  # the evaluation was deleted or rerun elsewhere
    assert linked_evaluation(database, info.session_id) is None


def test_the_reports_tab_writes_the_evaluation_report_beside_the_votes(
    rated, workspace, tmp_path, monkeypatch
):
    from ftcore.runtime.chat import ModelCache
    from ftcore.ui import AppContext
    from ftcore.ui.report_tab import ReportHandlers

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-cache"))
    database, info, _ = rated
    handlers = ReportHandlers(AppContext(workspace, database, ModelCache()))
    offered, _ = handlers.files(info.session_id, [], False, False, None)
    names = [entry["path"].rsplit("/", 1)[1] for entry in offered.value]
    assert names[-2:] == ["evaluation_report.csv", "report.html"]
    rows = _csv_rows(workspace.root / "reports" / info.session_id / "evaluation_report.csv")
    assert rows[TUNED]["perplexity"] == "12.25" and rows[BASE]["perplexity"] == "31.5"
