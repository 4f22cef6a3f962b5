"""Tables, charts and plain-language readings of a session's report dict, for the Reports tab.

Every function takes the dict `ftcore.rating.report.build_report` returns (report.json) and
only lays it out: no statistic is computed here, so the tab, the CLI and report.json show
the same numbers. The heatmap and the ratings plot are ftcore.rating.report_figures', the
ones report.html shows; the criterion plot is drawn here the same way (a pyplot-free
Figure, under report_figures' fonts, so Chinese names render as text, not boxes).
"""

from __future__ import annotations

import re

import pandas as pd
from matplotlib.figure import Figure

from ftcore.rating.report_figures import with_fonts
from ftcore.ui.chart_style import legend_beside

# Krippendorff's own guide: α ≥ 0.8 reliable, 0.667 ≤ α < 0.8 tentative, below that not.
ALPHA_RELIABLE, ALPHA_TENTATIVE = 0.8, 0.667
RATER_COLUMNS = ["rater", "id", "votes", "s/item", "gold right", "same on repeat", "too fast",
                 "flags", "agrees", "fails", "left out"]  # fmt: skip
RATER_COLUMN_WIDTHS = ["9%", "12%", "6%", "7%", "9%", "9%", "7%", "10%", "7%", "17%", "7%"]
# Short headers ("ties") get room enough not to break mid-word beside the long ones.
PAIR_COLUMN_WIDTHS = ["11%", "11%", "7%", "7%", "7%", "7%", "10%", "16%", "10%", "14%"]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _interval(ci: list | None, digits: int = 1, percent: bool = False) -> str:
    """'low – high' of a [low, high] pair; a missing (unbounded) end reads ±∞."""
    if not ci:
        return "—"
    low, high = ci
    show = (lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:.{digits}f}")
    return f"{'−∞' if low is None else show(low)} – {'∞' if high is None else show(high)}"


def _rating_interval(ci: list | None) -> str:
    """A Bradley–Terry interval in words where a bound is missing: with few votes some
    resamples have a model win (or lose) every vote, and its rating then has no bound."""
    if not ci:
        return "—"
    low, high = ci
    if low is None and high is None:
        return "not bounded yet (too few votes)"
    if low is None:
        return f"up to {high:.1f} (no lower bound yet)"
    if high is None:
        return f"from {low:.1f} (no upper bound yet)"
    return _interval(ci)


