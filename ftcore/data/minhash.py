"""Near-duplicate candidates: character n-gram sets, MinHash signatures and banded LSH.

Similarity is the Jaccard index of two texts' sets of character n-grams, taken after case
folding and with punctuation, symbols and spaces removed: it needs no word boundaries,
so Chinese and English are measured the same way. MinHash (one multiply-shift hash per
permutation over 64-bit n-gram hashes, in numpy) and LSH banding only *propose* pairs;
callers verify each with the exact Jaccard, so the outcome does not depend on hashing
luck. Every hash is seeded with a constant: the same texts always give the same pairs.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

NGRAM = 3  # characters; 3 keeps a one-character edit in a short Chinese text visible
NUM_PERM = 128
TARGET_RECALL = 0.999  # chance that LSH proposes a pair whose similarity is the threshold
SKETCH_SIZE = 32  # MinHash values kept (8 bits each) to estimate a candidate's similarity
# Candidates estimated more than this many standard deviations below the threshold are
# not verified: a pair at the threshold falls there with odds of about 1 in 50 million.
SKETCH_SIGMAS = 5.5
ALL_PAIRS_UP_TO = 8  # buckets up to this size yield all their pairs
HASH_SEED = 20240210  # fixed: duplicates must not depend on the user's split seed
BATCH_SIZE = 512  # texts hashed together: larger batches save little time, cost memory
NOT_WORD = re.compile(r"[\W_]+")  # punctuation, symbols and spaces (CJK characters are words)
MIX = np.uint64(0xBF58476D1CE4E5B9)
PRIME = np.uint64(0x100000001B3)


def comparable_text(text: str) -> str:
    """The text that n-grams are taken from: case-folded, without punctuation or spaces."""
    folded = text.casefold()
    stripped = NOT_WORD.sub("", folded)
    return stripped or folded  # a text of only punctuation is still compared as written


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads nearby integers over all 64 bits."""
    values = values ^ (values >> np.uint64(31))
    values = values * MIX
    return values ^ (values >> np.uint64(29))


def shingles(text: str, ngram: int = NGRAM) -> np.ndarray:
    """Sorted unique 64-bit hashes of the character n-grams of comparable_text(text)."""
    codes = np.frombuffer(comparable_text(text).encode("utf-32-le"), dtype=np.uint32)
    codes = codes.astype(np.uint64) + np.uint64(1)  # so that padding differs from U+0000
    if len(codes) < ngram:
        codes = np.concatenate([codes, np.zeros(ngram - len(codes), dtype=np.uint64)])
    count = len(codes) - ngram + 1
    with np.errstate(over="ignore"):
        hashes = codes[:count].copy()
        for offset in range(1, ngram):
            hashes = hashes * PRIME + codes[offset : offset + count]
        return np.unique(_mix(hashes))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard index of two shingle sets (sorted unique arrays)."""
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)


class ShingleCache:
    """Shingle sets by row, from `text_of(row)`, keeping the most recently used ones:
    pairs come sorted by their first row, so a small cache serves most lookups."""

    def __init__(self, text_of: Callable[[int], str], ngram: int = NGRAM, size: int = 1024):
        self.text_of, self.ngram, self.size = text_of, ngram, size
        self.cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def __getitem__(self, row: int) -> np.ndarray:
        if row in self.cache:
            self.cache.move_to_end(row)
        else:
            self.cache[row] = shingles(self.text_of(row), self.ngram)
            if len(self.cache) > self.size:
                self.cache.popitem(last=False)
        return self.cache[row]

    def similarity(self, a: int, b: int) -> float:
        return jaccard(self[a], self[b])


def lsh_bands(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(bands, rows per band): the most selective banding that still proposes a pair of
    similarity `threshold` with probability TARGET_RECALL."""
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if 1 - (1 - threshold**rows) ** bands >= TARGET_RECALL:
            return bands, rows
    return num_perm, 1


@dataclass(frozen=True)
class Hashes:
    """What near-duplicate search keeps per text: LSH band keys, to find candidates, and
    a sketch (8 bits of some MinHash values) that estimates similarity in memory, so most
    false candidates never need their texts read back."""

    band_keys: np.ndarray  # texts × bands, uint32: a chance collision only adds a candidate
    sketches: np.ndarray  # texts × SKETCH_SIZE, uint8

    def __len__(self) -> int:
        return len(self.band_keys)

    @classmethod
    def join(cls, parts: Sequence[Hashes], bands: int) -> Hashes:
        if not parts:
            empty = np.empty((0, bands), dtype=np.uint32)
            return cls(empty, np.empty((0, SKETCH_SIZE), dtype=np.uint8))
        return cls(
            np.concatenate([p.band_keys for p in parts]),
            np.concatenate([p.sketches for p in parts]),
        )


