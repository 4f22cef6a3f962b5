"""Evaluation perplexity against a direct transformers computation with hand-made masks."""

from __future__ import annotations

import math

import torch

from ftcore.evaluation.perplexity import split_perplexity

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


def direct_nll(model, tokenizer, messages) -> tuple[float, int]:
    """Sum of -log p over assistant reply tokens (and their end-of-turn marker), found by
    rendering prefixes with the chat template and masking everything else by hand."""
    ids, keep = [], []
    rendered = ""
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = tokenizer.apply_chat_template(
            messages[:index], tokenize=False, add_generation_prompt=True
        )
        full = tokenizer.apply_chat_template(messages[: index + 1], tokenize=False)
        for text, scored in ((prompt[len(rendered) :], False), (full[len(prompt) :], True)):
            piece = tokenizer(text, add_special_tokens=False)["input_ids"]
            ids += piece
            keep += [scored] * len(piece)
        rendered = full
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

    result = split_perplexity(demo_chat_model, CONVERSATIONS, batch_size=2)

    assert result.n_tokens == total_tokens
    assert result.n_chars == chars == 7 + 11 + 2 + 9
    assert abs(result.nll_sum - total_nll) < 1e-4
    assert math.isclose(result.value, math.exp(total_nll / total_tokens), rel_tol=1e-4)
    assert math.isclose(result.per_char, math.exp(total_nll / chars), rel_tol=1e-4)
    # Token-weighted, not the mean of per-example perplexities.
    mean_of_ppl = sum(math.exp(nll / n) for nll, n in pairs) / len(pairs)
    assert not math.isclose(result.value, mean_of_ppl, rel_tol=1e-3)


def test_perplexity_json_entries(demo_chat_model):
    entries = split_perplexity(demo_chat_model, CONVERSATIONS[:1]).to_json()
    assert set(entries) == {"perplexity", "perplexity_per_char"}
    assert entries["perplexity"]["n_tokens"] > 0
    assert entries["perplexity_per_char"]["n_chars"] == 7
    assert "response-only" in entries["perplexity"]["signature"]
    assert entries["perplexity"]["higher_is_better"] is False
