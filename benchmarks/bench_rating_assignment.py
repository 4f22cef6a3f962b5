"""Benchmark: the rating library under 50 concurrent raters, without HTTP.

50 threads over two Database objects (two processes' worth of connections) each join a
session, then take the next item and vote 20 times. Timed per call inside the process, so
the figures are what the library adds to a request (the HTTP benchmark of issue 10 adds
Gradio's share on top). Sessions of 600 and 3,000 items show how `next_item`, which looks
at every item of the session to find the least covered one, grows with session size.
Checks: exactly 50 × 20 votes stored, no (rater, item) twice, no quota exceeded.
Results: benchmarks/results/rating_assignment.json.

    python benchmarks/bench_rating_assignment.py [--raters 50] [--votes 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path

from ftcore.db import Database
from ftcore.rating import service
from ftcore.rating.plan import SessionPlan
from ftcore.rating.sessions import create_session

RESULTS = Path(__file__).resolve().parent / "results" / "rating_assignment.json"
CRITERIA = ("completeness", "fluency", "style_fit", "sincerity")
SCORES = {side: dict.fromkeys(CRITERIA, 3) for side in "AB"}


def predictions_file(folder: Path, examples: int, models: int) -> Path:
    path = folder / f"predictions-{examples}x{models}.jsonl"
    with open(path, "w", encoding="utf-8") as file:
        for index in range(examples):
            for model in range(models):
                row = {
                    "id": f"ex{index}",
                    "prompt": f"给外婆写一条春节祝福，第 {index} 条",
                    "model": f"model-{model}",
                    "prediction": f"外婆，新年快乐，身体健康！（{model}-{index}）" * 3,
                }
                file.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(folder: Path, examples: int, models: int, raters: int, votes: int) -> dict:
    databases = [Database(folder / f"bench-{examples}.db") for _ in range(2)]
    plan = SessionPlan(
        name="Benchmark",
        predictions=str(predictions_file(folder, examples, models)),
        ratings_per_item=3,
        min_seconds=0,
    )
    info = create_session(databases[0], None, plan)
    timings: dict[str, list[float]] = {"next_item": [], "vote": []}
    lock = threading.Lock()
    barrier = threading.Barrier(raters)

    def rater(index: int) -> None:
        database = databases[index % 2]
        token = service.join(database, info.code, f"rater {index}")["rater_token"]
        barrier.wait()
        for _ in range(votes):
            start = time.perf_counter()
            item = service.next_item(database, token)
            served = time.perf_counter()
            service.vote(database, token, item["item_token"], "A", SCORES)
            done = time.perf_counter()
            with lock:
                timings["next_item"].append(served - start)
                timings["vote"].append(done - served)

    started = time.perf_counter()
    threads = [threading.Thread(target=rater, args=(i,)) for i in range(raters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    check = databases[0]
    stored = check.query_value("SELECT COUNT(*) FROM rating_votes")
    doubled = check.query_value(
        "SELECT COUNT(*) FROM (SELECT 1 FROM rating_votes GROUP BY rater_id, item_id "
        "HAVING COUNT(*) > 1)"
    )
    fullest = check.query_value(
        "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM rating_votes GROUP BY item_id)"
    )
    for database in databases:
        database.close()
    return {
        "items": info.items,
        "votes_stored": stored,
        "duplicate_votes": doubled,
        "most_votes_on_one_item": fullest,
        "wall_seconds": round(wall, 2),
        "votes_per_second": round(stored / wall, 1),
        **{
            f"{name}_ms": {
                "p50": round(1000 * statistics.median(values), 2),
                "p95": round(1000 * percentile(values, 0.95), 2),
                "max": round(1000 * max(values), 2),
            }
            for name, values in timings.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--votes", type=int, default=20)
    args = parser.parse_args()
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "raters": args.raters,
        "votes_per_rater": args.votes,
        "ratings_per_item": 3,
        "sessions": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        for examples, models in ((200, 3), (3000, 2)):
            key = f"{examples} examples x {models} models"
            results["sessions"][key] = run(Path(folder), examples, models, args.raters, args.votes)
            print(key, json.dumps(results["sessions"][key]))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
