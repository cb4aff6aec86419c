"""Dashboards, driven headlessly by setting their controls' values."""

import base64
import gc
import io

import keras
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from PIL import Image

import whetstone_lab as wl
from whetstone_lab import metrics, plots, spikes, widgets
from whetstone_lab.layers import find_decoder
from whetstone_lab.plots.figure import ACCENT
from whetstone_lab.plots.network import GOOD


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).uniform(0, 1, (24, 8, 8, 1)).astype("float32")


@pytest.fixture(scope="module")
def y():
    return np.arange(24) % 10


@pytest.fixture(scope="module")
def _dense_model():
    keras.utils.set_random_seed(0)
    return wl.models.dense_classifier((8, 8, 1), hidden=(32, 16), neurons_per_class=4)


@pytest.fixture()
def dense(_dense_model):
    wl.set_sharpness(_dense_model, 0.0)  # each test starts from the float network
    return _dense_model


def _binary(arr):
    arr = np.ma.filled(np.ma.asarray(arr, dtype=float), np.nan)
    values = arr[~np.isnan(arr)]
    return values.size > 0 and set(np.unique(values)) <= {0.0, 1.0}


def test_activation_explorer_slider_redraws():
    explorer = widgets.activation_explorer(0.2)
    before = explorer.image.value
    assert before[:4] == b"\x89PNG"
    explorer.slider.value = 0.9
    assert explorer.image.value != before
    assert "sharpness 0.900" in explorer.view.ax.get_title()
    assert explorer.slider.continuous_update is True
    assert isinstance(explorer.snapshot(), Figure)


def test_slider_sets_sharpness_and_redraws(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y)
    assert explorer.task == "classification"
    assert explorer.slider.continuous_update is True  # live while dragging
    before = explorer.image.value
    explorer.slider.value = 0.5
    assert wl.get_sharpness(dense) == pytest.approx([1.0, 0.5, 0.0])
    assert explorer.image.value != before
    explorer.mode.value = "uniform"
    assert wl.get_sharpness(dense) == pytest.approx([0.5, 0.5, 0.5])
    acc = metrics.accuracy(y, dense.predict(x, verbose=0))
    assert f"accuracy {acc:.3f}" in explorer.score.value


def test_fully_sharp_shows_only_binary_spikes(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y)
    explorer.slider.value = 1.0
    shown = explorer.view.spike_images()
    assert len(shown) == 4  # three layers and the output code
    assert all(_binary(a) for a in shown.values())
    explorer.slider.value = 0.0
    assert not all(_binary(a) for a in explorer.view.spike_images().values())


def test_sliders_never_retrace(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y)
    for value in (0.1, 0.6, 1.0, 0.3):
        explorer.slider.value = value
    explorer.sample.value = 5
    if keras.backend.backend() != "torch":  # torch runs the recorder eagerly
        assert spikes.recorder(dense).trace_count == 1


def test_sample_picker_changes_the_picture_not_the_model(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y)
    sharpness, before = wl.get_sharpness(dense), explorer.image.value
    explorer.sample.value = 7
    assert explorer.image.value != before
    assert wl.get_sharpness(dense) == sharpness
    assert explorer.view.input_ax.get_title().startswith("input #7")


def test_per_layer_sliders(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y, per_layer=True)
    assert list(explorer.layer_sliders) == ["spikes_0", "spikes_1", "spikes_2"]
    explorer.layer_sliders["spikes_1"].value = 0.75
    assert wl.get_sharpness(dense) == pytest.approx([0.0, 0.75, 0.0])
    assert explorer.slider.value == pytest.approx(0.25)
    explorer.slider.value = 0.5
    assert [s.value for s in explorer.layer_sliders.values()] == pytest.approx([1.0, 0.5, 0.0])


