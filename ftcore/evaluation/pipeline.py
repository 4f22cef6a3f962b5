"""Evaluate a base model and its adapters on a dataset version: generate, perplexity, score.

For every model ("base", then each adapter named by its folder) and every split, replies
are generated greedily into predictions.jsonl (resumable) and the replies' perplexity is
computed; then all rows are scored in one call, so the language (and BLEU's tokenizer) is
decided once from all references and every number is comparable with every other.

Splits: "val" is the validation split; "train" is a seeded random sample of the train
split of the same size as val, so train and held-out scores rest on equally many examples
and a train/val gap is not an artefact of sample size; "test" is read only when listed
explicitly (the sealed split). `limit` then keeps the first N examples of each split.
Greedy decoding makes a rerun into a fresh folder give the same numbers.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ftcore import __version__
from ftcore.data.formats import alpaca_to_messages
from ftcore.data.versions import SEALED_SPLIT, load_manifest, load_split
from ftcore.errors import ConfigError, DataError
from ftcore.evaluation.assess import ModelAssessment, assess_adapters
from ftcore.evaluation.generate import EvalExample, eval_example, generate_predictions
from ftcore.evaluation.perplexity import SplitPerplexity, split_perplexity
from ftcore.metrics.score_files import SCORES_JSON, write_report
from ftcore.metrics.scoring import ScoreReport, score_predictions
from ftcore.metrics.text import detect_language

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
BASE_MODEL_NAME = "base"
PROBE_SPLIT = "probe"
EVAL_SPLITS = ("train", "val", "test")
PREDICTIONS_JSONL = "predictions.jsonl"
OVERFIT_JSON = "overfit.json"
EVALUATION_JSON = "evaluation.json"


@dataclass
class EvaluationResult:
    """What an evaluation wrote; `scores` is the content of scores.json."""

    out_dir: Path
    settings: dict  # the content of evaluation.json
    scores: dict  # model → split → metric → {value, …}, perplexity entries included
    report: ScoreReport
    perplexities: dict[tuple[str, str], SplitPerplexity]
    files: dict[str, Path] = field(default_factory=dict)
    evaluation_id: int | None = None  # the database row, when a database was given
    examples: list[dict] = field(default_factory=list)  # per-example rows with scores
    assessments: dict[str, ModelAssessment] = field(default_factory=dict)  # per adapter


def _check_splits(splits: Sequence[str]) -> list[str]:
    splits = list(dict.fromkeys(splits))
    unknown = [split for split in splits if split not in EVAL_SPLITS]
    if unknown or not splits:
        raise ConfigError("splits", splits, f"one or more of {', '.join(EVAL_SPLITS)}")
    return splits


def _split_examples(data_dir: Path, split: str, seed: int) -> list[EvalExample]:
    if split == "train":
        train = load_split(data_dir, "train")
        # Same size as val: see the module docstring.
        size = min(len(train), len(load_split(data_dir, "val")))
        records = random.Random(seed).sample(train, size)
    else:
        records = load_split(data_dir, split, allow_test=split == SEALED_SPLIT)
    return [
        eval_example(record.id or f"{split}-{index}", record.messages)
        for index, record in enumerate(records, start=1)
    ]


def _train_targets(data_dir: Path) -> list[str]:
    """Every reply the model was trained on, to detect held-out outputs that copy one."""
    return [eval_example(r.id or "", r.messages).reference for r in load_split(data_dir, "train")]


def probe_examples(path: str | Path) -> list[EvalExample]:
    """An alpaca JSONL probe set (e.g. data/probe/general_probe.jsonl) as examples."""
    path = Path(path)
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read probe file {path}: {exc}") from exc
    examples = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} line {number} is not JSON: {exc}") from exc
        examples.append(eval_example(row.get("id") or f"probe-{number}", alpaca_to_messages(row)))
    return examples


def _settings(base, adapters, data_dir, out_dir, splits, limit, decoding, seed, probe) -> dict:
    return {
        "base": base,
        "adapters": adapters,
        "data_dir": str(Path(data_dir).resolve()),
        "dataset_hash": load_manifest(data_dir)["content_hash"],
        "out_dir": str(Path(out_dir).resolve()),
        "splits": splits,
        "train_sample": "seeded sample of the train split, as many rows as val",
        "limit": limit,
        "probe": str(Path(probe).resolve()) if probe else None,
        "decoding": decoding,
        "seed": seed,
        "ftcore_version": __version__,
    }


# What must match for an earlier run's predictions in the same folder to be reused.
RESUME_KEYS = ("base", "dataset_hash", "decoding", "seed")


def _check_resumable(out: Path, settings: dict) -> None:
    """A rerun into a folder resumes the same evaluation only: predictions made with another
    base model, dataset or decoding would otherwise be reused and scored as if comparable."""
    path = out / EVALUATION_JSON
    if not path.is_file():
        return
    earlier = json.loads(path.read_text("utf-8"))
    for key in RESUME_KEYS:
        if earlier.get(key) != settings[key]:
            raise ConfigError(
                "out",
                str(out),
                f"a new folder: it holds an evaluation made with {key}={earlier.get(key)!r}, "
                f"whose predictions would be reused for {key}={settings[key]!r}",
            )


def _write_json(path: Path, value: dict) -> Path:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", "utf-8")
    partial.replace(path)
    return path


def evaluate(
    base: str,
    adapters: Sequence[str | Path],
    data_dir: str | Path,
    out_dir: str | Path,
    splits: Sequence[str] = ("train", "val"),
    limit: int | None = None,
    max_new_tokens: int = 128,
    batch_size: int = 8,
    seed: int = 0,
    probe: str | Path | None = None,
    progress: Progress | None = None,
    *,
    bootstrap: int = 1000,
    database=None,
    chat_model=None,
) -> EvaluationResult:
    """Evaluate `base` and each adapter folder on `splits` of the dataset version in
    `data_dir` (and on the `probe` alpaca JSONL as split "probe"), writing
    predictions.jsonl, scores.json/.csv, per_example.jsonl/.csv and evaluation.json to
    `out_dir`. Rerunning into the same folder resumes generation. With `database`
    (ftcore.db.Database) the evaluation is registered; `chat_model` reuses a loaded
    ftcore.runtime.adapters.ChatModel of `base` instead of loading it again."""
    from ftcore.runtime.adapters import ChatModel
    from ftcore.runtime.models import load_model

    splits = _check_splits(splits)
    if limit is not None and limit < 1:
        raise ConfigError("limit", limit, "a positive number of examples, or None for all")
    out = Path(out_dir)
    examples = {split: _split_examples(Path(data_dir), split, seed)[:limit] for split in splits}
    if probe:
        examples[PROBE_SPLIT] = probe_examples(probe)[:limit]
    chat_model = chat_model or ChatModel(load_model(base))
    models = {BASE_MODEL_NAME: None}
    models.update({chat_model.attach(path): str(Path(path).resolve()) for path in adapters})
    decoding = {"max_new_tokens": max_new_tokens, "do_sample": False, "batch_size": batch_size}
    settings = _settings(
        base,
        {k: v for k, v in models.items() if v},
        data_dir,
        out,
        [*examples],
        limit,
        decoding,
        seed,
        probe,
    )
    _check_resumable(out, settings)
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / EVALUATION_JSON, settings)  # before generating, so a resume can check
    rows, perplexities = [], {}
    steps = [(model, split) for model in models for split in examples]
    for step, (model, split) in enumerate(steps):
        adapter = None if model == BASE_MODEL_NAME else model

        def scaled(fraction: float, message: str, step=step) -> None:
            if progress:
                progress((step + 0.9 * fraction) / (len(steps) + 1), message)

        rows += generate_predictions(
            chat_model,
            examples[split],
            out / PREDICTIONS_JSONL,
            model_name=model,
            split=split,
            adapter=adapter,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
            progress=scaled,
        )
        scaled(1.0, f"perplexity of {model} / {split}")
        conversations = [[*ex.messages, _reply(ex)] for ex in examples[split]]
        perplexities[model, split] = split_perplexity(
            chat_model, conversations, adapter=adapter, batch_size=batch_size
        )
    if progress:
        progress(len(steps) / (len(steps) + 1), "scoring")
    language = detect_language(row["reference"] for row in rows)
    report = score_predictions(rows, bootstrap=bootstrap, seed=seed, language=language)
    result = _write_outputs(out, settings, report, perplexities)
    result.examples = [asdict(example) for example in report.examples]
    if progress:
        progress((len(steps) + 0.5) / (len(steps) + 1), "verdicts")
    result.assessments = assess_adapters(
        {name: folder for name, folder in models.items() if folder},
        result.scores,
        result.examples,
        {key: value.pairs for key, value in perplexities.items()},
        _train_targets(Path(data_dir)) if "train" in examples else [],
        bootstrap=bootstrap,
        seed=seed,
    )
    verdicts = {name: assessment.to_json() for name, assessment in result.assessments.items()}
    result.files[OVERFIT_JSON] = _write_json(out / OVERFIT_JSON, verdicts)
    if database is not None:
        from ftcore.evaluation.store import register_evaluation

        result.evaluation_id = register_evaluation(
            database, settings, result.scores, result.examples
        )
    if progress:
        progress(1.0, f"evaluation written to {out}")
    return result


def _reply(example: EvalExample) -> dict:
    return {"role": "assistant", "content": example.reference}


def _write_outputs(
    out: Path, settings: dict, report: ScoreReport, perplexities
) -> EvaluationResult:
    files = write_report(report, out)
    scores = report.to_json()
    for (model, split), value in perplexities.items():
        scores.setdefault(model, {}).setdefault(split, {}).update(value.to_json())
    files[SCORES_JSON] = _write_json(out / SCORES_JSON, scores)
    files[EVALUATION_JSON] = _write_json(out / EVALUATION_JSON, settings)
    files[PREDICTIONS_JSONL] = out / PREDICTIONS_JSONL
    logger.info("evaluation written to %s", out)
    return EvaluationResult(out, settings, scores, report, perplexities, files)
