"""How long `python app.py` takes to serve its page offline, and the first chat reply.

Run: `python benchmarks/bench_app_startup.py [--runs 3]`. Writes
benchmarks/results/app_startup.json. The target (issue 2) is under 20 s to serve the UI.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "app_startup.json"
TARGET_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_page(url: str, server: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("app.py exited before serving its page")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(url)


def first_reply_seconds(url: str) -> float:
    from gradio_client import Client

    client = Client(url, verbose=False)
    start = time.perf_counter()
    client.predict(
        "你好",
        "demo",
        "(none: base model only)",
        False,
        False,
        "",
        32,
        0,
        1,
        1,
        0,
        api_name="/chat",
    )
    return time.perf_counter() - start


def measure_once() -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as home:
        start = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port), "--home", home],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_page(url, server)
            serve = time.perf_counter() - start
            reply = first_reply_seconds(url)
        finally:
            server.terminate()
            server.wait(timeout=20)
    return {"serve_seconds": round(serve, 2), "first_reply_seconds": round(reply, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = [measure_once() for _ in range(parser.parse_args().runs)]
    serve = [run["serve_seconds"] for run in runs]
    result = {
        "runs": runs,
        "median_serve_seconds": statistics.median(serve),
        "target_serve_seconds": TARGET_SECONDS,
        "meets_target": max(serve) < TARGET_SECONDS,
        "cpu_count": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
