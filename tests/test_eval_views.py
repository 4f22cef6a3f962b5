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


def assessment(nll, excess, rouge):
    """What gap_figure reads of an assessment: two NLL gaps and one generation gap."""
    from types import SimpleNamespace

    return SimpleNamespace(
        nll_gap=SimpleNamespace(value=nll, ci=(nll - 0.1, nll + 0.1)),
        excess_gap=SimpleNamespace(value=excess, ci=None),
        generation_gaps={"rougeL": SimpleNamespace(value=rouge, ci_low=None, ci_high=None)},
    )


def window_extent(artist, figure):
    figure.canvas.draw()
    return artist.get_window_extent(figure.canvas.get_renderer())


def test_the_gaps_chart_keeps_its_legend_off_the_bars_and_its_order():
    from ftcore.ui.eval_views import GAP_TITLE, gap_figure

    figure = gap_figure({"run-a": assessment(0.3, 0.05, 0.02), "run-b": assessment(0.1, 0, 0.01)})
    (axis,) = figure.axes
    legend = axis.get_legend()
    assert [text.get_text() for text in legend.get_texts()] == ["run-a", "run-b"]
    # The legend sits right of the plotting area: it covers no bar.
    assert window_extent(legend, figure).x0 >= window_extent(axis, figure).x1
    labels = [label.get_text() for label in axis.get_yticklabels()]
    assert (
        labels
        == [  # top to bottom as in the verdict: NLL first
            "NLL (held-out − train)",
            "NLL gap beyond the base's",
            "rougeL (train − held-out)",
        ][::-1]
    )
    widths = sorted(round(bar.get_width(), 3) for bar in axis.patches)
    assert widths == [0.0, 0.01, 0.02, 0.05, 0.1, 0.3]
    assert figure.get_suptitle() == GAP_TITLE


def test_one_model_needs_no_legend_and_is_named_in_the_title():
    from ftcore.ui.eval_views import GAP_TITLE, gap_figure

    figure = gap_figure({"20261130-043254-lora-demo": assessment(0.3, 0.05, 0.02)})
    assert figure.axes[0].get_legend() is None
    assert figure.get_suptitle() == f"{GAP_TITLE} · 20261130-043254-lora-demo"


def test_the_training_curves_legend_is_under_the_loss_chart():
    from ftcore.ui.train_views import curves_figure

    progress = [
        {"kind": "val", "step": 0, "val_loss": 7.6},
        *({"kind": "train", "step": s, "train_loss": 8 - s, "grad_norm": 1, "lr": 2e-4}
          for s in (1, 2, 3)),
        {"kind": "val", "step": 3, "val_loss": 5.2},
    ]  # fmt: skip
    figure = curves_figure(progress, "Training curves")
    loss = figure.axes[0]
    assert window_extent(loss.get_legend(), figure).y1 <= window_extent(loss, figure).y0
    assert [tick for tick in loss.get_xticks() if 0 <= tick <= 3] == [0, 1, 2, 3]
    assert figure.get_suptitle() == "Training curves"


def test_empty_tables_show_their_own_headers():
    """An empty Dataframe without columns shows "1 2 3" as its headers."""
    from ftcore.ui.eval_views import exam_table, per_example_table, scores_table

    assert list(exam_table({}).columns)[:2] == ["model", "part"]
    assert list(per_example_table([]).columns) == ["split", "id", "prompt", "reference"]
    assert list(scores_table({}).columns)[:3] == ["model", "split", "metric"]


def test_per_example_columns_share_the_page_so_outputs_wrap_instead_of_scrolling():
    from ftcore.ui.eval_views import example_column_widths

    columns = ["split", "id", "prompt", "reference", "base output", "run output"]
    columns += ["base rougeL", "run rougeL"]
    widths = example_column_widths(columns)
    # split 5 + id 8 + two scores 8 each = 29 %; four texts share the other 71 %.
    assert widths == ["5%", "8%", "17.8%", "17.8%", "17.8%", "17.8%", "8%", "8%"]
    assert sum(float(w.rstrip("%")) for w in widths) == pytest.approx(100, abs=0.3)


def test_per_example_scores_are_rounded_to_four_places_and_sit_beside_the_outputs():
    from ftcore.ui.eval_views import per_example_table

    examples = [
        {"split": "val", "id": "g-1", "prompt": "p", "reference": "r", "model": model,
         "prediction": f"{model} says hi", "scores": {"rougeL": value}}
        for model, value in (("base", 0.019417475728155), ("run", 2 / 3))
    ]  # fmt: skip
    table = per_example_table(examples)
    assert list(table.columns)[4:] == ["base output", "run output", "base rougeL", "run rougeL"]
    assert table.loc[0, "base rougeL"] == 0.0194
    assert table.loc[0, "run rougeL"] == 0.6667
    assert table.loc[0, "run output"] == "run says hi"


def test_the_data_charts_keep_their_legends_beside_the_bars():
    """Labels per split and lengths per split: three splits' bars, legend right of them."""
    from ftcore.ui.data_views import label_share_figure, length_figure

    def split(high, low, counts):
        histogram = {"edges": [0, 16, 32], "counts": counts}
        return {"labels": {"tone": {"high": high, "low": low}},
                "length": {"unit": "characters", "histogram": histogram}}  # fmt: skip

    manifest = {"splits": {"train": split(6, 2, [1, 5, 2]), "val": split(1, 1, [0, 2, 0]),
                           "test": split(1, 1, [1, 1, 0])}}  # fmt: skip
    for figure in (label_share_figure(manifest, "tone"), length_figure(manifest)):
        (axis,) = figure.axes
        legend = axis.get_legend()
        assert [text.get_text() for text in legend.get_texts()] == ["train", "val", "test"]
        assert window_extent(legend, figure).x0 >= window_extent(axis, figure).x1
        # Constrained layout keeps the legend inside the figure, not cut off at its edge.
        assert window_extent(legend, figure).x1 <= figure.bbox.x1
    # train is 6 high of 8 rows: 0.75, as the first bar says.
    assert label_share_figure(manifest, "tone").axes[0].patches[0].get_height() == 0.75
