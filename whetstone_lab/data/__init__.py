"""Datasets for the lessons: offline by default, online ones opt-in and cached.

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

The modules: :mod:`.dataset` (the :class:`Dataset` type, errors, noise, pixel weights),
:mod:`.offline` (digits), :mod:`.scenes` (generated scenes), :mod:`.files` (the data folder,
downloads, checksums), :mod:`.readers` (safe readers of the file formats) and
:mod:`.online` (the online datasets).

Example:
    >>> ds = load("shapes", n_train=100, n_test=20, seed=1)
    >>> ds.x_train.shape, ds.masks_train.shape
    ((100, 32, 32, 1), (100, 32, 32))
"""

from __future__ import annotations

from ..validation import check_int, check_number, describe
from . import online
from .catalogue import GENERATED, OFFLINE, offline_names
from .dataset import (
    CorruptDatasetError,
    Dataset,
    DatasetUnavailableError,
    add_noise,
    pixel_weights,
    with_noise,
)
from .files import DATA_ENV, data_dir, required_files
from .offline import DIGIT_NAMES, digits
from .online import CIFAR10_NAMES, FASHION_NAMES
from .scenes import INK_THRESHOLD, SHAPE_NAMES, digit_scenes, shapes  # noqa: F401 (data.shapes, …)

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
    "DATA_ENV",
    "SHAPE_NAMES",
    "DIGIT_NAMES",
    "FASHION_NAMES",
    "CIFAR10_NAMES",
    "INK_THRESHOLD",
    "mnist_or_digits",
]

#: Each online dataset's loader and its options (the offline ones: catalogue.OFFLINE).
_ONLINE = {
    "mnist": (online.mnist, {"download": True, "verify": True}),
    "fashion_mnist": (online.fashion_mnist, {"download": True, "verify": True}),
    "cifar10": (online.cifar10, {"download": True, "verify": True}),
    "cifar100": (online.cifar100, {"download": True, "verify": True, "label_mode": "fine"}),
}


def online_names() -> list[str]:
    """Datasets read from Keras' files: placed in :func:`data_dir`, or downloaded once."""
    return sorted(_ONLINE)


def names() -> list[str]:
    """Every name :func:`load` accepts."""
    return sorted({**OFFLINE, **_ONLINE})


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a dataset name, one of {names()}, got {describe(name)}.")
    if name not in names():
        try:
            where = f"files placed in {data_dir()} or downloaded"
        except DatasetUnavailableError:
            where = f"files placed in the folder named by ${DATA_ENV} or downloaded"
        raise ValueError(f"unknown dataset {name!r}; offline: {offline_names()}, online "
                         f"({where}): {online_names()}.")
    return name


def load(name: str, **options) -> Dataset:
    """Load a dataset by name.

    Args:
        name: one of :func:`names`.
        **options: every dataset takes ``noise`` (σ of clipped Gaussian noise added to copies
            of the images, a number in [0, 1]; default None: no noisy copies) and ``seed``
            (an integer ≥ 0, default 0: the seed of generated scenes and of the noise).
            ``shapes``: ``n_train``, ``n_test``, ``size``, ``max_shapes``. ``digit_scenes``:
            ``n_train``, ``n_test``, ``size``, ``scale``, ``max_digits``. Online ones:
            ``download`` (default True; False only uses placed files), ``verify`` (default
            True: check a placed file's checksum); ``cifar100`` also ``label_mode``
            (``"fine"`` or ``"coarse"``).

    Returns:
        A :class:`Dataset`.

    Raises:
        TypeError: a name that is not a string, an unknown option, or an option of the
            wrong type (e.g. ``n_train=2.5``).
        ValueError: an unknown name or an option value out of range (e.g. ``noise=-0.1``).
        DatasetUnavailableError: an online dataset that is neither placed nor downloadable,
            or ``$WHETSTONE_DATA`` naming a file rather than a folder.
        CorruptDatasetError: a truncated, corrupt, unsafe or wrong dataset file.

    Example:
        >>> ds = load("digits", noise=0.3)
        >>> ds.x_train.shape, ds.x_train_noisy.shape
        ((1437, 8, 8, 1), (1437, 8, 8, 1))
    """
    name = _check_name(name)
    loader, defaults = {**OFFLINE, **_ONLINE}[name]
    accepted = {**defaults, "noise": None, "seed": 0}
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"load({name!r}) got unknown option(s) {unknown}; it accepts {sorted(accepted)}."
        )
    opts = {**accepted, **options}
    noise, seed = opts.pop("noise"), opts.pop("seed")
    # Checked before any work, so a bad value never waits for a download or a generation.
    seed = check_int(seed, "seed", minimum=0)
    if noise is not None:
        noise = check_number(noise, "noise", minimum=0.0, maximum=1.0)
    if name in GENERATED:
        opts["seed"] = seed
    ds = loader(**opts)
    return ds if noise is None else with_noise(ds, noise, seed)


def mnist_or_digits(sample: bool = False, n_train: int = 2000, n_test: int = 1000,
                    verify: bool = True) -> Dataset:
    """MNIST from the data folder, or the offline digits enlarged to 28 × 28 where it is not
    placed: the paper's scale where it can be had, and a lesson that runs everywhere.

    Never downloads. The stand-in's digits are scaled ×3 (nearest neighbour, 24 × 24) and
    padded with 2 black pixels on every side, like MNIST's 20 × 20 digits in 28 × 28.

    Args:
        sample: keep only the first ``n_train`` training and ``n_test`` test images (fast
            runs); the full splits otherwise.
        n_train, n_test: the sample's sizes (integers ≥ 1).
        verify: check MNIST's files against their published checksums.

    Returns:
        A :class:`Dataset` named ``"mnist"`` or ``"digits_28"``, whose ``description`` says
        which it is and, for a sample, how much of it.

    Raises:
        TypeError / ValueError: a bad ``n_train`` or ``n_test``.
        CorruptDatasetError: MNIST's files are placed but damaged.
    """
    from dataclasses import replace

    import numpy as np

    n_train = check_int(n_train, "n_train", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=1)
    try:
        ds = online.mnist(download=False, verify=verify)
    except DatasetUnavailableError:
        small = digits()

        def enlarge(x):
            big = np.repeat(np.repeat(x, 3, axis=1), 3, axis=2)
            return np.pad(big, ((0, 0), (2, 2), (2, 2), (0, 0)))

        ds = replace(small, name="digits_28", x_train=enlarge(small.x_train),
                     x_test=enlarge(small.x_test),
                     description="MNIST is not placed in the data folder: the offline 8×8 "
                                 "digits, enlarged to 28×28, stand in for it")
    if sample:
        ds = replace(ds, x_train=ds.x_train[:n_train], y_train=ds.y_train[:n_train],
                     x_test=ds.x_test[:n_test], y_test=ds.y_test[:n_test],
                     description=f"{ds.description} (a sample: {min(n_train, len(ds.x_train))}"
                                 f" train / {min(n_test, len(ds.x_test))} test images)")
    return ds
