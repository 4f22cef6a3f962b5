"""Batched evaluation generation: same text as one at a time, left padding, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftcore.chat_format import encode_for_generation
from ftcore.data.formats import alpaca_to_messages
from ftcore.evaluation.generate import (
    eval_example,
    generate_batch,
    generate_predictions,
    read_predictions_file,
)

GREETINGS = (
    Path(__file__).resolve().parent.parent / "data/greetings/spring_festival_greetings.jsonl"
)


def greeting_examples(n: int):
    rows = [json.loads(line) for line in GREETINGS.read_text("utf-8").splitlines()[:n]]
    return [eval_example(row["id"], alpaca_to_messages(row)) for row in rows]


def test_eval_example_cuts_before_last_assistant_turn():
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
        {"role": "assistant", "content": "d"},
    ]
    example = eval_example("x", messages)
    assert example.messages == messages[:3]
    assert example.reference == "d" and example.prompt == "c"


def test_batched_generation_equals_one_at_a_time(demo_chat_model):
    tokenizer = demo_chat_model.tokenizer
    examples = greeting_examples(6)
    prompts = [encode_for_generation(tokenizer, ex.messages) for ex in examples]
    assert len({len(p) for p in prompts}) > 1  # lengths differ, so padding is exercised
    with demo_chat_model.using(None) as model:
        batched = generate_batch(model, tokenizer, prompts, 16)
        single = [generate_batch(model, tokenizer, [p], 16)[0] for p in prompts]
    assert batched == single
    assert all(isinstance(text, str) for text in batched) and any(batched)


def test_generate_batch_pads_on_the_left(demo_chat_model):
    """The tensor handed to generate has pad ids before the shorter prompt."""
    tokenizer = demo_chat_model.tokenizer
    seen = {}
    with demo_chat_model.using(None) as model:
        original = model.generate

        def spy(**kwargs):
            seen.update(kwargs)
            return original(**kwargs)

        model.generate = spy
        try:
            generate_batch(model, tokenizer, [[5, 6, 7, 8], [9, 10]], 2)
        finally:
            del model.generate
    assert seen["input_ids"][1].tolist() == [tokenizer.pad_token_id] * 2 + [9, 10]
    assert seen["attention_mask"].tolist() == [[1, 1, 1, 1], [0, 0, 1, 1]]
    assert seen["generation_config"].do_sample is False
    assert seen["generation_config"].max_new_tokens == 2


def test_predictions_resume_skips_done_rows(demo_chat_model, tmp_path):
    path = tmp_path / "predictions.jsonl"
    examples = greeting_examples(5)
    first = generate_predictions(
        demo_chat_model, examples[:3], path, model_name="base", split="val", max_new_tokens=8
    )
    # An interrupted write leaves half a line; it must be dropped, not break the rerun.
    with open(path, "a", encoding="utf-8") as file:
        file.write('{"model": "base", "split": "val", "id": "gre')
    calls = []
    progress = []
    with demo_chat_model.using(None) as model:
        original = model.generate

        def counting(**kwargs):
            calls.append(kwargs["input_ids"].shape[0])
            return original(**kwargs)

        model.generate = counting
    try:
        rows = generate_predictions(
            demo_chat_model, examples, path, model_name="base", split="val",
            max_new_tokens=8, batch_size=4, progress=lambda f, m: progress.append(f),
        )  # fmt: skip
    finally:
        del model.generate
    assert calls == [2]  # only the two new examples were generated, in one batch
    assert [row["id"] for row in rows] == [ex.id for ex in examples]
    assert rows[:3] == first
    stored = read_predictions_file(path)
    # Rows are stored in generation order (by prompt length); each example exactly once.
    assert sorted(row["id"] for row in stored) == sorted(ex.id for ex in examples)
    by_id = {row["id"]: row for row in stored}
    assert all(by_id[ex.id]["reference"] == ex.reference for ex in examples)
    assert set(stored[0]) == {
        "model", "split", "id", "prompt", "reference", "prediction", "adapter_sha256"
    }  # fmt: skip
    assert stored[0]["adapter_sha256"] is None  # the base model has no adapter
    assert progress[-1] == 1.0


def test_rows_of_other_weights_under_the_same_name_are_refused(demo_chat_model, tmp_path):
    """Audit finding 1: every row records the hash of the weights that wrote it, and a
    resume never mixes in rows another adapter of the same name wrote."""
    from ftcore.errors import ConfigError

    path = tmp_path / "predictions.jsonl"
    examples = greeting_examples(2)
    settings = {"model_name": "run1", "split": "val", "max_new_tokens": 4}
    rows = generate_predictions(
        demo_chat_model, examples[:1], path, adapter_sha256="a" * 64, **settings
    )
    assert rows[0]["adapter_sha256"] == "a" * 64
    with pytest.raises(ConfigError, match="adapter_sha256='bbbb.*'aaaa.*'run1' rows"):
        generate_predictions(demo_chat_model, examples, path, adapter_sha256="b" * 64, **settings)
    # The same weights resume: only the missing example is generated.
    again = generate_predictions(
        demo_chat_model, examples, path, adapter_sha256="a" * 64, **settings
    )
    assert again[0] == rows[0] and len(read_predictions_file(path)) == 2


def test_batch_size_must_be_positive(demo_chat_model, tmp_path):
    from ftcore.errors import ConfigError

    with pytest.raises(ConfigError, match="batch_size"):
        generate_predictions(
            demo_chat_model, greeting_examples(1), tmp_path / "p.jsonl",
            model_name="base", split="val", batch_size=0,
        )  # fmt: skip
