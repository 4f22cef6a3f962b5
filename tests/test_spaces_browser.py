"""Where Spaces serve the app: inside the huggingface.co page frame, behind the Space's proxy.

A simulated Space (SPACE_ID, no admin variable, no bucket) serves the rater app by itself;
a page of another site frames it as huggingface.co frames `*.hf.space`, and a rater
votes through the frame. Screenshot: test-artifacts/spaces-iframe.png.
"""

import ast
import json
import threading
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_browser_rating import score_with_the_mouse, shot

ROOT = Path(__file__).resolve().parent.parent
HOSTING_VARIABLES = ("FTSTUDIO_ADMINS", "FTSTUDIO_ADMIN_PASSWORD", "FTSTUDIO_MODE")


@pytest.fixture(scope="module")
def space_site(tmp_path_factory, make_rating_session, app_process):
    """`python app.py` as a Space with no admin variable starts it: no --rater flag."""
    home = tmp_path_factory.mktemp("space-site")
    info = make_rating_session(home, examples=2, ratings_per_item=1, min_seconds=0)
    with pytest.MonkeyPatch.context() as patch:
        for name in (*HOSTING_VARIABLES, "FTSTUDIO_BACKUP_DIR", "SYSTEM"):
            patch.delenv(name, raising=False)
        patch.setenv("SPACE_ID", "teacher/greetings")
        server = app_process(home).start()
    yield SimpleNamespace(url=server.url, code=info.code)
    server.stop()


def test_our_page_assets_name_no_absolute_server_address():
    """Every string of ftcore/ui (HTML, CSS, JS included): no localhost, no absolute
    http:// URL; the one exception is the link fallback an admin sees when a call comes
    without a request (never loaded by a page)."""
    found = []
    for path in sorted((ROOT / "ftcore" / "ui").glob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if id(node) in docstrings:  # words about code, never sent to a page
                continue
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and any(
                part in text for part in ("localhost", "127.0.0.1", "http://")
            ):
                found.append((path.name, text))
    assert found == [("rate_views.py", "http://127.0.0.1:7860/")]


@pytest.mark.slow
def test_behind_the_space_proxy_the_app_names_the_public_address(space_site):
    request = urllib.request.Request(
        space_site.url + "config",
        headers={"X-Forwarded-Host": "teacher-greetings.hf.space", "X-Forwarded-Proto": "https"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        config = json.loads(response.read())
    assert config["root"] == "https://teacher-greetings.hf.space"
    assert "127.0.0.1" not in json.dumps(config)


@pytest.fixture
def framing_site(tmp_path):
    """A page on http://localhost:PORT: another site than 127.0.0.1, as huggingface.co is
    to *.hf.space. Yields a function that writes the framing page and returns its URL."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def framing(src: str) -> str:
        (tmp_path / "space.html").write_text(
            f'<h1>huggingface.co</h1><iframe src="{src}" '
            'style="width:1240px;height:1700px;border:0"></iframe>',
            "utf-8",
        )
        return f"http://localhost:{server.server_address[1]}/space.html"

    yield framing
    server.shutdown()
    server.server_close()


def progress_shown(frame, done: int) -> None:
    """Wait until the frame's rate screen shows `done` items rated (a loaded machine can
    take a while: the whole chain join → next item runs through the server)."""
    frame.locator(f'#ft-rate .ft-progress[data-done="{done}"]').wait_for(timeout=120_000)


@pytest.fixture
def page(browser, request):
    """A new page; its last state is kept as test-artifacts/spaces-TEST.png."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    yield page
    shot(page, f"spaces-{request.node.name}", full_page=False)
    page.close()


@pytest.mark.slow
def test_a_rater_votes_inside_a_frame_of_another_site(page, space_site, framing_site):
    page.goto(framing_site(f"{space_site.url}?session={space_site.code}"))
    page.frame_locator("iframe").locator("#ft-join-button").wait_for(timeout=120_000)
    # The frame object once it shows the app (a cross-site frame is swapped on navigation).
    inner = next(frame for frame in page.frames if frame.url.startswith(space_site.url))
    # The page read the code from its own address, inside the frame.
    inner.wait_for_function(
        "(code) => [...document.querySelectorAll('#ft-join input, #ft-join textarea')]"
        ".some(e => e.value === code)",
        arg=space_site.code,
        timeout=120_000,
    )
    assert inner.locator("#ft-no-bucket").is_visible()  # the warning shows in the frame too
    inner.locator("#ft-join-button").click()
    progress_shown(inner, 0)
    score_with_the_mouse(inner, 4, 2)
    inner.locator('#ft-choice input[value="A"]').click()
    inner.locator("#ft-submit").click()
    progress_shown(inner, 1)
    page.evaluate("window.scrollTo(0, 0)")  # the framing page scrolls, not the frame
