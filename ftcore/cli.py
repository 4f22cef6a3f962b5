"""The `ftcore` command line: a thin layer over the library.

Each subcommand parses flags, calls one ftcore function and prints its result. Library
errors (FtcoreError) become a one-line message and exit code 1 here, in one place.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from ftcore import __version__
from ftcore.data.cli import add_data_commands
from ftcore.errors import FtcoreError
from ftcore.evaluation.cli import add_eval_command
from ftcore.metrics.cli import add_score_command
from ftcore.training.cli import add_training_commands


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", default="demo", help="'demo', a model folder or a Hub id")
    parser.add_argument("--adapter", help="a LoRA adapter folder to apply")
    parser.add_argument(
        "--4bit",
        dest="load_in_4bit",
        action="store_true",
        help="load the base model in 4-bit NF4 (bitsandbytes)",
    )


def add_generation_arguments(parser: argparse.ArgumentParser) -> None:
    from ftcore.generation import GenerationSettings

    defaults = GenerationSettings()
    parser.add_argument("--max-new-tokens", type=int, default=defaults.max_new_tokens)
    parser.add_argument(
        "--temperature",
        type=float,
        default=defaults.temperature,
        help="0 (the default) decodes greedily",
    )
    parser.add_argument("--top-p", type=float, default=defaults.top_p)
    parser.add_argument("--repetition-penalty", type=float, default=defaults.repetition_penalty)
    parser.add_argument("--seed", type=int, default=defaults.seed)


def run_chat(args: argparse.Namespace) -> int:
    from ftcore.adapters import ChatModel
    from ftcore.generation import GenerationSettings, stream_reply
    from ftcore.models import load_model

    settings = GenerationSettings(
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        repetition_penalty=args.repetition_penalty,
        seed=args.seed,
    )
    chat_model = ChatModel(load_model(args.base, load_in_4bit=args.load_in_4bit))
    adapter = chat_model.attach(args.adapter) if args.adapter else None
    messages = [{"role": "system", "content": args.system}] if args.system else []
    messages.append({"role": "user", "content": args.prompt})
    shown = ""
    for text in stream_reply(chat_model, messages, settings, adapter=adapter):
        sys.stdout.write(text[len(shown) :])
        sys.stdout.flush()
        shown = text
    sys.stdout.write("\n")
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from ftcore.adapters import merge_and_save

    out = merge_and_save(args.base, args.adapter, args.out)
    print(f"merged model written to {out}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from ftcore.adapters import find_adapters
    from ftcore.db import Database
    from ftcore.models import DEMO_MODEL_DIR
    from ftcore.workspace import Workspace

    workspace = Workspace.open(args.home)
    database = Database.for_workspace(workspace)
    info = {
        "version": __version__,
        "workspace": str(workspace.root.resolve()),
        "database": str(database.path),
        "schema_version": database.schema_version(),
        "journal_mode": database.journal_mode,
        "demo_model": str(DEMO_MODEL_DIR),
        "adapters": [str(path) for path in find_adapters(workspace.runs)],
    }
    database.close()
    print(json.dumps(info, indent=2, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ftcore", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ftcore {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chat = commands.add_parser("chat", help="answer one prompt with a base model or adapter")
    add_model_arguments(chat)
    add_generation_arguments(chat)
    chat.add_argument("--system", help="an optional system prompt")
    chat.add_argument("prompt", help="the user message")
    chat.set_defaults(run=run_chat)

    merge = commands.add_parser("merge", help="merge an adapter into its base model and save")
    merge.add_argument("--base", default="demo", help="'demo', a model folder or a Hub id")
    merge.add_argument("--adapter", required=True, help="the LoRA adapter folder")
    merge.add_argument("--out", required=True, help="the folder to write the merged model to")
    merge.set_defaults(run=run_merge)

    info = commands.add_parser("info", help="show the workspace, database and models")
    info.add_argument("--home", help="workspace folder (default: $FTSTUDIO_HOME or ./workspace)")
    info.set_defaults(run=run_info)

    add_data_commands(commands)
    add_training_commands(commands)
    add_score_command(commands)
    add_eval_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.run(args)
    except FtcoreError as exc:
        print(f"ftcore {args.command}: error: {exc}", file=sys.stderr)
        return 1
