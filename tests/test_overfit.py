"""Overfitting evidence: curve analysis, memorisation and the verdict rules, by hand."""

import json
import random
from dataclasses import asdict

import pytest

from ftcore.errors import ConfigError, DataError
from ftcore.verdicts.memorisation import (
    char_ngrams,
    jaccard,
    memorisation_rate,
    normalise_whitespace,
)
from ftcore.verdicts.overfit import (
    CurveAnalysis,
    OverfitEvidence,
    overfit_verdict,
    val_curve_analysis,
)
from ftcore.verdicts.verdict_settings import VerdictSettings

# Val loss of a real run (greetings-lora, 276 steps): falls every evaluation, barely at the end.
GREETINGS_VAL = [
    (0, 7.5985), (23, 7.2672), (46, 6.8507), (69, 6.662), (92, 6.5619), (115, 6.4993),
    (138, 6.4631), (161, 6.4161), (184, 6.3885), (207, 6.3682), (230, 6.3593),
    (253, 6.3527), (276, 6.3519),
]  # fmt: skip
OVERFIT_VAL = [(0, 3.0), (60, 2.4), (120, 2.0), (180, 2.05), (240, 2.1), (300, 2.18)]
GREETING = "您好，欢迎光临本店！请问今天有什么可以帮您的吗？我们随时为您服务，祝您购物愉快。"


def test_curve_that_rises_after_its_minimum():
    # The order of the input does not matter.
    curve = val_curve_analysis(list(reversed(OVERFIT_VAL)), evaluated_step=None)
    assert (curve.best_step, curve.best_value) == (120, 2.0)
    assert (curve.final_step, curve.final_value) == (300, 2.18)
    assert curve.rise == pytest.approx(0.18)
    assert curve.relative_rise == pytest.approx(0.09)
    assert curve.evaluations_above_best == 3
    assert curve.rose and not curve.still_falling


def test_rise_needs_patience_evaluations():
    curve = val_curve_analysis([(0, 2.0), (1, 1.0), (2, 1.5)], evaluated_step=None)
    assert curve.relative_rise == pytest.approx(0.5) and curve.evaluations_above_best == 1
    assert not curve.rose
    assert val_curve_analysis(
        [(0, 2.0), (1, 1.0), (2, 1.5)], evaluated_step=None, settings=VerdictSettings(patience=1)
    ).rose


def test_small_rise_below_min_rise_does_not_count():
    curve = val_curve_analysis(
        [(0, 2.0), (1, 1.0), (2, 1.01), (3, 1.01), (4, 1.01)], evaluated_step=None
    )
    assert curve.relative_rise == pytest.approx(0.01) and curve.evaluations_above_best == 3
    assert not curve.rose


def test_real_monotonic_curve_never_rose_and_is_still_falling():
    curve = val_curve_analysis(GREETINGS_VAL, evaluated_step=None)
    assert (curve.best_step, curve.best_value) == (276, 6.3519)
    assert curve.rise == 0 and curve.evaluations_above_best == 0 and not curve.rose
    # last 3 evaluations: 6.3682 at step 207 down to 6.3519
    assert curve.recent_relative_drop == pytest.approx((6.3682 - 6.3519) / 6.3682)
    assert curve.still_falling


def test_flat_end_is_not_still_falling():
    curve = val_curve_analysis([(0, 2.0), (1, 1.0), (2, 1.0), (3, 1.0)], evaluated_step=None)
    assert curve.best_step == 1  # earliest of equal minima, like a best checkpoint
    assert not curve.still_falling and not curve.rose


def test_empty_and_single_point_curves():
    empty = val_curve_analysis([], evaluated_step=None)
    assert empty == CurveAnalysis(n_points=0, note="no validation evaluations")
    single = val_curve_analysis([(50, 1.5)], evaluated_step=None)
    assert (single.best_step, single.final_step, single.n_points) == (50, 50, 1)
    assert not single.rose and not single.still_falling and "single" in single.note


def test_train_loss_smoothed_over_k_points():
    train = [(1, 4.0), (2, 2.0), (3, 1.0), (4, 1.0)]
    # k falls to 2: halves of a short curve, never overlapping.
    curve = val_curve_analysis(
        [], evaluated_step=None, train_points=train, settings=VerdictSettings(train_window=10)
    )
    assert (curve.train_start, curve.train_end) == (3.0, 1.0)
    assert curve.train_relative_drop == pytest.approx(2 / 3)
    curve = val_curve_analysis(
        [], evaluated_step=None, train_points=train, settings=VerdictSettings(train_window=1)
    )
    assert (curve.train_start, curve.train_end, curve.train_relative_drop) == (4.0, 1.0, 0.75)