def test_restore_and_close_put_the_original_sharpness_back(dense, x, y):
    wl.set_sharpness(dense, [0.3, 0.2, 0.1])
    explorer = widgets.sharpness_explorer(dense, x, y, per_layer=True)
    explorer.slider.value = 1.0
    explorer.restore()
    assert wl.get_sharpness(dense) == pytest.approx([0.3, 0.2, 0.1])
    assert explorer.slider.value == pytest.approx(0.2)
    explorer.slider.value = 0.9
    explorer.close()
    assert wl.get_sharpness(dense) == pytest.approx([0.3, 0.2, 0.1])


def test_garbage_collection_does_not_reset_the_model(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y)
    explorer.slider.value = 1.0
    del explorer
    gc.collect()
    assert wl.get_sharpness(dense) == [1.0, 1.0, 1.0]


def test_static_fallbacks(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y, class_names=list("abcdefghij"))
    explorer.slider.value = 1.0
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    # The stored picture: the network, the score curve beside it, the caption above.
    png = base64.b64decode(bundle["image/png"])
    picture, net, curve = (Image.open(io.BytesIO(b)) for b in
                           (png, explorer.image.value, explorer.curve_image.value))
    assert picture.width >= net.width + curve.width
    assert picture.height > max(net.height, curve.height)
    assert picture.info["Description"] == (
        "global sharpness 1.00 (bottom-up); accuracy "
        f"{explorer.current_score()[1]:.3f} on 24 samples; sample #0: "
        f"{explorer.sample_verdict()[0]}")
    fig = explorer.snapshot()
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    assert fig.get_suptitle().startswith("snapshot: global sharpness 1.00 (bottom-up)")
    # The snapshot shows what the widget shows: same titles, same spike images.
    live = explorer.view.figure.axes
    assert [ax.get_title() for ax in fig.axes] == [ax.get_title() for ax in live]
    for a, b in zip(fig.axes, live, strict=True):
        for im_a, im_b in zip(a.images, b.images, strict=True):
            np.testing.assert_array_equal(im_a.get_array(), im_b.get_array())


def test_bad_arguments(dense, x, y):
    plain = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no spiking layers"):
        widgets.sharpness_explorer(plain, x)
    with pytest.raises(ValueError, match="x and y must have the same number of samples"):
        widgets.sharpness_explorer(dense, x, y[:3])
    with pytest.raises(ValueError, match="task must be one of"):
        widgets.sharpness_explorer(dense, x, y, task="regression")
    with pytest.raises(ValueError, match="input shape"):
        widgets.sharpness_explorer(dense, x, y, task="autoencoder")
    with pytest.raises(ValueError, match=r"shape \(24, 64\)"):
        widgets.sharpness_explorer(dense, x.reshape(24, 64), y)
    with pytest.raises(ValueError, match="not spiking layers"):
        widgets.sharpness_explorer(dense, x, y, layers=["spikes_9"])
    with pytest.raises(TypeError, match="per_layer must be True or False"):
        widgets.sharpness_explorer(dense, x, y, per_layer="yes")
    with pytest.raises(TypeError, match="model must be a Keras model"):
        widgets.sharpness_explorer("model", x, y)
    with pytest.raises(ValueError, match="x is empty"):
        widgets.sharpness_explorer(dense, x[:0], y[:0])


@pytest.mark.parametrize("bad, message", [(lambda y: y + 10, r"labels in \[0, 10\)"),
                                          (lambda y: np.eye(10)[y], "looks one-hot")])
def test_dashboards_check_labels_against_the_models_classes(dense, x, y, bad, message):
    # Scored as plain misses (or drawn as an unknown class) without a word before.
    with pytest.raises(ValueError, match=message):
        widgets.sharpness_explorer(dense, x, bad(y))
    with pytest.raises(ValueError, match=message):
        widgets.network_overview(dense, x, y=bad(y))


def _autoencoder():
    inp = keras.Input((8, 8, 1))
    h = wl.SpikingBReLU(name="code")(keras.layers.Dense(12)(keras.layers.Flatten()(inp)))
    out = wl.SpikingBReLU(name="pixels")(keras.layers.Dense(64)(h))
    return keras.Model(inp, keras.layers.Reshape((8, 8, 1))(out), name="ae")


