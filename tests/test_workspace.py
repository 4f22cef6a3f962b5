"""Where the workspace lives and what it holds."""

from pathlib import Path

import pytest

from ftcore.errors import WorkspaceError
from ftcore.workspace import Workspace, default_home


def test_ftstudio_home_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("FTSTUDIO_HOME", str(tmp_path / "mine"))
    assert default_home() == tmp_path / "mine"


def test_spaces_storage_is_used_when_writable(monkeypatch, tmp_path):
    monkeypatch.delenv("FTSTUDIO_HOME", raising=False)
    monkeypatch.setattr("ftcore.workspace.SPACES_STORAGE", tmp_path)
    assert default_home() == tmp_path / "ftstudio"


def test_local_default_is_the_workspace_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("FTSTUDIO_HOME", raising=False)
    monkeypatch.setattr("ftcore.workspace.SPACES_STORAGE", tmp_path / "absent")
    assert default_home() == Path("workspace")


def test_open_creates_the_layout(tmp_path):
    workspace = Workspace.open(tmp_path / "w")
    for folder in (workspace.datasets, workspace.runs, workspace.evals):
        assert folder.is_dir()
    assert workspace.db_path == tmp_path / "w" / "ftstudio.db"
    assert not workspace.on_network_storage


def test_unusable_folder_names_the_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(WorkspaceError, match=str(blocker)):
        Workspace.open(blocker / "home")
