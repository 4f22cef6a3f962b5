"""The verdicts of an evaluation, per fine-tuned model: overfitting, forgetting, and the
three-part exam, assembled from its predictions, per-example NLLs and training curve.

Inputs are plain data, so the same function serves `ftcore eval`, the Evaluate tab and
tests: prediction rows (model, split, id, prediction, reference, scores), the per-example
(nll_sum, n_tokens) pairs of each model and split (every model's pairs of a split in the
same example order), the training targets (for memorisation) and, when the adapter came
from an ftstudio run, its progress log and the step whose weights were evaluated.

Base and fine-tuned answer the same examples, so every comparison between them (the NLL
gain, the exam, forgetting, the excess gap) is paired; only train against held-out, which
are different examples, is resampled independently. Every seed derives from the caller's.
The words of every verdict come from here (`to_markdown`, `summary`): the Evaluate tab and
the CLI show them and never rewrite them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ftcore.errors import DataError
from ftcore.metrics.generalisation import GapScore, generalisation_gap
from ftcore.nll import mean_nll
from ftcore.verdicts.forgetting import ExamPart, ForgettingResult, forgetting_check, three_part_exam
from ftcore.verdicts.memorisation import MemorisationResult, memorisation_rate
from ftcore.verdicts.nll_gaps import (
    NllComparison,
    excess_nll_gap,
    independent_nll_difference,
    paired_nll_difference,
)
from ftcore.verdicts.overfit import (
    CurveAnalysis,
    OverfitEvidence,
    Verdict,
    overfit_verdict,
    val_curve_analysis,
)
from ftcore.verdicts.verdict_settings import VerdictSettings, child_seeds

BASE = "base"
PROBE = "probe"
EXAM_METRIC = "rougeL"  # per-example and meaningful for Chinese, English and mixed text
GAP_METRICS = ("chrf", "rougeL")

NllPairs = Sequence[tuple[float, int]]


@dataclass
class ModelAssessment:
    """Everything said about one fine-tuned model against its base."""

    model: str
    heldout_split: str
    verdict: Verdict
    memorisation: MemorisationResult
    nll_gap: NllComparison  # the fine-tune's held-out minus train mean NLL (independent)
    excess_gap: NllComparison  # nll_gap minus the base's own gap (paired within splits)
    base_gain: NllComparison  # base minus fine-tuned held-out NLL (paired)
    generation_gaps: dict[str, GapScore]  # metric → train minus held-out (reported only)
    curve: CurveAnalysis | None = None
    forgetting: ForgettingResult | None = None
    exam: list[ExamPart] = field(default_factory=list)
    bootstrap: int = 1000  # resamples behind every interval
    seed: int = 0  # the caller's seed, from which every interval's seed derives

    def to_markdown(self) -> str:
        """The verdict and forgetting check in words, as the Evaluate tab shows them."""
        blocks = [self.verdict.to_markdown(heading=self.model)]
        if self.forgetting is not None:
            blocks.append(self.forgetting.to_markdown())
        return "\n\n".join(blocks)

    def summary(self) -> str:
        """The same verdicts and evidence as plain text, for the terminal."""
        lines = [f"{self.model}: {self.verdict.label}"]
        lines += [f"  - {reason}" for reason in self.verdict.reasons]
        if self.forgetting is not None:
            state = "forgetting" if self.forgetting.forgot else "no forgetting"
            lines.append(f"  general ability (probe set): {state}")
            lines += [f"  - {reason}" for reason in self.forgetting.reasons]
        if self.exam:
            lines.append("  three-part exam (fine-tuned against base, paired):")
            lines += [f"  - {part.sentence}" for part in self.exam]
        lines.append(f"  {self.verdict.settings.to_text()}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        """Plain JSON values, as written to overfit.json (the verdict carries the settings
        used and the evidence numbers)."""
        return {
            "model": self.model,
            "heldout_split": self.heldout_split,
            "verdict": self.verdict.to_json(),
            "memorisation": {
                **asdict(self.memorisation),
                "excess_rate": self.memorisation.excess_rate,
            },
            "nll_gap": asdict(self.nll_gap),
            "excess_gap": asdict(self.excess_gap),
            "base_gain": asdict(self.base_gain),
            "generation_gaps": {name: asdict(gap) for name, gap in self.generation_gaps.items()},
            "forgetting": self.forgetting.to_json() if self.forgetting else None,
            "exam": [asdict(part) for part in self.exam],
            "resampling": {"bootstrap": self.bootstrap, "seed": self.seed},
        }


def weights_step(adapter_dir: str | Path) -> int | None:
    """The training step whose weights an adapter folder holds, from its run's
    status.json: best/ → the best step, last/ → the last step, the run folder itself →
    the best step when the run validated (it publishes best/), else the last. None for
    an adapter that did not come from an ftstudio run."""
    from ftcore.training.runfiles import read_status

    folder = Path(adapter_dir)
    if folder.name in ("best", "last"):
        status = read_status(folder.parent)
        if status is not None:
            return status.best_step if folder.name == "best" else status.step
    status = read_status(folder)
    if status is None:
        return None
    return status.best_step if status.best_step is not None else status.step


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


def training_curve(
    adapter_dir: str | Path | None,
    *,
    evaluated_step: int | None,
    settings: VerdictSettings | None = None,
) -> CurveAnalysis | None:
    """The val-curve analysis of the adapter's training run, when it has one, judged at
    `evaluated_step`: the step whose weights are evaluated (see `weights_step`)."""
    rows = run_progress(adapter_dir)
    if not rows:
        return None
    val = [(r["step"], r["val_loss"]) for r in rows if r.get("kind") == "val"]
    train = [(r["step"], r["train_loss"]) for r in rows if r.get("kind") == "train"]
    return val_curve_analysis(
        val, evaluated_step=evaluated_step, train_points=train, settings=settings
    )


def _rows(examples: Sequence[Mapping], model: str, split: str) -> list[Mapping]:
    return [e for e in examples if e["model"] == model and e["split"] == split]


def _paired_rows(
    examples: Sequence[Mapping], model: str, split: str
) -> tuple[list[Mapping], list[Mapping]]:
    """The base and fine-tuned rows of a split, checked to be the same examples in order."""
    base, tuned = _rows(examples, BASE, split), _rows(examples, model, split)
    if [row["id"] for row in base] != [row["id"] for row in tuned]:
        raise DataError(
            f"split {split!r}: base and {model!r} were not scored on the same examples in the "
            "same order, which a paired comparison needs"
        )
    return base, tuned


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


def _exam_sides(model, scores, examples, nll, heldout) -> dict[tuple[str, str], dict]:
    sides = {}
    for split in ("train", heldout, PROBE):
        if split in scores[BASE] and split in scores[model]:
            base_rows, tuned_rows = _paired_rows(examples, model, split)
            for who, rows in ((BASE, base_rows), (model, tuned_rows)):
                sides[who, split] = _side(scores[who][split], rows, nll.get((who, split)))
    return sides


def _exam_and_forgetting(
    model, scores, examples, nll, heldout, seed: int, bootstrap: int, s: VerdictSettings
) -> tuple[list[ExamPart], ForgettingResult | None]:
    """The three-part exam and, with a probe split, the forgetting check: base against
    fine-tuned on the same examples, so their intervals are paired."""
    exam_seed, probe_seed = child_seeds(seed, 2)
    sides = _exam_sides(model, scores, examples, nll, heldout)
    parts = [
        ("in-domain (train sample)", "train"),
        ("generalisation", heldout),
        ("general ability (probe)", PROBE),
    ]
    rows = [
        {"part": part, "metric": EXAM_METRIC, "base": base, "tuned": sides[model, split]}
        for part, split in parts
        if (base := sides.get((BASE, split))) is not None
    ]
    exam = three_part_exam(rows, seed=exam_seed, settings=s, n_resamples=bootstrap)
    if (model, PROBE) not in sides:
        return exam, None
    forgetting = forgetting_check(
        _probe_results(scores[BASE][PROBE], sides[BASE, PROBE]),
        _probe_results(scores[model][PROBE], sides[model, PROBE]),
        seed=probe_seed,
        settings=s,
        n_resamples=bootstrap,
    )
    return exam, forgetting


def _nll_comparisons(
    model: str, nll: Mapping, heldout: str, seed: int, bootstrap: int, s: VerdictSettings
) -> tuple[NllComparison, NllComparison, NllComparison]:
    """The fine-tune's held-out − train gap (independent samples), the excess of that gap
    over the base model's own (paired within each split) and the gain over the base on
    held-out data (paired)."""
    gap_seed, excess_seed, gain_seed = child_seeds(seed, 3)
    resampling = {"n_resamples": bootstrap, "confidence": s.confidence}
    tuned_train, tuned_heldout = nll[model, "train"], nll[model, heldout]
    base_train, base_heldout = nll[BASE, "train"], nll[BASE, heldout]
    gap = independent_nll_difference(tuned_heldout, tuned_train, seed=gap_seed, **resampling)
    excess = excess_nll_gap(
        tuned_train, tuned_heldout, base_train, base_heldout, seed=excess_seed, **resampling
    )
    what = f"base vs {model} on {heldout}"
    gain = paired_nll_difference(
        base_heldout, tuned_heldout, seed=gain_seed, what=what, **resampling
    )
    return gap, excess, gain


def assess_model(
    model: str,
    scores: Mapping,
    examples: Sequence[Mapping],
    nll: Mapping[tuple[str, str], NllPairs],
    train_targets: Sequence[str],
    curve: CurveAnalysis | None = None,
    *,
    seed: int,
    bootstrap: int = 1000,
    settings: VerdictSettings | None = None,
) -> ModelAssessment:
    """Overfitting verdict, memorisation, forgetting and the exam of one fine-tuned model
    against the base, which must have been evaluated on train and the held-out split.
    The held-out split is test when it was evaluated, else val. `curve` comes from
    `training_curve`, judged at the step of the evaluated weights."""
    s = settings or VerdictSettings()
    heldout = "test" if "test" in scores[model] else "val"
    nll_seed, metric_seed, exam_seed = child_seeds(seed, 3)
    gap, excess, gain = _nll_comparisons(model, nll, heldout, nll_seed, bootstrap, s)
    train_rows, heldout_rows = _rows(examples, model, "train"), _rows(examples, model, heldout)
    metric_gaps = generalisation_gap(
        train_rows, heldout_rows, GAP_METRICS, bootstrap, metric_seed, confidence=s.confidence
    )
    memorised = memorisation_rate(
        [row["prediction"] for row in heldout_rows],
        train_targets,
        heldout_references=[row["reference"] for row in heldout_rows],
        near_threshold=s.memorisation_similarity,
    )
    base_train, base_heldout = nll[BASE, "train"], nll[BASE, heldout]
    evidence = OverfitEvidence(
        n_train=len(train_rows),
        n_heldout=len(heldout_rows),
        nll_gap=gap.value,
        nll_gap_ci=gap.ci,
        base_nll_gap=mean_nll(base_heldout) - mean_nll(base_train),
        excess_gap=excess.value,
        excess_gap_ci=excess.ci,
        generation_gaps={
            name: (g.value, g.ci_low, g.ci_high, g.higher_is_better)
            for name, g in metric_gaps.items()
            if g.ci_low is not None
        },
        curve=curve,
        memorisation_rate=memorised.rate,
        memorisation_baseline=memorised.baseline_rate,
        base_heldout_nll=mean_nll(base_heldout),
        tuned_heldout_nll=mean_nll(nll[model, heldout]),
        base_gain_ci=gain.ci,
    )
    exam, forgetting = _exam_and_forgetting(
        model, scores, examples, nll, heldout, exam_seed, bootstrap, s
    )
    return ModelAssessment(
        model, heldout, overfit_verdict(evidence, s), memorised, gap, excess, gain,
        metric_gaps, curve, forgetting, exam, bootstrap, seed,
    )  # fmt: skip


def assess_adapters(
    adapters: Mapping[str, str],
    scores: Mapping,
    examples: Sequence[Mapping],
    nll: Mapping[tuple[str, str], NllPairs],
    train_targets: Sequence[str],
    *,
    weights_steps: Mapping[str, int | None],
    seed: int,
    bootstrap: int = 1000,
    settings: VerdictSettings | None = None,
) -> dict[str, ModelAssessment]:
    """assess_model for each adapter (name → folder); empty unless the base model was
    evaluated on train and on a held-out split, which every verdict needs.
    `weights_steps` (name → step) says which training step each adapter's weights hold
    (`weights_step(folder)`; None when unknown): only the val curve up to that step
    counts against them, so a rise after the best step never condemns best/."""
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
            training_curve(folder, evaluated_step=weights_steps[name], settings=settings),
            seed=seed,
            bootstrap=bootstrap,
            settings=settings,
        )
        for name, folder in adapters.items()
    }
