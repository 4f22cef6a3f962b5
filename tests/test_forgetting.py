"""Forgetting on a probe set and the three-part exam, against hand-computed numbers."""

import json
import math

import pytest

from ftcore.errors import ConfigError
from ftcore.verdicts.forgetting import forgetting_check, three_part_exam
from ftcore.verdicts.verdict_settings import VerdictSettings


def test_twenty_percent_perplexity_increase_is_forgetting():
    result = forgetting_check(
        {"perplexity": {"value": 10.0}}, {"perplexity": {"value": 12.0}}, seed=0
    )
    assert result.forgot and result.regressions == ["perplexity"]
    (check,) = result.checks
    assert check.relative_change == pytest.approx(0.2)
    assert check.reason == (
        "Probe perplexity rose from 10.00 to 12.00 (+20.0%): worse by more than the 10% allowed "
        "increase."
    )


def test_three_percent_perplexity_increase_is_not():
    result = forgetting_check(
        {"perplexity": {"value": 10.0}}, {"perplexity": {"value": 10.3}}, seed=0
    )
    assert not result.forgot and result.regressions == []
    assert result.reasons == [
        "Probe perplexity rose from 10.00 to 10.30 (+3.0%): worse, but within the 10% allowed "
        "increase."
    ]


def test_metric_drop_with_per_example_values_outside_noise():
    base = [0.6, 0.7, 0.8, 0.5] * 10  # mean 0.65
    tuned = [0.4, 0.5, 0.6, 0.3] * 10  # mean 0.45: a 31% drop, every example lower
    result = forgetting_check(
        {"rougeL": {"value": 0.65, "per_example": base}},
        {"rougeL": {"value": 0.45, "per_example": tuned}},
        seed=0,
    )
    (check,) = result.checks
    assert check.regressed and check.delta_ci[1] < 0
    assert check.reason.startswith(
        "rougeL fell from 0.650 to 0.450 (-30.8%): worse by more than the 5% allowed decline "
        "(paired 95% CI of the change -0.2"
    )


def test_metric_drop_inside_noise_is_not_flagged():
    base = [0.0, 1.0] * 10  # mean 0.5
    tuned = [0.0, 1.0, 1.0, 0.0, 0.0] * 4  # mean 0.4
    result = forgetting_check(
        {"exact_match": {"value": 0.5, "per_example": base}},
        {"exact_match": {"value": 0.4, "per_example": tuned}},
        seed=0,
    )
    (check,) = result.checks
    assert not result.forgot and check.delta_ci[0] < 0 < check.delta_ci[1]
    assert "not distinguishable from noise" in check.reason


@pytest.mark.parametrize("tuned_ci, regressed", [((0.30, 0.36), True), ((0.36, 0.44), False)])
def test_without_per_example_values_the_two_cis_must_not_overlap(tuned_ci, regressed):
    base = {"rougeL": {"value": 0.45, "ci_low": 0.40, "ci_high": 0.50}}
    tuned = {"rougeL": {"value": 0.33, "ci_low": tuned_ci[0], "ci_high": tuned_ci[1]}}
    assert forgetting_check(base, tuned, seed=0).forgot is regressed


def test_small_drop_and_missing_interval():
    small = forgetting_check({"bleu": {"value": 30.0}}, {"bleu": {"value": 29.0}}, seed=0)  # −3.3%
    assert not small.forgot
    assert small.reasons == [
        "bleu fell from 30.000 to 29.000 (-3.3%): worse, but within the 5% allowed decline."
    ]
    big = forgetting_check({"bleu": {"value": 30.0}}, {"bleu": {"value": 20.0}}, seed=0)
    assert big.forgot and "no interval to check it against" in big.reasons[0]


def test_lower_is_better_metric_and_unmatched_names():
    base = {"ter": {"value": 50.0, "higher_is_better": False}, "chrf": {"value": 40.0}}
    tuned = {"ter": {"value": 60.0, "higher_is_better": False}}
    result = forgetting_check(base, tuned, seed=0)
    assert result.regressions == ["ter"] and len(result.checks) == 1
    assert json.loads(json.dumps(result.to_json()))["regressions"] == ["ter"]


@pytest.mark.parametrize("field, value", [("max_ppl_increase", -0.1), ("max_metric_drop", 1.5)])
def test_bad_thresholds_name_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        VerdictSettings(**{field: value})


def test_three_part_exam():
    rows = [
        {
            "part": "in-domain",
            "metric": "rougeL",
            "delta_ci": (0.10, 0.30),
            "base": {"nll": 2.0, "value": 0.30},
            "tuned": {"nll": 1.0, "value": 0.50, "ci_low": 0.45, "ci_high": 0.55},
        },
        {
            "part": "generalisation",
            "metric": "rougeL",
            "delta_ci": (-0.02, 0.05),
            "base": {"nll": 2.1, "value": 0.30},
            "tuned": {"nll": 2.0, "value": 0.31},
        },
        {
            "part": "general ability",
            "metric": "exact_match",
            "base": {"value": 0.8, "per_example": [1.0] * 40 + [0.0] * 10},
            "tuned": {"value": 0.3, "per_example": [1.0] * 15 + [0.0] * 35},
        },
    ]
    in_domain, general, ability = three_part_exam(rows, seed=0)
    assert (in_domain.verdict, general.verdict, ability.verdict) == (
        "better",
        "no clear change",
        "worse",
    )
    assert in_domain.delta == pytest.approx(0.2) and in_domain.tuned_ci == (0.45, 0.55)
    assert in_domain.base_perplexity == pytest.approx(math.exp(2.0))
    assert in_domain.tuned_perplexity == pytest.approx(math.e)
    # The reason gives the numbers only: part and verdict are fields of their own, and
    # the sentence puts the three together once.
    assert in_domain.reason == "rougeL 0.300 → 0.500 (delta +0.200, 95% CI +0.100 to +0.300)."
    assert in_domain.sentence == "in-domain: better. " + in_domain.reason
    assert general.reason.endswith("the interval includes 0.")
    assert ability.delta_ci[1] < 0 and ability.base_nll is None


def test_exam_lower_is_better_and_no_interval():
    better, unknown = three_part_exam(
        [
            {
                "part": "probe",
                "metric": "ter",
                "higher_is_better": False,
                "delta_ci": (-8.0, -2.0),
                "base": {"value": 50.0},
                "tuned": {"value": 45.0},
            },
            {"part": "held-out", "metric": "bleu", "base": {"value": 1}, "tuned": {"value": 2}},
        ],
        seed=0,
    )
    assert better.verdict == "better"
    assert unknown.verdict == "no clear change" and "no interval for the delta" in unknown.reason
