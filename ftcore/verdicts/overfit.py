"""Overfitting and underfitting evidence: the val curve, memorisation, and one verdict.

All functions are pure: plain numbers and strings in, dataclasses of plain values out.

Verdict rules (`overfit_verdict`, thresholds in `VerdictThresholds`), checked in order:

1. inconclusive: fewer than `min_examples` train or held-out examples, or no NLL-gap CI.
2. overfitting: the 95% CI of the NLL gap (held-out minus train mean NLL) lies wholly
   above `nll_gap` nats AND at least one symptom: the val curve rose after its minimum by
   ≥ `min_rise` (relative), the memorisation rate is ≥ `memorisation_rate`, or a
   generation-metric gap CI (train minus held-out) excludes 0 in the overfit direction.
3. underfitting: the val curve is still falling at the end AND the fine-tuned model is not
   clearly better than the base on held-out NLL (gain < `min_base_gain` nats, or the gain's
   CI reaches 0); without base numbers, the smoothed train loss fell < `min_train_drop`.
4. inconclusive: the NLL-gap CI straddles the threshold while a symptom is present (the
   call hinges on noise), or it runs from below 0 to above the threshold (too wide).
5. healthy: none of the above.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ftcore.errors import ConfigError

Interval = tuple[float, float]


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


def val_curve_analysis(
    val_points: list[tuple[int, float]],
    *,
    min_rise: float = 0.02,  # 2% above the minimum counts as rising
    patience: int = 3,  # evaluations that make a trend, as in early stopping
    min_fall: float = 0.001,  # 0.1% drop over the last `patience` evaluations is "falling"
    train_points: list[tuple[int, float]] | None = None,
    train_window: int = 10,  # k: train loss is noisy, so compare means of k points
) -> CurveAnalysis:
    """Where val loss bottoms out, whether it rises afterwards or is still falling."""
    if min_rise < 0:
        raise ConfigError("min_rise", min_rise, "a relative rise ≥ 0")
    if patience < 1:
        raise ConfigError("patience", patience, "an integer ≥ 1")
    result = CurveAnalysis(n_points=len(val_points))
    _add_train(result, train_points or [], train_window)
    if not val_points:
        result.note = "no validation evaluations"
        return result
    points = sorted(val_points)
    values = [value for _, value in points]
    best = values.index(min(values))
    result.best_step, result.best_value = points[best]
    result.final_step, result.final_value = points[-1]
    if len(points) == 1:
        result.note = "a single validation evaluation: no trend"
        return result
    result.rise = values[-1] - values[best]
    result.relative_rise = result.rise / values[best] if values[best] else 0.0
    result.evaluations_above_best = sum(v > values[best] for v in values[best + 1 :])
    result.rose = result.relative_rise >= min_rise and result.evaluations_above_best >= patience
    start = values[max(0, len(values) - 1 - patience)]
    result.recent_relative_drop = (start - values[-1]) / start if start else 0.0
    result.still_falling = best == len(values) - 1 and result.recent_relative_drop >= min_fall
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
class VerdictThresholds:
    nll_gap: float = 0.2  # nats held-out minus train; below this the gap is ordinary
    min_rise: float = 0.02  # relative val-loss rise after its minimum that counts
    memorisation_rate: float = 0.05  # share of held-out outputs copying a train target
    min_examples: int = 10  # fewer train or held-out examples and every CI is noise
    min_base_gain: float = 0.05  # nats of held-out NLL gain over base that is "clear"
    min_train_drop: float = 0.05  # without a base: train loss must fall 5% to count

    def __post_init__(self) -> None:
        for name in ("nll_gap", "min_rise", "memorisation_rate", "min_base_gain"):
            if getattr(self, name) < 0:
                raise ConfigError(name, getattr(self, name), "a number ≥ 0")
        if not 0 <= self.min_train_drop < 1:
            raise ConfigError("min_train_drop", self.min_train_drop, "a share in [0, 1)")
        if self.min_examples < 1:
            raise ConfigError("min_examples", self.min_examples, "an integer ≥ 1")


@dataclass
class OverfitEvidence:
    n_train: int  # train-sample examples behind the NLL and metric numbers
    n_heldout: int
    nll_gap: float | None = None  # held-out minus train mean NLL, nats
    nll_gap_ci: Interval | None = None  # its 95% CI
    # metric → (train minus held-out, ci_low, ci_high, higher_is_better)
    generation_gaps: dict[str, tuple[float, float, float, bool]] = field(default_factory=dict)
    curve: CurveAnalysis | None = None
    memorisation_rate: float | None = None
    base_heldout_nll: float | None = None
    tuned_heldout_nll: float | None = None
    base_gain_ci: Interval | None = None  # 95% CI of base minus tuned held-out NLL


@dataclass
class Verdict:
    label: str  # "healthy", "overfitting", "underfitting" or "inconclusive"
    reasons: list[str]  # plain-English sentences citing the numbers
    signals: dict[str, bool | None]  # each rule's input; None where the evidence is missing

    def to_json(self) -> dict:
        """Plain JSON values, as written to overfit.json."""
        return asdict(self)


def overfit_verdict(
    evidence: OverfitEvidence, thresholds: VerdictThresholds | None = None
) -> Verdict:
    """Label a fine-tune by the rules in the module docstring, with a reason per signal."""
    t = thresholds or VerdictThresholds()
    e = evidence
    reasons = _nll_gap_reasons(e, t) + _curve_reasons(e.curve, t) + _symptom_reasons(e, t)
    reasons += _base_reasons(e, t)
    signals = _signals(e, t)
    symptom = signals["val_rose"] or signals["memorising"] or signals["generation_gap"]
    ci = e.nll_gap_ci
    if min(e.n_train, e.n_heldout) < t.min_examples or ci is None:
        reasons.insert(0, _too_little(e, t))
        return Verdict("inconclusive", reasons, signals)
    if signals["nll_gap_above"] and symptom:
        return Verdict("overfitting", reasons, signals)
    if signals["still_falling"] and signals["clearly_learned"] is False:
        reasons.append("The model is still learning and has not yet beaten its starting point.")
        return Verdict("underfitting", reasons, signals)
    straddles = ci[0] <= t.nll_gap < ci[1]
    if straddles and (symptom or ci[0] < 0):
        reasons.append(
            f"The NLL-gap interval is too wide to separate a healthy gap from one above "
            f"{t.nll_gap:.2f} nats: evaluate on more examples to decide."
        )
        return Verdict("inconclusive", reasons, signals)
    return Verdict("healthy", reasons, signals)


def _signals(e: OverfitEvidence, t: VerdictThresholds) -> dict[str, bool | None]:
    gaps = [_gap_excludes_zero(gap) for gap in e.generation_gaps.values()]
    return {
        "nll_gap_above": None if e.nll_gap_ci is None else e.nll_gap_ci[0] > t.nll_gap,
        "val_rose": None if e.curve is None else _rose(e.curve, t),
        "memorising": None
        if e.memorisation_rate is None
        else e.memorisation_rate >= t.memorisation_rate,
        "generation_gap": any(gaps) if gaps else None,
        "still_falling": None if e.curve is None else e.curve.still_falling,
        "clearly_learned": _clearly_learned(e, t),
    }


def _rose(curve: CurveAnalysis, t: VerdictThresholds) -> bool:
    # The curve's own flag used its min_rise; the verdict's threshold decides here.
    return curve.rose and curve.relative_rise >= t.min_rise


def _gap_excludes_zero(gap: tuple[float, float, float, bool]) -> bool:
    _, low, high, higher_is_better = gap  # train minus held-out: overfit = train better
    return low > 0 if higher_is_better else high < 0


def _clearly_learned(e: OverfitEvidence, t: VerdictThresholds) -> bool | None:
    if e.base_heldout_nll is not None and e.tuned_heldout_nll is not None:
        gain = e.base_heldout_nll - e.tuned_heldout_nll
        return gain >= t.min_base_gain and (e.base_gain_ci is None or e.base_gain_ci[0] > 0)
    if e.curve is not None and e.curve.train_relative_drop is not None:
        return e.curve.train_relative_drop >= t.min_train_drop
    return None


def _too_little(e: OverfitEvidence, t: VerdictThresholds) -> str:
    if e.nll_gap_ci is None:
        return "No NLL gap with a confidence interval was given, so overfitting cannot be judged."
    return (
        f"Only {min(e.n_train, e.n_heldout)} examples in the smaller of the train and held-out "
        f"samples (at least {t.min_examples} needed): the intervals are too wide to judge."
    )


def _nll_gap_reasons(e: OverfitEvidence, t: VerdictThresholds) -> list[str]:
    if e.nll_gap is None or e.nll_gap_ci is None:
        return []
    low, high = e.nll_gap_ci
    where = "higher" if e.nll_gap >= 0 else "lower"
    head = f"Held-out NLL is {abs(e.nll_gap):.2f} {where} than train NLL"
    head += f" (95% CI {low:.2f} to {high:.2f})"
    if low > t.nll_gap:
        return [f"{head}: the model fits its training data much better than new data."]
    if high <= t.nll_gap:
        return [f"{head}: within {t.nll_gap:.2f} nats, so new data fits about as well as train."]
    return [f"{head}: the interval straddles the {t.nll_gap:.2f}-nat threshold."]


def _curve_reasons(curve: CurveAnalysis | None, t: VerdictThresholds) -> list[str]:
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
    if curve.rise > 0:
        rise = f"rose {curve.relative_rise:.0%} by step {curve.final_step}"
        tail = "" if _rose(curve, t) else f", under the {t.min_rise:.0%} rise that would count"
        return [f"Val loss bottomed out at {best} and {rise}{tail}."]
    return [f"Val loss never rose: lowest at the last evaluation, {best}, and has flattened."]


def _symptom_reasons(e: OverfitEvidence, t: VerdictThresholds) -> list[str]:
    reasons = []
    if e.memorisation_rate is not None:
        verb = "at or above" if e.memorisation_rate >= t.memorisation_rate else "below"
        reasons.append(
            f"{e.memorisation_rate:.1%} of held-out outputs copy a training target verbatim or "
            f"nearly, {verb} the {t.memorisation_rate:.0%} threshold."
        )
    for name, gap in e.generation_gaps.items():
        value, low, high, _ = gap
        ci = f"train minus held-out {value:.2f}, 95% CI {low:.2f} to {high:.2f}"
        if _gap_excludes_zero(gap):
            reasons.append(f"{name} is clearly better on train than on held-out data ({ci}).")
        else:
            reasons.append(f"{name} shows no clear train/held-out gap ({ci}).")
    return reasons


def _base_reasons(e: OverfitEvidence, t: VerdictThresholds) -> list[str]:
    if e.base_heldout_nll is None or e.tuned_heldout_nll is None:
        return []
    gain = e.base_heldout_nll - e.tuned_heldout_nll
    head = (
        f"Fine-tuned held-out NLL is {e.tuned_heldout_nll:.2f} against the base model's "
        f"{e.base_heldout_nll:.2f}"
    )
    if e.base_gain_ci is not None:
        head += f" (gain 95% CI {e.base_gain_ci[0]:.2f} to {e.base_gain_ci[1]:.2f})"
    if _clearly_learned(e, t):
        return [f"{head}: {gain:.2f} nats better than the base."]
    return [f"{head}: not clearly better than the base (gain {gain:.2f} nats)."]