def _segmenter():
    key = wl.make_key(3, 6)
    inp = keras.Input((8, 8, 1))
    h = wl.SpikingBReLU(name="conv_spikes")(keras.layers.Conv2D(4, 3, padding="same")(inp))
    code = wl.SpikingBReLU(name="pixel_code")(keras.layers.Conv2D(6, 1)(h))
    return keras.Model(inp, wl.SoftmaxDecode(key, name="decode")(code), name="seg")


def test_autoencoder_view(x):
    keras.utils.set_random_seed(0)
    model = _autoencoder()
    explorer = widgets.sharpness_explorer(model, x)
    assert explorer.task == "autoencoder"
    explorer.slider.value = 1.0
    out = model.predict(x, verbose=0)
    assert f"MSE {np.mean((out - x) ** 2):.3f}" in explorer.score.value
    np.testing.assert_allclose(explorer.view.out_im.get_array(), out[0, ..., 0], atol=1e-6)


def test_segmentation_view(x):
    keras.utils.set_random_seed(0)
    model = _segmenter()
    masks = (x[..., 0] > 0.5).astype(int) * 2
    explorer = widgets.sharpness_explorer(model, x, masks)
    assert explorer.task == "segmentation"
    explorer.slider.value = 1.0
    pred = model.predict(x, verbose=0)
    assert f"mean IoU {metrics.mean_iou(masks, pred):.3f}" in explorer.score.value
    np.testing.assert_array_equal(explorer.view.out_im.get_array(), pred[0].argmax(-1))
    np.testing.assert_array_equal(explorer.view.target_im.get_array(), masks[0])
    # Each sample is judged against the stated bar, IoU >= 0.5, not against the mean.
    ious = [metrics.mean_iou(masks[i:i + 1], pred[i:i + 1]) for i in range(len(x))]
    for i in range(len(x)):
        text, good = explorer.sample_verdict(i)
        assert good == (ious[i] >= widgets.sharpness.IOU_BAR), (i, text)
        assert f"{'≥' if good else '<'} 0.5 bar" in text
    assert explorer.mistake_button.description == "next IoU < 0.5"
    with pytest.raises(ValueError, match="SoftmaxDecode"):
        widgets.sharpness_explorer(_autoencoder(), x, task="segmentation")


def test_live_training_updates_each_epoch(x, y):
    keras.utils.set_random_seed(0)
    model = wl.models.dense_classifier((8, 8, 1), hidden=(16,), neurons_per_class=2)
    # Eager: two tiny epochs cost less than compiling a train step.
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"],
                  run_eagerly=True)
    live = widgets.LiveTraining(x[:3], index=2, display=False)
    frames = []

    class Grab(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            frames.append(live.spikes_image.value)

    model.fit(x, y, epochs=2, batch_size=8, verbose=0,
              callbacks=[wl.SimpleSharpener(start_epoch=0, steps=1), live, Grab()])
    assert live.history["sharpness"] == [0.0, 0.5]
    assert len(frames) == 2 and frames[0] != frames[1]
    assert live.history_image.value[:4] == b"\x89PNG"
    assert live.view.input_ax.get_title() == "epoch 2, input #2"
    np.testing.assert_array_equal(live.view.input_im.get_array(), x[2, ..., 0])
    with pytest.raises(ValueError, match="every must be an integer >= 1, got 0"):
        widgets.LiveTraining(x[:1], every=0)


def test_live_training_names_the_true_label_and_judges_the_decoded_class(x, y):
    keras.utils.set_random_seed(0)
    model = wl.models.dense_classifier((8, 8, 1), hidden=(16,), neurons_per_class=2)
    model.compile("adam", "sparse_categorical_crossentropy", run_eagerly=True)
    live = widgets.LiveTraining(x[:3], y_sample=y[:3], index=2, display=False,
                                class_names=list("abcdefghij"))
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[live])
    assert live.view.input_ax.get_title() == f"epoch 1, input #2 (label {'abcdefghij'[y[2]]})"
    decoded = int(np.argmax(live.view.output[0]))
    title = live.view.verdict_ax.title
    right = decoded == y[2]
    verdict = "correct" if right else "wrong"
    assert title.get_text() == f"{verdict}, decoded {'abcdefghij'[decoded]}"
    assert title.get_color() == (GOOD if right else ACCENT)
    with pytest.raises(TypeError, match="index must be an integer"):
        widgets.LiveTraining(x[:1], index="0")


