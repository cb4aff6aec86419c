"""The exact spiking simulator, its counts, and NIR export (docs/design.md, "Deployment")."""

from contextlib import nullcontext
from dataclasses import dataclass

import keras
import numpy as np
import pytest

import whetstone_lab as wl
import whetstone_lab.deploy as deploy
from whetstone_lab.deploy import exactness, products

nir = pytest.importorskip("nir")


# ----------------------------------------------------------------------------------------
# Small trained models (few epochs: sharp, spiking, not necessarily accurate)
# ----------------------------------------------------------------------------------------
def _train(model, data, epochs: int, steps: int):
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=64, verbose=0,
              callbacks=[wl.SimpleSharpener(start_epoch=1, steps=steps, per="batch")])
    assert wl.is_fully_sharp(model)
    return model


@dataclass
class Case:
    model: keras.Model
    net: deploy.SpikingNetwork
    reference: dict  # Keras predict: every spiking/pooling layer, and "decode"


def _case(model, data) -> Case:
    net = deploy.to_spiking(model)
    names = [*net.layer_names, "decode"]
    return Case(model, net, deploy.keras_spikes(net.source, data.x_test, names))


@pytest.fixture(scope="module")
def dense_case(digits):
    keras.utils.set_random_seed(1)
    model = wl.models.dense_classifier((8, 8, 1), hidden=(64, 32), neurons_per_class=4)
    return _case(_train(model, digits, epochs=3, steps=10), digits)


@pytest.fixture(scope="module")
def towers_case(digits):
    """Three towers: block-diagonal GroupedDense layers after the first."""
    keras.utils.set_random_seed(4)
    model = wl.models.dense_classifier((8, 8, 1), hidden=(32, 16), neurons_per_class=4,
                                       towers=3)
    return _case(_train(model, digits, epochs=3, steps=10), digits)


def _conv_case(data, seed: int, *, batchnorm: bool, pool: bool) -> Case:
    """A small conv classifier (8/16 channels, dense 32), trained fully sharp."""
    keras.utils.set_random_seed(seed)
    model = wl.models.conv_classifier((8, 8, 1), filters=(8, 16), dense=(32,),
                                      neurons_per_class=4, batchnorm=batchnorm, pool=pool)
    return _case(_train(model, data, epochs=3, steps=8), data)


@pytest.fixture(scope="module")
def conv_case(digits):
    return _conv_case(digits, 2, batchnorm=True, pool=True)


@pytest.fixture(scope="module")
def plain_conv_case(digits):
    """No pooling, no BatchNorm: sparse spikes after the first layer."""
    return _conv_case(digits, 3, batchnorm=False, pool=False)


def _assert_same_spikes(result_spikes, reference):
    reference = {k: v for k, v in reference.items() if k != "decode"}
    assert list(result_spikes) == list(reference)  # same layers, same order
    for name, ref in reference.items():
        ref = np.asarray(ref)
        assert set(np.unique(ref)) <= {0.0, 1.0}, name
        got = result_spikes[name]
        assert got.shape == ref.shape, name
        mismatches = int((got != ref).sum())
        assert mismatches == 0, f"{name}: {mismatches} spikes differ from Keras"


def _assert_active(spikes):
    for name, s in spikes.items():
        rate = float(np.mean(s))
        assert 0.01 < rate < 0.99, f"{name} fires at rate {rate:.3f}: trivial activity"


# ----------------------------------------------------------------------------------------
# Exact agreement with Keras on trained networks
# ----------------------------------------------------------------------------------------
def test_dense_model_agrees_with_keras_spike_for_spike(dense_case, digits):
    result = dense_case.net.run(digits.x_test)
    reference = dense_case.reference
    assert list(reference) == ["spikes_0", "spikes_1", "spikes_2", "decode"]
    _assert_same_spikes(result.spikes, reference)
    _assert_active(result.spikes)
    keras_classes = reference["decode"].argmax(-1)
    np.testing.assert_array_equal(result.classes, keras_classes)
    np.testing.assert_array_equal(result.output, reference["spikes_2"])
    np.testing.assert_array_equal(dense_case.net.predict(digits.x_test[:50]),
                                  keras_classes[:50])


def test_conv_model_with_batchnorm_and_pooling_agrees_with_keras(conv_case, digits):
    net = conv_case.net
    assert any(isinstance(ly, keras.layers.BatchNormalization)
               for ly in conv_case.model.layers)
    # BatchNorm is folded: the reference is the folded model the network was built from.
    assert not any(isinstance(ly, keras.layers.BatchNormalization)
                   for ly in net.source.layers)
    result = net.run(digits.x_test)
    reference = conv_case.reference
    assert {"pool_0", "pool_1", "conv_spikes_0", "spikes_1"} <= set(reference)
    _assert_same_spikes(result.spikes, reference)
    _assert_active(result.spikes)
    np.testing.assert_array_equal(result.classes, reference["decode"].argmax(-1))


def test_near_ties_follow_the_keras_call_they_are_resolved_against(conv_case, digits):
    # batch_size=None resolves near-ties against one Keras call on the whole batch.
    net = deploy.to_spiking(conv_case.model, batch_size=None)
    x = digits.x_test[:100]
    result = net.run(x)
    names = net.layer_names
    probe = keras.Model(net.source.input, [net.source.get_layer(n).output for n in names])
    reference = dict(zip(names, (keras.ops.convert_to_numpy(o) for o in probe(x)), strict=True))
    _assert_same_spikes(result.spikes, reference)


# ----------------------------------------------------------------------------------------
# The fast products: event-driven or BLAS, a float32 screen, float64 near the threshold
# ----------------------------------------------------------------------------------------
def _run_with(monkeypatch, net, x, *, density=None, block=None):
    """Run ``net`` with the event-driven product forced on (density 1) or off (-1)."""
    with monkeypatch.context() as patch:
        if density is not None:
            patch.setattr(products, "EVENT_DENSITY", density)
        if block is not None:
            patch.setattr(products, "BLOCK_ELEMENTS", block)
        return net.run(x)


def _same_result(a, b):
    assert list(a.spikes) == list(b.spikes)
    for name in a.spikes:
        np.testing.assert_array_equal(a.spikes[name], b.spikes[name])
        if name in a.synops:
            np.testing.assert_array_equal(a.synops[name], b.synops[name])
    assert a.near_ties == b.near_ties


