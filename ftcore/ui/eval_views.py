"""Tables and charts of an evaluation, for the Evaluate tab."""

from __future__ import annotations

import pandas as pd

from ftcore.metrics.registry import METRIC_NAMES
from ftcore.ui.chart_style import legend_beside

CHART_METRICS = ("rougeL", "chrf", "bleu")
EXAMPLE_COLUMNS = ["split", "id", "prompt", "reference"]  # then each model's output and score
DELTA_TITLE = "Fine-tuned − base on the same examples (paired 95% CI)"
GAP_TITLE = "Generalisation gaps: train vs held-out (95% CI)"
TABLE_METRICS = (*METRIC_NAMES, "perplexity", "perplexity_per_char")
EXAMPLE_SCORE_WIDTH = 8  # percent of the table for each model's ROUGE-L column
# The signature is long and last: it wraps in what the numbers leave.
SCORE_WIDTHS = ["9%", "6%", "13%", "7%", "12%", "5%", "48%"]


def _ci(entry: dict) -> str:
    if entry.get("ci_low") is None:
        return ""
    return f"{entry['ci_low']:.3f} – {entry['ci_high']:.3f}"


def scores_table(scores: dict) -> pd.DataFrame:
    """One row per model, split and metric: value, 95% CI, n and signature."""
    rows = [
        {
            "model": model,
            "split": split,
            "metric": metric,
            "value": round(entry["value"], 4),
            "95% CI": _ci(entry),
            "n": entry.get("n", entry.get("n_tokens")),
            "signature": entry.get("signature", ""),
        }
        for model, splits in scores.items()
        for split, metrics in splits.items()
        for metric, entry in metrics.items()
        if metric in TABLE_METRICS
    ]
    return pd.DataFrame(
        rows, columns=["model", "split", "metric", "value", "95% CI", "n", "signature"]
    )


def verdict_markdown(assessments: dict) -> str:
    """The verdict panel: each fine-tuned model's verdict in the library's own words."""
    if not assessments:
        return "Evaluate at least one adapter on train and val to get a verdict."
    return "\n\n".join(assessment.to_markdown() for assessment in assessments.values())


def exam_table(assessments: dict) -> pd.DataFrame:
    """The three-part exam: in-domain, generalisation, general ability, one verdict each."""
    rows = [
        {
            "model": model,
            "part": part.part,
            "base": round(part.base_value, 4),
            "fine-tuned": round(part.tuned_value, 4),
            "delta": round(part.delta, 4),
            "verdict": part.verdict,
            "why": part.reason,
        }
        for model, assessment in assessments.items()
        for part in assessment.exam
    ]
    return pd.DataFrame(
        rows, columns=["model", "part", "base", "fine-tuned", "delta", "verdict", "why"]
    )


def per_example_table(examples: list[dict]) -> pd.DataFrame:
    """Prompt, reference and each model's output side by side, with its ROUGE-L."""
    frame = pd.DataFrame(examples)
    if frame.empty:
        return pd.DataFrame(columns=EXAMPLE_COLUMNS)
    # Four places, as in the scores table: a full float wraps over five lines.
    frame["rougeL"] = [_rounded(scores.get("rougeL")) for scores in frame["scores"]]
    wide = frame.pivot_table(
        index=EXAMPLE_COLUMNS,
        columns="model",
        values=["prediction", "rougeL"],
        aggfunc="first",
    )
    wide.columns = [
        f"{model} {'output' if kind == 'prediction' else kind}" for kind, model in wide.columns
    ]
    return wide.reset_index()


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def example_column_widths(columns: list[str]) -> list[str]:
    """Widths for per_example_table's columns that add up to the page: split, id and each
    score narrow, the texts (prompt, reference, every output) sharing the rest, so they
    wrap instead of pushing the table past 1280 px."""
    narrow = {
        c: {"split": 5, "id": 8}.get(c, EXAMPLE_SCORE_WIDTH) for c in columns if not _is_text(c)
    }
    share = (100 - sum(narrow.values())) / max(len(columns) - len(narrow), 1)
    return [f"{narrow[c]}%" if c in narrow else f"{share:.1f}%" for c in columns]


