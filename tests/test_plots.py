"""Every plot returns a Figure with the expected panels, and refuses bad input clearly."""

import ast
from pathlib import Path

import keras
import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

import whetstone_lab as wl
from whetstone_lab import plots, spikes, stats
from whetstone_lab.layers import find_decoder


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
    with pytest.raises(ValueError, match=r"sharpness must be .* <= 1, got 1\.5"):
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
    with pytest.raises(ValueError, match="at least 1 sample"):
        plots.spike_raster(np.zeros((0,)))


def test_spike_raster_groups_output_neurons_by_class():
    key = wl.make_key(3, 7, seed=1)  # 2 neurons per class, one neuron of no class
    fig = plots.spike_raster(key, key=key, ylabel="class", group_names=["a", "b", "c"])
    (ax,) = fig.axes
    shown = ax.images[0].get_array()
    # Class order: each class's codeword is one block on the diagonal, the spare neuron last.
    expected = np.zeros((3, 7))
    for c in range(3):
        expected[c, 2 * c: 2 * c + 2] = 1
    np.testing.assert_array_equal(shown, expected)
    assert ax.get_ylabel() == "class" and ax.get_xlabel() == "neurons, grouped by class"
    assert [t.get_text() for t in ax.get_xticklabels()][:3] == ["a", "b", "c"]
    separators = [line.get_xdata()[0] for line in ax.lines]
    assert separators == [1.5, 3.5, 5.5]
    # Consecutive groups: lines between them, ticks in their middle.
    fig = plots.spike_raster(np.eye(6), neurons_per_group=3, group_names=["x", "y"])
    ax = fig.axes[0]
    assert [line.get_xdata()[0] for line in ax.lines] == [2.5]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y"]
    assert ax.get_ylabel() == "sample"
    with pytest.raises(ValueError, match="not both"):
        plots.spike_raster(key, key=key, neurons_per_group=2)
    with pytest.raises(ValueError, match="one column per neuron"):
        plots.spike_raster(np.ones((2, 5)), key=key)
    with pytest.raises(ValueError, match="group_names has 1 names but there are 2 groups"):
        plots.spike_raster(np.eye(6), neurons_per_group=3, group_names=["x"])
    with pytest.raises(TypeError, match="ylabel must be a string"):
        plots.spike_raster(key, ylabel=3)


def test_tower_votes_stack_each_towers_votes_and_name_the_decoded_class():
    key = wl.make_key(3, 12, groups=2, seed=0)  # 2 towers, 2 neurons per class each
    output = np.zeros(12, np.float32)
    output[np.flatnonzero(key[1, :6])] = 1  # tower 0: both of class 1's neurons
    output[6 + np.flatnonzero(key[2, 6:])[0]] = 1  # tower 1: one of class 2's
    fig = plots.tower_votes(output, key, 2, label=1, class_names=["a", "b", "c"])
    (ax,) = fig.axes
    bars = [p for p in ax.patches if p.get_fill()]
    widths = np.array([b.get_width() for b in bars]).reshape(2, 3)  # tower × class
    np.testing.assert_array_equal(widths, [[0, 2, 0], [0, 0, 1]])
    lefts = np.array([b.get_x() for b in bars]).reshape(2, 3)
    np.testing.assert_array_equal(lefts[1], widths[0])  # tower 1 stacked on tower 0
    outline = [p for p in ax.patches if not p.get_fill()]
    assert len(outline) == 1 and outline[0].get_width() == 2  # the true class's total
    assert ax.get_title() == "decoded: b (true: b)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="same multiple of towers \\(5\\)"):
        plots.tower_votes(output, key, 5)
    with pytest.raises(ValueError, match="output: 11 neurons, the key 12 columns"):
        plots.tower_votes(output[:11], key, 2)
    with pytest.raises(ValueError, match="label"):
        plots.tower_votes(output, key, 2, label=3)
    with pytest.raises(ValueError, match="class_names has 2 names but there are 3 classes"):
        plots.tower_votes(output, key, 2, class_names=["a", "b"])


