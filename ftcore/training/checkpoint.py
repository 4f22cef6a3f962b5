"""Checkpoints and saved weights of a run, each written to a temporary folder and renamed.

A checkpoint (checkpoints/step-000040/) holds the trainable weights, the optimizer, the
random-number states and the loop counters: everything a resumed run needs to take the
same next step an uninterrupted run would. A kill -9 during a write leaves a temporary
folder that is ignored, never a half checkpoint. best/ and last/ hold the weights in the
form users load: a peft adapter folder, or a full model folder.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from ftcore.files import atomic_open, read_json

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "trainable.safetensors"
PUBLISHED_FILES = ("adapter_model.safetensors", "adapter_config.json")  # peft's names


@dataclass
class LoopState:
    """The counters a resumed run continues from."""

    step: int = 0  # optimizer steps done
    best_val_loss: float | None = None
    best_step: int | None = None
    bad_evals: int = 0  # validations since the last new best (early stopping)
    tokens_seen: int = 0  # non-padding tokens trained on
    elapsed_s: float = 0.0  # training time before the current process started


def _replace_folder(tmp: Path, final: Path) -> None:
    """Move `tmp` to `final`, replacing any old `final`. The old folder is renamed away
    first; `recover_folder` puts it back if a kill lands between the two renames."""
    old = final.with_name(f".{final.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.rename(final, old)
    os.rename(tmp, final)
    if old.exists():
        shutil.rmtree(old)


def recover_folder(final: Path) -> None:
    old = final.with_name(f".{final.name}.old")
    if old.exists() and not final.exists():
        os.rename(old, final)


def _fresh_tmp(final: Path) -> Path:
    tmp = final.with_name(f".{final.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)  # left by a process killed mid-write
    tmp.mkdir(parents=True)
    return tmp


def trainable_state(model) -> dict:
    return {
        name: param.detach().to("cpu").contiguous()
        for name, param in model.named_parameters()
        if param.requires_grad
    }


def save_checkpoint(
    folder: Path, model, optimizer, state: LoopState, *, scaler=None, keep: int = 1
) -> Path:
    """Write checkpoints/step-N atomically and delete all but the newest `keep`."""
    import torch
    from safetensors.torch import save_file

    final = folder / f"step-{state.step:06d}"
    tmp = _fresh_tmp(final)
    save_file(trainable_state(model), tmp / WEIGHTS_FILE)
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    rng = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save(rng, tmp / "rng.pt")
    if scaler is not None:
        torch.save(scaler.state_dict(), tmp / "scaler.pt")
    (tmp / "state.json").write_text(json.dumps(asdict(state)), "utf-8")
    _replace_folder(tmp, final)
    for stale in sorted(folder.glob("step-*"))[:-keep]:
        shutil.rmtree(stale)
    return final


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint (temporary folders are hidden, so never chosen)."""
    done = sorted(path for path in folder.glob("step-*") if (path / "state.json").is_file())
    return done[-1] if done else None


def load_checkpoint(path: Path, model, optimizer, *, scaler=None) -> LoopState:
    """Restore weights, optimizer, RNG and counters saved by `save_checkpoint`."""
    import torch
    from safetensors.torch import load_file

    saved = load_file(path / WEIGHTS_FILE)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, tensor in saved.items():
            params[name].copy_(tensor)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
    rng = torch.load(path / "rng.pt", weights_only=True)
    torch.set_rng_state(rng["torch"])
    random.setstate(rng["python"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    if scaler is not None and (path / "scaler.pt").is_file():
        scaler.load_state_dict(torch.load(path / "scaler.pt", weights_only=True))
    return LoopState(**read_json(path / "state.json"))


def save_weights(final: Path, model, tokenizer, *, full: bool) -> Path:
    """best/ or last/: an adapter folder loadable by plain `PeftModel.from_pretrained`,
    or for full fine-tuning a model folder (with tokenizer) loadable by `from_pretrained`."""
    tmp = _fresh_tmp(final)
    model.save_pretrained(tmp)
    if full:
        tokenizer.save_pretrained(tmp)
    _replace_folder(tmp, final)
    return final


def publish(source: Path, run_dir: Path) -> None:
    """Copy the chosen weights (best, or last without validation) to the run folder's top
    level, so the run folder itself loads as an adapter (or a model)."""
    for item in source.iterdir():
        if item.is_file():
            with open(item, "rb") as src, atomic_open(run_dir / item.name, "wb") as out:
                shutil.copyfileobj(src, out)
    logger.info("published %s as the run's weights", source.name)
