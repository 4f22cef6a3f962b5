"""ZeroGPU: model work gets a GPU on a ZeroGPU Space, and runs unchanged everywhere else.

A ZeroGPU Space lends a GPU only inside functions decorated with `spaces.GPU`, and the
decoration must exist before the app launches. Rather than decorate handlers in each tab,
`run_model_work_on_gpu` decorates the listeners named in MODEL_WORK after the app is built,
in one place. Off a Space, or where the `spaces` package is missing (it ships with ZeroGPU
Spaces), `gpu_task` is the identity: nothing changes and nothing is imported.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable

import gradio as gr

logger = logging.getLogger(__name__)
# The API names of the listeners that load a model and run it.
MODEL_WORK = frozenset({"chat", "evaluate", "train_start", "train_resume"})


def gpu_decorator() -> Callable[[Callable], Callable] | None:
    """`spaces.GPU` on a Space that has the `spaces` package, else None."""
    if not os.environ.get("SPACE_ID") or importlib.util.find_spec("spaces") is None:
        return None
    # Only on a Space: the package patches torch when imported. In a checkout, the
    # repository's own spaces/ folder imports as an empty namespace package: no GPU there.
    import spaces  # noqa: PLC0415

    return getattr(spaces, "GPU", None)


def gpu_task(fn: Callable) -> Callable:
    """`fn` decorated with `spaces.GPU` on a ZeroGPU-capable Space; `fn` itself elsewhere."""
    decorator = gpu_decorator()
    return fn if decorator is None else decorator(fn)


def run_model_work_on_gpu(app: gr.Blocks) -> list[str]:
    """Decorate the app's MODEL_WORK listeners with `gpu_task`; returns their names.
    Call before any admin guard is wrapped around them, so a refused caller never
    waits for a GPU."""
    if gpu_decorator() is None:
        return []
    decorated = []
    for block_fn in app.fns.values():
        if block_fn.fn is not None and block_fn.api_name in MODEL_WORK:
            block_fn.fn = gpu_task(block_fn.fn)
            decorated.append(block_fn.api_name)
    logger.info("ZeroGPU runs %s", ", ".join(sorted(decorated)))
    return decorated
