"""VerdictSettings: every threshold named, documented, validated; seeds derived from one."""

from dataclasses import fields

import numpy as np
import pytest

from ftcore.errors import ConfigError
from ftcore.verdicts.verdict_settings import VerdictSettings, child_seeds


@pytest.mark.parametrize(
    "field, value",
    [
        ("max_nll_gap", -0.1),
        ("min_base_gain", -1),
        ("min_train_drop", 1.0),
        ("memorisation_excess", -0.01),
        ("memorisation_similarity", 0),
        ("min_rise", -0.02),
        ("min_fall", -0.1),
        ("patience", 0),
        ("train_window", 0),
        ("min_examples", 0),
        ("max_ppl_increase", -0.1),
        ("max_metric_drop", 1.5),
        ("confidence", 1.0),
    ],
)
def test_each_bad_value_names_its_field(field, value):
    with pytest.raises(ConfigError, match=f"{field}={value!r} is not allowed"):
        VerdictSettings(**{field: value})


def test_defaults_are_the_documented_thresholds():
    assert VerdictSettings().to_json() == {
        "max_nll_gap": 0.2,
        "min_examples": 10,
        "min_base_gain": 0.05,
        "min_train_drop": 0.05,
        "memorisation_excess": 0.05,
        "memorisation_similarity": 0.8,
        "min_rise": 0.02,
        "patience": 3,
        "min_fall": 0.001,
        "train_window": 10,
        "max_ppl_increase": 0.10,
        "max_metric_drop": 0.05,
        "confidence": 0.95,
    }
    assert all(item.metadata.get("help") for item in fields(VerdictSettings))
    assert VerdictSettings.help("min_base_gain").startswith("nats of held-out NLL")


def test_markdown_names_every_setting_with_its_value():
    text = VerdictSettings(max_nll_gap=0.25).to_markdown()
    assert "`max_nll_gap`=0.25" in text and "`confidence`=0.95" in text
    assert text.count("`=") == len(fields(VerdictSettings))


def test_child_seeds_are_reproducible_distinct_and_follow_the_parent():
    assert child_seeds(5, 3) == child_seeds(5, 3)
    assert len(set(child_seeds(5, 3))) == 3
    assert child_seeds(5, 3) != child_seeds(6, 3)
    assert child_seeds(5, 3) == [
        int(s.generate_state(1)[0]) for s in np.random.SeedSequence(5).spawn(3)
    ]
