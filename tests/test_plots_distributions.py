"""Activation histograms and Lorenz curves: what they draw, and clear refusals."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from whetstone_lab import plots, stats
from whetstone_lab.plots import distributions


def _recording(rng, sharp: bool):
    a = rng.uniform(-0.5, 1.5, (50, 6)).clip(0, 1)
    return {"spikes_0": (a >= 0.5).astype("float32") if sharp else a.astype("float32"),
            "spikes_1": np.zeros((50, 3), "float32") + (0.0 if sharp else 0.4)}


def test_histograms_one_panel_per_stage_with_ramp_share_in_titles():
    rng = np.random.default_rng(0)
    before, after = _recording(rng, False), _recording(rng, True)
    fig = distributions.activation_histograms({"before": before, "after": after},
                                              title="test net")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig._suptitle.get_text() == "test net"
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("before") and titles[1].startswith("after")
    # Fully sharp: nothing inside the ramp; before: spikes_0 partly, spikes_1 wholly inside.
    assert "0.0% of outputs inside the ramp" in titles[1]
    inside = np.mean([np.mean((before[k] > 0) & (before[k] < 1)) for k in before])
    assert f"{100 * inside:.1f}%" in titles[0]
    # The end bars hold the exact-0 and exact-1 fractions of each layer.
    heights = sorted(round(p.get_height(), 6) for p in fig.axes[1].patches
                     if isinstance(p, Rectangle))
    expected = sorted(round(float(v), 6) for k in after
                      for v in (np.mean(after[k] == 0), np.mean(after[k] == 1)))
    assert heights == expected


def test_histograms_refuse_mismatched_or_empty_stages():
    rng = np.random.default_rng(0)
    rec = _recording(rng, False)
    with pytest.raises(ValueError, match="same layers"):
        distributions.activation_histograms({"a": rec, "b": {"spikes_0": rec["spikes_0"]}})
    with pytest.raises(ValueError, match="at least one entry"):
        distributions.activation_histograms({})
    with pytest.raises(TypeError, match="stages must be a dict"):
        distributions.activation_histograms([rec])


def test_lorenz_points_match_the_gini_coefficient():
    values = np.random.default_rng(1).exponential(size=200)
    x, y = distributions.lorenz_points(values)
    assert x[0] == y[0] == 0 and x[-1] == pytest.approx(1) and y[-1] == pytest.approx(1)
    assert np.all(np.diff(y) >= 0)
    # Gini = 1 - 2 * area under the Lorenz curve (trapezoids on the n + 1 points).
    area = np.sum((y[1:] + y[:-1]) / 2 * np.diff(x))
    assert 1 - 2 * area == pytest.approx(stats.gini(values), abs=1e-9)
    assert distributions.lorenz_points([2, 2, 2])[1].tolist() == pytest.approx([0, 1 / 3,
                                                                                2 / 3, 1])


def test_lorenz_draws_one_curve_per_entry_with_gini_in_the_legend():
    rng = np.random.default_rng(2)
    rec = (rng.uniform(size=(40, 10)) < np.linspace(0.05, 0.9, 10)).astype("float32")
    fig = plots.distributions.lorenz({"sparse": rec, "equal": np.ones(10)}, title="net X")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[1] == f"sparse (Gini {stats.gini(rec.mean(0)):.2f})"
    assert labels[2] == "equal (Gini 0.00)"
    assert ax.get_title() == "net X" and len(ax.get_lines()) == 3


def test_lorenz_refuses_silent_or_negative_activity():
    with pytest.raises(ValueError, match="silent layer"):
        distributions.lorenz_points(np.zeros(5))
    with pytest.raises(ValueError, match="non-negative"):
        distributions.lorenz_points([-1.0, 2.0])
