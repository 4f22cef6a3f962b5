"""Render and tokenise conversations exactly as training and generation both see them.

The model's own chat template is the single source of truth. A conversation is cut into
segments by rendering successive prefixes of it and taking the differences: the text a
user turn adds (prompt, never trained on) and the text an assistant turn adds (its content
and end-of-turn marker, trained on). Each segment is tokenised on its own and the ids are
concatenated, so the tokens a model is trained on are the tokens it is prompted with at
generation time, with no off-by-one at merge boundaries.
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
    trainable: bool  # True for an assistant reply and its end-of-turn marker


@dataclass(frozen=True)
class EncodedConversation:
    input_ids: list[int]
    labels: list[int]  # IGNORE_INDEX on prompt tokens, the token id on reply tokens


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


def _encode_segments(tokenizer, segments: Sequence[Segment]) -> EncodedConversation:
    input_ids: list[int] = []
    labels: list[int] = []
    for segment in segments:
        ids = tokenizer(segment.text, add_special_tokens=False)["input_ids"]
        input_ids.extend(ids)
        labels.extend(ids if segment.trainable else [IGNORE_INDEX] * len(ids))
    return EncodedConversation(input_ids, labels)


def encode_for_training(tokenizer, messages: Sequence[Message]) -> EncodedConversation:
    """Token ids and labels of a conversation ending with an assistant reply; only the
    assistant turns (with their end-of-turn markers) carry labels."""
    validate_messages(messages, ends_with="assistant")
    return _encode_segments(tokenizer, render_segments(tokenizer, messages))


def encode_for_generation(tokenizer, messages: Sequence[Message]) -> list[int]:
    """Prompt ids for a conversation ending with a user turn: the same tokens that
    `encode_for_training` produces before that turn's reply."""
    validate_messages(messages, ends_with="user")
    segments = render_segments(tokenizer, messages, add_generation_prompt=True)
    return _encode_segments(tokenizer, segments).input_ids
