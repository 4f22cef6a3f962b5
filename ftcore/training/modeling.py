"""Prepare a base model for training: LoRA, QLoRA or full fine-tuning, and the LoRA targets.

Target modules default per architecture (every attention and MLP projection, as the
LoRA/QLoRA papers found best), falling back to every linear layer but the output head;
a name that matches no layer is refused with a did-you-mean before training starts.
"""

from __future__ import annotations

import logging

from ftcore.errors import ConfigError, ModelNotFoundError, did_you_mean
from ftcore.runtime.models import load_tokenizer, resolve_model_source
from ftcore.training.config import TrainConfig

logger = logging.getLogger(__name__)

ATTENTION_AND_MLP = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
DEFAULT_TARGET_MODULES: dict[str, list[str]] = {
    "qwen2": ATTENTION_AND_MLP,
    "qwen3": ATTENTION_AND_MLP,
    "llama": ATTENTION_AND_MLP,
    "mistral": ATTENTION_AND_MLP,
    "gemma": ATTENTION_AND_MLP,
    "gemma2": ATTENTION_AND_MLP,
    "phi3": ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],
    "gpt2": ["c_attn", "c_proj", "c_fc"],
}


def linear_layer_names(model) -> list[str]:
    """Names (last dotted part) of the linear layers LoRA can adapt, without the output
    head: adapting it would train a vocab-sized matrix for little gain."""
    import torch
    from transformers.pytorch_utils import Conv1D  # GPT-2's linear layers

    head = model.get_output_embeddings()
    names = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, (torch.nn.Linear, Conv1D)) and module is not head
    }
    return sorted(names)


def target_modules_for(model, requested: list[str] | None) -> list[str]:
    """The requested target modules, checked against the model, or the default for its
    architecture."""
    available = linear_layer_names(model)
    if requested is None:
        default = DEFAULT_TARGET_MODULES.get(model.config.model_type)
        return default if default and set(default) <= set(available) else available
    for name in requested:
        if name not in available:
            allowed = f"a linear layer of this model ({', '.join(available)})."
            raise ConfigError("target_modules", name, allowed + did_you_mean(name, available))
    return list(requested)


def resolve_precision(config: TrainConfig, device) -> str:
    """bf16, fp16 or fp32 for this device; half precision needs a CUDA GPU here."""
    import torch

    if device.type != "cuda":
        if config.precision in ("bf16", "fp16"):
            raise ConfigError(
                "precision", config.precision, "auto or fp32 on a machine without a GPU"
            )
        return "fp32"
    if config.precision == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if config.precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError("precision", "bf16", "fp16 or fp32 on this GPU (it has no bf16)")
    return config.precision


def torch_dtype(precision: str):
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[precision]


def _load_base(config: TrainConfig, device, precision: str):
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    path = resolve_model_source(config.base)
    # Full fine-tuning keeps fp32 master weights (autocast does the half-precision math);
    # LoRA's frozen base can live in half precision, halving its memory.
    dtype = torch.float32 if config.method == "full" else torch_dtype(precision)
    kwargs: dict = {"dtype": dtype}
    if config.method == "qlora":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
        kwargs["device_map"] = {"": device}
    try:
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except OSError as exc:
        raise ModelNotFoundError(f"cannot load the weights of {path}: {exc}") from exc
    if config.method != "qlora":
        model.to(device)
    model.config.use_cache = False  # the KV cache is for generation; training wastes memory on it
    return model


def load_for_training(config: TrainConfig, device, precision: str):
    """The model with the method's trainable parameters, and its tokenizer."""
    import torch

    tokenizer = load_tokenizer(config.base)  # first: its error explains an unreachable Hub
    model = _load_base(config, device, precision)
    checkpointing = {"gradient_checkpointing_kwargs": {"use_reentrant": False}}
    if config.method == "full":
        if config.gradient_checkpointing:
            model.gradient_checkpointing_enable(**checkpointing)
        model.train()
        return model, tokenizer

    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    targets = target_modules_for(model, config.target_modules)
    if config.method == "qlora":
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=config.gradient_checkpointing, **checkpointing
        )
        # bitsandbytes 0.50 on CPU repacks 4-bit weights for inference on the first
        # eval-mode forward (a validation) and then fails in the backward pass: keep the
        # training layout throughout.
        for module in model.modules():
            if hasattr(module, "support_avx512bf16_for_cpu"):
                module.support_avx512bf16_for_cpu = False
    elif config.gradient_checkpointing:
        model.gradient_checkpointing_enable(**checkpointing)
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
    torch.manual_seed(config.seed)  # LoRA's A matrices are initialised at random
    model = get_peft_model(model, lora)
    model.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    logger.info(
        "%s on %s: %s trainable parameters", config.method, ", ".join(targets), f"{trainable:,}"
    )
    return model, tokenizer