@pytest.mark.parametrize("field, value", [("min_rise", -0.1), ("patience", 0)])
def test_curve_rejects_bad_settings(field, value):
    with pytest.raises(ConfigError, match=field):
        VerdictSettings(**{field: value})


def test_ngrams_and_jaccard_by_hand():
    assert char_ngrams("abcd") == {"abc", "bcd"}
    assert char_ngrams("ab") == {"ab"}
    assert jaccard({"a", "b", "c"}, {"b", "c", "d"}) == 0.5
    assert normalise_whitespace("  a \n\t b ") == "a b"


def test_chinese_one_character_changed_is_a_near_copy():
    assert len(GREETING) == 40 and len(char_ngrams(GREETING)) == 38
    changed = GREETING[:20] + "你" + GREETING[21:]  # 帮您的 → 帮你的: 3 of 38 grams differ
    result = memorisation_rate(
        [changed, "今天天气很好，我们去公园散步吧。"], ["无关的句子。", GREETING]
    )
    assert result.rate == 0.5 and (result.n_verbatim, result.n_near) == (0, 1)
    (case,) = result.cases
    assert (case.index, case.train_index, case.verbatim) == (0, 1, False)
    assert case.similarity == pytest.approx(35 / 41)  # 35 shared, 38 + 38 − 35 in the union
    assert memorisation_rate([changed], [GREETING], near_threshold=0.9).rate == 0


def test_change_at_the_end_touches_one_gram():
    changed = GREETING[:-1] + "！"
    (case,) = memorisation_rate([changed], [GREETING], near_threshold=0.9).cases
    assert case.similarity == pytest.approx(37 / 39)


def test_english_verbatim_after_whitespace_and_unrelated():
    train = ["Your order ships tomorrow.", "Thanks for your order, it ships tomorrow!"]
    predictions = [
        "Thanks  for your\norder, it ships tomorrow! ",  # verbatim after whitespace
        "Thanks for your order, it ships tomorow!",  # one letter dropped
        "The weather is lovely today.",
        "",
    ]
    result = memorisation_rate(predictions, train)
    assert [(c.index, c.train_index, c.verbatim) for c in result.cases] == [
        (0, 1, True),
        (1, 1, False),
    ]
    assert result.cases[0].similarity == 1.0
    assert result.rate == 0.5 and result.n_predictions == 4


def test_empty_inputs_and_bad_threshold():
    assert memorisation_rate([], ["a"]).rate == 0.0
    assert memorisation_rate(["abc"], []).cases == []
    with pytest.raises(ConfigError, match="near_threshold"):
        memorisation_rate(["a"], ["a"], near_threshold=0)


def test_output_equal_to_its_own_reference_is_never_a_copy():
    other = "今天天气很好，我们去公园散步吧。"
    result = memorisation_rate(
        [GREETING, " ".join(GREETING), other],  # correct; correct up to spaces? no: a copy
        [GREETING, "无关的句子。"],
        heldout_references=[GREETING, other, other],
    )
    # Output 0 equals its reference (correct); output 2 too; output 1 is GREETING with a
    # space between every character: whitespace collapses to single spaces, so it is not
    # the reference, and its 3-grams share nothing with GREETING's: no copy either.
    assert result.n_equal_to_reference == 2 and result.cases == []
    # Baseline: of the references, GREETING copies a training target and `other` does not.
    assert result.baseline_rate == pytest.approx(1 / 3)
    assert result.excess_rate == pytest.approx(-1 / 3)


def test_copy_rate_is_measured_against_the_references_own():
    changed = GREETING[:20] + "你" + GREETING[21:]  # a near copy (35/41)
    result = memorisation_rate(
        [changed, "另一句完全不同的话，和训练集无关。"],
        ["无关的句子。", GREETING],
        heldout_references=["第一条参考答案，写给老师的。", "第二条参考答案，写给同学的。"],
    )
    assert result.rate == 0.5 and result.baseline_rate == 0.0 and result.excess_rate == 0.5
    assert memorisation_rate([], ["a"], heldout_references=[]).baseline_rate is None
    with pytest.raises(DataError, match="2 predictions but 1 references"):
        memorisation_rate(["a", "b"], ["a"], heldout_references=["a"])


