"""Split rows into train / val / test: stratified by a label, seeded, free of leaks.

The unit of splitting is a duplicate cluster (a single row once duplicates are dropped),
so similar rows kept together can never sit on both sides of a split. Units are grouped
by the stratify label, and each group is shuffled by a generator seeded with the seed and
the label, so one label's rows do not move when another label gains a row. Each split
gets floor(n × ratio) units of a group; the units left over go one at a time to the split
furthest below its overall target. So each label is split in proportion (to a unit or
two), and many small labels do not all round towards train: the overall counts stay
within about one unit of exact. The leakage check then verifies, independently, that no
exact or near-duplicate pair crosses two splits.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ftcore.data.minhash import NGRAM, Hashes, ShingleCache, likely_pairs

SPLITS = ("train", "val", "test")
SEALED_SPLIT = "test"
MISSING_LABEL = "(none)"  # the stratum of rows without the stratify label


def _stratum_counts(
    size: int, ratios: Sequence[float], seen: int, assigned: list[int]
) -> list[int]:
    counts = [math.floor(size * ratio + 1e-9) for ratio in ratios]
    for _ in range(size - sum(counts)):
        deficits = [seen * r - (assigned[j] + counts[j]) for j, r in enumerate(ratios)]
        best = max(range(len(ratios)), key=lambda j: (deficits[j], -j))
        counts[best] += 1
    return counts


def assign_splits(
    groups: Sequence[int] | np.ndarray,
    strata: Sequence[object],
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 42,
) -> np.ndarray:
    """The split (an index into SPLITS) of every row.

    `groups[i]` names the unit of row i by the unit's first row (rows sharing a value
    always share a split); `strata[g]` is the label of row g, so the first row's label
    decides for its unit.
    """
    groups = np.asarray(groups, dtype=np.int64)
    units = np.unique(groups)  # sorted: in order of first appearance
    by_stratum: dict[str, list[int]] = {}
    for position, unit in enumerate(units.tolist()):
        by_stratum.setdefault(str(strata[unit]), []).append(position)
    unit_split = np.empty(len(units), dtype=np.int8)
    assigned, seen = [0] * len(ratios), 0
    for label in sorted(by_stratum):
        members = by_stratum[label]
        random.Random(f"{seed}:{label}").shuffle(members)
        seen += len(members)
        counts = _stratum_counts(len(members), ratios, seen, assigned)
        cuts = np.cumsum([0, *counts])
        for split, count in enumerate(counts):
            unit_split[members[cuts[split] : cuts[split + 1]]] = split
            assigned[split] += count
    return unit_split[np.searchsorted(units, groups)]


def split_rows(
    group: np.ndarray,
    dropped: np.ndarray,
    strata: Sequence[object],
    ratios: Sequence[float],
    seed: int,
) -> np.ndarray:
    """Every row's split index after deduplication: -1 for rows dropped as duplicates,
    and each cluster's kept rows together (see ftcore.data.dedup.Duplicates)."""
    split_of = np.full(len(group), -1, dtype=np.int8)
    kept = np.flatnonzero(~dropped)
    split_of[kept] = assign_splits(group[kept], strata, ratios, seed)
    return split_of


@dataclass(frozen=True)
class LeakPair:
    """Two rows in different splits that are (near-)duplicates of each other."""

    first: int
    second: int
    splits: tuple[str, str]
    similarity: float


def _exact_leaks(split_of: np.ndarray, exact_keys: np.ndarray, rows: np.ndarray) -> list[LeakPair]:
    """Rows whose exact key equals an earlier row's in another split."""
    keys = exact_keys[rows]
    order = np.lexsort((rows, keys))  # by key, then by row
    ordered_rows, ordered_keys = rows[order], keys[order]
    starts = np.flatnonzero(np.r_[True, ordered_keys[1:] != ordered_keys[:-1]])
    first = ordered_rows[np.repeat(starts, np.diff(np.r_[starts, len(order)]))]
    crossing = split_of[first] != split_of[ordered_rows]
    return [
        LeakPair(a, b, (SPLITS[split_of[a]], SPLITS[split_of[b]]), 1.0)
        for a, b in zip(first[crossing].tolist(), ordered_rows[crossing].tolist(), strict=True)
    ]


def find_leaks(
    split_of: np.ndarray,
    exact_keys: np.ndarray,
    hashes: Hashes | None,
    text_of: Callable[[int], str],
    *,
    threshold: float = 0.95,
    ngram: int = NGRAM,
) -> list[LeakPair]:
    """Pairs of rows in different splits (split_of < 0: in none) that are exact
    duplicates, or near duplicates when MinHash hashes are given."""
    rows = np.flatnonzero(split_of >= 0)
    leaks = _exact_leaks(split_of, exact_keys, rows)
    if hashes is None:
        return leaks
    found = {(leak.first, leak.second) for leak in leaks}
    pairs = likely_pairs(hashes, threshold, rows)
    pairs = pairs[split_of[pairs[:, 0]] != split_of[pairs[:, 1]]]
    sets = ShingleCache(text_of, ngram)
    for first, second in pairs.tolist():
        if (first, second) in found:
            continue
        similarity = sets.similarity(first, second)
        if similarity >= threshold:
            splits = (SPLITS[split_of[first]], SPLITS[split_of[second]])
            leaks.append(LeakPair(first, second, splits, round(similarity, 4)))
    return sorted(leaks, key=lambda leak: (leak.first, leak.second))
