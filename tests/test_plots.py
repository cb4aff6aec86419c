"""Every plot returns a Figure with the expected panels, and refuses bad input clearly."""

import keras
import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

import whetstone_lab as wl
from whetstone_lab import plots, spikes


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).uniform(0, 1, (12, 8, 8, 1)).astype("float32")


def _titles(fig):
    return [ax.get_title() for ax in fig.axes]


def _binary(arr):
    arr = np.ma.filled(np.ma.asarray(arr, dtype=float), np.nan)
    values = arr[~np.isnan(arr)]
    return values.size > 0 and set(np.unique(values)) <= {0.0, 1.0}


def test_spike_colormap_separates_zero_one_and_between():
    white, black = (1.0, 1.0, 1.0, 1.0), (0.0, 0.0, 0.0, 1.0)
    colors = plots.SPIKE_CMAP(plots.SPIKE_NORM(np.array([0.0, 1e-3, 0.5, 0.999, 1.0])))
    assert tuple(colors[0]) == white and tuple(colors[-1]) == black
    for c in colors[1:-1]:
        assert tuple(c) not in (white, black)
        assert c[0] == c[1] == c[2]  # grey


def test_activation_uses_the_layer_and_its_gradient():
    view = plots.ActivationPlot(1.0)
    x, y = view.line.get_data()
    assert set(np.unique(y)) == {0.0, 1.0}
    assert y[x == np.float32(0.5)][0] == 1.0  # inclusive threshold
    assert not np.any(view.grad_line.get_ydata())  # no gradient when fully sharp
    assert "no gradient" in view.grad_ax.get_title()
    view.update(0.0)
    x, y = view.line.get_data()
    np.testing.assert_allclose(y, np.clip((x - 0.5) / 1.001 + 0.5, 0, 1), atol=1e-6)
    assert np.max(view.grad_line.get_ydata()) == pytest.approx(1 / 1.001, rel=1e-5)
    fig = plots.activation(0.5)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert "sharpness 0.500" in fig.axes[0].get_title()


def test_activation_arguments():
    fig = Figure()
    ax = fig.add_subplot()
    assert plots.activation(0.2, gradient=False, ax=ax) is fig
    with pytest.raises(ValueError, match="gradient=False"):
        plots.activation(0.2, ax=ax)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plots.activation(1.5)


def test_activation_family_has_one_curve_per_value():
    fig = plots.activation_family((0.0, 0.9, 1.0))
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["s = 0", "s = 0.9", "s = 1 (step)"]
    with pytest.raises(ValueError, match="at least one"):
        plots.activation_family(())


def test_spike_raster():
    a = np.array([[0, 1, 0.5], [1, 1, 0]], dtype="float32")
    fig = plots.spike_raster(a, title="layer")
    (ax,) = fig.axes
    np.testing.assert_array_equal(ax.images[0].get_array(), a)
    assert ax.get_title() == "layer" and ax.get_xlabel() == "neuron"
    assert plots.spike_raster(np.ones(5)).axes[0].images[0].get_array().shape == (1, 5)
    with pytest.raises(ValueError, match="non-empty"):
        plots.spike_raster(np.zeros((0,)))


def test_spike_maps_panels():
    maps = (np.random.default_rng(0).uniform(size=(4, 4, 20)) > 0.5).astype("float32")
    fig = plots.spike_maps(maps, max_channels=6, title="conv")
    assert len(fig.axes) == 6
    assert _titles(fig)[:2] == ["channel 0", "channel 1"]
    assert fig.get_suptitle().startswith("conv: 6 of 20 channels")
    assert all(_binary(ax.images[0].get_array()) for ax in fig.axes)
    with pytest.raises(ValueError, match="height, width, channels"):
        plots.spike_maps(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="max_channels"):
        plots.spike_maps(maps, max_channels=0)