def test_refresh_follows_changes_made_elsewhere(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y, per_layer=True)
    before = explorer.image.value
    wl.set_sharpness(dense, [1.0, 1.0, 0.4])
    explorer.refresh()
    assert explorer.slider.value == pytest.approx(0.8)
    assert [s.value for s in explorer.layer_sliders.values()] == pytest.approx([1.0, 1.0, 0.4])
    assert wl.get_sharpness(dense) == pytest.approx([1.0, 1.0, 0.4])  # refresh only reads
    assert explorer.image.value != before


def test_network_overview_records_the_model(dense, x, y):
    wl.set_sharpness(dense, 1.0)
    fig = widgets.network_overview(dense, x, index=5, y=y, class_names=list("abcdefghij"))
    assert fig.axes[0].get_title() == f"input #5 (label {'abcdefghij'[y[5]]})"
    # The same picture as the pure plot drawn from a recording of all of x.
    rec, out = spikes.record_with_output(dense, x)
    pure = plots.network_overview(x, rec, out, key=find_decoder(dense).key, index=5, y=y,
                                  class_names=list("abcdefghij"))
    assert [ax.get_title() for ax in fig.axes] == [ax.get_title() for ax in pure.axes]
    for a, b in zip(fig.axes, pure.axes, strict=True):
        for im_a, im_b in zip(a.images, b.images, strict=True):
            np.testing.assert_array_equal(im_a.get_array(), im_b.get_array())
    np.testing.assert_allclose([p.get_width() for p in fig.axes[-1].patches], out[5],
                               atol=1e-5)
    assert widgets.network_overview(dense, x[0]).axes[0].get_title() == "input #0"
    assert len(widgets.network_overview(dense, x, layers=["spikes_2"]).axes) == 1 + 1 + 2
    with pytest.raises(ValueError, match="index must be an integer"):
        widgets.network_overview(dense, x, index=24)
    with pytest.raises(ValueError, match="not spiking layers"):
        widgets.network_overview(dense, x, layers=["flatten"])
    wl.set_sharpness(dense, 0.0)


def test_views_use_the_decoder_temperature(x, y):
    keras.utils.set_random_seed(0)
    model = wl.models.dense_classifier((8, 8, 1), hidden=(16,), neurons_per_class=4,
                                       temperature=20.0)
    wl.set_sharpness(model, 1.0)
    probs = model.predict(x, verbose=0)
    fig = widgets.network_overview(model, x, index=3)
    np.testing.assert_allclose([p.get_width() for p in fig.axes[-1].patches], probs[3],
                               atol=1e-5)
    explorer = widgets.sharpness_explorer(model, x, y)
    explorer.sample.value = 3
    assert explorer.view.temperature == 20.0
    np.testing.assert_allclose([b.get_width() for b in explorer.view.bars], probs[3],
                               atol=1e-5)
    # Decoding the recorded spikes with the model's temperature gives the same bars.
    explorer.view.update(3, spikes=spikes.record(model, x))
    np.testing.assert_allclose([b.get_width() for b in explorer.view.bars], probs[3],
                               atol=1e-5)
    explorer.close()


def test_explicit_task_is_kept(x):
    keras.utils.set_random_seed(0)
    model = _segmenter()
    masks = (x[..., 0] > 0.5).astype(int) * 2
    explorer = widgets.sharpness_explorer(model, x, masks, task="segmentation")
    assert explorer.task == "segmentation"
    assert explorer.current_score()[0] == "mean IoU"
    assert widgets.sharpness_explorer(model, x, task="segmentation").current_score() is None


def _conv_model():
    keras.utils.set_random_seed(0)
    return wl.models.conv_classifier((8, 8, 1), 10)


def _png_width(png: bytes) -> int:
    import io

    from PIL import Image
    return Image.open(io.BytesIO(png)).size[0]


