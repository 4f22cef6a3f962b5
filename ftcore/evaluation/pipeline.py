"""Evaluate a base model and its adapters on a dataset version: generate, perplexity, score.

For every model ("base", then each adapter named by its folder) and every split, replies
are generated greedily into predictions.jsonl (resumable) and the replies' perplexity is
computed; then all rows are scored in one call (BLEU tokenises each row by its own
reference), every adapter is compared with the base on the same examples
(comparisons.json: paired deltas with intervals) and judged (overfit.json).

Which examples (ftcore.evaluation.selection): a seeded sample of every split, stratified
by the dataset's label. What is scored: the last assistant turn of each conversation, by
the generation metrics and by `perplexity` alike (`perplexity_all_turns` scores every
turn), with conversations cut at the adapters' training max_length as validation cuts
them. evaluation.json records everything the numbers depend on; a rerun into the same
folder resumes only the same evaluation (ftcore.evaluation.provenance). Greedy decoding
makes a rerun into a fresh folder give the same numbers.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ftcore import __version__
from ftcore.data.versions import load_manifest
from ftcore.evaluation.assess import ModelAssessment, assess_adapters
from ftcore.evaluation.generate import EvalExample, generate_predictions
from ftcore.evaluation.options import DEFAULTS, EvalOptions
from ftcore.evaluation.perplexity import (
    ALL_TURNS,
    SplitPerplexity,
    context_length,
    split_perplexity,
)
from ftcore.evaluation.provenance import (
    AdapterInfo,
    adapter_info,
    check_resumable,
    evaluation_max_length,
    probe_sha256,
)
from ftcore.evaluation.selection import probe_examples, split_examples, train_targets
from ftcore.files import write_json
from ftcore.metrics.comparisons import (
    COMPARISONS_JSON,
    Comparison,
    compare_report_to_baseline,
    write_comparisons_json,
)
from ftcore.metrics.score_files import SCORES_JSON, write_report
from ftcore.metrics.scoring import ScoreReport, score_predictions
from ftcore.progress import Progress, scaled
from ftcore.verdicts.verdict_settings import VerdictSettings

logger = logging.getLogger(__name__)

BASE_MODEL_NAME = "base"
PROBE_SPLIT = "probe"
PREDICTIONS_JSONL = "predictions.jsonl"
OVERFIT_JSON = "overfit.json"
EVALUATION_JSON = "evaluation.json"
SCORING_SHARE = 0.9  # of the progress bar, the share of generation and perplexity


@dataclass
class EvaluationResult:
    """What an evaluation wrote; `scores` is the content of scores.json."""

    out_dir: Path
    settings: dict  # the content of evaluation.json
    scores: dict  # model → split → metric → {value, …}, perplexity entries included
    report: ScoreReport
    perplexities: dict[tuple[str, str], SplitPerplexity]  # last-turn, per (model, split)
    files: dict[str, Path] = field(default_factory=dict)
    evaluation_id: int | None = None  # the database row, when a database was given
    examples: list[dict] = field(default_factory=list)  # per-example rows with scores
    assessments: dict[str, ModelAssessment] = field(default_factory=dict)  # per adapter
    comparisons: list[Comparison] = field(default_factory=list)  # each adapter − base


def _settings(base, adapters, data_dir, out_dir, options, examples, probe, max_length) -> dict:
    return {
        "base": base,
        "adapters": {name: info.to_json() for name, info in adapters.items()},
        "data_dir": str(Path(data_dir).resolve()),
        "dataset_hash": load_manifest(data_dir)["content_hash"],
        "out_dir": str(Path(out_dir).resolve()),
        "splits": [*examples],
        "sample": "seeded sample of every split, stratified by the dataset's label; "
        "train as large as val",
        "limit": options.limit,
        "examples": {split: len(rows) for split, rows in examples.items()},
        "probe": str(Path(probe).resolve()) if probe else None,
        "probe_sha256": probe_sha256(probe),
        "decoding": {
            "max_new_tokens": options.max_new_tokens,
            "do_sample": False,
            "batch_size": options.batch_size,
        },
        "seed": options.seed,
        "bootstrap": options.bootstrap,
        "scored_turn": "last assistant turn (perplexity_all_turns: every assistant turn)",
        "max_length": max_length,
        "ftcore_version": __version__,
    }


def evaluate(
    base: str,
    adapters: Sequence[str | Path],
    data_dir: str | Path,
    out_dir: str | Path,
    splits: Sequence[str] = DEFAULTS.splits,
    limit: int | None = DEFAULTS.limit,
    max_new_tokens: int = DEFAULTS.max_new_tokens,
    batch_size: int = DEFAULTS.batch_size,
    seed: int = DEFAULTS.seed,
    probe: str | Path | None = None,
    progress: Progress | None = None,
    *,
    bootstrap: int = DEFAULTS.bootstrap,
    max_length: int | None = DEFAULTS.max_length,
    verdict_settings: VerdictSettings | None = None,
    database=None,
    chat_model=None,
) -> EvaluationResult:
    """Evaluate `base` and each adapter folder on `splits` of the dataset version in
    `data_dir` (and on the `probe` alpaca JSONL as split "probe"), writing
    predictions.jsonl, scores.json/.csv, per_example.jsonl/.csv, comparisons.json,
    overfit.json and evaluation.json to `out_dir`. Settings are EvalOptions fields (see
    ftcore.evaluation.options for each one's meaning); `verdict_settings` holds the
    verdicts' thresholds (default: VerdictSettings()). Rerunning into the same folder
    resumes generation. With `database` (ftcore.db.Database) the evaluation is
    registered; `chat_model` reuses a loaded ftcore.runtime.adapters.ChatModel of `base`."""
    from ftcore.runtime.adapters import ChatModel
    from ftcore.runtime.models import load_model

    options = EvalOptions(
        tuple(splits), limit, max_new_tokens, batch_size, seed, bootstrap, max_length
    )
    out = Path(out_dir)
    examples = {s: split_examples(data_dir, s, limit=limit, seed=seed) for s in options.splits}
    if probe:
        examples[PROBE_SPLIT] = probe_examples(probe, limit=limit, seed=seed)
    chat_model = chat_model or ChatModel(load_model(base))
    infos = {chat_model.attach(path): adapter_info(path) for path in adapters}
    models: dict[str, AdapterInfo | None] = {BASE_MODEL_NAME: None, **infos}
    cut = evaluation_max_length(max_length, infos)
    settings = _settings(base, infos, data_dir, out, options, examples, probe, cut)
    check_resumable(out, EVALUATION_JSON, settings)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / EVALUATION_JSON, settings)  # before generating, so a resume can check
    rows, perplexities, all_turns = _generate_and_measure(
        chat_model, models, examples, out / PREDICTIONS_JSONL, options, cut, progress
    )
    settings["length_checks"] = _length_checks(chat_model, perplexities, cut)
    report = score_predictions(rows, bootstrap=bootstrap, seed=seed)
    result = _write_outputs(out, settings, report, perplexities, all_turns)
    result.examples = [asdict(example) for example in report.examples]
    if progress:
        progress((1 + SCORING_SHARE) / 2, "comparisons and verdicts")
    result.comparisons = compare_report_to_baseline(report, BASE_MODEL_NAME)
    result.files[COMPARISONS_JSON] = write_comparisons_json(
        result.comparisons, out / COMPARISONS_JSON
    )
    result.assessments = assess_adapters(
        {name: info.folder for name, info in infos.items()},
        result.scores,
        result.examples,
        {key: value.pairs for key, value in perplexities.items()},
        train_targets(data_dir) if "train" in examples else [],
        # Only the val curve up to the step whose weights are evaluated counts against
        # them (best/ predates any later rise).
        weights_steps={name: info.weights_step for name, info in infos.items()},
        bootstrap=bootstrap,
        seed=seed,
        settings=verdict_settings,
    )
    verdicts = {name: assessment.to_json() for name, assessment in result.assessments.items()}
    result.files[OVERFIT_JSON] = write_json(out / OVERFIT_JSON, verdicts)
    if database is not None:
        from ftcore.evaluation.store import register_evaluation

        result.evaluation_id = register_evaluation(
            database, settings, result.scores, result.examples
        )
    if progress:
        progress(1.0, f"evaluation written to {out}")
    return result


def _generate_and_measure(
    chat_model,
    models: dict[str, AdapterInfo | None],
    examples: dict[str, list[EvalExample]],
    predictions: Path,
    options: EvalOptions,
    max_length: int | None,
    progress: Progress | None,
) -> tuple[list[dict], dict, dict]:
    """Generate (or resume) every model's replies on every split and measure their
    last-turn and all-turn perplexity: rows, and the two perplexities per (model, split)."""
    rows, perplexities, all_turns = [], {}, {}
    steps = [(model, split) for model in models for split in examples]
    for step, (model, split) in enumerate(steps):
        adapter = None if model == BASE_MODEL_NAME else model
        # Each model/split gets an equal share of the first SCORING_SHARE, 90% of it for
        # generation and the rest for perplexity; scoring and verdicts take the rest.
        share = SCORING_SHARE / len(steps)
        step_progress = scaled(progress, step * share, (step + 0.9) * share)
        rows += generate_predictions(
            chat_model,
            examples[split],
            predictions,
            model_name=model,
            split=split,
            adapter=adapter,
            adapter_sha256=models[model].weights_sha256 if models[model] else None,
            max_new_tokens=options.max_new_tokens,
            batch_size=options.batch_size,
            progress=step_progress,
        )
        if step_progress:
            step_progress(1.0, f"perplexity of {model} / {split}")
        perplexities[model, split], all_turns[model, split] = _split_perplexities(
            chat_model, examples[split], adapter, options.batch_size, max_length
        )
    if progress:
        progress(SCORING_SHARE, "scoring")
    return rows, perplexities, all_turns


def _conversation(example: EvalExample) -> list[dict]:
    return [*example.messages, {"role": "assistant", "content": example.reference}]


def _split_perplexities(
    chat_model, examples: Sequence[EvalExample], adapter, batch_size: int, max_length
) -> tuple[SplitPerplexity, SplitPerplexity]:
    """Last-turn and all-turn perplexity; the second pass only when some conversation
    has more than one reply (otherwise the two are the same targets)."""
    conversations = [_conversation(example) for example in examples]
    settings = {"adapter": adapter, "batch_size": batch_size, "max_length": max_length}
    last = split_perplexity(chat_model, conversations, **settings)
    if all(sum(m["role"] == "assistant" for m in c) == 1 for c in conversations):
        return last, dataclasses.replace(last, name=ALL_TURNS)
    return last, split_perplexity(chat_model, conversations, all_turns=True, **settings)


def _length_checks(chat_model, perplexities: dict, max_length: int | None) -> dict:
    """Per split, how many conversations were cut at max_length (as validation cuts them)
    and how many are longer than the model's context, whose scores are not to be
    trusted: logged as warnings and recorded in evaluation.json."""
    context = context_length(chat_model)
    base = {split: p for (model, split), p in perplexities.items() if model == BASE_MODEL_NAME}
    for split, p in base.items():
        if p.n_truncated:
            logger.warning(
                "%s: %d conversations cut at %d tokens", split, p.n_truncated, max_length
            )
        if p.n_past_context:
            logger.warning(
                "%s: %d conversations are longer than the model's context of %s tokens",
                split,
                p.n_past_context,
                context,
            )
    return {
        "max_length": max_length,
        "context_length": context,
        "truncated": {split: p.n_truncated for split, p in base.items()},
        "past_context": {split: p.n_past_context for split, p in base.items()},
    }


def _write_outputs(
    out: Path, settings: dict, report: ScoreReport, perplexities: dict, all_turns: dict
) -> EvaluationResult:
    files = write_report(report, out)
    scores = report.to_json()
    for table in (perplexities, all_turns):
        for (model, split), value in table.items():
            scores.setdefault(model, {}).setdefault(split, {}).update(value.to_json())
    files[SCORES_JSON] = write_json(out / SCORES_JSON, scores)
    files[EVALUATION_JSON] = write_json(out / EVALUATION_JSON, settings)
    files[PREDICTIONS_JSONL] = out / PREDICTIONS_JSONL
    logger.info("evaluation written to %s", out)
    return EvaluationResult(out, settings, scores, report, perplexities, files)
