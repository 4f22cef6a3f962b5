"""Memorisation: held-out outputs that reproduce a training target, against a baseline.

Similarity is the Jaccard index of character 3-gram sets, so it works for Chinese as well
as English, with whitespace collapsed first. An inverted index of 3-grams keeps 1,000
predictions against 5,000 targets to about a second.

A copy is only memorisation when it is more than the task itself produces. On a
short-answer task (labels such as 正面/负面/中性) every correct output equals some
training target, so a raw copy rate reads 100%. Two rules keep that honest:

- an output equal to its own reference (after collapsing whitespace) is a correct
  answer, never counted as a copy;
- the baseline is the share of held-out *references* that copy a training target by the
  same rule: the rate a model that answered every example correctly would have. What
  counts is the excess of the outputs' rate over it.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from ftcore.errors import ConfigError, DataError


@dataclass
class MemorisedOutput:
    index: int  # position in the held-out predictions
    train_index: int  # the training target it reproduces
    similarity: float  # character 3-gram Jaccard; 1.0 for a verbatim copy
    verbatim: bool


@dataclass
class MemorisationResult:
    rate: float  # share of held-out outputs that copy a training target
    n_predictions: int
    n_verbatim: int
    n_near: int
    near_threshold: float
    cases: list[MemorisedOutput] = field(default_factory=list)
    # With references: outputs equal to their own reference (correct, never counted) …
    n_equal_to_reference: int | None = None
    # … and the share of held-out references that copy a training target themselves.
    baseline_rate: float | None = None

    @property
    def excess_rate(self) -> float:
        """The outputs' copy rate beyond the references' (the raw rate without them)."""
        return self.rate - (self.baseline_rate or 0.0)


def normalise_whitespace(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def char_ngrams(text: str, n: int = 3) -> set[str]:
    """Character n-grams: no word splitting, so Chinese works; short texts are one gram."""
    return {text[i : i + n] for i in range(len(text) - n + 1)} if len(text) >= n else {text}


def jaccard(a: set[str], b: set[str]) -> float:
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared) if a or b else 1.0


class TargetIndex:
    """Training targets indexed by their character 3-grams, to find a text's closest copy.

    Prefix filtering keeps this fast: if Jaccard(A, B) ≥ t then B holds at least
    ceil(t·|A|) of A's grams, so B must share one of A's |A| − ceil(t·|A|) + 1 rarest
    grams. Only targets found through those grams' postings are compared exactly."""

    def __init__(self, train_targets: Sequence[str], near_threshold: float):
        if not 0 < near_threshold <= 1:
            raise ConfigError("near_threshold", near_threshold, "a Jaccard similarity in (0, 1]")
        self.near_threshold = near_threshold
        targets = [normalise_whitespace(t) for t in train_targets]
        self.exact: dict[str, int] = {}
        for index, target in enumerate(targets):
            self.exact.setdefault(target, index)
        self.grams = [char_ngrams(t) for t in targets]
        self.postings: dict[str, list[int]] = defaultdict(list)
        for index, grams in enumerate(self.grams):
            if targets[index]:
                for gram in grams:
                    self.postings[gram].append(index)
        self.frequency = Counter({gram: len(ids) for gram, ids in self.postings.items()})

    def closest_copy(self, text: str) -> tuple[int, float, bool] | None:
        """(train index, similarity, verbatim) of the target `text` copies, or None."""
        text = normalise_whitespace(text)
        if not text:
            return None  # an empty text copies nothing
        if text in self.exact:
            return self.exact[text], 1.0, True
        grams, frequency, postings, target_grams = (
            char_ngrams(text),
            self.frequency,
            self.postings,
            self.grams,
        )
        rarest = sorted(grams, key=lambda g: (frequency[g], g))
        prefix = len(grams) - math.ceil(self.near_threshold * len(grams) - 1e-9) + 1
        candidates = {i for gram in rarest[:prefix] for i in postings.get(gram, [])}
        scored = [(jaccard(grams, target_grams[i]), -i) for i in candidates]
        if scored:
            similarity, negative_index = max(scored)
            if similarity >= self.near_threshold:
                return -negative_index, similarity, False
        return None


def memorisation_rate(
    heldout_predictions: Sequence[str],
    train_targets: Sequence[str],
    *,
    heldout_references: Sequence[str] | None = None,
    near_threshold: float = 0.8,  # one changed char in the middle of a 40-char text: 0.854
) -> MemorisationResult:
    """Share of held-out outputs that reproduce a training target verbatim or nearly.

    With `heldout_references` (the reference of each prediction, in the same order), an
    output equal to its own reference is not counted, and the references' own copy rate
    is the baseline (see the module docstring)."""
    index = TargetIndex(train_targets, near_threshold)
    if heldout_references is not None and len(heldout_references) != len(heldout_predictions):
        raise DataError(
            f"memorisation: {len(heldout_predictions)} predictions but "
            f"{len(heldout_references)} references; each prediction needs its reference"
        )
    cases, equal_to_reference = [], 0
    for position, prediction in enumerate(heldout_predictions):
        if heldout_references is not None and normalise_whitespace(
            prediction
        ) == normalise_whitespace(heldout_references[position]):
            equal_to_reference += 1
            continue
        found = index.closest_copy(prediction)
        if found is not None:
            cases.append(MemorisedOutput(position, *found))
    n = len(heldout_predictions)
    verbatim = sum(case.verbatim for case in cases)
    baseline = None
    if heldout_references is not None and heldout_references:
        copies = sum(index.closest_copy(text) is not None for text in heldout_references)
        baseline = copies / len(heldout_references)
    return MemorisationResult(
        rate=len(cases) / n if n else 0.0,
        n_predictions=n,
        n_verbatim=verbatim,
        n_near=len(cases) - verbatim,
        near_threshold=near_threshold,
        cases=cases,
        n_equal_to_reference=None if heldout_references is None else equal_to_reference,
        baseline_rate=baseline,
    )
