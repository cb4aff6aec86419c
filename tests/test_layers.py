"""The spiking activations and the N-hot code match docs/design.md ("The method") exactly;
the layers survive saving and loading."""

import math

import keras
import numpy as np
import pytest
from backend_helpers import to_numpy, trained, value_and_grad

import whetstone_lab as wl
from whetstone_lab.layers import LAMBDA

SHARPNESS = [0.0, 0.3, 0.9, 0.999, 1.0]


def ramp(x, s):
    return np.clip((x - 0.5) / (1 - s + LAMBDA) + 0.5, 0, 1)


def run_with_grad(layer, x):
    return value_and_grad(layer, x)


@pytest.mark.parametrize("s", SHARPNESS)
def test_brelu_matches_formula(s):
    x = np.concatenate([np.linspace(-1, 2, 301), [0.5, np.nextafter(np.float32(0.5), 0)]])
    x = x.astype(np.float32)
    y, _ = run_with_grad(wl.SpikingBReLU(sharpness=s), x)
    expected = (x >= 0.5).astype(np.float32) if s == 1.0 else ramp(x.astype(np.float64), s)
    np.testing.assert_allclose(y, expected, atol=1e-5)


def test_step_is_inclusive_at_half():
    below = np.nextafter(np.float32(0.5), np.float32(0))
    y, _ = run_with_grad(wl.SpikingBReLU(1.0), np.array([below, 0.5], np.float32))
    assert y.tolist() == [0.0, 1.0]


def test_ramp_passes_through_half_and_has_the_right_knees():
    for s in (0.0, 0.3, 0.9):
        half = (1 - s + LAMBDA) / 2
        y, _ = run_with_grad(wl.SpikingBReLU(s), np.array([0.5, 0.5 - half, 0.5 + half], "f4"))
        np.testing.assert_allclose(y, [0.5, 0.0, 1.0], atol=1e-5)


@pytest.mark.parametrize("s", [0.0, 0.3, 0.9, 0.999])
def test_gradient_inside_band_is_the_slope(s):
    x = np.array([0.5, 0.5 + 0.2 * (1 - s + LAMBDA)], np.float32)
    _, grad = run_with_grad(wl.SpikingBReLU(s), x)
    np.testing.assert_allclose(grad, 1 / (1 - s + LAMBDA), rtol=1e-4)
    _, outside = run_with_grad(wl.SpikingBReLU(s), np.array([-3.0, 3.0], np.float32))
    assert outside.tolist() == [0.0, 0.0]


def test_no_gradient_when_fully_sharp():
    _, grad = run_with_grad(wl.SpikingBReLU(1.0), np.linspace(-1, 2, 50).astype("f4"))
    assert np.all(grad == 0)


def test_straight_through_passes_the_clip_gradient_when_sharp():
    layer = wl.SpikingBReLU(1.0, straight_through=True)
    y, grad = run_with_grad(layer, np.array([0.2, 0.7, 1.5], np.float32))
    assert y.tolist() == [0.0, 1.0, 1.0]
    np.testing.assert_allclose(grad, [1 / (1 + LAMBDA), 1 / (1 + LAMBDA), 0.0], rtol=1e-5)


def test_straight_through_switch_reaches_a_compiled_train_step():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), wl.SpikingBReLU(1.0)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.random.default_rng(0).normal(0.5, 0.3, size=(16, 4)).astype("f4")
    before = model.get_weights()[0].copy()
    model.fit(x, np.ones((16, 4), "f4"), verbose=0)
    np.testing.assert_array_equal(model.get_weights()[0], before)  # sharp: no gradient
    model.layers[-1].straight_through = True
    model.fit(x, np.ones((16, 4), "f4"), verbose=0)
    assert not np.array_equal(model.get_weights()[0], before)


