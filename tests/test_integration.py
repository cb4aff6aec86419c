"""End to end: a Whetstone network on real digits ends fully sharp, binary and accurate."""

import keras
import numpy as np
import pytest

import whetstone_lab as wl

pytestmark = pytest.mark.integration


def dense_64_256_64_100(temperature: float) -> keras.Model:
    key = wl.make_key(10, 100, seed=0)  # N-hot: 10 output neurons per class
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Flatten()(inputs)
    for units in (256, 64, 100):
        x = wl.SpikingBReLU()(keras.layers.Dense(units)(x))
    return keras.Model(inputs, wl.SoftmaxDecode(key, temperature=temperature)(x))


@pytest.fixture(scope="module")
def sharpened(digits):
    keras.utils.set_random_seed(0)
    model = dense_64_256_64_100(temperature=20.0)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(digits.x_train, digits.y_train, epochs=21, batch_size=32, verbose=0,
                        callbacks=[wl.SimpleSharpener(start_epoch=5, steps=5)])
    return model, history


def test_simple_schedule_ends_fully_sharp_and_accurate(sharpened, digits):
    model, history = sharpened
    assert wl.get_sharpness(model) == [1.0, 1.0, 1.0]
    assert history.history["sharpness"][:6] == [0.0] * 6
    assert history.history["sharpness"][-1] == 1.0
    accuracy = model.evaluate(digits.x_test, digits.y_test, verbose=0)[1]
    assert accuracy >= 0.95, accuracy


def test_every_spiking_layer_is_exactly_binary_on_the_test_set(sharpened, digits):
    model, _ = sharpened
    taps = keras.Model(model.inputs, [layer.output for layer in wl.spiking_layers(model)])
    outputs = taps.predict(digits.x_test, verbose=0)
    for layer, out in zip(wl.spiking_layers(model), outputs):
        values = np.unique(out)
        assert set(values.tolist()) <= {0.0, 1.0}, (layer.name, values[:10])
        assert 0.0 < out.mean() < 1.0, layer.name  # neither silent nor saturated
    # Decoding the binary output code is nearest-codeword decoding.
    key = model.layers[-1].key
    np.testing.assert_array_equal(wl.decode(outputs[-1], key),
                                  model.predict(digits.x_test, verbose=0).argmax(-1))
