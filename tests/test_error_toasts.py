"""A user's mistake is a toast and one log line; a bug keeps its traceback."""

from __future__ import annotations

import logging

import gradio as gr
import pytest

from ftcore.errors import DataError
from ftcore.ui.error_toasts import shows_errors


@shows_errors
def plain(kind: str) -> str:
    if kind == "library":
        raise DataError("greetings.jsonl line 3: field 'output' is missing")
    if kind == "handler":
        raise gr.Error("Pick the run to resume.")
    if kind == "bug":
        raise KeyError("status")
    return "ok"


@shows_errors
def streaming(kind: str):
    yield "first"
    plain.__wrapped__(kind)


@pytest.mark.parametrize("handler", [plain, lambda kind: list(streaming(kind))])
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("library", "greetings.jsonl line 3: field 'output' is missing"),
        ("handler", "Pick the run to resume."),
    ],
)
def test_a_user_error_is_a_toast_and_one_log_line(handler, kind, message, caplog):
    caplog.set_level(logging.INFO, logger="ftcore.ui.error_toasts")
    with pytest.raises(gr.Error) as raised:
        handler(kind)
    assert raised.value.message == message
    assert raised.value.print_exception is False  # Gradio prints no traceback for it
    [record] = caplog.records
    assert record.getMessage().endswith(f": {message}") and record.exc_info is None


@pytest.mark.parametrize("handler", [plain, lambda kind: list(streaming(kind))])
def test_a_bug_is_not_dressed_as_a_user_error(handler, caplog):
    with pytest.raises(KeyError):
        handler("bug")
    assert caplog.records == []
