"""Library errors become `gr.Error` here, in one place, for every handler."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import gradio as gr

from ftcore.errors import FtcoreError


def shows_errors(handler: Callable) -> Callable:
    """Wrap a handler (plain or generator) so an FtcoreError reaches the user as a
    `gr.Error` toast with the library's message; other errors stay bugs."""
    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def streaming(*args, **kwargs):
            try:
                yield from handler(*args, **kwargs)
            except FtcoreError as exc:
                raise gr.Error(str(exc)) from exc

        return streaming

    @functools.wraps(handler)
    def plain(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except FtcoreError as exc:
            raise gr.Error(str(exc)) from exc

    return plain
