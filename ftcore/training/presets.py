"""Named presets: sets of TrainConfig overrides, starting with the starter recipe.

The starter preset is the recipe most LoRA tutorials converge on; what each setting does
is its help text in TrainConfig (config.py). The demo base model is a few million
parameters, not a few billion, so it gets its own preset, chosen by default for it: the
starter recipe's learning rate and rank barely move it in a 3-minute CPU run.
"""

from __future__ import annotations

from ftcore.training.config import TrainConfig

STARTER_DESCRIPTION = (
    "LoRA rank 8, alpha 16, dropout 0.05 on every attention and MLP projection; 3 epochs; "
    "learning rate 2e-4 with 3% linear warmup then cosine decay; batch 4; max length 2048. "
    "A safe first run for a few hundred to a few thousand conversations."
)

DEMO_DESCRIPTION = (
    "For the built-in demo model (6 M parameters): LoRA rank 64, alpha 128, no dropout; "
    "4 epochs at learning rate 3e-3, batch 8, max length 256. About 2.5 minutes of CPU "
    "time for the greeting data."
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
    # A tiny model needs a much larger step than a 0.5B one to change in a few hundred
    # steps, and its conversations are short: small max_length, larger batches.
    "demo": {
        "lora_rank": 64,
        "lora_alpha": 128,
        "lora_dropout": 0.0,
        "epochs": 4,
        "learning_rate": 3e-3,
        "batch_size": 8,
        "max_length": 256,
        "eval_every": 0,
        "save_every": 0,
    },
}
# What the Train tab says above its preset choice
DEFAULT_PRESET_DESCRIPTION = (
    f"**Demo preset** (the default for the demo model) — {DEMO_DESCRIPTION}\n\n"
    f"**Starter preset** (the default for any other model) — {STARTER_DESCRIPTION}"
)


def default_preset(base: str) -> str:
    """The preset a run gets when none is named: the demo preset for the demo model."""
    return "demo" if base == "demo" else "starter"


def preset_config(preset: str = "starter", /, **overrides) -> TrainConfig:
    """A TrainConfig from a named preset, with `overrides` (e.g. base, data, out, name)
    applied. The preset is positional-only, so `name` is free for the run's name."""
    from ftcore.errors import ConfigError, did_you_mean

    if preset not in PRESETS:
        raise ConfigError(
            "preset", preset, f"one of {', '.join(PRESETS)}.{did_you_mean(preset, PRESETS)}"
        )
    return TrainConfig(**{**PRESETS[preset], **overrides})
