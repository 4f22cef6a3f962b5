"""Start the ftstudio web app: `python app.py [--rater] [--host H] [--port P] [--share]`."""

from __future__ import annotations

import argparse
import logging


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


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from ftcore.workspace import Workspace

    if args.rater:
        from ftcore.ui.rater_app import build_rater_app, rater_launch_options

        app, options = build_rater_app(Workspace.open(args.home)), rater_launch_options()
    else:
        from ftcore.ui import build_app, launch_options

        app, options = build_app(Workspace.open(args.home)), launch_options()
    app.queue().launch(server_name=args.host, server_port=args.port, share=args.share, **options)


if __name__ == "__main__":
    main()
