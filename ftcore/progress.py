"""The one progress-callback type, and how one step's progress maps onto the whole job's.

Long jobs (preparing a dataset, generating, scoring, evaluating) take an optional
`progress(fraction, message)` callback: fraction runs from 0 to 1, message says what is
happening. The UI passes gr.Progress, the CLI a logger; the library knows neither.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[float, str], None]  # (fraction done, what is happening)


def scaled(progress: Progress | None, start: float, end: float) -> Progress | None:
    """`progress` for one step, whose own 0..1 maps onto start..end of the whole."""
    if progress is None:
        return None
    return lambda fraction, message: progress(start + (end - start) * fraction, message)
