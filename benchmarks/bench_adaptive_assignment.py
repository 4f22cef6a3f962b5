"""Benchmark: votes needed by adaptive (active sampling) vs uniform assignment of pairs.

Simulated rating sessions: models with true Elo ratings, a share of ties / both-bad
votes, and raters who vote by the Bradley–Terry probability. After each vote the next
pair is drawn either uniformly or with ftcore.stats.active_sampling's probabilities
(∝ √(Σ/n) − √(Σ/(n+1)), refreshed every vote). A session ends when every pair's win
rate (ties half) has a 95% interval narrower than the target width (normal
approximation, 1.96·√(s²/n) each side, at least 10 votes per pair): the votes it took
are compared, each pair's votes drawn from the same stream under every strategy.

A third strategy, "widest_first", serves the pair whose interval is widest now (largest
√(Σ/n)), ties broken at random: ftcore.rating.assignment.widest_pairs, the rule that a
session's `adaptive` option uses. It aims at the stopping criterion; the Arena rule
tilts votes only mildly towards uncertain pairs (at equilibrium a pair's share of votes
grows like Σ^(1/5), where equal widths need it to grow like Σ).

Results: benchmarks/results/adaptive_assignment.json.

    python benchmarks/bench_adaptive_assignment.py [--sessions 200] [--width 0.2]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import platform
import time
from pathlib import Path

import numpy as np

from ftcore.rating.assignment import widest_pairs
from ftcore.stats.active_sampling import shrink_weights, vote_variance

RESULTS = Path(__file__).resolve().parent / "results" / "adaptive_assignment.json"
Z = 1.959963984540054
MIN_VOTES = 10  # per pair before its interval counts as known

SCENARIOS = {
    # Two models: one pair, nothing to choose; both strategies must need the same.
    "2 models": {"elo": [1000, 1100], "tie_share": 0.2},
    # A close race at the top and a clearly weaker model.
    "4 models, mixed gaps": {"elo": [1000, 1030, 1150, 1350], "tie_share": 0.2},
    # Six models spread over 500 points, fewer ties.
    "6 models, wide spread": {"elo": [900, 950, 1000, 1050, 1200, 1400], "tie_share": 0.1},
}


def outcome_probabilities(elo: list[float], tie_share: float) -> dict:
    """pair → (P(first wins), P(tie or both bad)) and the variance of one vote's score."""
    table = {}
    for i, j in itertools.combinations(range(len(elo)), 2):
        p = 1 / (1 + 10 ** ((elo[j] - elo[i]) / 400))
        win = (1 - tie_share) * p
        mean = win + tie_share / 2
        variance = win + tie_share / 4 - mean**2
        table[(i, j)] = (win, tie_share, variance)
    return table


def run_session(table: dict, width: float, strategy: str, seed: int) -> int:
    """Votes until every pair's interval is narrower than `width`. Each pair's votes come
    from its own random stream, so the n-th vote on a pair is the same whichever strategy
    asked for it (common random numbers: the strategies differ only in what they ask)."""
    pairs = list(table)
    pick, *streams = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(pairs) + 1)
    )
    scores: list[list[float]] = [[] for _ in pairs]
    variances = [vote_variance([]) for _ in pairs]  # the shrunk Σ each strategy sees
    widths = [math.inf] * len(pairs)  # current interval width per pair, for stopping
    total = 0
    while max(widths) > width:
        counts = [len(s) for s in scores]
        if strategy == "adaptive":
            k = pick.choice(len(pairs), p=shrink_weights(variances, counts))
        elif strategy == "widest_first":  # the pair with the largest √(Σ/n) now
            widest = widest_pairs(dict(enumerate(scores)))
            k = widest[pick.integers(len(widest))]
        else:
            k = pick.integers(len(pairs))
        win, tie, _ = table[pairs[k]]
        u = streams[k].random()
        scores[k].append(1.0 if u < win else 0.5 if u < win + tie else 0.0)
        variances[k] = vote_variance(scores[k])
        if len(scores[k]) >= MIN_VOTES:
            widths[k] = 2 * Z * math.sqrt(np.var(scores[k], ddof=1) / len(scores[k]))
        total += 1
    return total


def scenario_result(setting: dict, sessions: int, width: float, seed: int) -> dict:
    table = outcome_probabilities(setting["elo"], setting["tie_share"])
    result = {**setting, "pairs": len(table)}
    for name in ("uniform", "adaptive", "widest_first"):
        started = time.perf_counter()
        needed = [run_session(table, width, name, seed + i) for i in range(sessions)]
        result[name] = {
            "mean_votes": round(float(np.mean(needed)), 1),
            "median_votes": float(np.median(needed)),
            "p10_p90": [float(np.percentile(needed, 10)), float(np.percentile(needed, 90))],
            "seconds": round(time.perf_counter() - started, 2),
        }
    for name in ("adaptive", "widest_first"):
        saving = 1 - result[name]["mean_votes"] / result["uniform"]["mean_votes"]
        result[f"{name}_saving"] = round(saving, 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--width", type=float, default=0.2, help="target 95%% interval width")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = {
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "sessions_per_strategy": args.sessions,
        "target_width": args.width,
        "scenarios": {
            name: scenario_result(setting, args.sessions, args.width, args.seed)
            for name, setting in SCENARIOS.items()
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
