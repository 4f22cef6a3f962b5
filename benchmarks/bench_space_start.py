"""Cold start of an exported Space folder (full and rater mode) and the folder's size.

Run: `python benchmarks/bench_space_start.py [--runs 2]`. Writes
benchmarks/results/space_start.json. For each mode, in a fresh process on a fresh
workspace, as a Space starts it (SPACE_ID set, `python app.py` in the exported folder):
seconds to import the UI package, to build the app, and from process start to the first
HTTP 200 of the page. The Hub allows 30 minutes from container start; the image build
(pip install) comes before and is not measured here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "space_start.json"
MODES = {
    "full": {"FTSTUDIO_ADMIN_PASSWORD": "benchmark"},
    "rater": {},  # a Space with no admin variable serves the rater app alone
}
PHASES = """
import json, sys, time
started = time.perf_counter()
import ftcore.ui
imported = time.perf_counter()
from ftcore.ui import build_served_app
from ftcore.workspace import Workspace
build_served_app(Workspace.open(sys.argv[1]))
built = time.perf_counter()
print(json.dumps({"import_s": imported - started, "build_s": built - imported}))
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def space_env(mode: str, home: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FTSTUDIO_")}
    return {**env, "SPACE_ID": "bench/ftstudio", "FTSTUDIO_HOME": home, **MODES[mode]}


def first_page_seconds(folder: Path, mode: str) -> float:
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        env = {**space_env(mode, home), "GRADIO_SERVER_NAME": "127.0.0.1"}
        start = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"app.py ({mode}) exited before serving its page")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                        if page.status == 200:
                            return time.perf_counter() - start
                except OSError:
                    time.sleep(0.1)
        finally:
            server.terminate()
            server.wait(timeout=30)


def phases(folder: Path, mode: str) -> dict:
    with tempfile.TemporaryDirectory() as home:
        result = subprocess.run(
            [sys.executable, "-c", PHASES, home],
            cwd=folder,
            env=space_env(mode, home),
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    from ftcore.deploy.spaces_export import export_space

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    results: dict = {"load_average_1min": os.getloadavg()[0], "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as scratch:
        full = export_space(Path(scratch) / "full")
        rater = export_space(Path(scratch) / "rater", rater_only=True)
        results["export_mb"] = {
            "with_demo_model": round(full.size_bytes / 2**20, 2),
            "rater_only": round(rater.size_bytes / 2**20, 2),
        }
        results["export_files"] = {"with_demo_model": full.files, "rater_only": rater.files}
        for mode, folder in (("full", full.out), ("rater", rater.out)):
            runs = [
                {**phases(folder, mode), "first_200_s": first_page_seconds(folder, mode)}
                for _ in range(args.runs)
            ]
            results[mode] = {
                key: round(statistics.median(run[key] for run in runs), 2) for key in runs[0]
            }
            results[mode]["runs"] = args.runs
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
