"""PrepareSettings: every choice that shapes a dataset version, checked before any work.

Importing this module stays cheap (no numpy), since the CLI builds its flags from it.

The settings are recorded in the version's manifest and enter its content hash, so they
hold only what changes the output: no paths, no output folder, no timestamps.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

from ftcore.data.clean import CleaningSettings
from ftcore.data.formats import FORMATS, FormatSpec, make_spec
from ftcore.errors import ConfigError, did_you_mean

AUTO = "auto"
# The base model whose tokenizer checks max_tokens when none is chosen: none, so lengths
# are in characters. Token counts depend on the model to be trained, which preparing data
# does not know; the CLI and the Data tab share this default, so that the same file with
# the same defaults gives the same version (and content hash) in both.
LENGTH_TOKENIZER: str | None = None


def parse_ratios(value: str | Sequence[float]) -> tuple[float, float, float]:
    """Train/val/test ratios from "0.8,0.1,0.1", "8:1:1" or three numbers, summing to 1."""
    allowed = "three non-negative numbers for train, val, test, e.g. 0.8,0.1,0.1 or 8:1:1"
    try:
        parts = re.split(r"[,:/ ]+", value.strip()) if isinstance(value, str) else value
        numbers = [float(part) for part in parts]
    except (TypeError, ValueError) as exc:
        raise ConfigError("split", value, allowed) from exc
    if len(numbers) != 3 or any(not math.isfinite(n) or n < 0 for n in numbers):
        raise ConfigError("split", value, allowed)
    if numbers[0] <= 0:
        raise ConfigError("split", value, allowed + ", with a train share above 0")
    total = sum(numbers)
    return tuple(round(n / total, 12) for n in numbers)


def parse_pairs(value: str | None, field: str) -> dict[str, str]:
    """'prompt=question,response=answer' → {'prompt': 'question', 'response': 'answer'}."""
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in (value or "").split(","))):
        key, sep, name = item.partition("=")
        if not sep or not key.strip() or not name.strip():
            raise ConfigError(
                field, value, "ROLE=NAME pairs separated by commas, e.g. prompt=question"
            )
        pairs[key.strip()] = name.strip()
    return pairs


@dataclass(frozen=True)
class PrepareSettings:
    """How raw files become a dataset version; defaults suit a first import."""

    format: str = AUTO  # auto, alpaca, sharegpt or openai; the file type is always detected
    columns: dict[str, str] = field(default_factory=dict)  # role → column, {"prompt": "question"}
    tags: dict[str, str] = field(default_factory=dict)  # sharegpt role tags, {"user_tag": "user"}
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)  # train, val, test shares
    stratify: str | None = None  # a label whose proportions every split keeps, e.g. "style"
    seed: int = 42  # shuffles the split; the same seed gives the same split
    exact_dedup: bool = True  # drop rows identical to an earlier row once normalised
    near_dup: float | None = 0.95  # n-gram Jaccard threshold in (0, 1]; None: exact only
    drop_near_dups: bool = True  # False keeps near duplicates, each cluster in one split
    ngram: int = 3  # characters per n-gram for near-duplicate similarity (minhash.NGRAM)
    max_tokens: int = 2048  # longer rows are rejected; checked only when a tokenizer is given
    cleaning: CleaningSettings = field(default_factory=CleaningSettings)

    def validated(self) -> PrepareSettings:
        """A copy with the split normalised; raises ConfigError naming the bad field."""
        formats = (AUTO, *FORMATS)
        if self.format not in formats:
            allowed = f"one of {', '.join(formats)} (the file type — JSONL, JSON, CSV, TSV, "
            allowed += f"Parquet — is detected from the file).{did_you_mean(self.format, formats)}"
            raise ConfigError("format", self.format, allowed)
        if self.format != AUTO:
            make_spec(self.format, self.columns, self.tags)  # raises on unknown column roles
        if self.near_dup is not None and not 0 < self.near_dup <= 1:
            raise ConfigError("near_dup", self.near_dup, "a similarity in (0, 1], or None for off")
        if not 1 <= self.ngram <= 16:
            raise ConfigError("ngram", self.ngram, "a whole number of characters from 1 to 16")
        if self.max_tokens < 1:
            raise ConfigError("max_tokens", self.max_tokens, "a positive number of tokens")
        if self.stratify is not None and not self.stratify.strip():
            raise ConfigError("stratify", self.stratify, "a label name, or None")
        return replace(self, split=parse_ratios(self.split))

    def with_spec(self, spec: FormatSpec | None) -> PrepareSettings:
        """A copy reading rows as `spec` says (a dataset_info entry's format), where the
        columns and tags given here win over the entry's."""
        if spec is None:
            return self
        return replace(
            self,
            format=spec.format,
            columns={**spec.columns, **self.columns},
            tags={**spec.tags, **self.tags},
        )

    def to_json(self) -> dict:
        """Plain JSON values (lists, not tuples), equal to the manifest read back."""
        return {**asdict(self), "split": list(self.split)}

    @classmethod
    def from_json(cls, data: dict) -> PrepareSettings:
        values = dict(data)
        values["cleaning"] = CleaningSettings(**values.get("cleaning", {}))
        values["split"] = tuple(values.get("split", cls.split))
        return cls(**values)
