"""Data tab: import files or a Hugging Face dataset, see every rejected row and why, and
save a dataset version."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import gradio as gr

from ftcore.data.clean import CleaningSettings, rule_help
from ftcore.data.dataset_info import inputs_and_spec, list_entries
from ftcore.data.formats import FORMATS
from ftcore.data.hub_source import DEFAULT_SPLIT, HUB_PREFIX, hub_input
from ftcore.data.prepare import prepare_dataset
from ftcore.data.samples import SAMPLE_SETS
from ftcore.data.settings import AUTO, LENGTH_TOKENIZER, PrepareSettings, parse_pairs
from ftcore.data.sources import preview_file
from ftcore.data.versions import list_versions, load_rejects
from ftcore.ui import data_views
from ftcore.ui.downloads import zip_folder
from ftcore.ui.error_toasts import shows_errors

# The widgets start at the library's defaults, which `ftcore data prepare` uses too: the
# same file prepared with untouched widgets and with no flags gives the same version.
DEFAULTS = PrepareSettings()
NO_STRATIFY = "(none)"
SHOWN_REJECTS = 500  # rows in the rejects table; rejected.jsonl in the download has them all
SWITCHES = [f.name for f in fields(CleaningSettings)]
DEFAULT_RULES = [name for name in SWITCHES if getattr(DEFAULTS.cleaning, name)]
RULE_CHOICES = [(f"{help} ({name})", name) for name, help in rule_help().items()]


def chosen_inputs(files, samples, hub, hub_split, info_path, info_entry):
    """(inputs, FormatSpec of the dataset_info entry or None) from the source widgets."""
    inputs = [Path(getattr(f, "name", f)) for f in files or []]
    inputs += [SAMPLE_SETS[name] for name in samples or []]
    if hub and hub.strip():
        hub = hub.strip() if hub.strip().startswith(HUB_PREFIX) else HUB_PREFIX + hub.strip()
        inputs.append(hub_input(hub, (hub_split or "").strip() or None))
    info_path = (info_path or "").strip() or None
    return inputs_and_spec(inputs, info_path, info_entry or None)


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
        cleaning=CleaningSettings().with_rules(on=rules, off=set(SWITCHES) - set(rules)),
    )


class DataHandlers:
    def __init__(self, context):
        self.context = context

    def versions(self):
        return data_views.versions_table(list_versions(self.context.db))

    @shows_errors
    def entries(self, info_path):
        """The entries of a dataset_info.json, to choose one."""
        names = list_entries(info_path.strip()) if (info_path or "").strip() else []
        return gr.Dropdown(choices=names, value=names[0] if names else None)

    @shows_errors
    def preview(self, files, samples, hub, hub_split, info_path, info_entry, fmt, columns):
        inputs, spec = chosen_inputs(files, samples, hub, hub_split, info_path, info_entry)
        settings = PrepareSettings(format=fmt, columns=parse_pairs(columns, "columns"))
        source, pairs = preview_file(inputs[0], settings.with_spec(spec))
        info = (
            f"**{source.name}** · {source.file_type.upper()} · encoding "
            f"{source.encoding or 'binary'} · format **{source.spec.format}** · first "
            f"{len(pairs)} rows, as written and as they will be imported"
        )
        return info, data_views.preview_table(pairs)

    @shows_errors
    def prepare(
        self,
        files,
        samples,
        hub,
        hub_split,
        info_path,
        info_entry,
        name,
        base,
        *settings,
        progress=gr.Progress(),  # noqa: B008 - how Gradio injects progress
    ):
        inputs, spec = chosen_inputs(files, samples, hub, hub_split, info_path, info_entry)
        settings = settings_from_widgets(*settings).with_spec(spec)
        tokenizer = None
        if (base or "").strip():
            from ftcore.runtime.models import load_tokenizer

            tokenizer = load_tokenizer(base.strip())
        result = prepare_dataset(
            inputs,
            settings=settings,
            tokenizer=tokenizer,
            progress=lambda fraction, message: progress(fraction, desc=message),
            name=(name or "").strip() or None,
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
            self.versions(),
        )


def _table(columns: list[str], **options) -> gr.Dataframe:
    """A table showing its headers (not "1 2 3") before it has rows."""
    return gr.Dataframe(data_views.empty_table(columns), interactive=False, **options)


def build_data_tab(context, app: gr.Blocks) -> None:
    handlers = DataHandlers(context)
    with gr.Tab("Data"):
        gr.Markdown(
            "Import JSON, JSONL, CSV/TSV or Parquet in alpaca, ShareGPT or OpenAI-messages "
            "form, or a Hugging Face dataset. Every row that cannot be used is listed with "
            "its file, line, field and reason; every valid row around it is kept."
        )
        with gr.Row():
            files = gr.File(
                label="Dataset files",
                file_count="multiple",
                scale=3,
                file_types=[".json", ".jsonl", ".csv", ".tsv", ".parquet"],
            )
            samples = gr.CheckboxGroup(list(SAMPLE_SETS), label="…or use sample sets", scale=2)
        with gr.Accordion(
            "…or a Hugging Face dataset, or a LLaMA-Factory dataset_info.json entry", open=False
        ):
            with gr.Row():
                hub = gr.Textbox(
                    label="Hugging Face dataset",
                    placeholder="hf:OWNER/NAME",
                    info="read from the local cache (downloaded first where the Hub is reachable)",
                    scale=3,
                )
                hub_split = gr.Textbox(DEFAULT_SPLIT, label="Split", scale=1)
            with gr.Row():
                info_path = gr.Textbox(
                    label="dataset_info.json (a path on this machine)",
                    placeholder="LLaMA-Factory/data/dataset_info.json",
                    info="its files are found relative to it; press Enter to list its entries",
                    scale=3,
                )
                info_entry = gr.Dropdown([], label="Entry", allow_custom_value=True, scale=1)
        with gr.Row():
            name = gr.Textbox(label="Dataset name", placeholder="default: the first file's name")
            fmt = gr.Dropdown([AUTO, *FORMATS], value=DEFAULTS.format, label="Format")
            columns = gr.Textbox(
                label="Column mapping (optional)", placeholder="prompt=question,response=answer"
            )
        with gr.Accordion("Split, duplicates, cleaning and length", open=False):
            with gr.Row():
                split = gr.Textbox(
                    ",".join(f"{share:g}" for share in DEFAULTS.split),
                    label="Train, val, test shares",
                )
                stratify = gr.Dropdown(
                    [NO_STRATIFY, "style", "scene", "intensity", "category"],
                    value=DEFAULTS.stratify or NO_STRATIFY,
                    allow_custom_value=True,
                    label="Stratify by label",
                )
                seed = gr.Number(DEFAULTS.seed, precision=0, label="Seed")
            with gr.Row():
                near_dup = gr.Slider(
                    0.5,
                    1.0,
                    value=DEFAULTS.near_dup,
                    step=0.01,
                    label=f"Near-duplicate similarity (character {DEFAULTS.ngram}-grams)",
                )
                exact_only = gr.Checkbox(DEFAULTS.near_dup is None, label="Exact duplicates only")
            rules = gr.CheckboxGroup(RULE_CHOICES, value=DEFAULT_RULES, label="Cleaning rules")
            with gr.Row():
                base = gr.Textbox(
                    LENGTH_TOKENIZER or "",
                    label="Tokenizer for the length check",
                    info="a base model ('demo', a folder, a Hub id); empty: lengths in "
                    "characters, no maximum",
                )
                max_tokens = gr.Number(
                    DEFAULTS.max_tokens, precision=0, label="Maximum tokens per row"
                )
        with gr.Row():
            preview = gr.Button("Preview first input")
            prepare = gr.Button("Prepare and save version", variant="primary")
        summary = gr.Markdown()
        with gr.Tabs():
            with gr.Tab("Preview"):
                preview_info = gr.Markdown()
                preview_rows = _table(
                    data_views.PREVIEW_COLUMNS,
                    wrap=True,
                    max_height=400,
                    column_widths=data_views.PREVIEW_WIDTHS,
                )
            with gr.Tab("Rejected rows"):
                rejects = _table(
                    data_views.REJECT_COLUMNS,
                    wrap=True,
                    max_height=400,
                    column_widths=data_views.REJECT_WIDTHS,
                )
            with gr.Tab("Cleaning and duplicates"):
                cleaning = _table(data_views.CLEANING_COLUMNS)
                clusters = _table(data_views.CLUSTER_COLUMNS, wrap=True, max_height=400)
            with gr.Tab("Splits"):
                splits = _table(data_views.SPLIT_COLUMNS)
                with gr.Row():
                    labels_plot = gr.Plot(label="Labels per split")
                    lengths_plot = gr.Plot(label="Lengths per split")
        download = gr.File(label="Download this version (.zip)", height=90)
        versions = _table(
            data_views.VERSION_COLUMNS,
            label="Saved dataset versions",
            wrap=True,
            column_widths=data_views.VERSION_WIDTHS,
        )

    # Filled on every page load (not at build time), so versions saved since, by the CLI
    # or another browser, show after a reload, and only to whoever may see this tab.
    app.load(handlers.versions, None, versions, api_name="data_versions")

    info_path.submit(handlers.entries, info_path, info_entry, api_name=False)
    info_path.blur(handlers.entries, info_path, info_entry, api_name=False)
    sources = [files, samples, hub, hub_split, info_path, info_entry]
    preview.click(
        handlers.preview,
        [*sources, fmt, columns],
        [preview_info, preview_rows],
        api_name="data_preview",
    )
    prepare.click(
        handlers.prepare,
        [
            *sources,
            name,
            base,
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
