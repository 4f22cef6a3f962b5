"""`ftcore spaces export` and the spaces/ folder: what a Space gets, and what it never gets."""

import importlib.metadata
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import gradio as gr
import pytest
import yaml
from conftest import free_port
from huggingface_hub import SpaceHardware
from packaging.requirements import Requirement

from ftcore.cli import main as ftcore_main
from ftcore.db import Database
from ftcore.deploy.session_bundle import import_bundles, load_bundled_sessions, session_entry
from ftcore.deploy.spaces_export import SpaceExportError, export_space
from ftcore.errors import DataError, SessionNotFoundError
from ftcore.rating import service
from ftcore.ui.rating_widgets import SECRET_FILE, browser_secret
from ftcore.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
FAKE_TOKEN = "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123"
MODEL_STACK = ("torch", "transformers", "peft", "accelerate", "bitsandbytes", "evaluate")


def front_matter(path: Path) -> dict:
    _, header, _ = path.read_text("utf-8").split("---\n", 2)
    return yaml.safe_load(header)


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


@pytest.fixture
def rated_home(tmp_path, make_rating_session, monkeypatch):
    """A workspace with one session that a rater already joined and voted in, its browser
    secret made, and an HF token in the environment: all things an export must leave."""
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    home = tmp_path / "home"
    info = make_rating_session(home, examples=3, ratings_per_item=1, min_seconds=0)
    secret = browser_secret(home)
    database = Database.for_workspace(Workspace.open(home))
    joined = service.join(database, info.code, "小明")
    item = service.next_item(database, joined["rater_token"])
    scores = {side: dict.fromkeys(["completeness", "fluency", "style_fit", "sincerity"], 3)
              for side in "AB"}  # fmt: skip
    service.vote(database, joined["rater_token"], item["item_token"], "A", scores)
    database.close()
    return home, info, {"secret": secret, "rater_token": joined["rater_token"]}


# --- the spaces/ folder -------------------------------------------------------------


def test_the_space_front_matter_names_what_the_hub_needs():
    meta = front_matter(ROOT / "spaces" / "README.md")
    assert meta["sdk"] == "gradio"
    assert meta["sdk_version"] == gr.__version__  # the Gradio the tests ran
    assert meta["python_version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert meta["app_file"] == "app.py" and (ROOT / meta["app_file"]).is_file()
    assert meta["hf_oauth"] is True
    assert 0 < len(meta["short_description"]) <= 60  # the Hub's limit
    assert meta["suggested_hardware"] in {hardware.value for hardware in SpaceHardware}
    assert meta["suggested_hardware"] == "zero-a10g"  # the one free accounts may create


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-rater.txt"])
def test_requirements_are_pinned_to_what_the_tests_ran(name):
    lines = (ROOT / "spaces" / name).read_text("utf-8").splitlines()
    requirements = [Requirement(line) for line in lines if line and not line.startswith("#")]
    for requirement in requirements:
        installed = importlib.metadata.version(requirement.name)
        if requirement.name == "torch":  # a range, so that each Space gets its own build
            assert requirement.specifier.contains(installed.split("+")[0]), installed
            assert "==" not in str(requirement.specifier)
        else:
            assert str(requirement.specifier) == f"=={installed}", requirement
    names = {requirement.name.lower() for requirement in requirements}
    assert "gradio" not in names  # sdk_version installs it; two pins could disagree
    assert {"authlib", "itsdangerous"} <= names  # HF login
    if name == "requirements-rater.txt":
        assert not names & set(MODEL_STACK)
    else:
        assert {"torch", "transformers", "peft"} <= names


# --- the export -----------------------------------------------------------------------


def test_an_export_holds_app_package_rubrics_model_and_the_chosen_session(rated_home, tmp_path):
    home, info, secrets = rated_home
    export = export_space(tmp_path / "space", Workspace.open(home), [info.session_id])
    files = files_under(export.out)
    for needed in (
        "app.py",
        "README.md",
        "requirements.txt",
        "ftcore/__init__.py",
        "ftcore/ui/rater_app.py",
        "rubrics/greeting.yaml",
        "data/demo-model/model.safetensors",
        "data/greetings/spring_festival_greetings.jsonl",
        f"sessions/{info.session_id}.json",
    ):
        assert needed in files, needed
    assert files["README.md"] == (ROOT / "spaces" / "README.md").read_bytes()
    assert files["requirements.txt"] == (ROOT / "spaces" / "requirements.txt").read_bytes()
    assert files["packages.txt"].decode().split() == ["fonts-noto-cjk"]  # Chinese in plots
    assert (export.files, export.size_bytes) == (len(files), sum(map(len, files.values())))
    assert export.sessions == [info.session_id]
    # Never: the database, the browser secret, caches, a token, a rater's token, or a
    # spaces/ folder (it would shadow the `spaces` package ZeroGPU needs).
    names = list(files)
    assert not [n for n in names if n.endswith((".db", ".db-wal", ".sqlite")) or n == "db"]
    assert not [n for n in names if n.endswith(SECRET_FILE) or "__pycache__" in n]
    assert not [n for n in names if n.split("/")[0] in ("spaces", "workspace", "tests")]
    for secret in (secrets["secret"], FAKE_TOKEN, secrets["rater_token"]):
        assert not [n for n, data in files.items() if secret.encode() in data], secret
    bundle = json.loads(files[f"sessions/{info.session_id}.json"])
    assert set(bundle["rows"]) == {"rating_sessions", "rating_items", "rating_invites"}


def test_a_rater_only_export_leaves_the_model_and_its_stack_out(rated_home, tmp_path):
    home, info, _ = rated_home
    export = export_space(tmp_path / "space", Workspace.open(home), [info.session_id], True)
    files = files_under(export.out)
    assert not [name for name in files if name.startswith("data/")]
    assert files["requirements.txt"] == (ROOT / "spaces" / "requirements-rater.txt").read_bytes()
    assert f"sessions/{info.session_id}.json" in files
    assert export.size_bytes < 3 * 1024 * 1024  # the package and rubrics: no 18 MB model


def test_an_export_refuses_a_used_folder_and_an_unknown_session(rated_home, tmp_path):
    home, _, _ = rated_home
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "old.txt").write_text("x")
    with pytest.raises(SpaceExportError, match="used is not an empty folder"):
        export_space(tmp_path / "used")
    with pytest.raises(SessionNotFoundError, match="'nope'"):
        export_space(tmp_path / "new", Workspace.open(home), ["nope"], rater_only=True)


