"""The verdicts of an evaluation, per fine-tuned model: overfitting, forgetting, and the
three-part exam, assembled from its predictions, per-example NLLs and training curve.

Inputs are plain data, so the same function serves `ftcore eval`, the Evaluate tab and
tests: prediction rows (model, split, id, prediction, reference, scores), the per-example
(nll_sum, n_tokens) pairs of each model and split, the training targets (for
memorisation) and, when the adapter came from an ftstudio run, its progress log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ftcore.metrics.scoring import GapScore, generalisation_gap
from ftcore.stats.bootstrap import bootstrap_difference_ci
from ftcore.verdicts.forgetting import ExamPart, ForgettingResult, forgetting_check, three_part_exam
from ftcore.verdicts.memorisation import MemorisationResult, memorisation_rate
from ftcore.verdicts.overfit import (
    CurveAnalysis,
    OverfitEvidence,
    Verdict,
    overfit_verdict,
    val_curve_analysis,
)

BASE = "base"
PROBE = "probe"
EXAM_METRIC = "rougeL"  # per-example and meaningful for Chinese, English and mixed text
GAP_METRICS = ("chrf", "rougeL")
# A train/held-out metric gap smaller than this share of the held-out score is no symptom
# of overfitting, however sure its interval: 0.02 ROUGE-L on 0.2 is noise in practice.
MIN_RELATIVE_METRIC_GAP = 0.10

NllPairs = Sequence[tuple[float, int]]


@dataclass
class ModelAssessment:
    """Everything said about one fine-tuned model against its base."""

    model: str
    heldout_split: str
    verdict: Verdict
    memorisation: MemorisationResult
    nll_gap: float  # held-out minus train mean NLL, nats
    nll_gap_ci: tuple[float, float] | None
    generation_gaps: dict[str, GapScore]  # metric → train minus held-out
    curve: CurveAnalysis | None = None
    forgetting: ForgettingResult | None = None
    exam: list[ExamPart] = field(default_factory=list)

    def summary(self) -> str:
        """The verdicts and their evidence as plain text, for the terminal."""
        lines = [f"{self.model}: {self.verdict.label}"]
        lines += [f"  - {reason}" for reason in self.verdict.reasons]
        if self.forgetting is not None:
            state = "forgetting" if self.forgetting.forgot else "no forgetting"
            lines.append(f"  general ability (probe set): {state}")
            lines += [f"  - {reason}" for reason in self.forgetting.reasons]
        lines += [f"  exam, {part.part}: {part.verdict} ({part.reason})" for part in self.exam]
        return "\n".join(lines)

    def to_json(self) -> dict:
        from dataclasses import asdict

        return {
            "model": self.model,
            "heldout_split": self.heldout_split,
            "verdict": self.verdict.to_json(),
            "memorisation": asdict(self.memorisation),
            "nll_gap": {"value": self.nll_gap, "ci": self.nll_gap_ci},
            "generation_gaps": {name: asdict(gap) for name, gap in self.generation_gaps.items()},
            "curve": asdict(self.curve) if self.curve else None,
            "forgetting": self.forgetting.to_json() if self.forgetting else None,
            "exam": [asdict(part) for part in self.exam],
        }


def token_mean(totals: Sequence[float], n: int) -> float:
    """Token-weighted mean NLL from summed (nll_sum, n_tokens) rows."""
    return totals[0] / totals[1]


def mean_nll(pairs: NllPairs) -> float:
    return sum(nll for nll, _ in pairs) / sum(tokens for _, tokens in pairs)


def nll_difference(a: NllPairs, b: NllPairs, bootstrap: int, seed: int):
    """mean NLL(a) − mean NLL(b), token-weighted, with a bootstrap 95% CI (None below 2)."""
    value = mean_nll(a) - mean_nll(b)
    if min(len(a), len(b)) < 2 or bootstrap < 1:
        return value, None
    interval = bootstrap_difference_ci(a, b, token_mean, bootstrap, seed)
    return value, (interval.low, interval.high)


def run_progress(adapter_dir: str | Path | None) -> list[dict]:
    """The progress log of the ftstudio run an adapter came from ([] for a foreign
    adapter): progress.jsonl sits in the adapter folder (the run's top level) or one level
    up (for its best/ and last/ folders)."""
    from ftcore.training.runfiles import read_progress

    if adapter_dir is None:
        return []
    for folder in (Path(adapter_dir), Path(adapter_dir).parent):
        if (folder / "progress.jsonl").is_file():
            return read_progress(folder)
    return []


def training_curve(adapter_dir: str | Path | None) -> CurveAnalysis | None:
    """The val-curve analysis of the adapter's training run, when it has one."""
    rows = run_progress(adapter_dir)
    if not rows:
        return None
    val = [(r["step"], r["val_loss"]) for r in rows if r.get("kind") == "val"]
    train = [(r["step"], r["train_loss"]) for r in rows if r.get("kind") == "train"]
    return val_curve_analysis(val, train_points=train)


def _rows(examples: Sequence[Mapping], model: str, split: str) -> list[Mapping]:
    return [e for e in examples if e["model"] == model and e["split"] == split]


def _material(gap: float, heldout_value: float) -> bool:
    return abs(gap) >= MIN_RELATIVE_METRIC_GAP * max(abs(heldout_value), 1e-9)


def _side(split_scores: Mapping, rows: Sequence[Mapping], nll: NllPairs | None) -> dict:
    """One model on one split, in the shape the exam and forgetting_check read."""
    entry = split_scores[EXAM_METRIC]
    return {
        "nll": mean_nll(nll) if nll else None,
        "value": entry["value"],
        "ci_low": entry.get("ci_low"),
        "ci_high": entry.get("ci_high"),
        "per_example": [row["scores"][EXAM_METRIC] for row in rows],
    }


def _probe_results(split_scores: Mapping, side: dict) -> dict:
    results = {EXAM_METRIC: {**side, "higher_is_better": True}}
    if "perplexity" in split_scores:
        results["perplexity"] = {"value": split_scores["perplexity"]["value"]}
    return results


def assess_model(
    model: str,
    scores: Mapping,
    examples: Sequence[Mapping],
    nll: Mapping[tuple[str, str], NllPairs],
    train_targets: Sequence[str],
    curve: CurveAnalysis | None = None,
    *,
    bootstrap: int = 1000,
    seed: int = 0,
) -> ModelAssessment:
    """Overfitting verdict, memorisation, forgetting and the exam of one fine-tuned model.
    The held-out split is test when it was evaluated, else val."""
    heldout = "test" if "test" in scores[model] else "val"
    train_rows, heldout_rows = _rows(examples, model, "train"), _rows(examples, model, heldout)
    gap, gap_ci = nll_difference(nll[model, heldout], nll[model, "train"], bootstrap, seed)
    gain, gain_ci = nll_difference(nll[BASE, heldout], nll[model, heldout], bootstrap, seed)
    gaps = generalisation_gap(train_rows, heldout_rows, GAP_METRICS, bootstrap, seed)
    memorised = memorisation_rate([r["prediction"] for r in heldout_rows], train_targets)
    evidence = OverfitEvidence(
        n_train=len(train_rows),
        n_heldout=len(heldout_rows),
        nll_gap=gap,
        nll_gap_ci=gap_ci,
        generation_gaps={
            name: (g.value, g.ci_low, g.ci_high, g.higher_is_better)
            for name, g in gaps.items()
            if g.ci_low is not None and _material(g.value, scores[model][heldout][name]["value"])
        },
        curve=curve,
        memorisation_rate=memorised.rate,
        base_heldout_nll=mean_nll(nll[BASE, heldout]),
        tuned_heldout_nll=mean_nll(nll[model, heldout]),
        base_gain_ci=gain_ci,
    )
    sides = {
        (who, split): _side(scores[who][split], _rows(examples, who, split), nll.get((who, split)))
        for who in (BASE, model)
        for split in ("train", heldout, PROBE)
        if split in scores[who]
    }
    parts = [
        ("in-domain (train sample)", "train"),
        ("generalisation", heldout),
        ("general ability (probe)", PROBE),
    ]
    exam = three_part_exam(
        [
            {
                "part": name,
                "metric": EXAM_METRIC,
                "base": sides[BASE, split],
                "tuned": sides[model, split],
            }
            for name, split in parts
            if (BASE, split) in sides and (model, split) in sides
        ]
    )
    forgetting = None
    if (model, PROBE) in sides:
        forgetting = forgetting_check(
            _probe_results(scores[BASE][PROBE], sides[BASE, PROBE]),
            _probe_results(scores[model][PROBE], sides[model, PROBE]),
            seed=seed,
        )
    return ModelAssessment(
        model,
        heldout,
        overfit_verdict(evidence),
        memorised,
        gap,
        gap_ci,
        gaps,
        curve,
        forgetting,
        exam,
    )


def assess_adapters(
    adapters: Mapping[str, str],
    scores: Mapping,
    examples: Sequence[Mapping],
    nll: Mapping[tuple[str, str], NllPairs],
    train_targets: Sequence[str],
    *,
    bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, ModelAssessment]:
    """assess_model for each adapter (name → folder); empty unless the base model was
    evaluated on train and on a held-out split, which every verdict needs."""
    evaluated = scores.get(BASE, {})
    if "train" not in evaluated or not {"val", "test"} & evaluated.keys():
        return {}
    return {
        name: assess_model(
            name,
            scores,
            examples,
            nll,
            train_targets,
            training_curve(folder),
            bootstrap=bootstrap,
            seed=seed,
        )
        for name, folder in adapters.items()
    }
