"""VerdictSettings: every threshold the verdicts use, named, documented and validated once.

Each field carries its help in `field(metadata={"help": …})`, as trl and peft configs do,
so the verdict text, overfit.json and any form or flag describe a setting in the same
words. Nothing a verdict decides rests on a number that is not a field here. The seeds of
the verdicts' intervals all derive from the one seed the caller gives (`child_seeds`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np

from ftcore.errors import ConfigError


def _setting(default: float | int, help_text: str):
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class VerdictSettings:
    """The thresholds of the overfitting, memorisation and forgetting verdicts."""

    max_nll_gap: float = _setting(
        0.2,
        "nats: the largest ordinary held-out − train NLL gap of the fine-tune beyond the base "
        "model's own gap. A gap whose CI lies wholly above is overfitting; healthy needs the "
        "CI wholly at or below it.",
    )
    min_examples: int = _setting(
        10,
        "with fewer train or held-out examples every interval is noise: the verdict is "
        "inconclusive.",
    )
    min_base_gain: float = _setting(
        0.05,
        "nats of held-out NLL the fine-tune must gain over the base, with the gain's CI above "
        "0, to have clearly learned.",
    )
    min_train_drop: float = _setting(
        0.05,
        "without base numbers: the relative fall of the smoothed train loss that shows the "
        "model learned.",
    )
    memorisation_excess: float = _setting(
        0.05,
        "share of held-out outputs that copy a training target, beyond the share of held-out "
        "references that do, that counts as memorising.",
    )
    memorisation_similarity: float = _setting(
        0.8,
        "character 3-gram Jaccard similarity at which a text is a near copy of a training target.",
    )
    min_rise: float = _setting(
        0.02,
        "relative rise of val loss above its earlier minimum, by the evaluated weights' step, "
        "that counts as the val curve rising.",
    )
    patience: int = _setting(
        3, "evaluations that make a trend: a rise must last this many, a fall is read over them."
    )
    min_fall: float = _setting(
        0.001,
        "relative drop of val loss over the last `patience` evaluations that means it is "
        "still falling.",
    )
    train_window: int = _setting(
        10, "train-loss points averaged at each end of the curve, since train loss is noisy."
    )
    max_ppl_increase: float = _setting(
        0.10, "relative rise of probe perplexity that counts as forgetting."
    )
    max_metric_drop: float = _setting(
        0.05,
        "drop of a probe metric, relative to the base value, that counts as forgetting when "
        "its CI also excludes 0.",
    )
    confidence: float = _setting(0.95, "confidence level of every interval the verdicts use.")

    def __post_init__(self) -> None:
        for name in ("max_nll_gap", "min_base_gain", "min_rise", "min_fall", "max_ppl_increase"):
            if getattr(self, name) < 0:
                raise ConfigError(name, getattr(self, name), "a number ≥ 0")
        for name in ("min_train_drop", "memorisation_excess", "max_metric_drop"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(name, getattr(self, name), "a share in [0, 1)")
        if not 0 < self.memorisation_similarity <= 1:
            raise ConfigError(
                "memorisation_similarity", self.memorisation_similarity, "a Jaccard value in (0, 1]"
            )
        if not 0 < self.confidence < 1:
            raise ConfigError("confidence", self.confidence, "a level in (0, 1), e.g. 0.95")
        for name in ("min_examples", "patience", "train_window"):
            if getattr(self, name) < 1:
                raise ConfigError(name, getattr(self, name), "an integer ≥ 1")

    def to_json(self) -> dict:
        """Plain JSON values, as written to overfit.json."""
        return asdict(self)

    @staticmethod
    def help(name: str) -> str:
        """What a setting means, from its field metadata."""
        return next(item.metadata["help"] for item in fields(VerdictSettings) if item.name == name)

    def to_markdown(self) -> str:
        """One line naming every setting and its value, for the end of a verdict."""
        values = ", ".join(f"`{k}`={v:g}" for k, v in self.to_json().items())
        return (
            f"*Settings used:* {values} (see `ftcore.verdicts.verdict_settings.VerdictSettings`)."
        )

    def to_text(self) -> str:
        """The same line as plain text, for a terminal."""
        values = ", ".join(f"{k}={v:g}" for k, v in self.to_json().items())
        return f"settings used: {values} (see ftcore.verdicts.verdict_settings.VerdictSettings)."


def child_seeds(seed: int, count: int) -> list[int]:
    """`count` independent seeds derived from the caller's one, so that every interval is
    reproducible from that seed and no two intervals share a random stream."""
    return [int(child.generate_state(1)[0]) for child in np.random.SeedSequence(seed).spawn(count)]
