"""The Reports tab in a real headless Chromium: pick a session, read its results, leave out
flagged votes, watch a new vote arrive by itself, write the files.

Screenshots go to test-artifacts/report-*.png, to be looked at.
"""

from pathlib import Path
from types import SimpleNamespace

import pytest
from test_rating_sessions import scores
from test_report_tab import voted_session

from ftcore.db import Database
from ftcore.rating import service
from ftcore.workspace import Workspace

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def report_site(tmp_path_factory, app_process):
    home = tmp_path_factory.mktemp("browser-report")
    database = Database.for_workspace(Workspace.open(home))
    info = voted_session(database, home)
    database.close()
    server = app_process(home).start()
    yield SimpleNamespace(url=server.url, home=home, info=info)
    server.stop()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-{name}.png"), full_page=True)


def test_reports_tab_shows_a_session_live_with_exclusions_and_files(browser, report_site):
    info = report_site.info
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(report_site.url)
    page.get_by_role("tab", name="Reports").click()
    page.get_by_label("Session", exact=True).last.click()
    page.get_by_role("option", name=f"春节祝福 第一轮 · {info.session_id} · open").click()
    summary = page.get_by_text("Compared on 36 of 36 votes from 3 raters")
    summary.wait_for(timeout=30_000)
    page.get_by_text("Enough data?").wait_for()
    page.locator("img").first.wait_for()
    page.wait_for_timeout(500)  # the plots' images decode
    shot(page, "01-session")
    # The session's texts carry references, so the report links automatic scores to it.
    # (which metric, if any, beats a coin toss depends on the votes; the sentence is there)
    assert page.get_by_text("tracks your raters").is_visible()
    assert page.get_by_text("Leave out these raters' votes").is_visible()

    page.get_by_label("Leave out votes flagged too fast").check()
    page.get_by_text("Compared on 24 of 36 votes from 2 raters").wait_for(timeout=30_000)

    # A vote cast elsewhere shows up by itself (the tab's timer), no click needed; cast at
    # once after serving, it is flagged too fast, so it adds to the cast and flagged counts.
    database = Database.for_workspace(Workspace.open(report_site.home))
    token = service.join(database, info.code, "新来的")["rater_token"]
    item = service.next_item(database, token)
    service.vote(database, token, item["item_token"], "tie", scores())
    database.close()
    page.get_by_text("Compared on 24 of 37 votes from 2 raters").wait_for(timeout=30_000)
    assert page.get_by_text("13 flagged too fast").is_visible()

    page.get_by_role("button", name="Write report files").click()
    links = page.locator("#ft-report-files a[download]")
    links.nth(5).wait_for(timeout=30_000)
    names = links.evaluate_all("links => links.map(link => link.download)")
    assert names == ["votes.csv", "models.csv", "raters.csv", "items.csv", "report.json",
                     "session.json"]  # fmt: skip
    with page.expect_download(timeout=30_000) as download:
        page.locator('#ft-report-files a[download="report.json"]').click()
    written = report_site.home / "reports" / info.session_id / "report.json"
    assert Path(download.value.path()).read_bytes() == written.read_bytes()
    shot(page, "02-excluded-and-files")
    context.close()
