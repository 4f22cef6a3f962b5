"""The one progress-callback type, how one step's progress maps onto the whole job's, and
how a duration reads (the CLI's bar and the Train tab say ETAs the same way).

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


def format_duration(seconds: float | None) -> str:
    """'1:05', '1:02:03'; '-' when unknown."""
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
