"""Named presets: sets of TrainConfig overrides, starting with the starter recipe.

The starter preset is the recipe most LoRA tutorials converge on; what each setting does
is its help text in TrainConfig (config.py).
"""

from __future__ import annotations

from ftcore.training.config import TrainConfig

STARTER_DESCRIPTION = (
    "LoRA rank 8, alpha 16, dropout 0.05 on every attention and MLP projection; 3 epochs; "
    "learning rate 2e-4 with 3% linear warmup then cosine decay; batch 4; max length 2048. "
    "A safe first run for a few hundred to a few thousand conversations."
)

PRESETS: dict[str, dict] = {
    # The TrainConfig defaults are the starter recipe; a preset is a set of overrides.
    "starter": {},
    # For a GPU that the memory estimate says is too small: 4-bit base, recomputed
    # activations, the same effective batch of 4 from 1 x 4.
    "low-memory": {
        "method": "qlora",
        "gradient_checkpointing": True,
        "batch_size": 1,
        "grad_accum": 4,
    },
}


def preset_config(preset: str = "starter", /, **overrides) -> TrainConfig:
    """A TrainConfig from a named preset, with `overrides` (e.g. base, data, out, name)
    applied. The preset is positional-only, so `name` is free for the run's name."""
    from ftcore.errors import ConfigError, did_you_mean

    if preset not in PRESETS:
        raise ConfigError(
            "preset", preset, f"one of {', '.join(PRESETS)}.{did_you_mean(preset, PRESETS)}"
        )
    return TrainConfig(**{**PRESETS[preset], **overrides})
