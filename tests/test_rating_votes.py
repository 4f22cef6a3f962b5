"""The rater API's rules: what a vote stores, what is refused (storing nothing), and blindness."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from test_rating_sessions import (
    MODELS,
    FakeClock,
    new_session,
    prediction_rows,
    scores,
    write_jsonl,
)

from ftcore.errors import (
    DuplicateVoteError,
    InvalidVoteError,
    SessionClosedError,
    SessionNotFoundError,
    UnknownTokenError,
)
from ftcore.rating import service
from ftcore.rating.plan import SessionPlan
from ftcore.rating.sessions import add_invites, close_session, create_session
from ftcore.rating.votes import MAX_COMMENT


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def served(database, tmp_path, clock):
    """A two-model session (min 5 s per item), a rater, and the item served to them."""
    info = new_session(
        database, tmp_path, examples=3, models=MODELS[:2], min_seconds=5, clock=clock
    )
    token = service.join(database, info.code, "Ann", clock=clock)["rater_token"]
    item = service.next_item(database, token, clock=clock)
    return {"info": info, "token": token, "item": item}


def stored_rows(database) -> dict:
    return {
        "votes": database.query_value("SELECT COUNT(*) FROM rating_votes"),
        "voted": database.query_value(
            "SELECT COUNT(*) FROM rating_assignments WHERE voted_at IS NOT NULL"
        ),
    }


def test_a_vote_stores_everything_needed_to_undo_the_sides(database, served, clock):
    clock.advance(42.5)
    given = scores(3, A_fluency=5, B_sincerity=1)
    result = service.vote(
        database, served["token"], served["item"]["item_token"], "A", given, "  好  ", clock=clock
    )
    vote = database.query("SELECT * FROM rating_votes")[0]
    serve = database.query(
        "SELECT a.left_is_first, i.model_first FROM rating_assignments a "
        "JOIN rating_items i ON i.id = a.item_id"
    )[0]
    # Each text ends in "（MODEL）": which model the rater saw as A is read off the page.
    (left,) = [m for m in MODELS[:2] if m in served["item"]["response_a"]]
    (right,) = [m for m in MODELS[:2] if m in served["item"]["response_b"]]
    assert serve["left_is_first"] == (serve["model_first"] == left)
    assert result == {
        "ok": True,
        "vote_id": vote["id"],
        "flags": [],
        "progress": {"done": 1, "total": 3},
    }
    assert (vote["left_model"], vote["right_model"], vote["winner"]) == (left, right, left)
    assert json.loads(vote["scores_json"]) == {"left": given["A"], "right": given["B"]}
    assert (vote["choice"], vote["comment"], vote["seconds"], vote["round"]) == ("A", "好", 42.5, 0)
    assert vote["served_at"] == "2027-01-15T08:00:00.000+00:00"
    assert vote["created_at"] == "2027-01-15T08:00:42.500+00:00"
    assert len(vote["id"]) == 36 and vote["id"].count("-") == 4  # a uuid


@pytest.mark.parametrize(
    ("choice", "winner_side"), [("A", "left"), ("B", "right"), ("tie", None), ("both_bad", None)]
)
def test_the_winner_is_a_model_or_the_choice(database, served, clock, choice, winner_side):
    clock.advance(10)
    service.vote(
        database, served["token"], served["item"]["item_token"], choice, scores(), clock=clock
    )
    vote = database.query("SELECT left_model, right_model, winner FROM rating_votes")[0]
    expected = vote[f"{winner_side}_model"] if winner_side else choice
    assert vote["winner"] == expected


def test_a_fast_vote_is_stored_but_flagged(database, served, clock):
    clock.advance(4.9)
    result = service.vote(
        database, served["token"], served["item"]["item_token"], "B", scores(), clock=clock
    )
    assert result["flags"] == ["too_fast"]
    assert database.query_value("SELECT flags FROM rating_votes") == "too_fast"


def test_scores_may_come_as_the_api_json_text(database, served, clock):
    text = json.dumps(scores(4))
    service.vote(database, served["token"], served["item"]["item_token"], "tie", text, clock=clock)
    assert (
        json.loads(database.query_value("SELECT scores_json FROM rating_votes"))["left"]
        == (scores(4)["A"])
    )


def test_a_second_vote_on_the_same_item_is_refused(database, served, clock):
    token, item = served["token"], served["item"]["item_token"]
    service.vote(database, token, item, "A", scores(), clock=clock)
    with pytest.raises(DuplicateVoteError):
        service.vote(database, token, item, "B", scores(), clock=clock)
    assert stored_rows(database) == {"votes": 1, "voted": 1}
    assert database.query_value("SELECT choice FROM rating_votes") == "A"


def test_the_unique_constraint_holds_even_past_the_library(database, served, clock):
    token, item = served["token"], served["item"]["item_token"]
    service.vote(database, token, item, "A", scores(), clock=clock)
    row = database.query("SELECT * FROM rating_votes")[0]
    with pytest.raises(Exception, match="UNIQUE"), database.transaction() as conn:
        conn["rating_votes"].insert({**row, "id": "another-id", "assignment_id": 999})


def test_a_vote_with_another_raters_item_token_is_refused(database, served, clock):
    other = service.join(database, served["info"].code, "Bo", clock=clock)["rater_token"]
    with pytest.raises(UnknownTokenError, match="not served to this rater"):
        service.vote(database, other, served["item"]["item_token"], "A", scores(), clock=clock)
    with pytest.raises(UnknownTokenError):
        service.vote(database, served["token"], "made-up", "A", scores(), clock=clock)
    with pytest.raises(UnknownTokenError, match="unknown rater token"):
        service.vote(database, "made-up", served["item"]["item_token"], "A", scores(), clock=clock)
    assert stored_rows(database) == {"votes": 0, "voted": 0}


def test_a_closed_session_refuses_votes(database, served, clock):
    close_session(database, served["info"].session_id, clock=clock)
    with pytest.raises(SessionClosedError):
        service.vote(
            database, served["token"], served["item"]["item_token"], "A", scores(), clock=clock
        )
    assert stored_rows(database) == {"votes": 0, "voted": 0}
    assert service.next_item(database, served["token"], clock=clock)["reason"] == "closed"


def test_a_session_past_its_closing_time_refuses_votes(database, tmp_path, clock):
    info = new_session(database, tmp_path, closes_at="2027-01-15T09:00:00+00:00", clock=clock)
    token = service.join(database, info.code, clock=clock)["rater_token"]
    item = service.next_item(database, token, clock=clock)
    clock.advance(3600)
    with pytest.raises(SessionClosedError):
        service.vote(database, token, item["item_token"], "A", scores(), clock=clock)
    assert stored_rows(database) == {"votes": 0, "voted": 0}


@pytest.mark.parametrize(
    ("choice", "given", "comment", "message"),
    [
        ("C", scores(), "", "choice='C' is not allowed: expected one of A, B, tie, both_bad"),
        ("both bad", scores(), "", "both_bad. Did you mean 'both_bad'?"),
        ("A", scores(A_fluency=6), "", "scores.A.fluency=6 is not allowed: expected an integer"),
        ("A", scores(B_sincerity=0), "", "scores.B.sincerity=0"),
        ("A", scores(A_fluency=True), "", "scores.A.fluency=True"),
        ("A", scores(A_fluency=3.5), "", "scores.A.fluency=3.5"),
        ("A", scores(A_fluency="4"), "", "scores.A.fluency='4'"),
        ("A", {"A": scores()["A"]}, "", 'keys "A" and "B"'),
        ("A", {**scores(), "B": {"fluency": 3}}, "", "scores.B.completeness is missing"),
        ("A", {**scores(), "A": {**scores()["A"], "flency": 3}}, "", "Did you mean 'fluency'"),
        ("A", "{not json", "", "expected JSON"),
        ("A", scores(), "好" * (MAX_COMMENT + 1), f"at most {MAX_COMMENT}"),
        ("A", scores(), 7, "comment=7 is not allowed: expected text"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_nothing_stored(
    database, served, clock, choice, given, comment, message
):
    with pytest.raises(InvalidVoteError) as error:
        service.vote(
            database,
            served["token"],
            served["item"]["item_token"],
            choice,
            given,
            comment,
            clock=clock,
        )
    assert message in str(error.value)
    assert stored_rows(database) == {"votes": 0, "voted": 0}
    # The item stays open: the same rater can still vote on it properly.
    service.vote(
        database, served["token"], served["item"]["item_token"], "A", scores(), clock=clock
    )


def test_a_wrong_gold_choice_is_flagged(database, tmp_path, clock):
    gold = write_jsonl(
        tmp_path / "gold.jsonl", [{"id": "g", "prompt": "金", "better": "好", "worse": "差"}]
    )
    path = write_jsonl(tmp_path / "p.jsonl", prediction_rows(1, models=MODELS[:2]))
    plan = SessionPlan(name="Gold", predictions=str(path), gold=str(gold), min_seconds=0)
    info = create_session(database, None, plan, clock=clock)
    token = service.join(database, info.code, clock=clock)["rater_token"]
    flags = {}
    while "item_token" in (item := service.next_item(database, token, clock=clock)):
        wrong = "A" if item["response_a"] == "差" else "B"
        choice = wrong if item["prompt"] == "金" else "tie"
        result = service.vote(database, token, item["item_token"], choice, scores(), clock=clock)
        flags[item["prompt"]] = result["flags"]
    assert flags["金"] == ["gold_miss"]
    assert [f for p, f in flags.items() if p != "金"] == [[]]
    assert database.query_value("SELECT winner FROM rating_votes WHERE flags = 'gold_miss'") == (
        "gold:worse"
    )


def test_joining_again_with_the_browser_token_or_identity_is_the_same_rater(database, served):
    code, token = served["info"].code, served["token"]
    assert service.join(database, code, rater_token=token)["rater_token"] == token
    first = service.join(database, code, identity="hf-user")["rater_token"]
    assert service.join(database, code, identity="hf-user")["rater_token"] == first != token
    assert service.join(database, code)["rater_token"] not in (token, first)
    assert database.query_value("SELECT COUNT(*) FROM rating_raters") == 3


def test_invite_only_sessions_need_a_personal_code(database, tmp_path):
    info = new_session(database, tmp_path, access="invite", invites=2)
    assert info.code is None and info.link is None and len(info.invite_codes) == 2
    ann = service.join(database, info.invite_codes[0], "Ann")["rater_token"]
    assert service.join(database, info.invite_codes[0])["rater_token"] == ann  # another device
    bo = service.join(database, info.invite_codes[1], "Bo")["rater_token"]
    assert bo != ann
    later = add_invites(database, info.session_id, 1)
    assert service.join(database, later[0])["rater_token"] not in (ann, bo)
    with pytest.raises(SessionNotFoundError, match="no rating session has the code"):
        service.join(database, "not-a-code")


def test_a_reloaded_page_gets_the_session_and_progress(database, served, clock):
    view = service.session_view(database, served["token"])
    joined = service.join(database, served["info"].code, rater_token=served["token"])
    assert view == {**joined, "progress": {"done": 0, "total": 3}}
    assert view["session"]["title"] == "Greetings round 1"
    assert [c["id"] for c in view["session"]["criteria"]] == [
        "completeness",
        "fluency",
        "style_fit",
        "sincerity",
    ]
    assert set(view["session"]["criteria"][0]["scale"]) == {"1", "2", "3", "4", "5"}


def test_no_rater_payload_names_a_model_or_an_internal_id(database, tmp_path, clock):
    gold = write_jsonl(
        tmp_path / "gold.jsonl", [{"id": "g", "prompt": "金", "better": "好", "worse": "差"}]
    )
    rows = [
        {**row, "prediction": f"回复 {row['id']}"}  # texts free of model names, as real ones are
        for row in prediction_rows(3)
    ]
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    plan = SessionPlan(
        name="Greetings", predictions=str(path), gold=str(gold), repeat_share=0.3, min_seconds=0
    )
    info = create_session(database, None, plan, clock=clock)
    payloads = [service.join(database, info.code, "Ann", clock=clock)]
    token = payloads[0]["rater_token"]
    while "item_token" in (item := service.next_item(database, token, clock=clock)):
        payloads.append(item)
        payloads.append(service.next_item(database, token, clock=clock))  # a reload
        payloads.append(service.session_view(database, token))
        payloads.append(
            service.vote(database, token, item["item_token"], "A", scores(), clock=clock)
        )
    payloads.append(item)
    assert len(payloads) > 40
    text = json.dumps(payloads, ensure_ascii=False)
    forbidden = [*MODELS, "SECRET", "gold:", info.session_id]
    forbidden += [r["id"] for r in database.query("SELECT id FROM rating_raters")]
    assert [word for word in forbidden if word in text] == []
    for payload in payloads:
        assert not {"model", "models", "item_id", "session_id", "left_model"} & set(payload)


def test_the_rating_library_loads_without_torch_or_gradio():
    """A rater-only Space serves ratings without paying for a model library."""
    code = (
        "import sys, ftcore.rating.service, ftcore.rating.sessions, ftcore.rating.export\n"
        "print(sorted({'torch', 'transformers', 'gradio', 'peft'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
