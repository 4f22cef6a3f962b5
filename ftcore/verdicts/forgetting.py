"""Forgetting and the three-part exam: base against fine-tuned, per probe and per part.

Inputs are plain dicts of results per model, e.g.
`{"perplexity": {"value": 12.3}, "rougeL": {"value": 0.41, "ci_low": 0.38, "ci_high": 0.44,
"per_example": [...], "higher_is_better": True}}`.

Forgetting (`forgetting_check`):
- perplexity regresses when tuned / base − 1 > `max_ppl_increase` (default 10%);
- a metric regresses when it drops by more than `max_metric_drop` of the base value
  (relative, default 5%) AND the drop is real: with per-example lists for both models, the
  bootstrap CI of tuned − base lies wholly on the bad side of 0; without them, the two
  models' CIs do not overlap; without any CI the point drop decides and the reason says so.

Three-part exam (`three_part_exam`): per part, "better" when the 95% CI of the
tuned − base delta of the main metric excludes 0 in the good direction, "worse" when it
excludes 0 in the bad direction, "no clear change" otherwise (or when no CI can be had).
The delta CI is the row's `delta_ci` if given, else bootstrapped from per-example lists.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from ftcore.errors import ConfigError
from ftcore.stats.bootstrap import bootstrap_mean_difference_ci

Interval = tuple[float, float]


@dataclass
class ProbeCheck:
    name: str  # "perplexity" or a metric name
    base: float
    tuned: float
    relative_change: float | None  # (tuned − base) / base; None when base is 0
    delta_ci: Interval | None  # 95% CI of tuned − base, from per-example values
    regressed: bool
    reason: str


@dataclass
class ForgettingResult:
    forgot: bool  # any probe regressed beyond its threshold
    regressions: list[str]  # names of the probes that regressed
    checks: list[ProbeCheck] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        return [check.reason for check in self.checks]

    def to_json(self) -> dict:
        """Plain JSON values, as written to overfit.json."""
        return {**asdict(self), "reasons": self.reasons}


def forgetting_check(
    base_probe: dict,
    tuned_probe: dict,
    *,
    max_ppl_increase: float = 0.10,  # 10% higher probe perplexity is forgetting
    max_metric_drop: float = 0.05,  # 5% of the base value lost on a probe metric
    seed: int = 0,
) -> ForgettingResult:
    """Compare base and fine-tuned results on a general-ability probe set."""
    if max_ppl_increase < 0:
        raise ConfigError("max_ppl_increase", max_ppl_increase, "a relative increase ≥ 0")
    if not 0 <= max_metric_drop < 1:
        raise ConfigError("max_metric_drop", max_metric_drop, "a relative drop in [0, 1)")
    checks = []
    for name in base_probe:
        if name not in tuned_probe:
            continue  # only what both models were measured on can be compared
        if name == "perplexity":
            checks.append(_perplexity_check(base_probe[name], tuned_probe[name], max_ppl_increase))
        else:
            checks.append(
                _metric_check(name, base_probe[name], tuned_probe[name], max_metric_drop, seed)
            )
    regressions = [check.name for check in checks if check.regressed]
    return ForgettingResult(bool(regressions), regressions, checks)


def _relative(base: float, tuned: float) -> float | None:
    return (tuned - base) / abs(base) if base else None


def _perplexity_check(base: dict, tuned: dict, max_increase: float) -> ProbeCheck:
    b, t = base["value"], tuned["value"]
    change = _relative(b, t)
    regressed = change is not None and change > max_increase
    verdict = "above" if regressed else "within"
    reason = (
        f"Probe perplexity went from {b:.2f} to {t:.2f} ({change:+.1%}), "
        f"{verdict} the {max_increase:.0%} allowed increase."
        if change is not None
        else f"Probe perplexity went from {b:.2f} to {t:.2f}."
    )
    return ProbeCheck("perplexity", b, t, change, None, regressed, reason)


def _delta_ci(base: dict, tuned: dict, seed: int) -> Interval | None:
    if base.get("per_example") and tuned.get("per_example"):
        low, high = bootstrap_mean_difference_ci(
            tuned["per_example"], base["per_example"], seed=seed
        )
        return (low, high)
    return None


def _metric_check(name: str, base: dict, tuned: dict, max_drop: float, seed: int) -> ProbeCheck:
    b, t = base["value"], tuned["value"]
    sign = 1 if base.get("higher_is_better", True) else -1
    drop = sign * (b - t)  # positive when the tuned model is worse
    big = drop > max_drop * abs(b) if b else drop > 0
    ci = _delta_ci(base, tuned, seed)
    if ci is not None:
        real = ci[1] < 0 if sign > 0 else ci[0] > 0
        how = f"95% CI of the change {ci[0]:.3f} to {ci[1]:.3f}"
    elif {"ci_low", "ci_high"} <= base.keys() & tuned.keys():
        lower, upper = (tuned, base) if sign > 0 else (base, tuned)  # lower is better: swap
        real = lower["ci_high"] < upper["ci_low"]
        how = "the two models' 95% CIs " + ("do not overlap" if real else "overlap")
    else:
        real, how = True, "no interval to check it against"
    regressed = big and real
    change = _relative(b, t)
    moved = f"{name} went from {b:.3f} to {t:.3f}" + (f" ({change:+.1%})" if change else "")
    if regressed:
        reason = f"{moved}: a drop beyond {max_drop:.0%} of the base value ({how})."
    elif not big:
        reason = f"{moved}: within the {max_drop:.0%} allowed drop."
    else:
        reason = f"{moved}: a drop, but not distinguishable from noise ({how})."
    return ProbeCheck(name, b, t, change, ci, regressed, reason)


@dataclass
class ExamPart:
    part: str  # "in-domain", "generalisation", "general ability", …
    metric: str  # the main metric's name
    base_nll: float | None
    tuned_nll: float | None
    base_perplexity: float | None  # exp(NLL)
    tuned_perplexity: float | None
    base_value: float
    tuned_value: float
    tuned_ci: Interval | None  # the fine-tuned model's metric CI
    delta: float  # tuned − base
    delta_ci: Interval | None  # 95% CI of the delta
    verdict: str  # "better", "worse" or "no clear change"
    reason: str


def three_part_exam(rows: list[dict]) -> list[ExamPart]:
    """One row per exam part with the key numbers and a better/worse/no-clear-change call.

    Each row: {"part", "metric", "higher_is_better" (default True), "delta_ci" (optional),
    "base": {"nll", "value", "ci_low", "ci_high", "per_example"}, "tuned": {…}}."""
    return [_exam_part(row, seed=index) for index, row in enumerate(rows)]


def _exam_part(row: dict, seed: int) -> ExamPart:
    base, tuned = row["base"], row["tuned"]
    delta = tuned["value"] - base["value"]
    delta_ci = row.get("delta_ci") or _delta_ci(base, tuned, seed)
    sign = 1 if row.get("higher_is_better", True) else -1
    numbers = f"{row['metric']} {base['value']:.3f} → {tuned['value']:.3f} (delta {delta:+.3f}"
    if delta_ci is None:
        verdict, why = "no clear change", f"{numbers}, no interval for the delta)"
    else:
        numbers += f", 95% CI {delta_ci[0]:+.3f} to {delta_ci[1]:+.3f})"
        good_low, good_high = sorted((sign * delta_ci[0], sign * delta_ci[1]))
        verdict = "better" if good_low > 0 else "worse" if good_high < 0 else "no clear change"
        why = numbers + (": the interval includes 0" if verdict == "no clear change" else "")
    tuned_ci = (tuned["ci_low"], tuned["ci_high"]) if "ci_low" in tuned else None
    return ExamPart(
        part=row["part"],
        metric=row["metric"],
        base_nll=base.get("nll"),
        tuned_nll=tuned.get("nll"),
        base_perplexity=_perplexity(base.get("nll")),
        tuned_perplexity=_perplexity(tuned.get("nll")),
        base_value=base["value"],
        tuned_value=tuned["value"],
        tuned_ci=tuned_ci,
        delta=delta,
        delta_ci=tuple(delta_ci) if delta_ci is not None else None,
        verdict=verdict,
        reason=f"{row['part']}: {verdict}. {why}.",
    )


def _perplexity(nll: float | None) -> float | None:
    return math.exp(nll) if nll is not None else None
