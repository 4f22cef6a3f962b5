"""Evaluations in the workspace database: register one, list them, read paired predictions.

Every model of an evaluation answers the same examples, stored under the same
`example_id`, so a blind A/B session can be built from two models' rows on one split
(`prediction_pairs`) without generating anything again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from ftcore.db import utc_now
from ftcore.errors import DataError


def register_evaluation(
    database, settings: Mapping, scores: Mapping, examples: Sequence[Mapping]
) -> int:
    """Record an evaluation (evaluation.json `settings`, scores.json `scores`) and its
    per-example rows ({model, split, id, prompt, reference, prediction, scores}); return
    its id. Evaluating into the same folder again replaces the earlier record."""
    out_dir = str(Path(settings["out_dir"]).resolve())
    with database.transaction() as db:
        earlier = db.execute("SELECT id FROM evaluations WHERE out_dir = ?", [out_dir]).fetchall()
        for (evaluation_id,) in earlier:
            db.execute("DELETE FROM eval_predictions WHERE evaluation_id = ?", [evaluation_id])
            db.execute("DELETE FROM evaluations WHERE id = ?", [evaluation_id])
        evaluation_id = (
            db["evaluations"]
            .insert(
                {
                    "created_at": utc_now(),
                    "out_dir": out_dir,
                    "base_model": settings["base"],
                    "adapters_json": json.dumps(settings["adapters"], ensure_ascii=False),
                    "dataset_dir": settings["data_dir"],
                    "dataset_hash": settings["dataset_hash"],
                    "splits_json": json.dumps(settings["splits"]),
                    "settings_json": json.dumps(settings, ensure_ascii=False),
                    "scores_json": json.dumps(scores, ensure_ascii=False),
                }
            )
            .last_pk
        )
        db["eval_predictions"].insert_all(
            {
                "evaluation_id": evaluation_id,
                "model": row["model"],
                "split": row["split"],
                "example_id": str(row["id"]),
                "prompt": row.get("prompt"),
                "reference": row["reference"],
                "prediction": row["prediction"],
                "scores_json": json.dumps(row.get("scores") or {}),
            }
            for row in examples
        )
    return evaluation_id


def list_evaluations(database) -> list[dict]:
    """Registered evaluations, newest first, with settings and scores parsed."""
    rows = database.query(
        "SELECT id, created_at, out_dir, base_model, dataset_dir, dataset_hash, "
        "settings_json, scores_json FROM evaluations ORDER BY created_at DESC, id DESC"
    )
    for row in rows:
        row["settings"] = json.loads(row.pop("settings_json"))
        row["scores"] = json.loads(row.pop("scores_json"))
    return rows


def prediction_pairs(
    database, evaluation_id: int, split: str, model_a: str, model_b: str
) -> list[dict]:
    """Rows {example_id, prompt, reference, prediction_a, prediction_b} for every example
    both models answered on `split`, ordered by example id: the material of a blind A/B
    rating session (which side is shown first is the rating session's business)."""
    pairs = database.query(
        "SELECT a.example_id, a.prompt, a.reference, a.prediction AS prediction_a, "
        "b.prediction AS prediction_b "
        "FROM eval_predictions a JOIN eval_predictions b "
        "ON a.evaluation_id = b.evaluation_id AND a.split = b.split "
        "AND a.example_id = b.example_id "
        "WHERE a.evaluation_id = ? AND a.split = ? AND a.model = ? AND b.model = ? "
        "ORDER BY a.example_id",
        [evaluation_id, split, model_a, model_b],
    )
    if not pairs:
        raise DataError(
            f"evaluation {evaluation_id} has no {split!r} examples answered by both "
            f"{model_a!r} and {model_b!r}"
        )
    return pairs
