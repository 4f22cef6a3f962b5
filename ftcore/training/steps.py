"""Drive a Trainer from its first (or resumed) step to the end: log, validate, stop, save.

The order inside one iteration is fixed, because resume depends on it: check for a stop
request, take the step, log it, validate when due (saving best/ on a new best and maybe
stopping early), then checkpoint when due. A stop request is answered between steps, with
a checkpoint at exactly the step reached.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from ftcore.training.loop import RunResult, StepTimer, Trainer, memory_gb, now

logger = logging.getLogger(__name__)


def _start(trainer: Trainer, resume: bool) -> bool:
    """Restore the last checkpoint when resuming; True when one was found. Progress rows
    past the checkpoint are dropped: those steps are taken again."""
    tracker = trainer.tracker
    resumed = resume and trainer.restore()
    if resumed:
        if tracker.enabled:
            tracker.progress.truncate_after(trainer.state.step)
        tracker.event("resumed", step=trainer.state.step)
        logger.info("resumed at step %d", trainer.state.step)
    elif tracker.enabled:
        trainer.paths.progress.unlink(missing_ok=True)
        tracker.event("started", step=0)
    tracker.event("data", step=trainer.state.step, **trainer.data_summary)
    state = trainer.state
    tracker.update(
        step=state.step,
        total_steps=trainer.plan.total_steps,
        best_val_loss=state.best_val_loss,
        best_step=state.best_step,
    )
    return resumed


def _log_train(trainer: Trainer, window: dict, stats: dict, timer: StepTimer) -> None:
    state, plan = trainer.state, trainer.plan
    memory, memory_kind = memory_gb(trainer.acc.device)
    evals_left = _evals_left(trainer)
    row = {
        "step": state.step,
        "epoch": round(plan.epoch_progress(state.step), 4),
        "train_loss": window["nll"] / window["targets"],
        "lr": stats["lr"],
        "grad_norm": stats["grad_norm"],
        "tokens_per_s": window["tokens"] / window["seconds"] if window["seconds"] else None,
        "tokens_seen": state.tokens_seen,  # non-padding tokens trained on so far
        "memory_gb": round(memory, 3),
        "memory_kind": memory_kind,
        "eta_s": timer.eta(plan.total_steps - state.step, evals_left),
        "elapsed_s": round(state.elapsed_s, 2),
        "total_steps": plan.total_steps,
    }
    trainer.tracker.row("train", **row)
    trainer.tracker.update(step=state.step, eta_s=row["eta_s"])
    logger.info(
        "step %d/%d  loss %.4f  lr %.2e  grad %.3f  %.0f tok/s",
        state.step, plan.total_steps, row["train_loss"], row["lr"], row["grad_norm"],
        row["tokens_per_s"] or 0.0,
    )  # fmt: skip


def _evals_left(trainer: Trainer) -> int:
    if not trainer.val_rows:
        return 0
    every = trainer.config.eval_every or trainer.plan.steps_per_epoch
    left = trainer.plan.total_steps // every - trainer.state.step // every
    return left + (trainer.plan.total_steps % every != 0)


def _validate(trainer: Trainer, timer: StepTimer, *, baseline: bool = False) -> bool:
    """Validate, record, keep best/; True when early stopping says to stop."""
    started = now()
    result = trainer.validate()
    timer.val_s += now() - started
    timer.vals += 1
    state, config = trainer.state, trainer.config
    # The baseline (before any step) is reported, not a candidate: best/ must be trained.
    improved = not baseline and (
        state.best_val_loss is None
        or result["val_loss"] < state.best_val_loss - config.early_stopping_min_delta
    )
    if improved:
        state.best_val_loss, state.best_step, state.bad_evals = result["val_loss"], state.step, 0
        trainer.save_weights(trainer.paths.best)
        trainer.tracker.update(best_val_loss=state.best_val_loss, best_step=state.step)
    elif not baseline:
        state.bad_evals += 1
    trainer.tracker.row(
        "val",
        step=state.step,
        epoch=round(trainer.plan.epoch_progress(state.step), 4),
        val_loss=result["val_loss"],
        val_perplexity=math.exp(min(result["val_loss"], 700.0)),
        val_tokens=result["val_tokens"],
        best=improved,
        baseline=baseline,
    )
    logger.info(
        "step %d  val loss %.4f%s", state.step, result["val_loss"], "  (best)" if improved else ""
    )
    patience = config.early_stopping_patience
    return bool(patience) and state.bad_evals >= patience


def _finish(trainer: Trainer, end_state: str, last_checkpoint: int) -> RunResult:
    """Save last/ (and a checkpoint when stopped), publish best-or-last at the top level."""
    from ftcore.training import checkpoint

    state, paths = trainer.state, trainer.paths
    if end_state == "stopped" and state.step != last_checkpoint:
        trainer.save_checkpoint()
    trainer.save_weights(paths.last)
    chosen = paths.best if state.best_step is not None else paths.last
    if trainer.acc.is_main_process:
        checkpoint.publish(chosen, paths.root)
    return RunResult(
        paths.root, end_state, state.step, trainer.plan.total_steps,
        state.best_val_loss, state.best_step, chosen,
    )  # fmt: skip


def drive(trainer: Trainer, *, resume: bool, stop: Callable[[int], bool]) -> RunResult:
    """Take the remaining steps of the run; return how it ended."""
    config, plan, state = trainer.config, trainer.plan, trainer.state
    resumed = _start(trainer, resume)
    state = trainer.state  # restore() replaced it
    timer = StepTimer()
    session_start, elapsed_before = now(), state.elapsed_s
    last_checkpoint = state.step if resumed else -1
    if not resumed and trainer.val_rows:
        _validate(trainer, timer, baseline=True)
    window = {"nll": 0.0, "targets": 0, "tokens": 0, "seconds": 0.0}
    end_state = "completed"
    while state.step < plan.total_steps:
        if trainer.agree(stop(state.step)):
            end_state = "stopped"
            break
        started = now()
        stats = trainer.train_step(state.step)
        seconds = now() - started
        state.step += 1
        state.tokens_seen += stats["tokens"]
        state.elapsed_s = elapsed_before + now() - session_start
        timer.steps += 1
        timer.step_s += seconds
        for key, value in (("nll", stats["nll"]), ("targets", stats["targets"]),
                           ("tokens", stats["tokens"]), ("seconds", seconds)):  # fmt: skip
            window[key] += value
        if state.step % config.log_every == 0 or state.step == plan.total_steps:
            _log_train(trainer, window, stats, timer)
            window = dict.fromkeys(window, 0)
        stop_early = trainer.should_validate(state.step) and _validate(trainer, timer)
        if stop_early and state.step < plan.total_steps:
            end_state = "early_stopped"
            break
        if (
            config.save_every
            and state.step % config.save_every == 0
            and state.step < plan.total_steps
        ):
            trainer.save_checkpoint()
            last_checkpoint = state.step
    return _finish(trainer, end_state, last_checkpoint)
