"""Benchmark: do ftcore's intervals tell the truth? Coverage and detection by simulation.

- Mean of per-example values (Beta(2, 5), ROUGE-like) with the percentile bootstrap, by n:
  the share of nominal 95 % intervals that hold the true mean. This sets
  MIN_EXAMPLES_FOR_BOOTSTRAP in ftcore.metrics.confidence.
- Exact match (0/1) at several p with n = 20: Clopper–Pearson (what ftcore uses), Wilson,
  and the percentile bootstrap the audit found at 0.67 for p = 5 %.
- A fine-tune better by +0.03 on 50 ROUGE-L-like examples, correlation 0.8 with the base
  model: how often the 95 % interval of the difference lies above 0, paired (one
  resampling for both, as ftcore.metrics.comparisons does) versus independent.

Results: benchmarks/results/intervals.json.

    python benchmarks/bench_intervals.py [--reps 1000]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from ftcore.stats.bootstrap import bootstrap_mean_ci, bootstrap_mean_difference_ci, mean_aggregate
from ftcore.stats.intervals import clopper_pearson_interval, wilson_interval
from ftcore.stats.paired import paired_difference

RESULTS = Path(__file__).resolve().parent / "results" / "intervals.json"


def mean_coverage(reps: int) -> dict[str, float]:
    truth = 2 / 7  # mean of Beta(2, 5)
    coverage = {}
    for n in (5, 10, 20, 30, 50, 100):
        rng = np.random.default_rng(n)
        hits = 0
        for rep in range(reps):
            low, high = bootstrap_mean_ci(rng.beta(2, 5, n), n_resamples=500, seed=rep)
            hits += low <= truth <= high
        coverage[f"n={n}"] = hits / reps
    return coverage


def proportion_coverage(reps: int, n: int = 20) -> dict[str, dict[str, float]]:
    results = {}
    for p in (0.01, 0.05, 0.2, 0.5):
        rng = np.random.default_rng(int(p * 1000))
        hits = {"clopper_pearson": 0, "wilson": 0, "percentile_bootstrap": 0}
        for rep in range(reps):
            sample = (rng.random(n) < p).astype(float)
            intervals = {
                "clopper_pearson": clopper_pearson_interval(sample.sum(), n),
                "wilson": wilson_interval(sample.sum(), n),
                "percentile_bootstrap": bootstrap_mean_ci(sample, n_resamples=500, seed=rep),
            }
            for name, (low, high) in intervals.items():
                hits[name] += low <= p <= high
        results[f"p={p}"] = {name: count / reps for name, count in hits.items()}
    return results


def detection(seeds: int, n: int = 50, gain: float = 0.03, sigma: float = 0.1) -> dict:
    paired = independent = 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        shared, own = rng.standard_normal((2, n))
        base = np.clip(0.4 + sigma * shared, 0, 1)
        tuned = np.clip(0.4 + gain + sigma * (0.8 * shared + math.sqrt(1 - 0.64) * own), 0, 1)
        paired += paired_difference(tuned, base, mean_aggregate, 1000, seed).interval.low > 0
        independent += bootstrap_mean_difference_ci(tuned, base, 1000, seed).low > 0
    return {
        "setting": f"gain {gain}, n {n}, per-example sd {sigma}, correlation 0.8",
        "seeds": seeds,
        "paired_found": paired / seeds,
        "independent_found": independent / seeds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    args = parser.parse_args()
    start = time.perf_counter()
    results = {
        "reps": args.reps,
        "mean_percentile_bootstrap_coverage": mean_coverage(args.reps),
        "exact_match_coverage_n20": proportion_coverage(args.reps),
        "paired_vs_independent_detection": detection(200),
    }
    results["seconds"] = round(time.perf_counter() - start, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
