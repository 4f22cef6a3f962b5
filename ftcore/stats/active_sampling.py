"""Adaptive assignment: serve next the pair whose next vote shrinks its interval the most.

Chatbot Arena's active sampling (Chiang et al. 2024, "Chatbot Arena", section 5): pair a
is drawn with probability

    P(a) ∝ √(Σ_a / n_a) − √(Σ_a / (n_a + 1))

where n_a is the votes pair a has and Σ_a the variance of one vote on it, so that
√(Σ_a / n_a) is the standard error of its win rate and the difference is how much one
more vote would shrink it. Pairs with wide intervals are served more, pairs already
pinned down less. With equal variances and counts this is uniform.

Σ_a is estimated from the pair's vote scores (1 win, ½ tie or both bad, 0 loss for the
first model), shrunk towards ¼, the largest variance a score in [0, 1] can have, by
`prior_votes` pseudo-votes: a pair whose first two votes happen to agree would
otherwise look certain and never be served again. A pair without votes has an unbounded
standard error: such pairs share all the probability until each has a vote.

`item_probabilities` carries a pair's probability over to the items that show it: the
items of that pair with the fewest votes share it equally.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

import numpy as np

from ftcore.stats.vote_records import Vote

Key = TypeVar("Key", bound=Hashable)
MAX_VOTE_VARIANCE = 0.25  # a score in [0, 1] varies at most this much (half 0, half 1)


def shrink_weights(variances: Sequence[float], counts: Sequence[int]) -> np.ndarray:
    """Probabilities ∝ √(Σ/n) − √(Σ/(n + 1)); candidates with n = 0 share everything;
    uniform when no candidate's interval can shrink (every Σ is 0)."""
    variance = np.asarray(variances, dtype=np.float64)
    count = np.asarray(counts, dtype=np.float64)
    if variance.shape != count.shape or variance.ndim != 1 or variance.size == 0:
        raise ValueError(f"need equal, non-empty lists: {variance.shape} vs {count.shape}")
    if (variance < 0).any() or (count < 0).any():
        raise ValueError("variances and counts must be ≥ 0")
    unseen = count == 0
    if unseen.any():
        return unseen / unseen.sum()
    gain = np.sqrt(variance / count) - np.sqrt(variance / (count + 1))
    if gain.sum() == 0:
        return np.full(len(gain), 1 / len(gain))
    return gain / gain.sum()


def vote_variance(scores: Sequence[float], prior_votes: float = 2.0) -> float:
    """The variance of one vote's score, shrunk towards ¼ by `prior_votes` pseudo-votes:
    (Σ (s − mean)² + prior_votes·¼) / (n + prior_votes)."""
    values = np.asarray(scores, dtype=np.float64)
    if prior_votes < 0 or (values.size == 0 and prior_votes == 0):
        raise ValueError(f"prior_votes must be ≥ 0 (> 0 without scores), got {prior_votes}")
    spread = float(((values - values.mean()) ** 2).sum()) if values.size else 0.0
    return (spread + prior_votes * MAX_VOTE_VARIANCE) / (values.size + prior_votes)


def pair_probabilities(
    votes: Sequence[Vote], pairs: Sequence[tuple[str, str]], prior_votes: float = 2.0
) -> dict[tuple[str, str], float]:
    """Probability of serving each of `pairs` (name-ordered model pairs) next."""
    scores: dict[tuple[str, str], list[float]] = {pair: [] for pair in pairs}
    for vote in votes:
        if vote.pair in scores:
            scores[vote.pair].append(vote.score_of(vote.pair[0]))
    variances = [vote_variance(scores[pair], prior_votes) for pair in pairs]
    weights = shrink_weights(variances, [len(scores[pair]) for pair in pairs])
    return dict(zip(pairs, weights.tolist(), strict=True))


def item_probabilities(
    candidates: Mapping[str, tuple[str, str]], votes: Sequence[Vote], prior_votes: float = 2.0
) -> dict[str, float]:
    """Probability of serving each candidate item next. `candidates`: item_id → the
    name-ordered pair it shows, only items this rater may still see; `votes`: every vote
    in the session so far (the pairs' counts and variances come from all of them)."""
    pairs = sorted(set(candidates.values()))
    by_pair = pair_probabilities(votes, pairs, prior_votes)
    item_votes = {item: 0 for item in candidates}
    for vote in votes:
        if vote.item_id in item_votes:
            item_votes[vote.item_id] += 1
    probabilities = dict.fromkeys(candidates, 0.0)
    for pair in pairs:
        items = [item for item, shown in candidates.items() if shown == pair]
        fewest = min(item_votes[item] for item in items)
        least_voted = [item for item in items if item_votes[item] == fewest]
        for item in least_voted:
            probabilities[item] = by_pair[pair] / len(least_voted)
    return probabilities


def draw(probabilities: Mapping[Key, float], rng: np.random.Generator) -> Key:
    """One key drawn with the given probabilities."""
    keys = list(probabilities)
    return keys[rng.choice(len(keys), p=np.asarray([probabilities[k] for k in keys]))]
