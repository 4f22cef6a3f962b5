"""The evaluation audit's cases (issue 9, findings 2, 3 and 10; issue 8 item 8), each
reproduced with numbers and checked against what the verdicts now say."""

import json
import math

import numpy as np
import pytest

from ftcore.evaluation.assess import assess_model, training_curve, weights_step
from ftcore.stats.bootstrap import bootstrap_mean_difference_ci
from ftcore.training.runfiles import ProgressLog, RunPaths, RunStatus, write_status
from ftcore.verdicts.forgetting import forgetting_check, three_part_exam
from ftcore.verdicts.overfit import OverfitEvidence, overfit_verdict, val_curve_analysis
from ftcore.verdicts.verdict_settings import VerdictSettings

N = 20  # examples a split: above min_examples, so every case is judged


def correlated(seed: int, mean_base: float, mean_tuned: float, sd: float = 0.15):
    """Per-example scores of base and fine-tuned on the same 50 examples, correlation 0.8."""
    rng = np.random.default_rng(seed)
    z1, z2 = rng.standard_normal(50), rng.standard_normal(50)
    base = mean_base + sd * z1
    tuned = mean_tuned + sd * (0.8 * z1 + 0.6 * z2)
    return base.round(4).tolist(), tuned.round(4).tolist()


# ---- finding 2: paired data compared paired -------------------------------------------


def test_consistent_small_rouge_gain_is_found_by_the_exam():
    base, tuned = correlated(7, 0.30, 0.33)  # +0.03 ROUGE-L, the audit's simulation
    row = {
        "part": "generalisation",
        "metric": "rougeL",
        "base": {"value": float(np.mean(base)), "per_example": base},
        "tuned": {"value": float(np.mean(tuned)), "per_example": tuned},
    }
    (part,) = three_part_exam([row], seed=0)
    assert part.delta == pytest.approx(0.034, abs=5e-4)
    assert part.verdict == "better" and part.delta_ci[0] > 0
    # Independent resampling (what the exam used to do) cannot see it.
    low, high = bootstrap_mean_difference_ci(tuned, base, 1000, 0)
    assert low < 0 < high


def test_real_probe_drop_is_flagged_as_forgetting():
    base, tuned = correlated(7, 0.35, 0.35 * (1 - 0.086), sd=0.12)
    change = np.mean(tuned) / np.mean(base) - 1
    assert change == pytest.approx(-0.085, abs=5e-4)
    result = forgetting_check(
        {"rougeL": {"value": float(np.mean(base)), "per_example": base}},
        {"rougeL": {"value": float(np.mean(tuned)), "per_example": tuned}},
        seed=0,
    )
    (check,) = result.checks
    assert result.forgot and check.delta_ci[1] < 0
    assert "paired 95% CI of the change" in check.reason
    low, high = bootstrap_mean_difference_ci(tuned, base, 1000, 0)
    assert low < 0 < high  # independently resampled, the drop looked like noise


# ---- an evaluation on which every verdict can be judged -------------------------------


def texts(kind: str, n: int = N) -> list[str]:
    return [
        f"{kind}第{i}句：新春快乐，万事如意，阖家安康，{kind}{i * 7}号祝福送给你！"
        for i in range(n)
    ]


TRAIN_TARGETS = texts("训练")


def nll_rows(per_token: list[float], tokens: int = 20) -> list[tuple[float, int]]:
    return [(value * tokens, tokens) for value in per_token]


def spread(centre: float, n: int = N) -> list[float]:
    """Per-token NLLs that differ a lot between examples (±0.6 nats), as prompts do."""
    return [centre + 0.6 * math.sin(1.7 * i) for i in range(n)]


