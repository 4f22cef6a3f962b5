"""Where the workspace lives and what it holds."""

from pathlib import Path

import pytest

from ftcore.errors import WorkspaceError
from ftcore.workspace import Workspace, default_home


def test_ftstudio_home_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("FTSTUDIO_HOME", str(tmp_path / "mine"))
    assert default_home() == tmp_path / "mine"


@pytest.mark.parametrize("space_id", [None, "someone/ratings"])
def test_default_is_the_local_workspace_folder_whatever_data_holds(monkeypatch, space_id):
    # A writable /data is common on ordinary Linux machines and means nothing; Spaces set
    # SPACE_ID but have no persistent /data disk any more (2026): local disk either way.
    monkeypatch.delenv("FTSTUDIO_HOME", raising=False)
    if space_id:
        monkeypatch.setenv("SPACE_ID", space_id)
    monkeypatch.setattr("os.access", lambda *args, **kwargs: True)
    assert default_home() == Path("workspace")


def test_open_creates_the_layout(tmp_path):
    workspace = Workspace.open(tmp_path / "w")
    for folder in (workspace.datasets, workspace.runs, workspace.evals):
        assert folder.is_dir()
    assert workspace.db_path == tmp_path / "w" / "ftstudio.db"


def test_unusable_folder_names_the_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(WorkspaceError, match=str(blocker)):
        Workspace.open(blocker / "home")


def test_evaluation_folders_started_in_the_same_second_are_distinct(tmp_path, monkeypatch):
    monkeypatch.setattr("time.strftime", lambda fmt: "20261130-120000")
    workspace = Workspace.open(tmp_path / "w")
    folders = [workspace.new_eval_dir() for _ in range(3)]
    assert [f.name for f in folders] == [
        "20261130-120000",
        "20261130-120000-2",
        "20261130-120000-3",
    ]
    assert all(f.is_dir() and not any(f.iterdir()) for f in folders)
