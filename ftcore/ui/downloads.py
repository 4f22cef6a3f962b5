"""Files the browser downloads: folders zipped where Gradio may serve them from."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


def zip_folder(folder: Path, name: str) -> str:
    """A zip of `folder` named `name`.zip, in a temporary place the browser may download
    from (Gradio serves files only from its allowed folders)."""
    archive = Path(tempfile.mkdtemp(prefix="ftstudio-")) / name
    return shutil.make_archive(str(archive), "zip", folder)
