"""`ftcore spaces export`: a folder to push to a Hugging Face Space (see spaces/GUIDE.md)."""

from __future__ import annotations

import argparse

from ftcore.cli.train_commands import HOME_HELP

MEGABYTE = 1024 * 1024


def run_spaces_export(args: argparse.Namespace) -> int:
    from ftcore.deploy.spaces_export import BUNDLE_FOLDER, export_space
    from ftcore.workspace import Workspace

    workspace = Workspace.open(args.home or None) if args.session else None
    export = export_space(args.out, workspace, args.session, args.rater_only)
    kind = "rater-only Space" if export.rater_only else "Space"
    print(
        f"{kind} folder {export.out}: {export.files} files, {export.size_bytes / MEGABYTE:.1f} MB"
    )
    for session_id in export.sessions:
        print(f"session {session_id}: {BUNDLE_FOLDER}/{session_id}.json, imported at start")
    if export.rater_only:
        print("set the Space variable FTSTUDIO_MODE=rater: this folder holds no model")
    print(f"push it: hf upload USER/SPACE {export.out} . --repo-type space")
    return 0


def add_spaces_commands(commands: argparse._SubParsersAction) -> None:
    """Add `spaces export`."""
    spaces = commands.add_parser("spaces", help="host ftstudio on a Hugging Face Space")
    actions = spaces.add_subparsers(dest="spaces_command", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export",
        help="write a folder to push to a Space: app, package, rubrics, chosen sessions",
        description="Never copies the workspace database, its secrets or any token.",
    )
    export.add_argument("--out", required=True, help="a new or empty folder to write")
    export.add_argument(
        "--session",
        action="append",
        default=[],
        metavar="ID",
        help="a rating session to carry (repeatable; see `ftcore rate list`)",
    )
    export.add_argument(
        "--rater-only",
        action="store_true",
        help="the rater page only: no demo model, no samples, no torch in requirements",
    )
    export.add_argument("--home", help=HOME_HELP)
    export.set_defaults(run=run_spaces_export)
