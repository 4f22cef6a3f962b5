"""Intervals for proportions: hand-checked bounds, exact coverage, and a coverage simulation
for exact match (Clopper–Pearson) and for the mean (percentile bootstrap)."""

import math

import numpy as np
import pytest

from ftcore.metrics.scoring import score_predictions
from ftcore.stats.bootstrap import bootstrap_mean_ci
from ftcore.stats.intervals import (
    Interval,
    clopper_pearson_interval,
    normal_quantile,
    wilson_interval,
)

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal


def binomial_pmf(k, n, p):
    return math.comb(n, k) * p**k * (1 - p) ** (n - k)


def exact_coverage(interval, n, p, confidence=0.95):
    """P(interval covers p) summed over every count k, with math.comb."""
    return sum(
        binomial_pmf(k, n, p)
        for k in range(n + 1)
        if interval(k, n, confidence).low <= p <= interval(k, n, confidence).high
    )


def test_normal_quantile():
    assert normal_quantile(0.95) == pytest.approx(Z95, rel=1e-12)
    assert normal_quantile(0.9) == pytest.approx(1.6448536269514722, rel=1e-12)
    with pytest.raises(ValueError, match="confidence"):
        normal_quantile(1.0)


def test_wilson_by_hand():
    # 0 of 20: [0, z²/n / (1 + z²/n)].
    z2n = Z95**2 / 20
    assert wilson_interval(0, 20) == (0.0, pytest.approx(z2n / (1 + z2n), rel=1e-12))
    # 8 of 20, the score formula written out.
    p, n = 0.4, 20
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
    low, high = wilson_interval(8, 20)
    assert (low, high) == (pytest.approx(centre - half, rel=1e-12), pytest.approx(centre + half))
    assert wilson_interval(20, 20).high == 1.0


def test_clopper_pearson_closed_forms_at_the_edges():
    assert clopper_pearson_interval(0, 20) == (0.0, pytest.approx(1 - 0.025 ** (1 / 20), abs=1e-12))
    assert clopper_pearson_interval(20, 20) == (pytest.approx(0.025 ** (1 / 20), abs=1e-12), 1.0)
    assert clopper_pearson_interval(0, 1) == (0.0, pytest.approx(0.975, abs=1e-12))


@pytest.mark.parametrize(("k", "n"), [(1, 20), (5, 20), (13, 16), (50, 1000)])
def test_clopper_pearson_bounds_are_where_each_binomial_tail_is_alpha_over_2(k, n):
    low, high = clopper_pearson_interval(k, n)
    upper_tail = sum(binomial_pmf(i, n, low) for i in range(k, n + 1))  # P(X ≥ k | low)
    lower_tail = sum(binomial_pmf(i, n, high) for i in range(k + 1))  # P(X ≤ k | high)
    assert upper_tail == pytest.approx(0.025, abs=1e-9)
    assert lower_tail == pytest.approx(0.025, abs=1e-9)


def test_clopper_pearson_published_values():
    # 5/20 and 13/16 as printed by standard tables (and R's binom.test).
    assert clopper_pearson_interval(5, 20) == pytest.approx((0.0866, 0.4910), abs=1e-4)
    assert clopper_pearson_interval(13, 16) == pytest.approx((0.5435, 0.9595), abs=1e-4)


def test_bad_counts():
    with pytest.raises(ValueError, match="whole number"):
        clopper_pearson_interval(21, 20)
    with pytest.raises(ValueError, match="whole number"):
        wilson_interval(2.5, 20)
    with pytest.raises(ValueError, match="at least one trial"):
        clopper_pearson_interval(0, 0)


def test_exact_coverage_at_the_audits_point():
    """p = 5 %, n = 20: Clopper–Pearson covers 0.984; Wilson 0.9245 (its k = 3 interval
    starts at 0.0524), which is why a single proportion gets Clopper–Pearson."""
    assert exact_coverage(clopper_pearson_interval, 20, 0.05) == pytest.approx(0.9841, abs=1e-4)
    assert exact_coverage(wilson_interval, 20, 0.05) == pytest.approx(0.9245, abs=1e-4)
    for p in (0.01, 0.05, 0.2, 0.5, 0.9):
        assert exact_coverage(clopper_pearson_interval, 20, p) >= 0.95


def test_simulated_coverage_of_exact_match_with_clopper_pearson_and_bootstrap():
    """The audit's case: exact match with p = 5 % on 20 examples, 1,000 simulated
    evaluations. Clopper–Pearson covers the truth at least 93 % of the time; the
    percentile bootstrap it replaced (an interval of [0, 0] whenever no example matches)
    falls far short."""
    rng = np.random.default_rng(2024)
    samples = (rng.random((1000, 20)) < 0.05).astype(float)
    by_count = {k: clopper_pearson_interval(k, 20) for k in range(21)}
    covered = [by_count[int(s.sum())] for s in samples]
    exact = np.mean([low <= 0.05 <= high for low, high in covered])
    booted = [bootstrap_mean_ci(s, n_resamples=200, seed=i) for i, s in enumerate(samples)]
    bootstrap = np.mean([low <= 0.05 <= high for low, high in booted])
    assert exact >= 0.93
    assert bootstrap < 0.8  # 0.645 here (Clopper–Pearson 0.985); the audit measured 0.67


def test_simulated_coverage_of_the_mean_with_the_percentile_bootstrap():
    """ROUGE-like per-example values (Beta(2, 5), mean 2/7) on 100 examples: the nominal
    95 % percentile interval covers the true mean at least 93 % of the time."""
    rng = np.random.default_rng(7)
    truth = 2 / 7
    hits = [
        low <= truth <= high
        for low, high in (
            bootstrap_mean_ci(rng.beta(2, 5, 100), n_resamples=500, seed=rep) for rep in range(600)
        )
    ]
    assert np.mean(hits) >= 0.93  # 0.942 here


def test_exact_match_score_gets_clopper_pearson_and_no_zero_width_interval():
    rows = [{"prediction": "温馨", "reference": "幽默"}] * 20  # 0 of 20 match
    score = score_predictions(rows, ["exact_match"], bootstrap=100).scores["predictions"]["all"]
    exact = score["exact_match"]
    assert exact.value == 0.0 and exact.ci_low == 0.0
    assert exact.ci_high == pytest.approx(1 - 0.025 ** (1 / 20), abs=1e-12)  # 0.168, not 0
    assert exact.ci_signature == "clopper-pearson|conf:0.95" and exact.warning is None


def test_interval_is_a_named_pair():
    assert Interval(0.1, 0.2) == (0.1, 0.2) and Interval(0.1, 0.2).high == 0.2
