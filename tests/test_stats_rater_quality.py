"""Rater checks by hand, the failing rules with their thresholds, and vote selection
whose exclusions change counts and results as documented."""

import pytest

from ftcore.errors import ConfigError
from ftcore.stats.agreement import Agreement
from ftcore.stats.pairwise import pair_result
from ftcore.stats.rater_quality import (
    QualityThresholds,
    Tally,
    consistency_tallies,
    failing_raters,
    gold_tallies,
    rater_quality,
    select_votes,
    too_fast_tallies,
)
from ftcore.stats.vote_records import Vote


def vote(vote_id, item, rater, left, right, choice, **fields):
    return Vote(item, rater, left, right, choice, vote_id=vote_id, **fields)


VOTES = [
    # ann: careful. Gold right twice, her repeat of i1 (sides swapped) agrees, slow.
    vote("a1", "i1", "ann", "tuned", "base", "A", seconds=20),
    vote("a2", "i2", "ann", "base", "tuned", "B", seconds=15),
    vote("a3", "g1", "ann", "tuned", "bad", "A", is_gold=True, gold_answer="A", seconds=12),
    vote("a4", "g2", "ann", "bad", "tuned", "B", is_gold=True, gold_answer="B", seconds=9),
    vote("a5", "i1", "ann", "base", "tuned", "B", repeat_of="a1", seconds=11),
    # bob: clicks "A" fast on everything, so his swapped repeat flips his preference.
    vote("b1", "i1", "bob", "tuned", "base", "A", seconds=1.5, flags=("too_fast",)),
    vote("b2", "i2", "bob", "tuned", "base", "A", seconds=2),
    vote("b3", "g1", "bob", "bad", "tuned", "A", is_gold=True, gold_answer="B", seconds=1),
    vote("b4", "i1", "bob", "base", "tuned", "A", repeat_of="b1", seconds=1, flags=("too_fast",)),
    vote("b5", "i3", "bob", "base", "tuned", "tie"),  # no time recorded
]


def test_tallies_by_hand():
    assert gold_tallies(VOTES) == {"ann": Tally(2, 2), "bob": Tally(0, 1)}
    assert consistency_tallies(VOTES) == {"ann": Tally(1, 1), "bob": Tally(0, 1)}
    assert too_fast_tallies(VOTES, 4.0) == {"ann": Tally(0, 5), "bob": Tally(4, 4)}
    assert too_fast_tallies(VOTES, 10.0)["ann"] == Tally(1, 5)
    assert Tally(0, 0).share is None and Tally(1, 4).share == 0.25


def test_a_repeat_whose_first_vote_is_gone_is_not_counted():
    assert "ann" not in consistency_tallies([v for v in VOTES if v.vote_id != "a1"])


def test_rater_quality_summary():
    quality = rater_quality(VOTES)
    ann, bob = quality["ann"], quality["bob"]
    assert (ann.n_votes, ann.median_seconds) == (5, 12)
    assert (bob.n_votes, bob.median_seconds) == (5, 1.25)
    assert bob.flags == {"too_fast": 2} and ann.flags == {}
    # Agreement on first showings of non-gold items: i1 ann tuned / bob tuned (agree),
    # i2 ann tuned / bob tuned (agree); i3 only bob.
    assert ann.agreement == Agreement(1.0, 2, 2) and bob.agreement == Agreement(1.0, 2, 2)


def test_failing_raters_need_enough_checks():
    quality = rater_quality(VOTES)
    # One gold item and one repeat are fewer than min_checks = 3: only speed fails bob.
    assert failing_raters(quality) == {"bob": ["4 of 4 votes took under 4 s (at most 30% may)"]}
    strict = QualityThresholds(min_checks=1)
    assert failing_raters(rater_quality(VOTES, strict), strict) == {
        "bob": [
            "answered 0 of 1 gold items correctly (needs 70%)",
            "voted 0 of 1 repeated items the same way (needs 60%)",
            "4 of 4 votes took under 4 s (at most 30% may)",
        ]
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("min_gold_accuracy", 1.5), ("max_too_fast_share", -0.1), ("min_seconds", -1),
     ("min_checks", 0)],
)  # fmt: skip
def test_thresholds_are_validated(field, value):
    with pytest.raises(ConfigError, match=field):
        QualityThresholds(**{field: value})


def test_select_votes_counts_every_exclusion():
    selection = select_votes(VOTES)
    assert [v.vote_id for v in selection.kept] == ["a1", "a2", "b1", "b2", "b5"]
    assert selection.excluded == {"rater": 0, "flag": 0, "gold": 3, "repeat": 2}

    by_rater = select_votes(VOTES, exclude_raters={"bob"})
    assert [v.vote_id for v in by_rater.kept] == ["a1", "a2"]
    assert by_rater.excluded == {"rater": 5, "flag": 0, "gold": 2, "repeat": 1}

    by_flag = select_votes(VOTES, exclude_flags={"too_fast"}, keep_gold=True, keep_repeats=True)
    assert [v.vote_id for v in by_flag.kept] == ["a1", "a2", "a3", "a4", "a5", "b2", "b3", "b5"]
    assert by_flag.excluded == {"rater": 0, "flag": 2, "gold": 0, "repeat": 0}
    assert sum(by_flag.excluded.values()) + len(by_flag.kept) == len(VOTES)


def test_excluding_a_rater_changes_the_result():
    everyone = pair_result(select_votes(VOTES).kept, "tuned", "base", n_resamples=20)
    assert (everyone.wins_a, everyone.wins_b, everyone.ties) == (4, 0, 1)
    without_bob = pair_result(
        select_votes(VOTES, exclude_raters={"bob"}).kept, "tuned", "base", n_resamples=20
    )
    assert (without_bob.wins_a, without_bob.wins_b, without_bob.ties) == (2, 0, 0)