def test_conv_model_without_pooling_or_batchnorm_agrees_with_keras(plain_conv_case, digits):
    net = plain_conv_case.net
    assert not any(isinstance(ly, (keras.layers.BatchNormalization, keras.layers.MaxPooling2D))
                   for ly in plain_conv_case.model.layers)
    result = net.run(digits.x_test)
    reference = plain_conv_case.reference
    assert list(reference) == ["conv_spikes_0", "conv_spikes_1", "spikes_0", "spikes_1",
                               "decode"]
    _assert_same_spikes(result.spikes, reference)
    _assert_active(result.spikes)
    np.testing.assert_array_equal(result.classes, reference["decode"].argmax(-1))


def test_chunks_of_a_large_batch_give_the_result_of_one_run(conv_case, digits):
    """run() simulates a large batch in chunks (bounding its memory): spikes, counts, near-ties
    and means are those of one run, and each chunk still resolves near-ties against
    predict's batches (a chunk size that is not a multiple of batch_size is rounded down)."""
    net, x = conv_case.net, digits.x_test
    whole = net.run(x, chunk_size=len(x))
    for chunk in (32, 100, 257):
        parts = net.run(x, chunk_size=chunk)
        _same_result(parts, whole)
        np.testing.assert_array_equal(parts.classes, whole.classes)
        assert parts.counts == whole.counts
    with pytest.raises(ValueError, match="chunk_size must be"):
        net.run(x, chunk_size=0)


def test_towers_agree_with_keras_and_count_only_their_own_synapses(towers_case, digits):
    result = towers_case.net.run(digits.x_test)
    _assert_same_spikes(result.spikes, towers_case.reference)
    _assert_active(result.spikes)
    np.testing.assert_array_equal(result.classes, towers_case.reference["decode"].argmax(-1))
    counts = {c.name: c for c in result.counts}
    # Each spike of a tower reaches only its own tower's next layer (a third of the units).
    assert counts["spikes_1"].dense_macs == 96 * 16 and counts["spikes_2"].dense_macs == 48 * 40
    np.testing.assert_array_equal(result.synops["spikes_2"],
                                  result.spike_counts["spikes_1"] * 40)


def test_towers_simulate_what_keras_computes_even_with_weights_loaded_off_the_blocks(
        towers_case, digits):
    model = wl.transforms.hard_copy(towers_case.model)
    layer = model.get_layer("dense_1")
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    layer.kernel.assign(kernel + 5.0 * (1.0 - layer.kernel_mask))  # ignored by the forward pass
    reference = deploy.keras_spikes(model, digits.x_test)
    _assert_same_spikes(reference, towers_case.reference)
    _assert_same_spikes(deploy.to_spiking(model).run(digits.x_test).spikes, reference)


@pytest.mark.parametrize("which", ["dense_case", "conv_case", "plain_conv_case",
                                   "towers_case"])
def test_event_driven_and_blas_products_give_the_same_exact_result(which, request, digits,
                                                                   monkeypatch):
    case = request.getfixturevalue(which)
    x = digits.x_test
    events = _run_with(monkeypatch, case.net, x, density=1.0)
    blas = _run_with(monkeypatch, case.net, x, density=-1.0)
    _assert_same_spikes(events.spikes, case.reference)
    _same_result(events, blas)
    # Blocks of one sample each: the same decisions, near-ties and counts.
    _same_result(_run_with(monkeypatch, case.net, x[:60], block=1), case.net.run(x[:60]))


@pytest.mark.parametrize("channels", [3, 6])  # patches: one copy per tap (< 4), windows
@pytest.mark.parametrize("padding, strides, dilation, kernel", [
    ("same", 1, 1, 3), ("same", 2, 1, 3), ("valid", 1, 2, 3), ("valid", 2, 1, 2),
    ("same", 1, 1, 2), ("same", 2, 1, 4),
])
def test_event_product_and_patches_match_keras_conv_geometry(padding, strides, dilation,
                                                             kernel, channels, monkeypatch):
    conv = keras.layers.Conv2D(5, kernel, strides=strides, dilation_rate=dilation,
                               padding=padding, name="conv")
    model = _sequential((7, 6, channels), conv, wl.SpikingBReLU(1.0, name="spikes"))
    rng = np.random.default_rng(kernel * 10 + strides)
    conv.set_weights([rng.normal(0, 0.5, conv.kernel.shape).astype(np.float32),
                      rng.normal(0, 0.2, 5).astype(np.float32)])
    # Sparse real-valued inputs of both signs (a first layer): 15 % non-zero.
    x = (rng.normal(0, 1, (9, 7, 6, channels))
         * (rng.random((9, 7, 6, channels)) < 0.15)).astype(np.float32)
    stage = deploy.to_spiking(model).synapses[0]
    pre = keras.ops.convert_to_numpy(conv(x)).reshape(-1, 5)
    pre = pre - conv.get_weights()[1]  # Keras, no bias
    rows = products.patches(stage, x)
    np.testing.assert_allclose(rows @ stage.weights, pre, atol=1e-5)
    flat = x.reshape(9, -1)
    np.testing.assert_allclose(products.event_product(stage, flat, flat != 0), pre, atol=1e-5)
    sums = products.patch_sums(stage, np.abs(x).sum(axis=-1))
    np.testing.assert_allclose(sums, np.abs(rows).sum(axis=1), rtol=1e-6)
    # The error bound's term count: each neuron's non-zero inputs, from per-pixel counts.
    counts = products.patch_sums(stage, np.count_nonzero(x, axis=-1))
    np.testing.assert_array_equal(counts, np.count_nonzero(rows, axis=1))
    # Each input's fan-out: the outputs whose window covers it, times the channels.
    ones = np.eye(7 * 6 * channels, dtype=np.float32).reshape(-1, 7, 6, channels)
    reached = (products.patches(stage, ones).reshape(len(ones), -1) != 0).sum(axis=1)
    np.testing.assert_array_equal(stage.fan_out, reached * 5)
    net = deploy.to_spiking(model)
    reference = keras.ops.convert_to_numpy(model(x))
    for density in (1.0, -1.0):
        result = _run_with(monkeypatch, net, x, density=density)
        np.testing.assert_array_equal(result.spikes["spikes"], reference)


