"""Datasets: generated scenes, noisy copies, and the online files (placed, offline, corrupt)."""

import gzip
import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest

from whetstone_lab import data

SMALL = {"n_train": 60, "n_test": 20}


# ----------------------------------------------------------------------------------------
# Names and options
# ----------------------------------------------------------------------------------------
def test_names_lists_offline_and_online():
    assert set(data.offline_names()) == {"digits", "shapes", "digit_scenes"}
    assert set(data.online_names()) == {"mnist", "fashion_mnist", "cifar10", "cifar100"}
    assert data.names() == sorted(data.offline_names() + data.online_names())


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown dataset 'mnsit'.*digit_scenes.*mnist"):
        data.load("mnsit")
    with pytest.raises(TypeError, match=r"name must be a dataset name.*got 3 \(int\)"):
        data.load(3)


def test_unknown_option_is_named():
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['sizee'\].*'size'"):
        data.load("shapes", sizee=32)
    with pytest.raises(TypeError, match=r"load\('digits'\) got unknown option\(s\) \['n_train'\]"):
        data.load("digits", n_train=10)


@pytest.mark.parametrize("options, error, message", [
    ({"n_train": 0}, ValueError, r"n_train must be an integer >= 1, got 0"),
    ({"n_train": -5}, ValueError, r"n_train must be an integer >= 1, got -5"),
    ({"n_test": 2.5}, TypeError, r"n_test must be an integer >= 1, got 2.5 \(float\)"),
    ({"n_train": 100.0}, TypeError, r"n_train must be an integer >= 1, got 100.0 \(float\)"),
    ({"n_train": "60"}, TypeError, r"n_train must be an integer >= 1, got '60' \(str\)"),
    ({"n_train": True}, TypeError, r"n_train must be an integer >= 1, got True \(bool\)"),
    ({"size": 8}, ValueError, r"size must be an integer >= 16 and <= 256, got 8"),
    ({"size": -32}, ValueError, r"size must be an integer >= 16 and <= 256, got -32"),
    ({"size": 32.0}, TypeError, r"size must be an integer"),
    ({"max_shapes": 0}, ValueError, r"max_shapes must be an integer >= 1 and <= 10, got 0"),
    ({"max_shapes": None}, TypeError, r"max_shapes must be an integer.*got None"),
    ({"n_train": 10**9}, ValueError, r"n_train × size² must be at most"),
    ({"seed": -1}, ValueError, r"seed must be an integer >= 0, got -1"),
    ({"seed": 1.5}, TypeError, r"seed must be an integer >= 0, got 1.5 \(float\)"),
    ({"noise": 1.5}, ValueError, r"noise must be a finite number >= 0 and <= 1, got 1.5"),
    ({"noise": -0.1}, ValueError, r"noise must be a finite number >= 0 and <= 1, got -0.1"),
    ({"noise": float("nan")}, ValueError, r"noise must be a finite number.*got nan"),
    ({"noise": float("inf")}, ValueError, r"noise must be a finite number.*got inf"),
    ({"noise": "lots"}, TypeError, r"noise must be a finite number.*got 'lots' \(str\)"),
    ({"noise": [0.1]}, TypeError, r"noise must be a finite number.*\(list\)"),
])
def test_bad_option_values(options, error, message):
    with pytest.raises(error, match=message):
        data.load("shapes", **{**SMALL, **options})


@pytest.mark.parametrize("options, error, message", [
    ({"scale": 0}, ValueError, r"scale must be an integer >= 1 and <= 8, got 0"),
    ({"scale": 2.0}, TypeError, r"scale must be an integer"),
    ({"size": 20, "scale": 3}, ValueError, r"size must be an integer >= 24 and <= 512, got 20"),
    ({"max_digits": 11}, ValueError, r"max_digits must be an integer >= 1 and <= 10, got 11"),
    ({"n_test": -1}, ValueError, r"n_test must be an integer >= 1, got -1"),
])
def test_bad_digit_scene_options(options, error, message):
    with pytest.raises(error, match=message):
        data.load("digit_scenes", **{**SMALL, **options})


def test_generators_check_their_options_when_called_directly():
    with pytest.raises(TypeError, match="n_train must be an integer"):
        data.scenes.shapes(n_train=1.0)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        data.scenes.digit_scenes(seed=-3)


# ----------------------------------------------------------------------------------------
# digits
# ----------------------------------------------------------------------------------------
def test_digits_canonical_split(digits):
    assert digits.x_train.shape == (1437, 8, 8, 1) and digits.x_test.shape == (360, 8, 8, 1)
    assert digits.x_train.dtype == np.float32
    assert digits.x_train.min() == 0.0 and digits.x_train.max() == 1.0
    # X/16 of 4-bit pixels: every value is a multiple of 1/16.
    assert np.allclose(digits.x_train * 16, np.round(digits.x_train * 16))
    assert np.bincount(digits.y_test).tolist() == [36, 36, 35, 37, 36, 37, 36, 36, 35, 36]
    assert digits.class_names == tuple("0123456789") and digits.masks_train is None


def test_noise_adds_clipped_deterministic_copies():
    a = data.load("digits", noise=0.3, seed=1)
    b = data.load("digits", noise=0.3, seed=1)
    c = data.load("digits", noise=0.3, seed=2)
    assert np.array_equal(a.x_train_noisy, b.x_train_noisy)
    assert not np.array_equal(a.x_train_noisy, c.x_train_noisy)
    assert a.x_test_noisy.shape == a.x_test.shape
    assert 0.0 <= a.x_train_noisy.min() and a.x_train_noisy.max() <= 1.0
    residual = a.x_train_noisy - a.x_train
    # Unclipped pixels (strictly inside (0, 1)) carry the Gaussian noise of σ = 0.3.
    inside = (a.x_train_noisy > 0) & (a.x_train_noisy < 1)
    assert 0.2 < residual[inside].std() < 0.35
    assert np.array_equal(a.x_train, data.load("digits").x_train)  # clean images untouched
    assert data.load("digits").x_train_noisy is None


