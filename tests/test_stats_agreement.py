"""Krippendorff's alpha against Krippendorff's own worked example, a hand computation and
the `krippendorff` package fed the raters × units table; raw agreement by hand."""

import math

import krippendorff
import numpy as np
import pytest

from ftcore.stats.agreement import (
    Agreement,
    criterion_ratings,
    krippendorff_alpha,
    pairwise_agreement,
    preference_ratings,
    rater_agreement,
)
from ftcore.stats.vote_records import Vote

NAN = math.nan
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C:
# 4 observers × 12 units, values 1…5, missing entries NaN.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


def as_ratings(table):
    """raters × units (NaN = no rating) → unit → rater → value."""
    ratings = {}
    for rater, row in enumerate(table):
        for unit, value in enumerate(row):
            if not (isinstance(value, float) and math.isnan(value)):
                ratings.setdefault(unit, {})[f"r{rater}"] = value
    return ratings


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_krippendorffs_worked_example(level, published):
    alpha = krippendorff_alpha(as_ratings(KRIPPENDORFF_2011), level)
    assert alpha == pytest.approx(published, abs=5e-4)
    reference = krippendorff.alpha(reliability_data=KRIPPENDORFF_2011, level_of_measurement=level)
    assert alpha == pytest.approx(reference, abs=1e-12)


def test_nominal_alpha_by_hand():
    """Units (a, a), (a, b), (b, b). Coincidences: o_aa = o_bb = 2, o_ab = o_ba = 1;
    n_a = n_b = 3, n = 6. Observed disagreement (o_ab + o_ba) / n = 2/6; expected
    2·n_a·n_b / (n(n − 1)) = 18/30. α = 1 − (2/6) / (18/30) = 4/9."""
    ratings = {1: {"x": "a", "y": "a"}, 2: {"x": "a", "y": "b"}, 3: {"x": "b", "y": "b"}}
    assert krippendorff_alpha(ratings, "nominal") == pytest.approx(4 / 9, abs=1e-12)


def test_ordinal_alpha_by_hand():
    """Units (1, 2), (2, 3), (1, 1), (3, 3): value 1 three times, 2 twice, 3 three
    times, n = 8. Ordinal distance δ(c, k) = (Σ_{g=c..k} n_g − (n_c + n_k)/2)²:
    δ(1,2) = (5 − 2.5)² = 6.25, δ(2,3) = (5 − 2.5)² = 6.25, δ(1,3) = (8 − 3)² = 25.
    Observed: o_12 = o_21 = 1, o_23 = o_32 = 1 → D_o ∝ 2·6.25 + 2·6.25 = 25.
    Expected: Σ n_c·n_k·δ / (n − 1) = 2·(3·2·6.25 + 2·3·6.25 + 3·3·25) / 7 = 600 / 7.
    α = 1 − (n − 1)·25 / 600 = 1 − 175/600 = 17/24."""
    ratings = {1: {"x": 1, "y": 2}, 2: {"x": 2, "y": 3}, 3: {"x": 1, "y": 1}, 4: {"x": 3, "y": 3}}
    assert krippendorff_alpha(ratings, "ordinal") == pytest.approx(17 / 24, abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_random_tables_match_the_package(seed):
    rng = np.random.default_rng(seed)
    n_raters, n_units = 5, 40
    truth = rng.integers(1, 6, n_units)
    noise = rng.integers(-1, 2, (n_raters, n_units)) * (rng.random((n_raters, n_units)) < 0.4)
    table = np.clip(truth + noise, 1, 5).astype(float)
    table[rng.random(table.shape) < 0.3] = np.nan  # raters skip units
    ratings = as_ratings(table.tolist())
    for level in ("nominal", "ordinal", "interval"):
        expected = krippendorff.alpha(reliability_data=table, level_of_measurement=level)
        assert krippendorff_alpha(ratings, level) == pytest.approx(expected, abs=1e-12)
    # Nominal labels that are strings give the same alpha as their codes.
    labels = {u: {r: f"label{v:g}" for r, v in by.items()} for u, by in ratings.items()}
    assert krippendorff_alpha(labels, "nominal") == pytest.approx(
        krippendorff.alpha(reliability_data=table, level_of_measurement="nominal"), abs=1e-12
    )


def test_perfect_agreement_is_one():
    ratings = {1: {"x": 3, "y": 3}, 2: {"x": 4, "y": 4}, 3: {"x": 1}}
    assert krippendorff_alpha(ratings, "ordinal") == 1.0


@pytest.mark.parametrize(
    "ratings",
    [
        {},
        {1: {"x": 3}, 2: {"y": 4}},  # nobody rated a unit twice
        {1: {"x": 3, "y": 3}, 2: {"x": 3, "y": 3}, 3: {"x": 5}},  # paired values never differ
    ],
)
def test_alpha_is_undefined_without_paired_variation(ratings):
    assert krippendorff_alpha(ratings, "ordinal") is None


def vote(item, rater, left, right, choice, left_scores=None, right_scores=None):
    return Vote(item, rater, left, right, choice, left_scores or {}, right_scores or {})


def test_preferences_agree_in_model_terms_whichever_side_was_shown():
    votes = [
        vote("i1", "ann", "tuned", "base", "A"),
        vote("i1", "bob", "base", "tuned", "B"),  # swapped sides, same preference
        vote("i1", "ann", "base", "tuned", "A"),  # ann's repeat: left out
        vote("i2", "ann", "tuned", "base", "tie"),
        vote("i2", "bob", "tuned", "base", "both_bad"),
        vote("i2", "cat", "base", "tuned", "A"),
    ]
    ratings = preference_ratings(votes)
    assert ratings == {
        ("i1", ("base", "tuned")): {"ann": "tuned", "bob": "tuned"},
        ("i2", ("base", "tuned")): {"ann": "tie", "bob": "both_bad", "cat": "base"},
    }
    # 1 agreeing pair on i1, 0 of 3 on i2.
    assert pairwise_agreement(ratings) == Agreement(0.25, 1, 4)
    assert rater_agreement(ratings) == {
        "ann": Agreement(1 / 3, 1, 3),
        "bob": Agreement(1 / 3, 1, 3),
        "cat": Agreement(0.0, 0, 2),
    }
    assert pairwise_agreement({}) == Agreement(None, 0, 0)


def test_criterion_units_are_one_response_in_one_item():
    votes = [
        vote("i1", "ann", "tuned", "base", "A", {"warmth": 5}, {"warmth": 3}),
        vote("i1", "bob", "base", "tuned", "B", {"warmth": 2}, {"warmth": 5, "form": 4}),
        vote("i2", "ann", "tuned", "base", "A", {"warmth": 4}, {}),
    ]
    assert criterion_ratings(votes, "warmth") == {
        ("i1", ("base", "tuned"), "tuned"): {"ann": 5.0, "bob": 5.0},
        ("i1", ("base", "tuned"), "base"): {"ann": 3.0, "bob": 2.0},
        ("i2", ("base", "tuned"), "tuned"): {"ann": 4.0},
    }
    assert criterion_ratings(votes, "form") == {("i1", ("base", "tuned"), "tuned"): {"bob": 4.0}}
