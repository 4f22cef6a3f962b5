"""Who may run admin functions (create, close, export rating sessions), checked in the handler.

Hiding an admin button is not a check: every Gradio listener is an HTTP endpoint that a
script can call by its index. So each admin handler calls `require_admin(policy, request)`
before it does anything. The policy is a small object the app is built with; the local full
app uses `LocalAccess` (the person who started it is the admin), and the Spaces issue adds
policies for HF login or a password without touching the handlers.
"""

from __future__ import annotations

import os
from typing import Protocol

import gradio as gr

from ftcore.errors import FtcoreError


class AccessDeniedError(FtcoreError):
    """The caller may not run an admin function; the message says which one and why."""


class AccessPolicy(Protocol):
    def admin_refusal(self, request: gr.Request | None) -> str | None:
        """None when the caller of this request is an admin, else why not (shown to them)."""


class LocalAccess:
    """The full app on one's own machine: whoever can open it started it, and already has
    the workspace, so they are the admin. On a Space (SPACE_ID is set) that reasoning fails
    (anyone with the URL opens it), so this policy refuses there until a login-based policy
    is configured."""

    def admin_refusal(self, request: gr.Request | None) -> str | None:
        if os.environ.get("SPACE_ID"):
            return "this app runs on a Space, where admin functions need a login policy"
        return None


def require_admin(policy: AccessPolicy, request: gr.Request | None, action: str) -> None:
    """Raise AccessDeniedError naming `action` unless `policy` says the caller is an admin."""
    refusal = policy.admin_refusal(request)
    if refusal is not None:
        raise AccessDeniedError(f"{action} is for the session's admin only: {refusal}")
