"""Shared test set-up: quiet TensorFlow, a headless matplotlib, the canonical digits split."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    import whetstone_lab as wl

    return wl.data.load("digits")


@pytest.fixture(scope="module")
def dense():
    """A small untrained dense classifier (64→32→16→40, 4 output neurons per class)."""
    import keras

    import whetstone_lab as wl

    keras.utils.set_random_seed(0)
    return wl.models.dense_classifier((8, 8, 1), hidden=(32, 16), neurons_per_class=4,
                                     towers=1)
