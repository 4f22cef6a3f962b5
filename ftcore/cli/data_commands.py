"""`ftcore data …`: prepare dataset versions and list them, over ftcore.data.prepare.

The top-level CLI (ftcore.cli) adds these subcommands and turns FtcoreError into a
one-line message and exit code 1, so nothing here catches library errors.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import fields

from ftcore.data.clean import CleaningSettings
from ftcore.data.formats import FormatSpec
from ftcore.data.hub_source import DEFAULT_SPLIT, hub_input
from ftcore.data.settings import LENGTH_TOKENIZER, PrepareSettings, parse_pairs
from ftcore.errors import ConfigError

CLEANING_RULES = ", ".join(f.name for f in fields(CleaningSettings))
DEFAULT_RULES = ", ".join(f.name for f in fields(CleaningSettings) if f.default)


def parse_near_dup(value: str) -> float | None:
    if value.lower() in ("off", "none", "no"):
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise ConfigError("near-dup", value, "a similarity in (0, 1] or 'off'") from exc


def _names(value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def settings_from_args(args: argparse.Namespace, spec: FormatSpec | None = None) -> PrepareSettings:
    """PrepareSettings from the flags (and a dataset_info entry's FormatSpec, if any)."""
    cleaning = CleaningSettings().with_rules(on=_names(args.clean_on), off=_names(args.clean_off))
    return PrepareSettings(
        format=args.format,
        columns=parse_pairs(args.columns, "columns"),
        tags=parse_pairs(args.tags, "tags"),
        split=args.split,
        stratify=args.stratify,
        seed=args.seed,
        exact_dedup=not args.keep_exact_dups,
        near_dup=parse_near_dup(args.near_dup),
        drop_near_dups=not args.keep_near_dups,
        max_tokens=args.max_tokens or PrepareSettings.max_tokens,
        cleaning=cleaning,
    ).with_spec(spec)


def run_data_prepare(args: argparse.Namespace) -> int:
    from ftcore.data.dataset_info import inputs_and_spec
    from ftcore.data.prepare import prepare_dataset
    from ftcore.db import Database
    from ftcore.workspace import Workspace

    if args.hf_split and not any(i.startswith("hf:") for i in args.inputs):
        raise ConfigError("hf-split", args.hf_split, "a split of an hf:OWNER/NAME input")
    inputs, spec = inputs_and_spec(
        [hub_input(i, args.hf_split) for i in args.inputs], args.dataset_info, args.dataset
    )
    settings = settings_from_args(args, spec).validated()  # bad flags fail before any loading
    tokenizer = None
    if args.base or args.max_tokens:
        from ftcore.runtime.models import load_tokenizer

        tokenizer = load_tokenizer(args.base or "demo")
    workspace = Workspace.open(args.home)
    database = Database.for_workspace(workspace)
    try:
        result = prepare_dataset(
            inputs,
            args.out,
            settings,
            tokenizer=tokenizer,
            name=args.name,
            workspace=workspace,
            database=database,
        )
    finally:
        database.close()
    if args.json:
        summary = {"path": str(result.path), "version": result.version, **result.manifest}
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(result.summary())
        print(f"registered as {result.manifest['name']} v{result.version} in {database.path}")
    return 0


def run_data_list(args: argparse.Namespace) -> int:
    from ftcore.data.versions import list_versions
    from ftcore.db import Database
    from ftcore.workspace import Workspace

    database = Database.for_workspace(Workspace.open(args.home))
    try:
        rows = list_versions(database, args.name)
    finally:
        database.close()
    for row in rows:
        counts = row["counts"]
        splits = f"train {counts['train']} / val {counts['val']} / test {counts['test']}"
        print(
            f"{row['name']} v{row['version']}  {row['content_hash'][:12]}  {splits}  {row['path']}"
        )
    return 0


def add_prepare_arguments(prepare: argparse.ArgumentParser) -> None:
    defaults = PrepareSettings()
    add = prepare.add_argument
    add(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="JSONL, JSON, CSV, TSV or Parquet files, or hf:OWNER/NAME (a Hugging Face "
        "dataset from the local cache; downloaded first where the Hub is reachable)",
    )
    add("--hf-split", metavar="S", help=f"the split of hf: inputs (default {DEFAULT_SPLIT})")
    add("--out", help="version folder to write (default: <home>/datasets/NAME/<hash>)")
    add("--name", help="dataset name in the workspace (default: the first input's name)")
    add("--home", help="workspace folder (default: $FTSTUDIO_HOME or ./workspace)")
    add("--format", default=defaults.format, help="auto, alpaca, sharegpt or openai")
    add("--columns", help="column mapping, e.g. prompt=question,response=answer")
    add("--tags", help="sharegpt role tags, e.g. role_tag=role,user_tag=user")
    add("--dataset-info", help="a LLaMA-Factory dataset_info.json giving files and format")
    add("--dataset", help="the entry of --dataset-info to use (default: its only entry)")
    split = ",".join(f"{share:g}" for share in defaults.split)
    add("--split", default=split, help=f"train,val,test shares (default {split})")
    add("--stratify", metavar="FIELD", help="a label to keep proportional in every split")
    add("--seed", type=int, default=defaults.seed)
    add("--near-dup", default=str(defaults.near_dup), help="similarity threshold, or 'off'")
    add("--keep-near-dups", action="store_true", help="keep near duplicates (in one split)")
    add("--keep-exact-dups", action="store_true", help="keep exact duplicates (in one split)")
    add("--clean-on", metavar="RULES", help=f"rules to switch on, of: {CLEANING_RULES}")
    add("--clean-off", metavar="RULES", help=f"rules to switch off (on: {DEFAULT_RULES})")
    add(
        "--base",
        default=LENGTH_TOKENIZER,
        help="check token lengths with this model's tokenizer ('demo', folder, id)",
    )
    add("--max-tokens", type=int, help=f"reject longer rows (default {defaults.max_tokens})")
    add("--json", action="store_true", help="print the manifest as JSON")


def add_data_commands(commands) -> None:
    """Add `data prepare` and `data list` to the top-level subcommands."""
    data = commands.add_parser("data", help="prepare dataset versions from raw files")
    subcommands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    prepare = subcommands.add_parser(
        "prepare",
        help="read, validate, clean, deduplicate and split files into a dataset version",
        description="Writes train/val/test.jsonl, rejected.jsonl, duplicates.jsonl and "
        "manifest.json. Cleaning removes HTML tags, URLs and e-mail addresses by default "
        "(--clean-off html,urls,emails keeps them; --clean-on low_quality rejects replies "
        "too short, one-letter runs and mojibake). Token lengths are checked only with "
        "--base or --max-tokens (--max-tokens alone uses the demo tokenizer). In Python, "
        "ftcore.data.versions.open_as_dataset_dict(FOLDER) opens a version as a "
        "datasets.DatasetDict (train/validation/test).",
    )
    add_prepare_arguments(prepare)
    prepare.set_defaults(run=run_data_prepare)
    listing = subcommands.add_parser("list", help="list the dataset versions of the workspace")
    listing.add_argument("--name", help="only versions of this dataset")
    listing.add_argument("--home", help="workspace folder (default: $FTSTUDIO_HOME or ./workspace)")
    listing.set_defaults(run=run_data_list)
