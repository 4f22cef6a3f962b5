"""Who may run admin functions (data, training, evaluation, chat, rating): checked per call.

Hiding an admin button is not a check: every Gradio listener is an HTTP endpoint that a
script can call by its index. So every admin handler asks `require_admin(policy, request)`
before it does anything (ftcore.ui.admin_gate wraps each listener of the full app so, in
one place). The policy is a small object the app is built with:

- `LocalAccess`: the full app on one's own machine; refuses everyone on a Space.
- `SpaceAccess`: on a Space, the Hugging Face users named in FTSTUDIO_ADMINS (signed in
  with HF login) and the browser sessions that entered FTSTUDIO_ADMIN_PASSWORD.

With neither variable a Space serves the rater app alone (`admin_policy_from_environment`
returns None), so no admin listener exists there to be called at all.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Protocol

import gradio as gr

from ftcore.errors import ConfigError, FtcoreError

ADMINS_VARIABLE = "FTSTUDIO_ADMINS"
PASSWORD_VARIABLE = "FTSTUDIO_ADMIN_PASSWORD"
MODE_VARIABLE = "FTSTUDIO_MODE"
MODES = ("full", "rater")
# A password session lasts a working day; a tab left open longer signs in again.
PASSWORD_SESSION_SECONDS = 12 * 3600


class AccessDeniedError(FtcoreError):
    """The caller may not run an admin function; the message says which one and why."""


class AccessPolicy(Protocol):
    def admin_refusal(self, request: gr.Request | None) -> str | None:
        """None when the caller of this request is an admin, else why not (shown to them)."""


def on_space(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this process runs on a Hugging Face Space (Spaces set SPACE_ID)."""
    return bool(environ.get("SPACE_ID"))


def hf_login_available(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether HF login works here: on a Space as Gradio recognises one (SYSTEM=spaces too)
    whose front matter says `hf_oauth: true` (the Hub then sets OAUTH_CLIENT_ID). Elsewhere
    Gradio mocks the login by calling the Hub, which fails offline: no button there."""
    return (
        on_space(environ)
        and environ.get("SYSTEM") == "spaces"
        and bool(environ.get("OAUTH_CLIENT_ID"))
    )


def hf_username(request: gr.Request | None) -> str | None:
    """The Hugging Face user name an HF login left in this request's signed session
    cookie, or None (not signed in, sign-in expired, or no session middleware at all)."""
    underlying = getattr(request, "request", None) if request is not None else None
    scope = getattr(underlying, "scope", None)
    # Starlette raises on `.session` when no SessionMiddleware runs: read the scope instead.
    session = scope.get("session") if isinstance(scope, dict) else None
    info = session.get("oauth_info") if isinstance(session, Mapping) else None
    if not isinstance(info, Mapping):
        return None
    expires_at = info.get("expires_at")
    if expires_at is not None and expires_at < time.time():
        return None
    name = (info.get("userinfo") or {}).get("preferred_username")
    return name if isinstance(name, str) and name else None


class LocalAccess:
    """The full app on one's own machine: whoever can open it started it, and already has
    the workspace, so they are the admin. On a Space (SPACE_ID is set) that reasoning fails
    (anyone with the URL opens it), so this policy refuses there."""

    def admin_refusal(self, request: gr.Request | None) -> str | None:
        if on_space():
            return "this app runs on a Space, where admin functions need a login policy"
        return None


class SpaceAccess:
    """Admins on a Space: the HF users in `admins` once signed in, and the browser
    sessions that entered `password` (held per Gradio session, never as a global flag)."""

    def __init__(self, admins: Iterable[str] = (), password: str = ""):
        # Hub user names are unique regardless of case.
        self.admins = frozenset(name.strip().casefold() for name in admins if name.strip())
        self.password = password
        self._granted: dict[str, float] = {}  # session hash -> when it entered the password
        self._lock = threading.Lock()

    def admin_refusal(self, request: gr.Request | None) -> str | None:
        user = hf_username(request)
        if user and user.casefold() in self.admins:
            return None
        if self.password and self._holds_password(request):
            return None
        ways = []
        if self.admins:
            ways.append("sign in with Hugging Face as a listed admin")
        if self.password:
            ways.append("enter the admin password")
        who = f"signed in as {user}, who is not a listed admin" if user else "not signed in"
        return f"{' or '.join(ways)} ({who})"

    def grant(self, password: str, request: gr.Request | None) -> bool:
        """Let this browser session in if `password` is right; compared in constant time."""
        session = getattr(request, "session_hash", None) if request is not None else None
        given = (password or "").encode("utf-8")
        if not (self.password and session):
            return False
        if not hmac.compare_digest(given, self.password.encode("utf-8")):
            return False
        with self._lock:
            self._granted[session] = time.monotonic()
        return True

    def _holds_password(self, request: gr.Request | None) -> bool:
        session = getattr(request, "session_hash", None) if request is not None else None
        with self._lock:
            granted = self._granted.get(session) if session else None
        return granted is not None and time.monotonic() - granted < PASSWORD_SESSION_SECONDS


def admin_policy_from_environment(
    environ: Mapping[str, str] = os.environ,
) -> LocalAccess | SpaceAccess | None:
    """The admin policy for this process: LocalAccess off a Space; on a Space, SpaceAccess
    from FTSTUDIO_ADMINS (comma-separated HF user names) and FTSTUDIO_ADMIN_PASSWORD, or
    None when neither is set (the Space then serves the rater app only)."""
    if not on_space(environ):
        return LocalAccess()
    admins = [name for name in environ.get(ADMINS_VARIABLE, "").split(",") if name.strip()]
    password = environ.get(PASSWORD_VARIABLE, "")
    if not admins and not password:
        return None
    return SpaceAccess(admins, password)


def serves_rater_only(environ: Mapping[str, str] = os.environ) -> bool:
    """FTSTUDIO_MODE=rater, or a Space with no admin variable: only the rater app runs."""
    mode = environ.get(MODE_VARIABLE, "").strip().lower()
    if mode and mode not in MODES:
        raise ConfigError(MODE_VARIABLE, mode, " or ".join(MODES))
    return mode == "rater" or admin_policy_from_environment(environ) is None


def require_admin(policy: AccessPolicy, request: gr.Request | None, action: str) -> None:
    """Raise AccessDeniedError naming `action` unless `policy` says the caller is an admin."""
    refusal = policy.admin_refusal(request)
    if refusal is not None:
        raise AccessDeniedError(f"{action} is for the session's admin only: {refusal}")
