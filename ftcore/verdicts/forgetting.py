"""Forgetting and the three-part exam: base against fine-tuned, per probe and per part.

Inputs are plain dicts of results per model, e.g.
`{"perplexity": {"value": 12.3}, "rougeL": {"value": 0.41, "ci_low": 0.38, "ci_high": 0.44,
"per_example": [...], "higher_is_better": True}}`. Both models answer the same examples,
so `per_example` lists are paired: item i of base and of fine-tuned is the same example,
and every delta CI resamples example indices once for both (`paired_difference_ci`).
Resampling the two independently would throw away their correlation and miss most real
changes (a consistent +0.03 ROUGE-L on 50 examples, or an 8.6% probe drop).

Forgetting (`forgetting_check`, thresholds in VerdictSettings):
- perplexity regresses when tuned / base − 1 > `max_ppl_increase`;
- a metric regresses when it drops by more than `max_metric_drop` of the base value AND
  the drop is real: with per-example lists, the paired CI of tuned − base lies wholly on
  the bad side of 0; without them, the two models' own CIs do not overlap (a conservative
  stand-in); without any CI the point drop decides and the reason says so.
Each reason says which way the number moved (rose, fell, stayed) and then, separately,
what that means: better than the base, worse but within the allowance, or worse beyond it.

Three-part exam (`three_part_exam`): per part, "better" when the paired CI of the
tuned − base delta of the main metric excludes 0 in the good direction, "worse" when it
excludes 0 in the bad direction, "no clear change" otherwise (or when no CI can be had).
The delta CI is the row's `delta_ci` if given, else resampled from the per-example lists.
Every part's seed derives from the caller's seed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from ftcore.errors import DataError
from ftcore.stats.bootstrap import mean_aggregate, paired_difference_ci
from ftcore.stats.intervals import Interval
from ftcore.verdicts.verdict_settings import VerdictSettings, child_seeds


@dataclass
class ProbeCheck:
    name: str  # "perplexity" or a metric name
    base: float
    tuned: float
    relative_change: float | None  # (tuned − base) / base; None when base is 0
    delta_ci: Interval | None  # CI of tuned − base, paired over per-example values
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

    def to_markdown(self) -> str:
        state = "forgetting" if self.forgot else "no forgetting"
        lines = [f"**General ability (probe set): {state}**", ""]
        return "\n".join(lines + [f"- {reason}" for reason in self.reasons])


def forgetting_check(
    base_probe: dict,
    tuned_probe: dict,
    *,
    seed: int,
    settings: VerdictSettings | None = None,
    n_resamples: int = 1000,
) -> ForgettingResult:
    """Compare base and fine-tuned results on a general-ability probe set."""
    s = settings or VerdictSettings()
    names = [name for name in base_probe if name in tuned_probe]  # measured on both only
    checks = []
    for name, name_seed in zip(names, child_seeds(seed, len(names)), strict=True):
        if name == "perplexity":
            checks.append(_perplexity_check(base_probe[name], tuned_probe[name], s))
        else:
            ci = _delta_ci(name, base_probe[name], tuned_probe[name], n_resamples, name_seed, s)
            checks.append(_metric_check(name, base_probe[name], tuned_probe[name], ci, s))
    regressions = [check.name for check in checks if check.regressed]
    return ForgettingResult(bool(regressions), regressions, checks)


def _relative(base: float, tuned: float) -> float | None:
    return (tuned - base) / abs(base) if base else None


def _moved(name: str, b: float, t: float, change: float | None, digits: int) -> str:
    """ "NAME rose/fell from B to T (±x%)", or "NAME stayed at B"; the verb says which
    way the number went, never whether that is good."""
    if b == t:
        return f"{name} stayed at {b:.{digits}f}"
    verb = "rose" if t > b else "fell"
    pct = f" ({change:+.1%})" if change is not None else ""
    return f"{name} {verb} from {b:.{digits}f} to {t:.{digits}f}{pct}"


def _perplexity_check(base: dict, tuned: dict, s: VerdictSettings) -> ProbeCheck:
    b, t = base["value"], tuned["value"]
    change = _relative(b, t)
    regressed = change is not None and change > s.max_ppl_increase
    moved = _moved("Probe perplexity", b, t, change, 2)
    allowed = f"the {s.max_ppl_increase:.0%} allowed increase"
    if t == b:
        reason = f"{moved}: no change."
    elif t < b:
        reason = f"{moved}: better than the base, no forgetting."
    elif regressed:
        reason = f"{moved}: worse by more than {allowed}."
    else:
        reason = f"{moved}: worse, but within {allowed}."
    return ProbeCheck("perplexity", b, t, change, None, regressed, reason)


def _delta_ci(
    name: str, base: dict, tuned: dict, n_resamples: int, seed: int, s: VerdictSettings
) -> Interval | None:
    """Paired CI of tuned − base from per-example values, or None without them."""
    base_values, tuned_values = base.get("per_example"), tuned.get("per_example")
    # One example resampled is always itself: a zero-width interval that claims certainty.
    if not base_values or not tuned_values or n_resamples < 1 or len(base_values) < 2:
        return None
    if len(base_values) != len(tuned_values):
        raise DataError(
            f"{name}: {len(base_values)} base and {len(tuned_values)} fine-tuned per-example "
            "values; both models must be scored on the same examples, in the same order"
        )
    return paired_difference_ci(
        tuned_values, base_values, mean_aggregate, n_resamples, seed, s.confidence
    )


def _metric_check(
    name: str, base: dict, tuned: dict, ci: Interval | None, s: VerdictSettings
) -> ProbeCheck:
    b, t = base["value"], tuned["value"]
    sign = 1 if base.get("higher_is_better", True) else -1
    drop = sign * (b - t)  # positive when the tuned model is worse
    big = drop > s.max_metric_drop * abs(b) if b else drop > 0
    level = f"{s.confidence:.0%}"
    if ci is not None:
        real = ci[1] < 0 if sign > 0 else ci[0] > 0
        how = f"paired {level} CI of the change {ci[0]:.3f} to {ci[1]:.3f}"
    elif {"ci_low", "ci_high"} <= base.keys() & tuned.keys():
        lower, upper = (tuned, base) if sign > 0 else (base, tuned)  # lower is better: swap
        real = lower["ci_high"] < upper["ci_low"]
        how = f"the two models' {level} CIs " + ("do not overlap" if real else "overlap")
    else:
        real, how = True, "no interval to check it against"
    regressed = big and real
    change = _relative(b, t)
    moved = _moved(name, b, t, change, 3)
    allowed = f"the {s.max_metric_drop:.0%} allowed decline"
    if drop == 0:
        reason = f"{moved}: no change."
    elif drop < 0:
        reason = f"{moved}: better than the base, no forgetting."
    elif not big:
        reason = f"{moved}: worse, but within {allowed}."
    elif regressed:
        reason = f"{moved}: worse by more than {allowed} ({how})."
    else:
        reason = (
            f"{moved}: worse by more than {allowed}, but not distinguishable from noise ({how})."
        )
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
    delta_ci: Interval | None  # paired CI of the delta
    verdict: str  # "better", "worse" or "no clear change"
    reason: str  # the numbers behind the verdict; part and verdict have their own fields

    @property
    def sentence(self) -> str:
        """Part, verdict and reason as one line of text."""
        return f"{self.part}: {self.verdict}. {self.reason}"


def three_part_exam(
    rows: list[dict],
    *,
    seed: int,
    settings: VerdictSettings | None = None,
    n_resamples: int = 1000,
) -> list[ExamPart]:
    """One row per exam part with the key numbers and a better/worse/no-clear-change call.

    Each row: {"part", "metric", "higher_is_better" (default True), "delta_ci" (optional),
    "base": {"nll", "value", "ci_low", "ci_high", "per_example"}, "tuned": {…}}."""
    s = settings or VerdictSettings()
    return [
        _exam_part(row, n_resamples, part_seed, s)
        for row, part_seed in zip(rows, child_seeds(seed, len(rows)), strict=True)
    ]


def _exam_part(row: dict, n_resamples: int, seed: int, s: VerdictSettings) -> ExamPart:
    base, tuned = row["base"], row["tuned"]
    delta = tuned["value"] - base["value"]
    delta_ci = row.get("delta_ci") or _delta_ci(row["metric"], base, tuned, n_resamples, seed, s)
    sign = 1 if row.get("higher_is_better", True) else -1
    numbers = f"{row['metric']} {base['value']:.3f} → {tuned['value']:.3f} (delta {delta:+.3f}"
    if delta_ci is None:
        verdict, why = "no clear change", f"{numbers}, no interval for the delta)"
    else:
        numbers += f", {s.confidence:.0%} CI {delta_ci[0]:+.3f} to {delta_ci[1]:+.3f})"
        good_low, good_high = sorted((sign * delta_ci[0], sign * delta_ci[1]))
        verdict = "better" if good_low > 0 else "worse" if good_high < 0 else "no clear change"
        why = numbers + (": the interval includes 0" if verdict == "no clear change" else "")
    tuned_ci = (tuned["ci_low"], tuned["ci_high"]) if tuned.get("ci_low") is not None else None
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
        delta_ci=Interval(*delta_ci) if delta_ci is not None else None,
        verdict=verdict,
        reason=f"{why}.",
    )


def _perplexity(nll: float | None) -> float | None:
    return math.exp(nll) if nll is not None else None
