"""Overfitting and underfitting: the val curve at the evaluated weights, and one verdict.

All functions are pure: plain numbers in, dataclasses of plain values out. Every threshold
is a field of `VerdictSettings` (ftcore.verdicts.verdict_settings), stated in the verdict.

The gap that decides is the *excess* NLL gap, a difference in differences:
(tuned held-out − tuned train) − (base held-out − base train). The base model's own gap
says how much harder the held-out examples are by themselves (the base finds greetings
val 0.11 nats *easier* than train); only what the fine-tune adds can be overfitting.
Without base numbers the fine-tune's plain gap stands in, and the reason says so.

Verdict rules (`overfit_verdict`), checked in order:

1. inconclusive: fewer than `min_examples` train or held-out examples, or no gap CI.
2. overfitting: the gap's CI lies wholly above `max_nll_gap`. A large gap is never
   healthy, with or without a symptom; the symptoms present are cited with it.
3. underfitting: val loss was still falling when training ended AND the fine-tune has not
   clearly learned: its held-out NLL gain over the base is under `min_base_gain` or the
   gain's CI reaches 0 (without base numbers: train loss fell under `min_train_drop`).
4. inconclusive: the gap's CI reaches above `max_nll_gap`: too wide to call.
5. inconclusive: the gap is small but a symptom is present: by the evaluated weights'
   step val loss had risen `min_rise` above its minimum for `patience` evaluations, or
   held-out outputs copy training targets `memorisation_excess` more often than the
   held-out references do.
6. inconclusive: nothing shows that the fine-tune learned (see 3).
7. healthy: a gap CI wholly within `max_nll_gap`, no symptom, and clear learning.

Never counted: a train/held-out gap in a generation metric (ROUGE, chrF…) is the NLL gap
measured again, so it is reported but is no second symptom; and a val rise *after* the
evaluated weights' step says nothing against them (best/ is taken before it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ftcore.stats.intervals import Interval
from ftcore.verdicts.verdict_settings import VerdictSettings


@dataclass
class CurveAnalysis:
    n_points: int  # val evaluations seen
    best_step: int | None = None  # step of the lowest val loss (earliest on ties)
    best_value: float | None = None
    final_step: int | None = None
    final_value: float | None = None
    rise: float = 0.0  # final minus best val loss
    relative_rise: float = 0.0  # rise / best
    evaluations_above_best: int = 0  # later evaluations with val loss above the best
    rose: bool = False  # relative_rise ≥ min_rise over ≥ patience later evaluations
    recent_relative_drop: float = 0.0  # drop over the last `patience` evaluations / start
    still_falling: bool = False  # best is the last point and it still drops ≥ min_fall
    train_start: float | None = None  # mean of the first k train losses
    train_end: float | None = None  # mean of the last k train losses
    train_relative_drop: float | None = None  # (start - end) / start
    note: str = ""  # why flags are off for empty or single-point curves
    # The weights evaluated, and the curve up to them: only that can count against them.
    evaluated_step: int | None = None  # None: the caller did not say
    relative_rise_by_evaluated: float | None = None  # at that step, above the minimum so far
    rose_by_evaluated: bool | None = None  # None: step unknown, or < 2 evaluations by then


@dataclass
class _Trend:
    best: int  # index of the lowest value (earliest on ties)
    rise: float
    relative_rise: float
    above: int  # later values above the lowest
    rose: bool
    recent_relative_drop: float
    still_falling: bool


def _trend(values: list[float], settings: VerdictSettings) -> _Trend:
    best = values.index(min(values))
    rise = values[-1] - values[best]
    relative_rise = rise / values[best] if values[best] else 0.0
    above = sum(v > values[best] for v in values[best + 1 :])
    rose = relative_rise >= settings.min_rise and above >= settings.patience
    start = values[max(0, len(values) - 1 - settings.patience)]
    drop = (start - values[-1]) / start if start else 0.0
    falling = best == len(values) - 1 and drop >= settings.min_fall
    return _Trend(best, rise, relative_rise, above, rose, drop, falling)


def val_curve_analysis(
    val_points: list[tuple[int, float]],
    *,
    evaluated_step: int | None,
    train_points: list[tuple[int, float]] | None = None,
    settings: VerdictSettings | None = None,
) -> CurveAnalysis:
    """Where val loss bottoms out, whether it rises afterwards or is still falling, and
    whether it had risen by `evaluated_step`, the step whose weights are evaluated (best/:
    the best step; last/: the last step; None: unknown, so the curve is held against no
    weights). A step between evaluations is judged by the last evaluation before it."""
    settings = settings or VerdictSettings()
    result = CurveAnalysis(n_points=len(val_points), evaluated_step=evaluated_step)
    _add_train(result, train_points or [], settings.train_window)
    if not val_points:
        result.note = "no validation evaluations"
        return result
    points = sorted(val_points)
    values = [value for _, value in points]
    whole = _trend(values, settings)
    result.best_step, result.best_value = points[whole.best]
    result.final_step, result.final_value = points[-1]
    if len(points) == 1:
        result.note = "a single validation evaluation: no trend"
        return result
    result.rise, result.relative_rise = whole.rise, whole.relative_rise
    result.evaluations_above_best, result.rose = whole.above, whole.rose
    result.recent_relative_drop = whole.recent_relative_drop
    result.still_falling = whole.still_falling
    if evaluated_step is not None:
        before = [value for step, value in points if step <= evaluated_step]
        if len(before) >= 2:
            upto = _trend(before, settings)
            result.relative_rise_by_evaluated = upto.relative_rise
            result.rose_by_evaluated = upto.rose
    return result


def _add_train(result: CurveAnalysis, train_points: list[tuple[int, float]], k: int) -> None:
    if not train_points:
        return
    losses = [loss for _, loss in sorted(train_points)]
    k = max(1, min(k, len(losses) // 2 or 1))  # short curves: halves, never overlapping
    result.train_start = sum(losses[:k]) / k
    result.train_end = sum(losses[-k:]) / k
    if result.train_start:
        result.train_relative_drop = (result.train_start - result.train_end) / result.train_start


@dataclass
class OverfitEvidence:
    n_train: int  # train-sample examples behind the NLL and metric numbers
    n_heldout: int
    nll_gap: float | None = None  # the fine-tune's held-out minus train mean NLL, nats
    nll_gap_ci: Interval | None = None  # its CI (independent samples)
    base_nll_gap: float | None = None  # the base model's own held-out minus train NLL
    excess_gap: float | None = None  # nll_gap − base_nll_gap: what the fine-tune added
    excess_gap_ci: Interval | None = None  # its CI, paired within each split
    # metric → (train minus held-out, ci_low, ci_high, higher_is_better): reported only
    generation_gaps: dict[str, tuple[float, float, float, bool]] = field(default_factory=dict)
    curve: CurveAnalysis | None = None
    memorisation_rate: float | None = None  # held-out outputs copying a train target
    memorisation_baseline: float | None = None  # held-out references doing the same
    base_heldout_nll: float | None = None
    tuned_heldout_nll: float | None = None
    base_gain_ci: Interval | None = None  # CI of base minus tuned held-out NLL, paired

    def deciding_gap(self) -> tuple[float | None, Interval | None, bool]:
        """(gap, CI, is_excess): the excess gap when it has a CI, else the plain gap."""
        if self.excess_gap is not None and self.excess_gap_ci is not None:
            return self.excess_gap, self.excess_gap_ci, True
        return self.nll_gap, self.nll_gap_ci, False


@dataclass
class Verdict:
    label: str  # "healthy", "overfitting", "underfitting" or "inconclusive"
    reasons: list[str]  # plain-English sentences citing the numbers and thresholds
    signals: dict[str, bool | None]  # each rule's input; None where the evidence is missing
    settings: VerdictSettings = field(default_factory=VerdictSettings)
    evidence: OverfitEvidence | None = None

    def to_json(self) -> dict:
        """Plain JSON values, as written to overfit.json: the label, the reasons, each
        rule's input, the settings used and the evidence numbers."""
        return asdict(self)

    def to_markdown(self, heading: str = "Verdict") -> str:
        """The verdict as the Evaluate tab shows it: label, reasons, settings used."""
        lines = [f"### {heading}: **{self.label}**", ""]
        lines += [f"- {reason}" for reason in self.reasons]
        return "\n".join([*lines, "", self.settings.to_markdown()])