def test_score_curve_marker_follows_the_setting():
    sweep = {"values": np.linspace(0, 1, 3), "bottom_up": [0.9, 0.8, 0.7],
             "uniform": [0.9, 0.5, 0.7], "metric": "accuracy"}
    curve = plots.ScoreCurve(sweep, 0.0, 0.9, samples=10)
    assert len(curve.ax.lines) == 2 + 2  # two modes, the dotted score line, the dot
    assert curve.ax.get_title() == "accuracy on 10 samples: 0.900"
    curve.update(0.5, 0.8, note="(x)")
    np.testing.assert_allclose(curve.marker.get_xydata(), [[0.5, 0.8]])
    assert curve.ax.get_title() == "accuracy on 10 samples: 0.800 (x)"
    frame = plots.BlitRenderer(curve.figure, curve.dynamic_artists()).png()
    assert frame[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="sharpness must be"):
        curve.update(1.5, 0.1)


def test_spike_maps_panels():
    maps = (np.random.default_rng(0).uniform(size=(4, 4, 20)) > 0.5).astype("float32")
    fig = plots.spike_maps(maps, max_channels=6, title="conv")
    assert len(fig.axes) == 6
    assert _titles(fig)[:2] == ["channel 0", "channel 1"]
    assert fig.get_suptitle().startswith("conv: 6 of 20 channels")
    assert all(_binary(ax.images[0].get_array()) for ax in fig.axes)
    with pytest.raises(ValueError, match="3 or 4 dimensions"):
        plots.spike_maps(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="max_channels"):
        plots.spike_maps(maps, max_channels=0)


def _recording(model, x):
    rec, out = spikes.record_with_output(model, x)
    return rec, out, find_decoder(model)


def test_network_overview_dense(dense, x):
    wl.set_sharpness(dense, 1.0)
    rec, out, decoder = _recording(dense, x)
    view = plots.NetworkOverview(x, rec, out, key=decoder.key, index=2,
                                 class_names=list("abcdefghij"))
    fig = view.figure
    assert len(fig.axes) == 1 + 3 + 2
    titles = _titles(fig)
    assert titles[0] == "input #2"
    assert titles[1:4] == ["spikes_0", "spikes_1", "spikes_2"]
    # Under each layer, its spike count (fully sharp: binary, so counted).
    notes = view.layer_notes()
    code = rec["spikes_2"]
    assert notes["spikes_2"] == f"{int(code[2].sum())} of {code.shape[1]} spikes"
    assert titles[4] == "output code, grouped by the key" and titles[5].startswith("decoded: ")
    # Laid out for a notebook cell: two rows, 944 px wide at 80 dpi, no text under 9 pt.
    assert fig.get_size_inches()[0] * 80 == pytest.approx(944)
    assert min(t.get_fontsize() for t in fig.findobj(matplotlib.text.Text)
               if t.get_text() and t.get_visible()) >= 9
    assert all(_binary(a) for a in view.spike_images().values())
    # The legend explains only what is drawn: no channel mosaics in a dense network.
    assert "Conv layers" not in fig.get_supxlabel()
    probs = dense.predict(x[2:3], verbose=0)[0]
    assert titles[5] == f"decoded: {'abcdefghij'[int(np.argmax(probs))]}"
    np.testing.assert_allclose([b.get_width() for b in view.bars], probs, atol=1e-5)
    wl.set_sharpness(dense, 0.0)
    rec, out, _ = _recording(dense, x)
    view.update(3, spikes=rec, output=out)
    assert fig.axes[0].get_title() == "input #3"
    assert not all(_binary(a) for a in view.spike_images().values())
    np.testing.assert_allclose([b.get_width() for b in view.bars], out[3], atol=1e-6)