def test_network_overview_dense(dense, x):
    wl.set_sharpness(dense, 1.0)
    view = plots.NetworkOverview(dense, x, index=2, class_names=list("abcdefghij"))
    fig = view.figure
    assert len(fig.axes) == 1 + 3 + 2
    titles = _titles(fig)
    assert titles[0] == "input #2"
    assert [t.split("\n")[0] for t in titles[1:4]] == ["spikes_0", "spikes_1", "spikes_2"]
    assert titles[4] == "output code vs key" and titles[5].startswith("decoded: ")
    assert all(_binary(a) for a in view.spike_images().values())
    probs = dense.predict(x[2:3], verbose=0)[0]
    assert titles[5] == f"decoded: {'abcdefghij'[int(np.argmax(probs))]}"
    np.testing.assert_allclose([b.get_width() for b in view.bars], probs, atol=1e-5)
    wl.set_sharpness(dense, 0.0)
    view.update(3)
    assert fig.axes[0].get_title() == "input #3"
    assert not all(_binary(a) for a in view.spike_images().values())


def test_network_overview_reuses_a_recording(dense, x):
    wl.set_sharpness(dense, 1.0)
    rec = spikes.record(dense, x)
    fig = plots.network_overview(dense, x, index=1, record=rec)
    fresh = plots.network_overview(dense, x, index=1)
    for a, b in zip(fig.axes, fresh.axes, strict=True):
        assert a.get_title() == b.get_title()
    wl.set_sharpness(dense, 0.0)


def test_network_overview_conv_and_errors(dense, x):
    keras.utils.set_random_seed(0)
    conv = wl.models.conv_classifier((8, 8, 1), filters=(4, 6), dense=(12,),
                                     neurons_per_class=2)
    wl.set_sharpness(conv, 1.0)
    view = plots.NetworkOverview(conv, x[:2], max_channels=4)
    assert len(view.figure.axes) == 1 + 4 + 2
    assert all(_binary(a) for a in view.spike_images().values())
    with pytest.raises(IndexError, match="out of range"):
        plots.network_overview(dense, x, index=99)
    with pytest.raises(ValueError, match="class_names has 3"):
        plots.network_overview(dense, x, class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="record lacks"):
        plots.network_overview(dense, x, record={"spikes_0": np.zeros((12, 32))})
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no spiking layers"):
        plots.network_overview(plain, np.zeros((1, 4)))


def test_history_panels_and_spiking_curve():
    hist = {"loss": [1.0, 0.5, 0.4], "accuracy": [0.5, 0.8, 0.9],
            "sharpness": [0.0, 0.5, 1.0], "spiking_accuracy": [0.1, 0.6, 0.9]}
    fig = plots.history(hist)
    assert len(fig.axes) == 4  # loss and accuracy, each with a sharpness twin
    assert _titles(fig)[:2] == ["loss", "accuracy"]
    acc = next(ax for ax in fig.axes if ax.get_title() == "accuracy")
    labels = [line.get_label() for line in acc.lines]
    assert "fully sharp (spiking)" in labels
    twins = [ax for ax in fig.axes if ax.get_ylabel() == "sharpness"]
    assert len(twins) == 2
    np.testing.assert_allclose(twins[0].lines[0].get_ydata(), [0.0, 0.5, 1.0])

    class FakeHistory:
        history = {"loss": [1.0, 0.5]}

    assert len(plots.history(FakeHistory()).axes) == 1
    with pytest.raises(TypeError, match="History"):
        plots.history([1, 2])
    with pytest.raises(ValueError, match="no loss or accuracy"):
        plots.history({"sharpness": [0.1]})


def test_score_vs_sharpness_overlays():
    sweep = {"values": np.linspace(0, 1, 3), "bottom_up": [0.9, 0.8, 0.7],
             "uniform": [0.9, 0.5, 0.7], "metric": "accuracy"}
    fig = plots.score_vs_sharpness(sweep, label="sharpened")
    (ax,) = fig.axes
    plots.score_vs_sharpness({**sweep, "uniform": [0.9, 0.1, 0.0]}, ax=ax, label="naive")
    assert len(ax.lines) == 4
    assert ax.get_ylabel() == "accuracy" and ax.get_xlabel() == "global sharpness"
    assert ax.lines[0].get_color() != ax.lines[2].get_color()
    with pytest.raises(TypeError, match="sharpness_sweep"):
        plots.score_vs_sharpness([0.1, 0.2])
    with pytest.raises(ValueError, match="bottom_up"):
        plots.score_vs_sharpness({"values": [0.0]})


