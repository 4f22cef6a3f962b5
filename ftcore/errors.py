"""The FtcoreError family: every error a user can cause, each with a message worth reading.

The UI turns these into `gr.Error` in one place (ftcore.ui.error_toasts) and the CLI into a
one-line message and a non-zero exit code in one place (ftcore.cli). Anything that is not
an FtcoreError is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FtcoreError(Exception):
    """Base class for errors caused by user input or the user's environment."""


class ConfigError(FtcoreError):
    """A setting has a value outside what is allowed; the message names field and value."""

    def __init__(self, field: str, value: object, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}={value!r} is not allowed: expected {allowed}")


class ModelNotFoundError(FtcoreError):
    """A base model or adapter could not be found locally or on the Hub."""


class AdapterError(FtcoreError):
    """An adapter folder is not a usable LoRA adapter for the loaded base model."""


class ChatTemplateError(FtcoreError):
    """A conversation cannot be rendered with the model's chat template."""


class WorkspaceError(FtcoreError):
    """The workspace folder or its database cannot be used."""


class DataError(FtcoreError):
    """An input file or a dataset version cannot be used; the message names the file."""


class SealedSplitError(DataError):
    """The sealed test split was asked for without saying so explicitly (allow_test=True)."""


class DatasetNotFoundError(DataError):
    """A dataset version folder, or its train.jsonl, does not exist."""


class EmptyDatasetError(DataError):
    """A dataset version holds no conversation that can be trained on."""


class EmptyPredictionsError(DataError):
    """A predictions file or list holds no row that can be scored."""


class RunError(FtcoreError):
    """A training run cannot be started, resumed or stopped in its run folder."""


class GpuOutOfMemoryError(FtcoreError):
    """Training ran out of GPU memory; the message says which setting to change."""


class NoTargetTokensError(FtcoreError, ValueError):
    """A mean NLL or perplexity was asked for over zero target tokens (every reply empty
    or truncated away). Also a ValueError: the quantity is undefined, not merely unknown."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean X?' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


class RatingError(FtcoreError):
    """A rating request that is refused (a closed session, an unknown token, a bad vote);
    nothing is stored when it is raised."""


class RubricError(RatingError):
    """A rubric file is not a valid rubric; the message names the file, line and field."""

    def __init__(self, file: str, line: int, field: str, problem: str):
        self.file, self.line, self.field, self.problem = file, line, field, problem
        super().__init__(f"{file}:{line}: field {field!r}: {problem}")


class SessionNotFoundError(RatingError):
    """No rating session has the id or code that was given."""


class SessionClosedError(RatingError):
    """The rating session was closed, or its closing time has passed: no more votes."""


class UnknownTokenError(RatingError):
    """A rater or item token that the server never issued, or issued to someone else."""


class DuplicateVoteError(RatingError):
    """The rater has already voted on this item (one vote per rater, item and showing)."""


class InvalidVoteError(RatingError):
    """A vote with an unknown choice, a score outside the scale, a missing or unknown
    criterion, or an over-long comment; the message names the field."""


class ItemReleasedError(RatingError):
    """A vote on an item whose reservation ran out and whose quota other raters filled
    meanwhile."""
