"""The training loop: optimizer steps, validation, early stopping, checkpoints, stop and resume.

A plain PyTorch loop rather than HF Trainer, so step counting, the data order and the loss
are fully ours. Each optimizer step's loss is the summed NLL of its reply tokens divided
by the step's total number of reply tokens over all micro-batches (and processes), so
gradient accumulation and batch padding do not change the loss. The batches of step k are
a function of the seed, so a resumed run takes exactly the steps an uninterrupted one
would. Accelerate provides the device, mixed precision and, under `accelerate launch`,
data-parallel gradients.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from ftcore.nll import corpus_totals, example_nlls, mean_of_totals, token_nll_sums
from ftcore.training import checkpoint
from ftcore.training.batches import (
    DatasetSplits,
    TrainRow,
    collate,
    encode_split,
    epoch_batches,
    pack_rows,
)
from ftcore.training.checkpoint import LoopState
from ftcore.training.config import TrainConfig
from ftcore.training.modeling import load_for_training
from ftcore.training.runfiles import RunPaths
from ftcore.training.schedule import lr_factor, make_plan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """How a run ended."""

    run_dir: Path
    state: str  # completed, early_stopped or stopped
    steps: int
    total_steps: int
    best_val_loss: float | None
    best_step: int | None
    weights_dir: Path  # best/ (or last/ without validation): what the run folder publishes


class Trainer:
    """One process's share of a run: model, data, optimizer, and the step loop."""

    def __init__(
        self,
        config: TrainConfig,
        splits: DatasetSplits,
        paths: RunPaths,
        accelerator,
        tracker,
        precision: str,
    ):
        import torch

        self.config, self.paths, self.acc, self.tracker = config, paths, accelerator, tracker
        model, self.tokenizer = load_for_training(config, accelerator.device, precision)
        train = encode_split(self.tokenizer, splits.train, config.max_length, "train")
        val = encode_split(self.tokenizer, splits.val, config.max_length, "val")
        self.train_rows = pack_rows(train.rows, config.max_length) if config.packing else train.rows
        self.val_rows = val.rows
        self.data_summary = dict(
            train_rows=len(train.rows),
            val_rows=len(val.rows),
            truncated=train.n_truncated + val.n_truncated,
            dropped=train.n_dropped + val.n_dropped,
            packed_rows=len(self.train_rows) if config.packing else None,
        )
        self.plan = make_plan(
            len(self.train_rows),
            batch_size=config.batch_size,
            grad_accum=config.grad_accum,
            epochs=config.epochs,
            max_steps=config.max_steps,
            warmup_ratio=config.warmup_ratio,
            world_size=accelerator.num_processes,
        )
        params = [p for p in model.parameters() if p.requires_grad]
        # No decay on norms and biases (1-D), as usual for AdamW.
        groups = [
            {"params": [p for p in params if p.ndim >= 2], "weight_decay": config.weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(
            [group for group in groups if group["params"]],
            lr=config.learning_rate,
            fused=accelerator.device.type == "cuda",  # one kernel for all parameters
        )
        self.model, self.optimizer = accelerator.prepare(model, optimizer)
        self.params = params
        self.state = LoopState()
        self._epoch_cache: tuple[int, list[list[int]]] | None = None

    # ---- data -------------------------------------------------------------------------

    def _epoch(self, epoch: int) -> list[list[int]]:
        if self._epoch_cache is None or self._epoch_cache[0] != epoch:
            lengths = [len(row.input_ids) for row in self.train_rows]
            batches = epoch_batches(
                lengths,
                self.config.batch_size,
                seed=self.config.seed,
                epoch=epoch,
                group_by_length=self.config.group_by_length,
            )
            self._epoch_cache = (epoch, batches[: self.plan.batches_per_epoch])
        return self._epoch_cache[1]

    def step_rows(self, step: int) -> list[list[TrainRow]]:
        """The micro-batches of 0-based step `step`, over all processes."""
        epoch, indices = self.plan.locate(step)
        batches = self._epoch(epoch)
        return [[self.train_rows[i] for i in batches[b]] for b in indices]

    # ---- one optimizer step -----------------------------------------------------------

    def train_step(self, step: int) -> dict:
        """Forward/backward over the step's micro-batches, clip, update; the step's stats."""
        import torch

        everyone = self.step_rows(step)
        global_targets = sum(row.n_targets for batch in everyone for row in batch)
        global_tokens = sum(len(row.input_ids) for batch in everyone for row in batch)
        mine = everyone[self.acc.process_index :: self.acc.num_processes]
        step_nll = torch.zeros((), device=self.acc.device)
        for index, rows in enumerate(mine):
            batch = {
                k: v.to(self.acc.device)
                for k, v in collate(rows, self.tokenizer.pad_token_id).items()
            }
            labels = batch.pop("labels")
            # Gradients are synchronised across processes only on the step's last micro-batch.
            last = index == len(mine) - 1
            with nullcontext() if last else self.acc.no_sync(self.model):
                # No KV cache: with one, transformers skips the packed-sequence mask.
                logits = self.model(**batch, use_cache=False).logits
                nll, _ = token_nll_sums(logits, labels)
                # DDP averages gradients over processes; scaling by their number makes the
                # result the gradient of (total NLL / total reply tokens) of the whole step.
                loss = nll.sum() * self.acc.num_processes / global_targets
                self.acc.backward(loss)
            step_nll += nll.detach().sum()
        max_norm = self.config.max_grad_norm or float("inf")
        grad_norm = self.acc.clip_grad_norm_(self.params, max_norm)
        lr = self.config.learning_rate * lr_factor(step, self.plan, self.config.lr_scheduler)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.acc.num_processes > 1:
            step_nll = self.acc.reduce(step_nll, "sum")
        return {
            "nll": step_nll.item(),
            "targets": global_targets,
            "tokens": global_tokens,
            "lr": lr,
            "grad_norm": float(grad_norm),
        }

    # ---- validation -------------------------------------------------------------------

    def validate(self) -> dict | None:
        """Response-only, token-weighted val NLL (ftcore.nll, as evaluation computes it)."""
        import torch

        if not self.val_rows:
            return None
        shard = self.val_rows[self.acc.process_index :: self.acc.num_processes]
        pairs = example_nlls(
            self.model,
            shard,
            pad_id=self.tokenizer.pad_token_id,
            batch_size=self.config.eval_batch_size,
        )
        total_nll, total_tokens = corpus_totals(pairs)
        if self.acc.num_processes > 1:
            totals = self.acc.reduce(
                torch.tensor([total_nll, total_tokens], device=self.acc.device), "sum"
            )
            total_nll, total_tokens = totals[0].item(), int(totals[1].item())
        return {"val_loss": mean_of_totals(total_nll, total_tokens), "val_tokens": total_tokens}

    def should_validate(self, steps_done: int) -> bool:
        every = self.config.eval_every or self.plan.steps_per_epoch
        return bool(self.val_rows) and (
            steps_done % every == 0 or steps_done == self.plan.total_steps
        )

    def agree(self, flag: bool) -> bool:
        """True on every process when any process says True: a stop request must end
        all of them at the same step, or data-parallel training hangs."""
        if self.acc.num_processes == 1:
            return flag
        import torch

        votes = torch.tensor([float(flag)], device=self.acc.device)
        return bool(self.acc.reduce(votes, "sum").item() > 0)

    # ---- saving -----------------------------------------------------------------------

    def save_checkpoint(self) -> None:
        self.acc.wait_for_everyone()
        if self.acc.is_main_process:
            model = self.acc.unwrap_model(self.model)
            scaler = getattr(self.acc, "scaler", None)
            checkpoint.save_checkpoint(
                self.paths.checkpoints, model, self.optimizer, self.state, scaler=scaler
            )
            self.tracker.event("checkpoint", step=self.state.step)

    def save_weights(self, folder: Path) -> None:
        self.acc.wait_for_everyone()
        if self.acc.is_main_process:
            model = self.acc.unwrap_model(self.model)
            checkpoint.save_weights(
                folder, model, self.tokenizer, full=self.config.method == "full"
            )

    def restore(self) -> bool:
        """Load the newest checkpoint; False when there is none (start from step 0)."""
        for folder in (self.paths.best, self.paths.last):
            checkpoint.recover_folder(folder)
        latest = checkpoint.latest_checkpoint(self.paths.checkpoints)
        if latest is None:
            return False
        model = self.acc.unwrap_model(self.model)
        scaler = getattr(self.acc, "scaler", None)
        self.state = checkpoint.load_checkpoint(latest, model, self.optimizer, scaler=scaler)
        return True


def memory_gb(device) -> tuple[float, str]:
    """Peak memory so far: GPU memory allocated by torch, or the process's peak RSS on CPU."""
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30, "gpu_peak"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "cpu_rss_peak"


def stop_checker(paths: RunPaths, flag, should_stop: Callable[[int], bool] | None):
    """A function of the step count that says whether to stop now: a STOP file (the UI's
    Stop button), a signal, or a test's hook."""

    def check(step: int) -> bool:
        return (
            flag.is_set() or paths.stop_request.exists() or bool(should_stop and should_stop(step))
        )

    return check


class StepTimer:
    """Step and validation timing for tokens/s and the ETA."""

    def __init__(self) -> None:
        self.steps = 0
        self.step_s = 0.0
        self.val_s = 0.0
        self.vals = 0

    def eta(self, steps_left: int, vals_left: int) -> float | None:
        if not self.steps:
            return None
        val_each = self.val_s / self.vals if self.vals else 0.0
        return steps_left * self.step_s / self.steps + vals_left * val_each


def now() -> float:
    return time.perf_counter()