# ----------------------------------------------------------------------------------------
# generated scenes
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["shapes", "digit_scenes"])
def test_scenes_are_deterministic(name):
    a, b = data.load(name, seed=3, **SMALL), data.load(name, seed=3, **SMALL)
    c = data.load(name, seed=4, **SMALL)
    for field in ("x_train", "x_test", "masks_train", "masks_test", "y_train"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert not np.array_equal(a.x_train, c.x_train)
    # The test set does not depend on the size of the training set.
    d = data.load(name, seed=3, n_train=10, n_test=20)
    assert np.array_equal(a.x_test, d.x_test)


@pytest.mark.parametrize("name, values", [("shapes", 4), ("digit_scenes", 11)])
def test_scene_shapes_and_ranges(name, values):
    ds = data.load(name, **SMALL)
    assert ds.kind == "segmentation"
    assert ds.x_train.shape == (60, 32, 32, 1) and ds.x_train.dtype == np.float32
    assert ds.masks_train.shape == (60, 32, 32) and ds.masks_test.shape == (20, 32, 32)
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert ds.masks_train.min() == 0 and ds.masks_train.max() < values
    assert ds.num_mask_classes == values and ds.mask_names[0] == "background"
    assert ds.input_shape == (32, 32, 1)
    # Every scene has at least one object.
    assert (ds.masks_train > 0).any(axis=(1, 2)).all()


def test_shape_masks_match_images():
    ds = data.load("shapes", **SMALL)
    # Background is exactly 0 and every shape is drawn with a grey level >= 0.5.
    assert np.array_equal(ds.masks_train > 0, ds.x_train[..., 0] > 0)
    assert ds.x_train[..., 0][ds.masks_train > 0].min() >= 0.5
    # The label is the class covering most pixels.
    for mask, label in zip(ds.masks_train, ds.y_train, strict=True):
        counts = [(mask == k + 1).sum() for k in range(3)]
        assert label == int(np.argmax(counts))


def test_shape_sizes_option():
    ds = data.load("shapes", n_train=5, n_test=5, size=48, max_shapes=1)
    assert ds.x_train.shape == (5, 48, 48, 1)
    # With one shape per scene, each mask holds exactly one class.
    assert all(len(np.unique(m)) == 2 for m in ds.masks_train)


def test_digit_scenes_are_made_of_split_digits():
    train, test = data.load("digit_scenes", **SMALL), data.load("digits")
    threshold = train.extras["ink_threshold"]
    # Ink above the threshold is exactly the mask; fainter pixels are background.
    assert np.array_equal(train.masks_train > 0, train.x_train[..., 0] >= threshold)
    for split, x_digits, y_digits in (("train", test.x_train, test.y_train),
                                      ("test", test.x_test, test.y_test)):
        images = getattr(train, f"x_{split}")[..., 0]
        masks = getattr(train, f"masks_{split}")
        for image, mask, places in zip(images, masks, train.extras[f"placements_{split}"],
                                       strict=True):
            rebuilt = np.zeros_like(image)
            rebuilt_mask = np.zeros_like(mask)
            for src, row, col in places[places[:, 0] >= 0]:
                big = np.kron(x_digits[src, ..., 0], np.ones((2, 2), np.float32))
                window = (slice(row, row + 16), slice(col, col + 16))
                rebuilt[window] = np.maximum(rebuilt[window], big)
                rebuilt_mask[window][big >= threshold] = y_digits[src] + 1
            # Each scene is exactly its placed digits from its own split, and nothing else.
            assert np.array_equal(rebuilt, image)
            assert np.array_equal(rebuilt_mask, mask)


# ----------------------------------------------------------------------------------------
# online datasets: files in Keras' formats, made small here
# ----------------------------------------------------------------------------------------
@pytest.fixture
def data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))

    def no_network(url, dest):
        raise OSError("network unreachable (test)")

    monkeypatch.setattr(data.files, "download", no_network)
    return tmp_path


def _rng_images(n, shape, seed):
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def write_mnist(folder, n_train=12, n_test=5):
    arrays = {"x_train": _rng_images(n_train, (28, 28), 0), "y_train": np.arange(n_train) % 10,
              "x_test": _rng_images(n_test, (28, 28), 1), "y_test": np.arange(n_test) % 10}
    np.savez(folder / "mnist.npz", **{k: np.asarray(v, np.uint8) for k, v in arrays.items()})
    return arrays


def _idx(array, magic):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def write_fashion(folder, n_train=9, n_test=4):
    sub = folder / "fashion-mnist"
    sub.mkdir()
    x_train, x_test = _rng_images(n_train, (28, 28), 2), _rng_images(n_test, (28, 28), 3)
    y_train, y_test = np.arange(n_train) % 10, np.arange(n_test) % 10
    for fname, array, magic in (("train-images-idx3-ubyte.gz", x_train, 2051),
                                ("train-labels-idx1-ubyte.gz", y_train, 2049),
                                ("t10k-images-idx3-ubyte.gz", x_test, 2051),
                                ("t10k-labels-idx1-ubyte.gz", y_test, 2049)):
        (sub / fname).write_bytes(_idx(np.asarray(array), magic))
    return x_train, y_train, x_test, y_test


def _add(tar, name, payload):
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


