"""Evaluate tab: base vs fine-tuned on train, held-out and probe data, with a verdict."""

from __future__ import annotations

import gradio as gr

from ftcore.data.samples import SAMPLE_SETS
from ftcore.evaluation.assess import run_progress
from ftcore.evaluation.options import DEFAULTS, EVAL_SPLITS, option_help
from ftcore.evaluation.pipeline import evaluate
from ftcore.ui import eval_views, train_views
from ftcore.ui.choices import (
    BASE_CHOICES,
    dataset_choices,
    require_dataset,
    run_adapter_choices,
)
from ftcore.ui.downloads import zip_folder
from ftcore.ui.error_toasts import shows_errors

PROBE_FILE = SAMPLE_SETS["General-ability probe (alpaca, 80 rows)"]
CURVES_TITLE = "Training curves of the first adapter's run"


class EvalHandlers:
    def __init__(self, context):
        self.context = context

    def lists(self):
        return (
            gr.Dropdown(choices=dataset_choices(self.context)),
            gr.Dropdown(choices=run_adapter_choices(self.context)),
        )

    @shows_errors
    def run(
        self,
        base,
        adapters,
        data,
        splits,
        use_probe,
        limit,
        max_new_tokens,
        batch_size,
        progress=gr.Progress(),  # noqa: B008 - how Gradio injects progress
    ):
        data = require_dataset(data)
        out = self.context.workspace.new_eval_dir()
        # Seed, bootstrap and max_length are not widgets: the library's defaults, which
        # `ftcore eval` uses too, so the same inputs give the same numbers in both.
        result = evaluate(
            base,
            adapters or [],
            data,
            out,
            splits=splits,
            limit=int(limit or 0) or None,
            max_new_tokens=int(max_new_tokens),
            batch_size=int(batch_size),
            probe=PROBE_FILE if use_probe else None,
            progress=lambda fraction, message: progress(fraction, desc=message),
            database=self.context.db,
            # The base model the Chat tab already holds, not a second copy in memory.
            chat_model=self.context.models.get(base),
        )
        assessments = result.assessments
        progress_rows = run_progress(adapters[0]) if adapters else []
        curves = train_views.curves_figure(progress_rows, CURVES_TITLE) if progress_rows else None
        examples = eval_views.per_example_table(result.examples)
        return (
            eval_views.verdict_markdown(assessments),
            eval_views.exam_table(assessments),
            eval_views.scores_table(result.scores),
            eval_views.delta_figure(result.comparisons),
            eval_views.gap_figure(assessments),
            curves,
            # Its columns depend on the models compared, so their widths come with it.
            gr.Dataframe(
                examples, column_widths=eval_views.example_column_widths(list(examples.columns))
            ),
            zip_folder(result.out_dir, f"evaluation-{result.out_dir.name}"),
        )

    @staticmethod
    def show_results(curves):
        """Charts and the download start hidden (empty, they are blank boxes); shown once
        an evaluation has filled them, the curves only for an adapter with a run."""
        shown = gr.update(visible=True)
        return shown, shown, gr.update(visible=curves is not None), shown


def build_eval_tab(context) -> None:
    handlers = EvalHandlers(context)
    with gr.Tab("Evaluate") as tab:
        gr.Markdown(
            "Score the base model and your adapters on a train sample, held-out data and a "
            "general-ability probe set: BLEU, chrF, ROUGE and perplexity with 95% confidence "
            "intervals, the generalisation gap, memorisation and forgetting — and a verdict."
        )
        with gr.Row():
            base = gr.Dropdown(
                BASE_CHOICES, value="demo", label="Base model", allow_custom_value=True
            )
            # Twice as wide: a chosen adapter's name and its remove, clear and open icons
            # stay on one line.
            adapters = gr.Dropdown(
                [],
                multiselect=True,
                label="Adapters to compare",
                allow_custom_value=True,
                scale=2,
            )
            data = gr.Dropdown(
                dataset_choices(context), label="Dataset version", allow_custom_value=True
            )
        with gr.Row():
            splits = gr.CheckboxGroup(
                list(EVAL_SPLITS),
                value=list(DEFAULTS.splits),
                label="Splits",
                info=option_help("splits"),
            )
            use_probe = gr.Checkbox(True, label="General-ability probe (forgetting)")
            limit = gr.Number(
                DEFAULTS.limit or 0,
                precision=0,
                label="Examples per split (0: all)",
                info=option_help("limit"),
            )
            max_new_tokens = gr.Number(
                DEFAULTS.max_new_tokens,
                precision=0,
                label="Max new tokens",
                info=option_help("max_new_tokens"),
            )
            batch_size = gr.Number(
                DEFAULTS.batch_size, precision=0, label="Batch size", info=option_help("batch_size")
            )
        run = gr.Button("Evaluate", variant="primary")
        verdict = gr.Markdown()
        # Tables start with their own headers (an empty one shows "1 2 3"); charts carry
        # their titles inside, where no label chip covers them.
        exam = gr.Dataframe(
            eval_views.exam_table({}),
            label="Three-part exam",
            wrap=True,
            # Numbers narrow, the reason wide: the table fits the page and "why" wraps.
            column_widths=["14%", "15%", "7%", "8%", "7%", "11%", "38%"],
        )
        comparison = gr.Plot(show_label=False, visible=False)
        gaps = gr.Plot(show_label=False, visible=False)
        curves = gr.Plot(show_label=False, visible=False)
        examples = gr.Dataframe(
            eval_views.per_example_table([]),
            label="Per example (sortable)",
            wrap=True,
            max_height=500,
            column_widths=eval_views.example_column_widths(eval_views.EXAMPLE_COLUMNS),
        )
        scores = gr.Dataframe(
            eval_views.scores_table({}),
            label="All scores with their signatures",
            wrap=True,
            column_widths=eval_views.SCORE_WIDTHS,
        )
        download = gr.File(
            label="Download the evaluation (.zip: predictions, scores, CSV)", visible=False
        )

    tab.select(handlers.lists, None, [data, adapters], api_name=False)
    # The API answers values only; showing the hidden outputs is a step of its own.
    run.click(
        handlers.run,
        [base, adapters, data, splits, use_probe, limit, max_new_tokens, batch_size],
        [verdict, exam, scores, comparison, gaps, curves, examples, download],
        api_name="evaluate",
    ).success(handlers.show_results, curves, [comparison, gaps, curves, download], api_name=False)
