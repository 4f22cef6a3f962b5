"""Estimate a run's peak GPU memory before it starts, and which cards (12/16/24/80 GB) it fits.

The model's shape comes from its config alone (instantiated on the meta device, so no
weights are read). Memory = weights + trainable copies, gradients and AdamW states +
activations + logits + CUDA overhead. The activation coefficients were measured by
summing the tensors autograd saves for backward in a Qwen2-style decoder layer under
bf16 autocast (LoRA on a bf16 base, QLoRA on NF4, full on fp32 master weights), fitted
over several widths to within 0.3%; they are Llama/Qwen-shaped and approximate for other
architectures. Logits dominate for large vocabularies: fp32 logits, their log-softmax and
two gradients of the same size, 16 bytes per token per vocabulary entry.
GB here means GiB (2**30 bytes), the unit in which cards are sold.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ftcore.errors import ConfigError
from ftcore.text_table import format_text_table
from ftcore.training.config import TrainConfig

GIB = 2**30
CARDS_GB = (12, 16, 24, 80)
CUDA_CONTEXT_GB = 0.5  # CUDA context and cuBLAS workspaces: outside torch's tensors
FRAGMENTATION = 0.10  # the caching allocator's slack on top of live tensors
LOGIT_BYTES = 16  # per token and vocabulary entry (see the module docstring)
NF4_BYTES = 0.5 + 1 / 64 + 4 / (64 * 256)  # 4-bit weights, fp8 block scales, fp32 scales of those
# Bytes saved per token per decoder layer: (hidden, intermediate, kv width, heads) terms.
ACTIVATION_COEFFICIENTS = {
    "lora": (48.8, 12.3, 4.1, 0.8),
    "qlora": (48.2, 18.1, 3.9, 0.8),
    "full": (30.1, 8.0, 4.0, 0.5),
    "lora_fp32": (64.4, 20.1, 7.9, 1.0),
    "full_fp32": (32.1, 16.0, 8.0, 0.5),
}


@dataclass(frozen=True)
class ModelShape:
    """What memory depends on, read from a model config."""

    model_type: str  # qwen2, llama, gpt2… (picks the default LoRA targets)
    n_params: int  # tied embeddings counted once
    n_layers: int
    hidden: int
    intermediate: int
    vocab: int
    n_heads: int
    kv_dim: int  # key/value width: kv heads x head dim
    linear_params: int  # weights of the decoder's linear layers: what 4-bit quantises
    linears: dict[str, tuple[int, int, int]]  # layer name -> (in, out, how many)


def model_shape(model_config) -> ModelShape:
    """The shape of a transformers config, by building the model on the meta device."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.pytorch_utils import Conv1D

    # The meta device allocates nothing and, unlike accelerate's init_empty_weights, keeps
    # tied input and output embeddings one tensor, so they are counted once.
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(model_config)
    head = model.get_output_embeddings()
    linears: dict[str, tuple[int, int, int]] = {}
    for name, module in model.named_modules():
        if module is head or not isinstance(module, (torch.nn.Linear, Conv1D)):
            continue
        weight = module.weight.shape  # Linear: (out, in); GPT-2's Conv1D: (in, out)
        d_in, d_out = (weight[1], weight[0]) if isinstance(module, torch.nn.Linear) else weight
        leaf = name.rsplit(".", 1)[-1]
        count = linears.get(leaf, (d_in, d_out, 0))[2]
        linears[leaf] = (d_in, d_out, count + 1)
    c = model_config
    hidden = c.hidden_size
    heads = c.num_attention_heads
    head_dim = getattr(c, "head_dim", None) or hidden // heads
    return ModelShape(
        model_type=c.model_type,
        n_params=sum(p.numel() for p in model.parameters()),
        n_layers=c.num_hidden_layers,
        hidden=hidden,
        intermediate=getattr(c, "intermediate_size", None)
        or getattr(c, "n_inner", None)
        or 4 * hidden,
        vocab=c.vocab_size,
        n_heads=heads,
        kv_dim=(getattr(c, "num_key_value_heads", None) or heads) * head_dim,
        linear_params=sum(i * o * n for i, o, n in linears.values()),
        linears=linears,
    )