def overfit_verdict(evidence: OverfitEvidence, settings: VerdictSettings | None = None) -> Verdict:
    """Label a fine-tune by the rules in the module docstring, with a reason per signal."""
    s = settings or VerdictSettings()
    e = evidence
    reasons = _gap_reasons(e, s) + _curve_reasons(e.curve, s) + _symptom_reasons(e, s)
    reasons += _base_reasons(e, s)
    signals = _signals(e, s)

    def verdict(label: str, *closing: str) -> Verdict:
        return Verdict(label, reasons + list(closing), signals, s, e)

    _, ci, _ = e.deciding_gap()
    if min(e.n_train, e.n_heldout) < s.min_examples or ci is None:
        reasons.insert(0, _too_little(e, s))
        return verdict("inconclusive")
    symptoms = [name for name in ("val_rose", "memorising") if signals[name]]
    if signals["nll_gap_above"]:
        return verdict("overfitting", _overfitting_summary(symptoms))
    if signals["still_falling"] and signals["clearly_learned"] is False:
        return verdict(
            "underfitting", "The model is still learning and has not yet beaten its starting point."
        )
    if not signals["nll_gap_within"]:
        return verdict(
            "inconclusive",
            f"The NLL-gap interval is too wide to separate a healthy gap from one above "
            f"{s.max_nll_gap:.2f} nats: evaluate on more examples to decide.",
        )
    if symptoms:
        return verdict(
            "inconclusive",
            f"The gap is within {s.max_nll_gap:.2f} nats, but {_symptom_names(symptoms)} "
            f"{'point' if len(symptoms) > 1 else 'points'} to overfitting: the evidence "
            "disagrees.",
        )
    if not signals["clearly_learned"]:
        return verdict(
            "inconclusive",
            "Nothing shows the fine-tune learned: healthy needs a clear gain over the base "
            "(or, without base numbers, a falling train loss).",
        )
    return verdict("healthy")


