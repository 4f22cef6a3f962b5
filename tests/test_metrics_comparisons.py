"""compare_to_baseline: deltas equal the difference of the scored values, rows paired by id
whatever their order, sacrebleu's paired test for BLEU/chrF, Newcombe/McNemar for exact
match, seeds, and the errors for a baseline or ids that do not make sense."""

import json
import random

import numpy as np
import pytest
from sacrebleu.metrics import BLEU
from sacrebleu.significance import PairedTest

from ftcore.errors import ConfigError, DataError
from ftcore.metrics.comparisons import (
    compare_report_to_baseline,
    compare_to_baseline,
    write_comparisons_json,
)
from ftcore.metrics.registry import get_metrics
from ftcore.metrics.scoring import score_predictions
from ftcore.stats.bootstrap import mean_aggregate
from ftcore.stats.paired import paired_difference

CHARS = "新年快乐万事如意身体健康恭喜发财阖家幸福"


def rows_for(models, n=40, seed=0, split=None):
    """Chinese greetings answered by several models (ids sort in row order): `models` maps
    a name to the chance it repeats the reference exactly, else it writes something random."""
    rng = random.Random(seed)
    make = lambda: "".join(rng.choice(CHARS) for _ in range(rng.randint(4, 12)))  # noqa: E731
    references = [make() for _ in range(n)]
    rows = []
    for model, skill in models.items():
        for i, reference in enumerate(references):
            prediction = reference if rng.random() < skill else make()
            row = {
                "id": f"q{i:02d}",
                "model": model,
                "prediction": prediction,
                "reference": reference,
            }
            rows.append({**row, "split": split} if split else row)
    return rows


def by_metric(comparisons):
    return {c.metric: c for c in comparisons}


def test_deltas_are_the_differences_of_the_scores_and_every_row_is_complete():
    rows = rows_for({"base": 0.1, "lora": 0.5})
    comparisons = compare_to_baseline(rows, bootstrap=300, seed=1)
    scores = score_predictions(rows, bootstrap=0).scores
    assert [c.metric for c in comparisons] == list(scores["lora"]["all"])
    for c in comparisons:
        expected = scores["lora"]["all"][c.metric].value - scores["base"]["all"][c.metric].value
        assert c.delta == pytest.approx(expected, abs=1e-12), c.metric
        assert (c.baseline, c.model, c.split, c.n) == ("base", "lora", "all", 40)
        assert c.ci_low <= c.delta <= c.ci_high and 0 < c.p_value <= 1


def test_rows_are_paired_by_id_not_by_position():
    rows = rows_for({"base": 0.2, "lora": 0.6})
    shuffled = rows[:40] + random.Random(3).sample(rows[40:], 40)
    assert compare_to_baseline(shuffled, seed=2) == compare_to_baseline(rows, seed=2)


def test_bleu_interval_is_the_paired_bootstrap_and_p_is_sacrebleus_paired_ar(monkeypatch):
    rows = rows_for({"base": 0.2, "lora": 0.5})
    bleu = by_metric(compare_to_baseline(rows, metrics=["bleu"], bootstrap=500, seed=7))["bleu"]
    base = [r["prediction"] for r in rows[:40]]
    tuned = [r["prediction"] for r in rows[40:]]
    refs = [r["reference"] for r in rows[:40]]
    (metric,) = get_metrics(["bleu"], None)
    rows_t, rows_b = metric.statistics(tuned, refs), metric.statistics(base, refs)
    paired = paired_difference(rows_t, rows_b, metric.aggregate, 500, seed=7)
    assert (bleu.ci_low, bleu.ci_high) == paired.interval
    monkeypatch.setenv("SACREBLEU_SEED", "7")
    _, results = PairedTest(
        [("base", base), ("lora", tuned)], {"bleu": BLEU(tokenize="zh")}, [refs], "ar", 500
    )()
    assert bleu.p_value == results["BLEU"][1].p_value
    assert bleu.delta == pytest.approx(
        BLEU(tokenize="zh").corpus_score(tuned, [refs]).score
        - BLEU(tokenize="zh").corpus_score(base, [refs]).score,
        abs=1e-9,
    )
    assert bleu.method == (
        "bootstrap:percentile-paired|conf:0.95|resamples:500|seed:7"
        "|p:sacrebleu-paired-ar|trials:500"
    )


