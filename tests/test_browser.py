"""What a person clicks: the Chat tab in a real headless Chromium."""

import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BOT, USER = '[data-testid="bot"]', '[data-testid="user"]'
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        if os.environ.get("FTSTUDIO_REQUIRE_BROWSER") == "1":
            pytest.fail("FTSTUDIO_REQUIRE_BROWSER=1 but Debian's chromium is not installed")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app_server["url"])
    page.get_by_role("tab", name="Chat").wait_for()
    yield page
    page.close()


def test_typing_a_message_streams_a_reply(page):
    box = page.get_by_placeholder("Type a message and press Enter")
    box.fill("西红柿炒鸡蛋怎么做？")
    box.press("Enter")
    page.wait_for_function(
        f"() => [...document.querySelectorAll({BOT!r})].some(b => b.innerText.trim())",
        timeout=60_000,
    )
    assert page.locator(USER).first.inner_text().strip() == "西红柿炒鸡蛋怎么做？"
    page.get_by_text("demo").first.wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-tab.png"), full_page=True)


def test_side_by_side_shows_base_and_fine_tuned(page, app_server):
    adapter = page.get_by_role("combobox", name="Adapter")
    adapter.fill(str(app_server["adapter"]))
    adapter.press("Enter")
    page.get_by_label("Side by side: base vs fine-tuned on the same prompt").check()
    box = page.get_by_placeholder("Type a message and press Enter")
    box.fill("给老师写一条祝福")
    box.press("Enter")
    page.wait_for_function(
        f"() => [...document.querySelectorAll({BOT!r})].filter(b => b.innerText.trim()).length"
        " >= 2",
        timeout=90_000,
    )
    assert page.locator(BOT).count() == 2
    assert page.locator(USER).count() == 2  # the same prompt went to both models
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-side-by-side.png"), full_page=True)
