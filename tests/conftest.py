"""Shared fixtures: the embedded demo model, a LoRA adapter built on it, a workspace."""

from __future__ import annotations

import os

import pytest

# Tests never reach the Hub: everything they load ships with the repo or is built here.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The models in tests are tiny: one thread per process avoids two threads fighting over
# two cores (about 10x slower under contention) and leaves a core to the app server and
# training jobs, which inherit this environment.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_configure(config):
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def demo_tokenizer():
    from ftcore.runtime.models import load_tokenizer

    return load_tokenizer("demo")


@pytest.fixture
def demo_chat_model():
    """A fresh ChatModel on the demo base model (it loads in well under a second)."""
    from ftcore.runtime.adapters import ChatModel
    from ftcore.runtime.models import load_model

    return ChatModel(load_model("demo", device="cpu"))


def make_lora_adapter(out_dir, data_file: str, steps: int = 40):
    """Train a small LoRA adapter on the demo model for a few steps on `data_file` (an
    alpaca JSONL under data/) and save it: a real adapter whose replies differ from the
    base model's, built in seconds."""
    import json
    from pathlib import Path

    import torch
    from peft import LoraConfig, get_peft_model

    from ftcore.chat_format import IGNORE_INDEX, encode_for_training
    from ftcore.data.formats import alpaca_to_messages
    from ftcore.runtime.models import load_model

    torch.manual_seed(0)
    loaded = load_model("demo", device="cpu")
    config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj", "down_proj"])
    model = get_peft_model(loaded.model, config)
    rows = Path(__file__).resolve().parent.parent / "data" / data_file
    examples = [
        encode_for_training(loaded.tokenizer, alpaca_to_messages(json.loads(line)))
        for line in rows.read_text("utf-8").splitlines()[:64]
    ]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for step in range(steps):
        example = examples[step % len(examples)]
        labels = torch.tensor([example.labels])
        loss = model(input_ids=torch.tensor([example.input_ids]), labels=labels).loss
        assert labels.ne(IGNORE_INDEX).any()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="session")
def lora_adapter(tmp_path_factory):
    return make_lora_adapter(
        tmp_path_factory.mktemp("adapters") / "greetings-lora",
        "greetings/spring_festival_greetings.jsonl",
    )


@pytest.fixture(scope="session")
def other_lora_adapter(tmp_path_factory):
    return make_lora_adapter(
        tmp_path_factory.mktemp("adapters") / "other-lora", "probe/general_probe.jsonl"
    )


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
