"""Library errors become `gr.Error` here, in one place, for every handler.

A user's mistake (an FtcoreError, or a `gr.Error` a handler raises itself) reaches the
user as a toast and the server's log as one line; Gradio would otherwise print the whole
traceback of each. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable

import gradio as gr

from ftcore.errors import FtcoreError

logger = logging.getLogger(__name__)


def _quiet(handler: Callable, error: gr.Error) -> gr.Error:
    """`error` without its traceback on the console, logged as one line instead."""
    error.print_exception = False
    logger.info("%s: %s", handler.__qualname__, error.message)
    return error


def shows_errors(handler: Callable) -> Callable:
    """Wrap a handler (plain or generator) so an FtcoreError reaches the user as a
    `gr.Error` toast with the library's message; other errors stay bugs."""
    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def streaming(*args, **kwargs):
            try:
                yield from handler(*args, **kwargs)
            except FtcoreError as exc:
                raise _quiet(handler, gr.Error(str(exc))) from exc
            except gr.Error as exc:
                raise _quiet(handler, exc)  # noqa: B904 - the same error, re-raised

        return streaming

    @functools.wraps(handler)
    def plain(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except FtcoreError as exc:
            raise _quiet(handler, gr.Error(str(exc))) from exc
        except gr.Error as exc:
            raise _quiet(handler, exc)  # noqa: B904 - the same error, re-raised

    return plain