@pytest.mark.parametrize(
    "step, rose, relative",
    [(None, None, None), (0, None, None), (120, False, 0.0), (240, False, 0.05),
     (299, False, 0.05), (300, True, 0.09), (400, True, 0.09)],
)  # fmt: skip
def test_rise_is_judged_up_to_the_evaluated_weights(step, rose, relative):
    # OVERFIT_VAL: lowest at 120 (2.0), then 2.05, 2.1, 2.18. By step 240 it stands 5% up
    # but over 2 evaluations (< patience 3); from 300 on, 9% over 3. A step between
    # evaluations is judged by the last evaluation before it.
    curve = val_curve_analysis(OVERFIT_VAL, evaluated_step=step)
    assert curve.rose  # the whole run did rise, whichever weights are evaluated
    assert curve.rose_by_evaluated is rose
    if relative is None:
        assert curve.relative_rise_by_evaluated is None
    else:
        assert curve.relative_rise_by_evaluated == pytest.approx(relative)


def test_curve_reasons_say_which_weights_the_rise_counts_against():
    def reason(step):
        curve = val_curve_analysis(OVERFIT_VAL, evaluated_step=step)
        return overfit_verdict(_evidence(curve=curve)).reasons[1]

    assert reason(120) == (
        "Val loss bottomed out at step 120 (2.00) and rose 9% by step 300, after the evaluated "
        "weights (step 120) were taken: that rise does not count against them."
    )
    assert reason(None).endswith("was not given, so the rise is held against no weights.")
    short = val_curve_analysis([(0, 2.0), (1, 1.0), (2, 1.5)], evaluated_step=2)
    assert overfit_verdict(_evidence(curve=short)).reasons[1] == (
        "Val loss bottomed out at step 1 (1.00) and rose 50% by step 2, but over 1 "
        "evaluation(s), fewer than the 3 that make a trend."
    )


def _sentences(rng: random.Random, count: int) -> list[str]:
    words = [f"w{i}" for i in range(300)]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(4, 12))) for _ in range(count)]


def test_inverted_index_matches_all_pairs_search():
    rng = random.Random(1)
    train = _sentences(rng, 200)
    predictions = _sentences(rng, 50) + [t[:-1] + "x" for t in train[:30]] + train[30:40]
    result = memorisation_rate(predictions, train, near_threshold=0.7)
    expected = []
    for index, text in enumerate(predictions):
        grams = char_ngrams(text)
        best = max((jaccard(grams, char_ngrams(t)), -i) for i, t in enumerate(train))
        if best[0] >= 0.7:
            expected.append((index, -best[1], pytest.approx(best[0])))
    assert [(c.index, c.train_index, c.similarity) for c in result.cases] == expected
    assert len(expected) >= 40


def test_thousand_outputs_against_five_thousand_targets_find_every_copy():
    # Its speed is a benchmark matter (benchmarks/), not a test assertion.
    rng = random.Random(0)
    train = _sentences(rng, 5000)
    predictions = _sentences(rng, 950) + train[:50]
    result = memorisation_rate(predictions, train)
    assert result.n_verbatim >= 50


def _evidence(**changes) -> OverfitEvidence:
    healthy = dict(
        n_train=200,
        n_heldout=200,
        nll_gap=0.05,
        nll_gap_ci=(-0.02, 0.12),
        generation_gaps={"rougeL": (0.01, -0.03, 0.05, True)},
        curve=val_curve_analysis(
            [(0, 3.0), (100, 2.2), (200, 2.0), (300, 2.0)], evaluated_step=300
        ),
        memorisation_rate=0.0,
        base_heldout_nll=2.5,
        tuned_heldout_nll=1.9,
    )
    return OverfitEvidence(**{**healthy, **changes})


def test_overfit_numbers_give_overfitting_with_reasons():
    verdict = overfit_verdict(
        _evidence(
            nll_gap=0.84,
            nll_gap_ci=(0.61, 1.07),
            curve=val_curve_analysis(OVERFIT_VAL, evaluated_step=300),
            memorisation_rate=0.12,
            generation_gaps={"rougeL": (0.15, 0.08, 0.22, True), "ter": (-5.0, -8.0, -2.0, False)},
        )
    )
    assert verdict.label == "overfitting"
    assert verdict.reasons[:2] == [
        "Held-out NLL is 0.84 higher than train NLL (95% CI 0.61 to 1.07): a gap beyond the "
        "0.20 nats allowed; the model fits its training data much better than new data.",
        "Val loss bottomed out at step 120 (2.00) and rose 9% by step 300.",
    ]
    assert "12.0% of held-out outputs copy a training target" in verdict.reasons[2]
    assert verdict.reasons[3].startswith("rougeL is clearly better on train")
    assert verdict.reasons[4].startswith("ter is clearly better on train")
    assert verdict.signals["val_rose"] and verdict.signals["memorising"]