def test_sharpness_decided_robustly_not_by_equality():
    layer = wl.SpikingBReLU(1.0 - 5e-7)  # within 1e-6 of 1: sharp
    y, grad = run_with_grad(layer, np.array([0.49, 0.5], np.float32))
    assert y.tolist() == [0.0, 1.0] and np.all(grad == 0)
    layer = wl.SpikingBReLU(1.0 - 1e-4)  # clearly below: still a (steep) ramp
    y, _ = run_with_grad(layer, np.array([0.5], np.float32))
    assert y.tolist() == [0.5]


@pytest.mark.parametrize("s", SHARPNESS)
def test_sigmoid_matches_formula(s):
    x = np.linspace(-1, 1, 201).astype(np.float32)
    y, _ = run_with_grad(wl.SpikingSigmoid(s), x)
    if s == 1.0:
        expected = (x >= 0).astype(np.float32)
    else:
        k = 4 * math.log(2 + math.sqrt(3)) / (1 - s + LAMBDA)
        expected = 1 / (1 + np.exp(-np.clip(k * x.astype(np.float64), -40, 40)))
    np.testing.assert_allclose(y, expected, atol=1e-5)


def test_sharpness_is_a_non_trainable_variable():
    layer = wl.SpikingBReLU(0.25)
    layer.build((None, 4))
    assert layer.trainable_weights == []
    assert [w.name for w in layer.non_trainable_weights] == [
        "sharpness", "straight_through", "schedule", "schedule_step"]
    assert layer.get_sharpness() == pytest.approx(0.25)
    layer.set_sharpness(0.5)
    assert layer.raise_sharpness(0.3) == pytest.approx(0.8)
    assert layer.raise_sharpness(0.5) == 1.0 and layer.is_sharp


def test_sharpness_does_not_drift_during_training():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), wl.SpikingBReLU(0.4)])
    model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("f4")
    model.fit(x, np.ones((64, 4), "f4"), epochs=2, verbose=0)
    assert wl.get_sharpness(model) == [pytest.approx(0.4)]


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_sharpness_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match=r">= 0 and <= 1"):
        wl.SpikingBReLU(bad)
    with pytest.raises(ValueError, match=r">= 0 and <= 1"):
        wl.SpikingBReLU().set_sharpness(bad)


@pytest.mark.parametrize("bad", ["0.5", None, True, [0.5]])
def test_sharpness_not_a_number_is_refused(bad):
    with pytest.raises(TypeError, match="must be a finite number"):
        wl.SpikingBReLU(bad)


# -- N-hot key and decoding --------------------------------------------------------------
def test_key_disjoint_is_reproducible_and_balanced():
    key = wl.make_key(10, 100, seed=3)
    assert key.shape == (10, 100)
    assert key.sum(axis=1).tolist() == [10] * 10
    assert key.sum(axis=0).max() == 1  # disjoint
    np.testing.assert_array_equal(key, wl.make_key(10, 100, seed=3))
    assert not np.array_equal(key, wl.make_key(10, 100, seed=4))


def test_key_overlapping_has_distinct_codewords():
    key = wl.make_key(10, 20, overlapping=True, seed=1)
    assert key.sum(axis=1).tolist() == [2] * 10
    assert len({row.tobytes() for row in key}) == 10
    assert key.sum(axis=0).max() > 1  # some neuron is shared


def test_key_narrower_than_classes_is_refused():
    with pytest.raises(ValueError, match="width 5.*10 classes"):
        wl.make_key(10, 5)


def test_decoder_logits_are_width_minus_twice_hamming():
    key = wl.make_key(4, 12, seed=0)
    rng = np.random.default_rng(0)
    spikes = rng.integers(0, 2, size=(50, 12)).astype(np.float32)
    probs = to_numpy(wl.SoftmaxDecode(key)(spikes))
    hamming = (spikes[:, None, :] != key[None, :, :]).sum(-1)
    logits = 12 - 2 * hamming
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(wl.decode(spikes, key), np.argmax(logits, axis=1))


def test_decoder_works_on_any_leading_shape():
    key = wl.make_key(3, 9, seed=0)
    spikes = np.random.default_rng(1).integers(0, 2, size=(2, 5, 7, 9)).astype("f4")
    probs = to_numpy(wl.SoftmaxDecode(key)(spikes))
    assert probs.shape == (2, 5, 7, 3)
    np.testing.assert_array_equal(probs.argmax(-1), wl.decode(spikes, key))