def test_the_cli_exports_and_says_how_to_push(rated_home, tmp_path, capsys):
    home, info, _ = rated_home
    out = tmp_path / "space"
    code = ftcore_main(
        ["spaces", "export", "--out", str(out), "--session", info.session_id]
        + ["--home", str(home), "--rater-only"]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert f"sessions/{info.session_id}.json" in printed
    assert f"hf upload USER/SPACE {out} . --repo-type space" in printed
    assert "FTSTUDIO_MODE=rater" in printed
    assert ftcore_main(["spaces", "export", "--out", str(out)]) == 1  # not empty now


# --- session bundles ------------------------------------------------------------------


def test_a_bundled_session_is_imported_once_and_takes_raters(rated_home, tmp_path):
    home, info, _ = rated_home
    source = Database.for_workspace(Workspace.open(home))
    export_space(tmp_path / "space", Workspace.open(home), [info.session_id], rater_only=True)
    space = Workspace.open(tmp_path / "space-home")
    first = load_bundled_sessions(space, tmp_path / "space" / "sessions")
    assert dict(first.inserted) == {"rating_sessions": 1, "rating_items": 3}
    again = load_bundled_sessions(space, tmp_path / "space" / "sessions")  # a restart
    assert dict(again.inserted) == {} and dict(again.present) == dict(first.inserted)
    database = Database.for_workspace(space)
    for table in ("rating_sessions", "rating_items", "rating_invites"):
        sql = f"SELECT * FROM {table} ORDER BY rowid"
        assert database.query(sql) == source.query(sql), table
    # Votes and raters stay behind; a rater on the Space starts afresh with the same code.
    assert database.query_value("SELECT COUNT(*) FROM rating_votes") == 0
    joined = service.join(database, info.code, "小红")
    assert service.next_item(database, joined["rater_token"])["prompt"].startswith("给第")


def test_a_bundle_whose_item_ids_are_taken_is_refused_by_name(rated_home, tmp_path):
    home, info, _ = rated_home
    database = Database.for_workspace(Workspace.open(home))
    entry = session_entry(database, info.session_id)
    folder = tmp_path / "bundles"
    folder.mkdir()
    other = {**entry["rows"]["rating_sessions"][0], "id": "other", "open_code": "OTHER"}
    entry["rows"]["rating_sessions"] = [other]
    entry["rows"]["rating_invites"] = []
    (folder / "other.json").write_text(json.dumps(entry), "utf-8")
    with pytest.raises(DataError, match=r"other.json: item ids \[1, 2, 3\] already belong"):
        import_bundles(database, folder)
    (folder / "other.json").write_text('{"kind": "vote"}', "utf-8")
    with pytest.raises(DataError, match="other.json: not a session bundle"):
        import_bundles(database, folder)


# --- the exported folder, started as a Space would -------------------------------------

BLOCK_MODEL_STACK = """
import importlib.abc, runpy, sys
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"{{name}} is not installed on a rater-only Space")
sys.meta_path.insert(0, Blocked())
sys.argv = ["app.py", "--port", "{port}"]
runpy.run_path("app.py", run_name="__main__")
"""


def test_a_rater_only_export_starts_as_a_space_without_the_model_stack(rated_home, tmp_path):
    from gradio_client import Client

    home, info, _ = rated_home
    out = export_space(tmp_path / "space", Workspace.open(home), [info.session_id], True).out
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FTSTUDIO_", "HF_TOKEN"))},
        "SPACE_ID": "teacher/greetings",
        "FTSTUDIO_HOME": str(tmp_path / "container-disk"),
        "GRADIO_SERVER_NAME": "127.0.0.1",
    }
    script = BLOCK_MODEL_STACK.format(blocked=set(MODEL_STACK), port=port)
    with open(tmp_path / "server.log", "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-c", script], cwd=out, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        page = response.read().decode("utf-8")
                        break
                except OSError:
                    assert server.poll() is None, (tmp_path / "server.log").read_text()
                    assert time.monotonic() < deadline, "no page after 90 s"
                    time.sleep(0.3)
            assert "Votes will be lost on restart" in page  # no FTSTUDIO_BACKUP_DIR
            client = Client(url, verbose=False)
            joined = client.predict(info.code, "远程", api_name="/rating_join")
            assert joined["session"]["items_total"] == 3  # the bundled session, imported
            endpoints = client.view_api(return_format="dict", print_info=False)
            assert set(endpoints["named_endpoints"]) == {
                "/rating_join",
                "/rating_next",
                "/rating_vote",
            }
        finally:
            server.terminate()
            server.wait(timeout=20)