def evaluation(
    *,
    base_train=3.11,
    base_heldout=3.0,
    train_gain=1.0,
    heldout_gain=1.0,
    heldout_predictions=None,
    heldout_references=None,
    train_targets=TRAIN_TARGETS,
):
    """Scores, example rows and NLLs of base and "tuned" on train and val. The fine-tune
    is `train_gain` / `heldout_gain` nats per token better than base on every example."""
    references = {"train": train_targets, "val": heldout_references or texts("验证")}
    predictions = {
        ("base", "train"): texts("底座"),
        ("base", "val"): texts("底座"),
        ("tuned", "train"): texts("微调"),
        ("tuned", "val"): heldout_predictions or texts("微调"),
    }
    nll = {("base", "train"): spread(base_train), ("base", "val"): spread(base_heldout)}
    nll["tuned", "train"] = [v - train_gain for v in nll["base", "train"]]
    nll["tuned", "val"] = [v - heldout_gain for v in nll["base", "val"]]
    examples, scores = [], {}
    for (model, split), outputs in predictions.items():
        rouge = [0.2 if model == "base" else 0.5] * len(outputs)
        examples += [
            {"model": model, "split": split, "id": i, "prediction": p, "reference": r,
             "scores": {"rougeL": rouge[i]}}
            for i, (p, r) in enumerate(zip(outputs, references[split], strict=True))
        ]  # fmt: skip
        scores.setdefault(model, {})[split] = {
            "rougeL": {"value": float(np.mean(rouge))},
            "perplexity": {"value": math.exp(float(np.mean(nll[model, split])))},
        }
    return scores, examples, {key: nll_rows(values) for key, values in nll.items()}


def assess(curve=None, seed=0, settings=None, **changes):
    scores, examples, nll = evaluation(**changes)
    train_targets = changes.get("train_targets", TRAIN_TARGETS)
    return assess_model(
        "tuned", scores, examples, nll, train_targets, curve, seed=seed, bootstrap=300,
        settings=settings,
    )  # fmt: skip


def test_a_sound_fine_tune_is_healthy_with_evidence():
    result = assess()
    assert result.verdict.label == "healthy", result.verdict.reasons
    assert result.excess_gap.value == pytest.approx(0.0, abs=1e-9)
    assert result.base_gain.ci == pytest.approx((1.0, 1.0), abs=1e-9)


def test_gain_over_base_on_every_example_is_not_underfitting():
    # The audit: better than base on 100% of held-out examples, a gain CI of [-0.13, 0.31]
    # from independent resampling, and "underfitting" while val loss was still falling.
    falling = val_curve_analysis(
        [(0, 3.0), (10, 2.9), (20, 2.85), (30, 2.82), (40, 2.80)], evaluated_step=40
    )
    result = assess(curve=falling, train_gain=0.09, heldout_gain=0.09)
    assert result.base_gain.value == pytest.approx(0.09)
    assert result.base_gain.ci[0] > 0  # paired: every resample gains 0.09
    assert result.verdict.signals["still_falling"] and result.verdict.signals["clearly_learned"]
    assert result.verdict.label == "healthy", result.verdict.reasons


# ---- finding 3: verdicts wrong by construction ----------------------------------------


def test_base_models_own_gap_is_subtracted():
    # Base finds val 0.11 nats easier than train (the greetings). The fine-tune's plain gap
    # is 0.34, but it added 0.45 beyond the base's: overfitting, which the plain gap hides.
    result = assess(train_gain=1.0, heldout_gain=0.55)
    assert result.nll_gap.value == pytest.approx(0.34)
    assert result.excess_gap.value == pytest.approx(0.45)
    assert result.excess_gap.ci == pytest.approx((0.45, 0.45), abs=1e-9)
    assert result.verdict.label == "overfitting"
    assert (
        "0.11 lower for the base model, so the fine-tune added 0.45 nats"
        in (result.verdict.reasons[0])
    )
    # A held-out split the base finds 0.5 nats harder: a 0.6 gap of which 0.1 is new.
    harder = assess(base_heldout=3.61, train_gain=1.0, heldout_gain=0.9)
    assert harder.nll_gap.value == pytest.approx(0.6)
    assert harder.excess_gap.value == pytest.approx(0.1)
    assert harder.verdict.label == "healthy", harder.verdict.reasons


@pytest.mark.parametrize("gap, ci", [(1.5, (1.2, 1.8)), (0.74, (0.35, 1.04))])
def test_a_large_gap_is_never_healthy(gap, ci):
    # The audit's cases: 1.5 nats with no curve, and 0.74 (CI 0.35–1.04), were "healthy".
    evidence = OverfitEvidence(
        n_train=50, n_heldout=50, nll_gap=gap, nll_gap_ci=ci, memorisation_rate=0.0,
        base_heldout_nll=3.0, tuned_heldout_nll=2.0,
    )  # fmt: skip
    assert overfit_verdict(evidence).label == "overfitting"


def test_healthy_needs_evidence_of_learning():
    # A small gap, but no base numbers and no curve: nothing shows the fine-tune learned.
    evidence = OverfitEvidence(n_train=50, n_heldout=50, nll_gap=0.02, nll_gap_ci=(-0.05, 0.09))
    verdict = overfit_verdict(evidence)
    assert verdict.label == "inconclusive"
    assert verdict.reasons[-1].startswith("Nothing shows the fine-tune learned")


