"""The online datasets, read from Keras' files: MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100.

Their files are placed in, or downloaded once to, the data folder (:mod:`.files`) and read
with the safe readers of :mod:`.readers`. Whatever the file, its images and labels are
checked against what the dataset holds (shapes, dtypes, label range), so a wrong or
damaged file is refused with a :class:`CorruptDatasetError` naming it, even with
``verify=False``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..validation import check_bool, check_choice
from .dataset import CorruptDatasetError, Dataset
from .files import FILES, IDX_FILES, fetch, find_idx, required_files
from .files import verify as verify_file
from .offline import DIGIT_NAMES
from .readers import read_idx, read_npz, read_tar_members, safe_unpickle

__all__ = ["CIFAR10_NAMES", "FASHION_NAMES", "mnist", "fashion_mnist", "cifar10", "cifar100"]

CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck")
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot")


def _images(x: np.ndarray, path: Path | str, shape: tuple[int, ...], what: str) -> np.ndarray:
    """uint8 images of ``shape`` to float32 in [0, 1], with a channel axis."""
    if x.dtype != np.uint8:
        raise CorruptDatasetError(f"{path}: images must be uint8, found {x.dtype}.")
    if x.ndim != len(shape) + 1 or x.shape[1:] != shape:
        raise CorruptDatasetError(
            f"{path}: {what} must hold images of shape (n, {', '.join(map(str, shape))}), "
            f"found {x.shape}; this is not the dataset's file."
        )
    x = x.astype(np.float32) / 255.0
    return x[..., None] if x.ndim == 3 else x


def _labels(y, path: Path | str, what: str, num_classes: int, count: int) -> np.ndarray:
    """``count`` integer labels in [0, num_classes) as int64."""
    try:
        array = np.asarray(y)
    except (TypeError, ValueError, OverflowError) as err:
        raise CorruptDatasetError(f"{path}: the labels of {what} are not numbers ({err}).") \
            from err
    if count == 0:
        raise CorruptDatasetError(f"{path}: {what} holds no images; the file is corrupt.")
    if array.ndim != 1 or len(array) != count:
        raise CorruptDatasetError(
            f"{path}: {what} has {count} images but labels of shape {array.shape}; the file "
            "is corrupt."
        )
    if array.dtype.kind not in "iu":
        raise CorruptDatasetError(
            f"{path}: the labels of {what} must be integers, found dtype {array.dtype}."
        )
    bad = (array < 0) | (array >= num_classes)
    if bad.any():
        values = np.unique(array[bad])
        shown = ", ".join(str(v) for v in values[:5]) + (", ..." if len(values) > 5 else "")
        raise CorruptDatasetError(
            f"{path}: {int(bad.sum())} label(s) of {what} are outside 0..{num_classes - 1} "
            f"(the {num_classes} classes): {shown}. The file is corrupt or not this dataset."
        )
    return array.astype(np.int64)


def _check_flags(download: object, verify: object) -> tuple[bool, bool]:
    return check_bool(download, "download"), check_bool(verify, "verify")


def _from_idx(name: str, paths: list[Path], verify: bool, class_names: tuple[str, ...],
              description: str) -> Dataset:
    """A dataset from its four IDX files (labels, images; train, then test)."""
    hashes = [sha for _, _, sha in IDX_FILES[name][1]]
    y_train, x_train, y_test, x_test = (
        read_idx(p, 2049 if i % 2 == 0 else 2051, hashes[i] if verify else None)
        for i, p in enumerate(paths)
    )
    return Dataset(
        name, _images(x_train, paths[1], (28, 28), "the train split"),
        _labels(y_train, paths[0], "the train split", 10, len(x_train)),
        _images(x_test, paths[3], (28, 28), "the test split"),
        _labels(y_test, paths[2], "the test split", 10, len(x_test)),
        class_names, description,
    )


_MNIST_DESCRIPTION = "MNIST handwritten digits, 28×28 grayscale, 60,000 train / 10,000 test"


def mnist(download: bool = True, verify: bool = True) -> Dataset:
    """MNIST: 60,000 train / 10,000 test digits of 28×28.

    Read from Keras' ``mnist.npz`` in the data folder if it is there, else from the four
    original IDX files (``train-images-idx3-ubyte`` …, gzip-compressed or not, also spelled
    ``train-images.idx3-ubyte``) in the data folder or its ``mnist/`` sub-folder, checked by
    the SHA-256 of their decompressed bytes; with neither placed, ``mnist.npz`` is downloaded.
    """
    download, verify = _check_flags(download, verify)
    npz = required_files("mnist")[0]
    idx = None if npz.is_file() else find_idx("mnist")
    if idx is not None:
        return _from_idx("mnist", idx, verify, DIGIT_NAMES, _MNIST_DESCRIPTION)
    (path,) = fetch("mnist", download, verify)
    x_train, y_train, x_test, y_test = read_npz(path, ("x_train", "y_train", "x_test",
                                                       "y_test"))
    return Dataset(
        "mnist", _images(x_train, path, (28, 28), "the train split"),
        _labels(y_train, path, "the train split", 10, len(x_train)),
        _images(x_test, path, (28, 28), "the test split"),
        _labels(y_test, path, "the test split", 10, len(x_test)),
        DIGIT_NAMES, _MNIST_DESCRIPTION,
    )


def fashion_mnist(download: bool = True, verify: bool = True) -> Dataset:
    """Fashion-MNIST from four IDX files: 60,000 train / 10,000 test clothes of 28×28.

    The files may be gzip-compressed (as published, checked by their published MD5) or not
    (then checked by their format only, with a warning when ``verify`` is on), under either
    spelling of their names (``train-images-idx3-ubyte`` or ``train-images.idx3-ubyte``).
    """
    download, verify = _check_flags(download, verify)
    paths = find_idx("fashion_mnist")
    if paths is None:
        paths = fetch("fashion_mnist", download, verify)
    elif verify:
        published = {Path(rel).name: (algorithm, digest)
                     for rel, _, algorithm, digest in FILES["fashion_mnist"]}
        for path in paths:
            if path.suffix == ".gz":
                gz_name = path.name.replace(".idx", "-idx")
                verify_file(path, *published[gz_name])
            else:
                warnings.warn(
                    f"{path} is uncompressed; Fashion-MNIST's publishers list checksums of the "
                    ".gz files only, so it was checked by its format alone. Place the .gz "
                    "file to have it verified, or load with verify=False to silence this.",
                    stacklevel=3,
                )
    return _from_idx("fashion_mnist", paths, False, FASHION_NAMES,
                     "Zalando's Fashion-MNIST, 28×28 grayscale clothing, 60,000 / 10,000")


def _cifar_batch(raw: bytes, source: str, label_key: str, num_classes: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    batch = safe_unpickle(raw, source)
    if "data" not in batch or label_key not in batch:
        raise CorruptDatasetError(f"{source} lacks 'data' or {label_key!r}; found {list(batch)}.")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3 * 32 * 32:
        found = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else \
            type(data).__name__
        raise CorruptDatasetError(f"{source}: data must be uint8 of shape (n, 3072), got {found}.")
    labels = _labels(batch[label_key], source, "this batch", num_classes, len(data))
    # Rows are stored channel-first (3 planes of 32×32); Keras' layout is channels-last.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels


def cifar10(download: bool = True, verify: bool = True) -> Dataset:
    """CIFAR-10 from its python-version archive: 50,000 train / 10,000 test of 32×32×3."""
    download, verify = _check_flags(download, verify)
    (path,) = fetch("cifar10", download, verify)
    folder = "cifar-10-batches-py/"
    train_names = [f"{folder}data_batch_{i}" for i in range(1, 6)]
    raw = read_tar_members(path, [*train_names, f"{folder}test_batch"])
    parts = [_cifar_batch(raw[n], f"{path}:{n}", "labels", 10) for n in train_names]
    x_test, y_test = _cifar_batch(raw[f"{folder}test_batch"], f"{path}:test_batch", "labels", 10)
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    return Dataset("cifar10", _images(x_train, path, (32, 32, 3), "the train split"), y_train,
                   _images(x_test, path, (32, 32, 3), "the test split"), y_test,
                   CIFAR10_NAMES, "CIFAR-10, 32×32 colour images, 10 classes, 50,000 / 10,000")


def cifar100(label_mode: str = "fine", download: bool = True, verify: bool = True) -> Dataset:
    """CIFAR-100 with its 100 ``"fine"`` or 20 ``"coarse"`` classes, 50,000 / 10,000."""
    label_mode = check_choice(label_mode, "label_mode", ("fine", "coarse"))
    download, verify = _check_flags(download, verify)
    num_classes = 100 if label_mode == "fine" else 20
    (path,) = fetch("cifar100", download, verify)
    folder = "cifar-100-python/"
    raw = read_tar_members(path, [f"{folder}train", f"{folder}test", f"{folder}meta"])
    key = f"{label_mode}_labels"
    x_train, y_train = _cifar_batch(raw[f"{folder}train"], f"{path}:train", key, num_classes)
    x_test, y_test = _cifar_batch(raw[f"{folder}test"], f"{path}:test", key, num_classes)
    meta = safe_unpickle(raw[f"{folder}meta"], f"{path}:meta")
    label_names = meta.get(f"{label_mode}_label_names")
    if not isinstance(label_names, list) or len(label_names) != num_classes or not all(
            isinstance(n, (bytes, str)) for n in label_names):
        raise CorruptDatasetError(
            f"{path}:meta lacks a list of {num_classes} {label_mode}_label_names.")
    names_ = tuple(n.decode("utf-8", "replace") if isinstance(n, bytes) else n
                   for n in label_names)
    return Dataset("cifar100", _images(x_train, path, (32, 32, 3), "the train split"), y_train,
                   _images(x_test, path, (32, 32, 3), "the test split"), y_test,
                   names_, f"CIFAR-100, 32×32 colour images, {len(names_)} {label_mode} classes")
