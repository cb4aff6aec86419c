"""Saving mid-sharpening, BatchNorm folding, and training on several devices."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import whetstone_lab as wl


def _trained(model, x, y, epochs=2):
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    return model


def test_save_and_load_mid_sharpening(tmp_path, digits):
    keras.utils.set_random_seed(0)
    model = _trained(wl.models.dense_classifier((8, 8, 1), hidden=(32, 16), key_seed=7),
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
    model = _trained(_bn_model(kind), digits.x_train, digits.y_train, epochs=2)
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


MIRRORED = textwrap.dedent("""
    import os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    import whetstone_lab as wl

    keras.utils.set_random_seed(0)
    data = wl.data.load("digits")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        model = wl.models.dense_classifier((8, 8, 1), hidden=(64, 32))
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    seen = []

    class Probe(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            var = wl.spiking_layers(self.model)[0].sharpness
            seen.append([float(v.numpy()) for v in strategy.experimental_local_results(var.value)])

    sharpener = wl.SimpleSharpener(start_epoch=2, steps=2)
    model.fit(data.x_train, data.y_train, epochs=9, batch_size=64, verbose=0,
              callbacks=[sharpener, Probe()])
    assert all(len(set(values)) == 1 and len(values) == 2 for values in seen), seen
    assert wl.is_fully_sharp(model)
    acc = model.evaluate(data.x_test, data.y_test, verbose=0)[1]
    print("replicas", seen[-1], "accuracy", acc)
    assert acc > 0.5
""")


@pytest.mark.integration
@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="tf.distribute.MirroredStrategy is TensorFlow's")
def test_mirrored_strategy_on_two_logical_cpus():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    result = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "replicas [1.0, 1.0]" in result.stdout