@pytest.mark.parametrize("ci", [(-0.05, 0.1), (0.1, 0.35), (0.3, 0.7)])
def test_a_generation_metric_gap_is_never_a_second_symptom(ci):
    plain = OverfitEvidence(
        n_train=50, n_heldout=50, nll_gap=sum(ci) / 2, nll_gap_ci=ci, memorisation_rate=0.0,
        base_heldout_nll=3.0, tuned_heldout_nll=2.0,
    )  # fmt: skip
    with_metric_gap = OverfitEvidence(
        **{**plain.__dict__, "generation_gaps": {"rougeL": (0.2, 0.12, 0.28, True)}}
    )
    verdict = overfit_verdict(with_metric_gap)
    assert verdict.label == overfit_verdict(plain).label
    assert "restates the NLL gap, so it is not counted again" in " ".join(verdict.reasons)


def write_run(root, val_points, best_step, last_step):
    root.mkdir(parents=True)
    paths = RunPaths(root)
    log = ProgressLog(paths.progress)
    for step, loss in val_points:
        log.write("val", step=step, val_loss=loss)
    write_status(root, RunStatus(str(root), "completed", step=last_step, best_step=best_step))
    for folder in (paths.best, paths.last):
        folder.mkdir()
    return paths


def test_a_rise_after_the_best_step_does_not_condemn_best_weights(tmp_path):
    paths = write_run(
        tmp_path / "run", [(0, 3.0), (60, 2.4), (120, 2.0), (180, 2.05), (240, 2.1), (300, 2.18)],
        best_step=120, last_step=300,
    )  # fmt: skip
    assert weights_step(paths.best) == 120 and weights_step(paths.last) == 300
    assert weights_step(paths.root) == 120  # a run that validated publishes best/
    assert weights_step(tmp_path) is None  # not an ftstudio run
    best = training_curve(paths.best, evaluated_step=weights_step(paths.best))
    last = training_curve(paths.last, evaluated_step=weights_step(paths.last))
    assert best.rose and last.rose  # the run as a whole did turn up
    at_best, at_last = assess(curve=best), assess(curve=last)
    assert at_best.verdict.signals["val_rose"] is False
    assert at_best.verdict.label == "healthy", at_best.verdict.reasons
    assert "after the evaluated weights (step 120) were taken" in at_best.verdict.reasons[1]
    assert at_last.verdict.signals["val_rose"] is True
    assert at_last.verdict.label == "inconclusive"
    assert at_last.verdict.reasons[1] == (
        "Val loss bottomed out at step 120 (2.00) and rose 9% by step 300."
    )


def test_short_answer_labels_are_not_memorisation():
    # A sentiment task: every correct answer equals some training target.
    labels = ["正面", "负面", "中性"]
    references = [labels[i % 3] for i in range(N)]
    predictions = references[:16] + [labels[(i + 1) % 3] for i in range(16, N)]  # 4 wrong
    result = assess(
        train_targets=[labels[i % 3] for i in range(N)],
        heldout_references=references,
        heldout_predictions=predictions,
    )
    memorised = result.memorisation
    assert memorised.n_equal_to_reference == 16  # correct answers are never copies
    assert memorised.rate == pytest.approx(4 / N)  # the wrong ones do copy a label …
    assert memorised.baseline_rate == 1.0  # … as every reference does
    assert memorised.excess_rate == pytest.approx(4 / N - 1)
    assert result.verdict.signals["memorising"] is False


# ---- finding 10 and issue 8: thresholds stated, seeds derived, one text ------------------


def test_every_threshold_is_stated_and_recorded():
    settings = VerdictSettings(max_nll_gap=0.3, min_base_gain=0.2)
    result = assess(settings=settings, train_gain=0.1, heldout_gain=0.1)
    text = result.to_markdown()
    for name, value in settings.to_json().items():
        assert f"`{name}`={value:g}" in text
    assert "within the 0.30 nats allowed" in text
    assert "a clear gain is at least 0.20 nats" in text  # the minimum gain is said
    record = json.loads(json.dumps(result.to_json()))
    assert record["verdict"]["settings"] == settings.to_json()
    assert record["verdict"]["evidence"]["excess_gap"] == pytest.approx(0.0, abs=1e-9)
    assert record["resampling"] == {"bootstrap": 300, "seed": 0}
    for item in VerdictSettings.__dataclass_fields__.values():
        assert len(VerdictSettings.help(item.name)) > 30  # every setting is documented


