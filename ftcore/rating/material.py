"""The texts a rating session shows, from an evaluation folder, a predictions JSONL or gold pairs.

A session copies every text it will show into its own rows when it is created, so a later
evaluation into the same folder (which rewrites predictions.jsonl and replaces the
evaluation's database rows) never changes what raters see or what their votes refer to.

Items: on each example, every pair of the chosen models that both answered it is one item,
so m models give m(m-1)/2 items per example. Not a subset: sessions compare 2–4 models (at
most 6 pairs), and having every model meet every other on the same prompts is what lets a
Bradley–Terry fit put all of them on one scale. An example one model did not answer gives
items only for the models that did. Which model is shown as A is decided per rater.

Gold items are pairs with a known better side, from a JSONL of {"id", "prompt", "better",
"worse"} rows; they are stored as models `gold:better` and `gold:worse`.

Every file is checked completely before anything is stored: a bad row raises DataError
naming the file, the line and the field.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ftcore.data.encoding import detect_encoding
from ftcore.data.readers import file_sha256, iter_jsonl_rows
from ftcore.errors import ConfigError, DataError, did_you_mean
from ftcore.files import read_json
from ftcore.metrics.predictions import BadLine

PREDICTIONS_FILE = "predictions.jsonl"  # what ftcore.evaluation.pipeline writes
EVALUATION_FILE = "evaluation.json"
PAIR, GOLD = "pair", "gold"
GOLD_BETTER, GOLD_WORSE = "gold:better", "gold:worse"
GOLD_SPLIT = "gold"
RESPONSE_FIELDS = ("prompt", "model", "prediction")
GOLD_FIELDS = ("prompt", "better", "worse")
MAY_BE_EMPTY = ("prediction",)  # a model that answered nothing is rated as such


@dataclass(frozen=True)
class Response:
    """One model's answer to one example, and the line it was read from."""

    split: str  # "" when the file gives none
    example_id: str
    model: str
    prompt: str
    reference: str | None
    text: str
    line: int


@dataclass(frozen=True)
class PlannedItem:
    """Two responses to one prompt, to be compared blind."""

    kind: str  # PAIR or GOLD
    split: str
    example_id: str
    prompt: str
    reference: str | None
    model_first: str
    response_first: str
    model_second: str
    response_second: str


@dataclass
class Material:
    """The items of a session and where their texts came from."""

    items: list[PlannedItem]
    models: list[str]
    source: dict = field(default_factory=dict)


