"""`ftcore chat`, `ftcore merge` and `ftcore info`: talk to a model, merge an adapter, and
show where the workspace is."""

from __future__ import annotations

import argparse
import json
import sys

from ftcore import __version__


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
    from ftcore.runtime.generation import GenerationSettings

    defaults = GenerationSettings.for_model()  # the demo model's loop guards
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
    parser.add_argument(
        "--no-repeat-ngram-size",
        type=int,
        default=defaults.no_repeat_ngram_size,
        help="never repeat an n-gram of this many tokens (0 = off)",
    )


def run_chat(args: argparse.Namespace) -> int:
    from ftcore.runtime.adapters import ChatModel
    from ftcore.runtime.generation import GenerationSettings, stream_reply
    from ftcore.runtime.models import load_model

    settings = GenerationSettings(
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        repetition_penalty=args.repetition_penalty,
        seed=args.seed,
        no_repeat_ngram_size=args.no_repeat_ngram_size,
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
    from ftcore.cli.train_commands import writable_folder
    from ftcore.runtime.adapters import merge_and_save

    out = merge_and_save(args.base, args.adapter, writable_folder(args.out))
    print(f"merged model written to {out}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from ftcore.db import Database
    from ftcore.runtime.adapters import find_adapters
    from ftcore.runtime.models import DEMO_MODEL_DIR
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


def add_model_commands(commands) -> None:
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
