"""Group duplicate conversations into clusters; each cluster is kept by its first row.

Exact duplicates have the same roles and contents after NFC, case folding and collapsing
whitespace. Near duplicates have user and assistant text whose character n-gram Jaccard
similarity reaches the threshold (see ftcore.data.minhash). Clusters are linked
transitively (A like B and B like C make one cluster), so a split that keeps each
cluster together can never separate a similar pair. System prompts are left out of the
near-duplicate text: one long system prompt shared by every row would make unrelated
rows look alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ftcore.chat_format import Message
from ftcore.data.minhash import NGRAM, Hashes, MinHasher, ShingleCache, likely_pairs


def exact_key(messages: Sequence[Message]) -> int:
    """A 64-bit key equal for conversations that differ only in case and spacing."""
    canonical = "\x1e".join(
        f"{message['role']}\x1f{' '.join(message['content'].casefold().split())}"
        for message in messages
    )
    return int.from_bytes(hashlib.blake2b(canonical.encode(), digest_size=8).digest(), "little")


def near_text(messages: Sequence[Message]) -> str:
    """The text compared for near duplicates: every turn but the system prompt."""
    return "\n".join(message["content"] for message in messages if message["role"] != "system")


@dataclass(frozen=True)
class ClusterMember:
    row: int
    kind: str  # "exact" (same text as the kept row once normalised) or "near"
    similarity: float  # n-gram Jaccard similarity to the kept row
    dropped: bool


@dataclass
class DuplicateCluster:
    kept: int  # the row the cluster keeps: its first
    members: list[ClusterMember] = field(default_factory=list)


@dataclass
class Duplicates:
    """Every row's cluster, which rows are dropped, and the clusters of two or more."""

    group: np.ndarray  # for each row, the index of the row its cluster keeps
    dropped: np.ndarray  # bool per row
    clusters: list[DuplicateCluster]
    exact_dropped: int = 0
    near_dropped: int = 0
    pairs_checked: int = 0  # likely pairs whose exact similarity was computed


def _root(parent: dict[int, int], row: int) -> int:
    while parent.get(row, row) != row:
        parent[row] = parent.get(parent[row], parent[row])  # path halving
        row = parent[row]
    return row


def _near_groups(pairs: np.ndarray, sets: ShingleCache, threshold: float) -> dict[int, int]:
    """Union-find over the verified pairs; every root is the smallest row of its set."""
    parent: dict[int, int] = {}
    for a, b in pairs.tolist():
        if sets.similarity(a, b) >= threshold:
            root_a, root_b = _root(parent, a), _root(parent, b)
            if root_a != root_b:
                parent[max(root_a, root_b)] = min(root_a, root_b)
    return {row: _root(parent, row) for row in list(parent)}


def cluster_duplicates(
    exact_keys: np.ndarray,
    hashes: Hashes | None,
    text_of: Callable[[int], str],
    *,
    threshold: float = 0.95,
    ngram: int = NGRAM,
    drop_exact: bool = True,
    drop_near: bool = True,
) -> Duplicates:
    """Cluster rows by exact key and, when MinHash hashes are given, by near-duplicate
    text. `text_of(row)` returns a row's near_text; it is called only for likely pairs,
    so the texts of a large dataset can stay on disk.
    """
    count = len(exact_keys)
    rows = np.arange(count)
    if count == 0:
        return Duplicates(rows, np.zeros(0, dtype=bool), [])
    _, first, inverse = np.unique(exact_keys, return_index=True, return_inverse=True)
    exact_rep = first[inverse.reshape(-1)]
    group = exact_rep.copy()
    sets = ShingleCache(text_of, ngram)
    pairs = np.empty((0, 2), dtype=np.int64)
    if hashes is not None:
        pairs = likely_pairs(hashes, threshold, np.flatnonzero(exact_rep == rows))
        roots = _near_groups(pairs, sets, threshold)
        near_rep = np.arange(count)
        for row, root in roots.items():
            near_rep[row] = root
        group = near_rep[exact_rep]
    is_exact_copy, is_near = exact_rep != rows, group != exact_rep
    dropped = (drop_exact & is_exact_copy) | (drop_near & is_near)
    result = Duplicates(group, dropped, [], pairs_checked=len(pairs))
    result.exact_dropped = int((dropped & is_exact_copy & ~is_near).sum())
    result.near_dropped = int((dropped & is_near).sum())
    result.clusters = _clusters(group, exact_rep, dropped, sets)
    return result


def _clusters(group, exact_rep, dropped, sets: ShingleCache) -> list[DuplicateCluster]:
    sizes = np.bincount(group, minlength=len(group))
    clusters: dict[int, DuplicateCluster] = {}
    for row in np.flatnonzero((sizes[group] > 1) & (group != np.arange(len(group)))):
        kept, rep = int(group[row]), int(exact_rep[row])
        cluster = clusters.setdefault(kept, DuplicateCluster(kept))
        if rep == kept:
            member = ClusterMember(int(row), "exact", 1.0, bool(dropped[row]))
        else:
            similarity = round(sets.similarity(kept, rep), 4)
            member = ClusterMember(int(row), "near", similarity, bool(dropped[row]))
        cluster.members.append(member)
    return [clusters[kept] for kept in sorted(clusters)]


def find_duplicates(
    conversations: Sequence[Sequence[Message]],
    *,
    threshold: float | None = 0.95,
    ngram: int = NGRAM,
    drop_exact: bool = True,
    drop_near: bool = True,
) -> Duplicates:
    """Duplicates among conversations held in memory (threshold None: exact only)."""
    keys = np.array([exact_key(messages) for messages in conversations], dtype=np.uint64)
    texts = [near_text(messages) for messages in conversations]
    hashes = MinHasher(threshold, ngram).hashes(texts) if threshold is not None else None
    return cluster_duplicates(
        keys,
        hashes,
        texts.__getitem__,
        threshold=threshold or 1.0,
        ngram=ngram,
        drop_exact=drop_exact,
        drop_near=drop_near,
    )
