"""Recognise a dataset's format and turn each of its rows into conversation turns.

Three formats, with LLaMA-Factory's conventions so that its datasets mean the same here:
alpaca (`instruction`, `input`, `output`, optional `system` and `history`), sharegpt
(`conversations` of `from`/`value`) and openai (`messages` of `role`/`content`). Other
column names are mapped onto these roles: automatically for common pairs such as
question/answer or prompt/response, by hand (`columns`), or from a LLaMA-Factory
dataset_info.json entry (see ftcore.data.dataset_info).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ftcore.chat_format import Message
from ftcore.data.records import EMPTY_FIELD, MISSING_FIELD, UNKNOWN_ROLE, WRONG_TYPE, RowProblem
from ftcore.errors import ConfigError, did_you_mean

FORMATS = ("alpaca", "sharegpt", "openai")
COLUMN_DEFAULTS = {  # the role each column plays → its name in the file
    "alpaca": {
        "prompt": "instruction",
        "query": "input",
        "response": "output",
        "system": "system",
        "history": "history",
        "id": "id",
    },
    "sharegpt": {"messages": "conversations", "system": "system", "id": "id"},
    "openai": {"messages": "messages", "system": "system", "id": "id"},
}
TAG_DEFAULTS = {
    "sharegpt": {
        "role_tag": "from",
        "content_tag": "value",
        "user_tag": "human",
        "assistant_tag": "gpt",
        "system_tag": "system",
    },
    "openai": {
        "role_tag": "role",
        "content_tag": "content",
        "user_tag": "user",
        "assistant_tag": "assistant",
        "system_tag": "system",
    },
}
TAG_DEFAULTS["alpaca"] = {}
# Role names understood in any conversation, whatever the tags say.
ROLE_ALIASES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "system": "system",
    "developer": "system",
}
# Column pairs recognised as prompt and response when a file has no alpaca columns,
# most specific first.
PROMPT_ALIASES = ("instruction", "prompt", "question", "query", "input", "source")
RESPONSE_ALIASES = ("output", "response", "answer", "completion", "target")


@dataclass(frozen=True)
class FormatSpec:
    """How to read one file's rows: the format, its column names and its role tags."""

    format: str  # one of FORMATS
    columns: dict[str, str] = field(default_factory=dict)  # role → column name
    tags: dict[str, str] = field(default_factory=dict)  # sharegpt/openai role tags

    def conversation_columns(self) -> set[str]:
        """Columns that hold the conversation or the id, so are not labels."""
        return set(self.columns.values())

    def describe(self) -> str:
        changed = {
            role: name
            for role, name in self.columns.items()
            if COLUMN_DEFAULTS[self.format].get(role) != name
        }
        mapped = ", ".join(f"{role}={name}" for role, name in changed.items())
        return f"{self.format} ({mapped})" if mapped else self.format


def make_spec(
    format: str, columns: Mapping[str, str] | None = None, tags: Mapping[str, str] | None = None
) -> FormatSpec:
    """A FormatSpec with defaults filled in; unknown names raise ConfigError."""
    if format not in FORMATS:
        raise ConfigError(
            "format", format, f"one of {', '.join(FORMATS)}.{did_you_mean(format, FORMATS)}"
        )
    roles = COLUMN_DEFAULTS[format]
    for role in columns or {}:
        if role not in roles:
            allowed = f"a {format} column role: {', '.join(roles)}.{did_you_mean(role, roles)}"
            raise ConfigError("columns", role, allowed)
    for tag in tags or {}:
        if tag not in TAG_DEFAULTS[format]:
            names = TAG_DEFAULTS[format]
            allowed = f"one of {', '.join(names) or 'none (alpaca has no tags)'}."
            raise ConfigError("tags", tag, allowed + did_you_mean(tag, names))
    return FormatSpec(
        format, {**roles, **(columns or {})}, {**TAG_DEFAULTS[format], **(tags or {})}
    )


def detect_spec(
    rows: Sequence[Mapping], columns: Mapping[str, str] | None = None
) -> FormatSpec | None:
    """Guess the format of a file from its first rows; None when nothing fits."""
    keys = {key for row in rows for key in row}
    columns = dict(columns or {})
    candidates = [columns["messages"]] if "messages" in columns else ["messages", "conversations"]
    for name in candidates:
        if name in keys:
            first_turn = next(iter(_sample_turns(rows, name)), {})
            tags_format = "sharegpt" if "from" in first_turn else "openai"
            return make_spec(tags_format, {**columns, "messages": name})
    if {"prompt", "response"} & set(columns) or "instruction" in keys:
        return make_spec("alpaca", columns)
    prompt = next((name for name in PROMPT_ALIASES if name in keys), None)
    response = next((name for name in RESPONSE_ALIASES if name in keys), None)
    if prompt and response:
        mapped = {"prompt": prompt, "response": response}
        if prompt == "input":  # alpaca's query column is the prompt itself here
            mapped["query"] = ""
        return make_spec("alpaca", {**mapped, **columns})
    if "output" in keys:  # alpaca whose rows lack instructions: each is rejected, named
        return make_spec("alpaca", columns)
    return None


def _sample_turns(rows: Iterable[Mapping], column: str) -> Iterable[Mapping]:
    for row in rows:
        value = row.get(column)
        if isinstance(value, list):
            yield from (turn for turn in value if isinstance(turn, Mapping))