@pytest.mark.parametrize("density", [1.0, -1.0])
def test_a_conv_near_tie_goes_through_the_screen_and_is_resolved_like_keras(density,
                                                                            monkeypatch):
    # Two taps of one filter: 0.5 and -2**-30. Exactly 0.5 - 2**-30 < 0.5, but every
    # float32 sum rounds to 0.5 and Keras fires; one tap alone is an exact tie (fires).
    conv = keras.layers.Conv2D(2, 2, padding="same", name="conv")
    model = _sequential((3, 3, 1), conv, wl.SpikingBReLU(1.0, name="spikes"))
    kernel = np.zeros((2, 2, 1, 2), np.float32)
    kernel[0, 0, 0, 0], kernel[0, 1, 0, 0] = 0.5, -(2.0**-30)
    kernel[1, 1, 0, 1] = 0.25
    conv.set_weights([kernel, np.zeros(2, np.float32)])
    x = np.zeros((4, 3, 3, 1), np.float32)
    x[0, 0, 0, 0] = x[0, 0, 1, 0] = 1.0  # filter 0 at (0, 0): the near-tie; at (0, 1): a tie
    x[1, 1, 1, 0] = 1.0  # filter 0 at (1, 1): an exact tie; filter 1 at (0, 0): 0.25
    x[2, 2, 2, 0] = 1.0  # filter 0 at (2, 2): an exact tie
    reference = np.asarray(model.predict(x, verbose=0))
    assert reference[0, 0, 0, 0] == 1 and reference[1, 1, 1, 0] == 1
    result = _run_with(monkeypatch, deploy.to_spiking(model), x, density=density)
    np.testing.assert_array_equal(result.spikes["spikes"], reference)
    # The near-tie and the exact ties (the 2**-30 weight makes the grid too fine to
    # certify them) go to Keras; the 0.25 taps are certain.
    assert result.near_ties["spikes"] == int(reference[..., 0].sum())


def test_the_float32_screen_flags_every_decision_float64_would_not_certify():
    rng = np.random.default_rng(5)
    threshold = np.float32(0.5)
    for trial in range(20):
        n, width, out = 64, 200, 48
        first = trial % 2 == 0  # real-valued inputs, or 0/1 spikes
        x = (rng.random((n, width)) if first else rng.random((n, width)) < 0.3)
        x = x.astype(np.float32) * (rng.random((n, width)) < 0.4)
        w = rng.normal(0, 0.1, (width, out)).astype(np.float32)
        # Biases that put many exact sums within a few float32 ulps of the threshold.
        exact = x.astype(np.float64) @ w.astype(np.float64)
        b = (threshold - exact[0] + rng.normal(0, 1e-6, out)).astype(np.float32)
        v32 = x @ w + b
        v64 = exact + b.astype(np.float64)
        mass = np.abs(x.astype(np.float64)) @ np.abs(w.astype(np.float64)) + np.abs(b)
        events = np.count_nonzero(x, axis=1)
        uncertain = deploy.exactness.uncertain_decisions(v64, mass, events, 0.5, 0.0)
        layer = deploy.exactness.float32_screen(
            v32.copy(), np.abs(x).sum(axis=1), np.abs(w).max(), np.abs(b).max(), events,
            threshold)
        # Per neuron (as for Dense layers): each column's largest |w| and its |b|.
        per_neuron = deploy.exactness.float32_screen(
            v32.copy(), np.abs(x).sum(axis=1), np.abs(w).max(axis=0), np.abs(b), events,
            threshold)
        assert not (per_neuron & ~layer).any()  # tighter, never looser
        for flagged in (layer, per_neuron):
            assert uncertain.any() and flagged[0].all()  # row 0 sits at the threshold
            assert not (uncertain & ~flagged).any()
            settled = ~flagged
            np.testing.assert_array_equal((v32 >= threshold)[settled], (v64 >= 0.5)[settled])
            assert flagged.mean() < 0.25


# ----------------------------------------------------------------------------------------
# NIR
# ----------------------------------------------------------------------------------------
_SPIKING_KIND = {"lif": "LIF", "threshold": "Threshold", "li_threshold": "Threshold",
                 "cuba_lif": "CubaLIF"}


@pytest.mark.parametrize("neuron", ["lif", "threshold", "li_threshold", "cuba_lif"])
@pytest.mark.parametrize("which", ["dense_case", "conv_case", "towers_case"])
def test_nir_write_read_run_equals_keras(which, neuron, request, digits, tmp_path):
    case = request.getfixturevalue(which)
    net = case.net
    path = tmp_path / f"{which}.nir"
    # Spyx's flavour on conv maps warns (flatten='hwc' is Spyx's order; tests/test_deploy_nir.py)
    spyx_conv = neuron == "li_threshold" and which == "conv_case"
    with pytest.warns(UserWarning, match="flatten='hwc'") if spyx_conv else nullcontext():
        written = deploy.export_nir(net, path, neuron=neuron)
    assert written.check_types()  # NIR's own type check (also run when the graph is built)
    graph = nir.read(path)  # type-checked again on reading
    assert graph.check_types()
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    assert kinds["input"] == "Input" and kinds["output"] == "Output"
    # Spiking layers and pooling ORs are spiking nodes named after the Keras layers.
    assert {kinds[name] for name in net.layer_names} == {_SPIKING_KIND[neuron]}
    if neuron == "li_threshold":
        assert {kinds[f"{name}_li"] for name in net.layer_names} == {"LI"}
    assert len(graph.edges) == len(graph.nodes) - 1  # a chain
    # The round trip keeps every node and parameter, and the metadata.
    assert kinds == {name: type(node).__name__ for name, node in written.nodes.items()}
    assert sorted(graph.edges) == sorted(written.edges)
    for name, node in written.nodes.items():
        for field, value in vars(node).items():
            if isinstance(value, np.ndarray) and field not in ("input_type", "output_type"):
                np.testing.assert_array_equal(getattr(graph.nodes[name], field), value,
                                              err_msg=f"{name}.{field}")
    assert graph.metadata["neuron"] == neuron and graph.metadata["producer"] == "whetstone_lab"
    assert ("dt" in graph.metadata) == (neuron != "threshold")
    if neuron != "threshold":
        assert float(graph.metadata["dt"]) == 1e-4
    np.testing.assert_array_equal(graph.metadata["key"], net.key)

    result = deploy.run_nir(graph, digits.x_test)
    _assert_same_spikes(result.spikes, case.reference)
    np.testing.assert_array_equal(result.classes, case.reference["decode"].argmax(-1))
    # From the path too, with the key (and dt) read back from the metadata.
    np.testing.assert_array_equal(deploy.run_nir(str(path), digits.x_test[:20]).classes,
                                  result.classes[:20])
    # T steps: with tau = dt every neuron is a stateless threshold, so each step is Keras'.
    steps = deploy.run_nir(path, digits.x_test[:64], steps=3)
    assert steps.output.shape == (3, *result.output[:64].shape)
    for t in range(3):
        _assert_same_spikes({k: v[t] for k, v in steps.spikes.items()},
                            {k: np.asarray(v)[:64] for k, v in case.reference.items()})
    np.testing.assert_array_equal(steps.classes, result.classes[:64])


