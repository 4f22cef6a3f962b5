"""Regenerate the README's screenshots from the journey test's own.

`python scripts/update_readme_screenshots.py [--fresh]`:

tests/test_journey.py drives the whole app in headless Chromium and keeps every tab as
test-artifacts/journey/<name>.png, with cuts.json saying where each README copy should end
(above the long tables that follow the part worth showing). This script copies them into
spaces/screenshots/, cut there, so the README shows what the app draws today. It runs the
journey first when a screenshot is missing, or always with --fresh (about 4 minutes on
two cores; it needs Debian's chromium, as the browser tests do).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
JOURNEY = ROOT / "test-artifacts" / "journey"
CUTS_FILE = JOURNEY / "cuts.json"  # written by tests/test_journey.py's shot()
TARGET = ROOT / "spaces" / "screenshots"
# journey screenshot → README file; README.md refers to the files by these names.
SCREENSHOTS = {
    "data-tab": "data-tab.png",
    "train-tab": "train-tab.png",
    "chat-tab": "chat-tab.png",
    "evaluate-tab": "evaluate-tab.png",
    "rate-tab": "rate-tab.png",
    "rater-1": "rater-page.png",
    "reports-tab": "reports-tab.png",
}

log = logging.getLogger("update_readme_screenshots")


def run_journey() -> None:
    """Run the journey test, which rewrites every screenshot in JOURNEY."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command.append("tests/test_journey.py")
    log.info("running %s", " ".join(command[1:]))
    # The browser tests skip without chromium; a skipped journey writes nothing, so insist.
    env = {**os.environ, "FTSTUDIO_REQUIRE_BROWSER": "1"}
    subprocess.run(command, cwd=ROOT, check=True, env=env)


def missing() -> list[str]:
    return [name for name in SCREENSHOTS if not (JOURNEY / f"{name}.png").is_file()]


def copy_cut(name: str, target: Path, cuts: dict[str, int]) -> tuple[int, int]:
    """Write journey/<name>.png to `target`, cut at its height in `cuts` (if any and if
    inside the picture); return the size written."""
    with Image.open(JOURNEY / f"{name}.png") as image:
        height = cuts.get(name)
        if height and 0 < height < image.height:
            image = image.crop((0, 0, image.width, height))
        image.save(target, optimize=True)
        return image.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--fresh", action="store_true", help="run the journey test first even if shots exist"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.fresh or missing():
        run_journey()
    if absent := missing():
        raise SystemExit(f"{JOURNEY}: no {', '.join(absent)} after the journey test ran")
    cuts = json.loads(CUTS_FILE.read_text("utf-8")) if CUTS_FILE.is_file() else {}
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, file_name in SCREENSHOTS.items():
        width, height = copy_cut(name, TARGET / file_name, cuts)
        log.info("%s ← journey/%s.png (%d x %d)", TARGET / file_name, name, width, height)


if __name__ == "__main__":
    main()