def _parse_json_list(value: object) -> object:
    """CSV and Parquet files often hold nested lists as JSON text."""
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _text(value: object, where: str, *, required: bool) -> str:
    if value is None:
        if required:
            raise RowProblem(MISSING_FIELD, where, "the field is missing")
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # a numeric answer is still an answer
    if not isinstance(value, str):
        raise RowProblem(WRONG_TYPE, where, f"expected text, found {_type_name(value)}")
    if required and not value.strip():
        raise RowProblem(EMPTY_FIELD, where, "the field is empty")
    return value


def _type_name(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _cell(row: Mapping, column: str) -> object:
    return row.get(column) if column else None


def alpaca_turns(row: Mapping, spec: FormatSpec) -> tuple[list[Message], list[str]]:
    """Messages of an alpaca row and, for each, the field it came from."""
    columns = spec.columns
    messages: list[Message] = []
    fields: list[str] = []
    system = _text(_cell(row, columns["system"]), columns["system"], required=False)
    if system.strip():
        messages.append({"role": "system", "content": system})
        fields.append(columns["system"])
    history = _parse_json_list(_cell(row, columns["history"]))
    if history is not None and not isinstance(history, list):
        raise RowProblem(WRONG_TYPE, columns["history"], "expected a list of [prompt, reply]")
    for index, pair in enumerate(history or []):
        where = f"{columns['history']}[{index}]"
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise RowProblem(WRONG_TYPE, where, "expected a [prompt, reply] pair")
        for role, part, value in (("user", 0, pair[0]), ("assistant", 1, pair[1])):
            content = _text(value, f"{where}[{part}]", required=True)
            messages.append({"role": role, "content": content})
            fields.append(f"{where}[{part}]")
    prompt = _text(_cell(row, columns["prompt"]), columns["prompt"], required=True)
    query = _text(_cell(row, columns["query"]), columns["query"], required=False)
    if query.strip():
        prompt = f"{prompt}\n{query}"
    response = _text(_cell(row, columns["response"]), columns["response"], required=True)
    messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
    fields += [columns["prompt"], columns["response"]]
    return messages, fields


def _turn_content(value: object, where: str) -> str:
    if isinstance(value, list):  # OpenAI content parts: only text can be trained on
        texts = [part.get("text") for part in value if isinstance(part, Mapping)]
        if len(texts) != len(value) or not all(isinstance(text, str) for text in texts):
            raise RowProblem(WRONG_TYPE, where, "only text content parts can be trained on")
        value = "\n".join(texts)
    return _text(value, where, required=True)


def _role(value: object, tags: Mapping[str, str], where: str) -> str:
    by_tag = {tags.get("user_tag"): "user", tags.get("assistant_tag"): "assistant"}
    by_tag[tags.get("system_tag")] = "system"
    if isinstance(value, str) and (role := by_tag.get(value) or ROLE_ALIASES.get(value.lower())):
        return role
    raise RowProblem(UNKNOWN_ROLE, where, f"{value!r} is not a user, assistant or system turn")


def conversation_turns(row: Mapping, spec: FormatSpec) -> tuple[list[Message], list[str]]:
    """Messages of a sharegpt or openai row and, for each, the field it came from."""
    column, tags = spec.columns["messages"], spec.tags
    turns = _parse_json_list(_cell(row, column))
    if turns is None:
        raise RowProblem(MISSING_FIELD, column, "the field is missing")
    if not isinstance(turns, list):
        raise RowProblem(WRONG_TYPE, column, f"expected a list of turns, found {_type_name(turns)}")
    if not turns:
        raise RowProblem(EMPTY_FIELD, column, "the conversation has no turns")
    messages: list[Message] = []
    fields: list[str] = []
    system = _text(_cell(row, spec.columns["system"]), spec.columns["system"], required=False)
    if system.strip():
        messages.append({"role": "system", "content": system})
        fields.append(spec.columns["system"])
    role_tag, content_tag = tags["role_tag"], tags["content_tag"]
    for index, turn in enumerate(turns):
        where = f"{column}[{index}]"
        if not isinstance(turn, Mapping):
            raise RowProblem(
                WRONG_TYPE, where, f"expected an object with {role_tag!r} and {content_tag!r}"
            )
        if role_tag not in turn:
            raise RowProblem(MISSING_FIELD, f"{where}.{role_tag}", "the field is missing")
        role = _role(turn[role_tag], tags, f"{where}.{role_tag}")
        if (
            role == "system"
            and isinstance(turn.get(content_tag), str)
            and not turn[content_tag].strip()
        ):
            continue  # an empty system prompt says nothing; dropping it loses nothing
        content = _turn_content(turn.get(content_tag), f"{where}.{content_tag}")
        messages.append({"role": role, "content": content})
        fields.append(where)
    return messages, fields


def row_turns(row: Mapping, spec: FormatSpec) -> tuple[list[Message], list[str]]:
    """Messages of a row in any format, with the field each came from."""
    if spec.format == "alpaca":
        return alpaca_turns(row, spec)
    return conversation_turns(row, spec)


def row_labels(row: Mapping, spec: FormatSpec) -> dict[str, str | int | float | bool]:
    """The row's scalar fields that are not part of the conversation: style, scene…"""
    skip = spec.conversation_columns()
    return {
        key: value
        for key, value in row.items()
        if key not in skip
        and isinstance(value, (str, int, float, bool))
        and not (isinstance(value, str) and not value.strip())
    }


def alpaca_to_messages(row: Mapping) -> list[Message]:
    """An alpaca row (`instruction`, `input`, `output`, optional `system`, `history`)."""
    return alpaca_turns(row, make_spec("alpaca"))[0]


def sharegpt_to_messages(row: Mapping) -> list[Message]:
    """A sharegpt row: `conversations` of `from`/`value`, optional top-level `system`."""
    return conversation_turns(row, make_spec("sharegpt"))[0]
