"""Tables and charts of an evaluation, for the Evaluate tab."""

from __future__ import annotations

import pandas as pd

from ftcore.metrics.registry import METRIC_NAMES

CHART_METRICS = ("rougeL", "chrf", "bleu")
TABLE_METRICS = (*METRIC_NAMES, "perplexity", "perplexity_per_char")


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
    """The verdict panel: per fine-tuned model, the label and the evidence in words."""
    if not assessments:
        return "Evaluate at least one adapter on train and val to get a verdict."
    blocks = []
    for model, assessment in assessments.items():
        verdict = assessment.verdict
        lines = [f"### {model}: **{verdict.label}**"]
        lines += [f"- {reason}" for reason in verdict.reasons]
        if assessment.forgetting is not None:
            state = "forgetting" if assessment.forgetting.forgot else "no forgetting"
            lines.append(f"\n**General ability (probe set): {state}**")
            lines += [f"- {reason}" for reason in assessment.forgetting.reasons]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


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
        return frame
    frame["rougeL"] = [scores.get("rougeL") for scores in frame["scores"]]
    wide = frame.pivot_table(
        index=["split", "id", "prompt", "reference"],
        columns="model",
        values=["prediction", "rougeL"],
        aggfunc="first",
    )
    wide.columns = [
        f"{model} {'output' if kind == 'prediction' else kind}" for kind, model in wide.columns
    ]
    return wide.reset_index()


def comparison_figure(scores: dict):
    """Each chart metric per split, one bar per model, with 95% CI error bars."""
    import matplotlib.pyplot as plt

    metrics = [
        m for m in CHART_METRICS if any(m in s for sp in scores.values() for s in sp.values())
    ]
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.4), squeeze=False)
    for axis, metric in zip(axes[0], metrics, strict=True):
        values = pd.DataFrame(
            {
                model: {
                    split: entry[metric]["value"]
                    for split, entry in splits.items()
                    if metric in entry
                }
                for model, splits in scores.items()
            }
        )
        errors = pd.DataFrame(
            {
                model: {
                    split: _error(entry[metric])
                    for split, entry in splits.items()
                    if metric in entry
                }
                for model, splits in scores.items()
            }
        )
        values.plot.bar(ax=axis, yerr=errors, rot=0, capsize=3)
        axis.set_title(metric)
    figure.tight_layout()
    return figure


def _error(entry: dict) -> float:
    if entry.get("ci_low") is None:
        return 0.0
    return (entry["ci_high"] - entry["ci_low"]) / 2


def gap_figure(assessments: dict):
    """Train minus held-out, per fine-tuned model: NLL (held-out minus train, nats) and
    each generation metric, with 95% CIs. Bars far from 0 mean a generalisation gap."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.2))
    rows = []
    for model, assessment in assessments.items():
        low, high = assessment.nll_gap_ci or (None, None)
        rows.append((model, "NLL (held-out − train)", assessment.nll_gap, low, high))
        for metric, gap in assessment.generation_gaps.items():
            rows.append((model, f"{metric} (train − held-out)", gap.value, gap.ci_low, gap.ci_high))
    frame = pd.DataFrame(rows, columns=["model", "gap", "value", "low", "high"])
    if frame.empty:
        axis.axis("off")
        return figure
    values = frame.pivot(index="gap", columns="model", values="value")
    half = ((frame["high"] - frame["low"]) / 2).fillna(0)
    errors = frame.assign(half=half).pivot(index="gap", columns="model", values="half")
    values.plot.barh(ax=axis, xerr=errors, capsize=3)
    axis.axvline(0, color="black", linewidth=0.8)
    axis.set_xlabel("gap (95% CI)")
    figure.tight_layout()
    return figure
