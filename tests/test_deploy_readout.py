"""Autoencoders on threshold neurons: up-sampling of spikes, input noise and the host read-out
(docs/design.md, "Deployment")."""

import keras
import numpy as np
import pytest

import whetstone_lab as wl
import whetstone_lab.deploy as deploy

SHORT = wl.Recipe(warmup_epochs=1, sharpen_epochs=2, batch_size=16)


def _trained(model, digits):
    x = digits.x_train[:300]
    wl.training.fit(model, x, None, SHORT, seed=0, progress=False)
    assert wl.is_fully_sharp(model)
    return model


@pytest.fixture(scope="module")
def dense_autoencoder(digits):
    """Gaussian noise on the input, Flatten, two spiking layers, a sigmoid Dense, Reshape."""
    keras.utils.set_random_seed(0)
    return _trained(wl.models.dense_autoencoder(code_bits=16, decoder=(64,)), digits)


@pytest.fixture(scope="module")
def conv_autoencoder(digits):
    """Max-pooling down to the code, UpSampling2D back up, a sigmoid Conv2D read-out."""
    keras.utils.set_random_seed(0)
    return _trained(wl.models.autoencoder((8, 8, 1), filters=(8, 8), code_channels=4), digits)


@pytest.mark.parametrize("which, kinds", [
    ("dense_autoencoder", ["flatten", "synapses", "synapses", "read-out"]),
    ("conv_autoencoder", ["synapses", "pool", "synapses", "pool", "synapses", "upsample",
                          "synapses", "upsample", "synapses", "read-out"]),
])
def test_an_autoencoder_runs_spike_for_spike_and_reads_out_what_keras_predicts(
        which, kinds, request, digits):
    model = request.getfixturevalue(which)
    net = deploy.to_spiking(model)
    assert [part.split("(")[1].rstrip(")") for part in repr(net)[16:-1].split(" → ")] == kinds
    assert net.readout.name == "reconstruction" and net.key is None
    result = net.run(digits.x_test)
    reference = deploy.keras_spikes(net.source, digits.x_test, net.layer_names)
    assert list(result.spikes) == list(reference) == net.layer_names
    for name, ref in reference.items():
        assert int((result.spikes[name] != ref).sum()) == 0, name
    rates = [float(s.mean()) for s in result.spikes.values()]
    assert all(0.01 < r < 0.99 for r in rates), rates  # real activity, not all 0 or all 1
    predicted = model.predict(digits.x_test, verbose=0)
    assert result.readout.shape == predicted.shape == (len(digits.x_test), 8, 8, 1)
    np.testing.assert_allclose(result.readout, predicted, atol=1e-6)
    assert result.classes is None
    assert "The read-out runs on the host" in result.summary(print_fn=None)
    with pytest.raises(ValueError, match=r"run\(x\)\.readout"):
        net.predict(digits.x_test[:2])


def test_up_sampling_copies_each_spike_into_its_block():
    model = keras.Sequential([keras.Input((2, 2, 1)),
                              keras.layers.Conv2D(1, 1, name="c", kernel_initializer="ones"),
                              wl.SpikingBReLU(1.0, name="s"),
                              keras.layers.UpSampling2D((2, 3), name="up"),
                              keras.layers.Flatten(),
                              keras.layers.Dense(1, name="d", kernel_initializer="ones"),
                              wl.SpikingBReLU(1.0, name="out")])
    x = np.array([[[1.0], [0.0]], [[0.0], [0.7]]], np.float32)[None]
    result = deploy.to_spiking(model).run(x)
    np.testing.assert_array_equal(result.spikes["up"][0, ..., 0],
                                  [[1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0],
                                   [0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1]])
    assert result.spikes["out"].tolist() == [[1]]
    # Each copy is an input spike of the next layer: 12 copies, one synapse each.
    assert result.counts[-1].input_events == 12 and result.counts[-1].synops == 12


def test_a_linear_dense_after_the_last_spikes_is_a_read_out():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="d"),
                              wl.SpikingBReLU(1.0, name="s"),
                              keras.layers.Dense(2, name="regression")])
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    net = deploy.to_spiking(model)
    assert net.readout.name == "regression" and net.layer_names == ["s"]
    np.testing.assert_allclose(net.run(x).readout, model.predict(x, verbose=0), atol=1e-6)


def _sequential(input_shape, *layers):
    return keras.Sequential([keras.Input(input_shape), *layers])


def test_what_cannot_be_converted_is_named():
    on_pixels = _sequential((4, 4, 1), keras.layers.UpSampling2D(name="up"),
                            keras.layers.Conv2D(1, 1), wl.SpikingBReLU(1.0))
    with pytest.raises(ValueError, match="UpSampling2D 'up' must follow a spiking layer"):
        deploy.to_spiking(on_pixels)
    bilinear = _sequential((4, 4, 1), keras.layers.Conv2D(1, 1), wl.SpikingBReLU(1.0),
                           keras.layers.UpSampling2D(interpolation="bilinear", name="up"),
                           keras.layers.Conv2D(1, 1), wl.SpikingBReLU(1.0))
    with pytest.raises(ValueError, match="'up': only interpolation='nearest'"):
        deploy.to_spiking(bilinear)
    reshape_inside = _sequential((4,), keras.layers.Dense(4), wl.SpikingBReLU(1.0),
                                 keras.layers.Reshape((2, 2, 1), name="r"),
                                 keras.layers.Conv2D(1, 1), wl.SpikingBReLU(1.0))
    with pytest.raises(ValueError, match="Reshape 'r' is supported only after the read-out"):
        deploy.to_spiking(reshape_inside)
    dense_on_a_map = _sequential((4, 4, 1), keras.layers.Conv2D(2, 1), wl.SpikingBReLU(1.0),
                                 keras.layers.Dense(3, name="ro"))
    with pytest.raises(ValueError, match="read-out 'ro' receives inputs of shape"):
        deploy.to_spiking(dense_on_a_map)
    readout_on_pixels = _sequential((3,), keras.layers.Dense(2, name="first"),
                                    keras.layers.Dense(2), wl.SpikingBReLU(1.0))
    with pytest.raises(ValueError, match="'first' is followed by 'dense"):
        deploy.to_spiking(readout_on_pixels)


def test_export_nir_names_the_layers_nir_cannot_hold(conv_autoencoder):
    pytest.importorskip("nir")
    with pytest.raises(ValueError, match=r"'dec_0_up' \(up-sampling\).*'reconstruction' "
                                         r"\(read-out\)"):
        deploy.export_nir(conv_autoencoder)