def test_every_interval_follows_the_callers_seed():
    def intervals(seed):
        result = assess(seed=seed, train_gain=0.7, heldout_gain=0.6)
        return result.nll_gap.ci, result.generation_gaps["chrf"].ci_signature

    assert intervals(3) == intervals(3)
    assert intervals(3) != intervals(4)
    base, tuned = correlated(1, 0.3, 0.33)
    row = {
        "part": "p",
        "metric": "rougeL",
        "base": {"value": float(np.mean(base)), "per_example": base},
        "tuned": {"value": float(np.mean(tuned)), "per_example": tuned},
    }
    [a], [b] = three_part_exam([row], seed=0), three_part_exam([row], seed=1)
    assert a.delta_ci != b.delta_ci  # the exam's seed is the caller's, not the part's index


def test_terminal_summary_says_each_exam_part_once_in_plain_text():
    """Issue 13: each exam line read "exam, in-domain: better. …" and the Evaluate tab's
    "why" column repeated the part and verdict shown in the columns beside it."""
    result = assess()
    lines = result.summary().splitlines()
    start = lines.index("  three-part exam (fine-tuned against base, paired):")
    exam_lines = lines[start + 1 : start + 1 + len(result.exam)]
    assert exam_lines == [
        "  - in-domain (train sample): better. rougeL 0.200 → 0.500 (delta +0.300, 95% CI "
        "+0.300 to +0.300).",
        "  - generalisation: better. rougeL 0.200 → 0.500 (delta +0.300, 95% CI +0.300 to +0.300).",
    ]
    for part in result.exam:
        assert part.part not in part.reason and part.verdict not in part.reason
    assert lines[-1].startswith("  settings used: max_nll_gap=0.2, min_examples=10,")
    assert "`" not in result.summary() and "*" not in result.summary()


def test_the_evaluate_tab_shows_the_librarys_text_unchanged():
    from ftcore.ui.eval_views import verdict_markdown  # imports gradio: only here

    result = assess()
    assert verdict_markdown({"tuned": result}) == result.to_markdown()
    assert result.to_markdown().startswith("### tuned: **healthy**")


@pytest.mark.parametrize(
    "base, tuned, expected",
    [
        # Issue 13: a rise used to read "within the 5% allowed drop".
        (0.055, 0.060, "rougeL rose from 0.055 to 0.060 (+9.1%): better than the base, "
                       "no forgetting."),
        (0.3, 0.3, "rougeL stayed at 0.300: no change."),
        (0.3, 0.29, "rougeL fell from 0.300 to 0.290 (-3.3%): worse, but within the 5% allowed "
                    "decline."),
        (0.3, 0.2, "rougeL fell from 0.300 to 0.200 (-33.3%): worse by more than the 5% allowed "
                   "decline (no interval to check it against)."),
    ],
)  # fmt: skip
def test_forgetting_wording_never_contradicts_itself(base, tuned, expected):
    result = forgetting_check({"rougeL": {"value": base}}, {"rougeL": {"value": tuned}}, seed=0)
    assert result.reasons == [expected]


@pytest.mark.parametrize(
    "base, tuned, higher_is_better, expected",
    [
        (10.0, 9.0, None, "Probe perplexity fell from 10.00 to 9.00 (-10.0%): better than the "
                          "base, no forgetting."),
        (10.0, 10.0, None, "Probe perplexity stayed at 10.00: no change."),
        (10.0, 10.5, None, "Probe perplexity rose from 10.00 to 10.50 (+5.0%): worse, but "
                           "within the 10% allowed increase."),
        # A lower-is-better metric that falls improved: the verb follows the number, the
        # judgement follows the direction that is better.
        (50.0, 45.0, False, "ter fell from 50.000 to 45.000 (-10.0%): better than the base, "
                            "no forgetting."),
        (50.0, 51.0, False, "ter rose from 50.000 to 51.000 (+2.0%): worse, but within the 5% "
                            "allowed decline."),
    ],
)  # fmt: skip
def test_forgetting_wording_for_perplexity_and_lower_is_better(
    base, tuned, higher_is_better, expected
):
    name = "perplexity" if higher_is_better is None else "ter"
    extra = {} if higher_is_better is None else {"higher_is_better": higher_is_better}
    result = forgetting_check(
        {name: {"value": base, **extra}}, {name: {"value": tuned, **extra}}, seed=0
    )
    assert result.reasons == [expected]
