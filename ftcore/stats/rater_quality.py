"""Rater quality: gold accuracy, consistency on repeats, speed, and which votes to keep.

Three checks, each a plain count per rater:

- gold accuracy: on gold items (is_gold, with a gold_answer), the share of votes whose
  choice is the gold answer as shown in that vote;
- consistency: on repeated items (a vote whose repeat_of names the rater's earlier vote
  on the same item, usually with the sides swapped), the share of repeats whose
  preference in model terms equals the first vote's;
- speed: the share of a rater's timed votes faster than `min_seconds`.

`failing_raters` applies the thresholds of `QualityThresholds` and says why each rater
fails; `select_votes` drops what the user chose to exclude and counts every vote it
drops by reason, so a report can show what was left out (nothing is dropped silently).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ftcore.errors import ConfigError
from ftcore.stats.agreement import Agreement, preference_ratings, rater_agreement
from ftcore.stats.vote_records import Vote


class Tally(NamedTuple):
    """`passed` out of `total` checks; share is None when there was nothing to check."""

    passed: int
    total: int

    @property
    def share(self) -> float | None:
        return self.passed / self.total if self.total else None


@dataclass(frozen=True)
class QualityThresholds:
    """When a rater fails. A check with fewer than `min_checks` cases never fails anyone:
    one wrong gold answer out of one says little."""

    min_gold_accuracy: float = 0.7  # share of gold items answered as the gold answer says
    min_consistency: float = 0.6  # share of repeats voted the same way as the first time
    min_seconds: float = 4.0  # a vote faster than this is too fast to have read both replies
    max_too_fast_share: float = 0.3  # share of a rater's timed votes that may be too fast
    min_checks: int = 3  # gold items / repeats / timed votes needed before judging

    def __post_init__(self) -> None:
        for name in ("min_gold_accuracy", "min_consistency", "max_too_fast_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ConfigError(name, value, "a share from 0 to 1")
        if self.min_seconds < 0:
            raise ConfigError("min_seconds", self.min_seconds, "seconds ≥ 0")
        if self.min_checks < 1:
            raise ConfigError("min_checks", self.min_checks, "a whole number ≥ 1")


@dataclass(frozen=True)
class RaterQuality:
    rater_id: str
    n_votes: int
    median_seconds: float | None  # over votes with a time
    gold: Tally  # gold votes answered correctly
    consistency: Tally  # repeats voted as the first time
    too_fast: Tally  # timed votes under min_seconds (passed = too fast)
    agreement: Agreement  # raw preference agreement with the other raters
    flags: dict[str, int] = field(default_factory=dict)  # flag → votes carrying it


def gold_tallies(votes: Sequence[Vote]) -> dict[str, Tally]:
    """rater → gold votes whose choice is the gold answer, out of gold votes."""
    counts: dict[str, list[int]] = {}
    for vote in votes:
        if vote.is_gold and vote.gold_answer is not None:
            tally = counts.setdefault(vote.rater_id, [0, 0])
            tally[0] += vote.choice == vote.gold_answer
            tally[1] += 1
    return {rater: Tally(*tally) for rater, tally in counts.items()}


def consistency_tallies(votes: Sequence[Vote]) -> dict[str, Tally]:
    """rater → repeats whose preference (in model terms) equals the repeated vote's, out
    of repeats whose first vote is among `votes`."""
    by_id = {vote.vote_id: vote for vote in votes if vote.vote_id}
    counts: dict[str, list[int]] = {}
    for vote in votes:
        first = by_id.get(vote.repeat_of) if vote.repeat_of else None
        if first is not None:
            tally = counts.setdefault(vote.rater_id, [0, 0])
            tally[0] += vote.preference() == first.preference()
            tally[1] += 1
    return {rater: Tally(*tally) for rater, tally in counts.items()}


def too_fast_tallies(votes: Sequence[Vote], min_seconds: float) -> dict[str, Tally]:
    """rater → timed votes faster than min_seconds, out of timed votes."""
    counts: dict[str, list[int]] = {}
    for vote in votes:
        if vote.seconds is not None:
            tally = counts.setdefault(vote.rater_id, [0, 0])
            tally[0] += vote.seconds < min_seconds
            tally[1] += 1
    return {rater: Tally(*tally) for rater, tally in counts.items()}


def rater_quality(
    votes: Sequence[Vote], thresholds: QualityThresholds | None = None
) -> dict[str, RaterQuality]:
    """Every rater's checks, by rater id. Agreement is on first showings of non-gold
    items, the votes the models are compared on."""
    settings = thresholds or QualityThresholds()
    gold, consistency = gold_tallies(votes), consistency_tallies(votes)
    too_fast = too_fast_tallies(votes, settings.min_seconds)
    compared = [vote for vote in votes if not vote.is_gold and vote.repeat_of is None]
    agreement = rater_agreement(preference_ratings(compared))
    quality = {}
    for rater in sorted({vote.rater_id for vote in votes}):
        own = [vote for vote in votes if vote.rater_id == rater]
        times = [vote.seconds for vote in own if vote.seconds is not None]
        quality[rater] = RaterQuality(
            rater_id=rater,
            n_votes=len(own),
            median_seconds=statistics.median(times) if times else None,
            gold=gold.get(rater, Tally(0, 0)),
            consistency=consistency.get(rater, Tally(0, 0)),
            too_fast=too_fast.get(rater, Tally(0, 0)),
            agreement=agreement.get(rater, Agreement(None, 0, 0)),
            flags=dict(Counter(flag for vote in own for flag in vote.flags)),
        )
    return quality


def failing_raters(
    quality: dict[str, RaterQuality], thresholds: QualityThresholds | None = None
) -> dict[str, list[str]]:
    """rater → why they fail (plain sentences); raters who pass are not listed."""
    settings = thresholds or QualityThresholds()
    failing: dict[str, list[str]] = {}
    for rater, checks in quality.items():
        reasons = []
        if (
            checks.gold.total >= settings.min_checks
            and checks.gold.share < settings.min_gold_accuracy
        ):
            reasons.append(
                f"answered {checks.gold.passed} of {checks.gold.total} gold items correctly "
                f"(needs {settings.min_gold_accuracy:.0%})"
            )
        repeats = checks.consistency
        if repeats.total >= settings.min_checks and repeats.share < settings.min_consistency:
            reasons.append(
                f"voted {repeats.passed} of {repeats.total} repeated items the same way "
                f"(needs {settings.min_consistency:.0%})"
            )
        fast = checks.too_fast
        if fast.total >= settings.min_checks and fast.share > settings.max_too_fast_share:
            reasons.append(
                f"{fast.passed} of {fast.total} votes took under {settings.min_seconds:g} s "
                f"(at most {settings.max_too_fast_share:.0%} may)"
            )
        if reasons:
            failing[rater] = reasons
    return failing


class VoteSelection(NamedTuple):
    kept: list[Vote]
    excluded: dict[str, int]  # reason → votes dropped for it (first reason that applies)


def select_votes(
    votes: Sequence[Vote],
    exclude_raters: Collection[str] = (),
    exclude_flags: Collection[str] = (),
    keep_gold: bool = False,
    keep_repeats: bool = False,
) -> VoteSelection:
    """The votes that models are compared on, and how many were dropped and why.

    Reasons, checked in this order (a vote is counted once, under the first that applies):
    "rater" (its rater is in exclude_raters), "flag" (it carries a flag in
    exclude_flags), "gold" (a gold item, unless keep_gold), "repeat" (a repeated
    showing, unless keep_repeats: counting it would weigh the item twice)."""
    kept, excluded = [], Counter({"rater": 0, "flag": 0, "gold": 0, "repeat": 0})
    for vote in votes:
        if vote.rater_id in exclude_raters:
            excluded["rater"] += 1
        elif set(vote.flags) & set(exclude_flags):
            excluded["flag"] += 1
        elif vote.is_gold and not keep_gold:
            excluded["gold"] += 1
        elif vote.repeat_of is not None and not keep_repeats:
            excluded["repeat"] += 1
        else:
            kept.append(vote)
    return VoteSelection(kept, dict(excluded))
