"""Shared test set-up: quiet TensorFlow, a headless matplotlib, the canonical digits split."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    import whetstone_lab as wl

    return wl.data.load("digits")
