"""The stable rater API: rating_join, rating_next and rating_vote, for scripts and the page.

Each handler is one call into `ftcore.rating.service` and returns the library's dict
unchanged (a `gr.JSON` output), so a script, a load test and the browser page drive exactly
the same code. A refused call raises `gr.Error` with the library's reason (via
`shows_errors`). Each call's time inside the handler is logged, so load tests can report
what the server spent apart from queueing and client overhead.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

import gradio as gr

from ftcore.db import Database
from ftcore.rating import service
from ftcore.ui.error_toasts import shows_errors

logger = logging.getLogger(__name__)
TIMING_FORMAT = "%s %s %.3f ms"  # endpoint, ok|refused, milliseconds: benchmarks parse it


def timed(handler: Callable) -> Callable:
    """Log how long `handler` ran, as TIMING_FORMAT, whether it answered or refused."""

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        outcome = "refused"
        try:
            result = handler(*args, **kwargs)
            outcome = "ok"
            return result
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.info(TIMING_FORMAT, handler.__name__, outcome, elapsed_ms)

    return wrapper


class RatingApi:
    """The three rater endpoints over one database. Their parameter names are the API's
    argument names (gradio_client shows them), so they are part of the stable API."""

    def __init__(self, database: Database):
        self.database = database

    @shows_errors
    @timed
    def rating_join(
        self, session_code: str, rater_name: str, profile: gr.OAuthProfile | None = None
    ) -> dict:
        # Gradio fills `profile` from an HF login (never part of the API's arguments): a
        # signed-in rater is then one rater on every device; others are their token.
        identity = f"hf:{profile.username}" if profile is not None else None
        return service.join(
            self.database,
            (session_code or "").strip(),
            (rater_name or "").strip(),
            identity=identity,
        )

    @shows_errors
    @timed
    def rating_next(self, rater_token: str) -> dict:
        return service.next_item(self.database, (rater_token or "").strip())

    @shows_errors
    @timed
    def rating_vote(
        self, rater_token: str, item_token: str, choice: str, scores_json: str, comment: str
    ) -> dict:
        return service.vote(
            self.database,
            (rater_token or "").strip(),
            (item_token or "").strip(),
            choice,
            scores_json,  # the library reads and checks the JSON text itself
            comment or "",
        )
