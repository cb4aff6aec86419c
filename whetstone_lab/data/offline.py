"""scikit-learn's handwritten 8×8 digits: the offline dataset that needs nothing but a wheel."""

from __future__ import annotations

import numpy as np

from .dataset import Dataset

__all__ = ["DIGIT_NAMES", "digit_arrays", "digits"]

#: Class names of the digits: "0" to "9".
DIGIT_NAMES = tuple(str(i) for i in range(10))


def digit_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The canonical digits split: X/16, 80/20 stratified, random_state=0.

    Returns:
        ``x_train, y_train, x_test, y_test``: images ``(n, 8, 8, 1)`` float32 in [0, 1] and
        int64 labels.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    loaded = load_digits()
    x = (loaded.data / 16.0).astype(np.float32)
    y = loaded.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=0, stratify=y
    )
    return x_train.reshape(-1, 8, 8, 1), y_train, x_test.reshape(-1, 8, 8, 1), y_test


def digits() -> Dataset:
    """The ``"digits"`` dataset: 1,437 train and 360 test images of 8×8 pixels."""
    x_train, y_train, x_test, y_test = digit_arrays()
    return Dataset(
        "digits", x_train, y_train, x_test, y_test, DIGIT_NAMES,
        "scikit-learn's 1,797 handwritten 8×8 digits, canonical 80/20 stratified split",
    )