def test_decoder_width_mismatch_names_both_widths():
    with pytest.raises(ValueError, match=r"width 100.*50 features"):
        keras.Sequential([keras.Input((50,)), wl.SoftmaxDecode(wl.make_key(10, 100))])
    with pytest.raises(ValueError, match="50 features.*width 100"):
        wl.decode(np.zeros((1, 50)), wl.make_key(10, 100))


@pytest.mark.parametrize("key, match", [
    ([[1, 0, 0], [1, 0, 0]], "equal codewords for classes \\[0, 1\\]"),
    ([[1, 1, 0], [0, 0, 0]], "no output neuron"),
    ([[1, 2], [0, 1]], "only 0 and 1"),
    ([[1, 0, 1]], "at least 2 classes"),
])
def test_decoder_refuses_keys_that_cannot_decode(key, match):
    with pytest.raises(ValueError, match=match):
        wl.SoftmaxDecode(key)
    with pytest.raises(ValueError, match=match):
        wl.decode(np.zeros((1, len(key[0]))), key)


def test_decoder_probabilities_is_the_layer_and_honours_the_temperature():
    key = wl.make_key(3, 9)
    spikes = np.random.default_rng(2).integers(0, 2, size=(5, 9)).astype("float32")
    for t in (1.0, 20.0):
        layer = to_numpy(wl.SoftmaxDecode(key, temperature=t)(spikes))
        pure = wl.decoder_probabilities(spikes, key, t)
        assert isinstance(pure, np.ndarray)
        np.testing.assert_allclose(pure, layer, rtol=1e-5, atol=1e-7)


def test_sharpness_variable_never_leaves_the_unit_interval(tmp_path):
    model = keras.Sequential([keras.Input((3,)), wl.SpikingBReLU(name="s")])
    x = np.array([[0.2, 0.5, 0.8]], "float32")
    layer = model.get_layer("s")
    for raw, read in ((1.5, 1.0), (-2.0, 0.0), (float("nan"), 0.0)):
        model.set_weights([np.float32(raw), np.float32(0.0), np.zeros(3, "f4"), np.float32(0)])
        assert layer.get_sharpness() == read
        expected = to_numpy(keras.Sequential([keras.Input((3,)), wl.SpikingBReLU(read)])(x))
        np.testing.assert_array_equal(to_numpy(model(x)), expected)
    path = tmp_path / "bad.weights.h5"
    model.save_weights(path)  # holds NaN
    with pytest.raises(ValueError, match="saved sharpness must be in \\[0, 1\\]"):
        model.load_weights(path)


def test_one_hot_softmax_saturates_but_n_hot_does_not():
    # The paper's Fig. 4 argument: one neuron per class caps the top probability.
    for n, lower, upper in [(1, 0.80, 0.90), (10, 0.999, 1.0)]:
        key = wl.make_key(10, 10 * n, seed=0)
        top = to_numpy(wl.SoftmaxDecode(key)(key[:1].astype("f4"))).max()
        assert lower < top <= upper, (n, top)


def test_decoder_temperature_scales_logits_but_never_changes_the_class():
    key = wl.make_key(4, 12, seed=0)
    spikes = np.random.default_rng(2).integers(0, 2, size=(40, 12)).astype(np.float32)
    plain = to_numpy(wl.SoftmaxDecode(key)(spikes))
    warm = to_numpy(wl.SoftmaxDecode(key, temperature=3.0)(spikes))
    logits = (2 * spikes - 1) @ (2 * key.T - 1)
    expected = np.exp(logits / 3 - (logits / 3).max(1, keepdims=True))
    np.testing.assert_allclose(warm, expected / expected.sum(1, keepdims=True), rtol=1e-5)
    np.testing.assert_array_equal(warm.argmax(1), plain.argmax(1))
    assert wl.SoftmaxDecode.from_config(wl.SoftmaxDecode(key, 3.0).get_config()).temperature == 3


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1.0, ValueError),
                                        (float("inf"), ValueError), ("10", TypeError)])
