"""Train tab: configure a LoRA / QLoRA / full fine-tune, check its memory, run it as a
background job and watch its curves; a page reload reattaches to the run.

Each widget's help is its setting's help in TrainConfig, and the equivalent command and
config.yaml are generated from the same fields. The app holds the workspace database:
jobs write their run folders only, and the tab records them (ftcore.training.jobs)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ftcore.training import jobs
from ftcore.training.config import (
    FIELD_TYPES,
    METHODS,
    PRECISIONS,
    TrainConfig,
    command_line,
    setting_help,
)
from ftcore.training.memory import estimate_for_config
from ftcore.training.presets import (
    DEFAULT_PRESET_DESCRIPTION,
    PRESETS,
    default_preset,
    preset_config,
)
from ftcore.training.runfiles import log_tail, read_progress, read_status
from ftcore.training.weights import export_merged
from ftcore.ui import train_views
from ftcore.ui.choices import BASE_CHOICES, dataset_choices, require_dataset
from ftcore.ui.error_toasts import shows_errors

POLL_SECONDS = 2.0
# Gradio's own autoscroll left the log tail at its top (checked in Chromium: a finished
# run's log, and one filled while the tab was hidden), so the browser scrolls it to its
# newest line whenever it changes and whenever the tab opens.
SCROLL_LOG_TO_END = """() => requestAnimationFrame(() => {
    const log = document.querySelector('#train-log textarea');
    if (log) log.scrollTop = log.scrollHeight;
})"""
# The widgets that make a TrainConfig, in the order the handlers receive them.
CONFIG_FIELDS = [
    "base",
    "data",
    "method",
    "epochs",
    "max_steps",
    "learning_rate",
    "batch_size",
    "grad_accum",
    "max_length",
    "lora_rank",
    "lora_alpha",
    "lora_dropout",
    "eval_every",
    "early_stopping_patience",
    "early_stopping_min_delta",
    "save_every",
    "gradient_checkpointing",
    "precision",
    "group_by_length",
    "packing",
    "seed",
    "name",
]
PRESET_FIELDS = [name for name in CONFIG_FIELDS if name not in ("base", "data", "name")]


def run_choices(context) -> list[tuple[str, str]]:
    return [(f"{r.name} · {r.state} · {r.method}", r.run_dir) for r in jobs.list_runs(context.db)]


def config_from_widgets(context, values) -> TrainConfig:
    # gr.Number sends floats: cast each field back to the type TrainConfig checks.
    fields = {
        name: FIELD_TYPES[name](value) if FIELD_TYPES[name] in (int, float) else value
        for name, value in zip(CONFIG_FIELDS, values, strict=True)
    }
    fields["data"] = require_dataset(fields["data"])
    return TrainConfig(**fields, home=str(context.workspace.root))


class TrainHandlers:
    def __init__(self, context):
        self.context = context

    def lists(self, run_dir: str | None):
        runs = run_choices(self.context)
        newest = runs[0][1] if runs else None
        return (
            gr.Dropdown(choices=dataset_choices(self.context)),
            gr.Dropdown(choices=runs, value=run_dir or newest),
        )

    @shows_errors
    def estimate(self, *values) -> str:
        return estimate_for_config(config_from_widgets(self.context, values)).summary()

    @shows_errors
    def show_config(self, *values) -> tuple[str, str]:
        config = config_from_widgets(self.context, values)
        return config.to_yaml(), command_line(config)

    @shows_errors
    def start(self, *values):
        handle = jobs.start_run(self.context.db, config_from_widgets(self.context, values))
        return gr.Dropdown(choices=run_choices(self.context), value=str(handle.run_dir))

    @shows_errors
    def stop(self, run_dir: str | None) -> None:
        if run_dir:
            jobs.stop_run(run_dir, database=self.context.db)

    @shows_errors
    def resume(self, run_dir: str | None):
        if not run_dir:
            raise gr.Error("Pick the run to resume.")
        jobs.resume_run(self.context.db, run_dir)
        return gr.Dropdown(choices=run_choices(self.context), value=run_dir)

    def refresh(self, run_dir: str | None, drawn: tuple | None):
        """Status, progress bar, curves and log of the run; the chart is redrawn only
        when a new step was logged, and the run list relabelled when a state changed."""
        has_run = run_dir and read_status(run_dir)
        status = jobs.run_status(run_dir, self.context.db) if has_run else None
        key = (run_dir, status.step if status else None, status.state if status else None)
        figure = runs = gr.skip()
        if key != drawn:
            figure = train_views.curves_figure(read_progress(run_dir)) if status else None
        if drawn is None or (key[0], key[2]) != (drawn[0], drawn[2]):
            runs = gr.Dropdown(choices=run_choices(self.context))
        return (
            train_views.status_markdown(status),
            train_views.progress_html(status),
            figure,
            log_tail(run_dir) if status else "",
            key,
            runs,
        )

    @shows_errors
    def export(self, run_dir: str | None, out_dir: str) -> str:
        if not run_dir:
            raise gr.Error("Pick the run to export.")
        target = out_dir.strip() or str(Path(run_dir) / "merged")
        return f"Merged model written to `{export_merged(run_dir, target)}`."


def number(name: str, value, **kwargs):
    return gr.Number(value, label=name.replace("_", " "), info=setting_help(name), **kwargs)


def config_widgets(context) -> dict[str, gr.components.Component]:
    """One widget per CONFIG_FIELDS entry, defaulting to the default base model's preset."""
    d = preset_config(default_preset(TrainConfig().base))
    w: dict[str, gr.components.Component] = {}
    with gr.Row():
        w["base"] = gr.Dropdown(
            BASE_CHOICES,
            value=d.base,
            label="base model",
            allow_custom_value=True,
            info=setting_help("base"),
        )
        w["data"] = gr.Dropdown(
            dataset_choices(context),
            label="dataset version",
            allow_custom_value=True,
            info=setting_help("data"),
            scale=2,  # "name v1 · 368 train / 46 val" is the longest value in the row
        )
        w["method"] = gr.Radio(
            list(METHODS), value=d.method, label="method", info=setting_help("method")
        )
        w["name"] = gr.Textbox(d.name, label="run name", info=setting_help("name"))
    with gr.Row():
        for name in (
            "epochs",
            "max_steps",
            "learning_rate",
            "batch_size",
            "grad_accum",
            "max_length",
        ):
            w[name] = number(name, getattr(d, name))
    with gr.Accordion("LoRA", open=False), gr.Row():
        for name in ("lora_rank", "lora_alpha", "lora_dropout"):
            w[name] = number(name, getattr(d, name))
    with gr.Accordion("Validation, early stopping and checkpoints", open=False), gr.Row():
        for name in (
            "eval_every",
            "early_stopping_patience",
            "early_stopping_min_delta",
            "save_every",
        ):
            w[name] = number(name, getattr(d, name))
    with gr.Accordion("Speed, memory and reproducibility", open=False), gr.Row():
        for name in ("gradient_checkpointing", "group_by_length", "packing"):
            w[name] = gr.Checkbox(
                getattr(d, name), label=name.replace("_", " "), info=setting_help(name)
            )
        w["precision"] = gr.Dropdown(
            list(PRECISIONS), value=d.precision, label="precision", info=setting_help("precision")
        )
        w["seed"] = number("seed", d.seed, precision=0)
    return w


