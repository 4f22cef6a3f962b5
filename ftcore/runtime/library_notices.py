"""Library notices that say nothing about the user's work, kept out of logs and terminals.

Loading a model through peft and transformers prints, whatever the settings, notices that
ask nothing of the user; training logs, `ftcore eval` and `ftcore chat` would repeat them
on every run. Every other warning still reaches the user.
"""

from __future__ import annotations

import logging
import sys
import warnings

# Notices that libraries print in every run whatever its settings, that say nothing about
# the run and ask nothing of the user; a run's log keeps every other warning.
# - bitsandbytes, on CPUs with AVX512-BF16, tries to fetch an optional faster 4-bit kernel
#   from the Hub (the `kernels` package) at import, which peft does in every run, 4-bit or
#   not; its built-in kernel is used instead, with the same results.
# - peft reads transformers' `is_gradient_checkpointing`, deprecated in transformers 5.
LIBRARY_NOTICES = {
    "bitsandbytes.backends.cpu.ops": "Failed to load CPU gemm_4bit_forward from kernels-community",
}
DEPRECATIONS = ["`is_gradient_checkpointing` is deprecated"]


class _DropNotice(logging.Filter):
    def __init__(self, start: str):
        super().__init__()
        self.start = start

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.start)


def quiet_library_notices() -> None:
    """Keep LIBRARY_NOTICES and DEPRECATIONS out of the run's log (see there why), and,
    when the log is a file, transformers' progress bars: one line of carriage returns."""
    if not sys.stderr.isatty():
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    for logger_name, start in LIBRARY_NOTICES.items():
        library_logger = logging.getLogger(logger_name)
        if not any(getattr(f, "start", None) == start for f in library_logger.filters):
            library_logger.addFilter(_DropNotice(start))
    for message in DEPRECATIONS:
        warnings.filterwarnings("ignore", message=message, category=FutureWarning)