def test_decoder_temperature_must_be_positive(bad, error):
    with pytest.raises(error, match="temperature must be a finite number > 0"):
        wl.SoftmaxDecode(wl.make_key(2, 4), temperature=bad)


@pytest.mark.parametrize("shape", [(6,), (3, 4, 5)], ids=["classes", "pixels"])
def test_decoder_cross_entropy_is_the_probability_loss(shape):
    from whetstone_lab.layers import DecoderCrossEntropy

    rng = np.random.default_rng(0)
    key = wl.make_key(3, 12)
    spikes = rng.random((*shape, 12)).astype("float32")
    labels = rng.integers(0, 3, shape)
    for t in (1.0, 20.0):
        p = wl.decoder_probabilities(spikes, key, t)
        plain = to_numpy(keras.losses.SparseCategoricalCrossentropy()(labels, p))
        ours = to_numpy(DecoderCrossEntropy()(labels, p))
        np.testing.assert_allclose(ours, plain, rtol=1e-5)
        expected = -np.mean(np.log(np.take_along_axis(p, labels[..., None], -1)))
        np.testing.assert_allclose(ours, expected, rtol=1e-5)
    loss = keras.losses.deserialize(keras.losses.serialize(DecoderCrossEntropy()))
    assert isinstance(loss, DecoderCrossEntropy)


@pytest.mark.parametrize("layer", [wl.layers.SpikingBReLU(sharpness=1.0),
                                   wl.layers.SpikingSigmoid(sharpness=0.5),
                                   wl.layers.SoftmaxDecode(wl.make_key(2, 4))])
def test_layers_cast_integer_and_bool_inputs_and_refuse_strings(layer):
    # Integers and bools are numbers (0/1 spikes, pixel values): the layer computes on them
    # as on the same floats. Strings are not, and the error names the layer and the dtype.
    ints = np.array([[0, 1, 1, 0]])
    expected = to_numpy(layer(ints.astype("float32")))
    np.testing.assert_array_equal(to_numpy(layer(ints)), expected)
    np.testing.assert_array_equal(to_numpy(layer(ints.astype(bool))), expected)
    if keras.backend.backend() == "tensorflow":  # the other backends have no string tensors
        with pytest.raises(TypeError, match=f"layer '{layer.name}' takes numbers.*dtype string"):
            layer(np.array([["a", "b", "c", "d"]]))


def test_save_and_load_mid_sharpening(tmp_path, digits):
    keras.utils.set_random_seed(0)
    model = trained(wl.models.dense_classifier((8, 8, 1), hidden=(32, 16), key_seed=7),
                     digits.x_train, digits.y_train)
    wl.set_sharpness(model, 0.45)
    model.get_layer("spikes_1").straight_through = True
    path = tmp_path / "mid.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe mode, no custom objects
    np.testing.assert_allclose(wl.get_sharpness(loaded), wl.get_sharpness(model), atol=1e-7)
    assert loaded.get_layer("spikes_1").straight_through is True
    np.testing.assert_array_equal(loaded.get_layer("decode").key, model.get_layer("decode").key)
    np.testing.assert_array_equal(loaded.predict(digits.x_test, verbose=0),
                                  model.predict(digits.x_test, verbose=0))
    # Sharpening continues from where it was (the loaded variable is live in the graph).
    wl.set_sharpness(loaded, 1.0)
    assert not np.array_equal(loaded.predict(digits.x_test, verbose=0),
                              model.predict(digits.x_test, verbose=0))


def test_sigmoid_layer_round_trips(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3), wl.SpikingSigmoid(0.6)])
    model.save(tmp_path / "sig.keras")
    loaded = keras.saving.load_model(tmp_path / "sig.keras")
    assert wl.get_sharpness(loaded) == [pytest.approx(0.6)]
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("f4")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