def test_network_overview_decodes_spikes_without_output(dense, x):
    wl.set_sharpness(dense, 1.0)
    rec, out, decoder = _recording(dense, x)
    with_output = plots.network_overview(x, rec, out, key=decoder.key, index=1)
    decoded = plots.network_overview(x, rec, key=decoder.key, index=1,
                                     temperature=decoder.temperature)
    for a, b in zip(with_output.axes, decoded.axes, strict=True):
        assert a.get_title() == b.get_title()
    widths = [p.get_width() for p in decoded.axes[-1].patches]
    np.testing.assert_allclose(widths, out[1], atol=1e-5)
    # Without output and key there is nothing to decode: input and spikes only.
    assert len(plots.network_overview(x, rec).axes) == 1 + 3
    wl.set_sharpness(dense, 0.0)


def test_probability_bars_honour_the_decoder_temperature(x):
    keras.utils.set_random_seed(0)
    model = wl.models.dense_classifier((8, 8, 1), hidden=(16,), neurons_per_class=4,
                                       temperature=20.0)
    wl.set_sharpness(model, 1.0)
    rec, out, decoder = _recording(model, x)
    assert decoder.temperature == 20.0
    # A sample whose classes do not all tie (the weights differ between backends).
    index = next(i for i in range(len(x)) if np.ptp(out[i]) > 1e-2)
    fig = plots.network_overview(x, rec, key=decoder.key, temperature=decoder.temperature,
                                 index=index)
    widths = [p.get_width() for p in fig.axes[-1].patches]
    np.testing.assert_allclose(widths, out[index], atol=1e-5)
    np.testing.assert_allclose(widths, model.predict(x[index:index + 1], verbose=0)[0],
                               atol=1e-5)
    # At the paper's temperature the bars would be far sharper than the model's output.
    cold = plots.network_overview(x, rec, key=decoder.key, index=index)
    cold_widths = [p.get_width() for p in cold.axes[-1].patches]
    assert not np.allclose(cold_widths, out[index], atol=1e-3)


def test_network_overview_conv_and_errors(dense, x):
    keras.utils.set_random_seed(0)
    conv = wl.models.conv_classifier((8, 8, 1), filters=(4, 6), dense=(12,),
                                     neurons_per_class=2)
    wl.set_sharpness(conv, 1.0)
    rec, out, decoder = _recording(conv, x[:2])
    view = plots.NetworkOverview(x[:2], rec, out, key=decoder.key, max_channels=4)
    assert len(view.figure.axes) == 1 + 4 + 2
    assert all(_binary(a) for a in view.spike_images().values())
    assert "beige gaps between channels" in view.figure.get_supxlabel()

    rec, out, decoder = _recording(dense, x)
    key = decoder.key
    with pytest.raises(ValueError, match=r"index must be an integer >= -12 and <= 11, got 99"):
        plots.network_overview(x, rec, out, key=key, index=99)
    with pytest.raises(TypeError, match="index must be an integer"):
        plots.network_overview(x, rec, out, key=key, index=1.0)
    with pytest.raises(ValueError, match="class_names has 3"):
        plots.network_overview(x, rec, out, key=key, class_names=["a", "b", "c"])
    with pytest.raises(TypeError, match="spikes must be the dict"):
        plots.network_overview(x, [rec["spikes_0"]], out, key=key)
    with pytest.raises(ValueError, match="same number of samples"):
        plots.network_overview(x, {"spikes_0": rec["spikes_0"][:3]})
    with pytest.raises(ValueError, match="output code"):
        plots.network_overview(x, {"spikes_0": rec["spikes_0"]}, key=key)
    with pytest.raises(ValueError, match="probabilities of the key's 10 classes"):
        plots.network_overview(x, rec, out[:, :4], key=key)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        plots.network_overview(x, rec, key=key, temperature=0.0)
    with pytest.raises(ValueError, match="spikes lacks the layers"):
        plots.NetworkOverview(x, rec, out, key=key).update(0, spikes={"spikes_0": rec["spikes_0"]})


