"""Check one raw row and turn it into a Record, or into a Reject that says why not.

The checks, in order: the row could be read (encoding, JSON, CSV shape); it is an object;
it has the fields its format needs, with the right types and non-empty text; its turns
are in an order every chat template accepts (an optional system message first, then user
and assistant alternating, ending with an assistant reply); it still says something once
cleaned, and passes the low-quality filter when that is on; and, when a tokenizer is
given, it fits in the maximum number of tokens. Each failure names the field as the
file spells it ("conversations[3].from", "output").
"""

from __future__ import annotations

from collections.abc import Sequence

from ftcore.chat_format import Message, encode_for_training
from ftcore.data.clean import Cleaner
from ftcore.data.formats import FormatSpec, row_labels, row_turns
from ftcore.data.records import (
    EMPTY_AFTER_CLEANING,
    NOT_AN_OBJECT,
    ROLE_ORDER,
    TOO_LONG,
    RawRow,
    Record,
    Reject,
    RowProblem,
    SourceRef,
)


def reject_row(raw: RawRow, file: str, problem: RowProblem) -> Reject:
    return Reject(file, raw.line, problem.field, problem.reason, raw.raw, problem.code)


def check_turn_order(messages: Sequence[Message], fields: Sequence[str]) -> None:
    """Raise RowProblem(ROLE_ORDER) unless the turns can be trained on as they stand."""
    if not messages:
        raise RowProblem(ROLE_ORDER, None, "the conversation has no user or assistant turns")
    expected = "user"
    for index, (message, where) in enumerate(zip(messages, fields, strict=True)):
        role = message["role"]
        if role == "system":
            if index != 0:
                raise RowProblem(ROLE_ORDER, where, "a system message may only come first")
            continue
        if role != expected:
            raise RowProblem(ROLE_ORDER, where, f"expected a {expected} turn here, found {role}")
        expected = "assistant" if role == "user" else "user"
    if messages[-1]["role"] != "assistant":
        raise RowProblem(
            ROLE_ORDER, fields[-1], "the conversation must end with an assistant reply"
        )


def _record_id(row: dict, spec: FormatSpec, file: str, line: int) -> str:
    value = row.get(spec.columns.get("id", "id"))
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return str(value)
    return f"{file}:{line}"  # stable across runs, so predictions can point back at rows


def _check_cleaned(messages: Sequence[Message], fields: Sequence[str]) -> None:
    for message, where in zip(messages, fields, strict=True):
        if not message["content"].strip():
            raise RowProblem(EMPTY_AFTER_CLEANING, where, "nothing is left once cleaned")


def validate_row(
    raw: RawRow, spec: FormatSpec, file: str, cleaner: Cleaner | None = None
) -> Record | Reject:
    """The row as a cleaned Record, or a Reject naming the file, line, field and reason."""
    try:
        if raw.problem is not None:
            raise raw.problem
        if not isinstance(raw.data, dict):
            found = "a list" if isinstance(raw.data, list) else type(raw.data).__name__
            raise RowProblem(
                NOT_AN_OBJECT, None, f"expected an object with named fields, found {found}"
            )
        messages, fields = row_turns(raw.data, spec)
        check_turn_order(messages, fields)
        if cleaner is not None:
            messages = cleaner.clean_messages(messages)
            _check_cleaned(messages, fields)
            cleaner.check_quality(messages, fields)
    except RowProblem as problem:
        return reject_row(raw, file, problem)
    labels = row_labels(raw.data, spec)
    record_id = _record_id(raw.data, spec, file, raw.line)
    return Record(messages, labels, SourceRef(file, raw.line), record_id)


def token_length(tokenizer, messages: Sequence[Message]) -> int:
    """Tokens of the conversation exactly as training will see it."""
    return len(encode_for_training(tokenizer, messages).input_ids)


def character_length(messages: Sequence[Message]) -> int:
    return sum(len(message["content"]) for message in messages)


def too_long(raw: RawRow, file: str, tokens: int, max_tokens: int) -> Reject:
    reason = f"{tokens} tokens with the chat template, more than max_tokens={max_tokens}"
    return Reject(file, raw.line, None, reason, raw.raw, TOO_LONG)