def _smallest_text_px(fig) -> float:
    import matplotlib.text
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip()]
    return min(sizes) * fig.dpi / 72


@pytest.mark.parametrize("task", ["dense", "conv", "autoencoder", "segmentation"])
def test_dashboards_fit_a_notebook_cell_with_readable_text(task, x, y):
    if task == "dense":
        keras.utils.set_random_seed(0)
        model, args = wl.models.dense_classifier((8, 8, 1)), (x, y)
    elif task == "conv":
        model, args = _conv_model(), (x, y)
    elif task == "autoencoder":
        keras.utils.set_random_seed(0)
        model = wl.models.autoencoder((8, 8, 1), filters=(32, 32), code_channels=16)
        args = (x,)
    else:
        keras.utils.set_random_seed(0)
        model = wl.models.segmenter((8, 8, 1), 3, filters=(8, 16))
        args = (x, (x[..., 0] * 3).astype(int).clip(0, 2))
    explorer = widgets.sharpness_explorer(model, *args, class_names=(
        ["bg", "a", "b"] if task == "segmentation" else None))
    explorer.slider.value = 0.5
    # The picture is at most 950 px wide (a notebook cell), so the browser never shrinks it.
    assert 800 <= _png_width(explorer.image.value) <= 950
    assert _png_width(explorer.curve_image.value) <= 320
    # Every text, as rendered, is at least 10 px high.
    assert _smallest_text_px(explorer.view.figure) >= 10 - 1e-9
    assert _smallest_text_px(explorer.curve.figure) >= 10 - 1e-9
    if task in ("conv", "autoencoder"):
        titles = [ax.get_title() for ax in explorer.view.layer_axes.values()]
        assert "channels 1–8 of 32" in titles[0]
    if task == "segmentation":  # the colour key names the mask classes
        legend = explorer.view.figure.axes[-1].get_legend()
        assert [t.get_text() for t in legend.get_texts()] == ["bg", "a", "b"]
        assert "IoU" in explorer.verdict.value
    if task == "autoencoder":
        assert "MSE" in explorer.verdict.value
    explorer.close()


def test_play_starts_from_the_slider_and_pauses_when_the_slider_is_taken(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y)
    n = explorer.play.max // 2
    explorer.slider.value = 0.6
    explorer.play.playing = True
    assert explorer.play.value == round(0.6 * n)
    assert explorer.slider.value == pytest.approx(0.6)  # no jump back to 0
    explorer.play.value += 1  # a frame of the sweep moves the slider and keeps playing
    assert explorer.slider.value == pytest.approx((round(0.6 * n) + 1) / n)
    assert explorer.play.playing
    explorer.slider.value = 0.2  # the learner grabs the slider
    assert not explorer.play.playing
    assert wl.get_sharpness(dense) == pytest.approx([0.6, 0.0, 0.0])


def test_play_sweeps_up_and_back(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y)
    play, n = explorer.play, explorer.play.max // 2
    assert play.repeat and play.min == 0
    play.value = n // 2
    assert explorer.slider.value == pytest.approx(0.5)
    play.value = n
    assert explorer.slider.value == pytest.approx(1.0)
    assert wl.get_sharpness(dense) == pytest.approx([1.0, 1.0, 1.0])
    play.value = 2 * n - 1
    assert explorer.slider.value == pytest.approx(1 / n)
    play.value = 2 * n
    assert explorer.slider.value == pytest.approx(0.0)


def test_score_curve_is_computed_once_and_its_marker_follows(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y)
    lines = explorer.curve.ax.lines[:2]
    sweep = metrics.sharpness_sweep(dense, x, y, values=np.linspace(0, 1, 11))
    for line, mode in zip(lines, ("bottom_up", "uniform"), strict=True):
        np.testing.assert_allclose(line.get_ydata(), sweep[mode], atol=1e-6)
    before = explorer.curve_image.value
    explorer.slider.value = 0.7
    acc = metrics.accuracy(y, dense.predict(x, verbose=0))
    np.testing.assert_allclose(explorer.curve.marker.get_xydata(), [[0.7, acc]], atol=1e-6)
    assert explorer.curve_image.value != before
    if keras.backend.backend() != "torch":  # the sweep used the same compiled function
        assert spikes.recorder(dense).trace_count == 1


