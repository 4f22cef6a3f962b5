"""The starter preset and a short note on what each training knob does and when to change it.

The Train tab shows `KNOB_HELP[field]` next to each widget; the CLI uses the same texts
for `--help`. The starter preset is the recipe most LoRA tutorials converge on.
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

KNOB_HELP: dict[str, str] = {
    "base": "The model to fine-tune: 'demo', a local folder or a Hub id. Pick an instruct "
    "model with a chat template; a bigger one learns more but needs more memory.",
    "data": "The dataset version to train on. Its val split drives validation and early "
    "stopping; its sealed test split is never read during training.",
    "method": "lora trains small low-rank matrices next to frozen weights (the usual choice). "
    "qlora does the same on a 4-bit base, for when LoRA does not fit in memory. full trains "
    "every weight: only for small models, and use a learning rate around 1e-5.",
    "lora_rank": "Capacity of the adapter. 8 suits style and format; raise it (16-64) to "
    "teach new knowledge or when train loss stops falling early.",
    "lora_alpha": "Scales the adapter's update by alpha/rank. Keep it about twice the rank; "
    "change the learning rate rather than alpha to train faster or slower.",
    "lora_dropout": "Randomly drops adapter inputs while training. Raise to 0.1 when val loss "
    "rises while train loss falls (overfitting); 0 for very large datasets.",
    "target_modules": "Which layers get adapters. The default covers attention and MLP "
    "projections; attention only (q_proj, v_proj) halves adapter size but learns less.",
    "epochs": "Passes over the data. Lower it when val loss turns up before the end; raise it "
    "for small datasets whose val loss still falls.",
    "max_steps": "Train exactly this many optimizer steps instead of whole epochs; handy for "
    "quick trials. 0 uses epochs.",
    "learning_rate": "Peak step size. 2e-4 for LoRA, 1e-4 if loss spikes or goes NaN, about "
    "1e-5 for full fine-tuning.",
    "lr_scheduler": "How the learning rate falls after warmup: cosine (smooth, the default), "
    "linear, or constant for very short runs.",
    "warmup_ratio": "Share of steps spent raising the learning rate from 0. Raise to 0.1 if "
    "the first steps make loss jump.",
    "weight_decay": "Pulls weights towards zero. Usually 0 for LoRA; 0.01-0.1 for full "
    "fine-tuning on small data.",
    "max_grad_norm": "Clips large gradients so one odd batch cannot wreck training. Lower it "
    "if the grad-norm chart shows spikes with loss jumps.",
    "batch_size": "Conversations per step on the GPU. Larger is faster per example but needs "
    "more memory; lower it (and raise accumulation) when memory runs out.",
    "grad_accum": "Adds up gradients over this many batches before a step: batch_size x "
    "grad_accum is the effective batch at the memory cost of batch_size.",
    "max_length": "Tokens per conversation; longer ones are cut at the end. Set it just above "
    "your longest conversations: memory grows with it.",
    "gradient_checkpointing": "Recomputes activations in the backward pass: much less memory "
    "for long sequences, about 30% slower. Turn on when memory runs out.",
    "precision": "auto uses bf16 on GPUs that support it, fp16 on older ones, fp32 on CPU. "
    "Choose fp32 only to debug numerical problems.",
    "group_by_length": "Batches conversations of similar length: less padding, faster "
    "training. The loss curve gets a little noisier.",
    "packing": "Concatenates short conversations into full max_length rows (each still only "
    "sees itself): fastest for many short examples.",
    "seed": "Fixes adapter initialisation, data order and dropout, so a rerun gives the same "
    "result. Change it to check that a result is not luck.",
    "eval_every": "Validate every N steps (0: once per epoch). More often gives a finer val "
    "curve and earlier stopping, at the cost of time.",
    "eval_batch_size": "Conversations per validation batch; only speed and memory change, "
    "never the val loss.",
    "early_stopping_patience": "Stop after this many validations without a new best val "
    "loss (0: off). 2-3 is typical; the best adapter is kept either way.",
    "early_stopping_min_delta": "A val-loss drop smaller than this does not count as an "
    "improvement. 0.001-0.01 avoids training on for noise.",
    "save_every": "Write a resumable checkpoint every N steps (0: only on Stop). Lower it for "
    "long runs on machines that may be interrupted.",
    "log_every": "Write a progress line every N steps.",
    "device": "auto picks the GPU when there is one. cpu works for the demo model and tests.",
}


def preset_config(name: str = "starter", **overrides) -> TrainConfig:
    """A TrainConfig from a named preset, with `overrides` (e.g. base, data, out) applied."""
    from ftcore.errors import ConfigError, did_you_mean

    if name not in PRESETS:
        raise ConfigError(
            "preset", name, f"one of {', '.join(PRESETS)}.{did_you_mean(name, PRESETS)}"
        )
    return TrainConfig(**{**PRESETS[name], **overrides})
