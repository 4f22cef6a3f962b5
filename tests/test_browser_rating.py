"""What a rater clicks: a whole blind rating session in a real headless Chromium, in rater mode.

Screenshots of each step go to test-artifacts/rating-*.png, to be looked at.
"""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import SECRET_MODELS

from ftcore.db import Database
from ftcore.workspace import Workspace

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ITEMS = 4


@pytest.fixture(scope="module")
def rater_site(tmp_path_factory, make_rating_session, app_process):
    home = tmp_path_factory.mktemp("browser-rating")
    info = make_rating_session(home, examples=ITEMS, ratings_per_item=2, min_seconds=0)
    server = app_process(home, "--rater").start()
    yield SimpleNamespace(url=server.url, home=home, code=info.code)
    server.stop()


def shot(page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"rating-{name}.png"), full_page=full_page)


def progress_of(page) -> tuple[int, int]:
    done, total = page.eval_on_selector(
        "#ft-rate .ft-progress", "e => [e.dataset.done, e.dataset.total]"
    )
    return int(done), int(total)


def wait_for_progress(page, done: int) -> None:
    page.wait_for_function(
        "(done) => { const e = document.querySelector('#ft-rate .ft-progress');"
        " return e && e.offsetParent !== null && Number(e.dataset.done) === done; }",
        arg=done,
        timeout=30_000,
    )


def score_with_the_mouse(page, a: int, b: int, criteria: int = 4) -> None:
    for index in range(criteria):
        page.locator(f'#ft-score-a-{index} input[value="{a}"]').click()
        page.locator(f'#ft-score-b-{index} input[value="{b}"]').click()


def chosen(page) -> list[str]:
    return page.eval_on_selector(
        "#ft-choice",
        "c => [...c.querySelectorAll('input')].filter(i => i.checked).map(i => i.value)",
    )


def press_outside_inputs(page, key: str) -> None:
    page.locator("#ft-rate .ft-progress").click()  # focus on the page, not in a text box
    page.keyboard.press(key)


def open_link(page, url: str, code: str) -> None:
    """Open a rater link and wait until the page has read the code from it."""
    page.goto(url)
    page.wait_for_function(
        "(code) => [...document.querySelectorAll('#ft-join input, #ft-join textarea')]"
        ".some(e => e.value === code)",
        arg=code,
        timeout=60_000,
    )


