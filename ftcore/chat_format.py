"""Render and tokenise conversations exactly as training and generation both see them.

The model's own chat template is the single source of truth. A conversation is cut into
segments by rendering successive prefixes of it and taking the differences: the text a
user turn adds (prompt, never trained on) and the text an assistant turn adds (its content
and end-of-turn marker). Each segment is tokenised on its own and the ids are
concatenated, so the tokens a model is trained on are the tokens it is prompted with at
generation time, with no off-by-one at merge boundaries.

A reply's targets, the one definition that training labels and evaluation share: its
tokens plus the end-of-turn token (the first special token after the reply). Whatever the
template writes after that token (ChatML's "\n") is never generated, because generation
stops at the end-of-turn token, so it is not a target: counting it charged a base model
~2.2 nats a reply for a newline a fine-tune learns to predict, flattering the fine-tune.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ftcore.errors import ChatTemplateError

ROLES = ("system", "user", "assistant")
IGNORE_INDEX = -100  # label value that the loss ignores

Message = dict[str, str]


@dataclass(frozen=True)
class Segment:
    text: str
    trainable: bool  # True for an assistant reply and what the template writes after it


@dataclass(frozen=True)
class EncodedConversation:
    input_ids: list[int]
    labels: list[int]  # the token id on reply targets, IGNORE_INDEX everywhere else

    def truncated(self, max_length: int | None) -> EncodedConversation:
        """The first `max_length` tokens (None: all), as training cuts a conversation."""
        if max_length is None:
            return self
        return EncodedConversation(self.input_ids[:max_length], self.labels[:max_length])


def validate_messages(messages: Sequence[Message], *, ends_with: str) -> None:
    """Check roles, order and content; `ends_with` is 'user' or 'assistant'."""
    if not messages:
        raise ChatTemplateError("the conversation is empty")
    expected = "user"
    for index, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        where = f"message {index + 1} ({role!r})"
        if role not in ROLES:
            raise ChatTemplateError(f"{where}: field 'role' must be one of {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise ChatTemplateError(f"{where}: field 'content' must be text")
        # A model may legitimately have replied with nothing earlier in a chat; only
        # prompts and the reply being trained on must say something.
        reply_in_history = role == "assistant" and ends_with == "user"
        if not content.strip() and not reply_in_history:
            raise ChatTemplateError(f"{where}: field 'content' is empty")
        if role == "system":
            if index != 0:
                raise ChatTemplateError(f"{where}: a system message may only come first")
            continue
        if role != expected:
            raise ChatTemplateError(f"{where}: expected a {expected!r} turn here")
        expected = "assistant" if role == "user" else "user"
    if messages[-1]["role"] != ends_with:
        raise ChatTemplateError(
            f"the conversation must end with a {ends_with!r} turn, not {messages[-1]['role']!r}"
        )


def _render(tokenizer, messages: Sequence[Message], *, add_generation_prompt: bool) -> str:
    if not getattr(tokenizer, "chat_template", None):
        raise ChatTemplateError(
            f"tokenizer {tokenizer.name_or_path!r} has no chat template; "
            "use an instruct/chat model or add a chat_template to its tokenizer_config.json"
        )
    return tokenizer.apply_chat_template(
        list(messages), tokenize=False, add_generation_prompt=add_generation_prompt
    )


def _take_suffix(rendered: str, prefix: str, what: str) -> str:
    if not rendered.startswith(prefix):
        raise ChatTemplateError(
            f"the chat template re-renders earlier turns when {what} is added, so prompts "
            "and training targets cannot be aligned; this template is not supported"
        )
    return rendered[len(prefix) :]


def render_segments(
    tokenizer, messages: Sequence[Message], *, add_generation_prompt: bool = False
) -> list[Segment]:
    """Cut a conversation into prompt and reply segments whose texts concatenate to the
    template's rendering of the whole conversation."""
    segments: list[Segment] = []
    rendered = ""
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = _render(tokenizer, messages[:index], add_generation_prompt=True)
        full = _render(tokenizer, messages[: index + 1], add_generation_prompt=False)
        segments.append(Segment(_take_suffix(prompt, rendered, "a user turn"), False))
        segments.append(Segment(_take_suffix(full, prompt, "a reply"), True))
        rendered = full
    if add_generation_prompt:
        prompt = _render(tokenizer, messages, add_generation_prompt=True)
        segments.append(Segment(_take_suffix(prompt, rendered, "a user turn"), False))
    return [segment for segment in segments if segment.text]


def _special_ids(tokenizer) -> set[int]:
    # all_special_ids lists only the named roles (eos, pad, …): ChatML's <|im_end|> is
    # often just an added special token.
    added = (i for i, token in tokenizer.added_tokens_decoder.items() if token.special)
    return {*tokenizer.all_special_ids, *added}


def _reply_target_count(reply_ids: Sequence[int], special_ids: set[int]) -> int:
    """How many of a reply segment's tokens are targets: up to and including the first
    special token (the end-of-turn token); all of them when the template writes none."""
    for position, token in enumerate(reply_ids):
        if token in special_ids:
            return position + 1
    return len(reply_ids)


def _encode_segments(
    tokenizer, segments: Sequence[Segment], *, last_reply_only: bool = False
) -> EncodedConversation:
    special = _special_ids(tokenizer)
    last_reply = max((i for i, s in enumerate(segments) if s.trainable), default=-1)
    input_ids: list[int] = []
    labels: list[int] = []
    for index, segment in enumerate(segments):
        ids = tokenizer(segment.text, add_special_tokens=False)["input_ids"]
        input_ids.extend(ids)
        scored = segment.trainable and (index == last_reply or not last_reply_only)
        targets = _reply_target_count(ids, special) if scored else 0
        labels.extend(ids[:targets] + [IGNORE_INDEX] * (len(ids) - targets))
    return EncodedConversation(input_ids, labels)


def encode_for_training(
    tokenizer, messages: Sequence[Message], *, last_reply_only: bool = False
) -> EncodedConversation:
    """Token ids and labels of a conversation ending with an assistant reply; only reply
    targets (see the module docstring) carry labels: of every assistant turn, or of the
    last one only with `last_reply_only` (the turn evaluation generates and scores)."""
    validate_messages(messages, ends_with="assistant")
    segments = render_segments(tokenizer, messages)
    return _encode_segments(tokenizer, segments, last_reply_only=last_reply_only)


def encode_for_generation(tokenizer, messages: Sequence[Message]) -> list[int]:
    """Prompt ids for a conversation ending with a user turn: the same tokens that
    `encode_for_training` produces before that turn's reply."""
    validate_messages(messages, ends_with="user")
    segments = render_segments(tokenizer, messages, add_generation_prompt=True)
    return _encode_segments(tokenizer, segments).input_ids
