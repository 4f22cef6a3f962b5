"""Where everything a user creates lives: the workspace folder and its layout.

`FTSTUDIO_HOME` sets it; otherwise it is `./workspace`. A writable `/data` means nothing:
ordinary Linux machines have one, and Spaces (which set `SPACE_ID`) no longer offer a
persistent disk there. The live database always stays on local disk; where a Space keeps
copies of it is the backup's business, not the workspace's.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ftcore.errors import WorkspaceError


def default_home() -> Path:
    """The workspace folder to use when the caller names none."""
    if env := os.environ.get("FTSTUDIO_HOME"):
        return Path(env).expanduser()
    return Path("workspace")


@dataclass(frozen=True)
class Workspace:
    """The folder layout of one workspace; creating it is idempotent."""

    root: Path

    @classmethod
    def open(cls, root: str | Path | None = None) -> Workspace:
        workspace = cls(Path(root) if root is not None else default_home())
        try:
            for folder in (workspace.root, workspace.datasets, workspace.runs, workspace.evals):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"cannot create workspace folder {workspace.root}: {exc}") from exc
        return workspace

    @property
    def db_path(self) -> Path:
        return self.root / "ftstudio.db"

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def evals(self) -> Path:
        return self.root / "evals"

    def new_eval_dir(self) -> Path:
        """A new, empty evaluation folder named by the time, made here and nowhere else:
        two evaluations started in the same second get `…-2`, `…-3` instead of resuming
        into one folder (mkdir without exist_ok is atomic, so threads cannot collide)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for attempt in range(1, 1000):
            folder = self.evals / (stamp if attempt == 1 else f"{stamp}-{attempt}")
            try:
                folder.mkdir(parents=True)
            except FileExistsError:
                continue
            except OSError as exc:
                raise WorkspaceError(f"cannot create evaluation folder {folder}: {exc}") from exc
            return folder
        raise WorkspaceError(f"no free evaluation folder name for {stamp} in {self.evals}")
