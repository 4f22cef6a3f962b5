"""The Evaluate tab's delta chart: paired differences against the base, coloured by evidence."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402

from ftcore.metrics.comparisons import Comparison  # noqa: E402
from ftcore.ui.eval_views import delta_figure  # noqa: E402


def comparison(model, split, metric, delta, low, high):
    return Comparison("base", model, split, metric, delta, low, high, 46, 0.01, "paired bootstrap")


def test_each_bar_is_the_paired_delta_with_its_interval_and_evidence_colour():
    rows = [
        comparison("lora", "val", "rougeL", 0.03, 0.01, 0.05),  # a gain: the whole CI above 0
        comparison("lora", "probe", "rougeL", -0.04, -0.06, -0.02),  # a loss
        comparison("lora", "train", "rougeL", 0.01, -0.02, 0.04),  # no evidence either way
        comparison("lora", "val", "bleu", 1.5, -0.5, 3.5),
    ]
    figure = delta_figure(rows)
    rouge_axis, bleu_axis = figure.axes  # CHART_METRICS order: rougeL, chrf, bleu
    assert rouge_axis.get_title() == "rougeL: fine-tuned − base"
    bars = rouge_axis.patches
    assert [bar.get_width() for bar in bars] == pytest.approx([0.03, -0.04, 0.01])
    colours = [matplotlib.colors.to_hex(bar.get_facecolor()) for bar in bars]
    assert colours == ["#2e7d32", "#c62828", "#9e9e9e"]
    (errorbar,) = [c for c in rouge_axis.containers if isinstance(c, ErrorbarContainer)]
    error_bars = errorbar.lines[2][0].get_segments()
    assert [tuple(segment[:, 0]) for segment in error_bars] == [
        pytest.approx((0.01, 0.05)),
        pytest.approx((-0.06, -0.02)),
        pytest.approx((-0.02, 0.04)),
    ]
    assert [label.get_text() for label in rouge_axis.get_yticklabels()] == [
        "lora · val",
        "lora · probe",
        "lora · train",
    ]
    assert [bar.get_width() for bar in bleu_axis.patches] == pytest.approx([1.5])


def test_without_comparisons_the_chart_says_what_to_do():
    (axis,) = delta_figure([]).axes
    assert "Evaluate an adapter" in axis.texts[0].get_text()
