"""Datasets for the lessons: offline by default, online ones opt-in and cached (DESIGN.md §4).

Offline, always available (NumPy and scikit-learn only, deterministic from ``seed``):

* ``"digits"``: scikit-learn's 1,797 handwritten 8×8 digits, canonical split.
* ``"shapes"``: generated scenes of circles, squares and triangles with per-pixel masks.
* ``"digit_scenes"``: real digits, upscaled and placed on a larger canvas, with per-pixel masks.

Online, opt-in (Keras' file formats): ``"mnist"``, ``"fashion_mnist"``, ``"cifar10"``,
``"cifar100"``. A file already in the data folder (:func:`data_dir`) is used without any
network; otherwise it is downloaded there once and checked against its published checksum.

Every dataset accepts ``noise=σ``: Gaussian noise of standard deviation σ, clipped to
[0, 1], is added to copies of the images (``x_train_noisy``, ``x_test_noisy``), for
denoising autoencoders.

Example:
    >>> ds = load("shapes", n_train=100, n_test=20, seed=1)
    >>> ds.x_train.shape, ds.masks_train.shape
    ((100, 32, 32, 1), (100, 32, 32))
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import numbers
import os
import pickle
import tarfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "Dataset",
    "DatasetUnavailableError",
    "CorruptDatasetError",
    "load",
    "names",
    "offline_names",
    "online_names",
    "data_dir",
    "required_files",
    "add_noise",
    "pixel_weights",
]

#: Environment variable naming a folder of dataset files (overrides the repository's data/).
DATA_ENV = "WHETSTONE_DATA"


class DatasetUnavailableError(FileNotFoundError):
    """An online dataset is neither in the data folder nor downloadable right now."""


class CorruptDatasetError(ValueError):
    """A dataset file is truncated, corrupt, has the wrong checksum or an unsafe content."""


@dataclass(frozen=True)
class Dataset:
    """A dataset split into train and test arrays.

    Attributes:
        name: the name it was loaded by.
        x_train, y_train, x_test, y_test: images ``(n, height, width, channels)`` in [0, 1]
            (float32) and integer class labels (int64). For scenes the label is the class of
            the object covering most pixels.
        class_names: names of the classes of ``y``, where there are classes.
        description: one line saying what this is.
        extras: anything else a dataset offers (e.g. where each digit of a scene came from).
        kind: ``"classification"`` or ``"segmentation"`` (the latter has masks).
        masks_train, masks_test: per-pixel integer masks ``(n, height, width)`` (int64):
            0 is background, ``k ≥ 1`` is ``mask_names[k]``; None without masks.
        mask_names: names of the mask values, background first.
        x_train_noisy, x_test_noisy: noisy copies of the images when loaded with ``noise=``.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...] = ()
    description: str = ""
    extras: dict = field(default_factory=dict)
    kind: str = "classification"
    masks_train: np.ndarray | None = None
    masks_test: np.ndarray | None = None
    mask_names: tuple[str, ...] = ()
    x_train_noisy: np.ndarray | None = None
    x_test_noisy: np.ndarray | None = None

    @property
    def num_classes(self) -> int:
        """Number of classes of the labels ``y``."""
        return len(self.class_names)

    @property
    def num_mask_classes(self) -> int:
        """Number of mask values, background included (0 without masks)."""
        return len(self.mask_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one image, e.g. ``(8, 8, 1)``."""
        return tuple(self.x_train.shape[1:])

    def __repr__(self) -> str:
        masks = f", masks of {self.num_mask_classes} values" if self.masks_train is not None else ""
        return (f"Dataset({self.name!r}: train {self.x_train.shape}, test {self.x_test.shape}, "
                f"{self.num_classes} classes{masks} — {self.description})")


# ----------------------------------------------------------------------------------------
# Option checking
# ----------------------------------------------------------------------------------------
def _int_option(value, name: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}.")
    if value < low or (high is not None and value > high):
        span = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {span}, got {value}.")
    return int(value)


def _check_options(name: str, options: dict, accepted: dict) -> dict:
    """Merge ``options`` into the defaults ``accepted``; unknown keys are a TypeError."""
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"load({name!r}) got unknown option(s) {unknown}; it accepts {sorted(accepted)}."
        )
    return {**accepted, **options}


def add_noise(x: np.ndarray, sigma: float, seed=0) -> np.ndarray:
    """``x`` plus Gaussian noise of standard deviation ``sigma``, clipped to [0, 1].

    Args:
        x: images in [0, 1].
        sigma: noise standard deviation, in [0, 1].
        seed: seed of the noise (anything ``np.random.default_rng`` accepts); the same seed
            gives the same noise.

    Example:
        >>> add_noise(np.zeros((2, 2)), 0.0).tolist()
        [[0.0, 0.0], [0.0, 0.0]]
    """
    if isinstance(sigma, bool) or not isinstance(sigma, (numbers.Real, np.generic)):
        raise TypeError(f"noise must be a number in [0, 1], got {sigma!r}.")
    if not 0.0 <= float(sigma) <= 1.0:
        raise ValueError(f"noise must be in [0, 1] (a standard deviation), got {sigma!r}.")
    rng = np.random.default_rng(seed)
    noisy = x + rng.normal(0.0, float(sigma), size=x.shape)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def pixel_weights(masks: np.ndarray, balance: float = 1.0) -> np.ndarray:
    """Per-pixel loss weights that stop background from winning a segmentation loss.

    ``w(pixel) ∝ frequency(class of the pixel) ** -balance``, scaled so the weights average 1
    over ``masks``. Background covers ~85 % of a scene: unweighted, "background everywhere"
    is a cheap optimum, and the foreground output neurons of a bounded ReLU, pushed below
    0, stop receiving any gradient. ``balance=1`` gives every class the same total weight;
    ``balance=0`` weighs every pixel 1. Pass the result as ``sample_weight`` to ``fit``.

    Args:
        masks: integer masks ``(n, height, width)``, values ≥ 0.
        balance: exponent in [0, 1].

    Example:
        >>> pixel_weights(np.array([[0, 0, 0, 1]])).round(3).tolist()  # each class totals 2
        [[0.667, 0.667, 0.667, 2.0]]
    """
    masks = np.asarray(masks)
    if not np.issubdtype(masks.dtype, np.integer) or masks.size == 0 or masks.min() < 0:
        raise ValueError(f"masks must be a non-empty array of integer class indices ≥ 0, got "
                         f"dtype {masks.dtype} and shape {masks.shape}.")
    if isinstance(balance, bool) or not isinstance(balance, (numbers.Real, np.generic)) \
            or not 0.0 <= float(balance) <= 1.0:
        raise ValueError(f"balance must be a number in [0, 1], got {balance!r}.")
    counts = np.bincount(masks.ravel()).astype(np.float64)
    weight = np.zeros_like(counts)
    present = counts > 0
    weight[present] = (counts[present] / masks.size) ** -float(balance)
    w = weight[masks]
    return (w / w.mean()).astype(np.float32)


# ----------------------------------------------------------------------------------------
# Offline: digits
# ----------------------------------------------------------------------------------------
def _digit_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The canonical digits split: X/16, 80/20 stratified, random_state=0."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=0, stratify=y
    )
    return x_train.reshape(-1, 8, 8, 1), y_train, x_test.reshape(-1, 8, 8, 1), y_test


def _digits() -> Dataset:
    x_train, y_train, x_test, y_test = _digit_arrays()
    return Dataset(
        "digits", x_train, y_train, x_test, y_test,
        tuple(str(i) for i in range(10)),
        "scikit-learn's 1,797 handwritten 8×8 digits, canonical 80/20 stratified split",
    )


# ----------------------------------------------------------------------------------------
# Offline: generated shape scenes
# ----------------------------------------------------------------------------------------
SHAPE_NAMES = ("circle", "square", "triangle")


@functools.lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (row, column) of a ``size × size`` canvas."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    return yy, xx


def _shape_mask(kind: int, size: int, radius: float, cy: float, cx: float) -> np.ndarray:
    """Boolean mask of one shape on a ``size × size`` grid."""
    yy, xx = _grid(size)
    dy, dx = yy - cy, xx - cx
    if kind == 0:  # circle
        return dy**2 + dx**2 <= radius**2
    if kind == 1:  # axis-aligned square of half-side r·0.85 (about a circle's area)
        half = 0.85 * radius
        return (np.abs(dy) <= half) & (np.abs(dx) <= half)
    # Upward isosceles triangle: apex at the top, base at the bottom.
    top, bottom = cy - radius, cy + radius
    t = (yy - top) / (bottom - top)  # 0 at the apex, 1 at the base
    return (t >= 0) & (t <= 1) & (np.abs(dx) <= 1.2 * t * radius)


def _scene_labels(masks: np.ndarray, num_classes: int) -> np.ndarray:
    """Class (0-based) of the object covering most pixels of each mask."""
    counts = np.stack([(masks == k + 1).sum(axis=(1, 2)) for k in range(num_classes)], axis=1)
    return counts.argmax(axis=1).astype(np.int64)


def _shape_scenes(n: int, size: int, max_shapes: int, rng: np.random.Generator):
    images = np.zeros((n, size, size), np.float32)
    masks = np.zeros((n, size, size), np.int64)
    r_low, r_high = size / 10.0, size / 5.0
    for i in range(n):
        blocked = np.zeros((size, size), bool)
        for _ in range(rng.integers(1, max_shapes + 1)):
            for _attempt in range(20):  # shapes do not overlap; give up on a crowded canvas
                kind = int(rng.integers(0, 3))
                radius = rng.uniform(r_low, r_high)
                cy, cx = rng.uniform(radius + 1, size - radius - 1, size=2)
                shape = _shape_mask(kind, size, radius, cy, cx)
                if shape.any() and not (shape & blocked).any():
                    break
            else:
                continue
            blocked |= _grow(shape)  # keep a background gap between shapes
            images[i][shape] = rng.uniform(0.5, 1.0)  # one grey level per shape
            masks[i][shape] = kind + 1
    return images[..., None], masks


def _grow(mask: np.ndarray) -> np.ndarray:
    """``mask`` dilated by one pixel, so that shapes keep a gap of background between them."""
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def _shapes(n_train: int = 2000, n_test: int = 500, size: int = 32, max_shapes: int = 3,
            seed: int = 0) -> Dataset:
    n_train = _int_option(n_train, "n_train", 1)
    n_test = _int_option(n_test, "n_test", 1)
    size = _int_option(size, "size", 16, 256)
    max_shapes = _int_option(max_shapes, "max_shapes", 1, 10)
    # Separate streams for train and test: changing n_train does not change the test set.
    train_rng, test_rng = (np.random.default_rng([seed, k]) for k in (0, 1))
    x_train, m_train = _shape_scenes(n_train, size, max_shapes, train_rng)
    x_test, m_test = _shape_scenes(n_test, size, max_shapes, test_rng)
    return Dataset(
        "shapes", x_train, _scene_labels(m_train, 3), x_test, _scene_labels(m_test, 3),
        SHAPE_NAMES,
        f"generated {size}×{size} scenes of 1–{max_shapes} circles, squares and triangles, "
        "per-pixel masks",
        kind="segmentation", masks_train=m_train, masks_test=m_test,
        mask_names=("background", *SHAPE_NAMES),
    )


# ----------------------------------------------------------------------------------------
# Offline: digit scenes
# ----------------------------------------------------------------------------------------
#: A pixel of an upscaled digit belongs to the digit's mask when its ink is at least this.
INK_THRESHOLD = 0.25


def _digit_scenes_split(digits: np.ndarray, labels: np.ndarray, n: int, size: int, scale: int,
                        max_digits: int, rng: np.random.Generator):
    patch = 8 * scale
    images = np.zeros((n, size, size), np.float32)
    masks = np.zeros((n, size, size), np.int64)
    placements = np.full((n, max_digits, 3), -1, np.int64)  # (source index, row, col)
    big = np.kron(digits[..., 0], np.ones((scale, scale), np.float32))  # nearest upscaling
    inks = big >= INK_THRESHOLD
    for i in range(n):
        blocked = np.zeros((size, size), bool)
        for j in range(rng.integers(1, max_digits + 1)):
            # Up to 10 candidate (digit, position) draws; the first whose ink does not touch
            # earlier digits wins, and a crowded canvas simply gets fewer digits.
            sources = rng.integers(0, len(digits), size=10)
            corners = rng.integers(0, size - patch + 1, size=(10, 2))
            for src, (row, col) in zip(sources.tolist(), corners.tolist(), strict=True):
                ink = inks[src]
                window = (slice(row, row + patch), slice(col, col + patch))
                if not np.logical_and(blocked[window], ink).any():
                    break
            else:
                continue
            blocked[window] |= _grow(ink)
            images[i][window] = np.maximum(images[i][window], big[src])
            masks[i][window][ink] = labels[src] + 1
            placements[i, j] = (src, row, col)
    return images[..., None], masks, placements


def _digit_scenes(n_train: int = 2000, n_test: int = 500, size: int = 32, scale: int = 2,
                  max_digits: int = 3, seed: int = 0) -> Dataset:
    n_train = _int_option(n_train, "n_train", 1)
    n_test = _int_option(n_test, "n_test", 1)
    scale = _int_option(scale, "scale", 1, 8)
    size = _int_option(size, "size", 8 * scale, 512)
    max_digits = _int_option(max_digits, "max_digits", 1, 10)
    x_tr, y_tr, x_te, y_te = _digit_arrays()
    train_rng, test_rng = (np.random.default_rng([seed, k]) for k in (0, 1))
    # Train scenes draw only on train digits, test scenes only on test digits.
    x_train, m_train, p_train = _digit_scenes_split(x_tr, y_tr, n_train, size, scale,
                                                    max_digits, train_rng)
    x_test, m_test, p_test = _digit_scenes_split(x_te, y_te, n_test, size, scale,
                                                 max_digits, test_rng)
    digit_names = tuple(str(i) for i in range(10))
    return Dataset(
        "digit_scenes", x_train, _scene_labels(m_train, 10), x_test, _scene_labels(m_test, 10),
        digit_names,
        f"1–{max_digits} real digits upscaled ×{scale} on a {size}×{size} canvas, per-pixel "
        "digit masks",
        extras={"placements_train": p_train, "placements_test": p_test, "scale": scale,
                "ink_threshold": INK_THRESHOLD},
        kind="segmentation", masks_train=m_train, masks_test=m_test,
        mask_names=("background", *digit_names),
    )


# ----------------------------------------------------------------------------------------
# Online datasets: where files live, download, checksum
# ----------------------------------------------------------------------------------------
_KERAS_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

#: (relative path in the data folder, URL, hash algorithm, published hash) per file.
_FILES: dict[str, list[tuple[str, str, str, str]]] = {
    "mnist": [
        ("mnist.npz", _KERAS_BASE + "mnist.npz", "sha256",
         "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
    ],
    "fashion_mnist": [
        (f"fashion-mnist/{fname}", _KERAS_BASE + fname, "md5", md5)
        for fname, md5 in (
            ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
            ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
            ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        )
    ],
    "cifar10": [
        ("cifar-10-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
         "sha256", "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),
    ],
    "cifar100": [
        ("cifar-100-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
         "sha256", "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"),
    ],
}


def data_dir() -> Path:
    """The folder of dataset files: ``$WHETSTONE_DATA`` if set, else the repository's data/.

    Outside a source checkout (no data/ next to the package) it is
    ``~/.cache/whetstone_lab/data``.
    """
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    repo_data = Path(__file__).resolve().parent.parent / "data"
    if repo_data.is_dir():
        return repo_data
    return Path.home() / ".cache" / "whetstone_lab" / "data"


def required_files(name: str) -> list[Path]:
    """The files an online dataset reads, as paths in :func:`data_dir`."""
    if name not in _FILES:
        raise ValueError(f"{name!r} is not an online dataset; online ones are {online_names()}.")
    return [data_dir() / rel for rel, *_ in _FILES[name]]


def _hash(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, algorithm: str, expected: str) -> None:
    actual = _hash(path, algorithm)
    if actual != expected:
        raise CorruptDatasetError(
            f"{path} has {algorithm} {actual} but the published file has {expected}: it is "
            "truncated, corrupt or a different file. Delete it and load again to download it, "
            "or place the right file there (load(..., verify=False) skips this check)."
        )


def _download(url: str, dest: Path) -> None:
    """Fetch ``url`` into ``dest`` (a separate function so tests can replace it)."""
    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
        while block := response.read(1 << 20):
            out.write(block)


def _offline_message(name: str, missing: list[Path]) -> str:
    files = "\n".join(f"  {p}" for p in missing)
    return (
        f"dataset {name!r} needs these files, which are not there and could not be "
        f"downloaded:\n{files}\nPlace them there (or in a folder named by ${DATA_ENV}); "
        f"see data/README.md for where to get them. Offline datasets that always work: "
        f"{offline_names()}."
    )


def _fetch(name: str, download: bool, verify: bool) -> list[Path]:
    """Paths of ``name``'s files, downloading (and verifying) missing ones."""
    paths = []
    missing = [data_dir() / rel for rel, *_ in _FILES[name] if not (data_dir() / rel).is_file()]
    if missing and not download:
        raise DatasetUnavailableError(_offline_message(name, missing))
    for rel, url, algorithm, expected in _FILES[name]:
        path = data_dir() / rel
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".part")
            try:
                _download(url, partial)
            except OSError as err:  # URLError, timeouts, no route: all OSErrors
                partial.unlink(missing_ok=True)
                raise DatasetUnavailableError(
                    _offline_message(name, missing) + f"\n(download of {url} failed: {err})"
                ) from err
            try:  # a download is always verified before it takes the real name
                _verify(partial, algorithm, expected)
            except CorruptDatasetError:
                partial.unlink(missing_ok=True)
                raise
            partial.replace(path)
        elif verify:
            _verify(path, algorithm, expected)
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------------------
# Online datasets: parsing Keras' file formats safely
# ----------------------------------------------------------------------------------------
def _images(x: np.ndarray, path: Path) -> np.ndarray:
    """uint8 images to float32 in [0, 1], with a channel axis."""
    if x.dtype != np.uint8:
        raise CorruptDatasetError(f"{path}: images must be uint8, found {x.dtype}.")
    x = x.astype(np.float32) / 255.0
    return x[..., None] if x.ndim == 3 else x


