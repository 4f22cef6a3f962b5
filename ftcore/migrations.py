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


def add_runs_dataset_hash(db: sqlite_utils.Database) -> None:
    """The content hash of the dataset version each run trained on, as evaluations keep it."""
    db["runs"].add_column("dataset_hash", str)  # the version's manifest content_hash


def create_rating_tables(db: sqlite_utils.Database) -> None:
    """Blind A/B rating: sessions with their rubric and copied texts, raters, serves, votes."""
    db["rating_sessions"].create(
        {
            "id": str,
            "name": str,  # the title raters see
            "created_at": str,
            "closes_at": str,  # None: open until closed by hand
            "closed_at": str,
            "access": str,  # open (anyone with the code) or invite (personal codes only)
            "open_code": str,  # None for invite-only sessions
            "rubric_id": str,
            "rubric_hash": str,  # sha256 of rubric_json: editing the file changes nothing here
            "rubric_json": str,
            "rubric_yaml": str,  # the file as it was read
            "models_json": str,
            "source_json": str,  # where the texts were copied from, with its provenance
            "plan_json": str,  # the SessionPlan as given
            "ratings_per_item": int,  # distinct raters each pair item is shown to
            "items_per_rater": int,  # 0: no cap
            "repeat_share": float,
            "min_seconds": float,
            "reservation_seconds": float,
        },
        pk="id",
        not_null={"name", "created_at", "access", "rubric_id", "rubric_hash", "rubric_json"},
    )
    db["rating_sessions"].create_index(["open_code"], unique=True)
    db["rating_items"].create(
        {
            "id": int,
            "session_id": str,
            "kind": str,  # pair (two models on one example) or gold (a known better side)
            "split": str,
            "example_id": str,
            "prompt": str,
            "reference": str,
            "model_first": str,  # which response is shown left is decided per rater
            "response_first": str,
            "model_second": str,
            "response_second": str,
        },
        pk="id",
        foreign_keys=[("session_id", "rating_sessions", "id")],
        not_null={"session_id", "kind", "example_id", "prompt", "model_first", "model_second"},
    )
    db["rating_items"].create_index(
        ["session_id", "kind", "split", "example_id", "model_first", "model_second"], unique=True
    )
    db["rating_raters"].create(
        {
            "id": str,  # public: exports and reports name raters by it
            "session_id": str,
            "token": str,  # secret: the browser's key to this rater
            "name": str,
            "identity": str,  # e.g. a Hugging Face user name; None when anonymous
            "invite_code": str,  # the personal code this rater joined with
            "seed": int,  # this rater's item order and sides
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("session_id", "rating_sessions", "id")],
        not_null={"session_id", "token", "seed", "created_at"},
    )
    db["rating_raters"].create_index(["token"], unique=True)
    db["rating_raters"].create_index(["invite_code"], unique=True)
    db["rating_raters"].create_index(["session_id", "identity"], unique=True)
    db["rating_invites"].create(
        {"code": str, "session_id": str, "created_at": str},
        pk="code",
        foreign_keys=[("session_id", "rating_sessions", "id")],
        not_null={"session_id", "created_at"},
    )
    db["rating_assignments"].create(
        {
            "id": int,
            "session_id": str,
            "item_id": int,
            "rater_id": str,
            "round": int,  # 0: first showing; 1: the repeat, sides swapped
            "left_is_first": int,  # 1: model_first's response is shown as A (left)
            "token": str,  # the per-serve token a vote must bring
            "served_at": str,
            "expires_at": str,  # the reservation: until then the item counts as taken
            "voted_at": str,
            "released_at": str,  # set when the reservation ran out and was given away
        },
        pk="id",
        foreign_keys=[
            ("session_id", "rating_sessions", "id"),
            ("item_id", "rating_items", "id"),
            ("rater_id", "rating_raters", "id"),
        ],
        not_null={"session_id", "item_id", "rater_id", "round", "token", "served_at"},
    )
    db["rating_assignments"].create_index(["token"], unique=True)
    db["rating_assignments"].create_index(["rater_id", "item_id", "round"], unique=True)
    db["rating_assignments"].create_index(["item_id", "round"])
    db["rating_assignments"].create_index(["session_id", "round"])
    db["rating_votes"].create(
        {
            "id": str,  # a uuid: replaying a journal twice stores a vote once
            "session_id": str,
            "item_id": int,
            "rater_id": str,
            "assignment_id": int,
            "round": int,
            "left_is_first": int,
            "left_model": str,
            "right_model": str,
            "choice": str,  # A (left), B (right), tie or both_bad
            "winner": str,  # a model name, tie or both_bad
            "scores_json": str,  # {"left": {criterion: score}, "right": {…}}
            "comment": str,
            "seconds": float,  # from serve to vote, measured by the server
            "served_at": str,
            "created_at": str,
            "flags": str,  # comma-separated, e.g. too_fast
        },
        pk="id",
        foreign_keys=[
            ("session_id", "rating_sessions", "id"),
            ("item_id", "rating_items", "id"),
            ("rater_id", "rating_raters", "id"),
            ("assignment_id", "rating_assignments", "id"),
        ],
        not_null={"session_id", "item_id", "rater_id", "assignment_id", "choice", "created_at"},
    )
    db["rating_votes"].create_index(["rater_id", "item_id", "round"], unique=True)
    db["rating_votes"].create_index(["assignment_id"], unique=True)
    db["rating_votes"].create_index(["session_id"])


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    create_chat_turns,
    create_runs,
    create_dataset_versions,
    create_evaluations,
    add_runs_dataset_hash,
    create_rating_tables,
]