def _checked_rows(path: Path, fields: Sequence[str], row_name: str):
    """(line, row) for each row of a JSONL file whose `fields` are non-empty text and
    whose `id` is text or an integer; the first bad row raises DataError."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    for raw in iter_jsonl_rows(path, detect_encoding(path)):
        if raw.problem is not None:
            raise DataError(str(BadLine(str(path), raw.line, None, raw.problem.reason)))
        problem = _row_problem(raw.data, fields, row_name)
        if problem is not None:
            raise DataError(str(BadLine(str(path), raw.line, *problem)))
        yield raw.line, raw.data


def _row_problem(row: object, fields: Sequence[str], row_name: str) -> tuple | None:
    if not isinstance(row, dict):
        return None, f"not a {row_name}: expected a JSON object"
    row_id = row.get("id")
    if isinstance(row_id, bool) or not isinstance(row_id, str | int) or str(row_id) == "":
        return "id", "missing, or not text or an integer: it pairs the models' answers"
    for name in fields:
        if not isinstance(row.get(name), str):
            return name, "missing, or not text"
        if not row[name].strip() and name not in MAY_BE_EMPTY:
            return name, "empty"
    for name in ("split", "reference"):
        if row.get(name) is not None and not isinstance(row[name], str):
            return name, "must be text"
    return None


def read_responses(path: str | Path) -> list[Response]:
    """Every row of a predictions JSONL ({"id", "prompt", "model", "prediction"} plus
    optional "reference" and "split"); a (split, id, model) given twice is an error."""
    path = Path(path)
    responses, seen = [], {}
    for line, row in _checked_rows(path, RESPONSE_FIELDS, "predictions row"):
        response = Response(
            row.get("split") or "",
            str(row["id"]),
            row["model"].strip(),
            row["prompt"],
            row.get("reference"),
            row["prediction"],
            line,
        )
        key = (response.split, response.example_id, response.model)
        if key in seen:
            problem = (
                f"example {key[1]!r} of model {key[2]!r} given twice (first at line {seen[key]})"
            )
            raise DataError(str(BadLine(str(path), line, "id", problem)))
        seen[key] = line
        responses.append(response)
    return responses


def _choose_split(responses: Sequence[Response], split: str) -> str:
    splits = sorted({response.split for response in responses})
    if split:
        if split not in splits:
            shown = ", ".join(s or "(none)" for s in splits)
            raise ConfigError("split", split, f"one of {shown}.{did_you_mean(split, splits)}")
        return split
    if "val" in splits:
        return "val"
    if len(splits) == 1:
        return splits[0]
    raise ConfigError("split", "", f"one of {', '.join(splits)} (the source has several)")


def _choose_models(found: Sequence[str], wanted: Sequence[str], where: str) -> list[str]:
    for model in wanted:
        if model not in found:
            allowed = f"models found in {where}: {', '.join(found)}.{did_you_mean(model, found)}"
            raise ConfigError("models", model, allowed)
    models = list(wanted) or list(found)
    if len(models) < 2:
        raise DataError(f"{where}: only {len(models)} model ({', '.join(models)}); A/B needs two")
    return models


def pair_items(
    responses: Sequence[Response], models: Sequence[str], path: str
) -> list[PlannedItem]:
    """Every pair of `models` on every example (see the module docstring), in file order."""
    by_example: dict[str, dict[str, Response]] = {}
    for response in responses:
        if response.model in models:
            by_example.setdefault(response.example_id, {})[response.model] = response
    items = []
    for example_id, answers in by_example.items():
        present = [answers[model] for model in models if model in answers]
        for other in present[1:]:
            if other.prompt != present[0].prompt:
                problem = (
                    f"example {example_id!r}: {other.model!r} answered another prompt than "
                    f"{present[0].model!r} (line {present[0].line}); a pair needs one prompt"
                )
                raise DataError(str(BadLine(path, other.line, "prompt", problem)))
        reference = next((r.reference for r in present if r.reference), None)
        for first, second in itertools.combinations(present, 2):
            items.append(
                PlannedItem(
                    PAIR,
                    first.split,
                    example_id,
                    first.prompt,
                    reference,
                    first.model,
                    first.text,
                    second.model,
                    second.text,
                )
            )
    if not items:
        raise DataError(f"{path}: no example was answered by two of {', '.join(models)}")
    return items


def gold_items(path: str | Path) -> list[PlannedItem]:
    """Gold pairs from a JSONL of {"id", "prompt", "better", "worse"} rows."""
    path = Path(path)
    items, seen = [], {}
    for line, row in _checked_rows(path, GOLD_FIELDS, "gold row"):
        example_id = str(row["id"])
        if example_id in seen:
            problem = f"given twice (first at line {seen[example_id]})"
            raise DataError(str(BadLine(str(path), line, "id", problem)))
        if row["better"].strip() == row["worse"].strip():
            raise DataError(str(BadLine(str(path), line, "worse", "the same text as better")))
        seen[example_id] = line
        items.append(
            PlannedItem(
                GOLD,
                GOLD_SPLIT,
                example_id,
                row["prompt"],
                row.get("reference"),
                GOLD_BETTER,
                row["better"],
                GOLD_WORSE,
                row["worse"],
            )
        )
    if not items:
        raise DataError(f"{path}: no gold pairs")
    return items


def session_material(
    eval_dir: str = "", predictions: str = "", split: str = "", models: Sequence[str] = ()
) -> Material:
    """The pair items of one split of an evaluation folder or a predictions file."""
    if eval_dir:
        folder = Path(eval_dir).resolve()
        path = folder / PREDICTIONS_FILE
        if not path.is_file():
            raise DataError(f"{folder}: no {PREDICTIONS_FILE}; not an evaluation folder")
        settings = read_json(folder / EVALUATION_FILE, missing_ok=True) or {}
        source = {
            "kind": "evaluation",
            "path": str(folder),
            **{key: settings.get(key) for key in ("base", "adapters", "dataset_hash", "decoding")},
        }
    else:
        path = Path(predictions).resolve()
        source = {"kind": "predictions", "path": str(path)}
    responses = read_responses(path)
    if not responses:
        raise DataError(f"{path}: no rows")
    chosen_split = _choose_split(responses, split)
    in_split = [response for response in responses if response.split == chosen_split]
    found = list(dict.fromkeys(response.model for response in in_split))
    chosen = _choose_models(found, models, f"{path} (split {chosen_split or '(none)'})")
    items = pair_items(in_split, chosen, str(path))
    source.update(split=chosen_split, file=str(path), sha256=file_sha256(path))
    return Material(items, chosen, source)
