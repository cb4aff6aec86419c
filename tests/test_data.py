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


def test_unknown_option_is_named():
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['sizee'\].*'size'"):
        data.load("shapes", sizee=32)


@pytest.mark.parametrize("options, error", [
    ({"n_train": 0}, ValueError), ({"size": 8}, ValueError), ({"n_test": 2.5}, TypeError),
    ({"seed": -1}, ValueError), ({"noise": 1.5}, ValueError), ({"noise": "lots"}, TypeError),
])
def test_bad_option_values(options, error):
    with pytest.raises(error):
        data.load("shapes", **{**SMALL, **options})


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

    monkeypatch.setattr(data, "_download", no_network)
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


def write_cifar100(folder, n=4):
    meta = {b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)]}
    batches = {}
    with tarfile.open(folder / "cifar-100-python.tar.gz", "w:gz") as tar:
        for i, name in enumerate(("train", "test")):
            batch = {b"data": _rng_images(n, (3072,), 20 + i),
                     b"fine_labels": [int(99 - j) for j in range(n)],
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
    with pytest.raises(ValueError, match="label_mode must be 'fine' or 'coarse'"):
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
    monkeypatch.setattr(data, "_download", lambda url, dest: calls.append(url))
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

    monkeypatch.setattr(data, "_download", fake_download)
    # The fake file is not the published one: the checksum refuses it and nothing is kept.
    with pytest.raises(data.CorruptDatasetError, match="sha256"):
        data.load("mnist")
    assert not (data_folder / "mnist.npz").exists() and calls == [data._FILES["mnist"][0][1]]
    # With the fake file's own checksum published, it is downloaded once, then reused.
    digest = hashlib.sha256(payload).hexdigest()
    rel, url, algorithm, _ = data._FILES["mnist"][0]
    monkeypatch.setitem(data._FILES, "mnist", [(rel, url, algorithm, digest)])
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


@pytest.mark.parametrize("masks, balance", [
    (np.zeros((2, 2), np.float32), 1.0), (np.array([[-1, 0]]), 1.0), (np.zeros((0, 2), int), 1.0),
    (np.zeros((2, 2), int), 1.5), (np.zeros((2, 2), int), True)])
def test_pixel_weights_bad_input(masks, balance):
    with pytest.raises(ValueError, match="masks|balance"):
        data.pixel_weights(masks, balance)
