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


@pytest.fixture
def database(workspace):
    """The workspace's database, closed after the test."""
    from ftcore.db import Database

    db = Database.for_workspace(workspace)
    yield db
    db.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppProcess:
    """`python app.py ARGS --home HOME` on 127.0.0.1 at a free port, its output in
    HOME/server.log. `start()` returns once the page answers; `stop()` ends it."""

    def __init__(self, home, *args: str):
        from pathlib import Path

        self.home, self.args = Path(home), list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process = None

    def start(self, timeout: float = 90) -> AppProcess:
        import subprocess
        import sys
        import time
        import urllib.request
        from pathlib import Path

        root = Path(__file__).resolve().parent.parent
        self.log = open(self.home / "server.log", "a")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "app.py", *self.args, "--host", "127.0.0.1"]
            + ["--port", str(self.port), "--home", str(self.home)],
            cwd=root,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError((self.home / "server.log").read_text())
            time.sleep(0.3)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.log.close()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, lora_adapter):
    """`python app.py` on 127.0.0.1 with a fresh workspace holding one trained adapter;
    yields its URL and stops it afterwards."""
    import shutil

    home = tmp_path_factory.mktemp("app-home")
    shutil.copytree(lora_adapter, home / "runs" / "demo-run" / "adapter")
    server = AppProcess(home).start()
    yield {"url": server.url, "home": home, "adapter": home / "runs" / "demo-run" / "adapter"}
    server.stop()


@pytest.fixture(scope="session")
def app_process():
    """The AppProcess class, for tests that start their own server (rater mode, restarts)."""
    return AppProcess


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium: Debian's chromium driven by Playwright (never a download)."""
    import shutil

    chromium = shutil.which("chromium")
    if chromium is None:
        if os.environ.get("FTSTUDIO_REQUIRE_BROWSER") == "1":
            pytest.fail("FTSTUDIO_REQUIRE_BROWSER=1 but Debian's chromium is not installed")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


SECRET_MODELS = ("SECRET-MODEL-ALPHA", "SECRET-MODEL-BETA")  # names a leak cannot hide


@pytest.fixture(scope="session")
def make_rating_session():
    """A function (home, examples=N, **plan settings) → SessionInfo: an open blind A/B
    session in the workspace at `home` over `examples` greeting prompts answered by two
    models named SECRET_MODELS, so blindness tests can search for them anywhere."""
    import json
    from pathlib import Path

    from ftcore.db import Database
    from ftcore.rating.plan import SessionPlan
    from ftcore.rating.sessions import create_session
    from ftcore.workspace import Workspace

    def make(home, examples: int = 4, **settings):
        workspace = Workspace.open(home)
        rows = [
            {
                "id": f"ex{i}",
                "prompt": f"给第{i}位老师写一条春节祝福，风格温馨",
                "model": model,
                "prediction": text,
            }
            for i in range(examples)
            for model, text in zip(
                SECRET_MODELS,
                (f"敬爱的老师：\n新春快乐，身体健康！\n学生 小明（{i}）", f"新年好（{i}）"),
                strict=True,
            )
        ]
        predictions = Path(home) / f"predictions-{examples}.jsonl"
        predictions.write_text(
            "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), "utf-8"
        )
        plan = {"name": "春节祝福 盲评", "predictions": str(predictions), **settings}
        database = Database.for_workspace(workspace)
        try:
            return create_session(database, workspace, SessionPlan(**plan))
        finally:
            database.close()

    return make


@pytest.fixture(scope="session")
def prepared_greetings(tmp_path_factory):
    """A dataset version made by ftcore.data.prepare from the sample Spring Festival
    greetings (default settings: 80/10/10 split, sealed test split, manifest)."""
    from pathlib import Path

    from ftcore.data.prepare import prepare_dataset

    greetings = Path(__file__).resolve().parent.parent / "data/greetings"
    out = tmp_path_factory.mktemp("versions") / "greetings-v1"
    return prepare_dataset([greetings / "spring_festival_greetings.jsonl"], out, name="greetings")