@pytest.mark.parametrize("density", [1.0, -1.0])
def test_a_conv_neurons_error_bound_counts_its_patch_not_the_sample(density, monkeypatch):
    # 2×2 kernels on a dense 12×12×2 input: each sample has up to 288 non-zero inputs, each
    # neuron's sum at most 8; the bound (and the screen) must use the 8.
    conv = keras.layers.Conv2D(3, 2, name="conv")
    model = _sequential((12, 12, 2), conv, wl.SpikingBReLU(1.0, name="spikes"))
    x = np.random.default_rng(0).random((5, 12, 12, 2)).astype(np.float32)
    seen = []

    def screen(v32, abs_sum, w_max, b_max, events, threshold):
        seen.append(np.asarray(events))
        return exactness.float32_screen(v32, abs_sum, w_max, b_max, events, threshold)

    monkeypatch.setattr(products, "float32_screen", screen)
    result = _run_with(monkeypatch, deploy.to_spiking(model), x, density=density)
    terms = np.concatenate(seen)
    assert terms.max() == 8 and terms.size == 5 * 11 * 11
    np.testing.assert_array_equal(result.spikes["spikes"],
                                  keras.ops.convert_to_numpy(model(x)))


def _sequential(input_shape, *layers):
    model = keras.Sequential([keras.Input(input_shape), *layers])
    return model


def test_conv_kernel_layout_and_same_padding_with_a_hand_made_2x2_conv(tmp_path):
    conv = keras.layers.Conv2D(2, 2, padding="same", name="conv")
    model = _sequential((3, 3, 2), conv, wl.SpikingBReLU(1.0, name="spikes"))
    kernel = np.zeros((2, 2, 2, 2), np.float32)
    kernel[0, 1, 1, 0] = 0.5  # tap (row 0, col 1), input channel 1 → output channel 0
    kernel[1, 0, 0, 1] = 0.25  # tap (row 1, col 0), input channel 0 → output channel 1
    kernel[1, 1, 0, 1] = 0.25
    conv.set_weights([kernel, np.array([0.0, 0.0], np.float32)])
    graph = deploy.export_nir(model, tmp_path / "conv.nir")
    node = graph.nodes["conv"]
    assert node.weight.shape == (2, 2, 2, 2)  # (cout, cin, kh, kw)
    assert node.weight[0, 1, 0, 1] == 0.5
    assert node.weight[1, 0, 1, 0] == 0.25 and node.weight[1, 0, 1, 1] == 0.25
    assert np.count_nonzero(node.weight) == 3
    assert node.padding == "same"  # even kernel: Keras pads after, NIR's 'same' too
    threshold = graph.nodes["spikes"].v_threshold
    assert threshold.shape == (2, 3, 3) and threshold.dtype == np.float32
    assert np.all(threshold == np.float32(0.49999997)) and np.all(threshold < 0.5)

    # Output (i, j) sums x[i + di, j + dj] over the taps; 'same' pads one row/column after.
    x = np.zeros((2, 3, 3, 2), np.float32)
    x[0, 0, 1, 1] = 1.0  # output (0, 0) sees it through tap (0, 1): 0.5 on channel 0
    x[1, 2, 0, 0] = 1.0  # output (1, 0) sees both through taps (1, 0), (1, 1):
    x[1, 2, 1, 0] = 1.0  # 0.25 + 0.25 = 0.5 exactly on channel 1; output (1, 1) only 0.25
    expected = np.zeros((2, 3, 3, 2), np.uint8)
    expected[0, 0, 0, 0] = 1
    expected[1, 1, 0, 1] = 1
    keras_out = keras.ops.convert_to_numpy(model(x))
    np.testing.assert_array_equal(keras_out, expected)
    result = deploy.to_spiking(model).run(x)
    np.testing.assert_array_equal(result.spikes["spikes"], expected)
    # Weights on a 1/4 grid: float32 sums are exact, so the exact tie needs no fallback.
    assert result.near_ties == {"spikes": 0}
    np.testing.assert_array_equal(deploy.run_nir(tmp_path / "conv.nir", x).spikes["spikes"],
                                  expected)


def test_flatten_after_conv_permutes_the_dense_rows_from_hwc_to_chw(tmp_path):
    conv = keras.layers.Conv2D(2, 1, name="conv")
    dense = keras.layers.Dense(12, name="dense")
    model = _sequential((2, 3, 1), conv, wl.SpikingBReLU(1.0, name="conv_spikes"),
                        keras.layers.Flatten(name="flatten"), dense,
                        wl.SpikingBReLU(1.0, name="spikes"))
    conv.set_weights([np.array([[[[1.0, -1.0]]]], np.float32), np.array([0.0, 1.0], np.float32)])
    # Output neuron k copies the k-th element of Keras' HWC flattening.
    dense.set_weights([np.eye(12, dtype=np.float32), np.zeros(12, np.float32)])
    graph = deploy.export_nir(model, tmp_path / "flat.nir")
    assert isinstance(graph.nodes["flatten"], nir.Flatten)
    np.testing.assert_array_equal(graph.nodes["flatten"].input_type["input"], [2, 2, 3])
    weight = graph.nodes["dense"].weight  # (out, in) with inputs in CHW order
    for h in range(2):
        for w in range(3):
            for c in range(2):
                hwc, chw = (h * 3 + w) * 2 + c, (c * 2 + h) * 3 + w
                assert weight[hwc, chw] == 1.0
    assert np.count_nonzero(weight) == 12
    rng = np.random.default_rng(0)
    x = (rng.random((16, 2, 3, 1)) < 0.5).astype(np.float32)
    keras_out = keras.ops.convert_to_numpy(model(x))
    assert 0 < keras_out.mean() < 1
    np.testing.assert_array_equal(deploy.run_nir(tmp_path / "flat.nir", x).spikes["spikes"],
                                  keras_out)
    np.testing.assert_array_equal(deploy.to_spiking(model).run(x).output, keras_out)