def test_history_panels_and_spiking_curve():
    hist = {"loss": [1.0, 0.5, 0.4], "accuracy": [0.5, 0.8, 0.9],
            "sharpness": [0.0, 0.5, 1.0], "spiking_accuracy": [0.1, 0.6, 0.9]}
    fig = plots.history(hist)
    assert len(fig.axes) == 4  # loss and accuracy, each with a sharpness twin
    assert _titles(fig)[:2] == ["loss per epoch", "accuracy per epoch"]
    acc = next(ax for ax in fig.axes if ax.get_title() == "accuracy per epoch")
    labels = [line.get_label() for line in acc.lines]
    assert labels == ["training", "fully sharp (spiking), validation"]
    assert acc.get_ylabel() == "accuracy (fraction correct)"
    assert fig.axes[0].get_ylabel() == "training loss (lower is better)"  # a dict: no model
    twins = [ax for ax in fig.axes if ax.get_ylabel().startswith("global sharpness")]
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
    assert ax.get_ylabel() == "accuracy (fraction correct)"
    assert ax.get_xlabel() == "global sharpness"
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
    with pytest.raises(ValueError, match=r"n must be an integer >= 1, got 0"):
        plots.segmentation(x, masks, masks, n=0)


def test_activity_bars():
    result = stats.activity({"a": np.eye(4), "b": np.ones((4, 2))})
    fig = plots.activity_bars(result)
    assert len(fig.axes) == 2
    heights = [[p.get_height() for p in ax.patches] for ax in fig.axes]
    assert heights[0] == pytest.approx([0.25, 1.0])
    assert heights[1] == pytest.approx([0.0, 0.0])
    with pytest.raises(TypeError, match="LayerActivity"):
        plots.activity_bars({"a": 1})
    with pytest.raises(TypeError, match="activity must be the dict"):
        plots.activity_bars([result["a"]])


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
    rec, out, decoder = _recording(dense, x)
    view = plots.NetworkOverview(x, rec, out, key=decoder.key)
    renderer = plots.BlitRenderer(view.figure, view.dynamic_artists())
    first = renderer.png()
    view.update(4)
    second = renderer.png()
    assert first != second
    full = plots.to_png(plots.network_overview(x, rec, out, key=decoder.key, index=4))
    from io import BytesIO

    from PIL import Image

    a = np.asarray(Image.open(BytesIO(second)).convert("L"), float)
    b = np.asarray(Image.open(BytesIO(full)).convert("L"), float)
    assert a.shape == b.shape
    assert np.mean(np.abs(a - b) > 40) < 0.01  # the same picture, up to anti-aliasing
    wl.set_sharpness(dense, 0.0)


def test_network_overview_selected_layers(dense, x):
    wl.set_sharpness(dense, 1.0)
    rec, out, decoder = _recording(dense, x)
    full = plots.network_overview(x, rec, out, key=decoder.key, index=5)
    view = plots.NetworkOverview(x, rec, key=decoder.key, index=5, layers=["spikes_1"])
    assert len(view.figure.axes) == 1 + 1 + 2
    assert view.figure.axes[1].get_title().startswith("spikes_1")
    # The class panel still decodes the last layer, which is not drawn.
    assert view.figure.axes[-1].get_title() == full.axes[-1].get_title()
    np.testing.assert_array_equal(view.code_im.get_array(), full.axes[-2].images[0].get_array())
    with pytest.raises(ValueError, match="not in spikes"):
        plots.network_overview(x, rec, out, key=decoder.key, layers=["flatten"])
    wl.set_sharpness(dense, 0.0)


