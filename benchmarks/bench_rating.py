"""Fifty raters voting at once through the rater API, and a SIGKILL of the server mid-session.

Run: `python benchmarks/bench_rating.py [--raters 50] [--votes 20]`. Writes
benchmarks/results/rating.json.

A temporary workspace gets one session (100 items, 12 raters each, at most --votes per
rater), and `python app.py --rater` serves it on 127.0.0.1. Each rater is a thread with its
own gradio_client, doing what a browser does: rating_join, then rating_next / rating_vote
until done. When half the votes are acknowledged, the server is killed with SIGKILL while
calls are in flight and started again on the same port and workspace. Raters keep their
tokens: a call cut off by the kill is retried once the server answers (a vote that did
reach the database is then refused as a duplicate, which the rater takes as stored).

What is checked: exactly raters × votes votes stored, no rater voting twice on an item,
every vote acknowledged before the kill still there, and each rater's open item served
again after the restart. What is reported: server-side time per call (logged inside the
handler, so queueing and client overhead are left out: see ftcore.ui.rating_api) and the
time each client saw per call.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "rating.json"
MODELS = ("model-left", "model-right")
CRITERIA = ("completeness", "fluency", "style_fit", "sincerity")
HTTP_TIMEOUT = {"timeout": 180}
TIMING = re.compile(r"ftcore\.ui\.rating_api: (rating_\w+) (ok|refused) ([\d.]+) ms")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_session(home: Path, raters: int, votes: int) -> str:
    """An open session whose 100 items, 12 places each, hold raters × votes with room to
    spare (so no rater runs out of items it has not seen); returns its code."""
    from ftcore.db import Database
    from ftcore.rating.plan import SessionPlan
    from ftcore.rating.sessions import create_session
    from ftcore.workspace import Workspace

    items, per_item = 100, 12
    assert items * per_item >= raters * votes, "not enough places for every vote"
    rows = [
        {
            "id": f"ex{i}",
            "prompt": f"给第{i}位朋友写一条春节祝福",
            "model": m,
            "prediction": f"{m} {i}",
        }
        for i in range(items)
        for m in MODELS
    ]
    predictions = home / "predictions.jsonl"
    predictions.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    workspace = Workspace.open(home)
    database = Database.for_workspace(workspace)
    plan = SessionPlan(
        name="load test",
        predictions=str(predictions),
        ratings_per_item=per_item,
        items_per_rater=votes,
        min_seconds=0,
    )
    code = create_session(database, workspace, plan).code
    database.close()
    return code


class Server:
    """`python app.py --rater` on one port and workspace, killable and restartable."""

    def __init__(self, home: Path):
        self.home, self.port = home, free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = home / "server.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        started = time.perf_counter()
        log = open(self.log_path, "a")  # noqa: SIM115 - the child holds it; closed with it
        self.process = subprocess.Popen(
            [sys.executable, "app.py", "--rater", "--host", "127.0.0.1", "--port", str(self.port)]
            + ["--home", str(self.home)],
            cwd=ROOT,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(self.log_path.read_text())
            try:
                with urllib.request.urlopen(self.url, timeout=2):
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


class Rater(threading.Thread):
    """One rater: join, then next/vote until the session says done; survives the kill."""

    def __init__(self, index: int, url: str, code: str, state: dict):
        super().__init__(daemon=True)
        self.index, self.url, self.code, self.state = index, url, code, state
        self.token = ""
        self.acked: list[tuple[str, float]] = []  # (vote_id, when acknowledged)
        self.vote_seconds: list[float] = []
        self.next_seconds: list[float] = []
        self.duplicates_taken_as_stored = 0
        self.transport_retries = 0
        self.carried_over = 0  # items served before the kill and voted on after it
        self.client = None

    def call(self, *args, api_name: str, timings: list[float] | None = None):
        """One API call, retried across the server's death; AppError is the server's
        answer and is raised. Anything else is the connection dying with the server."""
        from gradio_client import Client
        from gradio_client.exceptions import AppError

        while True:
            try:
                if self.client is None:
                    # gradio_client's 20 s default is too short for 50 clients on 2 cores;
                    # a call given up on and retried could join a second rater.
                    self.client = Client(self.url, verbose=False, httpx_kwargs=HTTP_TIMEOUT)
                started = time.perf_counter()
                result = self.client.predict(*args, api_name=api_name)
                if timings is not None:
                    timings.append(time.perf_counter() - started)
                return result
            except AppError:
                raise
            except Exception as error:  # noqa: BLE001 - httpx, websocket and HTTP errors alike
                logging.debug("rater %d: %s retried after %r", self.index, api_name, error)
                self.transport_retries += 1
                self.client = None
                # Back off with jitter: fifty clients hammering a server that is starting
                # make Gradio's own localhost check time out, and it then refuses to start.
                time.sleep(min(4.0, 0.5 * 2 ** min(self.transport_retries, 3)) * random.random())

    def run(self) -> None:
        from gradio_client.exceptions import AppError

        joined = self.call(self.code, f"rater-{self.index}", api_name="/rating_join")
        self.token = joined["rater_token"]
        while True:
            served_in = self.state["generation"]
            item = self.call(self.token, api_name="/rating_next", timings=self.next_seconds)
            if item.get("done"):
                return
            scores = {side: dict.fromkeys(CRITERIA, 1 + self.index % 5) for side in "AB"}
            choice = ("A", "B", "tie", "both_bad")[len(self.acked) % 4]
            try:
                voted = self.call(
                    self.token,
                    item["item_token"],
                    choice,
                    json.dumps(scores),
                    "",
                    api_name="/rating_vote",
                    timings=self.vote_seconds,
                )
            except AppError as error:
                # A vote cut off by the kill after it was committed: stored, not doubled.
                if "already has your vote" not in str(error):
                    raise
                self.duplicates_taken_as_stored += 1
                self.acked.append(("(stored before the kill)", time.monotonic()))
                continue
            self.acked.append((voted["vote_id"], time.monotonic()))
            # The item token, issued before the kill, still works after the restart.
            self.carried_over += self.state["generation"] != served_in
            with self.state["lock"]:
                self.state["acked"] += 1


def percentiles(values: list[float], scale: float = 1.0) -> dict:
    values = sorted(v * scale for v in values)
    if not values:
        return {}
    quantiles = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 2),
        "p95": round(quantiles[94], 2),
        "max": round(values[-1], 2),
    }


def server_timings(log: Path) -> dict:
    found: dict[str, list[float]] = {}
    for match in TIMING.finditer(log.read_text("utf-8", errors="replace")):
        found.setdefault(f"{match[1]}_{match[2]}", []).append(float(match[3]))
    return {name: percentiles(values) for name, values in sorted(found.items())}


def stored_votes(home: Path) -> dict:
    from ftcore.db import Database

    database = Database(home / "ftstudio.db")
    try:
        return {
            "raters": database.query_value("SELECT COUNT(*) FROM rating_raters"),
            "votes": database.query_value("SELECT COUNT(*) FROM rating_votes"),
            "duplicates": database.query_value(
                "SELECT COUNT(*) FROM (SELECT rater_id, item_id, round FROM rating_votes "
                "GROUP BY rater_id, item_id, round HAVING COUNT(*) > 1)"
            ),
            "per_rater": sorted(
                {
                    row["n"]
                    for row in database.query(
                        "SELECT COUNT(*) AS n FROM rating_votes GROUP BY rater_id"
                    )
                }
            ),
            "max_votes_per_item": database.query_value(
                "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM rating_votes GROUP BY item_id)"
            ),
            "ids": {row["id"] for row in database.query("SELECT id FROM rating_votes")},
        }
    finally:
        database.close()


def library_alone(raters: int, votes: int) -> dict:
    """The same votes through ftcore.rating.service in one thread, no HTTP and no other
    load from this benchmark: what a vote costs before queueing and contention."""
    from ftcore.db import Database
    from ftcore.rating import service

    with tempfile.TemporaryDirectory() as folder:
        code = make_session(Path(folder), raters, votes)
        database = Database(Path(folder) / "ftstudio.db")
        timings = []
        scores = {side: dict.fromkeys(CRITERIA, 3) for side in "AB"}
        for index in range(raters):
            token = service.join(database, code, f"rater-{index}")["rater_token"]
            while not (item := service.next_item(database, token)).get("done"):
                started = time.perf_counter()
                service.vote(database, token, item["item_token"], "tie", scores)
                timings.append(time.perf_counter() - started)
        database.close()
    return percentiles(timings, 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--votes", type=int, default=20, help="votes per rater")
    args = parser.parse_args()
    expected = args.raters * args.votes
    load_at_start = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        code = make_session(home, args.raters, args.votes)
        server = Server(home)
        first_start = server.start()
        state = {"generation": 0, "acked": 0, "lock": threading.Lock()}
        raters = [Rater(i, server.url, code, state) for i in range(args.raters)]
        started = time.perf_counter()
        for rater in raters:
            rater.start()
        while state["acked"] < expected // 2:
            time.sleep(0.02)
        acked_before_kill = {vote_id for r in raters for vote_id, _ in r.acked}
        killed_at = time.perf_counter()
        server.kill()  # SIGKILL: no shutdown, in-flight calls cut off
        state["generation"] += 1
        restart_seconds = server.start()
        for rater in raters:
            rater.join(timeout=600)
        elapsed = time.perf_counter() - started
        server.stop()
        stored = stored_votes(home)
        timings = server_timings(server.log_path)

    errors = [r.index for r in raters if r.is_alive()]
    lost = {v for v in acked_before_kill if not v.startswith("(")} - stored.pop("ids")
    result = {
        "raters": args.raters,
        "votes_per_rater": args.votes,
        "raters_joined": stored["raters"],
        "expected_votes": expected,
        "stored_votes": stored["votes"],
        "duplicate_votes": stored["duplicates"],
        "votes_per_rater_stored": stored["per_rater"],
        "max_votes_per_item": stored["max_votes_per_item"],
        "ratings_per_item_quota": 12,
        "server_ms": timings,
        "library_alone_vote_ms": library_alone(args.raters, args.votes),
        "client_ms": {
            "rating_vote": percentiles([s for r in raters for s in r.vote_seconds], 1000),
            "rating_next": percentiles([s for r in raters for s in r.next_seconds], 1000),
        },
        "kill": {
            "signal": "SIGKILL",
            "votes_acknowledged_before_kill": len(acked_before_kill),
            "acknowledged_votes_lost": len(lost),
            "cut_off_votes_found_stored_on_retry": sum(
                r.duplicates_taken_as_stored for r in raters
            ),
            "items_served_before_kill_voted_after_restart": sum(r.carried_over for r in raters),
            "transport_retries": sum(r.transport_retries for r in raters),
            "first_start_seconds": round(first_start, 2),
            "restart_seconds": round(restart_seconds, 2),
            "killed_after_seconds": round(killed_at - started, 2),
        },
        "wall_seconds": round(elapsed, 2),
        "raters_unfinished": errors,
        "cpu_count": os.cpu_count(),
        # The machine is shared: its load says how much of it this run had.
        "load_average_1min": {"start": load_at_start, "end": round(os.getloadavg()[0], 2)},
        "ok": stored["votes"] == expected and stored["duplicates"] == 0 and not lost,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