def test_verdict_and_sample_buttons(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y, class_names=list("abcdefghij"))
    pred = dense.predict(x, verbose=0).argmax(-1)
    for i in (0, 1):
        explorer.sample.value = i
        word = "correct" if pred[i] == y[i] else "wrong"
        assert f"{word}: decoded {'abcdefghij'[pred[i]]}" in explorer.verdict.value
        assert f"label {'abcdefghij'[y[i]]}" in explorer.verdict.value
    explorer.sample.value = 0
    explorer.next_button.click()
    assert explorer.sample.value == 1
    explorer.prev_button.click()
    explorer.prev_button.click()
    assert explorer.sample.value == len(x) - 1  # wraps around
    explorer.sample.value = 0
    wrong = np.flatnonzero(pred != y)
    assert wrong.size  # an untrained network gets some wrong
    explorer.mistake_button.click()
    assert explorer.sample.value == wrong[wrong > 0][0]
    assert "wrong" in explorer.verdict.value
    # The figure says it too, in red: the title and the decoded class's bar.
    title = explorer.view.verdict_ax.title
    assert title.get_text().startswith("wrong, decoded") and title.get_color() == ACCENT
    winner = int(np.argmax(explorer.view.output[explorer.sample.value]))
    assert to_hex(explorer.view.bars[winner].get_facecolor()) == ACCENT.lower()
    right = np.flatnonzero(pred == y)
    if right.size:  # a right answer's bar is green, not red
        explorer.sample.value = int(right[0])
        winner = int(np.argmax(explorer.view.output[int(right[0])]))
        assert to_hex(explorer.view.bars[winner].get_facecolor()) == GOOD.lower()


def test_per_layer_mode_names_every_layer(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y, per_layer=True)
    explorer.layer_sliders["spikes_1"].value = 1.0
    explorer.layer_sliders["spikes_2"].value = 1.0
    assert "spikes_0 0.00 · spikes_1 1.00 · spikes_2 1.00" in explorer.score.value
    caption = explorer.snapshot().get_suptitle()
    assert caption.startswith("snapshot: layer sharpness spikes_0 0.00 · spikes_1 1.00")
    assert "global" not in caption and "0.67" not in caption
    assert explorer.slider.description == "all layers"
    # Every slider's label has one width, so the tracks line up.
    sliders = [explorer.slider, *explorer.layer_sliders.values()]
    assert {s.style.description_width for s in sliders} == {widgets.common.LABEL_WIDTH}


def test_an_unchanged_setting_is_not_redrawn(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y)
    explorer.slider.value = 1.0
    frames = []
    explorer.image.observe(lambda change: frames.append(change["new"]), names="value")
    explorer.mode.value = "uniform"  # fully sharp either way: the same picture, no frame
    assert frames == []
    explorer.slider.value = 0.4  # a new setting: one frame
    assert len(frames) == 1


def test_sliders_are_sent_values_on_their_grid(_dense_model, x, y):
    # A slider's front-end snaps a value to its step and sends the snapped one back; that
    # echo, arriving late, pulled the slider back. The kernel sends only grid values.
    keras.utils.set_random_seed(0)
    model = wl.models.dense_classifier((8, 8, 1), hidden=(32, 16, 16), neurons_per_class=4)
    explorer = widgets.sharpness_explorer(model, x, y, per_layer=True)
    steps = round(1 / explorer.slider.step)
    for value in np.linspace(0, 1, steps + 1):
        explorer.slider.value = float(value)
        for s in explorer.layer_sliders.values():
            assert s.value == round(s.value * steps) / steps  # e.g. 0.8, not 0.7999999999999998
    explorer.slider.value = 0.95
    assert wl.get_sharpness(model)[-1] == pytest.approx(0.8)
    assert explorer.layer_sliders["spikes_3"].value == 0.8
    frames = []
    explorer.image.observe(lambda change: frames.append(change["new"]), names="value")
    explorer.layer_sliders["spikes_3"].value = wl.get_sharpness(model)[-1]  # its own value
    assert frames == [] and explorer.slider.value == 0.95
    explorer.layer_sliders["spikes_3"].value = 0.3  # the mean, 0.825, shown on the grid
    assert wl.get_sharpness(model) == pytest.approx([1.0, 1.0, 1.0, 0.3])
    assert explorer.slider.value == 0.85
    assert widgets.common.on_grid(0.95 * 4 - 3, 0.05) == 0.8
    assert [widgets.common.grid_steps(s) for s in (0.05, 0.1, 0.3, 2.0)] == [20, 10, 3, 1]


