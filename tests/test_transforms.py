"""Copies of a network: float twins, hard and straight-through copies, weight quantization,
BatchNorm folding."""

import keras
import numpy as np
import pytest
from backend_helpers import random_batch, trained

import whetstone_lab as wl
from whetstone_lab import models, transforms


def test_float_twin_same_architecture_at_sharpness_zero():
    keras.utils.set_random_seed(0)
    model = models.conv_classifier((8, 8, 1), 10)
    wl.set_sharpness(model, 0.6)
    twin = transforms.float_twin(model)
    assert wl.get_sharpness(twin) == [0.0] * 4
    assert wl.get_sharpness(model)[0] == 1.0  # the original is untouched
    assert [type(a) for a in model.layers] == [type(b) for b in twin.layers]
    assert [w.shape for w in model.get_weights()] == [w.shape for w in twin.get_weights()]
    same = transforms.float_twin(model, copy_weights=True)
    x = np.random.default_rng(0).random((4, 8, 8, 1), dtype=np.float32)
    with wl.fully_sharp(model), wl.fully_sharp(same):
        np.testing.assert_array_equal(model.predict(x, verbose=0), same.predict(x, verbose=0))


def test_hard_copy_is_the_float_network_with_steps():
    keras.utils.set_random_seed(1)
    model = models.dense_classifier((8, 8, 1), 10, hidden=(16,))
    x = np.random.default_rng(1).random((16, 8, 8, 1), dtype=np.float32)
    hard = transforms.hard_copy(model)
    assert wl.is_fully_sharp(hard) and wl.get_sharpness(model) == [0.0, 0.0]
    with wl.fully_sharp(model):
        expected = model.predict(x, verbose=0)
    np.testing.assert_array_equal(hard.predict(x, verbose=0), expected)
    probe = keras.Model(hard.inputs, wl.spiking_layers(hard)[0].output)
    assert np.isin(probe.predict(x, verbose=0), (0.0, 1.0)).all()


def test_straight_through_copy_learns_when_sharp():
    keras.utils.set_random_seed(2)
    model = models.dense_classifier((8, 8, 1), 10, hidden=(16,))
    wl.set_sharpness(model, 1.0)
    x, y = random_batch((8, 8, 1), "class", n=32)
    first = lambda m: np.array(keras.ops.convert_to_numpy(m.get_layer("dense_0").kernel))  # noqa: E731
    for enabled, moves in ((False, False), (True, True)):
        copy = transforms.with_straight_through(model, enabled)
        assert wl.is_fully_sharp(copy)
        assert all(layer.straight_through is enabled for layer in wl.spiking_layers(copy))
        copy.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
        before = first(copy)
        copy.train_on_batch(x, y)
        # No gradient crosses a sharp step unless it is straight-through.
        assert (not np.array_equal(before, first(copy))) is moves
    with pytest.raises(TypeError, match="True or False"):
        transforms.with_straight_through(model, "yes")


def test_quantize_weights_keeps_at_most_2_to_the_bits_values():
    model = models.dense_classifier((6,), 2, hidden=(8,), neurons_per_class=2)
    rounded = transforms.quantize_weights(model, 3)
    for layer in rounded.layers:
        if isinstance(layer, keras.layers.Dense):
            values = np.unique(np.concatenate([w.ravel() for w in layer.get_weights()]))
            assert len(values) <= 2**3 - 1
    same = transforms.quantize_weights(model, 32)
    for a, b in zip(model.get_weights(), same.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="bits must be"):
        transforms.quantize_weights(model, 1)


def _bn_model(kind):
    if kind == "sequential":
        return keras.Sequential([
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(6, 3, padding="same", use_bias=True),
            keras.layers.BatchNormalization(epsilon=0.01),
            wl.SpikingBReLU(),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(20, use_bias=False),
            keras.layers.BatchNormalization(center=False),
            wl.SpikingBReLU(),
            keras.layers.Dense(20),
            keras.layers.BatchNormalization(scale=False),
            wl.SpikingBReLU(),
            wl.SoftmaxDecode(wl.make_key(10, 20)),
        ])
    return wl.models.conv_classifier((8, 8, 1), filters=(8,), dense=(16,), batchnorm=True)


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_fold_batchnorm_is_exact(kind, digits):
    keras.utils.set_random_seed(1)
    model = trained(_bn_model(kind), digits.x_train, digits.y_train, epochs=2)
    # Non-trivial statistics: moving averages moved away from their (0, 1) start.
    bn = [lyr for lyr in model.layers if isinstance(lyr, keras.layers.BatchNormalization)]
    assert all(np.abs(keras.ops.convert_to_numpy(lyr.moving_mean)).max() > 1e-3 for lyr in bn)
    wl.set_sharpness(model, 0.6, mode="uniform")
    folded = wl.fold_batchnorm(model)
    assert not any(isinstance(lyr, keras.layers.BatchNormalization) for lyr in folded.layers)
    assert wl.get_sharpness(folded) == pytest.approx(wl.get_sharpness(model))
    # Compare what every spiking layer receives, before the activation.
    def pre_activations(m):
        taps = [lyr.input for lyr in wl.spiking_layers(m)]
        return keras.Model(m.inputs, taps).predict(digits.x_test, verbose=0)
    for a, b in zip(pre_activations(model), pre_activations(folded)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(folded.predict(digits.x_test, verbose=0),
                               model.predict(digits.x_test, verbose=0), atol=1e-4)


def test_fold_batchnorm_refuses_what_it_cannot_fold():
    after_activation = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4),
                                         wl.SpikingBReLU(), keras.layers.BatchNormalization()])
    with pytest.raises(ValueError, match="directly follows a Dense or Conv2D"):
        wl.fold_batchnorm(after_activation)
    with_relu = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, activation="relu"),
                                  keras.layers.BatchNormalization(), wl.SpikingBReLU()])
    with pytest.raises(ValueError, match="activation 'relu'"):
        wl.fold_batchnorm(with_relu)
    with pytest.raises(TypeError, match="Keras model"):
        wl.fold_batchnorm("model.keras")
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(4, name="dense")(inputs)
    branched = keras.Model(inputs, keras.layers.Add(name="add")(
        [keras.layers.BatchNormalization(name="bn")(dense), dense]))
    with pytest.raises(ValueError, match="fold_batchnorm handles single-input chains of "
                                         "layers; layer 'add' has 2 inputs"):
        wl.fold_batchnorm(branched)
