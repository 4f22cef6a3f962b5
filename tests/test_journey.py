"""The whole journey in a real headless Chromium, from an empty workspace: prepare the sample
greetings, train a LoRA on the demo model, chat with it, evaluate it, rate base vs fine-tuned
with two raters in two browsers, read the report and download its votes.csv.

Every tab (and each rater's page) is kept as test-artifacts/journey/<name>.png under the
names in SHOTS; scripts/update_readme_screenshots.py turns them into the README's pictures.
The run is kept small (TRAIN_STEPS steps, EVAL_LIMIT examples per split) so the journey fits
in a few minutes on two cores; the numbers are the app's, not a benchmark.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest
from test_browser_rating import open_link, press_outside_inputs, wait_for_progress

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "journey"
# The screenshots the journey keeps, in the order it takes them.
SHOTS = ("data-tab", "train-tab", "chat-tab", "evaluate-tab", "rate-tab", "rater-1", "rater-2",
         "reports-tab")  # fmt: skip
# Where scripts/update_readme_screenshots.py cuts each one (pixels from the top), if at all.
CUTS_FILE = "cuts.json"
CUT_MARGIN = 12
SAMPLE = re.compile("Spring Festival greetings")
RUN_NAME = "journey"
TRAIN_STEPS = 12
VAL_EVERY = 4  # a val point every few steps, so the curves have both losses
EVAL_LIMIT = 4  # examples per split
ITEMS = EVAL_LIMIT  # the session rates the val split: one pair item per example
# What each rater clicks, item by item: the choice and the 1-5 score of A and of B on
# every criterion. The CSV must give back exactly these.
RATERS = {
    "小红": [("A", 5, 2), ("B", 2, 4)],
    "Bob": [("A", 4, 3), ("tie", 3, 3)],
}
KEYS = {"A": "a", "B": "b", "tie": "t", "both_bad": "x"}
BOM = b"\xef\xbb\xbf"
WAIT = 60_000  # ms for an ordinary reply on a busy machine
LONG_WAIT = 420_000  # ms for training and evaluation


@pytest.fixture(scope="module")
def site(tmp_path_factory, app_process):
    home = tmp_path_factory.mktemp("journey-home")  # an empty workspace
    server = app_process(home).start()
    yield SimpleNamespace(url=server.url, home=home)
    server.stop()


def shot(page, name: str, cut_at=None) -> None:
    """Keep the whole page as journey/<name>.png; with `cut_at` (a locator), also note in
    CUTS_FILE where the README's copy ends: just above that element, when it is there."""
    assert name in SHOTS, f"add {name!r} to SHOTS"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no button drawn in its hover colour
    page.wait_for_timeout(500)  # plots' images decode, toasts settle
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    cuts_file = ARTIFACTS / CUTS_FILE
    cuts = json.loads(cuts_file.read_text()) if cuts_file.is_file() else {}
    cuts.pop(name, None)
    if cut_at is not None and shown(cut_at).count():
        top = shown(cut_at).first.evaluate("e => e.getBoundingClientRect().top + window.scrollY")
        cuts[name] = int(top) - CUT_MARGIN
    cuts_file.write_text(json.dumps(cuts, indent=1, sort_keys=True) + "\n")


def shown(locator):
    """Only what is on screen: several tabs reuse a label (Session, Split)."""
    return locator.filter(visible=True)


def pick(page, label: str, option) -> None:
    """Choose `option` (text or pattern) in the visible dropdown labelled `label`."""
    shown(page.get_by_role("combobox", name=label)).first.click()
    shown(page.get_by_role("option", name=option)).first.click(timeout=WAIT)
    page.keyboard.press("Escape")  # close a multiselect's list


def fill(page, label: str, value) -> None:
    """Type into the visible field labelled `label` (its accessible name may go on with the
    field's help text) and leave it. A field in an accordion that has just opened can be
    redrawn with its old value after the typing: then it is typed again."""
    field = shown(page.get_by_label(re.compile(r"^\s*" + re.escape(label)))).first
    for _ in range(3):
        field.fill(str(value))
        field.press("Tab")
        page.wait_for_timeout(300)
        if field.input_value() == str(value):
            return
    raise AssertionError(f"{label!r} keeps {field.input_value()!r}, not {value!r}")