def _check_pair(x: np.ndarray, y: np.ndarray, path: Path, what: str) -> None:
    if len(x) != len(y) or len(x) == 0:
        raise CorruptDatasetError(
            f"{path}: {what} has {len(x)} images but {len(y)} labels; the file is corrupt."
        )


def _read_mnist_npz(path: Path) -> tuple[np.ndarray, ...]:
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise CorruptDatasetError(f"{path} lacks the arrays {missing}; expected {keys}.")
            arrays = tuple(np.asarray(f[k]) for k in keys)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as err:
        if isinstance(err, CorruptDatasetError):
            raise
        raise CorruptDatasetError(
            f"{path} is not a readable mnist.npz (truncated or corrupt: {err}). Delete it and "
            "load again, or place a good copy there."
        ) from err
    x_train, y_train, x_test, y_test = arrays
    _check_pair(x_train, y_train, path, "the train split")
    _check_pair(x_test, y_test, path, "the test split")
    return (_images(x_train, path), y_train.astype(np.int64),
            _images(x_test, path), y_test.astype(np.int64))


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """An IDX file (gzip): labels (magic 2049, rank 1) or images (magic 2051, rank 3)."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise CorruptDatasetError(f"{path} is not a readable gzip file ({err}).") from err
    rank = magic - 2048
    header = 4 + 4 * rank
    if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
        raise CorruptDatasetError(f"{path} does not start with the IDX header {magic}.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank))
    if len(raw) - header != int(np.prod(shape)):
        raise CorruptDatasetError(
            f"{path}: header promises {shape} = {int(np.prod(shape))} bytes of data, found "
            f"{len(raw) - header}; the file is truncated or corrupt."
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles only plain containers, numbers, strings, bytes and NumPy arrays.

    CIFAR's batches are pickled dicts of lists, bytes and a uint8 array. Any other global
    (a function, a class with side effects) is refused, so a tampered file cannot run code.
    """

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        # Python 3's protocol-2 pickles spell bytes as _codecs.encode(str, "latin1"):
        # a pure function from str to bytes.
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to unpickle {module}.{name}: only dicts, lists, bytes, numbers and "
            "NumPy arrays are accepted in dataset files."
        )