def _signals(e: OverfitEvidence, s: VerdictSettings) -> dict[str, bool | None]:
    _, ci, _ = e.deciding_gap()
    memorising = None
    if e.memorisation_rate is not None:
        excess = e.memorisation_rate - (e.memorisation_baseline or 0.0)
        memorising = excess >= s.memorisation_excess
    return {
        "nll_gap_above": None if ci is None else ci[0] > s.max_nll_gap,
        "nll_gap_within": None if ci is None else ci[1] <= s.max_nll_gap,
        "val_rose": None if e.curve is None else e.curve.rose_by_evaluated,
        "memorising": memorising,
        "still_falling": None if e.curve is None else e.curve.still_falling,
        "clearly_learned": _clearly_learned(e, s),
    }


def _symptom_names(symptoms: list[str]) -> str:
    names = {"val_rose": "the val loss rise", "memorising": "copying of training targets"}
    return " and ".join(names[symptom] for symptom in symptoms)


def _overfitting_summary(symptoms: list[str]) -> str:
    if symptoms:
        verb = "bear" if len(symptoms) > 1 else "bears"
        return f"A large gap, and {_symptom_names(symptoms)} {verb} it out: overfitting."
    return "A gap this large is overfitting even without a second symptom."


def _gap_excludes_zero(gap: tuple[float, float, float, bool]) -> bool:
    _, low, high, higher_is_better = gap  # train minus held-out: overfit = train better
    return low > 0 if higher_is_better else high < 0


def _clearly_learned(e: OverfitEvidence, s: VerdictSettings) -> bool | None:
    if e.base_heldout_nll is not None and e.tuned_heldout_nll is not None:
        gain = e.base_heldout_nll - e.tuned_heldout_nll
        return gain >= s.min_base_gain and (e.base_gain_ci is None or e.base_gain_ci[0] > 0)
    if e.curve is not None and e.curve.train_relative_drop is not None:
        return e.curve.train_relative_drop >= s.min_train_drop
    return None


def _too_little(e: OverfitEvidence, s: VerdictSettings) -> str:
    if e.deciding_gap()[1] is None:
        return "No NLL gap with a confidence interval was given, so overfitting cannot be judged."
    return (
        f"Only {min(e.n_train, e.n_heldout)} examples in the smaller of the train and held-out "
        f"samples (at least {s.min_examples} needed): the intervals are too wide to judge."
    )


def _ci_text(ci: Interval, s: VerdictSettings) -> str:
    return f"{s.confidence:.0%} CI {ci[0]:.2f} to {ci[1]:.2f}"


def _higher_or_lower(gap: float) -> str:
    return f"{abs(gap):.2f} {'higher' if gap >= 0 else 'lower'}"


def _gap_change(gap: float) -> str:
    if abs(gap) < 0.005:  # shown as 0.00: neither added nor removed
        return "left the gap as it was"
    return f"added {gap:.2f} nats of gap" if gap > 0 else f"took {-gap:.2f} nats off the gap"


def _gap_reasons(e: OverfitEvidence, s: VerdictSettings) -> list[str]:
    """Three distinct outcomes: no gap (held-out fits at least as well), a gap within the
    allowance, a gap beyond it; plus an interval that straddles the allowance."""
    gap, ci, excess = e.deciding_gap()
    if gap is None or ci is None:
        return []
    if excess:
        head = (
            f"Held-out NLL is {_higher_or_lower(e.nll_gap)} than train NLL for the fine-tune "
            f"and {_higher_or_lower(e.base_nll_gap)} for the base model, so the fine-tune "
            f"{_gap_change(gap)} ({_ci_text(ci, s)})"
        )
    else:
        head = f"Held-out NLL is {_higher_or_lower(gap)} than train NLL ({_ci_text(ci, s)})"
    what = "added gap" if excess else "gap"
    a_gap = f"an {what}" if excess else f"a {what}"
    allowed = f"the {s.max_nll_gap:.2f} nats allowed"
    if ci[0] > s.max_nll_gap:
        return [
            f"{head}: {a_gap} beyond {allowed}; the model fits its training data much "
            "better than new data."
        ]
    if ci[1] <= s.max_nll_gap and gap <= 0:
        return [
            f"{head}: no {what}, and the interval stays within {allowed}, so new data fits "
            "at least as well as train."
        ]
    if ci[1] <= s.max_nll_gap:
        return [f"{head}: {a_gap} within {allowed}, so new data fits about as well as train."]
    return [f"{head}: the interval straddles {allowed}; more examples would decide."]


