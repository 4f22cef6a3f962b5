"""Corpus perplexity of one model on one split, per token and per character, via ftcore.nll.

Only the assistant replies (with their end-of-turn markers) are scored, with the same
function training validation uses, so the Train and Evaluate tabs agree. Both figures are
token-weighted corpus values: exp(total NLL / total reply tokens) and
exp(total NLL / total reply characters). The per-character one compares models with
different tokenizers; the per-token one does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ftcore.chat_format import Message
from ftcore.nll import conversation_nlls, corpus_totals, nll_per_char, reference_chars

SIGNATURE = "nll:response-only|reduction:exp(total_nll/total_{unit})|tokenizer:{tokenizer}"


@dataclass(frozen=True)
class SplitPerplexity:
    """Perplexity of one model on one split, with the totals it was computed from."""

    nll_sum: float  # total NLL in nats over every assistant reply
    n_tokens: int  # reply tokens scored
    n_chars: int  # characters of the reply texts
    tokenizer: str  # name or path of the tokenizer the tokens come from
    # per-example (nll_sum, n_tokens), for confidence intervals of NLL gaps
    pairs: tuple[tuple[float, int], ...] = field(default=(), repr=False)

    @property
    def value(self) -> float:
        return math.exp(self.nll_sum / self.n_tokens)

    @property
    def per_char(self) -> float:
        return math.exp(nll_per_char([(self.nll_sum, self.n_tokens)], self.n_chars))

    def to_json(self) -> dict:
        """The two scores.json entries: perplexity and perplexity_per_char."""
        return {
            "perplexity": {
                "value": self.value,
                "n_tokens": self.n_tokens,
                "nll_sum": self.nll_sum,
                "signature": SIGNATURE.format(unit="tokens", tokenizer=self.tokenizer),
                "higher_is_better": False,
            },
            "perplexity_per_char": {
                "value": self.per_char,
                "n_chars": self.n_chars,
                "nll_sum": self.nll_sum,
                "signature": SIGNATURE.format(unit="chars", tokenizer=self.tokenizer),
                "higher_is_better": False,
            },
        }


def split_perplexity(
    chat_model,
    conversations: Sequence[Sequence[Message]],
    *,
    adapter: str | None = None,
    batch_size: int = 8,
) -> SplitPerplexity:
    """Perplexity of the assistant replies of whole conversations, with `adapter` active
    (None: the base model)."""
    tokenizer = chat_model.tokenizer
    with chat_model.using(adapter) as model:
        pairs = conversation_nlls(model, tokenizer, conversations, batch_size=batch_size)
    nll_sum, n_tokens = corpus_totals(pairs)
    n_chars = sum(reference_chars(messages) for messages in conversations)
    per_example = tuple((pair.nll_sum, pair.n_tokens) for pair in pairs)
    return SplitPerplexity(nll_sum, n_tokens, n_chars, str(tokenizer.name_or_path), per_example)
