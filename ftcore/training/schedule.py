"""The step plan of a run: which micro-batches make each optimizer step, and its learning rate.

Everything here is a pure function of the config and the number of training rows, so a
resumed run recomputes the same plan and knows where step k starts without any saved
iterator state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ftcore.errors import EmptyDatasetError


@dataclass(frozen=True)
class StepPlan:
    batches_per_epoch: int  # micro-batches in one epoch, over all processes
    micro_per_step: int  # micro-batches per optimizer step: grad_accum x processes
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int

    def locate(self, step: int) -> tuple[int, range]:
        """The epoch of 0-based optimizer step `step` and the micro-batch indices (within
        that epoch's batch list) it consumes; an epoch's last step may take fewer."""
        epoch, within = divmod(step, self.steps_per_epoch)
        first = within * self.micro_per_step
        return epoch, range(first, min(first + self.micro_per_step, self.batches_per_epoch))

    def epoch_progress(self, steps_done: int) -> float:
        """Epochs completed after `steps_done` steps, as a fraction (2.5 = halfway through
        the third)."""
        return steps_done / self.steps_per_epoch


def make_plan(
    n_rows: int,
    *,
    batch_size: int,
    grad_accum: int,
    epochs: int,
    max_steps: int,
    warmup_ratio: float,
    world_size: int = 1,
) -> StepPlan:
    """The plan for `n_rows` training rows. With several processes an epoch's batch count
    is cut to a multiple of the process count, so every process has a batch in every step."""
    batches = math.ceil(n_rows / batch_size)
    batches -= batches % world_size
    if batches == 0:
        raise EmptyDatasetError(
            f"{n_rows} training rows cannot fill one batch of {batch_size} on each of "
            f"{world_size} processes"
        )
    micro_per_step = grad_accum * world_size
    steps_per_epoch = math.ceil(batches / micro_per_step)
    total = max_steps if max_steps > 0 else steps_per_epoch * epochs
    warmup = math.ceil(warmup_ratio * total)
    return StepPlan(batches, micro_per_step, steps_per_epoch, total, warmup)


def lr_factor(step: int, plan: StepPlan, scheduler: str) -> float:
    """Multiplier of the peak learning rate for 0-based step `step`: a linear ramp over the
    warmup steps (never 0, so no step is wasted), then the scheduler's decay towards 0."""
    if step < plan.warmup_steps:
        return (step + 1) / plan.warmup_steps
    progress = (step - plan.warmup_steps) / max(1, plan.total_steps - plan.warmup_steps)
    if scheduler == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if scheduler == "linear":
        return 1.0 - progress
    return 1.0