def test_mean_metric_interval_equals_paired_difference_of_per_example_values():
    rows = rows_for({"base": 0.2, "lora": 0.5})
    rouge = by_metric(compare_to_baseline(rows, metrics=["rougeL"], bootstrap=400, seed=4))
    report = score_predictions(rows, ["rougeL"], bootstrap=0)
    values = {
        m: [e.scores["rougeL"] for e in report.examples if e.model == m] for m in ("base", "lora")
    }
    paired = paired_difference(values["lora"], values["base"], mean_aggregate, 400, seed=4)
    assert (rouge["rougeL"].ci_low, rouge["rougeL"].ci_high) == pytest.approx(
        tuple(paired.interval)
    )
    assert rouge["rougeL"].p_value == pytest.approx(paired.p_value)


def test_exact_match_uses_newcombe_and_mcnemar():
    reference = [f"标签{i}" for i in range(10)]
    base = [reference[0]] + ["错"] * 9  # right on 1
    tuned = reference[:6] + ["错"] * 4  # right on 6, including base's one
    rows = [
        {"id": i, "model": model, "prediction": p, "reference": reference[i]}
        for model, predictions in (("base", base), ("lora", tuned))
        for i, p in enumerate(predictions)
    ]
    (exact,) = compare_to_baseline(rows, metrics=["exact_match"], bootstrap=100)
    assert exact.delta == 0.5 and exact.n == 10
    assert exact.p_value == 2 / 2**5  # 5 discordant pairs, all for the fine-tune
    assert exact.ci_low > 0 and exact.method == "newcombe-wilson|conf:0.95|p:mcnemar-exact"


def test_the_seed_fixes_every_resampling():
    rows = rows_for({"base": 0.2, "lora": 0.5})
    first = compare_to_baseline(rows, metrics=["chrf", "rouge1"], bootstrap=200, seed=11)
    again = compare_to_baseline(rows, metrics=["chrf", "rouge1"], bootstrap=200, seed=11)
    other = compare_to_baseline(rows, metrics=["chrf", "rouge1"], bootstrap=200, seed=12)
    assert first == again
    assert [(c.ci_low, c.p_value) for c in first] != [(c.ci_low, c.p_value) for c in other]


def test_only_shared_ids_are_compared_per_split():
    rows = rows_for({"base": 0.2, "lora": 0.5}, split="test")
    rows = [r for r in rows if not (r["model"] == "lora" and r["id"] in ("q00", "q01", "q02"))]
    rows += rows_for({"lora": 0.5}, n=5, split="train")  # no base rows on train
    comparisons = compare_to_baseline(rows, metrics=["rouge1"], bootstrap=100)
    assert [(c.model, c.split, c.n) for c in comparisons] == [("lora", "test", 37)]


def test_baseline_defaults_to_base_and_can_be_named():
    rows = rows_for({"tuned": 0.5, "other": 0.2})
    assert compare_to_baseline(rows, metrics=["rouge1"]) == []  # no model named base
    named = compare_to_baseline(rows, "other", metrics=["rouge1"], bootstrap=50)
    assert [(c.baseline, c.model) for c in named] == [("other", "tuned")]
    with pytest.raises(ConfigError, match="baseline='nope'.*tuned, other"):
        compare_to_baseline(rows, "nope")


def test_ids_must_be_unique_and_mean_the_same_example():
    rows = rows_for({"base": 0.2, "lora": 0.5}, n=5)
    with pytest.raises(DataError, match="id .q01. appears twice"):
        compare_to_baseline([*rows, {**rows[6]}])
    changed = [dict(r) for r in rows]
    changed[7]["reference"] = "另一个参考"
    with pytest.raises(DataError, match="id .q02. has another reference"):
        compare_to_baseline(changed)


def test_no_bootstrap_gives_deltas_only():
    rows = rows_for({"base": 0.2, "lora": 0.5}, n=10)
    for c in compare_to_baseline(rows, bootstrap=0):
        assert c.ci_low is None and c.p_value is None and c.method == "no-interval"


def test_report_comparison_uses_the_reports_settings_and_writes_json(tmp_path):
    rows = rows_for({"base": 0.2, "lora": 0.5})
    report = score_predictions(rows, ["bleu", "exact_match"], bootstrap=200, seed=9)
    comparisons = compare_report_to_baseline(report)
    assert comparisons == compare_to_baseline(rows, None, ["bleu", "exact_match"], 200, 9)
    path = write_comparisons_json(comparisons, tmp_path / "comparisons.json")
    written = json.loads(path.read_text(encoding="utf-8"))
    assert [list(row) for row in written] == [
        [
            "baseline",
            "model",
            "split",
            "metric",
            "delta",
            "ci_low",
            "ci_high",
            "n",
            "p_value",
            "method",
        ]
    ] * 2
    assert written[0]["delta"] == pytest.approx(
        report.scores["lora"]["all"]["bleu"].value - report.scores["base"]["all"]["bleu"].value
    )
    assert np.isfinite(written[1]["p_value"])
