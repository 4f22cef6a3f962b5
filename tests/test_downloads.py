"""Downloads: written below Gradio's upload folder, old ones pruned, nothing left in /tmp."""

from __future__ import annotations

import os
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from ftcore.ui.downloads import KEEP_S, download_dir, downloads_root, zip_folder


@pytest.fixture
def gradio_temp(tmp_path, monkeypatch):
    """Gradio's upload folder in this test's folder, and /tmp watched for strays."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    before = set(Path(tempfile.gettempdir()).glob("ftstudio-*"))
    yield tmp_path / "gradio"
    assert set(Path(tempfile.gettempdir()).glob("ftstudio-*")) == before


def test_a_zip_holds_the_folder_and_lives_in_the_downloads_folder(gradio_temp, tmp_path):
    source = tmp_path / "v1"
    source.mkdir()
    (source / "train.jsonl").write_text('{"a": 1}\n', "utf-8")
    archive = Path(zip_folder(source, "greetings-v1"))
    assert archive.name == "greetings-v1.zip"
    assert archive.parent.parent == downloads_root() == gradio_temp / "ftstudio-downloads"
    with zipfile.ZipFile(archive) as opened:
        assert opened.read("train.jsonl") == b'{"a": 1}\n'
    again = Path(zip_folder(source, "greetings-v1"))  # a second click: a second file
    assert again != archive and archive.is_file()


def test_downloads_older_than_an_hour_are_pruned_by_the_next_one(gradio_temp, tmp_path):
    old, recent = download_dir("rating-1"), download_dir("rating-2")
    (old / "votes.csv").write_text("a,b\n", "utf-8")
    an_hour_ago = time.time() - KEEP_S - 5
    os.utime(old.parent, (an_hour_ago, an_hour_ago))
    newest = download_dir("rating-3")
    assert not old.parent.exists()
    assert recent.is_dir() and newest.is_dir() and newest.name == "rating-3"
    assert sorted(p.name for p in downloads_root().glob("*/*")) == ["rating-2", "rating-3"]
