"""Head-to-head results per pair of models, and the side and length biases of the votes.

Two win rates per pair, as AlpacaEval and Chatbot Arena report them:

- `win_rate_a`: (wins + ½ ties + ½ both-bad) / votes. Its interval is a percentile
  bootstrap over *items*: the votes on one item share a prompt and are not independent,
  so whole items are resampled (all of an item's votes together). With fewer than
  MIN_BOOTSTRAP_ITEMS items there is no interval (None): in simulation (1–3 raters per
  item, items differing in preference) the 95% interval covered the true rate 72% of the
  time over 3 items, 83% over 4 and 87% over 5, against 89–94% from 8 to 30 items, and
  over a few items that happen to score alike it collapses to a point (50%–50%).
- `win_rate_a_no_ties`: wins / decisive votes, a binomial proportion, with the Wilson
  interval (a bootstrap collapses to [1, 1] when one side won every vote; PITFALLS.md).
  Wilson treats decisive votes as independent, which they are with one vote per item.

Biases are shares of decisive votes with a Wilson interval and an exact binomial test
against ½: position bias is the share won by the left response; length bias is the
share won by the longer response (votes on equally long responses are left out).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ftcore.stats.bootstrap import Seed, bootstrap_ci
from ftcore.stats.intervals import Interval, wilson_interval
from ftcore.stats.paired import mcnemar_exact_p
from ftcore.stats.vote_records import (
    BOTH_BAD,
    LEFT,
    TIE,
    ResponseKey,
    Vote,
    models_in,
    votes_by_pair,
)

# Items needed before the item bootstrap of `win_rate_a` gives an interval (see above).
MIN_BOOTSTRAP_ITEMS = 8


@dataclass(frozen=True)
class PairResult:
    """model_a against model_b over every vote that showed the two together."""

    model_a: str
    model_b: str
    wins_a: int
    wins_b: int
    ties: int
    both_bad: int
    n_items: int  # items with at least one vote on this pair
    win_rate_a: float  # ties and both-bad as half a win to each side
    win_rate_a_ci: Interval | None  # bootstrap over items; None under MIN_BOOTSTRAP_ITEMS
    win_rate_a_no_ties: float | None  # decisive votes only; None without any
    win_rate_a_no_ties_ci: Interval | None  # Wilson

    @property
    def n_votes(self) -> int:
        return self.wins_a + self.wins_b + self.ties + self.both_bad

    @property
    def n_decisive(self) -> int:
        return self.wins_a + self.wins_b


class ShareAgainstHalf(NamedTuple):
    """A share of decisive votes, its Wilson interval, and the exact binomial test of
    "the share is ½". share and ci are None when no vote counts."""

    share: float | None
    ci: Interval | None
    n: int  # decisive votes counted
    successes: int
    p_value: float  # two-sided; 1.0 when n = 0


def _ratio(totals: Sequence[float], n: int) -> float:
    return totals[0] / totals[1]


def ratio_over_items_ci(
    item_rows: Sequence[tuple[float, float]],
    n_resamples: int = 1000,
    seed: Seed = 0,
    confidence: float = 0.95,
) -> Interval:
    """Percentile bootstrap interval of Σ numerators / Σ denominators, resampling whole
    items: `item_rows` holds one (numerator, denominator) per item, e.g. (win score,
    votes) or (score sum, scores). Votes on one item move together."""
    return bootstrap_ci(item_rows, _ratio, n_resamples, seed, confidence)


def pair_result(
    votes: Sequence[Vote],
    model_a: str,
    model_b: str,
    n_resamples: int = 1000,
    seed: Seed = 0,
    confidence: float = 0.95,
) -> PairResult:
    """Counts, both win rates and their intervals for model_a against model_b.

    Only votes that show exactly these two models count; there must be at least one."""
    pair = {model_a, model_b}
    shown = [vote for vote in votes if {vote.model_left, vote.model_right} == pair]
    if not shown:
        raise ValueError(f"no vote compares {model_a!r} with {model_b!r}")
    winners = [vote.winner() for vote in shown]
    wins_a, wins_b = winners.count(model_a), winners.count(model_b)
    ties = sum(vote.choice == TIE for vote in shown)
    both_bad = sum(vote.choice == BOTH_BAD for vote in shown)
    item_rows: dict[str, list[float]] = {}  # item → [win score of a, votes]
    for vote in shown:
        row = item_rows.setdefault(vote.item_id, [0.0, 0.0])
        row[0] += vote.score_of(model_a)
        row[1] += 1
    rows = list(item_rows.values())
    decisive = wins_a + wins_b
    return PairResult(
        model_a=model_a,
        model_b=model_b,
        wins_a=wins_a,
        wins_b=wins_b,
        ties=ties,
        both_bad=both_bad,
        n_items=len(rows),
        win_rate_a=(wins_a + (ties + both_bad) / 2) / len(shown),
        win_rate_a_ci=(
            ratio_over_items_ci(rows, n_resamples, seed, confidence)
            if len(rows) >= MIN_BOOTSTRAP_ITEMS
            else None
        ),
        win_rate_a_no_ties=wins_a / decisive if decisive else None,
        win_rate_a_no_ties_ci=wilson_interval(wins_a, decisive, confidence) if decisive else None,
    )


def pair_results(
    votes: Sequence[Vote],
    order: Sequence[str] | None = None,
    n_resamples: int = 1000,
    seed: Seed = 0,
    confidence: float = 0.95,
) -> list[PairResult]:
    """A PairResult for every pair of models that met in `votes`.

    In each pair, model_a is the model earlier in `order` (by default name order), e.g.
    pass the models by rating so that model_a is always the stronger one."""
    ranked = list(order) if order is not None else models_in(votes)
    missing = set(models_in(votes)) - set(ranked)
    if missing:
        raise ValueError(f"order={ranked!r} leaves out models {sorted(missing)!r}")
    position = {model: index for index, model in enumerate(ranked)}
    results = []
    for pair, shown in votes_by_pair(votes).items():
        model_a, model_b = sorted(pair, key=position.__getitem__)
        results.append(pair_result(shown, model_a, model_b, n_resamples, seed, confidence))
    return sorted(results, key=lambda r: (position[r.model_a], position[r.model_b]))


def share_against_half(successes: int, n: int, confidence: float = 0.95) -> ShareAgainstHalf:
    """successes out of n decisive votes, against the ½ that no bias would give."""
    if n == 0:
        return ShareAgainstHalf(None, None, 0, 0, 1.0)
    # The exact two-sided binomial test at ½ is McNemar's test on the discordant pairs.
    p_value = mcnemar_exact_p(successes, n - successes)
    return ShareAgainstHalf(
        successes / n, wilson_interval(successes, n, confidence), n, successes, p_value
    )


def position_bias(votes: Iterable[Vote], confidence: float = 0.95) -> ShareAgainstHalf:
    """The share of decisive votes won by the left response. With sides assigned at
    random, a share whose interval excludes ½ means raters favour a side."""
    decisive = [vote for vote in votes if vote.decisive]
    left = sum(vote.choice == LEFT for vote in decisive)
    return share_against_half(left, len(decisive), confidence)


def length_bias(
    votes: Iterable[Vote], lengths: Mapping[ResponseKey, int], confidence: float = 0.95
) -> ShareAgainstHalf:
    """The share of decisive votes won by the longer response.

    `lengths[(item_id, model)]` is the length of that model's response on that item (in
    characters, or any unit, as long as it is the same for all). Votes on responses of
    equal length are left out: neither is the longer."""
    longer_won = counted = 0
    for vote in votes:
        if not vote.decisive:
            continue
        try:
            left = lengths[(vote.item_id, vote.model_left)]
            right = lengths[(vote.item_id, vote.model_right)]
        except KeyError as missing:
            raise ValueError(f"lengths has no entry for (item_id, model) {missing}") from None
        if left != right:
            counted += 1
            longer_won += (left > right) == (vote.choice == LEFT)
    return share_against_half(longer_won, counted, confidence)