def test_dense_kernel_is_transposed_and_sigmoid_threshold_is_inclusive_at_zero():
    dense = keras.layers.Dense(2, name="dense")
    model = _sequential((3,), dense, wl.SpikingSigmoid(1.0, name="spikes"))
    kernel = np.array([[0.5, -0.5], [0.25, 0.0], [-0.75, 1.0]], np.float32)
    dense.set_weights([kernel, np.array([0.0, -0.5], np.float32)])
    graph = deploy.export_nir(model)
    np.testing.assert_array_equal(graph.nodes["dense"].weight, kernel.T)
    assert graph.nodes["spikes"].v_threshold[0] < 0.0  # nextafter(0, -inf): v > t ⇔ v >= 0
    x = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 1], [1, 1, 1], [0, 1, 0]], np.float32)
    expected = (x @ kernel + [0.0, -0.5] >= 0).astype(np.uint8)  # exact: dyadic weights
    assert expected[0, 0] == 1 and expected[2, 1] == 1  # ties at exactly 0 fire
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x)), expected)
    np.testing.assert_array_equal(deploy.to_spiking(model).run(x).output, expected)
    np.testing.assert_array_equal(deploy.run_nir(graph, x).output, expected)



@pytest.mark.parametrize("augmentation", [
    lambda: keras.layers.RandomTranslation(0.25, 0.25, fill_mode="constant", name="aug"),
    lambda: keras.layers.RandomRotation(0.2, name="aug"),
    lambda: keras.layers.RandomZoom(0.2, name="aug"),
    lambda: keras.layers.RandomFlip(name="aug"),
])
def test_an_augmentation_in_front_is_the_identity_at_inference(augmentation, tmp_path):
    """A network trained behind a random shift, turn, zoom or flip converts: the simulator
    and the NIR graph give Keras' inference spikes, which never see the augmentation."""
    keras.utils.set_random_seed(0)
    model = _sequential((8, 8, 1), augmentation(), keras.layers.Flatten(),
                        keras.layers.Dense(16, name="dense"), wl.SpikingBReLU(1.0, name="s"))
    x = np.random.default_rng(0).random((32, 8, 8, 1), dtype=np.float32)
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    moved = keras.ops.convert_to_numpy(model(x, training=True))
    assert not np.array_equal(moved, expected)  # the layer does move images in training
    assert 0 < expected.mean() < 1
    np.testing.assert_array_equal(deploy.to_spiking(model).run(x).output, expected)
    np.testing.assert_array_equal(deploy.run_nir(deploy.export_nir(model), x).output, expected)

def test_a_near_tie_is_resolved_like_keras_float32():
    # Exactly, 0.5 - 2**-30 < 0.5; in float32 the sum rounds to 0.5 and Keras fires.
    dense = keras.layers.Dense(1, name="dense")
    model = _sequential((2,), dense, wl.SpikingBReLU(1.0, name="spikes"))
    dense.set_weights([np.array([[0.5], [-(2.0**-30)]], np.float32), np.zeros(1, np.float32)])
    x = np.array([[1, 1], [1, 0], [0, 1]], np.float32)
    expected = np.asarray(model.predict(x, verbose=0))
    np.testing.assert_array_equal(expected[:, 0], [1, 1, 0])
    result = deploy.to_spiking(model).run(x)
    np.testing.assert_array_equal(result.output, expected)
    # Both the near-tie (row 0) and the exact tie (row 1) are resolved by Keras' op: with a
    # weight of 2**-30 the common grid is too fine to certify the exact tie.
    assert result.near_ties == {"spikes": 2}
    nir_result = deploy.run_nir(deploy.export_nir(model), x)
    np.testing.assert_array_equal(nir_result.output, expected)
    assert nir_result.near_ties == {"spikes": 2}


def test_a_near_tie_after_max_pooling_is_resolved_like_keras():
    conv, dense = keras.layers.Conv2D(2, 1, name="conv"), keras.layers.Dense(1, name="dense")
    model = _sequential((2, 2, 1), conv, wl.SpikingBReLU(1.0, name="conv_spikes"),
                        keras.layers.MaxPooling2D(2, name="pool"),
                        keras.layers.Flatten(name="flatten"), dense,
                        wl.SpikingBReLU(1.0, name="spikes"))
    conv.set_weights([np.ones((1, 1, 1, 2), np.float32), np.zeros(2, np.float32)])
    dense.set_weights([np.array([[0.5], [-(2.0**-30)]], np.float32), np.zeros(1, np.float32)])
    x = np.zeros((3, 2, 2, 1), np.float32)
    x[1, 0, 1, 0] = 1.0  # one pixel on: both channels spike, the OR passes them on
    x[2, 1, 1, 0] = 0.25  # too weak: nothing spikes
    reference = deploy.keras_spikes(model, x)
    np.testing.assert_array_equal(reference["spikes"][:, 0], [0, 1, 0])
    result = deploy.to_spiking(model).run(x)
    _assert_same_spikes(result.spikes, reference)
    assert result.near_ties == {"conv_spikes": 0, "spikes": 1}
    nir_result = deploy.run_nir(deploy.export_nir(model), x)
    _assert_same_spikes(nir_result.spikes, reference)
    assert nir_result.near_ties == {"conv_spikes": 0, "spikes": 1}


