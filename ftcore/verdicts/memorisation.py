"""Memorisation: held-out outputs that reproduce a training target verbatim or nearly.

Similarity is the Jaccard index of character 3-gram sets, so it works for Chinese as well
as English, with whitespace collapsed first. An inverted index of 3-grams keeps 1,000
predictions against 5,000 targets to about a second.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ftcore.errors import ConfigError


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


def normalise_whitespace(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def char_ngrams(text: str, n: int = 3) -> set[str]:
    """Character n-grams: no word splitting, so Chinese works; short texts are one gram."""
    return {text[i : i + n] for i in range(len(text) - n + 1)} if len(text) >= n else {text}


def jaccard(a: set[str], b: set[str]) -> float:
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared) if a or b else 1.0


def memorisation_rate(
    heldout_predictions: list[str],
    train_targets: list[str],
    *,
    near_threshold: float = 0.8,  # one changed char in the middle of a 40-char text: 0.854
) -> MemorisationResult:
    """Share of held-out outputs that reproduce a training target verbatim or nearly.

    Prefix filtering keeps this fast: if Jaccard(A, B) ≥ t then B holds at least
    ceil(t·|A|) of A's grams, so B must share one of A's |A| − ceil(t·|A|) + 1 rarest
    grams. Only targets found through those grams' postings are compared exactly."""
    if not 0 < near_threshold <= 1:
        raise ConfigError("near_threshold", near_threshold, "a Jaccard similarity in (0, 1]")
    targets = [normalise_whitespace(t) for t in train_targets]
    exact: dict[str, int] = {}
    for index, target in enumerate(targets):
        exact.setdefault(target, index)
    target_grams = [char_ngrams(t) for t in targets]
    postings: dict[str, list[int]] = defaultdict(list)
    for index, grams in enumerate(target_grams):
        if targets[index]:
            for gram in grams:
                postings[gram].append(index)
    document_frequency = Counter({gram: len(ids) for gram, ids in postings.items()})
    cases = []
    for index, prediction in enumerate(heldout_predictions):
        text = normalise_whitespace(prediction)
        if not text:
            continue  # an empty output copies nothing
        if text in exact:
            cases.append(MemorisedOutput(index, exact[text], 1.0, True))
            continue
        grams = char_ngrams(text)
        rarest = sorted(grams, key=lambda g: (document_frequency[g], g))
        prefix = len(grams) - math.ceil(near_threshold * len(grams) - 1e-9) + 1
        candidates = {i for gram in rarest[:prefix] for i in postings.get(gram, [])}
        scored = [(jaccard(grams, target_grams[i]), -i) for i in candidates]
        if scored:
            similarity, negative_index = max(scored)
            if similarity >= near_threshold:
                cases.append(MemorisedOutput(index, -negative_index, similarity, False))
    n = len(heldout_predictions)
    verbatim = sum(case.verbatim for case in cases)
    return MemorisationResult(
        rate=len(cases) / n if n else 0.0,
        n_predictions=n,
        n_verbatim=verbatim,
        n_near=len(cases) - verbatim,
        near_threshold=near_threshold,
        cases=cases,
    )
