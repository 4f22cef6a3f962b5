"""The Train and Evaluate tabs in a real headless Chromium: a finished run as people see it.

Screenshots go to test-artifacts/train-tab.png and evaluate-tab.png, to be looked at.
"""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_training_tab import registered_run

from ftcore.db import Database
from ftcore.training.runfiles import RunStatus, write_status
from ftcore.workspace import Workspace

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
LOG_LINES = 60
SCROLL = """() => { const t = document.querySelector('#train-log textarea');
    return [t.scrollTop + t.clientHeight, t.scrollHeight, t.value]; }"""


def finished_run(home: Path, data: Path) -> Path:
    """A completed run with curves, a long log and an adapter in its folder, best/ and last/."""
    workspace = Workspace.open(home)
    database = Database.for_workspace(workspace)
    try:
        run_dir = registered_run(SimpleNamespace(workspace=workspace, db=database), data, "done")
    finally:
        database.close()
    for folder in (run_dir, run_dir / "best", run_dir / "last"):
        folder.mkdir(exist_ok=True)
        (folder / "adapter_config.json").write_text('{"base_model_name_or_path": "demo"}')
    rows = [{"kind": "val", "step": 0, "val_loss": 7.6}]
    rows += [
        {"kind": "train", "step": s, "train_loss": 8 - s / 4, "grad_norm": 0.3, "lr": 2e-4}
        for s in range(1, 9)
    ]
    rows += [{"kind": "val", "step": 8, "val_loss": 6.4}]
    (run_dir / "progress.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    log = [f"INFO ftcore.training.steps: step {i}/{LOG_LINES}" for i in range(1, LOG_LINES + 1)]
    (run_dir / "train.log").write_text("\n".join(log) + "\n")
    done = RunStatus(str(run_dir), "completed", step=8, total_steps=8, best_val_loss=6.4)
    write_status(run_dir, RunStatus(**{**done.__dict__, "best_step": 8}))
    return run_dir


@pytest.fixture(scope="module")
def site(tmp_path_factory, app_process, prepared_greetings):
    home = tmp_path_factory.mktemp("browser-train")
    finished_run(home, prepared_greetings.path)
    server = app_process(home).start()
    yield SimpleNamespace(url=server.url, home=home)
    server.stop()


@pytest.fixture
def page(browser, site):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(site.url)
    yield page
    page.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_the_train_tab_shows_the_run_as_it_is_with_its_log_at_the_end(page):
    page.get_by_role("tab", name="Train").click()
    run = page.get_by_role("combobox", name="run")
    page.wait_for_function(
        "() => document.querySelector('#train-log textarea')?.value.includes('step 60/60')",
        timeout=30_000,
    )
    assert run.input_value() == "done · completed · lora"  # the live state, not "queued"
    page.wait_for_timeout(500)
    bottom, height, text = page.evaluate(SCROLL)
    assert text.count("\n") >= 39 and bottom >= height - 2  # scrolled to its newest line
    assert "completed" in page.locator("#train-status").inner_text()
    shot(page, "train-tab")


def test_the_evaluate_tab_lists_the_run_once_and_starts_with_real_headers(page):
    page.get_by_role("tab", name="Evaluate").click()
    adapters = page.get_by_role("combobox", name="Adapters to compare")
    adapters.click()
    options = page.get_by_role("option")
    options.first.wait_for(timeout=30_000)
    assert options.all_inner_texts() == ["done · best (val loss 6.4000 at step 8)"]
    page.keyboard.press("Escape")
    headers = page.locator("table thead th").all_inner_texts()
    assert {"model", "part", "verdict", "why", "split", "prompt", "signature"} <= {
        h.strip() for h in headers
    }
    assert not {"1", "2", "3"} & {h.strip() for h in headers}
    shot(page, "evaluate-tab")
