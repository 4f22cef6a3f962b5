"""`ftcore data …`: prepare dataset versions and list them, over ftcore.data.prepare.

The top-level CLI (ftcore.cli) adds these subcommands and turns FtcoreError into a
one-line message and exit code 1, so nothing here catches library errors.
"""

from __future__ import annotations

import argparse
import json

from ftcore.data.clean import CleaningSettings
from ftcore.data.formats import FormatSpec
from ftcore.data.settings import PrepareSettings, parse_pairs
from ftcore.errors import ConfigError, DataError

CLEANING_RULES = ", ".join(CleaningSettings.__dataclass_fields__)


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
    columns, tags = parse_pairs(args.columns, "columns"), parse_pairs(args.tags, "tags")
    format = args.format
    if spec is not None:
        format, columns, tags = spec.format, {**spec.columns, **columns}, {**spec.tags, **tags}
    return PrepareSettings(
        format=format,
        columns=columns,
        tags=tags,
        split=args.split,
        stratify=args.stratify,
        seed=args.seed,
        exact_dedup=not args.keep_exact_dups,
        near_dup=parse_near_dup(args.near_dup),
        drop_near_dups=not args.keep_near_dups,
        max_tokens=args.max_tokens or PrepareSettings.max_tokens,
        cleaning=cleaning,
    )


def run_data_prepare(args: argparse.Namespace) -> int:
    from ftcore.data.dataset_info import load_dataset_info
    from ftcore.data.prepare import prepare_dataset
    from ftcore.db import Database
    from ftcore.workspace import Workspace

    inputs, spec = list(args.inputs), None
    if args.dataset_info:
        files, spec = load_dataset_info(args.dataset_info, args.dataset)
        inputs = inputs or files
    if not inputs:
        raise DataError("no input files: give INPUT files or --dataset-info")
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
    add("inputs", nargs="*", metavar="INPUT", help="JSONL, JSON, CSV, TSV or Parquet files")
    add("--out", help="version folder to write (default: <home>/datasets/NAME/<hash>)")
    add("--name", help="dataset name in the workspace (default: the first input's name)")
    add("--home", help="workspace folder (default: $FTSTUDIO_HOME or ./workspace)")
    add("--format", default=defaults.format, help="auto, alpaca, sharegpt or openai")
    add("--columns", help="column mapping, e.g. prompt=question,response=answer")
    add("--tags", help="sharegpt role tags, e.g. role_tag=role,user_tag=user")
    add("--dataset-info", help="a LLaMA-Factory dataset_info.json giving files and format")
    add("--dataset", help="the entry of --dataset-info to use (default: its only entry)")
    add("--split", default="0.8,0.1,0.1", help="train,val,test shares (default 0.8,0.1,0.1)")
    add("--stratify", metavar="FIELD", help="a label to keep proportional in every split")
    add("--seed", type=int, default=defaults.seed)
    add("--near-dup", default=str(defaults.near_dup), help="similarity threshold, or 'off'")
    add("--keep-near-dups", action="store_true", help="keep near duplicates (in one split)")
    add("--keep-exact-dups", action="store_true", help="keep exact duplicates (in one split)")
    add("--clean-on", metavar="RULES", help=f"rules to switch on, of: {CLEANING_RULES}")
    add("--clean-off", metavar="RULES", help="rules to switch off")
    add("--base", help="check token lengths with this model's tokenizer ('demo', folder, id)")
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
        "manifest.json. Token lengths are checked only with --base or --max-tokens "
        "(--max-tokens alone uses the demo tokenizer).",
    )
    add_prepare_arguments(prepare)
    prepare.set_defaults(run=run_data_prepare)
    listing = subcommands.add_parser("list", help="list the dataset versions of the workspace")
    listing.add_argument("--name", help="only versions of this dataset")
    listing.add_argument("--home", help="workspace folder (default: $FTSTUDIO_HOME or ./workspace)")
    listing.set_defaults(run=run_data_list)
