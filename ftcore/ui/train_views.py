"""Charts and status lines of a training run, for the Train tab."""

from __future__ import annotations

from ftcore.progress import format_duration
from ftcore.training.runfiles import RunStatus


def status_markdown(status: RunStatus | None) -> str:
    if status is None:
        return "No run selected. Start one, or pick an earlier run to see its curves."
    best = (
        f" · best val loss **{status.best_val_loss:.4f}** at step {status.best_step}"
        if status.best_val_loss is not None
        else ""
    )
    line = f"**{status.state}** · step {status.step}/{status.total_steps or '?'}{best}"
    if status.active:
        line += f" · ETA {format_duration(status.eta_s)}"
    if status.error:
        line += f"\n\n⚠ {status.error}"
    return line


def progress_html(status: RunStatus | None) -> str:
    """A progress bar that needs no event stream: it is redrawn on every poll."""
    percent = 100 * status.fraction_done if status else 0.0
    return (
        '<div style="background:var(--block-background-fill);border-radius:6px;height:14px;'
        'border:1px solid var(--border-color-primary)">'
        f'<div style="width:{percent:.1f}%;height:100%;border-radius:6px;'
        f'background:var(--color-accent)"></div></div>'
        f'<div style="font-size:0.85em;text-align:right">{percent:.0f}%</div>'
    )


def curves_figure(progress: list[dict], title: str | None = None):
    """Train and val loss on one chart, then gradient norm and learning rate; the legend
    sits under the loss chart, clear of its lines, and `title` above all three."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    train = [row for row in progress if row.get("kind") == "train"]
    val = [row for row in progress if row.get("kind") == "val"]
    figure, (loss, grad, lr) = plt.subplots(
        1, 3, figsize=(12, 3.4), width_ratios=[2, 1, 1], layout="constrained"
    )
    loss.plot(
        [r["step"] for r in train], [r["train_loss"] for r in train], label="train", linewidth=1
    )
    loss.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o-", label="val")
    loss.set(title="loss (response tokens, mean NLL)", xlabel="step")
    loss.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    grad.plot([r["step"] for r in train], [r.get("grad_norm") for r in train], color="C2")
    grad.set(title="gradient norm", xlabel="step")
    lr.plot([r["step"] for r in train], [r.get("lr") for r in train], color="C3")
    lr.set(title="learning rate", xlabel="step")
    lr.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    for axis in (loss, grad, lr):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    if title:
        figure.suptitle(title, fontweight="bold")
    return figure