def _curve_reasons(curve: CurveAnalysis | None, s: VerdictSettings) -> list[str]:
    if curve is None or curve.best_step is None:
        return [] if curve is None else ["No validation curve was recorded."]
    best = f"step {curve.best_step} ({curve.best_value:.2f})"
    if curve.n_points == 1:
        return [f"Val loss was measured once ({best}): no trend to read."]
    if curve.still_falling:
        return [
            f"Val loss was still falling at the end: lowest at the last evaluation, {best}, "
            f"down {curve.recent_relative_drop:.1%} over the last evaluations."
        ]
    if curve.rise <= 0:
        return [f"Val loss never rose above its lowest, {best}, and has flattened."]
    rise = f"rose {curve.relative_rise:.0%} by step {curve.final_step}"
    head = f"Val loss bottomed out at {best} and {rise}"
    step = curve.evaluated_step
    if step is None:
        return [
            f"{head}; the evaluated weights' step was not given, so the rise is held "
            "against no weights."
        ]
    if step >= curve.final_step:
        return [head + ("" if curve.rose else _why_no_rise(curve, s)) + "."]
    if curve.rose_by_evaluated:
        return [
            f"{head}; the evaluated weights are from step {step}, when it already stood "
            f"{curve.relative_rise_by_evaluated:.0%} above its minimum."
        ]
    return [
        f"{head}, after the evaluated weights (step {step}) were taken: that rise does not "
        "count against them."
    ]


def _why_no_rise(curve: CurveAnalysis, s: VerdictSettings) -> str:
    if curve.relative_rise < s.min_rise:
        return f", under the {s.min_rise:.0%} rise that would count"
    return (
        f", but over {curve.evaluations_above_best} evaluation(s), fewer than the "
        f"{s.patience} that make a trend"
    )


def _symptom_reasons(e: OverfitEvidence, s: VerdictSettings) -> list[str]:
    reasons = []
    if e.memorisation_rate is not None:
        reasons.append(_memorisation_reason(e, s))
    for name, gap in e.generation_gaps.items():
        value, low, high, _ = gap
        ci = f"train minus held-out {value:.2f}, {s.confidence:.0%} CI {low:.2f} to {high:.2f}"
        if _gap_excludes_zero(gap):
            reasons.append(
                f"{name} is clearly better on train than on held-out data ({ci}); a "
                "generation-metric gap restates the NLL gap, so it is not counted again."
            )
        else:
            reasons.append(f"{name} shows no clear train/held-out gap ({ci}).")
    return reasons


def _memorisation_reason(e: OverfitEvidence, s: VerdictSettings) -> str:
    rate = e.memorisation_rate
    head = f"{rate:.1%} of held-out outputs copy a training target verbatim or nearly"
    limit = f"the {s.memorisation_excess:.0%} that counts as memorising"
    if e.memorisation_baseline is None:
        verb = "at or above" if rate >= s.memorisation_excess else "below"
        return f"{head}, {verb} {limit} (no baseline given)."
    excess = rate - e.memorisation_baseline
    head = (
        f"{head} (outputs equal to their own reference not counted), against "
        f"{e.memorisation_baseline:.1%} of held-out references"
    )
    if excess <= 0:
        return f"{head}: no more copying than the references themselves."
    verb = "at or above" if excess >= s.memorisation_excess else "below"
    return f"{head}: {excess:.1%} more, {verb} {limit}."


def _base_reasons(e: OverfitEvidence, s: VerdictSettings) -> list[str]:
    if e.base_heldout_nll is None or e.tuned_heldout_nll is None:
        return []
    gain = e.base_heldout_nll - e.tuned_heldout_nll
    head = (
        f"Fine-tuned held-out NLL is {e.tuned_heldout_nll:.2f} against the base model's "
        f"{e.base_heldout_nll:.2f}"
    )
    if e.base_gain_ci is not None:
        head += f" (gain {_ci_text(e.base_gain_ci, s)}, paired)"
    if _clearly_learned(e, s):
        return [f"{head}: {gain:.2f} nats better than the base."]
    clear = f"a clear gain is at least {s.min_base_gain:.2f} nats with its interval above 0"
    if gain < 0:
        return [f"{head}: {-gain:.2f} nats worse than the base; {clear}."]
    return [f"{head}: not clearly better than the base (gain {gain:.2f} nats); {clear}."]
