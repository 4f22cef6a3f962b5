"""What a person clicks: the Chat tab in a real headless Chromium."""

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BOT, USER = '[data-testid="bot"]', '[data-testid="user"]'
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def page(browser, app_server, request):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app_server["url"])
    page.get_by_role("tab", name="Chat").click()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)  # the last state of every page, to debug a failure
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    page.close()


def send(page, message: str) -> None:
    """Type a message, send it, and wait until it shows as the user's bubble."""
    page.get_by_placeholder("Type a message and press Enter").fill(message)
    page.get_by_role("button", name="Send").click()
    page.locator(USER, has_text=message).first.wait_for(timeout=60_000)


def test_sending_a_message_shows_the_reply_and_clear_empties_it(page):
    send(page, "西红柿炒鸡蛋怎么做？")
    page.wait_for_function(
        f"() => [...document.querySelectorAll({BOT!r})].some(b => b.innerText.trim())",
        timeout=120_000,
    )
    assert page.locator(USER).first.inner_text().strip() == "西红柿炒鸡蛋怎么做？"
    page.get_by_text("M parameters · float32 · cpu").wait_for()  # what answered
    page.locator("#clear-chat").click()  # not the chatbot's own clear icon
    page.wait_for_function(f"() => !document.querySelector({USER!r})", timeout=30_000)


def test_side_by_side_shows_base_and_fine_tuned(page, app_server):
    adapter = page.get_by_role("combobox", name="Adapter")
    adapter.fill(str(app_server["adapter"]))
    adapter.press("Enter")
    page.get_by_label("Side by side: base vs fine-tuned on the same prompt").check()
    send(page, "给老师写一条祝福")
    page.wait_for_function(
        f"() => [...document.querySelectorAll({BOT!r})].filter(b => b.innerText.trim()).length"
        " >= 2",
        timeout=120_000,
    )
    assert page.locator(BOT).count() == 2
    assert page.locator(USER).count() == 2  # the same prompt went to both models
