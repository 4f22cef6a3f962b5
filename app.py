"""Start the ftstudio web app: `python app.py [--host H] [--port P] [--share]`."""

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
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from ftcore.ui import build_app, launch_options
    from ftcore.workspace import Workspace

    app = build_app(Workspace.open(args.home))
    app.queue().launch(
        server_name=args.host, server_port=args.port, share=args.share, **launch_options()
    )


if __name__ == "__main__":
    main()
