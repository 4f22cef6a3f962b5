"""Corpus perplexity of one model on one split, per token and per character, via ftcore.nll.

Only reply targets count (chat_format: a reply's tokens plus its end-of-turn token, never
what the template writes after it). `perplexity` scores the last assistant turn of each
conversation, the turn that generation answers and the generation metrics score, so both
kinds of number describe the same text; `perplexity_all_turns` scores every assistant
turn, as training validation does. Conversations are cut at `max_length` tokens exactly
as training validation cuts them (see ftcore.training.batches.encode_split), so the same
adapter and data give the Train tab's val loss; conversations longer than the model's
context are counted, because their scores are not to be trusted.

Both figures are token-weighted corpus values: exp(total NLL / total target tokens) and
exp(total NLL / total reply characters). The per-character one compares models with
different tokenizers; the per-token one does not.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ftcore.chat_format import Message, encode_for_training
from ftcore.nll import (
    corpus_totals,
    example_nlls,
    mean_of_totals,
    nll_per_char,
    reference_chars,
)

logger = logging.getLogger(__name__)

LAST_TURN = "perplexity"  # the metric name of last-turn perplexity
ALL_TURNS = "perplexity_all_turns"
SIGNATURE = (
    "nll:response-only|targets:{targets}+end-of-turn|max_length:{max_length}|"
    "reduction:exp(total_nll/total_{unit})|tokenizer:{tokenizer}"
)


@dataclass(frozen=True)
class SplitPerplexity:
    """Perplexity of one model on one split, with the totals it was computed from."""

    nll_sum: float  # total NLL in nats over every reply target
    n_tokens: int  # reply target tokens scored
    n_chars: int  # characters of the scored reply texts
    tokenizer: str  # name or path of the tokenizer the tokens come from
    # per-example (nll_sum, n_tokens), for confidence intervals of NLL gaps
    pairs: tuple[tuple[float, int], ...] = field(default=(), repr=False)
    name: str = LAST_TURN  # LAST_TURN or ALL_TURNS: which assistant turns are scored
    max_length: int | None = None  # conversations were cut here (None: not cut)
    n_truncated: int = 0  # conversations longer than max_length
    n_past_context: int = 0  # conversations longer than the model's context window

    @property
    def value(self) -> float:
        return math.exp(mean_of_totals(self.nll_sum, self.n_tokens))

    @property
    def per_char(self) -> float:
        return math.exp(nll_per_char([(self.nll_sum, self.n_tokens)], self.n_chars))

    def to_json(self) -> dict:
        """The two scores.json entries: NAME and NAME_per_char."""
        targets = "last-reply" if self.name == LAST_TURN else "every-reply"

        def signature(unit: str) -> str:
            return SIGNATURE.format(
                targets=targets, max_length=self.max_length, unit=unit, tokenizer=self.tokenizer
            )

        lengths = {"n_truncated": self.n_truncated, "n_past_context": self.n_past_context}
        return {
            self.name: {
                "value": self.value,
                "n_tokens": self.n_tokens,
                "nll_sum": self.nll_sum,
                "signature": signature("tokens"),
                "higher_is_better": False,
                **lengths,
            },
            f"{self.name}_per_char": {
                "value": self.per_char,
                "n_chars": self.n_chars,
                "nll_sum": self.nll_sum,
                "signature": signature("chars"),
                "higher_is_better": False,
                **lengths,
            },
        }


def context_length(chat_model) -> int | None:
    """The longest sequence the base model was built for (None when its config says not)."""
    return getattr(chat_model.loaded.model.config, "max_position_embeddings", None)


def _last_reply_chars(messages: Sequence[Message]) -> int:
    return reference_chars([next(m for m in reversed(messages) if m["role"] == "assistant")])


def split_perplexity(
    chat_model,
    conversations: Sequence[Sequence[Message]],
    *,
    adapter: str | None = None,
    batch_size: int = 8,
    all_turns: bool = False,
    max_length: int | None = None,
) -> SplitPerplexity:
    """Perplexity of the last assistant reply of each conversation (every reply with
    `all_turns`), cut at `max_length` tokens, with `adapter` active (None: the base)."""
    tokenizer = chat_model.tokenizer
    encoded = [
        encode_for_training(tokenizer, messages, last_reply_only=not all_turns)
        for messages in conversations
    ]
    lengths = [len(row.input_ids) for row in encoded]
    rows = [row.truncated(max_length) for row in encoded]
    with chat_model.using(adapter) as model:
        pairs = example_nlls(model, rows, pad_id=tokenizer.pad_token_id, batch_size=batch_size)
    nll_sum, n_tokens = corpus_totals(pairs)
    chars = reference_chars if all_turns else _last_reply_chars
    context = context_length(chat_model)
    return SplitPerplexity(
        nll_sum,
        n_tokens,
        sum(chars(messages) for messages in conversations),
        str(tokenizer.name_or_path),
        tuple((pair.nll_sum, pair.n_tokens) for pair in pairs),
        ALL_TURNS if all_turns else LAST_TURN,
        max_length,
        sum(max_length is not None and n > max_length for n in lengths),
        sum(context is not None and n > context for n in lengths),
    )
