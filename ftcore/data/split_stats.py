"""Statistics of a dataset version for its manifest: labels and lengths per split."""

from __future__ import annotations

from collections import Counter

import numpy as np

MAX_LABEL_VALUES = 50  # a label with more distinct values (an id, free text) is not tabulated


class LabelCounts:
    """Counts of each label's values in each split; labels with too many values are
    dropped from the table and only named in `too_many`."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, Counter]] = {}
        self.values: dict[str, set[str]] = {}
        self.too_many: set[str] = set()

    def add(self, split: str, labels: dict) -> None:
        for name, value in labels.items():
            if name in self.too_many:
                continue
            value = str(value)
            seen = self.values.setdefault(name, set())
            seen.add(value)
            if len(seen) > MAX_LABEL_VALUES:
                self.too_many.add(name)
                del self.counts[name], self.values[name]
                continue
            self.counts.setdefault(name, {}).setdefault(split, Counter())[value] += 1

    def for_split(self, split: str) -> dict[str, dict[str, int]]:
        return {
            name: dict(sorted(per_split.get(split, Counter()).items()))
            for name, per_split in sorted(self.counts.items())
        }


# Fixed, doubling bin edges: every split of every version shares them, so their
# histograms can be drawn side by side without a pass over all splits first.
LENGTH_BIN_EDGES = [0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]


def length_histogram(lengths: np.ndarray) -> dict:
    """Row counts per length bin [edge_i, edge_i+1); the last bin is open-ended."""
    edges = [*LENGTH_BIN_EDGES, np.inf]
    counts, _ = np.histogram(lengths, bins=edges)
    return {"edges": LENGTH_BIN_EDGES, "counts": [int(count) for count in counts]}


def length_stats(lengths: np.ndarray, unit: str) -> dict:
    """min, mean, median, 95th percentile, max and a histogram of row lengths, in `unit`."""
    if len(lengths) == 0:
        return {"unit": unit, "rows": 0}
    return {
        "unit": unit,
        "rows": int(len(lengths)),
        "min": int(lengths.min()),
        "mean": round(float(lengths.mean()), 1),
        "p50": round(float(np.percentile(lengths, 50)), 1),
        "p95": round(float(np.percentile(lengths, 95)), 1),
        "max": int(lengths.max()),
        "histogram": length_histogram(lengths),
    }
