"""Evaluation perplexity against a direct transformers computation with hand-made masks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from ftcore.chat_format import encode_for_training
from ftcore.data.formats import alpaca_to_messages
from ftcore.evaluation.perplexity import split_perplexity

GREETINGS = (
    Path(__file__).resolve().parent.parent / "data/greetings/spring_festival_greetings.jsonl"
)

CONVERSATIONS = [
    [
        {"role": "user", "content": "给奶奶写一句新年祝福"},
        {"role": "assistant", "content": "奶奶新年快乐！"},
    ],
    [
        {"role": "system", "content": "你是一个助手"},
        {"role": "user", "content": "你好"},
        {"role": "assistant", "content": "你好，有什么可以帮你？"},
    ],
    [
        {"role": "user", "content": "第一句"},
        {"role": "assistant", "content": "好的"},
        {"role": "user", "content": "再来一句祝福"},
        {"role": "assistant", "content": "万事如意，身体健康"},
    ],
]


def greeting_conversations(n: int) -> list[list[dict]]:
    lines = GREETINGS.read_text("utf-8").splitlines()[:n]
    return [alpaca_to_messages(json.loads(line)) for line in lines]


def direct_nll(model, tokenizer, messages, *, last_only: bool = False) -> tuple[float, int]:
    """Sum of -log p over the reply tokens and each reply's <|im_end|>, with the ChatML
    text written out by hand (not through the template): the "\n" after <|im_end|> and
    every prompt token are not targets; with `last_only`, only the last reply counts."""
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    ids, keep, text = [], [], ""
    for index, message in enumerate(messages):
        scored = message["role"] == "assistant" and (index == last or not last_only)
        for piece, target in (
            (f"<|im_start|>{message['role']}\n", False),
            (message["content"], scored),
            ("<|im_end|>", scored),
            ("\n", False),
        ):
            piece_ids = tokenizer(piece, add_special_tokens=False)["input_ids"]
            ids += piece_ids
            keep += [target] * len(piece_ids)
            text += piece
    assert text == tokenizer.apply_chat_template(messages, tokenize=False)
    assert ids.count(im_end) == len(messages)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0].double()
    log_probs = torch.log_softmax(logits, dim=-1)
    total, count = 0.0, 0
    for position in range(1, len(ids)):
        if keep[position]:
            total -= log_probs[position - 1, ids[position]].item()
            count += 1
    return total, count


def test_split_perplexity_matches_direct_computation(demo_chat_model):
    tokenizer = demo_chat_model.tokenizer
    with demo_chat_model.using(None) as model:
        pairs = [direct_nll(model, tokenizer, messages) for messages in CONVERSATIONS]
    total_nll = sum(nll for nll, _ in pairs)
    total_tokens = sum(n for _, n in pairs)
    chars = sum(len(m["content"]) for c in CONVERSATIONS for m in c if m["role"] == "assistant")

    result = split_perplexity(demo_chat_model, CONVERSATIONS, batch_size=2, all_turns=True)

    assert result.n_tokens == total_tokens
    assert result.n_chars == chars == 7 + 11 + 2 + 9
    assert abs(result.nll_sum - total_nll) < 1e-4
    assert math.isclose(result.value, math.exp(total_nll / total_tokens), rel_tol=1e-4)
    assert math.isclose(result.per_char, math.exp(total_nll / chars), rel_tol=1e-4)
    # Token-weighted, not the mean of per-example perplexities.
    mean_of_ppl = sum(math.exp(nll / n) for nll, n in pairs) / len(pairs)
    assert not math.isclose(result.value, mean_of_ppl, rel_tol=1e-3)


def test_perplexity_scores_the_last_reply_and_its_end_of_turn_only(demo_chat_model):
    """Audit finding 6 and 8: the template's "\n" after <|im_end|> is never generated, so
    it is not a target; and `perplexity` scores the turn the generation metrics score."""
    tokenizer = demo_chat_model.tokenizer
    with demo_chat_model.using(None) as model:
        pairs = [direct_nll(model, tokenizer, c, last_only=True) for c in CONVERSATIONS]
    reply_tokens = [
        len(tokenizer(c[-1]["content"], add_special_tokens=False)["input_ids"]) + 1
        for c in CONVERSATIONS
    ]

    result = split_perplexity(demo_chat_model, CONVERSATIONS, batch_size=2)

    assert [n for _, n in result.pairs] == [n for _, n in pairs] == reply_tokens
    for (got, _), (expected, _) in zip(result.pairs, pairs, strict=True):
        assert abs(got - expected) < 1e-4
    assert abs(result.nll_sum - sum(nll for nll, _ in pairs)) < 1e-4
    assert result.n_chars == 7 + 11 + 9  # the last replies only
    assert result.name == "perplexity"
    every = split_perplexity(demo_chat_model, CONVERSATIONS, batch_size=2, all_turns=True)
    assert every.name == "perplexity_all_turns"
    earlier = len(tokenizer("好的", add_special_tokens=False)["input_ids"]) + 1  # + <|im_end|>
    assert every.n_tokens == result.n_tokens + earlier


def test_conversations_are_cut_at_max_length_as_training_validation_cuts_them(
    demo_chat_model,
):
    """Audit finding 7: at max_length 64 evaluation scored whole conversations (2,202)
    while validation cut them (1,626). Both now give the same number."""
    from ftcore.data.records import Record
    from ftcore.nll import example_nlls, mean_nll
    from ftcore.training.batches import encode_split

    tokenizer = demo_chat_model.tokenizer
    records = [Record(messages) for messages in greeting_conversations(8)]
    validation = encode_split(tokenizer, records, max_length=64, what="val")
    with demo_chat_model.using(None) as model:
        pairs = example_nlls(model, validation.rows, pad_id=tokenizer.pad_token_id)

    cut = split_perplexity(
        demo_chat_model, [r.messages for r in records], all_turns=True, max_length=64
    )
    whole = split_perplexity(demo_chat_model, [r.messages for r in records], all_turns=True)

    assert validation.n_truncated > 0
    assert cut.n_truncated == validation.n_truncated and whole.n_truncated == 0
    assert cut.value == pytest.approx(math.exp(mean_nll(pairs)), rel=1e-5)
    assert whole.n_tokens > cut.n_tokens
    assert "max_length:64" in cut.to_json()["perplexity_all_turns"]["signature"]


def test_conversations_past_the_model_context_are_counted(demo_chat_model):
    conversations = greeting_conversations(6)
    config = demo_chat_model.loaded.model.config
    lengths = [
        len(encode_for_training(demo_chat_model.tokenizer, c).input_ids) for c in conversations
    ]
    context = sorted(lengths)[2]
    original, config.max_position_embeddings = config.max_position_embeddings, context
    try:
        result = split_perplexity(demo_chat_model, conversations)
    finally:
        config.max_position_embeddings = original
    assert result.n_past_context == sum(n > context for n in lengths) == 3
    assert result.to_json()["perplexity"]["n_past_context"] == 3


def test_perplexity_json_entries(demo_chat_model):
    entries = split_perplexity(demo_chat_model, CONVERSATIONS[:1]).to_json()
    assert set(entries) == {"perplexity", "perplexity_per_char"}
    assert entries["perplexity"]["n_tokens"] > 0
    assert entries["perplexity_per_char"]["n_chars"] == 7
    assert "response-only" in entries["perplexity"]["signature"]
    assert entries["perplexity"]["higher_is_better"] is False