@pytest.mark.parametrize(
    "symptom",
    [
        {"curve": val_curve_analysis(OVERFIT_VAL, evaluated_step=300)},
        {"memorisation_rate": 0.05},
        {"generation_gaps": {"exact_match": (0.2, 0.1, 0.3, True)}},
    ],
)
def test_each_symptom_alone_with_a_large_gap_is_overfitting(symptom):
    evidence = _evidence(nll_gap=0.5, nll_gap_ci=(0.3, 0.7), **symptom)
    assert overfit_verdict(evidence).label == "overfitting"


def test_large_gap_without_a_symptom_is_overfitting_never_healthy():
    # Audit finding 3c: this used to be "healthy" because no second symptom was present.
    verdict = overfit_verdict(_evidence(nll_gap=0.5, nll_gap_ci=(0.3, 0.7)))
    assert verdict.label == "overfitting"
    assert verdict.reasons[-1] == "A gap this large is overfitting even without a second symptom."


def test_sensible_numbers_are_healthy():
    verdict = overfit_verdict(_evidence())
    assert verdict.label == "healthy"
    assert verdict.reasons[0] == (
        "Held-out NLL is 0.05 higher than train NLL (95% CI -0.02 to 0.12): a gap within the "
        "0.20 nats allowed, so new data fits about as well as train."
    )
    assert verdict.reasons[-1] == (
        "Fine-tuned held-out NLL is 1.90 against the base model's 2.50: 0.60 nats better than "
        "the base."
    )


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"nll_gap": -0.04, "nll_gap_ci": (-0.10, 0.02)},
         "Held-out NLL is 0.04 lower than train NLL (95% CI -0.10 to 0.02): no gap, and the "
         "interval stays within the 0.20 nats allowed, so new data fits at least as well as "
         "train."),
        ({"nll_gap": 0.15, "nll_gap_ci": (0.05, 0.30)},
         "Held-out NLL is 0.15 higher than train NLL (95% CI 0.05 to 0.30): the interval "
         "straddles the 0.20 nats allowed; more examples would decide."),
        ({"nll_gap": 0.25, "nll_gap_ci": (0.2, 0.3), "base_nll_gap": 0.10, "excess_gap": 0.15,
          "excess_gap_ci": (0.10, 0.19)},
         "Held-out NLL is 0.25 higher than train NLL for the fine-tune and 0.10 higher for the "
         "base model, so the fine-tune added 0.15 nats of gap (95% CI 0.10 to 0.19): an added "
         "gap within the 0.20 nats allowed, so new data fits about as well as train."),
        ({"nll_gap": 0.05, "nll_gap_ci": (0.0, 0.1), "base_nll_gap": 0.15, "excess_gap": -0.10,
          "excess_gap_ci": (-0.15, -0.05)},
         "Held-out NLL is 0.05 higher than train NLL for the fine-tune and 0.15 higher for the "
         "base model, so the fine-tune took 0.10 nats off the gap (95% CI -0.15 to -0.05): no "
         "added gap, and the interval stays within the 0.20 nats allowed, so new data fits at "
         "least as well as train."),
    ],
)  # fmt: skip
def test_gap_wording_tells_no_gap_within_and_beyond_apart(changes, expected):
    """Issue 13: a shrinking or negative gap was "within 0.20 nats", like a real one."""
    assert overfit_verdict(_evidence(**changes)).reasons[0] == expected


@pytest.mark.parametrize(
    "tuned_nll, expected",
    [
        (2.6, "Fine-tuned held-out NLL is 2.60 against the base model's 2.50: 0.10 nats worse "
              "than the base; a clear gain is at least 0.05 nats with its interval above 0."),
        (2.48, "Fine-tuned held-out NLL is 2.48 against the base model's 2.50: not clearly better "
               "than the base (gain 0.02 nats); a clear gain is at least 0.05 nats with its "
               "interval above 0."),
        (2.3, "Fine-tuned held-out NLL is 2.30 against the base model's 2.50: 0.20 nats better "
              "than the base."),
    ],
)  # fmt: skip
def test_base_gain_wording_tells_worse_unclear_and_better_apart(tuned_nll, expected):
    verdict = overfit_verdict(_evidence(tuned_heldout_nll=tuned_nll))
    assert verdict.reasons[-1 if tuned_nll == 2.3 else -2] == expected


