"""Files the browser downloads, in one folder that is pruned as new downloads are made.

Gradio serves a returned file only from its allowed places, and copies it into its own
cache before the browser fetches it, so a download's own file is needed for seconds only.
Each is written to a folder of its own below Gradio's upload folder (always allowed), in
ftstudio-downloads/, and every download older than KEEP_S is deleted whenever a new one
is made: nothing piles up in /tmp, and a page that is slow to fetch still finds its file.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

KEEP_S = 3600.0  # a download's files are kept this long after they were written


def downloads_root() -> Path:
    """The folder that holds every download's files."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()) / "ftstudio-downloads"


def prune_downloads(root: Path, max_age_s: float = KEEP_S) -> list[Path]:
    """Delete the downloads in `root` written more than `max_age_s` seconds ago; return them."""
    cutoff = time.time() - max_age_s
    old = []
    for entry in root.iterdir():
        try:
            if entry.stat().st_mtime < cutoff:
                old.append(entry)
        except FileNotFoundError:  # pruned by a request running at the same time
            continue
    for entry in old:
        shutil.rmtree(entry, ignore_errors=True)
    return old


def _new_download() -> Path:
    root = downloads_root()
    root.mkdir(parents=True, exist_ok=True)
    prune_downloads(root)
    # A folder per download, so two downloads of one name (two clicks) never collide.
    return Path(tempfile.mkdtemp(dir=root))


def download_dir(name: str) -> Path:
    """A new, empty folder `name` for one download's files."""
    folder = _new_download() / name
    folder.mkdir()
    return folder


def offer_copies(paths: Sequence[Path], name: str) -> list[str]:
    """Copies of `paths` (files kept elsewhere, such as a report in the workspace) in a new
    download folder `name`, in order: the browser gets them without the workspace itself
    ever being served."""
    folder = download_dir(name)
    return [str(shutil.copy2(path, folder / path.name)) for path in paths]


def zip_folder(folder: Path, name: str) -> str:
    """A zip of `folder` named `name`.zip, for the browser to download."""
    return shutil.make_archive(str(_new_download() / name), "zip", folder)
