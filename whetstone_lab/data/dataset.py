"""The :class:`Dataset` type, the errors of loading, noisy copies and segmentation weights."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..validation import check_array, check_number, describe

__all__ = [
    "Dataset",
    "DatasetUnavailableError",
    "CorruptDatasetError",
    "add_noise",
    "pixel_weights",
    "with_noise",
]

#: Largest mask value :func:`pixel_weights` accepts (masks hold class indices).
MAX_MASK_VALUE = 65535


class DatasetUnavailableError(FileNotFoundError):
    """An online dataset is neither in the data folder nor downloadable right now.

    Also raised when the data folder itself is unusable (``$WHETSTONE_DATA`` naming a file).
    """


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

    def __post_init__(self):
        # Every per-sample array of a split has one entry per image: a Dataset built by hand
        # (or cut with dataclasses.replace) with mismatched lengths is refused here, by name.
        for split in ("train", "test"):
            n = len(self.__dict__[f"x_{split}"])
            for name in (f"y_{split}", f"masks_{split}", f"x_{split}_noisy"):
                value = self.__dict__[name]
                if value is not None and len(value) != n:
                    raise ValueError(f"Dataset {self.name!r}: {name} has {len(value)} entries "
                                     f"but x_{split} has {n} images; they must match.")

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


def _rng(seed) -> np.random.Generator:
    """``np.random.default_rng(seed)``, with an error naming ``seed`` when it is refused."""
    accepted = "a non-negative integer, a sequence of them, or a np.random.Generator"
    if isinstance(seed, (bool, np.bool_, float, str, bytes)):
        raise TypeError(f"seed must be {accepted}, got {describe(seed)}.")
    try:
        return np.random.default_rng(seed)
    except TypeError as err:
        raise TypeError(f"seed must be {accepted}, got {describe(seed)}.") from err
    except ValueError as err:
        raise ValueError(f"seed must be {accepted}, got {describe(seed)} ({err}).") from err


def add_noise(x: np.ndarray, sigma: float, seed=0) -> np.ndarray:
    """``x`` plus Gaussian noise of standard deviation ``sigma``, clipped to [0, 1].

    Args:
        x: images in [0, 1] (any shape; an array or anything ``np.asarray`` turns into one).
        sigma: noise standard deviation, a finite number in [0, 1].
        seed: seed of the noise (anything ``np.random.default_rng`` accepts); the same seed
            gives the same noise.

    Raises:
        TypeError: ``x`` is not numeric, ``sigma`` is not a number, ``seed`` not a seed.
        ValueError: ``x`` holds NaN or values outside [0, 1]; ``sigma`` is outside [0, 1].

    Example:
        >>> add_noise(np.zeros((2, 2)), 0.0).tolist()
        [[0.0, 0.0], [0.0, 0.0]]
    """
    x = check_array(x, "x", min_samples=0)
    sigma = check_number(sigma, "sigma", minimum=0.0, maximum=1.0)
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"x must hold images in [0, 1], got values from {x.min().item()!r} "
                         f"to {x.max().item()!r} (images of 0–255 need dividing by 255 first).")
    rng = _rng(seed)
    noisy = x + rng.normal(0.0, sigma, size=x.shape)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def with_noise(ds: Dataset, sigma: float, seed: int) -> Dataset:
    """``ds`` with noisy copies of its images (``x_train_noisy``, ``x_test_noisy``).

    The noise streams differ from the scenes' own streams and between train and test.
    """
    return replace(ds, x_train_noisy=add_noise(ds.x_train, sigma, seed=[seed, 2]),
                   x_test_noisy=add_noise(ds.x_test, sigma, seed=[seed, 3]))


def pixel_weights(masks: np.ndarray, balance: float = 1.0) -> np.ndarray:
    """Per-pixel loss weights that stop background from winning a segmentation loss.

    ``w(pixel) ∝ frequency(class of the pixel) ** -balance``, scaled so the weights average 1
    over ``masks``. Background covers most of a scene: unweighted, "background everywhere"
    is a cheap optimum, and the foreground output neurons of a bounded ReLU, pushed below
    0, stop receiving any gradient. ``balance=1`` gives every class the same total weight;
    ``balance=0`` weighs every pixel 1. Pass the result as ``sample_weight`` to ``fit``.

    Args:
        masks: integer masks ``(n, height, width)``, values ≥ 0 (class indices; floats
            holding whole numbers and booleans are accepted).
        balance: exponent, a finite number in [0, 1].

    Raises:
        TypeError: ``masks`` is not numeric, ``balance`` is not a number.
        ValueError: ``masks`` is empty or holds fractions, NaN, negative or huge values;
            ``balance`` is outside [0, 1].

    Example (each class's weights total 2):
        >>> [round(float(w), 3) for w in pixel_weights(np.array([[0, 0, 0, 1]]))[0]]
        [0.667, 0.667, 0.667, 2.0]
    """
    masks = check_array(masks, "masks", integer=True)
    if masks.size == 0:
        raise ValueError(f"masks must be a non-empty array of class indices, got shape "
                         f"{masks.shape}.")
    if masks.dtype.kind != "i" or masks.dtype.itemsize < 8:
        masks = masks.astype(np.int64)  # bools, unsigned and narrow ints: safe indices
    if masks.min() < 0 or masks.max() > MAX_MASK_VALUE:
        raise ValueError(f"masks must hold class indices from 0 to {MAX_MASK_VALUE}, got "
                         f"values from {masks.min()} to {masks.max()}.")
    balance = check_number(balance, "balance", minimum=0.0, maximum=1.0)
    counts = np.bincount(masks.ravel()).astype(np.float64)
    weight = np.zeros_like(counts)
    present = counts > 0
    weight[present] = (counts[present] / masks.size) ** -balance
    w = weight[masks]
    return (w / w.mean()).astype(np.float32)