def test_run_nir_integrates_if_and_leaky_neurons_and_names_unknown_nodes():
    dense = keras.layers.Dense(3, name="dense")
    model = _sequential((2,), dense, wl.SpikingBReLU(1.0, name="spikes"))
    dense.set_weights([np.array([[0.5, 0.25, -1.0], [0.0, 0.25, 1.0]], np.float32),
                       np.array([0.0, 0.0, 0.5], np.float32)])
    x = np.array([[1, 0], [1, 1], [0, 1], [0, 0]], np.float32)
    expected = keras.ops.convert_to_numpy(model(x))
    np.testing.assert_array_equal(expected, [[1, 0, 0], [1, 1, 1], [0, 0, 1], [0, 0, 1]])
    graph = deploy.export_nir(model)  # LIF, dt = 1e-4
    dt = float(graph.metadata["dt"])
    threshold = graph.nodes["spikes"].v_threshold
    # IF with dt·r = 1: v = input at the first step, then it integrates (reset to 0 on a
    # spike), so the 0.25 inputs reach the threshold at the second step.
    graph.nodes["spikes"] = nir.IF(r=np.full(3, 1 / dt), v_threshold=threshold)
    np.testing.assert_array_equal(deploy.run_nir(graph, x).spikes["spikes"], expected)
    two = deploy.run_nir(graph, x, steps=2).spikes["spikes"]
    np.testing.assert_array_equal(two[0], expected)
    np.testing.assert_array_equal(two[1], [[1, 1, 0], [1, 1, 1], [0, 1, 1], [0, 0, 1]])
    # A leaky neuron with tau = 2·dt: v = (1 − 2⁻ᵏ)·input after k steps without a spike.
    ones, zeros = np.ones(3), np.zeros(3)
    graph.nodes["spikes"] = nir.LIF(tau=np.full(3, 2 * dt), r=ones, v_leak=zeros,
                                    v_threshold=threshold)
    x_leaky = np.array([[1.5, 0.0]], np.float32)  # inputs 0.75, 0.375, -1
    leaky = deploy.run_nir(graph, x_leaky, steps=3).spikes["spikes"][:, 0]
    # Neuron 0: v = 0.375, 0.5625 (spike, reset to 0), 0.375; neuron 1 stays below.
    np.testing.assert_array_equal(leaky, [[0, 0, 0], [1, 0, 0], [0, 0, 0]])
    # dt comes from the metadata; without it the runner asks for it.
    graph.metadata = {}
    with pytest.raises(ValueError, match=r"'spikes' \(LIF\).*dt"):
        deploy.run_nir(graph, x)
    np.testing.assert_array_equal(
        deploy.run_nir(graph, x_leaky, steps=3, dt=dt).spikes["spikes"][:, 0], leaky)
    # A node type the runner does not know is named, with the flavours that avoid it.
    graph.nodes["spikes"] = nir.Delay(delay=np.ones(3))
    with pytest.raises(ValueError, match="'spikes' of type Delay") as err:
        deploy.run_nir(graph, x)
    assert "'lif'" in str(err.value) and "'li_threshold'" in str(err.value)


def test_export_nir_and_run_nir_check_neuron_dt_and_steps():
    model = _sequential((3,), keras.layers.Dense(2, name="d"), wl.SpikingBReLU(1.0, name="s"))
    with pytest.raises(ValueError, match=r"neuron must be one of \('lif', 'threshold'"):
        deploy.export_nir(model, neuron="LIF")
    with pytest.raises(TypeError, match="neuron must be one of"):
        deploy.export_nir(model, neuron=None)
    with pytest.raises(ValueError, match="dt must be"):
        deploy.export_nir(model, dt=0.0)
    with pytest.warns(UserWarning, match="snnTorch 1.0.0 imports it with its fixed step"):
        assert deploy.export_nir(model, dt=1e-3).nodes["s"].tau[0] == 1e-3
    graph = deploy.export_nir(model)
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        deploy.run_nir(graph, x, steps=0)
    with pytest.raises(TypeError, match="steps must be"):
        deploy.run_nir(graph, x, steps=2.0)
    with pytest.raises(ValueError, match="dt must be"):
        deploy.run_nir(graph, x, dt=-1.0)


# ----------------------------------------------------------------------------------------
# Counts
# ----------------------------------------------------------------------------------------
def test_counts_match_formulas_on_a_tiny_dense_network():
    d1, d2 = keras.layers.Dense(3, name="d1"), keras.layers.Dense(2, name="d2")
    model = _sequential((4,), d1, wl.SpikingBReLU(1.0, name="s1"),
                        d2, wl.SpikingBReLU(1.0, name="s2"))
    d1.set_weights([np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], np.float32),
                    np.zeros(3, np.float32)])
    d2.set_weights([np.array([[1, 0], [1, 0], [0, 1]], np.float32),
                    np.array([-0.75, 0], np.float32)])  # d2 neuron 0 needs 2 spikes
    x = np.array([[0, 0, 0, 0], [1, 0, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 0, 2.0]], np.float32)
    result = deploy.to_spiking(model).run(x)
    s1 = (x @ d1.get_weights()[0] >= 0.5)
    np.testing.assert_array_equal(result.spikes["s1"], s1)
    np.testing.assert_array_equal(result.spike_counts["s1"], [0, 1, 2, 3])
    # First layer: each non-zero input feeds 3 neurons; later: each spike feeds 2.
    np.testing.assert_array_equal(result.synops["s1"], (x != 0).sum(1) * 3)
    np.testing.assert_array_equal(result.synops["s2"], s1.sum(1) * 2)
    counts = {c.name: c for c in result.counts}
    assert counts["s1"].dense_macs == 4 * 3 and counts["s2"].dense_macs == 3 * 2
    assert not counts["s1"].event_driven and counts["s2"].event_driven
    assert counts["s2"].synops == pytest.approx(np.mean(s1.sum(1) * 2))
    assert counts["s2"].input_events == pytest.approx(1.5)
    assert result.total_dense_macs == 18


def test_counts_match_formulas_on_a_tiny_conv_network():
    c1 = keras.layers.Conv2D(2, 1, name="c1")
    c2 = keras.layers.Conv2D(3, 3, padding="same", name="c2")
    model = _sequential((4, 4, 1), c1, wl.SpikingBReLU(1.0, name="s1"),
                        c2, wl.SpikingBReLU(1.0, name="s2"))
    c1.set_weights([np.array([[[[1.0, -1.0]]]], np.float32), np.array([0, 1], np.float32)])
    rng = np.random.default_rng(3)
    c2.set_weights([rng.normal(size=(3, 3, 2, 3)).astype(np.float32), np.zeros(3, np.float32)])
    x = (rng.random((5, 4, 4, 1)) < 0.4).astype(np.float32)
    result = deploy.to_spiking(model).run(x)
    s1 = result.spikes["s1"].astype(int)
    hidden = keras.ops.convert_to_numpy(model.layers[1](model.layers[0](x)))
    np.testing.assert_array_equal(s1, hidden)
    # A spike at (h, w) reaches every output whose 3×3 window covers it: the window-sums of
    # the spike map (zero padded) count the spikes each output receives, times 3 channels.
    padded = np.pad(s1.sum(-1), ((0, 0), (1, 1), (1, 1)))
    window = sum(padded[:, i:i + 4, j:j + 4] for i in range(3) for j in range(3))
    np.testing.assert_array_equal(result.synops["s2"], window.sum((1, 2)) * 3)
    # Dense MACs: in-bounds taps of a 3×3 'same' conv on 4×4 are (3·4 − 2)² = 100 per
    # (input channel, output channel) pair: 100 · 2 · 3.
    counts = {c.name: c for c in result.counts}
    assert counts["s2"].dense_macs == 600
    assert counts["s1"].dense_macs == 16 * 2
    table = result.summary(print_fn=None)
    assert "s2" in table and "600" in table and "total" in table


