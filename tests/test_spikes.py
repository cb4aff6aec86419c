"""Recording spikes and the binarity check."""

import keras
import numpy as np
import pytest

import whetstone_lab as wl
from whetstone_lab import spikes


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).uniform(0, 1, (40, 8, 8, 1)).astype("float32")


def test_record_keys_shapes_and_order(dense, x):
    wl.set_sharpness(dense, 0.0)
    rec = spikes.record(dense, x)
    assert list(rec) == ["spikes_0", "spikes_1", "spikes_2"]
    assert [v.shape for v in rec.values()] == [(40, 32), (40, 16), (40, 40)]


def test_record_matches_the_model(dense, x):
    wl.set_sharpness(dense, [1.0, 0.5, 0.0])
    rec, out = spikes.record_with_output(dense, x)
    np.testing.assert_allclose(out, dense.predict(x, verbose=0), atol=1e-6)
    # The decoder applied to the recorded last layer gives the model's own output.
    decoded = dense.get_layer("decode")(rec["spikes_2"])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(decoded), out, atol=1e-6)
    # Layer 0 is sharp here: its recorded output is binary.
    assert set(np.unique(rec["spikes_0"])) <= {0.0, 1.0}


def test_batches_and_single_sample_agree(dense, x):
    wl.set_sharpness(dense, 0.3)
    whole = spikes.record(dense, x, batch_size=64)
    parts = spikes.record(dense, x, batch_size=7)
    one = spikes.record(dense, x[5])
    # Float32 products may round differently with the batch size (PyTorch's kernels do).
    for name in whole:
        np.testing.assert_allclose(whole[name], parts[name], atol=1e-5)
        np.testing.assert_allclose(one[name][0], whole[name][5], atol=1e-5)


def test_one_cached_function_and_sharpness_still_applies(x):
    keras.utils.set_random_seed(1)
    model = wl.models.dense_classifier((8, 8, 1), hidden=(16,), neurons_per_class=2)
    rec = spikes.recorder(model)
    assert spikes.recorder(model) is rec
    wl.set_sharpness(model, 0.0)
    soft = spikes.record(model, x)["spikes_0"]
    wl.set_sharpness(model, 1.0)
    sharp = spikes.record(model, x, batch_size=13)["spikes_0"]
    spikes.record(model, x[:3])
    if keras.backend.backend() in ("tensorflow", "jax"):  # compiled; elsewhere eager
        assert rec.trace_count == 1
    assert np.any((soft > 0) & (soft < 1))
    assert set(np.unique(sharp)) <= {0.0, 1.0}


def test_record_errors(dense, x):
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no spiking layers"):
        spikes.record(plain, np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"shape \(3, 64\).*\(8, 8, 1\)"):
        spikes.record(dense, np.zeros((3, 64)))
    with pytest.raises(TypeError, match="Keras model"):
        spikes.record("model", x)
    with pytest.raises(ValueError, match="batch_size"):
        spikes.record(dense, x, batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        spikes.record(dense, np.zeros((0, 8, 8, 1)))


def test_nested_spiking_layers_are_refused_clearly():
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
                              wl.SpikingBReLU(name="inner_spikes")], name="inner")
    inp = keras.Input((4,))
    outer = keras.Model(inp, keras.layers.Dense(2)(inner(inp)), name="outer")
    with pytest.raises(ValueError, match="nested sub-model"):
        spikes.record(outer, np.zeros((1, 4)))
    assert list(spikes.record(inner, np.zeros((1, 4)))) == ["inner_spikes"]


def test_record_selected_layers(dense, x):
    wl.set_sharpness(dense, 0.5)
    full = spikes.record(dense, x)
    some = spikes.record(dense, x, layers=["spikes_2", "spikes_0"])
    assert list(some) == ["spikes_0", "spikes_2"]  # input-to-output order
    np.testing.assert_array_equal(some["spikes_2"], full["spikes_2"])
    assert list(spikes.record(dense, x, layers="spikes_1")) == ["spikes_1"]
    with pytest.raises(ValueError, match=r"\['dense_0'\] are not spiking layers.*spikes_0"):
        spikes.record(dense, x, layers=["dense_0"])


def test_record_accepts_any_size_where_the_model_does():
    inp = keras.Input((None, None, 1))
    out = wl.SpikingBReLU(name="maps")(keras.layers.Conv2D(2, 3, padding="same")(inp))
    model = keras.Model(inp, out)
    assert spikes.record(model, np.zeros((2, 6, 5, 1)))["maps"].shape == (2, 6, 5, 2)
    assert spikes.record(model, np.zeros((4, 4, 1)))["maps"].shape == (1, 4, 4, 2)
    with pytest.raises(ValueError, match="samples of shape"):
        spikes.record(model, np.zeros((2, 6, 5, 3)))


def test_assert_binary_names_the_layer_with_graded_values():
    from whetstone_lab import models, sharpening

    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2, towers=1)
    x = np.full((5, 4), 0.25, dtype="float32")
    model.get_layer("dense_0").set_weights([np.eye(4, 3, dtype="float32") * 1.0,
                                            np.zeros(3, "float32")])
    with pytest.raises(AssertionError, match="spikes_0"):
        spikes.assert_binary(model, x)  # sharpness 0: outputs of 0.25 are graded
    sharpening.set_sharpness(model, 1.0)
    assert spikes.assert_binary(model, x) == 5 * 3 + 5 * 4
