"""The Data tab's handlers as its widgets call them: the same defaults as the CLI, the saved
versions on every page load, and tables that fit a 1280 px screen."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from ftcore.cli import main
from ftcore.data.samples import SAMPLE_SETS
from ftcore.db import Database
from ftcore.workspace import Workspace

GREETINGS = "Spring Festival greetings (alpaca, 460 rows)"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def data_tab(tmp_path):
    """The Data tab alone in a Blocks on a fresh workspace: (its functions by api_name,
    the workspace home, the Blocks)."""
    import gradio as gr

    from ftcore.ui.data_tab import build_data_tab

    home = tmp_path / "ui-home"
    workspace = Workspace.open(home)
    context = SimpleNamespace(workspace=workspace, db=Database.for_workspace(workspace))
    with gr.Blocks() as app:
        build_data_tab(context, app)
    yield {fn.api_name: fn for fn in app.fns.values() if fn.api_name}, home, app
    context.db.close()


def cli_prepare(home, *args) -> None:
    assert main(["data", "prepare", *map(str, args), "--home", str(home)]) == 0


def versions_in(home) -> list[dict]:
    from ftcore.data.versions import list_versions

    database = Database.for_workspace(Workspace.open(home))
    try:
        return list_versions(database)
    finally:
        database.close()


def test_untouched_widgets_and_no_flags_give_the_same_version(data_tab, tmp_path):
    functions, ui_home, _ = data_tab
    prepare = functions["data_prepare"]
    widgets = [component.value for component in prepare.inputs]  # as the page starts
    assert widgets[1] == [] and prepare.inputs[1].label == "…or use sample sets"
    widgets[1] = [GREETINGS]
    prepare.fn(*widgets)
    cli_home = tmp_path / "cli-home"
    cli_prepare(cli_home, SAMPLE_SETS[GREETINGS])
    [ui], [cli] = versions_in(ui_home), versions_in(cli_home)
    assert (ui["name"], ui["counts"]) == (cli["name"], cli["counts"])
    assert ui["content_hash"] == cli["content_hash"]


def test_saved_versions_are_listed_on_page_load(data_tab):
    functions, home, _ = data_tab
    load = functions["data_versions"]
    assert [event for _, event in load.targets] == ["load"]
    assert load.fn().empty  # nothing saved yet: headers only
    cli_prepare(home, SAMPLE_SETS[GREETINGS], "--name", "greetings")
    table = load.fn()
    [version] = versions_in(home)
    assert table.iloc[0].tolist()[:7] == [
        "greetings",
        1,
        368,
        46,
        46,
        0,
        version["content_hash"][:12],
    ]


def test_every_table_shows_its_headers_before_it_has_rows(data_tab):
    from ftcore.ui import data_views

    functions, _, _ = data_tab
    [rejects] = [c for c in functions["data_prepare"].outputs if "reason" in str(c.value)]
    assert rejects.value["headers"] == data_views.REJECT_COLUMNS
    assert rejects.value["data"] == []
    for component in [*functions["data_prepare"].outputs, *functions["data_preview"].outputs]:
        if hasattr(component, "column_widths"):  # a Dataframe
            assert component.value["headers"] != [1, 2, 3] and component.value["headers"]


def test_a_hub_dataset_and_a_dataset_info_entry_are_chosen_in_the_tab(data_tab, tmp_path):
    import json

    import datasets

    functions, _, app = data_tab
    entries = next(f for f in app.fns.values() if f.fn.__name__ == "entries")
    preview = functions["data_preview"].fn
    rows = [{"instruction": f"第{i}条", "output": f"祝你新年快乐{i}"} for i in range(3)]
    saved = tmp_path / "hub-copy"
    datasets.Dataset.from_list(rows).save_to_disk(str(saved))
    info, table = preview(None, [], str(saved), "train", "", None, "auto", "")
    assert info.startswith("**hf:hub-copy[train]** · HF")
    assert table["line"].tolist() == [0, 1, 2]  # the row index in the split
    assert table["as imported"][2] == "[user] 第2条 ⏎ [assistant] 祝你新年快乐2"

    (tmp_path / "chats.jsonl").write_text(
        "".join(json.dumps({"q": r["instruction"], "a": r["output"]}) + "\n" for r in rows),
        "utf-8",
    )
    entry = {"file_name": "chats.jsonl", "columns": {"prompt": "q", "response": "a"}}
    info_file = tmp_path / "dataset_info.json"
    info_file.write_text(json.dumps({"hub": {"hf_hub_url": "x/y"}, "mine": entry}), "utf-8")
    dropdown = entries.fn(str(info_file))
    assert [value for _, value in dropdown.choices] == ["hub", "mine"]
    info, table = preview(None, [], "", "train", str(info_file), "mine", "auto", "")
    assert info.startswith("**chats.jsonl** · JSONL")
    assert table["as imported"][0] == "[user] 第0条 ⏎ [assistant] 祝你新年快乐0"


@pytest.mark.slow
def test_the_data_tab_fits_1280_px_and_lists_versions_after_a_reload(browser, app_server):
    cli_prepare(app_server["home"], SAMPLE_SETS[GREETINGS], "--name", "reload-check")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(app_server["url"])
        shown = page.get_by_text("reload-check", exact=True).filter(visible=True)
        shown.wait_for(timeout=60_000)  # saved before the page loaded
        cli_prepare(app_server["home"], SAMPLE_SETS[GREETINGS], "--name", "after-reload")
        page.reload()  # a version saved while the page was open shows after a reload
        shown = page.get_by_text("after-reload", exact=True).filter(visible=True)
        shown.wait_for(timeout=60_000)
        empty = page.locator("table", has_text="reason").first  # the rejects table, no rows
        page.get_by_role("tab", name="Rejected rows").click()
        headers = [h.strip() for h in empty.locator("th").all_inner_texts()]
        assert headers[:5] == ["file", "line", "field", "reason", "raw"]
        page.get_by_label(GREETINGS).check()
        page.get_by_role("button", name="Preview first input").click()
        page.get_by_role("tab", name="Preview").click()
        page.get_by_text("first 20 rows").wait_for(timeout=60_000)
        preview = page.locator("table", has_text="as written").first
        box = preview.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280
        status = preview.locator("th", has_text="status").bounding_box()
        assert status["x"] + status["width"] <= 400  # the status column is in view at once
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "data_tab_1280.png"), full_page=True)
        page.close()
