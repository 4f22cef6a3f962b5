"""The `ftcore` command line: a thin layer over the library.

Each subcommand parses flags, calls one ftcore function and prints its result. Library
errors (FtcoreError) become a one-line message and exit code 1 here, in one place.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ftcore import __version__
from ftcore.cli.backup_commands import add_backup_commands
from ftcore.cli.data_commands import add_data_commands
from ftcore.cli.eval_commands import add_eval_command
from ftcore.cli.model_commands import add_model_commands
from ftcore.cli.rate_commands import add_rate_commands
from ftcore.cli.score_commands import add_score_command
from ftcore.cli.spaces_commands import add_spaces_commands
from ftcore.cli.train_commands import add_training_commands
from ftcore.errors import FtcoreError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ftcore", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ftcore {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add_model_commands(commands)
    add_data_commands(commands)
    add_training_commands(commands)
    add_score_command(commands)
    add_eval_command(commands)
    add_rate_commands(commands)
    add_backup_commands(commands)
    add_spaces_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # huggingface_hub prints its warnings through a handler of its own: passed on to ours
    # as well, each one appeared twice.
    logging.getLogger("huggingface_hub").propagate = False
    try:
        return args.run(args)
    except FtcoreError as exc:
        print(f"ftcore {args.command}: error: {exc}", file=sys.stderr)
        return 1
