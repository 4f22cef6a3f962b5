"""`ftcore rate …`: create, list, status, close, invite, export; clean one-line errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

from test_rating_sessions import MODELS, prediction_rows, write_jsonl

from ftcore.cli import main
from ftcore.db import Database
from ftcore.rating import service
from ftcore.workspace import Workspace


def _create(tmp_path, capsys, *flags: str) -> dict:
    path = write_jsonl(tmp_path / "p.jsonl", prediction_rows(2))
    home = str(tmp_path / "home")
    argv = ["rate", "create", "--predictions", str(path), "--rubric", "greeting"]
    argv += ["--name", "Round 1", "--home", home, "--json", *flags]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_create_json_is_one_object_with_id_code_and_link(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", prediction_rows(2))
    command = [sys.executable, "-m", "ftcore", "rate", "create", "--predictions", str(path)]
    command += ["--rubric", "greeting", "--name", "Round 1", "--models", f"{MODELS[0]},{MODELS[1]}"]
    command += ["--ratings-per-item", "2", "--repeat-share", "0.1", "--min-seconds", "3"]
    command += ["--home", str(tmp_path / "home"), "--json"]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    created = json.loads(result.stdout)  # the whole of stdout is one JSON object
    assert result.stdout.count("\n") == 1
    assert created["link"] == f"?session={created['code']}"
    assert created["url"] == f"http://127.0.0.1:7860/?session={created['code']}"
    assert (created["items"], created["models"]) == (2, list(MODELS[:2]))
    database = Database.for_workspace(Workspace.open(tmp_path / "home"))
    session = database.query("SELECT * FROM rating_sessions")[0]
    database.close()
    assert session["id"] == created["session_id"]
    assert (session["ratings_per_item"], session["repeat_share"], session["min_seconds"]) == (
        2,
        0.1,
        3.0,
    )


def test_invite_only_create_prints_personal_links(tmp_path, capsys):
    created = _create(tmp_path, capsys, "--invite", "3")
    assert created["access"] == "invite" and created["code"] is None
    assert len(created["invite_urls"]) == 3
    assert created["invite_urls"][0].endswith(f"?session={created['invite_codes'][0]}")


def test_list_status_invite_close_and_export(tmp_path, capsys):
    created = _create(tmp_path, capsys, "--min-seconds", "0")
    home = ["--home", str(tmp_path / "home")]
    session_id = created["session_id"]
    database = Database.for_workspace(Workspace.open(tmp_path / "home"))
    token = service.join(database, created["code"], "Ann")["rater_token"]
    item = service.next_item(database, token)
    scores = {
        s: dict.fromkeys(("completeness", "fluency", "style_fit", "sincerity"), 4) for s in "AB"
    }
    service.vote(database, token, item["item_token"], "tie", scores, "=1+1")
    database.close()

    assert main(["rate", "list", "--json", *home]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["id"], listed["votes"], listed["raters"], listed["items"]) == (
        session_id,
        1,
        1,
        6,
    )

    assert main(["rate", "status", session_id, "--json", *home]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["coverage"] == {
        "pair_items": 6,
        "complete": 0,
        "votes_per_item": {"0": 5, "1": 1},
    }
    assert main(["rate", "status", session_id, *home]) == 0
    shown = capsys.readouterr().out
    assert "votes 1, raters joined 1, voted 1" in shown and shown.count(" pair  ex") == 6

    assert main(["rate", "invite", session_id, "--n", "2", "--json", *home]) == 0
    assert len(json.loads(capsys.readouterr().out)["codes"]) == 2

    assert main(["rate", "close", session_id, *home]) == 0
    assert f"session {session_id} closed at" in capsys.readouterr().out

    assert main(["rate", "export", session_id, "--out", str(tmp_path / "out"), *home]) == 0
    with open(tmp_path / "out" / "votes.csv", encoding="utf-8-sig", newline="") as file:
        (row,) = list(csv.DictReader(file))
    assert (row["choice"], row["winner"], row["comment"]) == ("tie", "tie", "'=1+1")


def test_errors_are_one_line_and_exit_code_1(tmp_path, capsys):
    home = ["--home", str(tmp_path / "home")]
    assert main(["rate", "status", "nope", *home]) == 1
    assert capsys.readouterr().err == "ftcore rate: error: no rating session 'nope'.\n"
    path = write_jsonl(tmp_path / "p.jsonl", prediction_rows(1))
    argv = ["rate", "create", "--predictions", str(path), "--name", "R", "--rubric", "greting"]
    assert main([*argv, *home]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Did you mean 'greeting'?" in err
    argv = ["rate", "create", "--predictions", str(path), "--name", "R", "--repeat-share", "2"]
    assert main([*argv, *home]) == 1
    assert "repeat_share=2.0 is not allowed" in capsys.readouterr().err
