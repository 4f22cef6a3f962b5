"""Batched greedy generation for evaluation, appended to predictions.jsonl so it can resume.

Each example is a conversation cut before its last assistant turn: the model is prompted
with everything up to that turn (rendered by chat_format.encode_for_generation, the one
prompt renderer) and its reply is compared with the cut-off assistant text. Prompts are
sorted by length and left-padded, so that in a batch every prompt ends where generation
starts and little compute goes on padding. Rows are appended as each batch finishes; on a
rerun with the same file, (model, split, id) rows already there are not generated again.
Each row records the sha256 of the adapter weights that wrote it, and a rerun refuses rows
of another adapter stored under the same model name.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ftcore.chat_format import Message, encode_for_generation
from ftcore.errors import ConfigError, DataError
from ftcore.files import append_jsonl, read_jsonl
from ftcore.progress import Progress
from ftcore.runtime.generation import GenerationSettings, decode_complete, generation_config

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalExample:
    """One prompt to answer and the reference reply it is scored against."""

    id: str
    messages: list[Message]  # the conversation before its last assistant turn
    reference: str  # that assistant turn's content

    @property
    def prompt(self) -> str:
        """The user text the reply answers (the last user turn), for people to read."""
        return self.messages[-1]["content"]


def eval_example(example_id: str, messages: Sequence[Message]) -> EvalExample:
    """Cut a conversation before its last assistant turn; DataError when it has none."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None:
        raise DataError(f"example {example_id!r} has no assistant turn to compare against")
    return EvalExample(str(example_id), list(messages[:last]), messages[last]["content"])


def generate_batch(model, tokenizer, prompts: Sequence[Sequence[int]], max_new_tokens: int):
    """Greedy replies to token-id prompts, as text: left padding with an attention mask,
    and only the new tokens decoded, in whole characters (special tokens, end-of-turn and
    padding included, dropped; see decode_complete)."""
    import torch

    width = max(len(ids) for ids in prompts)
    pad_id = tokenizer.pad_token_id
    input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, ids in enumerate(prompts):
        # Left padding: the last prompt token of every row sits at the same column, so
        # the first generated token of every row is predicted from its real prompt end.
        input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
        attention_mask[row, width - len(ids) :] = 1
    device = next(model.parameters()).device
    config = generation_config(GenerationSettings(max_new_tokens=max_new_tokens), model, tokenizer)
    with torch.inference_mode():
        output = model.generate(
            input_ids=input_ids.to(device),
            attention_mask=attention_mask.to(device),
            generation_config=config,
        )
    return [decode_complete(tokenizer, row.tolist()) for row in output[:, width:]]


def read_predictions_file(path: str | Path) -> list[dict]:
    """Rows of a predictions.jsonl written here (empty when the file does not exist). A
    last line cut off by an interrupted run is skipped; the next append removes it."""
    return read_jsonl(path, tolerate_partial_tail=True, missing_ok=True)


def _batches(examples: Sequence[EvalExample], prompts: dict[str, list[int]], size: int):
    ordered = sorted(examples, key=lambda example: len(prompts[example.id]))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def generate_predictions(
    chat_model,
    examples: Sequence[EvalExample],
    path: str | Path,
    *,
    model_name: str,
    split: str,
    adapter: str | None = None,
    adapter_sha256: str | None = None,
    max_new_tokens: int = 128,
    batch_size: int = 8,
    progress: Progress | None = None,
) -> list[dict]:
    """Generate a reply to every example with `adapter` active (None: the base model) and
    append one row per example to `path`; return this model/split's rows in example order.

    Rows are {model, split, id, prompt, reference, prediction, adapter_sha256} (the
    adapter's weights hash, None for the base model). Examples whose (model_name, split,
    id) is already in `path` are skipped, so a rerun resumes; ConfigError when those rows
    were written by weights with another hash."""
    if batch_size < 1:
        raise ConfigError("batch_size", batch_size, "an integer of at least 1")
    ids = [example.id for example in examples]
    if len(set(ids)) != len(ids):
        raise DataError(f"{split}: example ids are not unique, so a rerun could not resume")
    path = Path(path)
    done = {
        row["id"]: row
        for row in read_predictions_file(path)
        if row.get("model") == model_name and row.get("split") == split
    }
    _check_same_adapter(path, done.values(), model_name, adapter_sha256)
    todo = [example for example in examples if example.id not in done]
    if done:
        logger.info("%s / %s: %d of %d rows already done", model_name, split, len(done), len(ids))
    tokenizer = chat_model.tokenizer
    prompts = {ex.id: encode_for_generation(tokenizer, ex.messages) for ex in todo}
    finished = len(examples) - len(todo)
    path.parent.mkdir(parents=True, exist_ok=True)
    with chat_model.using(adapter) as model:
        for batch in _batches(todo, prompts, batch_size):
            if progress:
                progress(finished / len(examples), f"generating {model_name} / {split}")
            replies = generate_batch(
                model, tokenizer, [prompts[ex.id] for ex in batch], max_new_tokens
            )
            rows = [
                _row(model_name, split, ex, reply, adapter_sha256)
                for ex, reply in zip(batch, replies, strict=True)
            ]
            # One write per batch: an interruption loses at most this batch.
            append_jsonl(path, rows)
            done.update((row["id"], row) for row in rows)
            finished += len(batch)
    if progress:
        progress(1.0, f"generated {model_name} / {split}")
    return [done[example_id] for example_id in ids]


def _check_same_adapter(path: Path, rows, model_name: str, adapter_sha256: str | None) -> None:
    stored = {row.get("adapter_sha256") for row in rows} - {adapter_sha256}
    if stored:
        raise ConfigError(
            "adapter_sha256",
            adapter_sha256,
            f"{stored.pop()!r}, the weights that wrote the {model_name!r} rows in {path}; "
            "evaluate another adapter into a new folder",
        )


def _row(
    model_name: str,
    split: str,
    example: EvalExample,
    prediction: str,
    adapter_sha256: str | None,
) -> dict:
    return {
        "model": model_name,
        "split": split,
        "id": example.id,
        "prompt": example.prompt,
        "reference": example.reference,
        "prediction": prediction,
        "adapter_sha256": adapter_sha256,
    }
