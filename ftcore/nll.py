"""Response-only, token-weighted negative log-likelihood: the one NLL training and evaluation share.

Two layers, as in lm-evaluation-harness. The aggregation layer is pure arithmetic on
per-example `(nll_sum, n_tokens)` pairs, reduced at corpus level: mean NLL = total NLL /
total tokens and perplexity = exp(mean NLL). That is *not* the mean of per-example
perplexities, which weights a 3-token reply like a 300-token one and differs by large
factors on the same data. The model layer computes those pairs from conversations encoded
by `chat_format.encode_for_training`, so only reply tokens (with their end-of-turn marker)
count, padding never does, and the batch size cannot change the result.

Validation during training and perplexity in evaluation both call `example_nlls`, so the
Train and Evaluate tabs show the same number for the same adapter and data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ftcore.chat_format import IGNORE_INDEX, Message
from ftcore.errors import ConfigError, NoTargetTokensError


@dataclass(frozen=True)
class ExampleNLL:
    """The summed NLL (in nats) of one example's target tokens, and how many there were."""

    nll_sum: float
    n_tokens: int


class Encoded(Protocol):
    """Anything with token ids and labels, such as chat_format.EncodedConversation."""

    input_ids: Sequence[int]
    labels: Sequence[int]


# ---- aggregation: plain numbers in, plain numbers out ---------------------------------


def corpus_totals(pairs: Iterable[ExampleNLL | tuple[float, int]]) -> tuple[float, int]:
    """Total NLL and total target tokens over a corpus."""
    total_nll, total_tokens = 0.0, 0
    for pair in pairs:
        nll_sum, n_tokens = (pair.nll_sum, pair.n_tokens) if isinstance(pair, ExampleNLL) else pair
        total_nll += nll_sum
        total_tokens += n_tokens
    return total_nll, total_tokens


def mean_nll(pairs: Iterable[ExampleNLL | tuple[float, int]]) -> float:
    """Corpus mean NLL per target token: total NLL / total tokens."""
    return mean_of_totals(*corpus_totals(pairs))


def mean_of_totals(total_nll: float, total_tokens: int) -> float:
    """Mean NLL per target token from corpus totals: the one place that divides."""
    if total_tokens == 0:
        raise NoTargetTokensError("the mean NLL of zero target tokens is undefined")
    return total_nll / total_tokens


def perplexity(pairs: Iterable[ExampleNLL | tuple[float, int]]) -> float:
    """Corpus perplexity: exp(total NLL / total tokens)."""
    return math.exp(mean_nll(pairs))


def nll_per_char(pairs: Iterable[ExampleNLL | tuple[float, int]], n_chars: int) -> float:
    """Total NLL / characters of the reference replies: comparable across tokenizers,
    which a per-token figure is not."""
    if n_chars <= 0:
        raise ValueError("the NLL per character of an empty reference is undefined")
    return corpus_totals(pairs)[0] / n_chars


def reference_chars(messages: Sequence[Message]) -> int:
    """Characters of the assistant replies in a conversation: the text being scored."""
    return sum(len(m["content"]) for m in messages if m["role"] == "assistant")


# ---- model layer ----------------------------------------------------------------------


def shift_labels(labels):
    """Labels aligned with the logits that predict them: position t holds the token at
    t + 1, and the last position IGNORE_INDEX. Padding the labels instead of slicing the
    logits avoids a copy of the largest tensor in a training step."""
    import torch.nn.functional as F

    return F.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)


def token_nll_sums(logits, labels):
    """Per-example summed NLL (float32, differentiable) and target-token counts.

    `labels` are unshifted (as built by encode_for_training); IGNORE_INDEX positions,
    prompts and padding alike, contribute nothing.
    """
    import torch.nn.functional as F

    targets = shift_labels(labels)
    batch, length, vocab = logits.shape
    # The log-softmax runs in float32 even under bf16/fp16 autocast: low-precision
    # log-probabilities of a large vocabulary lose the small differences that matter.
    per_token = F.cross_entropy(
        logits.reshape(batch * length, vocab).float(),
        targets.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="none",
    ).view(batch, length)
    return per_token.sum(dim=1), (targets != IGNORE_INDEX).sum(dim=1)


def pad_batch(rows: Sequence[Encoded], pad_id: int) -> dict:
    """Right-pad rows into tensors: pad id in input_ids, 0 in attention_mask, IGNORE_INDEX
    in labels. Right padding leaves every real token's position and attention unchanged."""
    import torch

    width = max(len(row.input_ids) for row in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        n = len(row.input_ids)
        input_ids[index, :n] = torch.tensor(row.input_ids, dtype=torch.long)
        labels[index, :n] = torch.tensor(row.labels, dtype=torch.long)
        attention_mask[index, :n] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def example_nlls(
    model, rows: Sequence[Encoded], *, pad_id: int, batch_size: int = 8
) -> list[ExampleNLL]:
    """Per-example NLL of encoded conversations, in the order given.

    Rows are batched by length to waste little compute on padding; the result does not
    depend on `batch_size`. The model's train/eval mode is restored afterwards; wrap the
    call in autocast to evaluate in bf16/fp16.
    """
    import torch

    if batch_size < 1:
        raise ConfigError("batch_size", batch_size, "an integer of at least 1")
    device = next(model.parameters()).device
    order = sorted(range(len(rows)), key=lambda i: len(rows[i].input_ids), reverse=True)
    results: list[ExampleNLL | None] = [None] * len(rows)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                batch = {
                    k: v.to(device) for k, v in pad_batch([rows[i] for i in chunk], pad_id).items()
                }
                logits = model(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                ).logits
                sums, counts = token_nll_sums(logits, batch["labels"])
                for i, nll_sum, n_tokens in zip(chunk, sums.tolist(), counts.tolist(), strict=True):
                    results[i] = ExampleNLL(nll_sum, n_tokens)
    finally:
        model.train(was_training)
    return results  # type: ignore[return-value]