class MinHasher:
    """Hashes of texts: rows whose band keys agree in any band are candidate pairs."""

    def __init__(self, threshold: float, ngram: int = NGRAM, num_perm: int = NUM_PERM):
        self.ngram, self.threshold = ngram, threshold
        self.bands, self.rows = lsh_bands(threshold, num_perm)
        generator = np.random.default_rng(HASH_SEED)
        high = np.iinfo(np.uint64).max
        self.multipliers = generator.integers(0, high, num_perm, dtype=np.uint64) | np.uint64(1)
        self.offsets = generator.integers(0, high, num_perm, dtype=np.uint64)
        self.band_mix = generator.integers(0, high, self.rows, dtype=np.uint64) | np.uint64(1)

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """MinHash signatures, one row of `bands * rows` uint32 values per text."""
        used = max(self.bands * self.rows, SKETCH_SIZE)
        result = np.empty((len(texts), used), dtype=np.uint32)
        for start in range(0, len(texts), BATCH_SIZE):
            sets = [shingles(text, self.ngram) for text in texts[start : start + BATCH_SIZE]]
            starts = np.cumsum([0] + [len(s) for s in sets[:-1]])
            values = np.concatenate(sets)
            with np.errstate(over="ignore"):
                for column in range(used):
                    hashed = (self.multipliers[column] * values + self.offsets[column]) >> 32
                    result[start : start + len(sets), column] = np.minimum.reduceat(hashed, starts)
        return result

    def hashes(self, texts: Sequence[str]) -> Hashes:
        if not texts:
            return Hashes.join([], self.bands)
        signatures = self.signatures(texts)
        used = self.bands * self.rows
        banded = signatures[:, :used].astype(np.uint64).reshape(len(texts), self.bands, self.rows)
        with np.errstate(over="ignore"):
            keys = _mix((banded * self.band_mix).sum(axis=2, dtype=np.uint64)) >> np.uint64(32)
        return Hashes(keys.astype(np.uint32), (signatures[:, :SKETCH_SIZE] & 0xFF).astype(np.uint8))


def _bucket_pairs(members: np.ndarray, starts: np.ndarray, size: int) -> list[np.ndarray]:
    """(i, j) pairs, i < j, within buckets of `size` rows starting at `starts`."""
    if size <= ALL_PAIRS_UP_TO:
        grid = np.sort(members[starts[:, None] + np.arange(size)], axis=1)
        return [grid[:, [a, b]] for a, b in combinations(range(size), 2)]
    # A large bucket (a template repeated with small changes): each row with the first
    # and with its neighbour keeps the work linear and the implied clusters connected.
    pairs = []
    for start in starts:
        bucket = np.sort(members[start : start + size])
        pairs.append(np.stack([np.full(size - 1, bucket[0]), bucket[1:]], axis=1))
        pairs.append(np.stack([bucket[1:-1], bucket[2:]], axis=1))
    return pairs


def candidate_pairs(keys: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Sorted unique (i, j), i < j, of rows (all, or those in `rows`) sharing a band key."""
    rows = np.arange(len(keys)) if rows is None else np.asarray(rows, dtype=np.int64)
    pairs: list[np.ndarray] = []
    for band in range(keys.shape[1]):
        column = keys[rows, band]
        order = np.argsort(column, kind="stable")
        ordered, members = column[order], rows[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        sizes = np.diff(np.r_[starts, len(ordered)])
        for size in np.unique(sizes[sizes >= 2]).tolist():
            pairs += _bucket_pairs(members, starts[sizes == size], size)
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(pairs).astype(np.int64), axis=0)


def estimated_similarity(sketches: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """MinHash estimate of each pair's similarity from the 8-bit sketches (unbiased for
    the 1-in-256 chance that two different values share their low 8 bits)."""
    agreement = (sketches[pairs[:, 0]] == sketches[pairs[:, 1]]).mean(axis=1)
    return (agreement - 1 / 256) / (1 - 1 / 256)


def likely_pairs(hashes: Hashes, threshold: float, rows: np.ndarray | None = None) -> np.ndarray:
    """Candidate pairs whose estimated similarity could still reach the threshold: the
    pairs worth verifying exactly."""
    pairs = candidate_pairs(hashes.band_keys, rows)
    if len(pairs) == 0:
        return pairs
    spread = SKETCH_SIGMAS * math.sqrt(threshold * (1 - threshold) / SKETCH_SIZE)
    return pairs[estimated_similarity(hashes.sketches, pairs) >= threshold - spread]