def test_summary_prints_the_table(dense_case, digits, capsys):
    table = dense_case.net.summary(digits.x_test[:10])
    assert table in capsys.readouterr().out
    assert all(name in table for name in ("spikes_0", "spikes_1", "spikes_2"))


# ----------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------
def test_a_model_that_is_not_fully_sharp_is_refused_naming_the_layers():
    model = wl.models.dense_classifier((8, 8, 1), hidden=(8, 8), neurons_per_class=2)
    wl.set_sharpness(model, [1.0, 0.5, 0.0])
    with pytest.raises(ValueError, match="not sharp") as err:
        deploy.to_spiking(model)
    assert "'spikes_1'" in str(err.value) and "'spikes_2'" in str(err.value)
    assert "'spikes_0'" not in str(err.value)


@pytest.mark.parametrize("bad, name", [
    (lambda: keras.layers.AveragePooling2D(2, name="avg"), "avg"),
    (lambda: keras.layers.Activation("relu", name="relu"), "relu"),
])
def test_unsupported_layers_are_named(bad, name):
    model = _sequential((4, 4, 1), keras.layers.Conv2D(2, 3, padding="same", name="c"),
                        wl.SpikingBReLU(1.0, name="s"), bad(), keras.layers.Flatten(),
                        keras.layers.Dense(4), wl.SpikingBReLU(1.0))
    with pytest.raises(ValueError, match=f"'{name}'"):
        deploy.to_spiking(model)


def test_an_lstm_is_refused_by_name():
    model = _sequential((5, 3), keras.layers.LSTM(4, name="lstm"), keras.layers.Dense(2),
                        wl.SpikingBReLU(1.0))
    with pytest.raises(ValueError, match=r"'lstm' \(LSTM\)"):
        deploy.to_spiking(model)


def test_structural_errors():
    relu_dense = _sequential((3,), keras.layers.Dense(2, activation="relu", name="d"),
                             wl.SpikingBReLU(1.0))
    with pytest.raises(ValueError, match="'d' has activation 'relu'"):
        deploy.to_spiking(relu_dense)
    no_spikes = _sequential((3,), keras.layers.Dense(2, name="d"))
    with pytest.raises(ValueError, match="no spiking layers"):
        deploy.to_spiking(no_spikes)
    no_neurons = _sequential((3,), keras.layers.Dense(2), wl.SpikingBReLU(1.0),
                             keras.layers.Flatten(), keras.layers.Dense(2, name="mid"),
                             keras.layers.Dense(2), wl.SpikingBReLU(1.0))
    with pytest.raises(ValueError, match="'mid' is followed by 'dense"):
        deploy.to_spiking(no_neurons)
    with pytest.raises(TypeError, match="Keras model"):
        deploy.to_spiking("model")
    with pytest.raises(ValueError, match="batch_size"):
        deploy.to_spiking(_sequential((3,), keras.layers.Dense(2), wl.SpikingBReLU(1.0)),
                      batch_size=0)


def test_bad_inputs_to_run_and_run_nir():
    model = _sequential((3,), keras.layers.Dense(2, name="d"), wl.SpikingBReLU(1.0, name="s"))
    net = deploy.to_spiking(model)
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        net.run(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="no SoftmaxDecode"):
        net.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        deploy.run_nir(deploy.export_nir(model), np.zeros((2, 5)))
    with pytest.raises(TypeError, match="NIRGraph"):
        deploy.run_nir(42, np.zeros((2, 3)))