def _batch(n, seed, label_key="labels"):
    batch = {b"data": _rng_images(n, (3072,), seed),
             label_key.encode(): [int(i % 10) for i in range(n)],
             b"batch_label": b"test batch", b"filenames": [b"x.png"] * n}
    return batch, pickle.dumps(batch, protocol=2)


def write_cifar10(folder, n=3):
    batches = {}
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
            batches[name], payload = _batch(n, 10 + i)
            _add(tar, f"cifar-10-batches-py/{name}", payload)
    return batches


def write_cifar100(folder, n=4, fine_labels=None):
    meta = {b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)]}
    batches = {}
    with tarfile.open(folder / "cifar-100-python.tar.gz", "w:gz") as tar:
        for i, name in enumerate(("train", "test")):
            batch = {b"data": _rng_images(n, (3072,), 20 + i),
                     b"fine_labels": fine_labels or [int(99 - j) for j in range(n)],
                     b"coarse_labels": [int(j) for j in range(n)]}
            batches[name] = batch
            _add(tar, f"cifar-100-python/{name}", pickle.dumps(batch, protocol=2))
        _add(tar, "cifar-100-python/meta", pickle.dumps(meta, protocol=2))
    return batches


def test_placed_mnist_is_used_without_network(data_folder):
    arrays = write_mnist(data_folder)
    ds = data.load("mnist", verify=False)
    assert ds.x_train.shape == (12, 28, 28, 1) and ds.x_test.shape == (5, 28, 28, 1)
    assert ds.x_train.dtype == np.float32
    assert np.array_equal(ds.x_train[..., 0], arrays["x_train"] / np.float32(255))
    assert ds.y_test.tolist() == arrays["y_test"].tolist()


def test_placed_fashion_mnist(data_folder):
    x_train, y_train, x_test, y_test = write_fashion(data_folder)
    ds = data.load("fashion_mnist", verify=False)
    assert np.array_equal(ds.x_train[..., 0], x_train / np.float32(255))
    assert ds.y_train.tolist() == y_train.tolist() and ds.x_test.shape == (4, 28, 28, 1)
    assert ds.class_names[9] == "Ankle boot"


def test_placed_cifar10(data_folder):
    batches = write_cifar10(data_folder)
    ds = data.load("cifar10", verify=False)
    assert ds.x_train.shape == (15, 32, 32, 3) and ds.x_test.shape == (3, 32, 32, 3)
    # Channel-first rows become channels-last images.
    first = batches["data_batch_1"][b"data"][0]
    assert np.array_equal(ds.x_train[0, :, :, 0], first[:1024].reshape(32, 32) / np.float32(255))
    assert np.array_equal(ds.x_train[0, 0, 1], first[[1, 1025, 2049]] / np.float32(255))
    assert ds.y_train.tolist() == [0, 1, 2] * 5 and ds.class_names[0] == "airplane"


def test_placed_cifar100_fine_and_coarse(data_folder):
    write_cifar100(data_folder)
    fine = data.load("cifar100", verify=False)
    coarse = data.load("cifar100", verify=False, label_mode="coarse")
    assert fine.y_train.tolist() == [99, 98, 97, 96] and fine.num_classes == 100
    assert coarse.y_train.tolist() == [0, 1, 2, 3] and coarse.class_names[0] == "coarse0"
    with pytest.raises(ValueError, match=r"label_mode must be one of \('fine', 'coarse'\)"):
        data.load("cifar100", label_mode="medium")


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10", "cifar100"])
def test_offline_error_says_what_to_place_where(data_folder, name):
    with pytest.raises(data.DatasetUnavailableError) as info:
        data.load(name)
    message = str(info.value)
    for path in data.required_files(name):
        assert str(path) in message
    assert "WHETSTONE_DATA" in message and "digit_scenes" in message
    assert not list(data_folder.rglob("*.part"))  # nothing half-written is left behind


def test_no_download_when_told_not_to(data_folder, monkeypatch):
    calls = []
    monkeypatch.setattr(data.files, "download", lambda url, dest: calls.append(url))
    with pytest.raises(data.DatasetUnavailableError):
        data.load("mnist", download=False)
    assert calls == []


def test_download_is_verified_and_kept(data_folder, monkeypatch, tmp_path_factory):
    source = tmp_path_factory.mktemp("server")
    write_mnist(source)
    payload = (source / "mnist.npz").read_bytes()
    calls = []

    def fake_download(url, dest):
        calls.append(url)
        dest.write_bytes(payload)

    monkeypatch.setattr(data.files, "download", fake_download)
    # The fake file is not the published one: the checksum refuses it and nothing is kept.
    with pytest.raises(data.CorruptDatasetError, match="sha256"):
        data.load("mnist")
    assert not (data_folder / "mnist.npz").exists() and calls == [data.files.FILES["mnist"][0][1]]
    # With the fake file's own checksum published, it is downloaded once, then reused.
    digest = hashlib.sha256(payload).hexdigest()
    rel, url, algorithm, _ = data.files.FILES["mnist"][0]
    monkeypatch.setitem(data.files.FILES, "mnist", [(rel, url, algorithm, digest)])
    assert data.load("mnist").x_train.shape == (12, 28, 28, 1)
    assert data.load("mnist").x_test.shape == (5, 28, 28, 1)
    assert len(calls) == 2 and (data_folder / "mnist.npz").is_file()


def test_placed_file_with_wrong_checksum(data_folder):
    write_mnist(data_folder)
    with pytest.raises(data.CorruptDatasetError, match="truncated, corrupt or a different file"):
        data.load("mnist")  # verify=True by default


def _truncate(path, keep=0.5):
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])


