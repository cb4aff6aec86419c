"""Activity statistics of recordings: the Gini coefficient, per-layer activity, its table."""

import math

import numpy as np
import pytest

from whetstone_lab import stats


def _gini_brute(r):
    r = np.asarray(r, float)
    return np.abs(r[:, None] - r[None, :]).sum() / (2 * len(r) ** 2 * r.mean())


def test_gini_known_values():
    assert stats.gini([3, 3, 3, 3]) == 0.0
    assert stats.gini([0, 0, 0, 1]) == pytest.approx(0.75)
    assert stats.gini([1, 2, 3, 4]) == pytest.approx(0.25)
    r = np.random.default_rng(3).uniform(0, 1, 50)
    assert stats.gini(r) == pytest.approx(_gini_brute(r))
    assert math.isnan(stats.gini([0, 0]))
    with pytest.raises(ValueError, match="non-negative"):
        stats.gini([1, -1])
    with pytest.raises(ValueError, match="at least one"):
        stats.gini([])


def test_activity_on_a_hand_made_layer():
    a = np.array([[0.0, 1.0, 0.5, 0.0],
                  [0.0, 1.0, 0.0, 0.0]])
    result = stats.activity({"layer": a})["layer"]
    assert (result.samples, result.neurons) == (2, 4)
    assert result.firing_rate == pytest.approx(2.5 / 8)
    assert result.binary_fraction == pytest.approx(7 / 8)
    assert result.ramp_fraction == pytest.approx(1 / 8)
    assert result.silent_fraction == pytest.approx(2 / 4)  # neurons 0 and 3
    assert result.always_on_fraction == pytest.approx(1 / 4)  # neuron 1
    assert result.spikes_per_inference == pytest.approx((1.5 + 1.0) / 2)
    assert result.gini == pytest.approx(_gini_brute([0.0, 1.0, 0.25, 0.0]))


def test_activity_treats_every_conv_position_as_a_neuron():
    maps = np.zeros((3, 2, 2, 2))
    maps[:, 0, 0, 1] = 1.0
    result = stats.activity({"conv": maps})["conv"]
    assert result.neurons == 8
    assert result.always_on_fraction == pytest.approx(1 / 8)
    assert result.gini == pytest.approx(7 / 8)


def test_activity_table_and_errors():
    result = stats.activity({"a": np.ones((2, 3)), "b": np.zeros((2, 5))})
    table = stats.activity_table(result)
    lines = table.splitlines()
    assert len(lines) == 4 and "Gini" in lines[0] and "firing rate" in lines[0]
    assert lines[2].split("|")[1].strip() == "a" and "nan" in lines[3]
    assert result["a"].to_table().splitlines()[2] == lines[2]
    with pytest.raises(TypeError, match="record"):
        stats.activity([np.ones((2, 2))])
    with pytest.raises(ValueError, match="samples"):
        stats.activity({"x": np.ones(3)})


def test_activity_names_its_argument_and_what_it_takes():
    with pytest.raises(TypeError, match=r"recording must be the \{layer name: outputs\} dict "
                                        r"that spikes.record\(\) returns, got str"):
        stats.activity("spikes")
    with pytest.raises(ValueError, match="recording must be the non-empty"):
        stats.activity({})
