"""The plain vote record that every rating statistic takes, and what its choice means.

The rating store (ftcore.rating) keeps votes in SQLite; before any statistic runs, each
vote becomes one `Vote`, a frozen dataclass of plain values, so the statistics never
touch the database and tests build votes by hand. Everything in ftcore/stats that reads
votes reads these fields and no others.

A vote is given on the screen, "A" being the left response and "B" the right one. The
statistics turn it into model terms (which model won) with `winner` and `preference`;
only position bias looks at the screen side itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

LEFT, RIGHT, TIE, BOTH_BAD = "A", "B", "tie", "both_bad"
CHOICES = (LEFT, RIGHT, TIE, BOTH_BAD)
# (item_id, model): one response as shown in one item, the key of per-response data such
# as response lengths or automatic metric scores.
ResponseKey = tuple[str, str]


@dataclass(frozen=True)
class Vote:
    """One rater's verdict on one item: two responses to one prompt, side by side."""

    item_id: str  # the item shown; several raters (or one rater twice) may vote on it
    rater_id: str
    model_left: str  # the model whose response was on the left, side "A"
    model_right: str  # side "B"
    choice: str  # "A" (left better), "B" (right better), "tie" or "both_bad"
    # Rubric scores given to each response: criterion id → score (ordinal, e.g. 1…5).
    scores_left: Mapping[str, float] = field(default_factory=dict)
    scores_right: Mapping[str, float] = field(default_factory=dict)
    seconds: float | None = None  # time from showing the item to the vote
    flags: tuple[str, ...] = ()  # set by the rating app, e.g. ("too_fast",)
    is_gold: bool = False  # an item with a known answer, to check raters
    gold_answer: str | None = None  # on gold items: the right choice *as shown in this vote*
    vote_id: str = ""
    # The vote_id of this rater's earlier vote on the same item that this one repeats
    # (usually with the sides swapped); None on a first showing.
    repeat_of: str | None = None

    def __post_init__(self) -> None:
        if self.choice not in CHOICES:
            raise ValueError(f"vote {self.vote_id!r}: choice={self.choice!r}, expected {CHOICES}")
        if self.model_left == self.model_right:
            raise ValueError(
                f"vote {self.vote_id!r}: model_left and model_right are both "
                f"{self.model_left!r}; a vote compares two different models"
            )
        if self.gold_answer is not None and self.gold_answer not in CHOICES:
            raise ValueError(
                f"vote {self.vote_id!r}: gold_answer={self.gold_answer!r}, expected {CHOICES}"
            )

    @property
    def decisive(self) -> bool:
        """One side won: neither a tie nor both bad."""
        return self.choice in (LEFT, RIGHT)

    @property
    def pair(self) -> tuple[str, str]:
        """The two models in name order, whichever side each was shown on."""
        return tuple(sorted((self.model_left, self.model_right)))  # type: ignore[return-value]

    def winner(self) -> str | None:
        """The model that won this vote; None for a tie or both bad."""
        return {LEFT: self.model_left, RIGHT: self.model_right}.get(self.choice)

    def preference(self) -> str:
        """The vote in model terms: the winning model's name, "tie" or "both_bad".
        Two votes on the same pair agree exactly when their preferences are equal,
        whichever side each rater saw each model on."""
        return self.winner() or self.choice

    def _check_shows(self, model: str) -> None:
        if model not in (self.model_left, self.model_right):
            raise ValueError(f"vote {self.vote_id!r} does not show model {model!r}")

    def score_of(self, model: str) -> float:
        """1 if `model` won, 0 if it lost, ½ for a tie or both bad (half a win to each
        side, Chatbot Arena's convention)."""
        self._check_shows(model)
        won = self.winner()
        return 0.5 if won is None else float(won == model)

    def scores_of(self, model: str) -> Mapping[str, float]:
        """The rubric scores given to `model`'s response in this vote."""
        self._check_shows(model)
        return self.scores_left if model == self.model_left else self.scores_right


def models_in(votes: Iterable[Vote]) -> list[str]:
    """Every model shown in `votes`, in name order."""
    return sorted({model for vote in votes for model in (vote.model_left, vote.model_right)})


def votes_by_pair(votes: Iterable[Vote]) -> dict[tuple[str, str], list[Vote]]:
    """Votes grouped by the (name-ordered) pair of models they compare."""
    groups: dict[tuple[str, str], list[Vote]] = {}
    for vote in votes:
        groups.setdefault(vote.pair, []).append(vote)
    return groups