_EMPTY = {
    "spike_raster": lambda: plots.spike_raster(np.zeros((0, 5))),
    "spike_maps": lambda: plots.spike_maps(np.zeros((4, 4, 0))),
    "network_overview inputs": lambda: plots.network_overview(
        np.zeros((0, 8, 8, 1)), {"s": np.zeros((0, 4))}),
    "network_overview spikes": lambda: plots.network_overview(np.zeros((2, 8, 8, 1)), {}),
    "history": lambda: plots.history({"loss": []}),
    "score_vs_sharpness": lambda: plots.score_vs_sharpness(
        {"values": [], "bottom_up": []}),
    "reconstructions": lambda: plots.reconstructions(*[np.zeros((0, 6, 6))] * 3),
    "segmentation": lambda: plots.segmentation(np.zeros((0, 6, 6)), np.zeros((0, 6, 6), int),
                                               np.zeros((0, 6, 6), int)),
    "activity_bars": lambda: plots.activity_bars({}),
    "activation_family": lambda: plots.activation_family(()),
}


@pytest.mark.parametrize("call", list(_EMPTY.values()), ids=list(_EMPTY))
def test_empty_inputs_give_a_clear_value_error(call):
    with pytest.raises(ValueError, match=r"at least (one|1)|empty"):
        call()


_NAN = {
    "spike_raster": lambda: plots.spike_raster(np.full((2, 5), np.nan)),
    "spike_maps": lambda: plots.spike_maps(np.full((4, 4, 2), np.nan)),
    "network_overview y": lambda: plots.network_overview(
        np.zeros((2, 8, 8, 1)), {"s": np.zeros((2, 4))}, y=[0, np.nan]),
    "history": lambda: plots.history({"loss": [np.nan, np.nan]}),
    "score_vs_sharpness values": lambda: plots.score_vs_sharpness(
        {"values": [0.0, np.nan], "bottom_up": [0.5, 0.5]}),
    "score_vs_sharpness scores": lambda: plots.score_vs_sharpness(
        {"values": [0.0, 1.0], "bottom_up": [np.nan, np.nan]}),
    "reconstructions": lambda: plots.reconstructions(*[np.full((2, 6, 6), np.nan)] * 3),
}


@pytest.mark.parametrize("call", list(_NAN.values()), ids=list(_NAN))
def test_nan_data_gives_a_clear_value_error_not_a_blank_picture(call):
    with pytest.raises(ValueError, match="finite"):
        call()


def test_bad_types_give_a_type_error_naming_the_argument():
    with pytest.raises(TypeError, match=r"n must be an integer >= 1, got 2\.5"):
        plots.reconstructions(*[np.zeros((2, 6, 6))] * 3, n=2.5)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got 'axes' \\(str\\)"):
        plots.spike_raster(np.ones((2, 3)), ax="axes")
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        plots.history({"loss": [1.0]}, fig=3)
    with pytest.raises(TypeError, match="gradient must be True or False"):
        plots.activation(0.5, gradient="yes")
    with pytest.raises(TypeError, match="values must be a sequence"):
        plots.activation_family(0.5)


_PLOTS = Path(plots.__file__).parent
_MODEL_CALLS = {"recorder", "record", "record_with_output", "predict", "predict_on_batch",
                "evaluate", "fit", "show"}


@pytest.mark.parametrize("path", sorted(_PLOTS.glob("*.py")), ids=lambda p: p.name)
def test_plots_never_run_a_model(path):
    """Plots take recordings: no module of plots/ records, predicts or shows."""
    source = path.read_text()
    assert "recorder(" not in source
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert name not in _MODEL_CALLS, f"{path.name}:{node.lineno} calls {name}()"
        if isinstance(node, ast.ImportFrom):
            module = (node.module or "").split(".")[0]
            assert module not in ("widgets", "lessons", "training", "pyplot"), (
                f"{path.name}:{node.lineno} imports {node.module}")
            assert "pyplot" not in (node.module or "")
        if isinstance(node, ast.Import):
            assert not any("pyplot" in a.name for a in node.names)


@pytest.mark.parametrize(
    "path", [*sorted(_PLOTS.glob("*.py")), *sorted((_PLOTS.parent / "widgets").glob("*.py"))],
    ids=lambda p: p.name)
