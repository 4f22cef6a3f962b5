"""Where everything a user creates lives: the workspace folder and its layout.

`FTSTUDIO_HOME` sets it. Otherwise a Space with persistent storage (a writable `/data`)
gets `/data/ftstudio`, and a local checkout gets `./workspace`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ftcore.errors import WorkspaceError

SPACES_STORAGE = Path("/data")


def default_home() -> Path:
    """The workspace folder to use when the caller names none."""
    if env := os.environ.get("FTSTUDIO_HOME"):
        return Path(env).expanduser()
    if SPACES_STORAGE.is_dir() and os.access(SPACES_STORAGE, os.W_OK):
        return SPACES_STORAGE / "ftstudio"
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

    @property
    def on_network_storage(self) -> bool:
        """True on a Space's bucket-mounted /data, which has no file locking."""
        resolved = self.root.resolve()
        return resolved == SPACES_STORAGE or SPACES_STORAGE in resolved.parents
