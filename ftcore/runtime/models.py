"""Load a base model and its tokenizer from the demo folder, a local folder or a Hub id.

torch and transformers are imported here and not at ftcore's top level, so modules that
only handle data, metrics or storage import in milliseconds.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ftcore.data.samples import DATA_DIR
from ftcore.errors import ModelNotFoundError
from ftcore.runtime.library_notices import quiet_library_notices

logger = logging.getLogger(__name__)

DEMO_MODEL_NAME = "demo"
DEMO_MODEL_DIR = DATA_DIR / "demo-model"


def resolve_model_source(name_or_path: str) -> str:
    """The folder or Hub id to load for `name_or_path`; 'demo' is the embedded model.

    An existing folder must hold a config.json. Anything else that looks like a path is
    reported as a missing folder rather than sent to the Hub.
    """
    name = name_or_path.strip()
    if not name:
        raise ModelNotFoundError("no base model given: use 'demo', a folder or a Hub id")
    path = DEMO_MODEL_DIR if name == DEMO_MODEL_NAME else Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(f"{path} is a folder but holds no config.json")
        return str(path)
    if path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1:
        raise ModelNotFoundError(f"model folder {name} does not exist")
    return name  # a Hub id such as Qwen/Qwen2.5-0.5B-Instruct


HUB_PROBE_TIMEOUT_S = 3.0  # one TCP connect; huggingface_hub's own retries take ~26 s
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")


def _hub_unreachable() -> str | None:
    """Why the Hub's endpoint cannot be reached (None when it can, or when a proxy is set:
    a direct connection says nothing about one through the proxy)."""
    import socket
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    if any(os.environ.get(name) for name in PROXY_VARIABLES):
        return None
    endpoint = urlsplit(constants.ENDPOINT)
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname, port), HUB_PROBE_TIMEOUT_S).close()
    except OSError as exc:
        return f"cannot reach {constants.ENDPOINT} ({exc.strerror or exc})"
    return None


def hub_load_options(source: str) -> dict:
    """Extra from_pretrained arguments for `source` (a folder or Hub id from
    resolve_model_source). A Hub id is checked before any download starts, so offline use
    fails in a second with one line instead of after huggingface_hub's retries: with
    HF_HUB_OFFLINE set, or the Hub unreachable, a model in the local cache loads from it
    (local_files_only) and one that is not raises ModelNotFoundError."""
    if Path(source).is_dir():
        return {}
    from huggingface_hub import constants, try_to_load_from_cache
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(source)
    except HFValidationError as exc:
        raise ModelNotFoundError(
            f"{source!r} is neither a model folder nor a Hugging Face model id: {exc}"
        ) from exc
    cached = isinstance(try_to_load_from_cache(source, "config.json"), str)
    why = "HF_HUB_OFFLINE is set" if constants.is_offline_mode() else _hub_unreachable()
    if why is None:
        return {}
    if cached:
        logger.info("%s: loading %s from the local Hugging Face cache", why, source)
        return {"local_files_only": True}
    raise ModelNotFoundError(
        f"cannot load {source!r}: {why} and it is not in the local Hugging Face cache "
        f"({constants.HF_HUB_CACHE}); download it once while online, or give a model folder"
    )


def hub_failure(source: str, exc: Exception) -> ModelNotFoundError:
    """One line for a from_pretrained that raised OSError: what went wrong, and a hint."""
    from huggingface_hub import constants

    hint = (
        "HF_HUB_OFFLINE is set, so only models already in the local Hugging Face cache load"
        if constants.is_offline_mode()
        else "check the id, your network, and `hf auth login` for gated models"
    )
    # transformers' messages run over several lines; the first says what went wrong.
    first_line = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    return ModelNotFoundError(
        f"cannot load {source!r} from the Hugging Face Hub ({hint}): {first_line}"
    )


def default_dtype(device: str):
    import torch

    if device == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16 if device == "cuda" else torch.float32


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class LoadedModel:
    """A base model ready for generation, with the tokenizer that goes with it."""

    model: object  # transformers PreTrainedModel, or a peft PeftModel once adapters attach
    tokenizer: object
    source: str  # what the user asked for ('demo', a folder or a Hub id)
    path: str  # the folder or Hub id actually loaded
    load_in_4bit: bool = False

    @property
    def device(self):
        return next(self.model.parameters()).device

    def summary(self) -> str:
        """One line for people: what is loaded, how big, where."""
        parameters = sum(p.numel() for p in self.model.parameters())
        precision = (
            "4-bit NF4" if self.load_in_4bit else str(self.model.dtype).removeprefix("torch.")
        )
        return (
            f"**{self.source}** · {parameters / 1e6:,.1f}M parameters · {precision} · {self.device}"
        )


def load_tokenizer(source: str):
    from transformers import AutoTokenizer

    path = resolve_model_source(source)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **hub_load_options(path))
    except OSError as exc:
        raise hub_failure(path, exc) from exc
    if tokenizer.pad_token is None:
        # Only used to fill batches; labels are built explicitly, so no EOS gets masked.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def quantization_config(device: str):
    """4-bit NF4 with double quantisation, the QLoRA recipe."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=default_dtype(device),
    )


def load_model(source: str, *, load_in_4bit: bool = False, device: str | None = None):
    """Load base model and tokenizer for `source` in eval mode on `device`."""
    from transformers import AutoModelForCausalLM

    quiet_library_notices()  # chat, evaluation and training all load through here
    device = device or default_device()
    path = resolve_model_source(source)
    kwargs = {"dtype": default_dtype(device), **hub_load_options(path)}
    if load_in_4bit:
        kwargs["quantization_config"] = quantization_config(device)
        kwargs["device_map"] = {"": device}
    logger.info("loading %s (%s, 4-bit=%s)", path, device, load_in_4bit)
    try:
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except OSError as exc:
        raise hub_failure(path, exc) from exc
    if not load_in_4bit:
        model.to(device)
    model.eval()
    return LoadedModel(model, load_tokenizer(source), source, path, load_in_4bit)
