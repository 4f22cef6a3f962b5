"""`ftcore spaces export`: a folder to push to a Hugging Face Space as it is.

It holds the launcher (app.py), the ftcore package, the rubrics, the Space's README (front
matter) and requirements from spaces/, the demo model and sample data unless rater-only,
and the chosen rating sessions as bundles under sessions/, which the Space imports at
start (ftcore.deploy.session_bundle). It never holds the workspace database, the
browser-state secret, a token or any other file of the workspace: the only things read
from the workspace are the chosen sessions' rows, written afresh.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ftcore.db import Database
from ftcore.deploy.session_bundle import write_bundles
from ftcore.errors import FtcoreError
from ftcore.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parents[2]
SPACE_FILES = REPO_ROOT / "spaces"
BUNDLE_FOLDER = "sessions"  # app.py imports the bundles found here at start
# (source under the repository, destination in the Space folder)
COMMON = [("app.py", "app.py"), ("ftcore", "ftcore"), ("rubrics", "rubrics")]
MODEL_AND_SAMPLES = [
    # Debian packages the Space installs: without a CJK font the admin area's plots draw
    # every Chinese model or rater name as boxes (the rater page uses the browser's fonts).
    ("spaces/packages.txt", "packages.txt"),
    ("data/README.md", "data/README.md"),  # the demo model's card and the data licences
    ("data/demo-model", "data/demo-model"),
    ("data/greetings", "data/greetings"),
    ("data/multiturn", "data/multiturn"),
    ("data/probe", "data/probe"),
]
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*")


class SpaceExportError(FtcoreError):
    """The Space folder cannot be assembled; the message names the path."""


@dataclass
class SpaceExport:
    """What `export_space` wrote."""

    out: Path
    rater_only: bool
    sessions: list[str] = field(default_factory=list)
    files: int = 0
    size_bytes: int = 0


def _copy(source: Path, target: Path) -> None:
    if not source.exists():
        raise SpaceExportError(
            f"{source} is missing: export from a checkout of the ftstudio repository"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, ignore=SKIPPED)
    else:
        shutil.copy2(source, target)


def export_space(
    out: str | Path,
    workspace: Workspace | None = None,
    session_ids: list[str] | None = None,
    rater_only: bool = False,
) -> SpaceExport:
    """Assemble the Space folder at `out` (new or empty) with `session_ids` of `workspace`
    (default: FTSTUDIO_HOME) bundled; `rater_only` leaves the model, the samples and the
    model stack's requirements out."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SpaceExportError(f"{out} is not an empty folder: export into a new one")
    out.mkdir(parents=True, exist_ok=True)
    requirements = "requirements-rater.txt" if rater_only else "requirements.txt"
    parts = [*COMMON, ("spaces/README.md", "README.md"), (f"spaces/{requirements}", "")]
    for source, target in parts + ([] if rater_only else MODEL_AND_SAMPLES):
        _copy(REPO_ROOT / source, out / (target or "requirements.txt"))
    sessions = list(dict.fromkeys(session_ids or []))
    if sessions:
        database = Database.for_workspace(workspace or Workspace.open())
        try:
            write_bundles(database, sessions, out / BUNDLE_FOLDER)
        finally:
            database.close()
    files = [path for path in out.rglob("*") if path.is_file()]
    return SpaceExport(
        out, rater_only, sessions, len(files), sum(path.stat().st_size for path in files)
    )
