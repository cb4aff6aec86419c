"""Towers: the block-diagonal GroupedDense, the key of towers, and dense_classifier(towers=)."""

import keras
import numpy as np
import pytest

import whetstone_lab as wl
from whetstone_lab.grouped import GroupedDense, block_mask

numpy = keras.ops.convert_to_numpy  # any backend's tensors and variables


def test_block_mask_joins_each_block_of_inputs_to_its_block_of_units():
    mask = block_mask(6, 4, 2)
    np.testing.assert_array_equal(mask[:3, :2], 1)
    np.testing.assert_array_equal(mask[3:, 2:], 1)
    assert mask.sum() == 3 * 2 * 2
    np.testing.assert_array_equal(block_mask(3, 2, 1), np.ones((3, 2)))


@pytest.mark.parametrize("inputs, units, groups, word", [(5, 4, 2, "inputs"),
                                                          (4, 5, 2, "units")])
def test_block_mask_names_the_width_that_does_not_split(inputs, units, groups, word):
    with pytest.raises(ValueError, match=f"{word} \\({inputs if word == 'inputs' else units}\\)"):
        block_mask(inputs, units, groups)


def test_grouped_dense_checks_its_arguments():
    with pytest.raises(ValueError, match="units \\(5\\) must be a multiple of groups \\(2\\)"):
        GroupedDense(5, groups=2)
    with pytest.raises(ValueError, match="groups"):
        GroupedDense(4, groups=0)
    with pytest.raises(ValueError, match="inputs \\(5\\)"):
        GroupedDense(4, groups=2)(np.ones((1, 5), "float32"))


def test_grouped_dense_is_block_diagonal_and_stays_so_under_training():
    keras.utils.set_random_seed(0)
    layer = GroupedDense(6, groups=3, name="g")
    model = keras.Sequential([keras.Input((9,)), layer])
    mask = block_mask(9, 6, 3)
    kernel = numpy(layer.kernel)
    assert (kernel[mask == 0] == 0).all() and (kernel[mask == 1] != 0).all()
    x = np.random.default_rng(0).random((32, 9), dtype=np.float32)
    np.testing.assert_allclose(numpy(model(x)), x @ kernel + numpy(layer.bias), rtol=1e-6,
                               atol=1e-6)
    model.compile(keras.optimizers.AdamW(1e-2), "mse")
    model.fit(x, np.ones((32, 6), "float32"), epochs=3, verbose=0)
    trained = numpy(layer.kernel)
    assert (trained[mask == 0] == 0).all()  # no gradient, no decay: still exactly 0
    assert not np.allclose(trained, kernel)  # the blocks did learn
    # Each unit of group g hears only inputs of group g.
    x2 = x.copy()
    x2[:, 3:] = 0.0
    np.testing.assert_allclose(numpy(model(x2))[:, :2], numpy(model(x))[:, :2])


def test_grouped_dense_round_trips_through_config_and_keras_files(tmp_path):
    layer = GroupedDense(4, groups=2, use_bias=False)
    clone = GroupedDense.from_config(layer.get_config())
    assert clone.groups == 2 and clone.units == 4 and not clone.use_bias
    model = keras.Sequential([keras.Input((6,)), GroupedDense(4, groups=2)])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.layers[0], GroupedDense)
    x = np.ones((2, 6), "float32")
    np.testing.assert_allclose(numpy(loaded(x)), numpy(model(x)))


def test_make_key_with_groups_gives_each_block_its_share_of_every_class():
    key = wl.make_key(10, 300, groups=3, seed=5)
    assert key.shape == (10, 300)
    for g in range(3):
        np.testing.assert_array_equal(key[:, g * 100:(g + 1) * 100].sum(axis=1), 10)
    np.testing.assert_array_equal(key[:, :100], wl.make_key(10, 100, seed=5))
    np.testing.assert_array_equal(wl.make_key(10, 100, groups=1, seed=5),
                                  wl.make_key(10, 100, seed=5))
    with pytest.raises(ValueError, match="width \\(100\\) must be a multiple of groups"):
        wl.make_key(10, 100, groups=3)


def test_dense_classifier_towers_are_independent_copies_voting_through_one_key():
    model = wl.models.dense_classifier((8, 8, 1), hidden=(12, 6), neurons_per_class=2,
                                       towers=3)
    kinds = [(type(ly).__name__, ly.units) for ly in model.layers
             if isinstance(ly, keras.layers.Dense)]
    assert kinds == [("Dense", 36), ("GroupedDense", 18), ("GroupedDense", 60)]
    key = wl.layers.find_decoder(model).key
    for g in range(3):
        np.testing.assert_array_equal(np.asarray(key)[:, g * 20:(g + 1) * 20].sum(axis=1), 2)
    one = wl.models.dense_classifier((8, 8, 1), hidden=(12, 6), neurons_per_class=2, towers=1)
    assert not any(isinstance(ly, GroupedDense) for ly in one.layers)
    twin = wl.transforms.float_twin(model)
    assert isinstance(twin.get_layer("dense_1"), GroupedDense)
    with pytest.raises(ValueError, match="towers"):
        wl.models.dense_classifier(towers=0)


def test_decode_towers_decodes_each_block_with_its_own_key():
    key = wl.make_key(3, 12, groups=2, seed=2)
    rng = np.random.default_rng(0)
    spikes = (rng.random((20, 12)) < 0.4).astype(np.float32)
    each = wl.layers.decode_towers(spikes, key, 2)
    assert each.shape == (20, 2)
    np.testing.assert_array_equal(each[:, 0], wl.decode(spikes[:, :6], key[:, :6]))
    np.testing.assert_array_equal(each[:, 1], wl.decode(spikes[:, 6:], key[:, 6:]))
    np.testing.assert_array_equal(wl.layers.decode_towers(spikes, key, 1)[:, 0],
                                  wl.decode(spikes, key))
    with pytest.raises(ValueError, match="same multiple of towers \\(5\\)"):
        wl.layers.decode_towers(spikes, key, 5)
    with pytest.raises(ValueError, match="spikes: 11 neurons, the key 12 columns"):
        wl.layers.decode_towers(spikes[:, :11], key, 2)
    blocks = wl.layers.tower_blocks(spikes, key, 3)
    assert [(s.shape, k.shape) for s, k in blocks] == [((20, 4), (3, 4))] * 3
    np.testing.assert_array_equal(np.concatenate([k for _, k in blocks], axis=1), key)