@pytest.mark.parametrize("name, writer, fname", [
    ("mnist", write_mnist, "mnist.npz"),
    ("fashion_mnist", write_fashion, "fashion-mnist/train-images-idx3-ubyte.gz"),
    ("cifar10", write_cifar10, "cifar-10-python.tar.gz"),
    ("cifar100", write_cifar100, "cifar-100-python.tar.gz"),
])
def test_truncated_file_gives_a_clear_error(data_folder, name, writer, fname):
    writer(data_folder)
    _truncate(data_folder / fname)
    with pytest.raises(data.CorruptDatasetError, match=str(data_folder)):
        data.load(name, verify=False)


def test_idx_with_wrong_length_is_refused(data_folder):
    write_fashion(data_folder)
    path = data_folder / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-1]))  # a valid gzip whose data is one byte short
    with pytest.raises(data.CorruptDatasetError, match="header promises"):
        data.load("fashion_mnist", verify=False)


class _Boom:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickle_with_code_is_refused(data_folder, capsys):
    with tarfile.open(data_folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
            _add(tar, f"cifar-10-batches-py/{name}", pickle.dumps({b"data": _Boom()}))
    with pytest.raises(data.CorruptDatasetError, match="refusing to unpickle builtins.print"):
        data.load("cifar10", verify=False)
    assert "must never run" not in capsys.readouterr().out


def test_npz_with_pickled_objects_is_refused(data_folder):
    objects = np.array([{"a": 1}], dtype=object)
    np.savez(data_folder / "mnist.npz", x_train=objects, y_train=objects, x_test=objects,
             y_test=objects)
    with pytest.raises(data.CorruptDatasetError, match="not a readable mnist.npz"):
        data.load("mnist", verify=False)


def test_pixel_weights_balance_the_classes():
    masks = data.load("shapes", n_train=50, n_test=10).masks_train
    weights = data.pixel_weights(masks)
    assert weights.shape == masks.shape and weights.dtype == np.float32
    assert weights.mean() == pytest.approx(1.0, rel=1e-5)
    totals = [weights[masks == c].sum() for c in range(4)]
    assert np.allclose(totals, totals[0], rtol=1e-4)  # balance=1: equal total per class
    half = data.pixel_weights(masks, 0.5)
    assert half[masks == 0].mean() > weights[masks == 0].mean()  # background less discounted
    assert np.all(data.pixel_weights(masks, 0) == 1)


def test_pixel_weights_accepts_whole_float_and_bool_masks():
    masks = np.array([[0, 0, 0, 1]])
    expected = data.pixel_weights(masks)
    assert np.array_equal(data.pixel_weights(masks.astype(np.float32)), expected)
    assert np.array_equal(data.pixel_weights(masks.astype(bool)), expected)
    assert np.array_equal(data.pixel_weights(masks.astype(np.uint8)), expected)


@pytest.mark.parametrize("masks, balance, error, message", [
    (np.array([[0.5, 1.0]]), 1.0, ValueError, r"masks must hold whole numbers.*0.5"),
    (np.array([[np.nan, 1.0]]), 1.0, ValueError, r"masks must be finite"),
    (np.array([["a", "b"]]), 1.0, TypeError, r"masks must be a numeric array.*dtype <U1"),
    ("background", 1.0, TypeError, r"masks must be a numeric array, got 'background' \(str\)"),
    (None, 1.0, TypeError, r"masks must be a numeric array, got None"),
    ([[0, 1], [2]], 1.0, TypeError, r"masks must be a numeric array \(ragged"),
    (np.zeros((0, 2), int), 1.0, ValueError, r"masks must hold at least 1 sample"),
    (np.zeros((2, 0), int), 1.0, ValueError, r"masks must be a non-empty array.*\(2, 0\)"),
    (np.array(3), 1.0, ValueError, r"masks must be an array of samples"),
    (np.array([[-1, 0]]), 1.0, ValueError, r"masks must hold class indices from 0 to 65535, "
                                           r"got values from -1 to 0"),
    (np.array([[0, 10**12]]), 1.0, ValueError, r"masks must hold class indices from 0"),
    (np.zeros((2, 2), int), 1.5, ValueError, r"balance must be a finite number >= 0 and <= 1, "
                                             r"got 1.5"),
    (np.zeros((2, 2), int), -0.5, ValueError, r"balance must be .* got -0.5"),
    (np.zeros((2, 2), int), float("nan"), ValueError, r"balance must be a finite number.*nan"),
    (np.zeros((2, 2), int), True, TypeError, r"balance must be .* got True \(bool\)"),
    (np.zeros((2, 2), int), "1", TypeError, r"balance must be .* got '1' \(str\)"),
])
def test_pixel_weights_bad_input(masks, balance, error, message):
    with pytest.raises(error, match=message):
        data.pixel_weights(masks, balance)


# ----------------------------------------------------------------------------------------
# add_noise
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("x, sigma, seed, error, message", [
    ("images", 0.1, 0, TypeError, r"x must be a numeric array, got 'images' \(str\)"),
    (None, 0.1, 0, TypeError, r"x must be a numeric array, got None"),
    ([[0.1, 0.2], [0.3]], 0.1, 0, TypeError, r"x must be a numeric array \(ragged"),
    (np.array([0.1, np.nan]), 0.1, 0, ValueError, r"x must be finite, got 1 NaN"),
    (np.array([0, 128, 255], np.uint8), 0.1, 0, ValueError,
     r"x must hold images in \[0, 1\], got values from 0 to 255.*divid"),
    (np.array([-0.5, 0.5]), 0.1, 0, ValueError, r"x must hold images in \[0, 1\]"),
    (np.zeros(3), float("nan"), 0, ValueError, r"sigma must be a finite number.*got nan"),
    (np.zeros(3), -0.1, 0, ValueError, r"sigma must be a finite number >= 0 and <= 1, got -0.1"),
    (np.zeros(3), 2, 0, ValueError, r"sigma must be .* got 2"),
    (np.zeros(3), "0.1", 0, TypeError, r"sigma must be a finite number.*'0.1' \(str\)"),
    (np.zeros(3), None, 0, TypeError, r"sigma must be a finite number.*None"),
    (np.zeros(3), 0.1, "abc", TypeError, r"seed must be a non-negative integer.*'abc' \(str\)"),
    (np.zeros(3), 0.1, 0.5, TypeError, r"seed must be a non-negative integer.*0.5 \(float\)"),
    (np.zeros(3), 0.1, -1, ValueError, r"seed must be a non-negative integer.*-1 \(int\)"),
])
def test_add_noise_bad_input(x, sigma, seed, error, message):
    with pytest.raises(error, match=message):
        data.add_noise(x, sigma, seed=seed)


def test_add_noise_accepts_lists_and_generators():
    assert data.add_noise([[0.0, 1.0]], 0.0).tolist() == [[0.0, 1.0]]
    a = data.add_noise(np.full((3, 3), 0.5), 0.2, seed=np.random.default_rng(4))
    assert np.array_equal(a, data.add_noise(np.full((3, 3), 0.5), 0.2, seed=4))


# ----------------------------------------------------------------------------------------
# The data folder
# ----------------------------------------------------------------------------------------
def test_data_env_naming_a_file_is_a_clear_error(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "datasets.txt"
    not_a_folder.write_text("oops")
    monkeypatch.setenv(data.DATA_ENV, str(not_a_folder))
    pattern = rf"\$WHETSTONE_DATA is set to '{tmp_path}.*datasets.txt', which is a file, not a " \
              "folder"
    with pytest.raises(data.DatasetUnavailableError, match=pattern):
        data.load("mnist", download=False)
    with pytest.raises(data.DatasetUnavailableError, match=pattern):
        data.required_files("mnist")
    with pytest.raises(data.DatasetUnavailableError, match=pattern):
        data.data_dir()
    # Offline datasets do not need the folder, and an unknown name is still named.
    assert data.load("digits").x_train.shape == (1437, 8, 8, 1)
    with pytest.raises(ValueError, match="unknown dataset 'mnsit'.*WHETSTONE_DATA"):
        data.load("mnsit")


def test_data_folder_that_cannot_be_created(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("oops")
    monkeypatch.setenv(data.DATA_ENV, str(blocker / "data"))
    monkeypatch.setattr(data.files, "download", lambda url, dest: pytest.fail("no download"))
    with pytest.raises(data.DatasetUnavailableError,
                       match=rf"cannot create the data folder {blocker}.*WHETSTONE_DATA"):
        data.load("mnist")


@pytest.mark.parametrize("name, error, message", [
    ("digits", ValueError, r"'digits' is not an online dataset; online ones are \['cifar10'"),
    ("MNIST", ValueError, r"'MNIST' is not an online dataset"),
    (None, TypeError, r"name must be the name of an online dataset.*got None"),
])
def test_required_files_bad_name(name, error, message):
    with pytest.raises(error, match=message):
        data.required_files(name)


@pytest.mark.parametrize("options, error, message", [
    ({"download": "no"}, TypeError, r"download must be True or False, got 'no' \(str\)"),
    ({"verify": 0}, TypeError, r"verify must be True or False, got 0 \(int\)"),
    ({"noise": float("nan")}, ValueError, r"noise must be a finite number"),
    ({"seed": "0"}, TypeError, r"seed must be an integer"),
])
def test_bad_online_options_fail_before_any_file_is_looked_for(data_folder, options, error,
                                                               message):
    with pytest.raises(error, match=message):
        data.load("mnist", **options)


@pytest.mark.parametrize("label_mode, error", [("medium", ValueError), (1, TypeError),
                                               (None, TypeError)])
def test_bad_label_mode(data_folder, label_mode, error):
    with pytest.raises(error, match=r"label_mode must be one of \('fine', 'coarse'\), got"):
        data.load("cifar100", label_mode=label_mode)


# ----------------------------------------------------------------------------------------
# Placed files that are not what they claim to be (refused even with verify=False)
# ----------------------------------------------------------------------------------------
def _mnist_with(folder, **changes):
    arrays = {"x_train": _rng_images(12, (28, 28), 0), "y_train": np.arange(12) % 10,
              "x_test": _rng_images(5, (28, 28), 1), "y_test": np.arange(5) % 10}
    arrays = {k: np.asarray(v, np.uint8) for k, v in arrays.items()}
    np.savez(folder / "mnist.npz", **{**arrays, **changes})


def _cifar10_with(folder, batch):
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
            _add(tar, f"cifar-10-batches-py/{name}", pickle.dumps(batch, protocol=2))


def test_placed_mnist_with_labels_outside_the_classes(data_folder):
    _mnist_with(data_folder, y_test=np.array([0, 1, 10, 255, 10], np.uint8))
    with pytest.raises(data.CorruptDatasetError,
                       match=rf"{data_folder}.*mnist.npz: 3 label\(s\) of the test split are "
                             r"outside 0..9 \(the 10 classes\): 10, 255"):
        data.load("mnist", verify=False)


def test_placed_fashion_mnist_with_labels_outside_the_classes(data_folder):
    write_fashion(data_folder)
    path = data_folder / "fashion-mnist" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(_idx(np.array([0, 1, 2, 3, 4, 5, 6, 7, 12]), 2049))
    with pytest.raises(data.CorruptDatasetError,
                       match=r"train-labels-idx1-ubyte.gz: 1 label\(s\) of the train split.*: 12"):
        data.load("fashion_mnist", verify=False)


def test_placed_cifar_with_labels_outside_the_classes(data_folder):
    batch, _ = _batch(3, 0)
    batch[b"labels"] = [0, 10, -1]
    _cifar10_with(data_folder, batch)
    with pytest.raises(data.CorruptDatasetError,
                       match=r"cifar-10-python.tar.gz:cifar-10-batches-py/data_batch_1: 2 "
                             r"label\(s\) .* outside 0..9.*: -1, 10"):
        data.load("cifar10", verify=False)
    write_cifar100(data_folder, fine_labels=[99, 100, 3, 100])
    with pytest.raises(data.CorruptDatasetError,
                       match=r"cifar-100-python.tar.gz:train: 2 label\(s\) .* outside 0..99 "
                             r"\(the 100 classes\): 100\."):
        data.load("cifar100", verify=False)


@pytest.mark.parametrize("changes, message", [
    ({"x_train": np.zeros((12, 784), np.uint8)},
     r"the train split must hold images of shape \(n, 28, 28\), found \(12, 784\)"),
    ({"x_test": np.zeros((5, 28, 28), np.float32)}, r"images must be uint8, found float32"),
    ({"y_train": np.zeros(12, np.float64)}, r"labels of the train split must be integers, found "
                                            r"dtype float64"),
    ({"y_train": np.zeros((12, 1), np.uint8)}, r"has 12 images but labels of shape \(12, 1\)"),
    ({"y_test": np.zeros(4, np.uint8)}, r"has 5 images but labels of shape \(4,\)"),
    ({"x_test": np.zeros((0, 28, 28), np.uint8), "y_test": np.zeros(0, np.uint8)},
     r"the test split holds no images"),
])
def test_placed_mnist_with_wrong_shapes_or_dtypes(data_folder, changes, message):
    _mnist_with(data_folder, **changes)
    with pytest.raises(data.CorruptDatasetError, match=rf"mnist.npz: .*{message}"):
        data.load("mnist", verify=False)


def test_placed_fashion_mnist_with_wrong_image_size(data_folder):
    write_fashion(data_folder)
    path = data_folder / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(_idx(_rng_images(4, (32, 32), 0), 2051))
    with pytest.raises(data.CorruptDatasetError,
                       match=r"t10k-images-idx3-ubyte.gz: the test split must hold images of "
                             r"shape \(n, 28, 28\), found \(4, 32, 32\)"):
        data.load("fashion_mnist", verify=False)


@pytest.mark.parametrize("change, message", [
    ({b"data": np.zeros((3, 3072), np.float32)}, r"only numeric arrays|data must be uint8"),
    ({b"data": np.zeros((3, 1024), np.uint8)}, r"data must be uint8 of shape \(n, 3072\), got "
                                               r"uint8 \(3, 1024\)"),
    ({b"data": [1, 2, 3]}, r"data must be uint8 of shape \(n, 3072\), got list"),
    ({b"labels": [b"cat", b"dog", b"cat"]}, r"labels of this batch must be integers"),
    ({b"labels": [0, 1]}, r"has 3 images but labels of shape \(2,\)"),
    ({b"labels": [0, 1, 2**70]}, r"labels of this batch must be integers, found dtype object"),
])
def test_placed_cifar_with_wrong_contents(data_folder, change, message):
    batch, _ = _batch(3, 0)
    batch.update(change)
    _cifar10_with(data_folder, batch)
    with pytest.raises(data.CorruptDatasetError, match=message):
        data.load("cifar10", verify=False)


def test_placed_cifar100_with_wrong_label_names(data_folder):
    write_cifar100(data_folder)
    with tarfile.open(data_folder / "cifar-100-python.tar.gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}
    meta = {b"fine_label_names": [b"a"] * 5, b"coarse_label_names": [b"b"] * 20}
    members["cifar-100-python/meta"] = pickle.dumps(meta, protocol=2)
    with tarfile.open(data_folder / "cifar-100-python.tar.gz", "w:gz") as tar:
        for name, payload in members.items():
            _add(tar, name, payload)
    with pytest.raises(data.CorruptDatasetError,
                       match=r"cifar-100-python.tar.gz:meta lacks a list of 100 fine_label_names"):
        data.load("cifar100", verify=False)
    assert data.load("cifar100", verify=False, label_mode="coarse").num_classes == 20


def test_placed_file_that_is_not_an_npz(data_folder):
    np.save(data_folder / "mnist.npy", np.zeros(3))
    (data_folder / "mnist.npy").rename(data_folder / "mnist.npz")
    with pytest.raises(data.CorruptDatasetError, match="not a readable mnist.npz"):
        data.load("mnist", verify=False)


@pytest.mark.parametrize("name, writer", [("mnist", write_mnist), ("fashion_mnist", write_fashion),
                                          ("cifar10", write_cifar10)])
def test_files_that_decompress_too_far_are_refused(data_folder, monkeypatch, name, writer):
    writer(data_folder)
    monkeypatch.setattr(data.readers, "MAX_FILE_BYTES", 1000)  # stands for a decompression bomb
    with pytest.raises(data.CorruptDatasetError, match="would decompress to .* bytes, more than"):
        data.load(name, verify=False)


# ----------------------------------------------------------------------------------------
# Hostile pickles: refused early, without running code or expanding them
# ----------------------------------------------------------------------------------------
def _cifar10_payload(folder, payload):
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
            _add(tar, f"cifar-10-batches-py/{name}", payload)


def test_nested_shared_lists_are_refused_fast_and_small(data_folder):
    import time
    import tracemalloc

    row = [0] * 1000
    plane = [row] * 1000
    cube = [plane] * 1000  # 10⁹ numbers once expanded (8 GB as int64), a few kB pickled
    payload = pickle.dumps({b"data": cube, b"labels": [0]}, protocol=2)
    assert len(payload) < 10_000
    _cifar10_payload(data_folder, payload)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(data.CorruptDatasetError, match="more than 1,000,000 items"):
            data.load("cifar10", verify=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 10
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MiB used to refuse a {len(payload)} B pickle"


def test_deeply_nested_pickle_is_refused(data_folder):
    deep = [0]
    for _ in range(50):
        deep = [deep, deep]
    _cifar10_payload(data_folder, pickle.dumps({b"data": deep, b"labels": [0]}, protocol=2))
    with pytest.raises(data.CorruptDatasetError, match="nested more than 4 deep"):
        data.load("cifar10", verify=False)


def test_pickle_with_too_many_opcodes_is_refused(data_folder, monkeypatch):
    write_cifar10(data_folder)
    monkeypatch.setattr(data.readers, "MAX_PICKLE_OPS", 50)
    with pytest.raises(data.CorruptDatasetError, match="more than 50 opcodes"):
        data.load("cifar10", verify=False)


class _Evil:
    def __reduce__(self):
        return (_Evil, ())


# Hand-written pickles: each tries one way around the restrictions.
_HOSTILE = {
    # An object array: NumPy would trust its state (and can crash on a bad one).
    "object array": (pickle.dumps({b"data": np.array([1, "a"], dtype=object)}, protocol=2),
                     r"only numeric arrays are accepted, not dtype 'O8'"),
    # An array whose shape promises far more bytes than it holds.
    "lying shape": (b"\x80\x02}X\x04\x00\x00\x00datacnumpy.core.multiarray\n_reconstruct\n"
                    b"cnumpy\nndarray\nK\x00\x85C\x01b\x87R(K\x01J\x00\xca\x9a;\x85cnumpy\n"
                    b"dtype\nX\x02\x00\x00\x00u1\x89\x88\x87R(K\x03X\x01\x00\x00\x00|NNNJ\xff\xff"
                    b"\xff\xffJ\xff\xff\xff\xffK\x00tb\x89C\x03abctbs.",
                    r"needs 1000000000 bytes, found 3"),
    # _codecs.encode used to multiply data (hex doubles it at every call).
    "codec bomb": (b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x03\x00\x00\x00hex\x86R.",
                   r"_codecs.encode is only accepted to spell bytes"),
    # BUILD on a stand-in, to change how later files are read.
    "build on a global": (b"\x80\x02cnumpy\ndtype\nN}X\x07\x00\x00\x00resolveK\x01s\x86b.",
                          r"cannot read this batch safely"),
    # A class that is not allowed, built without REDUCE.
    "object opcode": (pickle.dumps(_Evil(), protocol=2), r"refusing to unpickle|opcode NEWOBJ"),
    "not a dict": (pickle.dumps([1, 2, 3], protocol=2), r"expected a pickled dict, got list"),
    "sets": (pickle.dumps({b"data": {1, 2}}, protocol=4), r"opcode EMPTY_SET"),
}


@pytest.mark.parametrize("kind", sorted(_HOSTILE))
def test_hostile_pickles_are_refused(data_folder, kind):
    payload, message = _HOSTILE[kind]
    _cifar10_payload(data_folder, payload)
    with pytest.raises(data.CorruptDatasetError, match=message):
        data.load("cifar10", verify=False)
    # Nothing was changed for the next file.
    write_cifar10(data_folder)
    assert data.load("cifar10", verify=False).x_train.shape == (15, 32, 32, 3)


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_cifar_pickles_of_any_protocol_read_the_same(data_folder, protocol):
    batch, _ = _batch(3, 0)
    batch[b"data"] = np.asfortranarray(batch[b"data"]) if protocol == 0 else batch[b"data"]
    _cifar10_with_protocol(data_folder, batch, protocol)
    ds = data.load("cifar10", verify=False)
    first = batch[b"data"][0]
    assert np.array_equal(ds.x_train[0, :, :, 0], first[:1024].reshape(32, 32) / np.float32(255))
    assert ds.y_train.tolist() == [0, 1, 2] * 5


def _cifar10_with_protocol(folder, batch, protocol):
    _cifar10_payload(folder, pickle.dumps(batch, protocol=protocol))


# ----------------------------------------------------------------------------------------
# The original IDX files: MNIST as its site publishes it, Fashion-MNIST in every spelling
# ----------------------------------------------------------------------------------------
def write_idx_set(folder, spelling="-", compress=True, n_train=7, n_test=3, seed=30):
    """Four small IDX files (labels, images; train, test) under the original names."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"train-labels": (np.arange(n_train) % 10, 2049),
              "train-images": (_rng_images(n_train, (28, 28), seed), 2051),
              "t10k-labels": ((np.arange(n_test) + 3) % 10, 2049),
              "t10k-images": (_rng_images(n_test, (28, 28), seed + 1), 2051)}
    raw = {}
    for stem, (array, magic) in arrays.items():
        name = data.files.idx_names(stem, magic)[0 if spelling == "-" else 2]
        blob = gzip.decompress(_idx(np.asarray(array), magic))
        raw[stem] = blob
        (folder / (name if compress else name[:-3])).write_bytes(
            gzip.compress(blob) if compress else blob)
    return arrays, raw


@pytest.mark.parametrize("sub, spelling, compress", [("", "-", True), ("", ".", False),
                                                     ("mnist", "-", False), ("mnist", ".", True)])
def test_placed_mnist_idx_files_in_any_spelling(data_folder, sub, spelling, compress):
    arrays, _ = write_idx_set(data_folder / sub, spelling, compress)
    ds = data.load("mnist", verify=False)
    assert ds.x_train.shape == (7, 28, 28, 1) and ds.x_test.shape == (3, 28, 28, 1)
    assert np.array_equal(ds.x_test[..., 0], arrays["t10k-images"][0] / np.float32(255))
    assert ds.y_test.tolist() == [3, 4, 5] and ds.class_names == data.DIGIT_NAMES


def test_mnist_idx_files_are_verified_by_their_decompressed_bytes(data_folder, monkeypatch):
    _, raw = write_idx_set(data_folder)
    # Not the published files: refused, naming the file and what to do.
    with pytest.raises(data.CorruptDatasetError,
                       match=r"train-labels-idx1-ubyte.gz: its decompressed bytes have sha256 "
                             r".* but the published file has .*verify=False"):
        data.load("mnist")
    # With these files' own hashes published, the same files pass, compressed or not.
    subfolders, files = data.files.IDX_FILES["mnist"]
    published = [(stem, magic, hashlib.sha256(raw[stem]).hexdigest()) for stem, magic, _ in files]
    monkeypatch.setitem(data.files.IDX_FILES, "mnist", (subfolders, published))
    assert data.load("mnist").y_train.tolist() == [0, 1, 2, 3, 4, 5, 6]
    path = data_folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(raw["t10k-images"][:-1] + b"\x00"))  # one pixel changed
    with pytest.raises(data.CorruptDatasetError, match="t10k-images-idx3-ubyte.gz: its "):
        data.load("mnist")


def test_mnist_npz_is_preferred_and_a_partial_idx_set_is_named(data_folder):
    write_idx_set(data_folder)
    write_mnist(data_folder)
    assert data.load("mnist", verify=False).x_train.shape == (12, 28, 28, 1)  # the npz
    (data_folder / "mnist.npz").unlink()
    (data_folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DatasetUnavailableError,
                       match=r"found the IDX file\(s\) .*train-labels.* but not:\n.*t10k-labels"):
        data.load("mnist")


def test_mnist_idx_of_the_wrong_kind_is_refused(data_folder):
    write_idx_set(data_folder, compress=False)
    # Images where the labels belong: the header says so.
    (data_folder / "train-labels-idx1-ubyte").write_bytes(
        (data_folder / "train-images-idx3-ubyte").read_bytes())
    with pytest.raises(data.CorruptDatasetError,
                       match="train-labels-idx1-ubyte does not start with the IDX header 2049"):
        data.load("mnist", verify=False)


def test_fashion_mnist_idx_files_in_any_spelling(data_folder, recwarn):
    arrays, _ = write_idx_set(data_folder / "fashion-mnist", ".", compress=False)
    ds = data.load("fashion_mnist", verify=False)
    assert ds.y_train.tolist() == list(range(7)) and ds.class_names[9] == "Ankle boot"
    assert not [w for w in recwarn if "uncompressed" in str(w.message)]
    # verify=True cannot check an uncompressed file by checksum, and says so.
    with pytest.warns(UserWarning, match="uncompressed; Fashion-MNIST's publishers list"):
        data.load("fashion_mnist")


def test_offline_mnist_message_names_the_idx_files(data_folder):
    with pytest.raises(data.DatasetUnavailableError,
                       match=r"(?s)mnist.npz.*or the dataset's four original IDX files in .*"
                             r"train-images-idx3-ubyte"):
        data.load("mnist", download=False)


def test_a_users_part_file_is_never_touched(data_folder):
    own = data_folder / "mnist.npz.part"
    own.write_text("my notes")
    with pytest.raises(data.DatasetUnavailableError):
        data.load("mnist")  # the download fails offline
    assert own.read_text() == "my notes"
    assert sorted(p.name for p in data_folder.iterdir()) == ["mnist.npz.part"]


def test_mnist_or_digits_stands_in_with_enlarged_digits_and_says_so(data_folder):
    ds = data.mnist_or_digits()
    small = data.load("digits")
    assert ds.name == "digits_28" and ds.x_train.shape == (1437, 28, 28, 1)
    assert "not placed" in ds.description and ds.y_test.tolist() == small.y_test.tolist()
    # Each pixel is a 3×3 block, inside a 2-pixel black border.
    np.testing.assert_array_equal(ds.x_test[:, 2:26:3, 2:26:3], small.x_test)
    np.testing.assert_array_equal(ds.x_test[:, 3:26:3, 4:26:3], small.x_test)
    assert not ds.x_train[:, :2].any() and not ds.x_train[:, :, 26:].any()
    sample = data.mnist_or_digits(sample=True, n_train=100, n_test=50)
    assert sample.x_train.shape[0] == 100 and sample.x_test.shape[0] == 50
    assert "a sample: 100 train / 50 test" in sample.description
    with pytest.raises(ValueError, match="n_train"):
        data.mnist_or_digits(n_train=0)


def test_mnist_or_digits_reads_placed_mnist(data_folder):
    write_idx_set(data_folder)
    ds = data.mnist_or_digits(sample=True, n_train=5, n_test=2, verify=False)
    assert ds.name == "mnist" and ds.x_train.shape == (5, 28, 28, 1)
    assert ds.y_test.tolist() == [3, 4]


def test_a_dataset_whose_arrays_disagree_in_length_is_refused():
    from dataclasses import replace

    ds = data.load("digits")
    with pytest.raises(ValueError, match=r"y_train has 1436 entries but x_train has 1437"):
        replace(ds, y_train=ds.y_train[:-1])
    with pytest.raises(ValueError, match=r"x_test_noisy has 3 entries but x_test has 360"):
        replace(ds, x_test_noisy=ds.x_test[:3])
    assert len(replace(ds, x_test=ds.x_test[:5], y_test=ds.y_test[:5]).x_test) == 5
