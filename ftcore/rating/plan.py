"""The plan of a rating session: what is rated, by how many raters, and the honesty checks.

Each setting is described once, in its field's metadata (help, and min/max where it has
them): the CLI's `ftcore rate create` flags and the admin UI read their help from here, and
`__post_init__` checks every value, raising ConfigError naming the field, the value and what
is allowed. Files are not opened here; `create_session` reads them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ftcore.errors import ConfigError, did_you_mean

ACCESS = ("open", "invite")
MAX_NAME = 120


def plan_setting(default: Any, help: str, **limits: float) -> Any:
    """A SessionPlan field with its help text and optional inclusive `min` / `max`."""
    return field(default=default, metadata={"help": help, **limits})


@dataclass(frozen=True)
class SessionPlan:
    """One blind A/B rating session, before it is created."""

    name: str = plan_setting(
        "", "The session's title. Raters see it, so it must not name a model (checked)."
    )
    rubric: str = plan_setting(
        "greeting", "A rubric id (greeting, helpfulness, or one in <home>/rubrics) or a YAML file."
    )
    eval_dir: str = plan_setting(
        "", "An evaluation folder whose predictions.jsonl holds the texts (or use predictions)."
    )
    predictions: str = plan_setting(
        "",
        'A predictions JSONL made anywhere: rows {"id", "prompt", "model", "prediction"}, '
        'optionally "reference" and "split".',
    )
    split: str = plan_setting(
        "", "Which split to rate. Empty: val when there is one, else the only split."
    )
    models: tuple[str, ...] = plan_setting(
        (), "The models to compare, two or more. Empty: every model in the source."
    )
    ratings_per_item: int = plan_setting(
        3,
        "Distinct raters per item (overlap). 1 collects the most items; 3 or more lets "
        "agreement between raters be measured.",
        min=1,
        max=100,
    )
    items_per_rater: int = plan_setting(
        0,
        "The most model pairs one rater is shown (gold items and repeats come on top); 0: no cap.",
        min=0,
    )
    gold: str = plan_setting(
        "",
        'A JSONL of gold pairs with a known better side: rows {"id", "prompt", "better", '
        '"worse"}. Every rater sees every gold item, blind like the rest.',
    )
    repeat_share: float = plan_setting(
        0.0,
        "Share of a rater's items shown again later with sides swapped, to measure "
        "self-consistency (0.1: one in ten).",
        min=0.0,
        max=0.5,
    )
    min_seconds: float = plan_setting(
        5.0,
        "A vote given sooner after the item was shown is stored but flagged too_fast.",
        min=0.0,
        max=3600.0,
    )
    access: str = plan_setting(
        "open", "open: anyone with the session code joins; invite: personal codes only."
    )
    invites: int = plan_setting(0, "Personal invite codes to create now.", min=0, max=10_000)
    closes_at: str = plan_setting(
        "", "When votes stop being accepted, ISO 8601 (2026-02-20T18:00+08:00). Empty: never."
    )
    reservation_minutes: float = plan_setting(
        10.0,
        "How long an item shown to a rater stays reserved for them; then, unvoted, it "
        "goes to another rater.",
        min=0.01,
        max=1440.0,
    )
    adaptive: bool = plan_setting(
        False,
        "Serve more often the model pairs whose win rate is least certain (the widest "
        "interval), so fewer votes pin every pair down. Off: every item is covered evenly.",
    )

    def __post_init__(self) -> None:
        if isinstance(self.models, str | list):  # from JSON or a comma-separated flag
            models = self.models.split(",") if isinstance(self.models, str) else self.models
            object.__setattr__(self, "models", tuple(m.strip() for m in models if m.strip()))
        for item in dataclasses.fields(self):
            _check_field(item.name, getattr(self, item.name), item)
        name = self.name.strip()
        if not name or len(name) > MAX_NAME:
            raise ConfigError("name", self.name, f"a title of 1 to {MAX_NAME} characters")
        if bool(self.eval_dir) == bool(self.predictions):
            raise ConfigError(
                "eval_dir/predictions",
                self.eval_dir or self.predictions or None,
                "exactly one source: an evaluation folder or a predictions JSONL",
            )
        if self.access not in ACCESS:
            allowed = f"one of {', '.join(ACCESS)}.{did_you_mean(self.access, ACCESS)}"
            raise ConfigError("access", self.access, allowed)
        if len(set(self.models)) != len(self.models) or len(self.models) == 1:
            raise ConfigError("models", ",".join(self.models), "two or more different names")
        if self.closes_at:
            closing_time(self.closes_at)

    @property
    def reservation_seconds(self) -> float:
        return self.reservation_minutes * 60

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "models": list(self.models)}


PLAN_FIELDS = {item.name: item for item in dataclasses.fields(SessionPlan)}


def plan_help(name: str) -> str:
    """The help text of a SessionPlan field, as the CLI and the admin UI show it."""
    return PLAN_FIELDS[name].metadata["help"]


def closing_time(text: str) -> float:
    """The epoch time of an ISO 8601 closing time; one without an offset is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            "closes_at", text, "an ISO 8601 time such as 2026-02-20T18:00+08:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _check_field(name: str, value: Any, item: dataclasses.Field) -> None:
    """Text where the default is text, true or false where it is a bool; numbers within
    the field's min..max, and integers only where the default is an integer."""
    if isinstance(item.default, str) and not isinstance(value, str):
        raise ConfigError(name, value, "text")
    if isinstance(item.default, bool) and not isinstance(value, bool):
        raise ConfigError(name, value, "true or false")
    if "min" not in item.metadata:
        return
    low, high = item.metadata["min"], item.metadata.get("max", math.inf)
    integer = isinstance(item.default, int)
    kinds = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        bounds = f"from {low} to {high}" if high != math.inf else f"of at least {low}"
        raise ConfigError(name, value, f"{kind} {bounds}")
