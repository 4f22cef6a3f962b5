"""Data tab: import files, see every rejected row and why, and save a dataset version."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ftcore.data.clean import RULES, CleaningSettings
from ftcore.data.formats import FORMATS
from ftcore.data.prepare import prepare_dataset
from ftcore.data.samples import SAMPLE_SETS
from ftcore.data.settings import AUTO, PrepareSettings, parse_pairs
from ftcore.data.sources import preview_file
from ftcore.data.versions import list_versions, load_rejects
from ftcore.errors import DataError
from ftcore.ui import data_views
from ftcore.ui.downloads import zip_folder
from ftcore.ui.error_toasts import shows_errors

NO_STRATIFY = "(none)"
SHOWN_REJECTS = 500  # rows in the rejects table; rejected.jsonl in the download has them all
DEFAULT_RULES = [name for name in RULES if getattr(CleaningSettings(), name)]


def chosen_inputs(files: list | None, samples: list[str] | None) -> list[Path]:
    paths = [Path(getattr(f, "name", f)) for f in files or []]
    paths += [SAMPLE_SETS[name] for name in samples or []]
    if not paths:
        raise DataError("upload a file or pick a sample set first")
    return paths


def settings_from_widgets(
    fmt, columns, split, stratify, seed, near_dup, exact_only, rules, max_tokens
) -> PrepareSettings:
    return PrepareSettings(
        format=fmt,
        columns=parse_pairs(columns, "columns"),
        split=split,
        stratify=None if stratify in (None, "", NO_STRATIFY) else stratify,
        seed=int(seed),
        near_dup=None if exact_only else float(near_dup),
        max_tokens=int(max_tokens),
        cleaning=CleaningSettings().with_rules(on=rules, off=set(RULES) - set(rules)),
    )


def versions_table(context):
    rows = list_versions(context.db)
    return [
        [
            r["name"],
            r["version"],
            r["counts"].get("train"),
            r["counts"].get("val"),
            r["counts"].get("test"),
            r["counts"].get("rejected"),
            r["content_hash"][:12],
            r["created_at"],
            r["path"],
        ]
        for r in rows
    ]


class DataHandlers:
    def __init__(self, context):
        self.context = context

    @shows_errors
    def preview(self, files, samples, fmt, columns):
        path = chosen_inputs(files, samples)[0]
        settings = PrepareSettings(format=fmt, columns=parse_pairs(columns, "columns"))
        source, pairs = preview_file(path, settings)
        info = (
            f"**{source.name}** · {source.file_type.upper()} · encoding "
            f"{source.encoding or 'binary'} · format **{source.spec.format}** · first "
            f"{len(pairs)} rows, as written and as they will be imported"
        )
        return info, data_views.preview_table(pairs)

    @shows_errors
    def prepare(self, files, samples, name, tokenizer_base, *settings, progress=gr.Progress()):  # noqa: B008, E501 - Gradio injects progress here
        settings = settings_from_widgets(*settings)
        tokenizer = None
        if tokenizer_base.strip():
            from ftcore.runtime.models import load_tokenizer

            tokenizer = load_tokenizer(tokenizer_base.strip())
        result = prepare_dataset(
            chosen_inputs(files, samples),
            settings=settings,
            tokenizer=tokenizer,
            progress=lambda fraction, message: progress(fraction, desc=message),
            name=name.strip() or None,
            workspace=self.context.workspace,
            database=self.context.db,
        )
        manifest = result.manifest
        return (
            f"```\n{result.summary()}\n```",
            data_views.rejects_table(load_rejects(result.path)[:SHOWN_REJECTS]),
            data_views.cleaning_table(manifest),
            data_views.clusters_table(result.clusters),
            data_views.split_table(manifest),
            data_views.label_share_figure(manifest, settings.stratify),
            data_views.length_figure(manifest),
            zip_folder(result.path, result.path.parent.name),
            versions_table(self.context),
        )


def build_data_tab(context) -> None:
    handlers = DataHandlers(context)
    with gr.Tab("Data"):
        gr.Markdown(
            "Import JSON, JSONL, CSV/TSV or Parquet in alpaca, ShareGPT or OpenAI-messages "
            "form. Every row that cannot be used is listed with its file, line, field and "
            "reason; every valid row around it is kept."
        )
        with gr.Row():
            files = gr.File(
                label="Dataset files",
                file_count="multiple",
                scale=3,
                file_types=[".json", ".jsonl", ".csv", ".tsv", ".parquet"],
            )
            samples = gr.CheckboxGroup(list(SAMPLE_SETS), label="…or use sample sets", scale=2)
        with gr.Row():
            name = gr.Textbox(label="Dataset name", placeholder="default: the first file's name")
            fmt = gr.Dropdown([AUTO, *FORMATS], value=AUTO, label="Format")
            columns = gr.Textbox(
                label="Column mapping (optional)", placeholder="prompt=question,response=answer"
            )
        with gr.Accordion("Split, duplicates, cleaning and length", open=False):
            with gr.Row():
                split = gr.Textbox("0.8,0.1,0.1", label="Train, val, test shares")
                stratify = gr.Dropdown(
                    [NO_STRATIFY, "style", "scene", "intensity", "category"],
                    value=NO_STRATIFY,
                    allow_custom_value=True,
                    label="Stratify by label",
                )
                seed = gr.Number(42, precision=0, label="Seed")
            with gr.Row():
                near_dup = gr.Slider(
                    0.5,
                    1.0,
                    value=0.95,
                    step=0.01,
                    label="Near-duplicate similarity (character 3-grams)",
                )
                exact_only = gr.Checkbox(label="Exact duplicates only")
            rules = gr.CheckboxGroup(list(RULES), value=DEFAULT_RULES, label="Cleaning rules")
            with gr.Row():
                tokenizer_base = gr.Textbox(
                    "demo",
                    label="Tokenizer for the length check",
                    info="a base model; empty: lengths in characters",
                )
                max_tokens = gr.Number(2048, precision=0, label="Maximum tokens per row")
        with gr.Row():
            preview = gr.Button("Preview first file")
            prepare = gr.Button("Prepare and save version", variant="primary")
        summary = gr.Markdown()
        with gr.Tabs():
            with gr.Tab("Preview"):
                preview_info = gr.Markdown()
                preview_rows = gr.Dataframe(wrap=True, max_height=400)
            with gr.Tab("Rejected rows"):
                rejects = gr.Dataframe(wrap=True, max_height=400)
            with gr.Tab("Cleaning and duplicates"):
                cleaning = gr.Dataframe()
                clusters = gr.Dataframe(wrap=True, max_height=400)
            with gr.Tab("Splits"):
                splits = gr.Dataframe()
                with gr.Row():
                    labels_plot = gr.Plot(label="Labels per split")
                    lengths_plot = gr.Plot(label="Lengths per split")
        download = gr.File(label="Download this version (.zip)")
        versions = gr.Dataframe(
            versions_table(context),
            label="Saved dataset versions",
            headers=[
                "name",
                "version",
                "train",
                "val",
                "test",
                "rejected",
                "hash",
                "created",
                "folder",
            ],
        )

    preview.click(
        handlers.preview,
        [files, samples, fmt, columns],
        [preview_info, preview_rows],
        api_name="data_preview",
    )
    prepare.click(
        handlers.prepare,
        [
            files,
            samples,
            name,
            tokenizer_base,
            fmt,
            columns,
            split,
            stratify,
            seed,
            near_dup,
            exact_only,
            rules,
            max_tokens,
        ],
        [
            summary,
            rejects,
            cleaning,
            clusters,
            splits,
            labels_plot,
            lengths_plot,
            download,
            versions,
        ],
        api_name="data_prepare",
    )
