"""The rating report's plots: win-rate heatmap, BT ratings, metric deltas, human vs metric.

Each function takes parts of a `build_report` dict (or an evaluation's comparisons) and
returns a matplotlib Figure, built with `matplotlib.figure.Figure` rather than pyplot, so
no global figure state is shared between the UI's threads. `png_base64` turns one into
the text of an `<img src="data:…">`. Chinese model names and titles need a CJK font:
text is drawn with DejaVu Sans and falls back glyph by glyph to Noto Sans CJK SC
(fonts-noto-cjk), the family the UI's theme names too.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence

import matplotlib
from matplotlib.figure import Figure

FONTS = ["DejaVu Sans", "Noto Sans CJK SC"]  # Latin first, CJK for what it lacks
GAIN, LOSS, UNCLEAR = "#2e7d32", "#c62828", "#9e9e9e"


def png_base64(figure: Figure, dpi: int = 110) -> str:
    """The figure as a base64 PNG, for a data: URL."""
    buffer = io.BytesIO()
    with matplotlib.rc_context({"font.family": FONTS}):
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height))


# Text takes its font when it is created: every function that draws runs under this.
with_fonts = matplotlib.rc_context({"font.family": FONTS})


def _empty(figure: Figure, message: str) -> Figure:
    axis = figure.subplots()
    axis.axis("off")
    axis.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    return figure


def win_rate_matrix(models: Sequence[str], pairs: Sequence[Mapping]) -> list[list[float]]:
    """row model's win rate against the column model (ties and both-bad half a win), NaN
    on the diagonal and where the two never met."""
    index = {model: i for i, model in enumerate(models)}
    matrix = [[math.nan] * len(models) for _ in models]
    for pair in pairs:
        a, b, rate = index.get(pair["model_a"]), index.get(pair["model_b"]), pair["win_rate_a"]
        if a is not None and b is not None and rate is not None:
            matrix[a][b], matrix[b][a] = rate, 1 - rate
    return matrix


@with_fonts
def win_rate_heatmap(report: Mapping) -> Figure:
    """Win rate of each row's model against each column's, with the votes behind it."""
    models = list(report["models"])
    size = 1.2 + 1.1 * len(models)
    figure = _figure(size + 1.5, size)
    if len(models) < 2:
        return _empty(figure, "No votes between two models yet.")
    matrix = win_rate_matrix(models, report["pairs"])
    votes = {frozenset((p["model_a"], p["model_b"])): p["wins_a"] + p["wins_b"] + p["ties"]
             + p["both_bad"] for p in report["pairs"]}  # fmt: skip
    axis = figure.subplots()
    image = axis.imshow(matrix, cmap="RdBu", vmin=0, vmax=1)
    for i, row_model in enumerate(models):
        for j, column_model in enumerate(models):
            if not math.isnan(matrix[i][j]):
                n = votes[frozenset((row_model, column_model))]
                axis.text(j, i, f"{matrix[i][j]:.2f}\n{n} votes", ha="center", va="center")
    axis.set_xticks(range(len(models)), models, rotation=30, ha="right")
    axis.set_yticks(range(len(models)), models)
    axis.set_xlabel("against")
    axis.set_title("Win rate of the row's model (ties half)")
    figure.colorbar(image, ax=axis, fraction=0.046)
    return figure


@with_fonts
def rating_intervals(report: Mapping) -> Figure:
    """Bradley–Terry ratings (Elo scale) with their bootstrap intervals, best on top. A
    side the bootstrap could not bound (a model that never lost, or never won, in too
    many resamples) is an arrow to the edge of the plot."""
    rated = [(m, e) for m, e in report["models"].items() if e["bt_rating"] is not None]
    figure = _figure(7, 1.2 + 0.5 * max(len(rated), 1))
    if not rated:
        return _empty(figure, "No ratings yet: two models need votes between them.")
    axis = figure.subplots()
    bounds = [(e["bt_rating"], *(e["bt_ci"] or (None, None))) for _, e in rated]
    known = [value for row in bounds for value in row if value is not None]
    margin = max(max(known) - min(known), 100) * 0.15
    edges = (min(known) - margin, max(known) + margin)
    for row, (rating, low, high) in enumerate(bounds):
        left = rating - low if low is not None else 0
        right = high - rating if high is not None else 0
        axis.errorbar(rating, row, xerr=[[left], [right]], fmt="o", capsize=4, color="#1565c0")
        for bound, edge in ((low, edges[0]), (high, edges[1])):
            if bound is None:
                axis.annotate("", xy=(edge, row), xytext=(rating, row),
                              arrowprops={"arrowstyle": "->", "color": LOSS})  # fmt: skip
        axis.annotate(f"{rating:.0f}", (rating, row), textcoords="offset points", xytext=(0, 7),
                      ha="center")  # fmt: skip
    axis.set_xlim(*edges)
    axis.set_ylim(len(rated) - 0.5, -0.7)  # best on top, room for the labels
    axis.set_yticks(range(len(rated)), [model for model, _ in rated])
    axis.axvline(1000, color="black", linewidth=0.6, linestyle=":")
    axis.set_xlabel("Bradley–Terry rating (Elo scale, mean 1000)\n95% interval; arrow: unbounded")
    return figure


def _colour(low: float | None, high: float | None) -> str:
    if low is not None and low > 0:
        return GAIN
    if high is not None and high < 0:
        return LOSS
    return UNCLEAR


@with_fonts
def metric_deltas(comparisons: Sequence[Mapping]) -> Figure:
    """Each model minus the baseline per metric, with the paired 95% interval: green
    where the whole interval is a gain, red a loss, grey where it straddles 0."""
    metrics = list(dict.fromkeys(c["metric"] for c in comparisons))
    columns = min(max(len(metrics), 1), 3)
    rows = max(math.ceil(len(metrics) / 3), 1)
    figure = _figure(4.4 * columns, 0.6 + 2.2 * rows)
    if not metrics:
        return _empty(figure, "The evaluation compared no model with a baseline.")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for axis, metric in zip(axes, metrics, strict=False):
        shown = [c for c in comparisons if c["metric"] == metric]
        deltas = [c["delta"] for c in shown]
        below = [c["delta"] - c["ci_low"] if c["ci_low"] is not None else 0 for c in shown]
        above = [c["ci_high"] - c["delta"] if c["ci_high"] is not None else 0 for c in shown]
        colours = [_colour(c["ci_low"], c["ci_high"]) for c in shown]
        axis.barh(range(len(shown)), deltas, xerr=[below, above], color=colours, capsize=3)
        axis.set_yticks(range(len(shown)), [f"{c['model']} − {c['baseline']}" for c in shown])
        axis.axvline(0, color="black", linewidth=0.8)
        axis.set_title(metric)
        axis.invert_yaxis()
    for axis in axes[len(metrics) :]:
        axis.axis("off")
    figure.tight_layout()
    return figure


@with_fonts
def metric_agreement_bars(agreement: Mapping[str, Mapping]) -> Figure:
    """Per automatic metric: the share of decided items where it prefers the model the
    raters preferred, with its 95% interval; ½ is what a coin would manage."""
    measured = [(m, e) for m, e in agreement.items() if e["agreement"] is not None]
    figure = _figure(7, 1.2 + 0.55 * max(len(measured), 1))
    if not measured:
        return _empty(figure, "No metric could be compared with the votes (see the notes).")
    axis = figure.subplots()
    shares = [entry["agreement"] for _, entry in measured]
    below = [e["agreement"] - e["agreement_ci"][0] for _, e in measured]
    above = [e["agreement_ci"][1] - e["agreement"] for _, e in measured]
    axis.barh(range(len(measured)), shares, xerr=[below, above], color="#1565c0", capsize=4)
    labels = [f"{metric} (n = {entry['n_decided']})" for metric, entry in measured]
    axis.set_yticks(range(len(measured)), labels)
    axis.invert_yaxis()
    axis.axvline(0.5, color="black", linewidth=0.8, linestyle=":")
    axis.set_xlim(0, 1)
    axis.set_xlabel("agreement with the raters' winner, 95% interval (½: chance)")
    return figure