def test_play_buttons_have_labels_and_tooltips(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y)
    assert explorer.play.layout.display == "none"  # its own buttons have no labels
    assert explorer.play_button.description == "▶" and "sweep" in explorer.play_button.tooltip
    assert explorer.stop_button.description == "■" and explorer.stop_button.tooltip
    explorer.slider.value = 0.4
    explorer.play_button.click()
    assert explorer.play.playing and explorer.play_button.description == "❚❚"
    assert explorer.play.value == round(0.4 * explorer.play.max / 2)
    explorer.play_button.click()
    assert not explorer.play.playing and explorer.play_button.description == "▶"
    explorer.play_button.click()
    explorer.stop_button.click()
    assert not explorer.play.playing and explorer.slider.value == 0.0
    assert wl.get_sharpness(dense) == [0.0, 0.0, 0.0]


def test_sample_box_takes_whole_numbers_only(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y)
    explorer.sample.value = 2
    assert explorer.sample_box.value == "2"
    before = explorer.image.value
    for typed in ("3.7", "37", "-1", "three", "", "٣"):
        explorer.sample_box.value = typed
        assert explorer.sample.value == 2, typed  # 3.7 is not sample 37, nor 3
        assert explorer.sample_box.value == "2"  # the box shows the current sample again
        note = explorer.sample_note.value
        assert "is not a sample" in note and "from 0 to 23" in note, typed
        assert explorer.image.value == before
    assert "“3.7”" not in explorer.sample_note.value  # the last message, not the first
    explorer.sample_box.value = " 5 "
    assert explorer.sample.value == 5 and explorer.sample_note.value == ""
    assert "sample #5" in explorer.verdict.value
    explorer.next_button.click()
    assert explorer.sample_box.value == "6"
    with pytest.raises(TypeError, match="sample must be an integer"):
        explorer.sample.value = 3.7
    with pytest.raises(ValueError, match="sample must be an integer >= 0 and <= 23"):
        explorer.sample.value = 24
    explorer.sample.value = np.int64(1)  # a NumPy integer is a whole number too
    assert explorer.sample.value == 1 and type(explorer.sample.value) is int


def test_pictures_are_shown_at_their_natural_size(dense, x, y):
    explorer = widgets.sharpness_explorer(dense, x, y, per_layer=True)
    for image in (explorer.image, explorer.curve_image):
        width = Image.open(io.BytesIO(image.value)).size[0]
        layout = image.layout
        assert layout.width == f"{width}px" and layout.max_width.startswith("calc(100% ")
        assert layout.height == "auto" and layout.align_self == "flex-start"
    live = widgets.LiveTraining(x[:1], display=False)
    live.set_model(dense)
    live.on_train_begin()
    live.on_epoch_end(0, {"loss": 1.0})
    for image in (live.spikes_image, live.history_image):
        width = Image.open(io.BytesIO(image.value)).size[0]
        assert image.layout.width == f"{width}px"
        assert image.layout.max_width.startswith("calc(100% ")
    # The widgets' pictures are shorter; the static figure lessons store keeps its size.
    static = widgets.network_overview(dense, x)
    assert explorer.view.figure.get_figheight() == pytest.approx(
        static.get_figheight() * widgets.common.OVERVIEW_HEIGHT_SCALE)
