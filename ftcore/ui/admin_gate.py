"""The admin check in every listener of the full app, wrapped on in one place after build.

Each tab module registers its own listeners and more arrive with every feature, so a check
written into each handler would be forgotten in the next one. Instead `guard_listeners`
walks the built app's registered functions and wraps every one that is not open to raters
so that it asks the access policy first. Open are the rater page's listeners (they check the
rater's own token in the library), the admin sign-in box below, and Gradio's own (the login
button's status check); everything else, tabs added tomorrow included, is admin-only.

How Gradio 6.31 calls a listener (gradio/blocks.py `call_function`, utils.py
`function_wrapper`): it reads the parameters Gradio fills in itself (gr.Request, Progress,
OAuthProfile) from `inspect.signature`, which follows `__wrapped__`, so a wrapper made with
functools.wraps keeps them; it tells a generator or coroutine apart at call time; and it
sets `LocalContext.request` around each call (and each step of a generator), which is
where the wrapper reads the caller from, whatever the handler's own signature.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable

import gradio as gr
from gradio.context import LocalContext

from ftcore.ui.access import AccessPolicy, SpaceAccess

logger = logging.getLogger(__name__)
# Listeners defined in these modules are open to everyone.
OPEN_MODULES = frozenset({"ftcore.ui.rating_page", "ftcore.ui.rating_api", __name__})
# ... and these, by module and name: a rater link opening the full app on its Rate tab.
OPEN_FUNCTIONS = frozenset({("ftcore.ui.rate_tab", "open_from_link")})
# Not asked for by a click (page load, timer, switching tabs): refused without a toast.
QUIET_EVENTS = frozenset({"load", "tick", "select"})


def is_open(fn: Callable) -> bool:
    """Whether the listener `fn` is one raters may call (OPEN_MODULES, OPEN_FUNCTIONS,
    or Gradio's own); anything else, a lambda or a partial included, is admin-only."""
    original = inspect.unwrap(fn)
    module = getattr(original, "__module__", None) or ""
    name = getattr(original, "__qualname__", None)
    return (
        module in OPEN_MODULES
        or (module, name) in OPEN_FUNCTIONS
        or module.split(".")[0] == "gradio"
    )


def admin_only(fn: Callable, policy: AccessPolicy, action: str, quiet: bool = False) -> Callable:
    """`fn` that first refuses callers who are not admins; a plain function, generator,
    coroutine or async generator stays what it was, so Gradio streams it the same way."""

    def check() -> None:
        refusal = policy.admin_refusal(LocalContext.request.get(None))
        if refusal is not None:
            logger.info("refused %s: %s", action, refusal)
            raise gr.Error(
                f"{action} is for admins only: {refusal}", visible=not quiet, print_exception=False
            )

    if inspect.isasyncgenfunction(fn):

        async def wrapper(*args, **kwargs):
            check()
            async for value in fn(*args, **kwargs):
                yield value

    elif inspect.iscoroutinefunction(fn):

        async def wrapper(*args, **kwargs):
            check()
            return await fn(*args, **kwargs)

    elif inspect.isgeneratorfunction(fn):

        def wrapper(*args, **kwargs):
            check()
            yield from fn(*args, **kwargs)

    else:

        def wrapper(*args, **kwargs):
            check()
            return fn(*args, **kwargs)

    wrapper = functools.update_wrapper(wrapper, fn)
    wrapper.ftstudio_admin_only = True
    return wrapper


def guard_listeners(app: gr.Blocks, policy: AccessPolicy) -> list[str]:
    """Wrap every listener of `app` that is not open with `admin_only`; returns the names
    of the wrapped ones (for the log and the tests). Call once, after the app is built."""
    guarded = []
    for block_fn in app.fns.values():
        if block_fn.fn is None or is_open(block_fn.fn):
            continue
        if getattr(block_fn.fn, "ftstudio_admin_only", False):
            continue
        quiet = bool(block_fn.targets) and all(e in QUIET_EVENTS for _, e in block_fn.targets)
        action = block_fn.api_name or block_fn.name
        block_fn.fn = admin_only(block_fn.fn, policy, action, quiet)
        guarded.append(action)
    logger.info("%d admin listeners check the access policy", len(guarded))
    return guarded


def build_password_box(policy: SpaceAccess) -> None:
    """A small admin sign-in box: the right password lets this browser session (one page
    load) run admin functions. Only where FTSTUDIO_ADMIN_PASSWORD is set."""
    with gr.Accordion("Admin sign-in", open=False, elem_id="ft-admin-login"):
        with gr.Row():
            password = gr.Textbox(
                label="Admin password", type="password", scale=3, elem_id="ft-admin-password"
            )
            enter = gr.Button("Sign in", scale=1, elem_id="ft-admin-enter")
        result = gr.Markdown()

    def sign_in(given: str, request: gr.Request):
        if not policy.grant(given, request):
            raise gr.Error("Wrong admin password.", print_exception=False)
        return "", "Signed in as admin in this browser tab (a reload signs you out)."

    gr.on(
        [enter.click, password.submit],
        sign_in,
        password,
        [password, result],
        api_visibility="private",
        show_progress="hidden",
    )
