"""ftcore.progress: one step's progress mapped onto its share of the whole job."""

import pytest

from ftcore.progress import scaled


def test_scaled_maps_a_step_onto_its_share():
    seen = []
    step = scaled(lambda fraction, message: seen.append((fraction, message)), 0.2, 0.6)
    for fraction in (0.0, 0.5, 1.0):
        step(fraction, "reading")
    assert [f for f, _ in seen] == pytest.approx([0.2, 0.4, 0.6])
    assert {m for _, m in seen} == {"reading"}


def test_no_callback_stays_no_callback():
    assert scaled(None, 0.0, 0.5) is None