@pytest.mark.parametrize(
    "rate, baseline, expected",
    [
        (0.02, 0.04, "no more copying than the references themselves."),
        (0.06, 0.04, "2.0% more, below the 5% that counts as memorising."),
        (0.12, 0.04, "8.0% more, at or above the 5% that counts as memorising."),
    ],
)
def test_memorisation_wording_tells_none_below_and_above_apart(rate, baseline, expected):
    verdict = overfit_verdict(_evidence(memorisation_rate=rate, memorisation_baseline=baseline))
    (reason,) = [r for r in verdict.reasons if "copy a training target" in r]
    assert reason == (
        f"{rate:.1%} of held-out outputs copy a training target verbatim or nearly (outputs "
        f"equal to their own reference not counted), against {baseline:.1%} of held-out "
        f"references: {expected}"
    )


def test_still_falling_without_gain_over_base_is_underfitting():
    verdict = overfit_verdict(
        _evidence(
            curve=val_curve_analysis(GREETINGS_VAL, evaluated_step=276),
            base_heldout_nll=2.10,
            tuned_heldout_nll=2.08,
        )
    )
    assert verdict.label == "underfitting"
    assert verdict.reasons[1] == (
        "Val loss was still falling at the end: lowest at the last evaluation, step 276 (6.35), "
        "down 0.3% over the last evaluations."
    )
    assert "not clearly better than the base (gain 0.02 nats)" in verdict.reasons[-2]


def test_gain_whose_interval_reaches_zero_is_not_clear():
    evidence = _evidence(
        curve=val_curve_analysis(GREETINGS_VAL, evaluated_step=276), base_gain_ci=(-0.1, 1.3)
    )
    assert overfit_verdict(evidence).label == "underfitting"


def test_without_base_unchanged_train_loss_is_underfitting():
    train = [(1, 2.0), (2, 2.0), (3, 1.98), (4, 1.97)]  # means 2.0 → 1.975: 1.25% drop
    curve = val_curve_analysis(GREETINGS_VAL, evaluated_step=276, train_points=train)
    evidence = _evidence(curve=curve, base_heldout_nll=None, tuned_heldout_nll=None)
    assert overfit_verdict(evidence).label == "underfitting"
    falling_fast = val_curve_analysis(
        GREETINGS_VAL, evaluated_step=276, train_points=[(1, 4.0), (2, 2.0)]
    )
    evidence = _evidence(curve=falling_fast, base_heldout_nll=None, tuned_heldout_nll=None)
    assert overfit_verdict(evidence).label == "healthy"


def test_tiny_samples_are_inconclusive():
    verdict = overfit_verdict(_evidence(n_heldout=6, nll_gap=0.84, nll_gap_ci=(0.61, 1.07)))
    assert verdict.label == "inconclusive"
    assert verdict.reasons[0].startswith("Only 6 examples in the smaller")
    assert overfit_verdict(_evidence(nll_gap_ci=None)).label == "inconclusive"


@pytest.mark.parametrize(
    "ci, memorisation",
    [((-0.2, 0.8), 0.0), ((0.1, 0.5), 0.1)],  # spans 0 to above 0.2; straddles with a symptom
)
def test_wide_intervals_are_inconclusive(ci, memorisation):
    verdict = overfit_verdict(_evidence(nll_gap=0.3, nll_gap_ci=ci, memorisation_rate=memorisation))
    assert verdict.label == "inconclusive"
    assert "too wide" in verdict.reasons[-1]


def test_verdict_json_round_trips():
    verdict = overfit_verdict(_evidence())
    record = json.loads(json.dumps(verdict.to_json()))
    assert record == {
        "label": verdict.label,
        "reasons": verdict.reasons,
        "signals": verdict.signals,
        "settings": VerdictSettings().to_json(),
        "evidence": json.loads(json.dumps(asdict(_evidence()))),
    }
    assert record["settings"]["max_nll_gap"] == 0.2 and record["evidence"]["nll_gap"] == 0.05


@pytest.mark.parametrize(
    "field, value", [("max_nll_gap", -1), ("memorisation_excess", -0.1), ("min_examples", 0)]
)
def test_bad_thresholds_name_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        VerdictSettings(**{field: value})
