"""Two library notices that every run, evaluation and chat printed are dropped, nothing else."""

from __future__ import annotations

import logging
import warnings

from ftcore.runtime.library_notices import quiet_library_notices

KERNELS = (
    "Failed to load CPU gemm_4bit_forward from kernels-community: No module named 'kernels'. "
    "Please make sure you already `pip install kernels` and the kernels >= 0.11.1"
)


def test_the_optional_kernel_notice_is_dropped_and_other_warnings_kept(caplog):
    quiet_library_notices()
    quiet_library_notices()  # twice (a resumed run in one process): one filter, not two
    bnb = logging.getLogger("bitsandbytes.backends.cpu.ops")
    assert len(bnb.filters) == 1
    with caplog.at_level(logging.WARNING):
        bnb.warning(KERNELS)
        bnb.warning("Register pytorch bitsandbytes kernels: no native library found")
        logging.getLogger("bitsandbytes").warning(KERNELS)  # another logger: not ours to drop
    assert [r.getMessage() for r in caplog.records] == [
        "Register pytorch bitsandbytes kernels: no native library found",
        KERNELS,
    ]


def test_only_the_deprecation_peft_triggers_is_ignored():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_library_notices()
        warnings.warn(
            "`is_gradient_checkpointing` is deprecated and will be removed in v6. Use "
            "`is_activation_checkpointing` instead.",
            FutureWarning,
            stacklevel=1,
        )
        warnings.warn("`use_cache=True` is incompatible", FutureWarning, stacklevel=1)
        warnings.warn("`is_gradient_checkpointing` is deprecated", UserWarning, stacklevel=1)
    assert [(w.category, str(w.message)) for w in seen] == [
        (FutureWarning, "`use_cache=True` is incompatible"),
        (UserWarning, "`is_gradient_checkpointing` is deprecated"),
    ]


def test_a_run_logged_to_a_file_gets_no_progress_bars():
    from transformers.utils import logging as transformers_logging

    quiet_library_notices()  # pytest captures stderr: not a terminal
    assert not transformers_logging.is_progress_bar_enabled()


def test_evaluation_and_chat_attach_an_adapter_without_the_deprecation(lora_adapter):
    """They load through runtime.models, which quiets the same notices as a training run."""
    from ftcore.runtime.adapters import ChatModel
    from ftcore.runtime.models import load_model

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ChatModel(load_model("demo", device="cpu")).attach(lora_adapter)
    assert not [w for w in seen if "is_gradient_checkpointing" in str(w.message)]