def prepare_sample_data(page) -> None:
    page.get_by_role("tab", name="Data").click()
    page.get_by_label(SAMPLE).check()
    page.get_by_role("button", name="Prepare and save version").click()
    page.get_by_text(re.compile(r"rows read \d+, rejected")).wait_for(timeout=WAIT)
    page.get_by_role("tab", name="Splits").click()
    shown(page.locator(".js-plotly-plot, img")).first.wait_for(timeout=WAIT)
    shot(page, "data-tab")


def train(page) -> None:
    page.get_by_role("tab", name="Train").click()
    pick(page, "dataset version", re.compile(r"v1 · \d+ train"))
    fill(page, "max steps", TRAIN_STEPS)
    fill(page, "run name", RUN_NAME)
    page.get_by_role("button", name="Validation, early stopping and checkpoints").click()
    fill(page, "eval every", VAL_EVERY)
    page.get_by_role("button", name="Start training").click()
    status = page.locator("#train-status")
    status.get_by_text("completed").wait_for(timeout=LONG_WAIT)
    assert f"step {TRAIN_STEPS}/{TRAIN_STEPS}" in status.inner_text()
    shot(page, "train-tab", cut_at=page.locator("#train-log"))


def chat_side_by_side(page) -> None:
    page.get_by_role("tab", name="Chat").click()
    pick(page, "Adapter", re.compile(RUN_NAME))
    page.get_by_label("Side by side: base vs fine-tuned on the same prompt").check()
    page.get_by_placeholder("Type a message and press Enter").fill("给老师写一条春节祝福")
    page.get_by_role("button", name="Send").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"bot\"]')]"
        ".filter(b => b.innerText.trim()).length >= 2",
        timeout=LONG_WAIT,
    )
    shot(page, "chat-tab")


def evaluate(page) -> None:
    page.get_by_role("tab", name="Evaluate").click()
    pick(page, "Adapters to compare", re.compile(RUN_NAME))
    pick(page, "Dataset version", re.compile(r"v1 · \d+ train"))
    page.get_by_label("General-ability probe (forgetting)").uncheck()
    fill(page, "Examples per split (0: all)", EVAL_LIMIT)
    fill(page, "Max new tokens", 32)
    page.get_by_role("button", name="Evaluate", exact=True).click()
    download = page.get_by_text("Download the evaluation")
    download.wait_for(timeout=LONG_WAIT)
    shown(page.locator(".js-plotly-plot, img")).first.wait_for(timeout=WAIT)
    shot(page, "evaluate-tab", cut_at=page.get_by_text("Per example (sortable)"))


def create_session(page) -> list[str]:
    """Create a session over the evaluation just made; return its two invite links."""
    page.get_by_role("tab", name="Rate", exact=True).click()
    page.get_by_role("tab", name="Sessions (admin)").click()
    pick(page, "Evaluation", re.compile(r"demo"))
    fill(page, "Title", "春节祝福 旅程")
    fill(page, "Ratings per item", 2)
    fill(page, "Minimum seconds", 0)
    fill(page, "Personal invites (0: an open link)", len(RATERS))
    page.get_by_role("button", name="Create session").click()
    page.get_by_text(f"{ITEMS} items").wait_for(timeout=WAIT)
    links = page.locator("#ft-rater-links textarea").input_value().split()
    assert len(set(links)) == len(RATERS)  # one personal link each
    shot(page, "rate-tab", cut_at=page.get_by_text("Export", exact=True))
    return links