def _safe_unpickle(data: bytes, source: str) -> dict:
    try:
        obj = _SafeUnpickler(io.BytesIO(data), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as err:
        raise CorruptDatasetError(f"{source}: cannot read this batch safely ({err}).") from err
    if not isinstance(obj, dict):
        raise CorruptDatasetError(f"{source}: expected a pickled dict, got {type(obj).__name__}.")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _read_tar_members(path: Path, wanted: list[str]) -> dict[str, bytes]:
    try:
        with tarfile.open(path, "r:gz") as tar:
            found = {}
            for member in tar:  # only read regular files we ask for; nothing is extracted
                if member.isfile() and member.name in wanted:
                    found[member.name] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise CorruptDatasetError(
            f"{path} is not a readable .tar.gz (truncated or corrupt: {err}). Delete it and "
            "load again, or place a good copy there."
        ) from err
    missing = [w for w in wanted if w not in found]
    if missing:
        raise CorruptDatasetError(f"{path} lacks the members {missing}.")
    return found


def _cifar_batch(raw: bytes, source: str, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    batch = _safe_unpickle(raw, source)
    if "data" not in batch or label_key not in batch:
        raise CorruptDatasetError(f"{source} lacks 'data' or {label_key!r}; found {list(batch)}.")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise CorruptDatasetError(
            f"{source}: data must be uint8 of shape (n, 3072), got {data.dtype} {data.shape}."
        )
    _check_pair(data, labels, Path(source), "this batch")
    # Rows are stored channel-first (3 planes of 32×32); Keras' layout is channels-last.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels


CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck")
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot")


def _mnist(download: bool = True, verify: bool = True) -> Dataset:
    (path,) = _fetch("mnist", download, verify)
    x_train, y_train, x_test, y_test = _read_mnist_npz(path)
    return Dataset("mnist", x_train, y_train, x_test, y_test,
                   tuple(str(i) for i in range(10)),
                   "MNIST handwritten digits, 28×28 grayscale, 60,000 train / 10,000 test")


def _fashion_mnist(download: bool = True, verify: bool = True) -> Dataset:
    paths = _fetch("fashion_mnist", download, verify)
    y_train, x_train, y_test, x_test = (
        _read_idx(p, 2049 if "labels" in p.name else 2051) for p in paths
    )
    _check_pair(x_train, y_train, paths[1], "the train split")
    _check_pair(x_test, y_test, paths[3], "the test split")
    return Dataset("fashion_mnist", _images(x_train, paths[1]), y_train.astype(np.int64),
                   _images(x_test, paths[3]), y_test.astype(np.int64), FASHION_NAMES,
                   "Zalando's Fashion-MNIST, 28×28 grayscale clothing, 60,000 / 10,000")


def _cifar10(download: bool = True, verify: bool = True) -> Dataset:
    (path,) = _fetch("cifar10", download, verify)
    folder = "cifar-10-batches-py/"
    train_names = [f"{folder}data_batch_{i}" for i in range(1, 6)]
    raw = _read_tar_members(path, [*train_names, f"{folder}test_batch"])
    parts = [_cifar_batch(raw[n], f"{path}:{n}", "labels") for n in train_names]
    x_test, y_test = _cifar_batch(raw[f"{folder}test_batch"], f"{path}:test_batch", "labels")
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    return Dataset("cifar10", _images(x_train, path), y_train, _images(x_test, path), y_test,
                   CIFAR10_NAMES, "CIFAR-10, 32×32 colour images, 10 classes, 50,000 / 10,000")


def _cifar100(label_mode: str = "fine", download: bool = True, verify: bool = True) -> Dataset:
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"label_mode must be 'fine' or 'coarse', got {label_mode!r}.")
    (path,) = _fetch("cifar100", download, verify)
    folder = "cifar-100-python/"
    raw = _read_tar_members(path, [f"{folder}train", f"{folder}test", f"{folder}meta"])
    key = f"{label_mode}_labels"
    x_train, y_train = _cifar_batch(raw[f"{folder}train"], f"{path}:train", key)
    x_test, y_test = _cifar_batch(raw[f"{folder}test"], f"{path}:test", key)
    meta = _safe_unpickle(raw[f"{folder}meta"], f"{path}:meta")
    label_names = meta.get(f"{label_mode}_label_names")
    if not isinstance(label_names, list):
        raise CorruptDatasetError(f"{path}:meta lacks {label_mode}_label_names.")
    names_ = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in label_names)
    return Dataset("cifar100", _images(x_train, path), y_train, _images(x_test, path), y_test,
                   names_, f"CIFAR-100, 32×32 colour images, {len(names_)} {label_mode} classes")


