"""The normalised shapes every importer produces: a Record (one valid conversation) or a
Reject (one row that could not be used, with where it came from and why)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ftcore.chat_format import Message

# Why a row was rejected: stable codes for rejected.jsonl, counts and tests; the Reject's
# `reason` says the same in words, with the specifics of the row.
BAD_ENCODING = "bad_encoding"
BROKEN_JSON = "broken_json"
BAD_CSV_ROW = "bad_csv_row"
NOT_AN_OBJECT = "not_an_object"
MISSING_FIELD = "missing_field"
EMPTY_FIELD = "empty_field"
WRONG_TYPE = "wrong_type"
UNKNOWN_ROLE = "unknown_role"
ROLE_ORDER = "role_order"
EMPTY_AFTER_CLEANING = "empty_after_cleaning"
TOO_LONG = "too_long"
LOW_QUALITY = "low_quality"

REASONS = {
    BAD_ENCODING: "bytes that are not valid in the file's encoding",
    BROKEN_JSON: "not valid JSON",
    BAD_CSV_ROW: "a CSV/TSV record with the wrong number of fields",
    NOT_AN_OBJECT: "a row that is not an object with named fields",
    MISSING_FIELD: "a required field is missing",
    EMPTY_FIELD: "a required field is empty",
    WRONG_TYPE: "a field has the wrong type",
    UNKNOWN_ROLE: "a conversation turn has a role that cannot be trained on",
    ROLE_ORDER: "conversation turns are out of order",
    EMPTY_AFTER_CLEANING: "a message is empty once cleaning rules removed its content",
    TOO_LONG: "longer than the maximum number of tokens",
    LOW_QUALITY: "the low-quality filter: a reply too short, one letter repeated, mojibake",
}


class RowProblem(Exception):
    """Raised while converting one row; becomes a Reject, never reaches the user as is."""

    def __init__(self, code: str, field: str | None, reason: str):
        self.code, self.field, self.reason = code, field, reason
        super().__init__(f"{field}: {reason}" if field else reason)


@dataclass(frozen=True)
class RawRow:
    """One row as read, before any interpretation of its fields."""

    line: int
    data: Any  # the parsed value (normally a dict); None when it could not be parsed
    raw: str  # the row as written (CSV/Parquet: its fields re-serialised)
    offset: int  # bytes of the file read so far, for progress
    problem: RowProblem | None = None  # why the row could not be parsed


@dataclass(frozen=True)
class SourceRef:
    """Where a row came from: the file and its 1-based line (for a JSON array, the line on
    which the row's object starts; for CSV/TSV, the physical line of the record; for
    Parquet, the row number)."""

    file: str
    line: int


@dataclass
class Record:
    """One usable conversation, ready for cleaning, deduplication and splitting."""

    messages: list[Message]
    labels: dict[str, str | int | float | bool] = field(default_factory=dict)  # style, scene…
    source: SourceRef | None = None
    id: str | None = None

    def to_json(self) -> dict:
        """The row written to train/val/test.jsonl of a dataset version."""
        return {
            "id": self.id,
            "messages": self.messages,
            "labels": self.labels,
            "source": asdict(self.source) if self.source else None,
        }

    @classmethod
    def from_json(cls, row: dict) -> Record:
        source = SourceRef(**row["source"]) if row.get("source") else None
        return cls(row["messages"], row.get("labels") or {}, source, row.get("id"))


@dataclass(frozen=True)
class Reject:
    """A row that was not used; `raw` keeps it verbatim so nothing the user wrote is lost."""

    file: str
    line: int
    field: str | None  # the offending field, or None when the row as a whole is bad
    reason: str
    raw: str
    code: str = ""  # one of REASONS, for counting and filtering

    def message(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"

    def to_json(self) -> dict:
        """The row written to rejected.jsonl."""
        return asdict(self)