def test_no_private_names_from_other_modules(path):
    tree = ast.parse(path.read_text())
    modules = {"plots", "spikes", "layers", "metrics", "sharpening", "validation", "figure",
               "activation", "network", "rasters", "curves", "tasks"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{path.name}:{node.lineno} imports {private}"
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in modules and node.attr.startswith("_")):
            raise AssertionError(f"{path.name}:{node.lineno} uses {node.value.id}.{node.attr}")


def test_plots_modules_stay_small():
    for path in _PLOTS.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 450, path.name


def test_a_returned_figure_displays_as_png_in_ipython():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        plots.register_notebook_display()
        data, _ = shell.display_formatter.format(plots.activation(0.5))
        assert data["image/png"][:4] == b"\x89PNG"
    finally:
        InteractiveShell.clear_instance()


def _every_helper(dense, x):
    """One figure from every public plot helper, drawn on small data."""
    wl.set_sharpness(dense, 1.0)
    rec, out, decoder = _recording(dense, x)
    sweep = {"values": np.linspace(0, 1, 3), "bottom_up": [0.9, 0.8, 0.7],
             "uniform": [0.9, 0.5, 0.7], "metric": "accuracy"}
    images = np.random.default_rng(0).uniform(size=(5, 6, 6, 1))
    masks = np.random.default_rng(1).integers(0, 3, size=(5, 6, 6))
    key = wl.make_key(3, 12, groups=2, seed=0)
    acts = {"a": np.random.default_rng(2).uniform(size=(50, 4)), "b": np.ones((50, 3))}
    yield "activation", plots.activation(0.5)
    yield "activation_family", plots.activation_family()
    yield "spike_raster", plots.spike_raster(np.eye(4), title="layer")
    yield "spike_maps", plots.spike_maps(np.ones((4, 4, 3)), title="conv")
    yield "tower_votes", plots.tower_votes(np.ones(12), key, 2, label=1)
    yield "network_overview", plots.network_overview(x, rec, out, key=decoder.key, index=1)
    yield "history", plots.history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.6],
                                    "accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.7],
                                    "spiking_accuracy": [0.1, 0.6], "sharpness": [0.0, 1.0]})
    yield "score_vs_sharpness", plots.score_vs_sharpness(sweep, label="sharpened")
    yield "score_vs_sharpness (mse)", plots.score_vs_sharpness({**sweep, "metric": "mse"})
    yield "ScoreCurve", plots.ScoreCurve(sweep, 0.0, 0.9, samples=10).figure
    yield "reconstructions", plots.reconstructions(images, images * 0.5, images > 0.5, n=3)
    yield "segmentation", plots.segmentation(images, masks, np.eye(3)[masks], n=2)
    yield "activity_bars", plots.activity_bars(stats.activity(acts))
    yield "staircase", plots.schedules.staircase(np.array([[0, 0], [1, 0.5], [1, 1.0]]))
    yield "activation_histograms", plots.distributions.activation_histograms(
        {"float": acts, "sharp": {k: (v > 0.5).astype(float) for k, v in acts.items()}})
    yield "lorenz", plots.distributions.lorenz({"a": acts["a"].mean(0), "b": acts["b"][0]})


def test_every_figure_says_what_it_shows(dense, x):
    """Titled, axes labelled in words, a legend wherever two lines share a panel."""
    from whetstone_lab.plots.audit import problems

    found = {name: problems(fig) for name, fig in _every_helper(dense, x)}
    assert {name: p for name, p in found.items() if p} == {}


def test_the_audit_finds_what_a_figure_lacks():
    from whetstone_lab.plots.audit import problems

    fig = plots.new_figure((3, 2))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.plot([0, 1], [1, 0], ls="--")
    ax.set_ylabel("mean_iou")
    found = problems(fig)
    assert found[0].startswith("no title")
    assert any("x axis has ticks but no label" in p for p in found)
    assert any("'mean_iou' is a variable's name" in p for p in found)
    assert any("2 lines or point sets and no legend" in p for p in found)
    ax.set_title("t"), ax.set_xlabel("epoch"), ax.set_ylabel("mean IoU"), ax.legend(["a", "b"])
    assert problems(fig) == []
