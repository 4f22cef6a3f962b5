"""The launched app: serves its page and answers the chat endpoint through gradio_client."""

import urllib.request

import pytest

pytestmark = pytest.mark.slow


def text_of(message: dict) -> str:
    """Gradio 6 sends a message's content as a list of typed parts."""
    return "".join(part["text"] for part in message["content"] if part["type"] == "text")


def test_app_serves_the_page(app_server):
    with urllib.request.urlopen(app_server["url"], timeout=10) as response:
        assert response.status == 200
        assert "ftstudio" in response.read().decode("utf-8")


def test_chat_endpoint_returns_text_through_gradio_client(app_server):
    from gradio_client import Client

    client = Client(app_server["url"], verbose=False)
    result = client.predict(
        "西红柿炒鸡蛋怎么做？",
        "demo",
        "(none: base model only)",
        False,
        False,
        "",
        16,
        0,
        1,
        1,
        0,
        api_name="/chat",
    )
    textbox, left, right, status = result
    assert textbox == ""
    assert [m["role"] for m in left] == ["user", "assistant"]
    assert text_of(left[0]) == "西红柿炒鸡蛋怎么做？"
    assert text_of(left[1]).strip()
    assert right == []
    assert "demo" in status


def test_chat_endpoint_side_by_side_with_a_trained_adapter(app_server):
    from gradio_client import Client

    client = Client(app_server["url"], verbose=False)
    _, left, right, _ = client.predict(
        "给老师写一条祝福",
        "demo",
        str(app_server["adapter"]),
        False,
        True,
        "",
        16,
        0,
        1,
        1,
        0,
        api_name="/chat",
    )
    assert text_of(left[0]) == text_of(right[0]) == "给老师写一条祝福"
    assert text_of(left[1]) != text_of(right[1])


def test_a_bad_base_model_is_reported_not_crashed(app_server):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(app_server["url"], verbose=False)
    log = app_server["home"] / "server.log"
    start = log.stat().st_size
    with pytest.raises(AppError, match="does not exist"):
        client.predict(
            "你好",
            "./missing-model",
            "(none: base model only)",
            False,
            False,
            "",
            16,
            0,
            1,
            1,
            0,
            api_name="/chat",
        )
    # A user's mistake is one line in the server's log, not a traceback.
    written = log.read_bytes()[start:].decode("utf-8")
    [line] = [line for line in written.splitlines() if "does not exist" in line]
    assert line.startswith("INFO ftcore.ui.error_toasts: ChatHandlers.respond: ")
    assert "Traceback" not in written


def test_the_startup_banner_names_our_share_switch(app_server):
    """Gradio's banner said to set `share=True` in `launch()`; users of app.py pass --share."""
    log = (app_server["home"] / "server.log").read_text("utf-8")
    assert f"* Running on local URL:  {app_server['url']}" in log
    assert "* To create a public link, restart with --share." in log
    assert "share=True" not in log