def _markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _escaped(text: str) -> str:
    """`text` shown as typed in Markdown: a rater's name such as ![x](http://…) must not
    become an image that the admin's browser fetches."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~])", r"\\\1", text)


def _rater_names(report: dict) -> dict[str, str]:
    return {r["rater_id"]: _escaped(r.get("rater_name") or "") for r in report["raters"]}


def summary_markdown(report: dict) -> str:
    """What the numbers below are computed on: votes kept of votes cast, and every vote
    left out under its reason (never silently)."""
    excluded, names = report["excluded"], _rater_names(report)
    # The rule the raters table's "too fast" column counts by, and how many it flagged.
    rule = (
        f" (of **{report['flagged_too_fast']}** votes under the session's minimum of "
        f"{report['min_seconds']:g} s)"
        if "min_seconds" in report
        else ""
    )
    failing = set(report.get("excluded_failing") or ())
    left_out = ", ".join(
        (names.get(r) or r) + (" – fails the checks" if r in failing else "")
        for r in report["excluded_raters"]
    )  # fmt: skip
    return (
        f"Compared on **{report['n_votes']}** of **{report['n_votes_cast']}** votes from "
        f"**{report['n_raters']}** raters. Left out: **{excluded.get('rater', 0)}** from "
        f"excluded raters ({left_out or 'none'}), **{excluded.get('flag', 0)}** flagged too "
        f"fast{rule}, **{excluded.get('gold', 0)}** on gold items and "
        f"**{excluded.get('repeat', 0)}** repeated showings (these two check the raters and "
        "never count for the models)."
    )


def ratings_table(report: dict) -> pd.DataFrame:
    """Rank (shared where intervals overlap), model, Bradley–Terry rating and its interval."""
    rows = [
        [entry["rank"], model, None if entry["bt_rating"] is None else round(entry["bt_rating"], 1),
         _rating_interval(entry["bt_ci"])]
        for model, entry in report["models"].items()
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["rank", "model", "rating", "95% interval"])


def pairs_table(report: dict) -> pd.DataFrame:
    """Per pair: wins, ties, both-bad and model A's two win rates, each with its own
    interval, labelled: ties as half a win with a bootstrap over items (none over too few
    items), and decisive votes only with Wilson's (the one the "enough data?" text quotes),
    so the two intervals are never read as one number disagreeing with itself."""
    rows = [
        [p["model_a"], p["model_b"], p["wins_a"], p["wins_b"], p["ties"], p["both_bad"],
         _percent(p["win_rate_a"]),
         f"{_interval(p['win_rate_a_ci'], percent=True)} ({p['n_items']} items)"
         if p["win_rate_a_ci"] else f"too few items to resample ({p['n_items']})",
         _percent(p["win_rate_a_no_ties"]),
         _interval(p.get("win_rate_a_no_ties_ci"), percent=True)]
        for p in report["pairs"]
    ]  # fmt: skip
    columns = ["model A", "model B", "A wins", "B wins", "ties", "both bad",
               "A's win rate, ties as ½", "95% interval, bootstrap over items",
               "A's win rate, decisive votes only", "95% interval, Wilson"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def criteria_table(report: dict) -> pd.DataFrame:
    """Per criterion and model: mean score, its 95% interval and the scores behind it."""
    rows = [
        [criterion, model, round(value["mean"], 2), _interval(value["ci"], 2), value["n"]]
        for model, entry in report["models"].items()
        for criterion, value in entry["criteria"].items()
        if value["mean"] is not None
    ]
    frame = pd.DataFrame(rows, columns=["criterion", "model", "mean", "95% interval", "scores"])
    return frame.sort_values(["criterion"], kind="stable", ignore_index=True)


@with_fonts
def criteria_figure(report: dict) -> Figure:
    """Mean score per criterion, one marker per model side by side, with 95% intervals."""
    criteria = sorted({c for e in report["models"].values() for c in e["criteria"]})
    models = list(report["models"])
    figure = Figure(figsize=(10, 3.4))
    axis = figure.subplots()
    step = 0.7 / max(len(models), 1)
    for index, model in enumerate(models):
        offset = (index - (len(models) - 1) / 2) * step
        xs, means, below, above = [], [], [], []
        for x, criterion in enumerate(criteria):
            value = report["models"][model]["criteria"].get(criterion)
            if value and value["mean"] is not None:
                mean = value["mean"]
                low, high = value["ci"] or (mean, mean)
                xs.append(x + offset)
                means.append(mean)
                below.append(0 if low is None else mean - low)
                above.append(0 if high is None else high - mean)
        axis.errorbar(xs, means, yerr=[below, above], fmt="o", capsize=3, label=model)
    axis.set_xticks(range(len(criteria)), criteria)
    axis.set_ylabel("mean score, 95% interval")
    legend_beside(axis)
    figure.tight_layout()
    return figure


def _alpha_reading(alpha: float | None) -> str:
    if alpha is None:
        return "not measurable yet: needs items rated by two or more raters"
    if alpha >= ALPHA_RELIABLE:
        return "raters agree well"
    if alpha >= ALPHA_TENTATIVE:
        return "fair agreement: draw tentative conclusions only"
    if alpha > 0:
        return "raters often disagree: the task or rubric may be ambiguous"
    return "no more agreement than chance"


def agreement_markdown(report: dict) -> str:
    """Krippendorff's alpha for the preference and each criterion, each with a reading,
    and the raw share of rater pairs that chose the same."""
    agreement = report["agreement"]
    rows = [["preference (which is better)", agreement["preference"]]]
    rows += [[f"{name} (score)", alpha] for name, alpha in agreement.items()
             if name not in ("preference", "preference_raw")]  # fmt: skip
    table = _markdown_table(
        ["judgement", "Krippendorff's α", "reading"],
        [[name, "—" if a is None else f"{a:.3f}", _alpha_reading(a)] for name, a in rows],
    )
    raw = agreement.get("preference_raw") or {}
    same = (
        f"Two raters on the same item chose the same answer in **{_percent(raw['share'])}** "
        f"of {raw['pairs']} pairs of ratings."
        if raw.get("share") is not None
        else "No item has two raters yet, so raw agreement cannot be measured."
    )
    return f"{table}\n\n{same} α corrects this share for the agreement expected by chance."


def _bias_sentence(result: dict, what: str, lean: tuple[str, str]) -> str:
    if not result.get("n") or result.get("share") is None:
        return f"**{what}**: no decisive votes to measure it yet."
    low, high = result.get("ci") or (None, None)
    seen = (
        f"**{what}**: {_percent(result['share'])} of {result['n']} decisive votes went to the "
        f"{lean[0]} (95% interval {_percent(low)}–{_percent(high)})"
    )
    if low is not None and low > 0.5:
        return f"{seen}: raters lean towards the {lean[0]}."
    if high is not None and high < 0.5:
        return f"{seen}: raters lean towards the {lean[1]}."
    return f"{seen}: no sign of a lean either way."


def biases_markdown(report: dict) -> str:
    """Position and length bias in a sentence each, against the ½ of no bias."""
    position = _bias_sentence(report["position_bias"], "Position", ("left side", "right side"))
    length = _bias_sentence(report["length_bias"], "Length", ("longer response", "shorter one"))
    return (
        f"{position}\n\n{length}\n\nSides are shuffled per vote, so a position lean adds "
        "noise but favours no model; a length lean may reward a model for being long."
    )


def power_markdown(report: dict) -> str:
    """The "enough data?" verdict on the two leading models, in plain words."""
    power = report.get("power")
    if not power:
        return "⚠️ **Not enough data yet.** No two models have been compared in these votes."
    head = (
        "✅ **Enough data to tell the two leading models apart.**"
        if power["enough"]
        else "⚠️ **Not enough data yet to tell the two leading models apart.**"
    )
    return f"{head} {power['message']}"


def metric_agreement_markdown(report: dict) -> str:
    """Human vs automatic: per metric, how often its preferred model also won the vote,
    and Kendall's tau; why a metric has no number, and the plain absence of any."""
    metrics = report.get("metric_agreement") or {}
    measured = {m: e for m, e in metrics.items()
                if e.get("agreement") is not None or e.get("kendall_tau") is not None}  # fmt: skip
    if not measured:
        reasons = sorted({e["note"] for e in metrics.values() if e.get("note")})
        return " ".join(["No automatic scores linked to this session.", *reasons]).strip()
    rows = [
        [metric, _percent(entry.get("agreement")),
         _interval(entry.get("agreement_ci"), percent=True),
         "—" if entry.get("kendall_tau") is None else f"{entry['kendall_tau']:.2f}",
         entry.get("n_items", "—")]
        for metric, entry in metrics.items()
    ]  # fmt: skip
    header = ["metric", "agrees with raters", "95% interval", "Kendall's τ", "items"]
    # Notes go under the table: a long note in a column squeezed the short columns until
    # their headers broke mid-word ("Kendall' s τ", "item s").
    notes = "".join(
        f"\n\n**{metric}**: {entry['note']}"
        for metric, entry in metrics.items()
        if entry.get("note")
    )
    table = _markdown_table(header, rows) + notes
    scored = {m: e["agreement"] for m, e in metrics.items() if e.get("agreement") is not None}
    if not scored:
        return f"{table}\n\nNo item has both a human winner and a metric preference yet."
    best = max(scored, key=scored.get)
    agreed = (
        f"the model it scores higher also won the vote on {scored[best]:.0%} of the items "
        "where both pick one"
    )
    low = (metrics[best].get("agreement_ci") or [None])[0]
    if low is not None and low > 0.5:  # better than a coin toss, not merely the top number
        return f"{table}\n\n**{best}** tracks your raters best on this task: {agreed}."
    return (
        f"{table}\n\nNo metric tracks your raters better than a coin toss yet: the closest, "
        f"**{best}**, agrees on {scored[best]:.0%}, and its 95% interval includes 50%."
    )


def raters_table(report: dict) -> pd.DataFrame:
    """One row per rater, on all their votes: counts, speed, gold accuracy, consistency,
    flags, agreement with the others, why they fail, and whether they are left out."""

    def checked(passed: int, total: int) -> str:
        return "—" if not total else f"{passed}/{total} ({passed / total:.0%})"

    rows = [
        [r.get("rater_name") or "", r["rater_id"], r["votes"],
         "—" if r["median_seconds"] is None else f"{r['median_seconds']:.1f}",
         checked(r["gold_correct"], r["gold_total"]), checked(r["consistent"], r["repeats"]),
         r["too_fast"], r["flags"], _percent(r["agreement"]), r["fails"],
         "yes" if r["excluded"] else ""]
        for r in report["raters"]
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=RATER_COLUMNS)


def rater_choices(report: dict) -> list[tuple[str, str]]:
    """(label, rater id) for the exclusion checkboxes; failing raters say so."""
    return [
        (f"{r.get('rater_name') or 'anonymous'} · {r['rater_id']}"
         + (" · fails checks" if r["fails"] else ""), r["rater_id"])
        for r in report["raters"]
    ]  # fmt: skip
