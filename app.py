"""Start the ftstudio web app: `python app.py [--rater] [--host H] [--port P] [--share]`."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from pathlib import Path


def hide_the_checkout_spaces_folder() -> None:
    """In a checkout, ./spaces (the Space's files) imports as an empty namespace package,
    and Gradio with SYSTEM=spaces wraps every listener with `spaces.gradio_auto_wrap` from
    it and fails. None in sys.modules makes `import spaces` fail as for a missing package;
    the real package (on a Space) is left alone."""
    spec = importlib.util.find_spec("spaces")
    if spec is not None and spec.origin is None:  # a namespace package: a bare folder
        sys.modules["spaces"] = None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    # No default here: Gradio then takes GRADIO_SERVER_NAME (which Spaces set to 0.0.0.0)
    # or 127.0.0.1, where a hard-coded default would shut a Space's proxy out.
    parser.add_argument("--host", help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    parser.add_argument("--home", help="workspace folder (default: $FTSTUDIO_HOME or ./workspace)")
    parser.add_argument(
        "--rater",
        action="store_true",
        help="serve only the blind rating page (no training, no admin functions)",
    )
    return parser.parse_args()


def launch(app, args: argparse.Namespace, options: dict) -> None:
    """Serve `app` until interrupted, with our own banner: Gradio's tells people to set
    `share=True` in `launch()`, where this script's switch is --share."""
    app.queue().launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        quiet=True,
        prevent_thread_lock=True,
        **options,
    )
    print(f"* Running on local URL:  {app.local_url}", flush=True)
    if not args.share and not os.environ.get("SPACE_ID"):  # Gradio prints a share URL itself
        print("* To create a public link, restart with --share.", flush=True)
    app.block_thread()


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    hide_the_checkout_spaces_folder()
    from ftcore.deploy.session_bundle import load_bundled_sessions
    from ftcore.deploy.spaces_export import BUNDLE_FOLDER
    from ftcore.rating.durability import start_durability
    from ftcore.ui import build_served_app
    from ftcore.ui.rating_widgets import SECRET_FILE
    from ftcore.workspace import Workspace

    workspace = Workspace.open(args.home)
    # Before anything opens the database: with FTSTUDIO_BACKUP_DIR set, a lost one is
    # restored first; snapshots then run until exit (atexit and SIGTERM take the last).
    start_durability(workspace, kept_files=[SECRET_FILE])
    # Sessions that `ftcore spaces export` put beside this file; already there: skipped.
    load_bundled_sessions(workspace, Path(__file__).resolve().parent / BUNDLE_FOLDER)
    # --rater, FTSTUDIO_MODE=rater, or a Space without admin variables: the rater app only.
    app, options = build_served_app(workspace, rater=args.rater)
    launch(app, args, options)


if __name__ == "__main__":
    main()