def _is_text(column: str) -> bool:
    return column in ("prompt", "reference") or column.endswith(" output")


def delta_figure(comparisons: list):
    """Each fine-tuned model minus the base on the same examples, per metric and split,
    with the paired 95% CI: green where the whole interval is a gain, red where it is a
    loss, grey where it straddles 0 (no evidence either way)."""
    import matplotlib.pyplot as plt

    metrics = [m for m in CHART_METRICS if any(c.metric == m for c in comparisons)]
    rows = max(len({(c.model, c.split) for c in comparisons}), 1)
    figure, axes = plt.subplots(
        1,
        max(len(metrics), 1),
        figsize=(4.6 * max(len(metrics), 1), 1.6 + 0.35 * rows),
        squeeze=False,
        layout="constrained",
    )
    figure.suptitle(DELTA_TITLE, fontweight="bold")
    if not metrics:
        axes[0][0].axis("off")
        axes[0][0].text(0.5, 0.5, "Evaluate an adapter to compare it with the base.", ha="center")
        return figure
    for axis, metric in zip(axes[0], metrics, strict=True):
        rows = [c for c in comparisons if c.metric == metric]
        labels = [f"{c.model} · {c.split}" for c in rows]
        positions = range(len(rows))
        low = [c.delta - c.ci_low if c.ci_low is not None else 0.0 for c in rows]
        high = [c.ci_high - c.delta if c.ci_high is not None else 0.0 for c in rows]
        colours = [_delta_colour(c) for c in rows]
        axis.barh(positions, [c.delta for c in rows], xerr=[low, high], color=colours, capsize=3)
        axis.set_yticks(list(positions), labels)
        axis.axvline(0, color="black", linewidth=0.8)
        axis.set_title(f"{metric}: fine-tuned − base")
        axis.invert_yaxis()  # first model on top, as in the tables
    return figure


def _delta_colour(comparison) -> str:
    if comparison.ci_low is not None and comparison.ci_low > 0:
        return "#2e7d32"
    if comparison.ci_high is not None and comparison.ci_high < 0:
        return "#c62828"
    return "#9e9e9e"


def gap_figure(assessments: dict):
    """Train minus held-out, per fine-tuned model: NLL (held-out minus train, nats, and
    that gap beyond the base model's own, which the verdict judges) and each generation
    metric, with 95% CIs. Bars far from 0 mean a generalisation gap. One model's bars
    need no legend; several get one beside the chart, never over a bar."""
    import matplotlib.pyplot as plt

    rows = []
    for model, assessment in assessments.items():
        for label, gap in (
            ("NLL (held-out − train)", assessment.nll_gap),
            ("NLL gap beyond the base's", assessment.excess_gap),
        ):
            low, high = gap.ci or (None, None)
            rows.append((model, label, gap.value, low, high))
        for metric, gap in assessment.generation_gaps.items():
            rows.append((model, f"{metric} (train − held-out)", gap.value, gap.ci_low, gap.ci_high))
    frame = pd.DataFrame(rows, columns=["model", "gap", "value", "low", "high"])
    gaps = list(dict.fromkeys(frame["gap"]))  # in the order above, not alphabetical
    figure, axis = plt.subplots(figsize=(10, 1.4 + 0.3 * max(len(rows), 1)), layout="constrained")
    figure.suptitle(GAP_TITLE, fontweight="bold")
    if frame.empty:
        axis.axis("off")
        axis.text(0.5, 0.5, "Evaluate an adapter on train and val to see its gaps.", ha="center")
        return figure
    values = frame.pivot(index="gap", columns="model", values="value").loc[gaps[::-1]]
    half = ((frame["high"] - frame["low"]) / 2).fillna(0)
    errors = frame.assign(half=half).pivot(index="gap", columns="model", values="half")
    values.plot.barh(ax=axis, xerr=errors.loc[gaps[::-1]], capsize=3, legend=False)
    if len(values.columns) > 1:
        legend_beside(axis, title="model")
    else:
        figure.suptitle(f"{GAP_TITLE} · {values.columns[0]}", fontweight="bold")
    axis.axvline(0, color="black", linewidth=0.8)
    axis.set(xlabel="gap (95% CI)", ylabel="")
    return figure