def rate(browser, link: str, name: str, shot_name: str) -> None:
    """One rater, in a browser of their own: join through the invite link and vote."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(WAIT)
    page = context.new_page()
    (code,) = [value for values in parse_qs(urlparse(link).query).values() for value in values]
    open_link(page, link, code)
    page.get_by_label("Your name (optional)").fill(name)
    page.get_by_role("button", name="Start rating").click()
    wait_for_progress(page, 0)
    criteria = page.locator('[id^="ft-score-a-"]').count()
    assert criteria > 0
    for done, (choice, a, b) in enumerate(RATERS[name], start=1):
        for index in range(criteria):
            page.locator(f'#ft-score-a-{index} input[value="{a}"]').click()
            page.locator(f'#ft-score-b-{index} input[value="{b}"]').click()
        press_outside_inputs(page, KEYS[choice])
        if done == len(RATERS[name]):
            shot(page, shot_name)  # an item fully scored, just before it is sent
        page.get_by_role("button", name="Submit and next").click()
        wait_for_progress(page, done)
    context.close()


def pairs_row(page) -> list[str]:
    """The Reports tab's Pairs table, first row: model A, model B, A wins, B wins, ties,
    both bad, …"""
    table = shown(page.locator("table", has=page.get_by_text("A wins", exact=True))).first
    # Text content, not inner text: Gradio draws the cells over a layout copy of the table
    # whose own text is hidden.
    cells = table.locator("tbody tr").first.locator("td").all_text_contents()
    return [cell.strip() for cell in cells]


def report_and_download(page, tmp_path: Path) -> tuple[bytes, list[str]]:
    """The session's report as shown (its Pairs row) and its votes.csv as downloaded."""
    votes = sum(len(items) for items in RATERS.values())
    page.get_by_role("tab", name="Reports").click()
    pick(page, "Session", re.compile("春节祝福 旅程"))
    summary = f"Compared on {votes} of {votes} votes from {len(RATERS)} raters"
    page.get_by_text(summary).wait_for(timeout=WAIT)
    shown(page.locator("img")).first.wait_for(timeout=WAIT)
    shot(page, "reports-tab", cut_at=page.get_by_text("Scores as a table"))
    pairs = pairs_row(page)
    page.get_by_role("button", name="Write report files").click()
    # The file list's link shows the size; the name it saves under is its download name.
    link = page.locator('#ft-report-files a[download="votes.csv"]')
    link.wait_for(timeout=WAIT)
    with page.expect_download(timeout=WAIT) as download:
        link.click()
    target = tmp_path / "votes.csv"
    download.value.save_as(target)
    assert download.value.suggested_filename == "votes.csv"
    return target.read_bytes(), pairs


def assert_votes_csv(raw: bytes) -> list[dict]:
    """One row per vote cast, in the raters' own order, with the choices and scores clicked."""
    assert raw.startswith(BOM)  # Excel then reads the Chinese name right
    rows = list(csv.DictReader(io.StringIO(raw[len(BOM) :].decode("utf-8"))))
    assert len(rows) == sum(len(items) for items in RATERS.values())
    assert {row["rater_name"] for row in rows} == set(RATERS)
    models = {row[side] for row in rows for side in ("left_model", "right_model")}
    assert models == {"base", RUN_NAME}  # the evaluation's names: base and the run's
    for name, clicked in RATERS.items():
        mine = [row for row in rows if row["rater_name"] == name]
        assert [row["choice"] for row in mine] == [choice for choice, _, _ in clicked]
        assert len({row["item_id"] for row in mine}) == len(clicked)  # never the same item
        for row, (choice, a, b) in zip(mine, clicked, strict=True):
            # A is the left response: the winner in the models' terms follows from it.
            expected = {"A": row["left_model"], "B": row["right_model"]}.get(choice, choice)
            assert row["winner"] == expected
            lefts = {v for k, v in row.items() if k.endswith("_left") and k != "left_model"}
            rights = {v for k, v in row.items() if k.endswith("_right") and k != "right_model"}
            assert lefts == {str(a)} and rights == {str(b)}
    return rows


def assert_report_counts(pairs: list[str], rows: list[dict]) -> None:
    """The report's wins, ties and both-bad for the pair are the CSV's, counted here."""
    model_a, model_b, *counts = pairs[:6]
    assert {model_a, model_b} == {"base", RUN_NAME}
    winners = [row["winner"] for row in rows]
    expected = [winners.count(model_a), winners.count(model_b)]
    assert [int(count) for count in counts] == [*expected, winners.count("tie"), 0]


def test_the_whole_journey_from_an_empty_workspace_to_the_votes_csv(browser, site, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(WAIT)
    page = context.new_page()
    page.goto(site.url)
    prepare_sample_data(page)
    train(page)
    chat_side_by_side(page)
    evaluate(page)
    links = create_session(page)
    for number, (link, name) in enumerate(zip(links, RATERS, strict=True), start=1):
        rate(browser, link, name, f"rater-{number}")
    raw, pairs = report_and_download(page, tmp_path)
    assert_report_counts(pairs, assert_votes_csv(raw))
    context.close()
    assert {path.stem for path in ARTIFACTS.glob("*.png")} >= set(SHOTS)