def test_a_whole_rater_session_join_rate_reload_finish(browser, rater_site):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    open_link(page, f"{rater_site.url}?session={rater_site.code}", rater_site.code)
    shot(page, "01-join")
    page.get_by_label("你的名字（可不填）").fill("小红")
    page.get_by_role("button", name="开始评分").click()
    wait_for_progress(page, 0)
    assert progress_of(page) == (0, ITEMS)
    assert page.locator("#ft-rate .ft-progress").inner_text() == "已评 0 / 4 条"
    assert page.locator("#ft-response-a .ft-response").inner_text().strip()
    assert all(model not in page.content() for model in SECRET_MODELS)
    shot(page, "02-first-item")

    # Item 1, all with the mouse.
    score_with_the_mouse(page, a=5, b=2)
    page.get_by_text("A 更好").click()
    page.get_by_role("button", name="提交，下一条").click()
    wait_for_progress(page, 1)
    assert chosen(page) == []  # a new item starts with nothing chosen

    # Item 2: the choice by keyboard, submitted with Ctrl+Enter.
    score_with_the_mouse(page, a=3, b=4)
    press_outside_inputs(page, "b")
    assert chosen(page) == ["B"]
    press_outside_inputs(page, "Control+Enter")
    wait_for_progress(page, 2)

    # Item 3: half scored, then the page is reloaded: the same item comes back.
    prompt = page.locator("#ft-prompt .ft-prompt").inner_text()
    page.locator('#ft-score-a-0 input[value="4"]').click()
    page.reload()
    wait_for_progress(page, 2)
    assert page.locator("#ft-prompt .ft-prompt").inner_text() == prompt
    assert not page.locator("#ft-join").is_visible()
    shot(page, "03-after-reload")

    # Submitting with nothing scored says what is missing and sends nothing.
    press_outside_inputs(page, "t")
    page.get_by_role("button", name="提交，下一条").click()
    toast = page.locator('[data-testid="toast-body"]', has_text="还缺：完整性 (A)")
    toast.wait_for(timeout=10_000)
    page.wait_for_timeout(800)  # the toast fades in; only the screenshot needs it whole
    shot(page, "04-missing-scores", full_page=False)  # the toast is fixed to the window
    assert progress_of(page) == (2, ITEMS)

    # The language toggle redraws the page in English; the choice made stays.
    page.get_by_text("English", exact=True).click()
    page.get_by_role("button", name="Submit and next").wait_for(timeout=10_000)
    assert chosen(page) == ["tie"]
    score_with_the_mouse(page, a=4, b=4)
    shot(page, "05-english")
    page.get_by_role("button", name="Submit and next").click()
    wait_for_progress(page, 3)

    score_with_the_mouse(page, a=1, b=1)
    press_outside_inputs(page, "x")
    page.get_by_role("button", name="Submit and next").click()
    page.get_by_text("Thank you!").wait_for(timeout=30_000)
    assert page.get_by_text("You rated all 4 items of this session.").is_visible()
    shot(page, "06-thanks")
    assert all(model not in page.content() for model in SECRET_MODELS)
    context.close()

    database = Database.for_workspace(Workspace.open(rater_site.home))
    votes = database.query(
        "SELECT v.choice, v.scores_json FROM rating_votes v "
        "JOIN rating_raters r ON r.id = v.rater_id WHERE r.name = '小红' ORDER BY v.created_at"
    )
    database.close()
    assert [vote["choice"] for vote in votes] == ["A", "B", "tie", "both_bad"]
    # Scores by side: A was the left response, B the right one, for every criterion.
    lefts = [set(json.loads(vote["scores_json"])["left"].values()) for vote in votes]
    rights = [set(json.loads(vote["scores_json"])["right"].values()) for vote in votes]
    assert lefts == [{5}, {3}, {4}, {1}] and rights == [{2}, {4}, {4}, {1}]


def test_on_a_phone_the_responses_stack(browser, rater_site):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    open_link(page, f"{rater_site.url}?invite={rater_site.code}", rater_site.code)
    page.get_by_role("button", name="Start rating").click()
    wait_for_progress(page, 0)
    a = page.locator("#ft-response-a").bounding_box()
    b = page.locator("#ft-response-b").bounding_box()
    assert b["y"] >= a["y"] + a["height"]  # B below A, not beside it
    assert b["width"] > 300  # each takes the phone's width
    shot(page, "07-phone")
    context.close()


def test_the_full_app_opens_a_rater_link_on_its_rate_tab(browser, app_server, make_rating_session):
    info = make_rating_session(app_server["home"], examples=2, min_seconds=0)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    open_link(page, f"{app_server['url']}?session={info.code}", info.code)
    page.get_by_role("button", name="Start rating").click()
    wait_for_progress(page, 0)
    score_with_the_mouse(page, a=4, b=3)
    press_outside_inputs(page, "a")
    page.get_by_role("button", name="Submit and next").click()
    wait_for_progress(page, 1)

    # The admin area of the same tab shows the vote coming in, with the model names.
    page.get_by_role("tab", name="Sessions (admin)").click()
    session = page.get_by_label("Session", exact=True)
    session.click()
    page.get_by_role("option", name=f"春节祝福 盲评 · {info.session_id} · open").click()
    page.get_by_text("**1** votes").or_(page.get_by_text("1 votes from 1 raters")).first.wait_for(
        timeout=30_000
    )
    shot(page, "08-admin")
    assert page.get_by_text("models: SECRET-MODEL-ALPHA, SECRET-MODEL-BETA").is_visible()
    context.close()