def shape_of(base: str) -> ModelShape:
    """The shape of a base model ('demo', a folder or a Hub id) from its config.json."""
    from transformers import AutoConfig

    from ftcore.runtime.models import hub_failure, hub_load_options, resolve_model_source

    source = resolve_model_source(base)
    try:  # only config.json is read: no weights are downloaded
        config = AutoConfig.from_pretrained(source, **hub_load_options(source))
    except OSError as exc:
        raise hub_failure(source, exc) from exc
    return model_shape(config)


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated peak GPU memory of a training run, in GB, part by part."""

    method: str
    batch_size: int
    max_length: int
    gradient_checkpointing: bool
    trainable_params: int
    weights_gb: float  # the model as loaded (fp32 master weights for full fine-tuning)
    trainable_gb: float  # fp32 LoRA weights (0 for full: they are the weights)
    gradients_gb: float
    optimizer_gb: float  # AdamW's two fp32 moments
    activations_gb: float
    logits_gb: float
    overhead_gb: float  # CUDA context and allocator slack
    suggestions: list[str] = field(default_factory=list)

    @property
    def total_gb(self) -> float:
        return (
            self.weights_gb
            + self.trainable_gb
            + self.gradients_gb
            + self.optimizer_gb
            + self.activations_gb
            + self.logits_gb
            + self.overhead_gb
        )

    @property
    def fits(self) -> dict[int, bool]:
        """Card size in GB -> whether the estimate fits it."""
        return {card: self.total_gb <= card for card in CARDS_GB}

    def summary(self) -> str:
        """A few Markdown lines for people."""
        cards = " · ".join(f"{card} GB {'✓' if ok else '✗'}" for card, ok in self.fits.items())
        parts = (
            f"weights {self.weights_gb:.2f} · trainable+grads+AdamW "
            f"{self.trainable_gb + self.gradients_gb + self.optimizer_gb:.2f} · activations "
            f"{self.activations_gb:.2f} · logits {self.logits_gb:.2f} · "
            f"overhead {self.overhead_gb:.2f}"
        )
        lines = [f"**~{self.total_gb:.1f} GB peak** ({parts} GB)", cards]
        return "\n\n".join(lines + [f"- {s}" for s in self.suggestions])

    def to_text(self) -> str:
        """The same estimate as plain text for a terminal: a table of the parts, the cards
        it fits and, above the target, what each remedy would bring it down to."""
        checkpointing = "with" if self.gradient_checkpointing else "no"
        head = (
            f"peak GPU memory: ~{self.total_gb:.1f} GB ({self.method}, batch {self.batch_size} "
            f"x {self.max_length} tokens, {checkpointing} gradient checkpointing)"
        )
        parts = [
            ("weights", self.weights_gb),
            (
                "trainable + grads + AdamW",
                self.trainable_gb + self.gradients_gb + self.optimizer_gb,
            ),
            ("activations", self.activations_gb),
            ("logits", self.logits_gb),
            ("CUDA overhead", self.overhead_gb),
            ("total", self.total_gb),
        ]
        table = format_text_table(["part", "GB"], [[n, f"{gb:.2f}"] for n, gb in parts], "lr")
        cards = "fits: " + ", ".join(
            f"{card} GB {'yes' if ok else 'no'}" for card, ok in self.fits.items()
        )
        lines = [head, "", table, "", cards]
        if self.suggestions:
            lines += ["", "to need less:", *(f"- {s}" for s in self.suggestions)]
        return "\n".join(lines)


def lora_params(shape: ModelShape, rank: int, targets: list[str]) -> int:
    """Parameters of rank-`rank` LoRA on the named layers: r x (in + out) each."""
    return sum(rank * (i + o) * n for name, (i, o, n) in shape.linears.items() if name in targets)


def _default_targets(shape: ModelShape) -> list[str]:
    from ftcore.training.modeling import DEFAULT_TARGET_MODULES

    default = DEFAULT_TARGET_MODULES.get(shape.model_type, [])
    return default if default and set(default) <= set(shape.linears) else list(shape.linears)


def _activation_bytes_per_token(
    shape: ModelShape, method: str, fp32: bool, checkpointing: bool
) -> float:
    key = f"{'lora' if method == 'qlora' else method}_fp32" if fp32 else method
    c_hidden, c_inter, c_kv, c_heads = ACTIVATION_COEFFICIENTS[key]
    layer = (
        c_hidden * shape.hidden
        + c_inter * shape.intermediate
        + c_kv * shape.kv_dim
        + c_heads * shape.n_heads
    )
    if checkpointing:
        # Only each layer's input is kept; one layer's activations are rebuilt at a time.
        # Hidden states are bf16 only on a half-precision LoRA base; QLoRA's preparation
        # and full fine-tuning keep fp32 embeddings, so fp32 hidden states.
        residual = 2 if method == "lora" and not fp32 else 4
        body = shape.n_layers * residual * shape.hidden + layer
    else:
        body = shape.n_layers * layer
    return body + 16 * shape.hidden  # embedding output and final norm


def _estimate(
    shape: ModelShape,
    method: str,
    batch_size: int,
    max_length: int,
    precision: str,
    checkpointing: bool,
    rank: int,
    targets: list[str] | None,
) -> MemoryEstimate:
    fp32 = precision == "fp32"
    n = shape.n_params
    if method == "full":
        trainable = n
        # fp32 master weights, plus the bf16 copies autocast keeps for the backward pass.
        weights = 4 * n + (0 if fp32 else 2 * n)
    else:
        trainable = lora_params(shape, rank, targets or _default_targets(shape))
        if method == "qlora":  # prepare_model_for_kbit_training upcasts the rest to fp32
            weights = shape.linear_params * NF4_BYTES + (n - shape.linear_params) * 4
        else:
            weights = n * (4 if fp32 else 2)
    tokens = batch_size * max_length
    parts = {
        "weights_gb": weights,
        "trainable_gb": 0 if method == "full" else 4 * trainable,
        "gradients_gb": 4 * trainable,
        "optimizer_gb": 8 * trainable,
        "activations_gb": tokens * _activation_bytes_per_token(shape, method, fp32, checkpointing),
        "logits_gb": tokens * shape.vocab * LOGIT_BYTES,
    }
    parts = {k: v / GIB for k, v in parts.items()}
    overhead = CUDA_CONTEXT_GB + FRAGMENTATION * sum(parts.values())
    return MemoryEstimate(
        method, batch_size, max_length, checkpointing, trainable, overhead_gb=overhead, **parts
    )


def estimate_memory(
    shape: ModelShape,
    *,
    method: str = "lora",
    batch_size: int = 4,
    max_length: int = 2048,
    precision: str = "bf16",
    gradient_checkpointing: bool = False,
    lora_rank: int = 8,
    target_modules: list[str] | None = None,
    target_gb: int = 24,
) -> MemoryEstimate:
    """Peak GPU memory of training `shape` with these settings; when it exceeds
    `target_gb`, the suggestions say what each remedy would bring it down to."""
    if target_gb <= 0:
        raise ConfigError("target_gb", target_gb, "a card size in GB, at least 1")
    settings = {
        "method": method,
        "batch_size": batch_size,
        "max_length": max_length,
        "precision": "bf16" if precision == "auto" else precision,
        "checkpointing": gradient_checkpointing,
        "rank": lora_rank,
        "targets": target_modules,
    }
    estimate = _estimate(shape, **settings)
    if estimate.total_gb <= target_gb:
        return estimate
    remedies: list[tuple[str, dict]] = []
    if batch_size > 1:
        label = f"batch_size=1 with {batch_size}x the grad_accum (same effective batch)"
        remedies.append((label, {"batch_size": 1}))
    if not gradient_checkpointing:
        remedies.append(("gradient_checkpointing=true", {"checkpointing": True}))
    if method != "qlora":
        remedies.append(("method=qlora (4-bit base)", {"method": "qlora"}))

    def total(change: dict) -> float:
        return _estimate(shape, **(settings | change)).total_gb

    # QLoRA saves weight memory but its fp32 hidden states cost activations: on a small
    # model it can need more, and is then not suggested.
    helpful = [(label, change) for label, change in remedies if total(change) < estimate.total_gb]
    if len(helpful) > 1:
        together = {k: v for _, change in helpful for k, v in change.items()}
        helpful.append(("all of these together", together))
    totals = [(label, total(change)) for label, change in helpful]
    suggestions = [f"{label}: ~{gb:.1f} GB" for label, gb in totals]
    if all(gb > target_gb for _, gb in totals):
        suggestions.append(f"a shorter max_length (now {max_length}) or a smaller base model")
    return dataclasses.replace(estimate, suggestions=suggestions)


def estimate_for_config(config: TrainConfig, *, target_gb: int = 24) -> MemoryEstimate:
    """The estimate for a run's settings, on a GPU (where precision auto means bf16)."""
    return estimate_memory(
        shape_of(config.base),
        method=config.method,
        batch_size=config.batch_size,
        max_length=config.max_length,
        precision=config.precision,
        gradient_checkpointing=config.gradient_checkpointing,
        lora_rank=config.lora_rank,
        target_modules=config.target_modules,
        target_gb=target_gb,
    )
