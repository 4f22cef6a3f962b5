"""Rating sessions: plans, the texts they copy, items as model pairs, status, close, invites.

Also holds the helpers the other test_rating_* modules import (a predictions file, a fake
clock, a session, a rater's full round), so every rating test builds its material the same
way. Model names stand out (SECRET-MODEL-…) so blindness tests can search for them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftcore.errors import ConfigError, DataError, SessionClosedError, SessionNotFoundError
from ftcore.evaluation.store import register_evaluation
from ftcore.rating import service
from ftcore.rating.plan import SessionPlan
from ftcore.rating.sessions import (
    add_invites,
    close_session,
    create_session,
    list_sessions,
    session_status,
)

MODELS = ("SECRET-MODEL-ALPHA", "SECRET-MODEL-BETA", "SECRET-MODEL-GAMMA")
CRITERIA = ("completeness", "fluency", "style_fit", "sincerity")
START = 1_800_000_000.0  # 2027-01-15, a fixed "now" for the fake clock


class FakeClock:
    """A clock the test moves on by hand."""

    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def prediction_rows(examples: int, models=MODELS, split: str | None = None) -> list[dict]:
    rows = []
    for index in range(examples):
        for model in models:
            row = {
                "id": f"ex{index}",
                "prompt": f"给外婆写一条春节祝福 #{index}",
                "model": model,
                "prediction": f"外婆新年快乐 #{index}（{model}）",
                "reference": f"外婆，祝您新春快乐 #{index}",
            }
            if split:
                row["split"] = split
            rows.append(row)
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def scores(value: int = 3, **overrides) -> dict:
    """A full score object; `overrides` as side_criterion=value, e.g. A_fluency=5."""
    result = {side: dict.fromkeys(CRITERIA, value) for side in "AB"}
    for key, score in overrides.items():
        side, criterion = key.split("_", 1)
        result[side][criterion] = score
    return result


def new_session(database, tmp_path: Path, examples: int = 4, clock=None, **plan) -> object:
    """A session over `examples` examples answered by all MODELS (3 pairs each)."""
    path = write_jsonl(tmp_path / "predictions.jsonl", prediction_rows(examples))
    values = {"name": "Greetings round 1", "predictions": str(path), "min_seconds": 0, **plan}
    return create_session(database, None, SessionPlan(**values), clock=clock or FakeClock())


def rate_everything(database, code: str, clock=None, name: str = "") -> list[dict]:
    """Join and vote A on every item served until done; the served payloads."""
    clock = clock or FakeClock()
    token = service.join(database, code, name, clock=clock)["rater_token"]
    served = []
    while not (item := service.next_item(database, token, clock=clock)).get("done"):
        served.append(item)
        service.vote(database, token, item["item_token"], "A", scores(), clock=clock)
    return served


def count(database, table: str) -> int:
    return database.query_value(f"SELECT COUNT(*) FROM {table}")


def test_every_pair_of_models_on_an_example_is_one_item(database, tmp_path):
    rows = prediction_rows(3)
    rows = [r for r in rows if not (r["id"] == "ex2" and r["model"] == MODELS[2])]
    plan = SessionPlan(name="Round", predictions=str(write_jsonl(tmp_path / "p.jsonl", rows)))
    info = create_session(database, None, plan)
    items = database.query(
        "SELECT example_id, model_first, model_second, response_first FROM rating_items"
    )
    pairs = [(i["example_id"], i["model_first"], i["model_second"]) for i in items]
    a, b, c = MODELS
    # 3 models: 3 pairs on ex0 and ex1; ex2 lacks GAMMA, so only ALPHA/BETA there.
    assert pairs == [
        ("ex0", a, b), ("ex0", a, c), ("ex0", b, c),
        ("ex1", a, b), ("ex1", a, c), ("ex1", b, c),
        ("ex2", a, b),
    ]  # fmt: skip
    assert info.items == 7 and info.models == list(MODELS)
    assert items[0]["response_first"] == f"外婆新年快乐 #0（{a}）"


def test_models_option_keeps_only_the_named_models(database, tmp_path):
    info = new_session(database, tmp_path, examples=2, models=f"{MODELS[2]},{MODELS[0]}")
    assert info.models == [MODELS[2], MODELS[0]]
    firsts = {r["model_first"] for r in database.query("SELECT model_first FROM rating_items")}
    assert info.items == 2 and firsts == {MODELS[2]}


def test_unknown_model_names_the_ones_found(database, tmp_path):
    with pytest.raises(ConfigError, match="SECRET-MODEL-ALPHA.*Did you mean 'SECRET-MODEL-BETA'"):
        new_session(database, tmp_path, models="SECRET-MODEL-BETTA,SECRET-MODEL-ALPHA")
    assert count(database, "rating_sessions") == 0


@pytest.mark.parametrize(
    ("row", "line_field"),
    [
        ({"id": "ex9", "prompt": "p", "prediction": "x"}, ":3: field 'model'"),
        ({"id": "ex9", "model": "M", "prediction": "x"}, ":3: field 'prompt'"),
        ({"id": True, "prompt": "p", "model": "M", "prediction": "x"}, ":3: field 'id'"),
        ({"id": "ex9", "prompt": "p", "model": "M", "prediction": 5}, ":3: field 'prediction'"),
        ({"id": "ex0", "prompt": "p", "model": MODELS[1], "prediction": "x"}, ":3: field 'id'"),
    ],
)
def test_a_bad_predictions_row_names_file_line_and_field(database, tmp_path, row, line_field):
    rows = prediction_rows(1, models=MODELS[:2])
    path = write_jsonl(tmp_path / "p.jsonl", [*rows, row])
    with pytest.raises(DataError) as error:
        create_session(database, None, SessionPlan(name="Round", predictions=str(path)))
    assert str(error.value).startswith(f"{path.resolve()}{line_field}")
    assert count(database, "rating_items") == 0


def test_an_empty_prediction_is_rated_as_it_is(database, tmp_path):
    rows = prediction_rows(1, models=MODELS[:2])
    rows[1]["prediction"] = ""
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    create_session(database, None, SessionPlan(name="Round", predictions=str(path)))
    assert database.query_value("SELECT response_second FROM rating_items") == ""


def test_models_answering_different_prompts_cannot_be_paired(database, tmp_path):
    rows = prediction_rows(1, models=MODELS[:2])
    rows[1]["prompt"] = "另一个问题"
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    with pytest.raises(DataError, match=r"p\.jsonl:2: field 'prompt': example 'ex0'"):
        create_session(database, None, SessionPlan(name="Round", predictions=str(path)))


def test_split_defaults_to_val_and_unknown_split_is_refused(database, tmp_path):
    rows = prediction_rows(2, split="train") + prediction_rows(1, split="val")
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    info = create_session(database, None, SessionPlan(name="Round", predictions=str(path)))
    assert info.items == 3
    assert {r["split"] for r in database.query("SELECT split FROM rating_items")} == {"val"}
    with pytest.raises(ConfigError, match="split='tset' is not allowed: expected one of train,"):
        create_session(database, None, SessionPlan(name="R", predictions=str(path), split="tset"))


def test_the_title_raters_see_must_not_name_a_model(database, tmp_path):
    with pytest.raises(ConfigError, match="name=.*names 'SECRET-MODEL-BETA'"):
        new_session(database, tmp_path, name="secret-model-beta vs the rest")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"predictions": ""}, "eval_dir/predictions"),
        ({"eval_dir": "e"}, "eval_dir/predictions"),
        ({"ratings_per_item": 0}, "ratings_per_item"),
        ({"ratings_per_item": 1.5}, "ratings_per_item"),
        ({"repeat_share": 0.6}, "repeat_share"),
        ({"min_seconds": -1}, "min_seconds"),
        ({"access": "private"}, "access"),
        ({"name": " "}, "name"),
        ({"name": 5}, "name"),
        ({"models": "a"}, "models"),
        ({"closes_at": "next friday"}, "closes_at"),
    ],
)
def test_plan_settings_are_checked_with_field_and_value(values, field):
    with pytest.raises(ConfigError) as error:
        SessionPlan(**{"name": "Round", "predictions": "p.jsonl", **values})
    assert error.value.field == field


def test_a_closing_time_in_the_past_is_refused(database, tmp_path):
    with pytest.raises(ConfigError, match="closes_at"):
        new_session(database, tmp_path, closes_at="2020-01-01T00:00+08:00")


def test_gold_pairs_become_gold_items(database, tmp_path):
    gold = write_jsonl(
        tmp_path / "gold.jsonl",
        [{"id": "g1", "prompt": "给老师拜年", "better": "老师新年快乐！学生小王", "worse": "好"}],
    )
    info = new_session(database, tmp_path, examples=1, gold=str(gold))
    items = database.query("SELECT * FROM rating_items WHERE kind = 'gold'")
    assert info.items == 4
    assert [(i["model_first"], i["response_first"], i["model_second"]) for i in items] == [
        ("gold:better", "老师新年快乐！学生小王", "gold:worse")
    ]


def test_bad_gold_row_names_line_and_field(database, tmp_path):
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"id": "g1", "prompt": "p", "better": "x"}])
    with pytest.raises(DataError, match=r"gold\.jsonl:1: field 'worse'"):
        new_session(database, tmp_path, gold=str(gold))


def test_session_stores_the_rubric_so_editing_the_file_changes_nothing(database, tmp_path):
    home = tmp_path / "home"
    (home / "rubrics").mkdir(parents=True)
    builtin = Path(__file__).resolve().parents[1] / "rubrics" / "helpfulness.yaml"
    own = home / "rubrics" / "mine.yaml"
    own.write_text(builtin.read_text("utf-8").replace("id: helpfulness", "id: mine", 1), "utf-8")
    from ftcore.workspace import Workspace

    path = write_jsonl(tmp_path / "p.jsonl", prediction_rows(1))
    plan = SessionPlan(name="Round", predictions=str(path), rubric="mine")
    info = create_session(database, Workspace.open(home), plan)
    own.write_text("broken: [", "utf-8")
    stored = database.query("SELECT rubric_id, rubric_json, rubric_yaml FROM rating_sessions")[0]
    assert stored["rubric_id"] == "mine" and "id: mine" in stored["rubric_yaml"]
    criteria = [c["id"] for c in json.loads(stored["rubric_json"])["criteria"]]
    assert criteria == ["helpfulness", "correctness", "clarity"]
    token = service.join(database, info.code)["rater_token"]
    assert [c["id"] for c in service.session_view(database, token)["session"]["criteria"]] == (
        criteria
    )


def _evaluation_folder(folder: Path, suffix: str) -> tuple[dict, list[dict]]:
    """An evaluation folder as ftcore.evaluation.pipeline leaves it (predictions.jsonl,
    evaluation.json) and the matching register_evaluation arguments."""
    folder.mkdir(exist_ok=True)
    rows = []
    for split in ("train", "val"):
        for row in prediction_rows(2, models=("base", "SECRET-MODEL-ALPHA"), split=split):
            rows.append({**row, "prediction": row["prediction"] + suffix})
    write_jsonl(folder / "predictions.jsonl", rows)
    settings = {
        "base": "demo",
        "adapters": {"SECRET-MODEL-ALPHA": "/runs/a"},
        "data_dir": "/data",
        "dataset_hash": "abc",
        "out_dir": str(folder),
        "splits": ["train", "val"],
    }
    (folder / "evaluation.json").write_text(json.dumps(settings), "utf-8")
    return settings, rows


def test_reevaluating_into_the_same_folder_leaves_a_session_and_its_votes(database, tmp_path):
    folder = tmp_path / "eval"
    settings, rows = _evaluation_folder(folder, " (first run)")
    register_evaluation(database, settings, {}, rows)
    plan = SessionPlan(name="Round", eval_dir=str(folder), split="train", min_seconds=0)
    info = create_session(database, None, plan)
    served = rate_everything(database, info.code)
    before = {
        table: database.query(f"SELECT * FROM {table} ORDER BY 1")
        for table in ("rating_sessions", "rating_items", "rating_votes")
    }
    assert len(served) == 2 and len(before["rating_votes"]) == 2
    assert all(i["response_first"].endswith(" (first run)") for i in before["rating_items"])
    assert {i["split"] for i in before["rating_items"]} == {"train"}

    settings, rows = _evaluation_folder(folder, " (second run)")
    register_evaluation(database, settings, {}, rows)

    assert (
        database.query_value(
            "SELECT COUNT(*) FROM eval_predictions WHERE prediction LIKE '%first run%'"
        )
        == 0
    )
    for table, earlier in before.items():
        assert database.query(f"SELECT * FROM {table} ORDER BY 1") == earlier


def test_eval_source_records_provenance(database, tmp_path):
    folder = tmp_path / "eval"
    _evaluation_folder(folder, "")
    create_session(database, None, SessionPlan(name="Round", eval_dir=str(folder)))
    source = json.loads(database.query_value("SELECT source_json FROM rating_sessions"))
    assert source["kind"] == "evaluation" and source["split"] == "val"
    assert source["dataset_hash"] == "abc" and source["base"] == "demo"
    assert len(source["sha256"]) == 64


def test_a_folder_without_predictions_is_not_an_evaluation(database, tmp_path):
    with pytest.raises(DataError, match="no predictions.jsonl"):
        create_session(database, None, SessionPlan(name="Round", eval_dir=str(tmp_path)))


def test_status_counts_votes_raters_and_coverage(database, tmp_path):
    clock = FakeClock()
    info = new_session(database, tmp_path, examples=2, ratings_per_item=2, clock=clock)
    rate_everything(database, info.code, clock, name="Ann")
    token = service.join(database, info.code, "Bo", clock=clock)["rater_token"]
    service.next_item(database, token, clock=clock)  # reserved, not voted
    status = session_status(database, info.session_id, clock=clock)
    assert (status["votes"], status["raters"], status["raters_voted"]) == (6, 2, 1)
    assert status["coverage"] == {"pair_items": 6, "complete": 0, "votes_per_item": {1: 6}}
    assert sum(item["reserved"] for item in status["per_item"]) == 1
    assert [s["id"] for s in list_sessions(database, clock=clock)] == [info.session_id]


def test_closed_sessions_take_no_new_raters_nor_invites(database, tmp_path):
    clock = FakeClock()
    info = new_session(database, tmp_path, clock=clock)
    summary = close_session(database, info.session_id, clock=clock)
    assert summary["state"] == "closed"
    with pytest.raises(SessionClosedError):
        service.join(database, info.code, clock=clock)
    with pytest.raises(SessionClosedError):
        add_invites(database, info.session_id, 1, clock=clock)


def test_unknown_session_id_suggests_a_close_one(database, tmp_path):
    info = new_session(database, tmp_path)
    with pytest.raises(SessionNotFoundError, match=f"Did you mean '{info.session_id}'"):
        session_status(database, info.session_id[:-1] + "x")