def test_batch_size_is_checked_everywhere():
    model = _sequential((3,), keras.layers.Dense(2, name="d"), wl.SpikingBReLU(1.0, name="s"))
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match=r"batch_size must be an integer >= 1, or None.*2\.5"):
        deploy.to_spiking(model, batch_size=2.5)
    with pytest.raises(TypeError, match="batch_size"):
        deploy.to_spiking(model, batch_size=True)
    net = deploy.to_spiking(model, batch_size=None)
    assert net.batch_size is None
    with pytest.raises(ValueError, match="batch_size .* got -1"):
        net.run(x, batch_size=-1)
    with pytest.raises(TypeError, match="batch_size"):
        net.run(x, batch_size="all")
    with pytest.raises(ValueError, match="batch_size"):
        deploy.run_nir(deploy.export_nir(net), x, batch_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        deploy.keras_spikes(model, x, batch_size=0)


def test_run_checks_its_input_and_accepts_one_sample():
    model = _sequential((3,), keras.layers.Dense(2, name="d"), wl.SpikingBReLU(1.0, name="s"))
    net = deploy.to_spiking(model)
    with pytest.raises(TypeError, match="x must be a numeric array"):
        net.run("not samples")
    with pytest.raises(ValueError, match="x is empty"):
        net.run(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="finite"):
        net.run(np.full((1, 3), np.nan))
    one = net.run(np.array([1.0, 0.0, 0.0]))  # a single sample without its batch axis
    assert one.output.shape == (1, 2)


def test_functional_models_must_be_chains():
    inputs = keras.Input((3,))
    a = keras.layers.Dense(4, name="a")(inputs)
    left = wl.SpikingBReLU(1.0, name="left")(a)
    right = wl.SpikingBReLU(1.0, name="right")(a)
    branched = keras.Model(inputs, keras.layers.Add(name="add")([left, right]))
    with pytest.raises(ValueError, match="chains of layers"):
        deploy.to_spiking(branched)
    dense, spikes = keras.layers.Dense(3, name="twice"), wl.SpikingBReLU(1.0, name="sp")
    reused = keras.Model(inputs, spikes(dense(spikes(dense(inputs)))))
    with pytest.raises(ValueError, match="chains of layers"):
        deploy.to_spiking(reused)
    two_out = keras.Model(inputs, [left, right])
    with pytest.raises(ValueError, match="2 outputs"):
        deploy.to_spiking(two_out)
    # A plain functional chain converts and agrees with Keras.
    chain = keras.Model(inputs, wl.SpikingBReLU(1.0, name="s")(
        keras.layers.Dense(2, name="d")(inputs)))
    x = np.random.default_rng(0).random((8, 3)).astype(np.float32)
    expected = keras.ops.convert_to_numpy(chain(x))
    np.testing.assert_array_equal(deploy.to_spiking(chain).run(x).output, expected)


def test_keras_spikes_and_export_nir_check_their_arguments():
    model = _sequential((3,), keras.layers.Dense(2, name="d"), wl.SpikingBReLU(1.0, name="s"))
    x = np.zeros((2, 3), np.float32)
    assert list(deploy.keras_spikes(model, x)) == ["s"]  # default: the spiking layers
    with pytest.raises(ValueError, match="unknown: 'nope'"):
        deploy.keras_spikes(model, x, ["s", "nope"])
    with pytest.raises(TypeError, match="names must be a list"):
        deploy.keras_spikes(model, x, "s")
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        deploy.keras_spikes(model, np.zeros((2, 4)))
    with pytest.raises(TypeError, match="Keras model"):
        deploy.keras_spikes("model", x)
    with pytest.raises(TypeError, match="SpikingNetwork"):
        deploy.export_nir(42)
    with pytest.raises(TypeError, match="path must be a file path"):
        deploy.export_nir(model, 3.5)


# ----------------------------------------------------------------------------------------
# Reading files that are not NIR graphs
# ----------------------------------------------------------------------------------------
def test_run_nir_on_a_missing_path_names_it(tmp_path):
    missing = tmp_path / "missing.nir"
    with pytest.raises(FileNotFoundError, match="missing.nir"):
        deploy.run_nir(missing, np.zeros((1, 3)))
    with pytest.raises(FileNotFoundError, match="missing.nir"):
        deploy.run_nir(str(missing), np.zeros((1, 3)))


def _not_nir(tmp_path, kind):
    if kind == "text":
        path = tmp_path / "notes.nir"
        path.write_text("this is not a graph\n")
    elif kind == "npz":
        path = tmp_path / "arrays.npz"
        np.savez(path, a=np.arange(3))
    elif kind == "empty":
        path = tmp_path / "empty.nir"
        path.write_bytes(b"")
    elif kind == "hdf5":
        h5py = pytest.importorskip("h5py")
        path = tmp_path / "other.h5"
        with h5py.File(path, "w") as f:
            f["weights"] = np.arange(4.0)
    else:
        path = tmp_path / "folder.nir"
        path.mkdir()
    return path


@pytest.mark.parametrize("kind", ["text", "npz", "empty", "hdf5", "directory"])
def test_run_nir_on_a_file_that_is_not_a_nir_graph_names_it(kind, tmp_path):
    path = _not_nir(tmp_path, kind)
    with pytest.raises(ValueError, match=path.name) as err:
        deploy.run_nir(path, np.zeros((1, 3)))
    assert "NIR" in str(err.value)


# ----------------------------------------------------------------------------------------
# One result type
# ----------------------------------------------------------------------------------------
def test_the_simulator_and_the_nir_runner_return_the_same_result_type():
    dense = keras.layers.Dense(3, name="dense")
    model = _sequential((2,), dense, wl.SpikingBReLU(1.0, name="spikes"),
                        wl.SoftmaxDecode(np.eye(3, dtype=np.int8), name="decode"))
    dense.set_weights([np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32),
                       np.array([0.0, 0.0, 0.5], np.float32)])
    x = np.array([[1, 0], [0, 1], [0, 0]], np.float32)
    sim = deploy.to_spiking(model).run(x)
    ran = deploy.run_nir(deploy.export_nir(model), x)
    assert type(sim) is deploy.SpikingResult and type(ran) is deploy.SpikingResult
    for field in ("spikes", "output", "classes", "near_ties"):
        got, want = getattr(ran, field), getattr(sim, field)
        if isinstance(want, dict):
            assert list(got) == list(want)
            for name in want:
                np.testing.assert_array_equal(got[name], want[name])
        else:
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(sim.classes, [0, 1, 2])
    # Only the simulator counts.
    assert isinstance(sim.counts[0], deploy.LayerCounts) and sim.total_dense_macs == 6
    assert ran.counts is None and ran.spike_counts is None and ran.synops is None
    with pytest.raises(ValueError, match="no operation counts"):
        ran.summary(print_fn=None)
    with pytest.raises(ValueError, match="no operation counts"):
        _ = ran.total_synops


def test_the_public_api():
    assert set(deploy.__all__) == {"to_spiking", "SpikingNetwork", "SpikingResult",
                                   "LayerCounts", "keras_spikes", "spike_agreement",
                                   "export_nir", "run_nir", "energy_estimate",
                                   "EnergyEstimate", "CHIPS", "PROCESSORS"}
    for name in deploy.__all__:
        assert getattr(deploy, name).__doc__


def test_energy_estimate_charges_events_on_the_chip_and_macs_on_the_processor(dense_case,
                                                                             digits):
    result = dense_case.net.run(digits.x_test)
    counts = result.counts
    estimate = deploy.energy_estimate(result, chip="truenorth")
    assert estimate.first_layer_macs == counts[0].synops and not counts[0].event_driven
    assert estimate.synaptic_events == pytest.approx(sum(c.synops for c in counts[1:]))
    assert estimate.dense_macs == result.total_dense_macs
    chip, mac = deploy.CHIPS["truenorth"].joules, deploy.PROCESSORS["fp32_45nm"].joules
    assert estimate.spiking_joules == pytest.approx(
        counts[0].synops * mac + estimate.synaptic_events * chip)
    assert estimate.dense_joules == pytest.approx(result.total_dense_macs * mac)
    assert 0 < estimate.ratio == pytest.approx(estimate.spiking_joules / estimate.dense_joules)
    text = estimate.describe()
    assert "estimate" in text and "Merolla" in text and "Horowitz" in text
    with pytest.raises(ValueError, match="chip must be one of"):
        deploy.energy_estimate(result, chip="spinnaker")
    with pytest.raises(TypeError, match="result must be what SpikingNetwork.run returned"):
        deploy.energy_estimate(dense_case.net)


def test_spike_agreement_counts_every_layer_against_predict_in_chunks(conv_case, digits):
    net, x = conv_case.net, digits.x_test
    result = net.run(x)
    agreement = deploy.spike_agreement(net, x, result, chunk_size=100)
    assert list(agreement) == net.layer_names
    for name, (equal, total) in agreement.items():
        assert total == conv_case.reference[name].size and equal == total
    # A spike flipped in the result is found, in its layer.
    name = net.layer_names[1]
    total = agreement[name][1]
    result.spikes[name][7].flat[3] ^= 1
    assert deploy.spike_agreement(net, x, result)[name] == (total - 1, total)
    with pytest.raises(ValueError, match="result must be what net.run"):
        deploy.spike_agreement(net, x[:10], result)
