"""The per-layer sharpness staircase: one strip per layer, the data it was given, clear errors."""

import numpy as np
import pytest
from matplotlib.figure import Figure

import whetstone_lab as wl
from whetstone_lab import plots


def _bottom_up_trace(num_layers=3, points=31):
    g = np.linspace(0.0, 1.0, points)
    return np.array([wl.sharpening.layer_sharpness(v, num_layers) for v in g])


def test_staircase_draws_each_layer_input_at_the_bottom():
    trace = _bottom_up_trace()
    fig = plots.schedules.staircase(trace, layer_names=["in", "mid", "out"],
                                    phases={"warm-up": (0, 5), "sharpening": (5, 30)},
                                    title="dense net, bottom-up")
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert [ax.get_ylabel() for ax in fig.axes] == [f"{n}\nsharpness" for n in ("out", "mid", "in")]
    assert fig.get_suptitle() == "dense net, bottom-up"
    for ax, column in zip(fig.axes, (2, 1, 0), strict=True):
        filled = ax.collections[0].get_paths()[0].vertices
        # The filled strip reaches exactly the layer's values, and the dashed line the mean.
        assert np.isclose(filled[:, 1].max(), trace[:, column].max())
        dashed = ax.get_lines()[0].get_ydata()
        np.testing.assert_allclose(dashed, trace.mean(axis=1))
    # The bottom-up staircase: the input layer is full before the output layer starts.
    first_full = np.argmax(trace[:, 0] >= 1)
    assert trace[first_full, 2] == 0
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["warm-up", "sharpening"]


def test_staircase_uses_given_times_and_default_names():
    trace = _bottom_up_trace(2, 5)
    fig = plots.schedules.staircase(trace, x=np.arange(5) / 2, xlabel="epoch")
    assert [ax.get_ylabel() for ax in fig.axes] == ["layer 1\nsharpness", "layer 0\nsharpness"]
    assert fig.axes[-1].get_xlim() == (0.0, 2.0)
    # Drawing into an existing figure clears it first.
    again = plots.schedules.staircase(trace, fig=fig)
    assert again is fig and len(fig.axes) == 2


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(sharpness=np.zeros(4)), ValueError, "2 dimensions"),
    (dict(sharpness=np.full((3, 2), 1.5)), ValueError, r"\[0, 1\]"),
    (dict(sharpness=np.zeros((3, 2)), x=np.arange(4)), ValueError, "one time per row"),
    (dict(sharpness=np.zeros((3, 2)), layer_names=["a"]), ValueError, "each of the 2"),
    (dict(sharpness=np.zeros((3, 2)), phases=[(0, 1)]), TypeError, "phases"),
    (dict(sharpness="steep"), TypeError, "numeric array"),
])
def test_staircase_refuses_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        plots.schedules.staircase(**kwargs)