def build_train_tab(context) -> None:
    handlers = TrainHandlers(context)
    with gr.Tab("Train") as tab:
        gr.Markdown(DEFAULT_PRESET_DESCRIPTION)
        preset = gr.Radio(list(PRESETS), value=default_preset(TrainConfig().base), label="preset")
        widgets = config_widgets(context)
        with gr.Row():
            estimate = gr.Button("Estimate GPU memory")
            show = gr.Button("Show config and command")
            start = gr.Button("Start training", variant="primary")
        memory = gr.Markdown()
        # The command reproduces the run with flags alone; config.yaml is the same settings.
        with gr.Accordion("Equivalent command and config.yaml", open=False):
            command = gr.Code(language="shell", label="command")
            config_yaml = gr.Code(language="yaml", label="config.yaml")
        with gr.Row():
            # Filled when the tab opens, with the newest run chosen: choices given here
            # would be those of the server's start, and a reload would show its first.
            run = gr.Dropdown([], label="run", scale=4, allow_custom_value=True)
            stop = gr.Button("Stop", variant="stop", scale=1)
            resume = gr.Button("Resume", scale=1)
        status = gr.Markdown(elem_id="train-status")
        bar = gr.HTML()
        curves = gr.Plot(show_label=False)
        log = gr.Textbox(label="log tail", lines=8, max_lines=8, elem_id="train-log")
        with gr.Row():
            export_to = gr.Textbox(label="export folder", placeholder="default: RUN/merged")
            export = gr.Button("Merge and export")
        exported = gr.Markdown()
        drawn = gr.State(None)
        timer = gr.Timer(POLL_SECONDS)

    inputs = [widgets[name] for name in CONFIG_FIELDS]
    # Opening the tab (also after a page reload) lists new dataset versions and runs and
    # reattaches to the newest run.
    tab.select(handlers.lists, [run], [widgets["data"], run], api_name=False)
    for trigger in (tab.select, log.change):
        trigger(None, js=SCROLL_LOG_TO_END)
    preset.change(
        lambda name: [
            gr.update(value=PRESETS[name].get(f, getattr(TrainConfig(), f))) for f in PRESET_FIELDS
        ],
        preset,
        [widgets[f] for f in PRESET_FIELDS],
        api_name=False,
    )
    estimate.click(handlers.estimate, inputs, memory, api_name="train_memory")
    show.click(handlers.show_config, inputs, [config_yaml, command], api_name="train_config")
    start.click(handlers.start, inputs, run, api_name="train_start")
    stop.click(handlers.stop, run, None, api_name="train_stop")
    resume.click(handlers.resume, run, run, api_name="train_resume")
    export.click(handlers.export, [run, export_to], exported, api_name="train_export")
    refresh_outputs = [status, bar, curves, log, drawn, run]
    for trigger in (timer.tick, run.change):
        trigger(
            handlers.refresh, [run, drawn], refresh_outputs, api_name=False, show_progress="hidden"
        )
