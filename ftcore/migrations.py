"""Numbered schema migrations: MIGRATIONS[i] takes the database from version i to i + 1.

Append new migrations at the end and never edit one that has shipped: a user's workspace
may already be at any version. Each docstring is recorded in the schema_version table.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils


def create_chat_turns(db: sqlite_utils.Database) -> None:
    """Chat replies, so a conversation with a model is never kept only in memory."""
    db["chat_turns"].create(
        {
            "id": int,
            "created_at": str,
            "conversation_id": str,  # one per Chat-tab conversation
            "base_model": str,
            "adapter": str,  # None for the base model
            "messages_json": str,  # the conversation the reply answers, as the model saw it
            "reply": str,
            "settings_json": str,  # decoding settings, so the reply can be reproduced
            "stopped": int,  # 1 when the user pressed Stop before the end
        },
        pk="id",
        not_null={"created_at", "conversation_id", "base_model", "messages_json", "reply"},
    )
    db["chat_turns"].create_index(["conversation_id"])


def create_runs(db: sqlite_utils.Database) -> None:
    """Training runs, so the Train tab and `ftcore runs list` find every run after a restart."""
    db["runs"].create(
        {
            "id": int,
            "name": str,
            "run_dir": str,  # absolute path of the run folder, one row per folder
            "base_model": str,
            "dataset_dir": str,
            "method": str,  # lora, qlora or full
            "state": str,  # queued, running, stopping, completed, stopped, early_stopped, failed
            "created_at": str,
            "finished_at": str,
            "best_val_loss": float,
            "steps": int,  # optimizer steps done
            "total_steps": int,
            "error": str,  # why a failed run failed
            "config_json": str,  # the run's TrainConfig, as in its config.yaml
        },
        pk="id",
        not_null={"name", "run_dir", "base_model", "dataset_dir", "method", "state", "created_at"},
    )
    db["runs"].create_index(["run_dir"], unique=True)


def create_dataset_versions(db: sqlite_utils.Database) -> None:
    """Prepared dataset versions, so every split a run or evaluation used can be found."""
    db["dataset_versions"].create(
        {
            "id": int,
            "name": str,  # the dataset's name; versions of one name are numbered 1, 2, …
            "version": int,
            "path": str,  # absolute path of the version folder, one row per folder
            "content_hash": str,  # sha256 of inputs, settings and written rows
            "created_at": str,
            "counts_json": str,  # rows after each stage and per split
            "manifest_json": str,
        },
        pk="id",
        not_null={"name", "version", "path", "content_hash", "created_at"},
    )
    db["dataset_versions"].create_index(["path"], unique=True)
    db["dataset_versions"].create_index(["name", "version"])


def create_evaluations(db: sqlite_utils.Database) -> None:
    """Evaluations and their per-example predictions, so blind A/B rating can pair models."""
    db["evaluations"].create(
        {
            "id": int,
            "created_at": str,
            "out_dir": str,  # absolute path of the evaluation folder, one row per folder
            "base_model": str,
            "adapters_json": str,  # model name → adapter folder
            "dataset_dir": str,
            "dataset_hash": str,  # the version's manifest content_hash
            "splits_json": str,
            "settings_json": str,  # evaluation.json: decoding settings, seed, limit, version
            "scores_json": str,  # scores.json, perplexity included
        },
        pk="id",
        not_null={"created_at", "out_dir", "base_model", "dataset_dir", "settings_json"},
    )
    db["evaluations"].create_index(["out_dir"], unique=True)
    db["eval_predictions"].create(
        {
            "id": int,
            "evaluation_id": int,
            "model": str,  # "base" or an adapter's name
            "split": str,  # train, val, test or probe
            "example_id": str,  # the same id for every model: pairs for A/B rating
            "prompt": str,
            "reference": str,
            "prediction": str,
            "scores_json": str,  # per-example scores, e.g. sentence_bleu
        },
        pk="id",
        foreign_keys=[("evaluation_id", "evaluations", "id")],
        not_null={"evaluation_id", "model", "split", "example_id", "prediction"},
    )
    db["eval_predictions"].create_index(
        ["evaluation_id", "split", "example_id", "model"], unique=True
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    create_chat_turns,
    create_runs,
    create_dataset_versions,
    create_evaluations,
]