# ----------------------------------------------------------------------------------------
# Public entry points
# ----------------------------------------------------------------------------------------
_OFFLINE = {
    "digits": (_digits, {}),
    "shapes": (_shapes, {"n_train": 2000, "n_test": 500, "size": 32, "max_shapes": 3}),
    "digit_scenes": (_digit_scenes, {"n_train": 2000, "n_test": 500, "size": 32, "scale": 2,
                                     "max_digits": 3}),
}
_ONLINE = {
    "mnist": (_mnist, {"download": True, "verify": True}),
    "fashion_mnist": (_fashion_mnist, {"download": True, "verify": True}),
    "cifar10": (_cifar10, {"download": True, "verify": True}),
    "cifar100": (_cifar100, {"download": True, "verify": True, "label_mode": "fine"}),
}
_GENERATED = ("shapes", "digit_scenes")


def offline_names() -> list[str]:
    """Datasets that always load without any network."""
    return sorted(_OFFLINE)


def online_names() -> list[str]:
    """Datasets read from Keras' files: placed in :func:`data_dir`, or downloaded once."""
    return sorted(_ONLINE)


def names() -> list[str]:
    """Every name :func:`load` accepts."""
    return sorted({**_OFFLINE, **_ONLINE})


def load(name: str, **options) -> Dataset:
    """Load a dataset by name.

    Args:
        name: one of :func:`names`.
        **options: every dataset takes ``noise`` (σ of clipped Gaussian noise added to copies
            of the images, default None: no noisy copies) and ``seed`` (default 0: the seed
            of generated scenes and of the noise). ``shapes``: ``n_train``, ``n_test``,
            ``size``, ``max_shapes``. ``digit_scenes``: ``n_train``, ``n_test``, ``size``,
            ``scale``, ``max_digits``. Online ones: ``download`` (default True; False only
            uses placed files), ``verify`` (default True: check a placed file's checksum);
            ``cifar100`` also ``label_mode`` (``"fine"`` or ``"coarse"``).

    Returns:
        A :class:`Dataset`.

    Raises:
        ValueError: for an unknown name or a bad option value.
        TypeError: for an unknown option.
        DatasetUnavailableError: an online dataset that is neither placed nor downloadable.
        CorruptDatasetError: a truncated, corrupt or unsafe dataset file.

    Example:
        >>> ds = load("digits", noise=0.3)
        >>> ds.x_train.shape, ds.x_train_noisy.shape
        ((1437, 8, 8, 1), (1437, 8, 8, 1))
    """
    if not isinstance(name, str) or name not in names():
        raise ValueError(
            f"unknown dataset {name!r}; offline: {offline_names()}, online (files placed in "
            f"{data_dir()} or downloaded): {online_names()}."
        )
    loader, defaults = {**_OFFLINE, **_ONLINE}[name]
    opts = _check_options(name, options, {**defaults, "noise": None, "seed": 0})
    noise, seed = opts.pop("noise"), opts.pop("seed")
    seed = _int_option(seed, "seed", 0)
    if name in _GENERATED:
        opts["seed"] = seed
    for flag in ("download", "verify"):
        if flag in opts and not isinstance(opts[flag], bool):
            raise TypeError(f"{flag} must be True or False, got {opts[flag]!r}.")
    ds = loader(**opts)
    if noise is None:
        return ds
    # Noise streams differ from the scenes' own streams and between train and test.
    return _with_noise(ds, noise, seed)


def _with_noise(ds: Dataset, sigma: float, seed: int) -> Dataset:
    from dataclasses import replace

    return replace(ds, x_train_noisy=add_noise(ds.x_train, sigma, seed=[seed, 2]),
                   x_test_noisy=add_noise(ds.x_test, sigma, seed=[seed, 3]))