def test_reconstructions_and_segmentation():
    x = np.random.default_rng(0).uniform(size=(5, 6, 6, 1))
    fig = plots.reconstructions(x, x * 0.5, x > 0.5, n=3)
    assert len(fig.axes) == 9
    assert [fig.axes[i].get_ylabel() for i in (0, 3, 6)] == ["input", "float (s=0)",
                                                              "spiking (s=1)"]
    with pytest.raises(ValueError, match="same shape"):
        plots.reconstructions(x, x[:2], x)

    masks = np.random.default_rng(1).integers(0, 3, size=(5, 6, 6))
    probs = np.eye(3)[masks]
    fig = plots.segmentation(x, masks, probs, n=2, class_names=["bg", "a", "b"])
    assert len(fig.axes) == 6
    np.testing.assert_array_equal(fig.axes[5].images[0].get_array(), masks[1])
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["bg", "a", "b"]
    with pytest.raises(ValueError, match="must agree"):
        plots.segmentation(x, masks[:, :3], masks)
    with pytest.raises(ValueError, match="positive integer"):
        plots.segmentation(x, masks, masks, n=0)


def test_activity_bars():
    stats = spikes.activity({"a": np.eye(4), "b": np.ones((4, 2))})
    fig = plots.activity_bars(stats)
    assert len(fig.axes) == 2
    heights = [[p.get_height() for p in ax.patches] for ax in fig.axes]
    assert heights[0] == pytest.approx([0.25, 1.0])
    assert heights[1] == pytest.approx([0.0, 0.0])
    with pytest.raises(TypeError, match="activity"):
        plots.activity_bars({"a": 1})


def test_png_rendering_and_no_pyplot_state():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = plots.activation(0.3)
    png = plots.to_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert plt.get_fignums() == before
    with pytest.raises(TypeError, match="Figure"):
        plots.to_png("figure")
    assert matplotlib.get_backend().lower() == "agg"


def test_blit_frames_match_a_full_draw(dense, x):
    wl.set_sharpness(dense, 0.5)
    view = plots.NetworkOverview(dense, x)
    renderer = plots.BlitRenderer(view.figure, view.dynamic_artists())
    first = renderer.png()
    view.update(4)
    second = renderer.png()
    assert first != second
    full = plots.to_png(plots.network_overview(dense, x, index=4))
    from io import BytesIO

    from PIL import Image

    a = np.asarray(Image.open(BytesIO(second)).convert("L"), float)
    b = np.asarray(Image.open(BytesIO(full)).convert("L"), float)
    assert a.shape == b.shape
    assert np.mean(np.abs(a - b) > 40) < 0.01  # the same picture, up to anti-aliasing
    wl.set_sharpness(dense, 0.0)


def test_network_overview_selected_layers(dense, x):
    wl.set_sharpness(dense, 1.0)
    full = plots.network_overview(dense, x, index=5)
    view = plots.NetworkOverview(dense, x, index=5, layers=["spikes_1"])
    assert len(view.figure.axes) == 1 + 1 + 2
    assert view.figure.axes[1].get_title().startswith("spikes_1")
    # The class panel still decodes the last layer, which is not drawn.
    assert view.figure.axes[-1].get_title() == full.axes[-1].get_title()
    np.testing.assert_array_equal(view.code_im.get_array(), full.axes[-2].images[0].get_array())
    with pytest.raises(ValueError, match="not spiking layers"):
        plots.network_overview(dense, x, layers=["flatten"])
    wl.set_sharpness(dense, 0.0)


def test_a_returned_figure_displays_as_png_in_ipython():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        plots._register_notebook_display()
        data, _ = shell.display_formatter.format(plots.activation(0.5))
        assert data["image/png"][:4] == b"\x89PNG"
    finally:
        InteractiveShell.clear_instance()
