"""Datasets for the lessons: offline by default (DESIGN.md §4)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Dataset", "load", "names"]


@dataclass(frozen=True)
class Dataset:
    """A dataset split into train and test arrays.

    Attributes:
        name: the name it was loaded by.
        x_train, y_train, x_test, y_test: arrays; images are ``(n, height, width, channels)``
            in [0, 1], labels are integer class indices (or masks for segmentation).
        class_names: names of the classes, where there are classes.
        description: one line saying what this is.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...] = ()
    description: str = ""
    extras: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}: train {self.x_train.shape}, test {self.x_test.shape}, "
                f"{self.num_classes} classes — {self.description})")


def _digits(**options) -> Dataset:
    if options:
        raise TypeError(f"digits takes no options, got {sorted(options)}.")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=0, stratify=y
    )
    return Dataset(
        "digits",
        x_train.reshape(-1, 8, 8, 1),
        y_train,
        x_test.reshape(-1, 8, 8, 1),
        y_test,
        tuple(str(i) for i in range(10)),
        "scikit-learn's 1,797 handwritten 8×8 digits, canonical 80/20 stratified split",
    )


_LOADERS = {"digits": _digits}


def names() -> list[str]:
    """The names :func:`load` accepts."""
    return sorted(_LOADERS)


def load(name: str, **options) -> Dataset:
    """Load a dataset by name (see :func:`names`)."""
    if name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {names()}.")
    return _LOADERS[name](**options)
