"""Shared fixtures: the embedded demo model, a LoRA adapter built on it, a workspace."""

from __future__ import annotations

import os

import pytest

# Tests never reach the Hub: everything they load ships with the repo or is built here.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def demo_tokenizer():
    from ftcore.models import load_tokenizer

    return load_tokenizer("demo")


@pytest.fixture
def demo_chat_model():
    """A fresh ChatModel on the demo base model (it loads in well under a second)."""
    from ftcore.adapters import ChatModel
    from ftcore.models import load_model

    return ChatModel(load_model("demo", device="cpu"))


def make_lora_adapter(out_dir, seed: int):
    """Save a LoRA adapter for the demo model whose weights are random, not the usual
    zero init, so that it really changes the model's outputs."""
    import torch
    from peft import LoraConfig, get_peft_model

    from ftcore.models import load_model

    torch.manual_seed(seed)
    base = load_model("demo", device="cpu").model
    config = LoraConfig(
        r=8,
        lora_alpha=32,
        target_modules=["q_proj", "v_proj", "down_proj"],
        init_lora_weights=False,
    )
    model = get_peft_model(base, config)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5)
    model.save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="session")
def lora_adapter(tmp_path_factory):
    return make_lora_adapter(tmp_path_factory.mktemp("adapters") / "greetings-lora", seed=1)


@pytest.fixture(scope="session")
def other_lora_adapter(tmp_path_factory):
    return make_lora_adapter(tmp_path_factory.mktemp("adapters") / "other-lora", seed=2)


@pytest.fixture
def workspace(tmp_path):
    from ftcore.workspace import Workspace

    return Workspace.open(tmp_path / "home")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, lora_adapter):
    """`python app.py` on 127.0.0.1 with a fresh workspace holding one trained adapter;
    yields its URL and stops it afterwards."""
    import shutil
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    home = tmp_path_factory.mktemp("app-home")
    shutil.copytree(lora_adapter, home / "runs" / "demo-run" / "adapter")
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    log = open(home / "server.log", "w")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port), "--home", str(home)],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError((home / "server.log").read_text())
        time.sleep(0.3)
    yield {"url": url, "home": home, "adapter": home / "runs" / "demo-run" / "adapter"}
    server.terminate()
    server.wait(timeout=20)
    log.close()
